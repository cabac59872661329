"""em_lib.plotting.training: the figures of notebook 04 draw the numbers they are given."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

import em_lib  # noqa: E402
from em_lib import datasets  # noqa: E402
from em_lib.plotting.training import em_snapshots, plot_fit_snapshots, plot_log_likelihood  # noqa: E402

X = datasets.heights(400, seed=1)[0]
START = (np.array([0.5, 0.5]), np.array([185.0, 150.0]), np.array([100.0, 100.0]))


def one_iteration(x, w, m, v):
    return em_lib.m_step(x, em_lib.e_step(x, w, m, v))


def test_snapshots_are_the_parameters_after_t_iterations():
    snaps = em_snapshots(X, *START, iterations=[0, 3, 1], step=one_iteration)
    assert sorted(snaps) == [0, 1, 3]
    np.testing.assert_array_equal(snaps[0][1], START[1])
    for t in (1, 3):
        w, m, v, _ = em_lib.fit_em(X, *START, t)
        np.testing.assert_allclose(snaps[t][1], m, rtol=1e-10)
        np.testing.assert_allclose(snaps[t][2], v, rtol=1e-10)


def test_fit_snapshots_draw_the_mixture_of_each_snapshot():
    snaps = em_snapshots(X, *START, iterations=[0, 2, 10], step=one_iteration)
    fig, data = plot_fit_snapshots(X, snaps, names=("male", "female"))
    assert len(fig.axes) == 3 and data["iterations"] == [0, 2, 10]
    grid = data["grid"]
    for ax, t in zip(fig.axes, data["iterations"]):
        w, m, v = snaps[t]
        expected = sum(w[k] * np.exp(-((grid - m[k]) ** 2) / (2 * v[k])) / np.sqrt(2 * np.pi * v[k]) for k in range(2))
        np.testing.assert_allclose(data["mixture"][t], expected, rtol=1e-10)
        np.testing.assert_allclose(ax.get_lines()[-1].get_ydata(), expected, rtol=1e-10)
        assert data["log_likelihood"][t] == pytest.approx(em_lib.log_likelihood(X, w, m, v))
        # the histogram is a density: it integrates to 1
    assert np.sum(data["hist"] * np.diff(data["edges"])) == pytest.approx(1.0)
    # EM's snapshots have increasing log-likelihood
    ll = [data["log_likelihood"][t] for t in data["iterations"]]
    assert ll == sorted(ll)
    plt.close(fig)


def test_the_history_plotted_is_the_one_given():
    w, m, v, history = em_lib.fit_em(X, *START, 30)
    start = em_lib.log_likelihood(X, *START)
    fig, data = plot_log_likelihood(history, start=start)
    np.testing.assert_array_equal(data["log_likelihood"], np.concatenate([[start], history]))
    np.testing.assert_array_equal(data["iterations"], np.arange(31))
    left, right = fig.axes
    np.testing.assert_array_equal(left.get_lines()[0].get_ydata(), history)
    assert (data["increase"] >= 0).all()
    np.testing.assert_allclose(right.get_lines()[0].get_ydata(), data["increase"][data["increase"] > 0])
    plt.close(fig)


def test_without_a_start_the_iterations_begin_at_one():
    fig, data = plot_log_likelihood([-10.0, -9.0, -8.5])
    np.testing.assert_array_equal(data["iterations"], [1, 2, 3])
    np.testing.assert_array_equal(data["increase"], [1.0, 0.5])
    plt.close(fig)
