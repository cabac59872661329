"""Notebook 06's figures: the numbers drawn are the right ones (nbval never compares images)."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from hypothesis import given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import em_lib  # noqa: E402
from em_lib import datasets  # noqa: E402
from em_lib.plotting import coins as pc  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _brute_two_coins_ll(heads, tosses, ta, tb):
    total = 0.0
    for h, n in zip(heads, tosses):
        total += np.log(0.5 * ta**h * (1 - ta) ** (n - h) + 0.5 * tb**h * (1 - tb) ** (n - h))
    return total


def test_the_log_likelihoods_are_em_libs():
    """The figures use em_lib.coins' log-likelihoods (tested in tests/test_coins.py), re-exported here."""
    assert pc.two_coins_log_likelihood is em_lib.coins.two_coins_log_likelihood
    assert pc.three_coins_log_likelihood is em_lib.coins.three_coins_log_likelihood
    heads, tosses = datasets.two_coins()
    ta, tb = np.meshgrid([0.2, 0.5, 0.7], [0.3, 0.6])
    assert pc.two_coins_log_likelihood(heads, tosses, ta, tb)[1, 2] == pytest.approx(
        _brute_two_coins_ll(heads, tosses, 0.7, 0.6), rel=1e-12
    )


def test_em_path_starts_at_the_start_and_ends_where_em_lib_ends():
    heads, tosses = datasets.two_coins()
    path = pc.two_coins_em_path(heads, tosses, 0.6, 0.5, 10)
    assert path.shape == (11, 2)
    assert tuple(path[0]) == (0.6, 0.5)
    assert np.allclose(path[-1], em_lib.two_coins_em(heads, tosses, 0.6, 0.5, 10), rtol=1e-12)


@given(
    st.floats(0.05, 0.95), st.floats(0.05, 0.95),
    st.lists(st.integers(1, 11), min_size=2, max_size=8),
)
def test_the_em_path_climbs_the_surface(ta, tb, heads):
    """EM never decreases the marginal likelihood: along the drawn path it only climbs."""
    heads = np.array(heads)
    tosses = np.full(heads.shape, 12)
    path = pc.two_coins_em_path(heads, tosses, ta, tb, 6)
    ll = pc.two_coins_log_likelihood(heads, tosses, path[:, 0], path[:, 1])
    assert np.all(np.diff(ll) >= -1e-9 * np.abs(ll[:-1]))


def test_surface_figure_draws_the_paper_path_near_the_grid_maximum():
    heads, tosses = datasets.two_coins()
    fig, data = pc.plot_two_coins_surface(heads, tosses, datasets.TWO_COINS_START, 10)
    assert data["log_likelihood"].shape == (data["theta"].size,) * 2
    assert np.allclose(data["path"][-1].round(2), datasets.TWO_COINS_AFTER_10)
    assert np.all(np.diff(data["path_log_likelihood"]) >= 0)
    # the path ends within a grid step of the best grid point (or of its mirror image)
    step = data["theta"][1] - data["theta"][0]
    end = data["path"][-1]
    best = np.array(data["grid_maximum"])
    assert min(np.abs(end - best).max(), np.abs(end[::-1] - best).max()) <= step
    assert data["mirror"] == pytest.approx(tuple(end[::-1]))
    assert data["path_log_likelihood"][-1] >= data["log_likelihood"].max() - 1e-3
    assert len(fig.axes) == 2  # the plot and its colour bar


def test_log_likelihood_per_iteration_draws_what_it_is_given():
    values = [-40.0, -35.0, -33.5, -33.4]
    fig, data = pc.plot_log_likelihood_per_iteration(values)
    assert list(data["iteration"]) == [0, 1, 2, 3]
    line = fig.axes[0].lines[0]
    assert np.array_equal(line.get_ydata(), values)


def test_three_coins_log_likelihood_depends_only_on_p_heads():
    y = datasets.three_coins()
    a = pc.three_coins_log_likelihood(y, 0.5, 0.6, 0.6)
    b = pc.three_coins_log_likelihood(y, 0.4064171122994653, 0.5368421052631579, 0.6432432432432431)
    brute = sum(np.log(0.5 * 0.6**v * 0.4 ** (1 - v) + 0.5 * 0.6**v * 0.4 ** (1 - v)) for v in y)
    assert a == pytest.approx(brute)
    assert a == pytest.approx(b)


def test_three_coins_figure_every_fit_matches_the_observed_frequency():
    y = datasets.three_coins()
    starts = np.random.default_rng(1).uniform(0.05, 0.95, size=(12, 3))
    fig, data = pc.plot_three_coins_starts(y, starts)
    assert data["fits"].shape == (12, 3)
    assert np.allclose(data["p_heads"], y.mean())
    assert np.allclose(data["log_likelihood"], data["curve_log_likelihood"].max(), atol=1e-3)
    assert np.ptp(data["fits"][:, 0]) > 0.2  # the fits really differ
    assert len(fig.axes) == 3
