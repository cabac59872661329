"""Notebook 06's figures: the numbers drawn are the right ones (nbval never compares images)."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from hypothesis import given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import em_lib  # noqa: E402
from em_lib import coins, datasets  # noqa: E402
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


def test_the_surface_drawn_is_em_lib_coins_log_likelihood():
    """The figure draws em_lib.coins' log-likelihood (tested in tests/test_coins.py) on its grid."""
    heads, tosses = datasets.two_coins()
    fig, data = pc.plot_two_coins_surface(heads, tosses, datasets.TWO_COINS_START, 2, grid_size=5)
    theta = data["theta"]
    ta, tb = np.meshgrid(theta, theta)
    assert np.array_equal(data["log_likelihood"], coins.two_coins_log_likelihood(heads, tosses, ta, tb))
    assert data["log_likelihood"][1, 2] == pytest.approx(
        _brute_two_coins_ll(heads, tosses, theta[2], theta[1]), rel=1e-12
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
    ll = coins.two_coins_log_likelihood(heads, tosses, path[:, 0], path[:, 1])
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
    a = coins.three_coins_log_likelihood(y, 0.5, 0.6, 0.6)
    b = coins.three_coins_log_likelihood(y, 0.4064171122994653, 0.5368421052631579, 0.6432432432432431)
    brute = sum(np.log(0.5 * 0.6**v * 0.4 ** (1 - v) + 0.5 * 0.6**v * 0.4 ** (1 - v)) for v in y)
    assert a == pytest.approx(brute)
    assert a == pytest.approx(b)


def test_three_coins_figure_every_fit_matches_the_observed_frequency():
    y = datasets.three_coins()
    starts = np.random.default_rng(1).uniform(0.05, 0.95, size=(12, 3))
    fig, data = pc.plot_three_coins_starts(y, starts)
    assert data["fits"].shape == (12, 3)
    assert data["paths"].shape == (12, 6, 3)
    assert np.array_equal(data["paths"][:, 0], starts)
    assert np.array_equal(data["paths"][:, -1], data["fits"])
    assert np.allclose(data["fits"], [em_lib.three_coins_em(y, *s, 5) for s in starts], rtol=1e-12)
    assert np.allclose(data["p_heads"], y.mean())
    best = coins.three_coins_log_likelihood(y, 1.0, y.mean(), 0.5)      # l at P(y = 1) = the frequency
    assert np.allclose(data["log_likelihood"], best)
    assert np.allclose(data["log_likelihood_paths"][:, 1:], best)    # reached in one iteration
    assert np.ptp(data["fits"][:, 0]) > 0.2  # the fits really differ
    assert len(fig.axes) == 3
    left = fig.axes[0]
    assert len(left.lines) == 12
    assert np.allclose(left.lines[3].get_ydata(), data["log_likelihood_paths"][3])


def test_expected_counts_are_the_papers_table_and_give_its_first_iteration():
    heads, tosses = datasets.two_coins()
    fig, data = pc.plot_expected_counts(heads, tosses, *datasets.TWO_COINS_START)
    w = em_lib.coins.two_coins_posterior_a(heads, tosses, *datasets.TWO_COINS_START)
    assert np.allclose(data["posterior_a"], w)
    # Do and Batzoglou's Figure 1b, rounded to one decimal
    paper = [[2.2, 2.2, 2.8, 2.8], [7.2, 0.8, 1.8, 0.2], [5.9, 1.5, 2.1, 0.5],
             [1.4, 2.1, 2.6, 3.9], [4.5, 1.9, 2.5, 1.1]]
    assert np.array_equal(data["expected"].round(1), paper)
    # each set's tosses are shared out whole between the two coins
    assert np.allclose(data["expected"].sum(axis=1), tosses)
    assert np.allclose(data["totals"], data["expected"].sum(axis=0))
    assert np.allclose(data["theta"], em_lib.two_coins_em(heads, tosses, *datasets.TWO_COINS_START, 1))
    assert len(fig.axes) == 2
    bars = fig.axes[0].patches[: heads.size]                       # coin A's expected heads
    assert np.allclose([b.get_width() for b in bars], data["expected"][:, 0])


def test_surface_levels_resolve_the_two_tops_and_the_saddle():
    """The top of the surface is not one flat colour: the maxima and the saddle between them fall in different bands."""
    heads, tosses = datasets.two_coins()
    fig, data = pc.plot_two_coins_surface(heads, tosses, datasets.TWO_COINS_START, 10)
    levels, surface, theta = data["levels"], data["log_likelihood"], data["theta"]
    top = surface.max()
    assert np.all(np.diff(levels) > 0) and levels[-1] < top
    assert np.sum(levels > top - 1.0) >= 3                          # several bands within 1 of the top
    saddle = coins.two_coins_log_likelihood(heads, tosses, theta, theta).max()   # best point of the diagonal
    assert top - 0.5 < saddle < top - 0.25                          # the saddle is close to the top ...
    band = np.searchsorted(levels, [top, saddle, data["path_log_likelihood"][0]])
    assert band[0] > band[1] > band[2]                              # ... yet in a band of its own
    # every band has its own colour: the top bands are not squeezed into one end of the colour map
    colours = np.asarray(fig.axes[0].collections[0].get_facecolor())[:, :3]
    assert len(colours) == levels.size + 1                          # the bands and the region below the last level
    steps = np.linalg.norm(np.diff(colours, axis=0), axis=1)
    assert steps.min() > 0.05                                       # neighbouring bands, the top ones too, look different
