"""em_lib.plotting.bound: the picture of notebook 03 shows what it claims.

nbval never compares images, so the numbers drawn are checked: the bound lies below
l(theta) everywhere on the grid, touches it at the current parameter, and its
maximiser, the M-step's mean, has a higher log-likelihood.
"""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.text import Text  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import em_lib  # noqa: E402
from em_lib import datasets  # noqa: E402
from em_lib.plotting.bound import bound_slices, plot_bound_touching  # noqa: E402

X = datasets.heights(300, seed=0)[0]
W, M, V = datasets.HEIGHTS_TRUE


@pytest.fixture(scope="module")
def figure():
    fig, data = plot_bound_touching(X, W, np.array([188.0, 161.3]), V, k=0, n_steps=2)
    yield fig, data
    plt.close(fig)


def test_the_bound_is_below_the_log_likelihood_everywhere(figure):
    _, data = figure
    assert (data["bounds"] <= data["log_likelihood"] + 1e-9).all()


def test_the_bound_touches_at_the_current_parameter(figure):
    _, data = figure
    for s, mu in enumerate(data["touch"]):
        i = int(np.flatnonzero(data["grid"] == mu)[0])
        assert abs(data["bounds"][s, i] - data["log_likelihood"][i]) < 1e-9
        assert data["touch_log_likelihood"][s] == pytest.approx(data["log_likelihood"][i], abs=1e-9)


def test_the_maximiser_is_the_m_step_mean_and_raises_the_log_likelihood(figure):
    _, data = figure
    w, m, v = W, np.array([188.0, 161.3]), V
    resp = em_lib.e_step(X, w, m, v)
    assert data["peak"][0] == pytest.approx(em_lib.m_step(X, resp)[1][0], rel=1e-12)
    assert (data["peak_log_likelihood"] > data["touch_log_likelihood"]).all()
    # the grid's argmax of each bound is next to the marked maximiser, and its l is higher too
    for s in range(2):
        j = int(np.argmax(data["bounds"][s]))
        assert abs(data["grid"][j] - data["peak"][s]) < 1e-9
        assert data["log_likelihood"][j] > data["touch_log_likelihood"][s]


def test_the_steps_chain_the_staircase(figure):
    _, data = figure
    assert data["touch"][1] == data["peak"][0]
    assert data["peak_bound"][0] <= data["peak_log_likelihood"][0] + 1e-9


def test_the_figure_has_two_panels_and_draws_the_given_curves(figure):
    fig, data = figure
    top, bottom = fig.axes
    lines = [ln for ln in top.get_lines() if len(ln.get_xdata()) == len(data["grid"])]
    np.testing.assert_allclose(lines[0].get_ydata(), data["log_likelihood"])
    np.testing.assert_allclose(lines[1].get_ydata(), data["bounds"][0])


@settings(max_examples=20)
@given(st.floats(140.0, 200.0), st.floats(0.2, 0.8), st.integers(0, 1))
def test_below_and_touching_for_any_start(mu, weight, k):
    means = np.array([175.3, 161.3])
    means[k] = mu
    data = bound_slices(X[:80], np.array([weight, 1 - weight]), means, V, k=k, grid=np.linspace(130, 210, 41))
    assert (data["bounds"][0] <= data["log_likelihood"] + 1e-7).all()
    i = int(np.flatnonzero(data["grid"] == mu)[0])
    assert abs(data["bounds"][0, i] - data["log_likelihood"][i]) < 1e-7
    assert data["peak_log_likelihood"][0] >= data["touch_log_likelihood"][0] - 1e-9


def test_the_labels_of_the_staircase_do_not_overlap():
    """Three steps end close together near the top of l; their names must still be readable."""
    fig, data = plot_bound_touching(X, W, np.array([188.0, 161.3]), V, k=0, n_steps=3)
    try:
        fig.canvas.draw()
        names = [t for t in fig.axes[0].texts if t.get_text() in data["labels"]]
        assert [t.get_text() for t in names] == data["labels"]
        # the text of each annotation, without its leader line
        boxes = [Text.get_window_extent(t) for t in names]
        assert len(boxes) == 4
        for i in range(len(boxes)):
            for j in range(i + 1, len(boxes)):
                assert not boxes[i].overlaps(boxes[j]), (data["labels"][i], data["labels"][j])
        # every label stays inside the top panel
        top_box = fig.axes[0].get_window_extent()
        assert all(top_box.x0 <= b.x0 and b.x1 <= top_box.x1 and b.y1 <= top_box.y1 for b in boxes)
        # and each is joined to the point it names: mu^(t), then each maximiser
        points = np.concatenate([data["touch"], data["peak"][-1:]])
        np.testing.assert_allclose([t.xy[0] for t in names], points)
        np.testing.assert_allclose([t.xyann for t in names], data["label_positions"])
    finally:
        plt.close(fig)


def test_the_parameter_is_named_with_its_0_based_component(figure):
    fig, data = figure
    assert data["labels"][0] == r"$\mu_0^{(t)}$"
    assert r"\mu_0" in fig.axes[1].get_xlabel()
    _, other = plot_bound_touching(X[:60], W, np.array([175.3, 150.0]), V, k=1)
    assert other["labels"] == [r"$\mu_1^{(t)}$", r"$\mu_1^{(t+1)}$"]
    plt.close("all")
