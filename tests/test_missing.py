"""Tests of em_lib.missing: EM for a Gaussian with missing entries, notebook 07, Part B.

Expectations come from SciPy (scipy.stats.multivariate_normal, scipy.optimize), from the
definitions written out one row at a time with explicit inverses, and from Monte Carlo
draws of the conditional distribution.
"""

import warnings

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from scipy import optimize, stats

import em_lib
from em_lib import missing
from em_lib.datasets import old_faithful, old_faithful_missing

# ---------------------------------------------------------------------------
# Strategies: data with holes, and Gaussians
# ---------------------------------------------------------------------------


@st.composite
def gaussians(draw, d):
    """(mean, cov): cov = A A^T + c I, well conditioned."""
    mean = np.array(draw(st.lists(st.floats(-5, 5), min_size=d, max_size=d)))
    A = np.array(draw(st.lists(st.floats(-2, 2), min_size=d * d, max_size=d * d))).reshape(d, d)
    return mean, A @ A.T + draw(st.floats(0.2, 2.0)) * np.eye(d)


@st.composite
def problems(draw, max_d=4):
    """(X, mean, cov): n in 1..12 rows in d in 1..max_d dimensions, any pattern of NaN."""
    d = draw(st.integers(1, max_d))
    n = draw(st.integers(1, 12))
    X = np.array(draw(st.lists(st.floats(-10, 10), min_size=n * d, max_size=n * d))).reshape(n, d)
    holes = np.array(draw(st.lists(st.booleans(), min_size=n * d, max_size=n * d))).reshape(n, d)
    X[holes] = np.nan
    mean, cov = draw(gaussians(d))
    return X, mean, cov


def _row_by_row(X, mean, cov):
    """The E-step written out for one row at a time, with explicit inverses."""
    n, d = X.shape
    ex, exx = np.empty((n, d)), np.empty((n, d, d))
    for i, row in enumerate(X):
        m = np.isnan(row)
        o = ~m
        x = row.copy()
        C = np.zeros((d, d))
        if m.any():
            if o.any():
                inv = np.linalg.inv(cov[np.ix_(o, o)])
                x[m] = mean[m] + cov[np.ix_(m, o)] @ inv @ (row[o] - mean[o])
                C[np.ix_(m, m)] = cov[np.ix_(m, m)] - cov[np.ix_(m, o)] @ inv @ cov[np.ix_(o, m)]
            else:
                x[m] = mean[m]
                C[np.ix_(m, m)] = cov[np.ix_(m, m)]
        ex[i], exx[i] = x, np.outer(x, x) + C
    return ex, exx


# ---------------------------------------------------------------------------
# The E-step
# ---------------------------------------------------------------------------


@given(problems())
def test_e_step_matches_the_definition_row_by_row(problem):
    X, mean, cov = problem
    ex, exx = missing.gaussian_missing_e_step(X, mean, cov)
    want_x, want_xx = _row_by_row(X, mean, cov)
    np.testing.assert_allclose(ex, want_x, rtol=1e-8, atol=1e-8)
    np.testing.assert_allclose(exx, want_xx, rtol=1e-8, atol=1e-7)


@given(problems())
def test_e_step_keeps_seen_entries_and_complete_rows(problem):
    X, mean, cov = problem
    ex, exx = missing.gaussian_missing_e_step(X, mean, cov)
    seen = ~np.isnan(X)
    assert not np.isnan(ex).any()
    np.testing.assert_array_equal(ex[seen], X[seen])
    complete = seen.all(axis=1)
    np.testing.assert_allclose(exx[complete], X[complete][:, :, None] * X[complete][:, None, :], rtol=1e-12)


@given(problems())
def test_second_moment_exceeds_the_square_of_the_first(problem):
    """E[x x^T] - E[x] E[x]^T is a covariance: symmetric and positive semi-definite."""
    X, mean, cov = problem
    ex, exx = missing.gaussian_missing_e_step(X, mean, cov)
    conditional = exx - ex[:, :, None] * ex[:, None, :]
    np.testing.assert_allclose(conditional, np.swapaxes(conditional, 1, 2), atol=1e-9)
    assert (np.linalg.eigvalsh(conditional) >= -1e-8 * max(1.0, np.abs(cov).max())).all()


def test_e_step_moments_match_monte_carlo_draws_of_the_conditional():
    """Draw x from N(mean, cov), keep those whose seen part is (nearly) the row's: their moments are E-step's."""
    mean = np.array([1.0, -1.0, 0.5])
    cov = np.array([[2.0, 0.8, -0.3], [0.8, 1.0, 0.2], [-0.3, 0.2, 0.7]])
    row = np.array([[1.5, np.nan, np.nan]])
    ex, exx = missing.gaussian_missing_e_step(row, mean, cov)
    draws = np.random.default_rng(0).multivariate_normal(mean, cov, size=2_000_000)
    near = draws[np.abs(draws[:, 0] - 1.5) < 0.01]
    assert near.shape[0] > 5000
    np.testing.assert_allclose(near[:, 1:].mean(axis=0), ex[0, 1:], atol=0.03)
    np.testing.assert_allclose(np.einsum("ni,nj->ij", near[:, 1:], near[:, 1:]) / len(near), exx[0, 1:, 1:], atol=0.05)


