"""em_lib.plotting.jensen: the figures of notebook 02 show what the lecture says they show."""

import warnings

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from hypothesis import given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import em_lib  # noqa: E402
from em_lib import datasets  # noqa: E402
from em_lib.plotting import jensen as J  # noqa: E402

W, M, V = datasets.HEIGHTS_TRUE
LJ_155 = em_lib.log_joint(np.array([155.0]), W, M, V)[0]


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def test_convex_chord_above_concave_chord_below():
    _, d = J.plot_convex_and_concave(a=0.5, b=4.5, w=0.3)
    assert d["exp"]["chord"] > d["exp"]["curve"]
    assert d["log"]["chord"] < d["log"]["curve"]
    assert d["log"]["mix"] == pytest.approx(0.3 * 0.5 + 0.7 * 4.5)
    assert d["log"]["curve"] == pytest.approx(np.log(3.3))
    assert (d["second_derivative_log"] < 0).all()


def test_lecture_stars_for_the_155_person():
    _, d = J.plot_stars(LJ_155, [0.2, 0.8], height=155)
    joint = np.exp(LJ_155)
    np.testing.assert_allclose(d["values"], joint / [0.2, 0.8])
    # the average of the stars is p(x_i), whatever Q is
    assert d["mix"] == pytest.approx(joint.sum())
    assert d["curve_point"] == pytest.approx(em_lib.log_likelihood(np.array([155.0]), W, M, V))
    # the point on the chord lies below the point on the curve, by Jensen's gap
    assert d["chord_point"] < d["curve_point"]
    assert d["gap"] == pytest.approx(em_lib.jensen_gap(d["values"], [0.2, 0.8]))
    # and the chord point is the bound's term for this person
    assert d["chord_point"] == pytest.approx(em_lib.elbo(np.array([155.0]), np.array([[0.2, 0.8]]), W, M, V))


def test_stars_legend_and_title_name_the_person_and_q():
    fig, _ = J.plot_stars(LJ_155, [0.2, 0.8], height=155)
    ax = fig.axes[0]
    assert "1.55 m" in ax.get_title()
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any("male" in t and "0.2" in t for t in texts)
    assert any("female" in t and "0.8" in t for t in texts)


def _dotted_line_clear_of_the_zoom(fig, d):
    """The dotted line at the mixture, in pixels, is left or right of the zoom, never inside it."""
    fig.canvas.draw()
    ax = fig.axes[0]
    (zoom,) = ax.child_axes
    box = zoom.get_window_extent()
    x_pixel = ax.transData.transform((d["mix"], d["curve_point"]))[0]
    return x_pixel < box.x0 or x_pixel > box.x1


def test_the_dotted_line_at_the_mixture_does_not_run_through_the_zoom():
    fig, d = J.plot_stars(LJ_155, [0.2, 0.8], height=155)
    assert _dotted_line_clear_of_the_zoom(fig, d)
    # it is drawn on the main axes from the bottom up to the curve point, not across the whole height
    ax = fig.axes[0]
    (segments,) = [c.get_segments() for c in ax.collections if len(c.get_segments()) == 1]
    (x0, y0), (x1, y1) = segments[0]
    assert x0 == x1 == pytest.approx(d["mix"])
    assert min(y0, y1) == pytest.approx(ax.get_ylim()[0]) and max(y0, y1) == pytest.approx(d["curve_point"])


@given(
    st.lists(st.floats(-30, 0), min_size=2, max_size=2),
    st.floats(0.01, 0.99),
)
def test_chord_never_above_curve(log_joint_row, q0):
    fig, d = J.plot_stars(np.array(log_joint_row), [q0, 1 - q0])
    assert d["chord_point"] <= d["curve_point"] + 1e-12
    x0, _, width, _ = d["zoom_bounds"]
    fraction = (d["mix"] - d["grid"][0]) / (d["grid"][-1] - d["grid"][0])
    assert not x0 <= fraction <= x0 + width
    plt.close("all")


def test_coinciding_stars_still_get_a_curve_around_them():
    """Q_i at the posterior puts both stars at p(x_i) (notebook 03's equality): the picture keeps its range."""
    row = np.log([0.3, 0.6]) + np.log(0.02)
    q = np.exp(row - np.logaddexp.reduce(row))          # the posterior: every star at p(x_i) = 0.018
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fig, d = J.plot_stars(row, q)
    assert d["grid"][0] < d["mix"] < d["grid"][-1]
    assert d["curve_point"] == pytest.approx(d["chord_point"])
    plt.close("all")


def test_bound_over_q_touches_log_px_once():
    _, d = J.plot_bound_over_q(LJ_155, marks=(0.5, 0.2), height=155)
    assert (d["bound"] <= d["log_px"] + 1e-12).all()
    # highest at the posterior probability of "male" (to the grid's 0.001), where it touches
    post = em_lib.posterior(np.array([155.0]), W, M, V)[0, 0]
    assert d["best_q"] == pytest.approx(post, abs=1e-3)
    assert d["bound"].max() == pytest.approx(d["log_px"], abs=1e-5)
    # the lecture's Q = (0.2, 0.8) leaves the gap drawn in the stars figure
    _, stars = J.plot_stars(LJ_155, [0.2, 0.8])
    assert d["log_px"] - d["marks_bound"][1] == pytest.approx(stars["gap"])


def test_bound_for_one_sample_handles_one_hot_q():
    values = J.bound_for_one_sample(LJ_155, np.array([0.0, 1.0]))
    np.testing.assert_allclose(values, [LJ_155[1], LJ_155[0]])
    assert np.isfinite(values).all()
