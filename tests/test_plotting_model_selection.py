"""Notebook 05's model-comparison figures: the numbers drawn are em_lib.mixture_nd's."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from em_lib import datasets  # noqa: E402
from em_lib import mixture_nd as mnd  # noqa: E402
from em_lib.plotting import model_selection as ms  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def faithful():
    return datasets.old_faithful()


def test_plot_bic_draws_mixture_nd_bic_and_picks_its_minimum(faithful):
    fits = {K: mnd.fit_em_nd(faithful, K, seed=0) for K in (1, 2, 3)}
    fig, data = ms.plot_bic(faithful, fits)
    expected = [mnd.bic(faithful, fits[K]) for K in (1, 2, 3)]
    assert np.allclose(data["bic"], expected)
    assert np.allclose(fig.axes[0].lines[0].get_ydata(), expected)
    assert data["best_K"] == (1, 2, 3)[int(np.argmin(expected))]
    # BIC minus -2l is the penalty p log n, which grows with K
    penalty = data["bic"] - data["minus_2_log_likelihood"]
    assert np.all(np.diff(penalty) > 0)
    assert penalty[1] == pytest.approx(11 * np.log(faithful.shape[0]))


def test_plot_restarts_marks_the_best_and_counts_distinct_ends():
    fig, data = ms.plot_restarts(np.arange(4), [-10.0, -12.5, -10.0, -11.0])
    assert data["best_seed"] == 0
    assert data["n_distinct"] == 3


def test_collapse_curve_grows_without_bound_as_the_variance_shrinks():
    x, _ = datasets.heights(40, seed=1)
    X = x.reshape(-1, 1)
    i = int(np.argmax(x))
    params = (np.array([0.1, 0.9]), np.array([[x[i]], [x.mean()]]), np.array([[[1.0]], [[x.var()]]]))
    variances = np.logspace(-2, -12, 6)
    values = ms.collapse_curve(X, *params, 0, variances)
    # each factor 100 in variance adds log(10) to that one point's log density, minus log(1) elsewhere
    steps = np.diff(values)
    assert np.all(steps > 0)
    assert np.allclose(steps[1:], np.log(10.0), rtol=1e-3)
    one = mnd.log_likelihood_nd(X, params[0], params[1], np.array([[[variances[2]]], [[x.var()]]]))
    assert values[2] == pytest.approx(one)
    fig, data = ms.plot_collapse(X, *params, 0, variances, reference=-142.5)
    assert np.allclose(data["log_likelihood"], values)


def test_plot_convergence_shows_the_rise_per_sample_and_the_stop(faithful):
    full = mnd.fit_em_nd(faithful, 3, seed=0, tol=0, max_iter=40)
    fig, data = ms.plot_convergence(full.log_likelihoods, faithful.shape[0], tols=(1e-3,))
    assert np.allclose(data["increase_per_sample"], np.diff(full.log_likelihoods) / faithful.shape[0])
    assert np.all(data["increase_per_sample"] >= -1e-12)
    # a fit with tol stops at the first iteration whose rise falls below tol
    stopped = mnd.fit_em_nd(faithful, 3, seed=0, tol=1e-3, max_iter=40)
    first_below = int(np.argmax(data["increase_per_sample"] < 1e-3)) + 2
    assert stopped.converged and stopped.n_iter == first_below


def test_plot_convergence_draws_the_falls_of_a_floored_run_instead_of_hiding_them(faithful):
    """With the default covariance floor the log-likelihood of this run falls after iteration 51 (notebook 05)."""
    floored = mnd.fit_em_nd(faithful, 3, seed=0, tol=0, max_iter=60)
    fig, data = ms.plot_convergence(floored.log_likelihoods, faithful.shape[0])
    change = np.diff(floored.log_likelihoods)
    assert np.array_equal(data["falls"], np.flatnonzero(change < 0) + 1)
    assert data["falls"].size > 0 and data["falls"].min() > 40
    crosses = fig.axes[0].lines[1]
    assert np.allclose(crosses.get_ydata(), -change[change < 0] / faithful.shape[0])
    # without the floor the M-step is exact and every change of the same run is a rise
    exact = mnd.fit_em_nd(faithful, 3, seed=0, tol=0, max_iter=60, covariance_floor=0.0)
    fig, data = ms.plot_convergence(exact.log_likelihoods, faithful.shape[0])
    assert data["falls"].size == 0 and np.all(data["increase_per_sample"] > 0)