def test_a_row_with_nothing_seen_gets_the_prior():
    mean, cov = np.array([1.0, 2.0]), np.array([[2.0, 0.5], [0.5, 1.0]])
    ex, exx = missing.gaussian_missing_e_step([[np.nan, np.nan]], mean, cov)
    np.testing.assert_allclose(ex[0], mean)
    np.testing.assert_allclose(exx[0], cov + np.outer(mean, mean))


# ---------------------------------------------------------------------------
# The M-step maximises the expected complete-data log-likelihood
# ---------------------------------------------------------------------------


def _expected_complete(ex, exx, mean, cov):
    """E[sum_i log N(x_i; mean, cov)] from the expected sufficient statistics."""
    n, d = ex.shape
    inv = np.linalg.inv(cov)
    s1, s2 = ex.sum(axis=0), exx.sum(axis=0)
    return float(-0.5 * n * (d * np.log(2 * np.pi) + np.linalg.slogdet(cov)[1])
                 - 0.5 * np.trace(inv @ s2) + mean @ inv @ s1 - 0.5 * n * mean @ inv @ mean)


@given(problems(max_d=3), st.integers(0, 2**32 - 1))
def test_m_step_maximises_the_expected_complete_data_log_likelihood(problem, seed):
    X, mean, cov = problem
    ex, exx = missing.gaussian_missing_e_step(X, mean, cov)
    new_mean, new_cov = missing.gaussian_missing_m_step(ex, exx)
    assume(np.linalg.eigvalsh(new_cov)[0] > 1e-6 * max(1.0, np.abs(new_cov).max()))
    best = _expected_complete(ex, exx, new_mean, new_cov)
    rng = np.random.default_rng(seed)
    d = X.shape[1]
    for _ in range(20):
        B = np.eye(d) + rng.normal(0, 0.2, size=(d, d))
        other_cov = B @ new_cov @ B.T
        other_mean = new_mean + rng.normal(0, 0.3, size=d) * np.sqrt(np.diag(new_cov))
        assert _expected_complete(ex, exx, other_mean, other_cov) <= best + 1e-9 * abs(best)


def test_m_step_of_complete_data_is_the_sample_mean_and_covariance():
    X = old_faithful()
    mean, cov = missing.gaussian_missing_m_step(*missing.gaussian_missing_e_step(X, X.mean(axis=0), np.cov(X.T)))
    np.testing.assert_allclose(mean, X.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(cov, np.cov(X.T, bias=True), rtol=1e-10)
    for got, want in zip(missing.complete_data_estimates(X), (X.mean(axis=0), np.cov(X.T, bias=True))):
        np.testing.assert_allclose(got, want, rtol=1e-10)


# ---------------------------------------------------------------------------
# EM: never decreasing, and the maximum of the observed-data likelihood
# ---------------------------------------------------------------------------


@given(problems(max_d=3), st.integers(1, 10))
def test_em_never_decreases_the_observed_data_log_likelihood(problem, n_iter):
    X, mean, cov = problem
    seen_per_column = (~np.isnan(X)).sum(axis=0)
    assume(seen_per_column.min() >= 3)          # enough data that the covariance stays positive definite
    try:
        _, _, history = missing.fit_gaussian_missing(X, mean, cov, n_iter)
    except ValueError as exc:
        assert "positive definite" in str(exc)  # a collapsing covariance: refused, never NaN
        return
    values = np.concatenate([[missing.gaussian_missing_log_likelihood(X, mean, cov)], history])
    assert np.all(np.diff(values) >= -1e-9 * np.abs(values[:-1]))


@given(problems())
def test_observed_data_log_likelihood_matches_scipy_on_each_row(problem):
    X, mean, cov = problem
    want = 0.0
    for row in X:
        o = ~np.isnan(row)
        if o.any():
            want += stats.multivariate_normal(mean[o], cov[np.ix_(o, o)]).logpdf(row[o])
    assert missing.gaussian_missing_log_likelihood(X, mean, cov) == pytest.approx(want, rel=1e-9, abs=1e-9)


def test_em_on_old_faithful_with_holes_reaches_the_maximum_found_by_scipy():
    """EM's fixed point maximises the observed-data likelihood (7.5): Nelder-Mead on it directly agrees."""
    X = old_faithful_missing(fraction=0.3, seed=0)
    start = (np.nanmean(X, axis=0), np.diag(np.nanvar(X, axis=0)))
    mean, cov, history = missing.fit_gaussian_missing(X, *start, n_iter=60)

    def unpack(p):
        L = np.array([[np.exp(p[2]), 0.0], [p[3], np.exp(p[4])]])
        return p[:2], L @ L.T

    def negative(p):
        return -missing.gaussian_missing_log_likelihood(X, *unpack(p))

    L0 = np.linalg.cholesky(start[1])
    x0 = np.array([*start[0], np.log(L0[0, 0]), L0[1, 0], np.log(L0[1, 1])])
    best = optimize.minimize(negative, x0, method="Nelder-Mead",
                             options={"xatol": 1e-9, "fatol": 1e-10, "maxiter": 20000, "maxfev": 20000})
    assert history[-1] == pytest.approx(-best.fun, abs=1e-6)
    found_mean, found_cov = unpack(best.x)
    np.testing.assert_allclose(mean, found_mean, rtol=1e-4)
    np.testing.assert_allclose(cov, found_cov, rtol=1e-3)


def test_em_on_old_faithful_with_holes_is_fast_and_close_to_the_full_data():
    """The notebook's numbers: the gap shrinks by ~0.07 per iteration; the fit is near the full data's."""
    X = old_faithful_missing(fraction=0.3, seed=0)
    start = (np.nanmean(X, axis=0), np.diag(np.nanvar(X, axis=0)))
    mean, cov, history = missing.fit_gaussian_missing(X, *start, n_iter=30)
    gap = history[-1] - history[:-1]
    assert 0.03 < gap[5] / gap[4] < 0.12
    full_mean, full_cov = missing.complete_data_estimates(old_faithful())
    np.testing.assert_allclose(mean, full_mean, rtol=0.01)
    np.testing.assert_allclose(np.sqrt(np.diag(cov)), np.sqrt(np.diag(full_cov)), rtol=0.02)


def test_em_uses_the_seen_value_when_rows_are_missing_at_random():
    """Waits lost after long eruptions (MAR): the complete rows are biased, EM is not (notebook 07's example)."""
    X_full = old_faithful()
    X = X_full.copy()
    X[(X_full[:, 0] > 3.5) & (np.random.default_rng(1).random(len(X_full)) < 0.7), 1] = np.nan
    mean, _, _ = missing.fit_gaussian_missing(X, np.nanmean(X, axis=0), np.diag(np.nanvar(X, axis=0)), 100)
    assert abs(mean[1] - X_full[:, 1].mean()) < 0.2
    assert X_full[:, 1].mean() - np.nanmean(X[:, 1]) > 6


# ---------------------------------------------------------------------------
# Validation
# ---------------------------------------------------------------------------


def test_no_warnings_on_the_notebooks_data():
    X = old_faithful_missing()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        missing.fit_gaussian_missing(X, np.nanmean(X, axis=0), np.diag(np.nanvar(X, axis=0)), 5)


def test_the_contract_names_are_the_modules():
    assert em_lib.gaussian_missing_e_step is missing.gaussian_missing_e_step
    assert em_lib.gaussian_missing_m_step is missing.gaussian_missing_m_step


GOOD = dict(mean=[0.0, 0.0], cov=[[1.0, 0.2], [0.2, 1.0]])


@pytest.mark.parametrize("call, message", [
    (lambda: missing.gaussian_missing_e_step([1.0, 2.0], **GOOD), r"^X must be a 2-D array of shape \(n, d\)"),
    (lambda: missing.gaussian_missing_e_step(np.zeros((0, 2)), **GOOD), r"^X must be a 2-D array"),
    (lambda: missing.gaussian_missing_e_step([[1.0, np.inf]], **GOOD), r"^X must hold finite numbers or NaN.*row 0, column 1"),
    (lambda: missing.gaussian_missing_e_step([[1.0, "a"]], **GOOD), r"^X must be numeric"),
    (lambda: missing.gaussian_missing_e_step([[1.0, 2.0]], [0.0], GOOD["cov"]), r"^mean must have shape \(d,\) = \(2,\)"),
    (lambda: missing.gaussian_missing_e_step([[1.0, 2.0]], [0.0, np.nan], GOOD["cov"]), r"^mean must be finite"),
    (lambda: missing.gaussian_missing_e_step([[1.0, 2.0]], GOOD["mean"], [1.0, 1.0]), r"^cov must have shape \(d, d\) = \(2, 2\)"),
    (lambda: missing.gaussian_missing_e_step([[1.0, 2.0]], GOOD["mean"], [[1.0, 0.5], [0.2, 1.0]]), r"^cov must be symmetric"),
    (lambda: missing.gaussian_missing_e_step([[1.0, 2.0]], GOOD["mean"], [[1.0, 1.0], [1.0, 1.0]]), r"^cov must be positive definite"),
    (lambda: missing.gaussian_missing_m_step(np.zeros((3, 2)), np.zeros((3, 2))), r"^expected_xx must have shape \(n, d, d\) = \(3, 2, 2\)"),
    (lambda: missing.gaussian_missing_m_step(np.zeros(3), np.zeros((3, 1, 1))), r"^expected_x must be a 2-D array"),
    (lambda: missing.gaussian_missing_m_step(np.full((2, 1), np.nan), np.zeros((2, 1, 1))), r"^expected_x must be finite"),
    (lambda: missing.complete_data_estimates([[1.0, np.nan]]), r"^X has missing entries"),
    (lambda: missing.fit_gaussian_missing([[1.0, 2.0]], n_iter=0, **GOOD), r"^n_iter must be at least 1"),
])
def test_bad_input_raises_a_value_error_naming_the_parameter(call, message):
    with pytest.raises(ValueError, match=message):
        call()
