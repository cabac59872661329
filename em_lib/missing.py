r"""A Gaussian with missing entries: Part B of notebook 07.

The model: every row :math:`x_i \in \mathbb{R}^d` of ``X`` is drawn from one Gaussian
:math:`N(\mu, \Sigma)`, but some of its entries were not recorded (``np.nan`` in ``X``).
For row i, :math:`o` are the indices seen and :math:`m` the missing ones. The hidden
variable is the missing part :math:`x_{i,m}` itself, a continuous one. The data are
missing at random, so the missing-data mechanism can be left out of the likelihood.

- The observed-data log-likelihood (notebook 07, eq. 7.5) drops the missing coordinates,
  since a margin of a Gaussian is Gaussian:
  :math:`\ell(\mu, \Sigma) = \sum_i \log N(x_{i,o}; \mu_o, \Sigma_{oo})`.
- The conditional of the missing part given the seen part (eq. 7.6; Bishop, PRML eqs. 2.81
  and 2.82) is :math:`N(\hat x_{i,m}, C_i)` with
  :math:`\hat x_{i,m} = \mu_m + \Sigma_{mo}\Sigma_{oo}^{-1}(x_{i,o} - \mu_o)` and
  :math:`C_i = \Sigma_{mm} - \Sigma_{mo}\Sigma_{oo}^{-1}\Sigma_{om}`.
- E-step (eq. 7.7): the expected complete-data sufficient statistics of each row,
  :math:`E[x_i]` (the seen entries, and :math:`\hat x_{i,m}`) and
  :math:`E[x_i x_i^\top] = E[x_i]E[x_i]^\top + C_i` (with :math:`C_i` in the missing block, 0 elsewhere).
- M-step (eq. 7.8): the complete-data maximum-likelihood estimates with those expectations,
  :math:`\mu = \frac1n\sum_i E[x_i]`, :math:`\Sigma = \frac1n\sum_i E[x_i x_i^\top] - \mu\mu^\top`.

Shapes: ``X`` (n, d) with ``np.nan`` for a missing entry; ``mean`` (d,); ``cov`` (d, d);
``expected_x`` (n, d); ``expected_xx`` (n, d, d). The E-step works on the rows that share a
pattern of missing entries together.
"""

import numpy as np

from ._checks import as_float_array, check_finite, check_magnitude, check_positive_int

LOG_2PI = np.log(2.0 * np.pi)


def _check_data(X):
    """(n, d) data, n, d >= 1, with NaN for missing entries and no infinities. Returns float64."""
    X = as_float_array(X, "X")
    if X.ndim != 2 or X.shape[0] == 0 or X.shape[1] == 0:
        raise ValueError(f"X must be a 2-D array of shape (n, d) with n, d >= 1, got shape {X.shape}")
    if np.isinf(X).any():
        i, j = (int(v) for v in np.argwhere(np.isinf(X))[0])
        raise ValueError(f"X must hold finite numbers or NaN (missing), got {X[i, j]} at row {i}, column {j}")
    check_magnitude(np.nan_to_num(X), "X")
    return X


def _check_gaussian(mean, cov, d):
    """``mean`` (d,) finite; ``cov`` (d, d) symmetric positive definite. Returns float64 arrays."""
    mean = as_float_array(mean, "mean")
    if mean.shape != (d,):
        raise ValueError(f"mean must have shape (d,) = ({d},), one entry per column of X, got shape {mean.shape}")
    check_finite(mean, "mean")
    check_magnitude(mean, "mean")
    cov = as_float_array(cov, "cov")
    if cov.shape != (d, d):
        raise ValueError(f"cov must have shape (d, d) = ({d}, {d}), got shape {cov.shape}")
    check_finite(cov, "cov")
    if not np.allclose(cov, cov.T, rtol=1e-10, atol=0.0):
        raise ValueError("cov must be symmetric: cov[j, k] == cov[k, j]")
    try:
        np.linalg.cholesky(cov)
    except np.linalg.LinAlgError:
        raise ValueError(
            f"cov must be positive definite (a covariance with no zero-variance direction); its smallest "
            f"eigenvalue is {float(np.linalg.eigvalsh(cov)[0]):.3g}"
        ) from None
    return mean, cov


def _patterns(X):
    """``[(missing mask (d,), row indices), ...]``: the rows of X grouped by which entries are missing."""
    missing = np.isnan(X)
    patterns, which = np.unique(missing, axis=0, return_inverse=True)
    return [(patterns[p], np.flatnonzero(which.ravel() == p)) for p in range(patterns.shape[0])]


def conditional(mean, cov, missing):
    r"""``(B, C)``: the regression of the missing block on the seen one, and the conditional covariance.

    For a mask ``missing`` (d,): :math:`B = \Sigma_{mo}\Sigma_{oo}^{-1}`, shape (|m|, |o|), so that
    :math:`E[x_m \mid x_o] = \mu_m + B(x_o - \mu_o)`, and
    :math:`C = \Sigma_{mm} - B\Sigma_{om}`, shape (|m|, |m|) (eq. 7.6). Nothing seen: B is empty
    and C is :math:`\Sigma_{mm}`; nothing missing: both are empty.
    """
    m, o = missing, ~missing
    cov_oo, cov_mo = cov[np.ix_(o, o)], cov[np.ix_(m, o)]
    regression = np.linalg.solve(cov_oo, cov_mo.T).T if o.any() else np.zeros((m.sum(), 0))
    conditional_cov = cov[np.ix_(m, m)] - regression @ cov_mo.T
    return regression, 0.5 * (conditional_cov + conditional_cov.T)


def gaussian_missing_e_step(X, mean, cov):
    r"""``(expected_x, expected_xx)``: the conditional first and second moments of each row.

    ``expected_x[i]`` is :math:`E[x_i \mid x_{i,o}]`, shape (n, d); ``expected_xx[i]`` is
    :math:`E[x_i x_i^\top \mid x_{i,o}]`, shape (n, d, d).

    Notebook 07, eq. 7.7, at the parameters ``mean``, ``cov``. The seen entries of a row are
    kept; its missing ones are replaced by their conditional mean
    :math:`\mu_m + \Sigma_{mo}\Sigma_{oo}^{-1}(x_{i,o} - \mu_o)`. The second moment is the
    outer product of that completed row **plus** the conditional covariance
    :math:`\Sigma_{mm} - \Sigma_{mo}\Sigma_{oo}^{-1}\Sigma_{om}` in the missing block: the
    missing values are uncertain, and their expected square is more than the square of their
    expectation. A complete row gives :math:`(x_i, x_i x_i^\top)`; a row with nothing seen
    gives :math:`(\mu, \Sigma + \mu\mu^\top)`.
    """
    X = _check_data(X)
    n, d = X.shape
    mean, cov = _check_gaussian(mean, cov, d)
    expected_x = X.copy()
    correction = np.zeros((n, d, d))
    for missing, rows in _patterns(X):
        if not missing.any():
            continue
        seen = ~missing
        regression, conditional_cov = conditional(mean, cov, missing)
        filled = mean[missing] + (X[np.ix_(rows, seen)] - mean[seen]) @ regression.T
        expected_x[np.ix_(rows, missing)] = filled
        correction[np.ix_(rows, missing, missing)] = conditional_cov
    expected_xx = expected_x[:, :, None] * expected_x[:, None, :] + correction
    return expected_x, expected_xx


def gaussian_missing_m_step(expected_x, expected_xx):
    r"""``(mean, cov)``, (d,) and (d, d), maximising the expected complete-data log-likelihood (eq. 7.8).

    .. math::
        \mu = \frac1n \sum_i E[x_i], \qquad
        \Sigma = \frac1n \sum_i E[x_i x_i^\top] - \mu\mu^\top,

    the complete-data estimates (sample mean, and the covariance with divisor n) with the
    sufficient statistics :math:`\sum_i x_i` and :math:`\sum_i x_i x_i^\top` replaced by their
    expectations from the E-step.
    """
    expected_x = as_float_array(expected_x, "expected_x")
    if expected_x.ndim != 2 or expected_x.shape[0] == 0:
        raise ValueError(f"expected_x must be a 2-D array of shape (n, d), got shape {expected_x.shape}")
    n, d = expected_x.shape
    check_finite(expected_x, "expected_x")
    expected_xx = as_float_array(expected_xx, "expected_xx")
    if expected_xx.shape != (n, d, d):
        raise ValueError(
            f"expected_xx must have shape (n, d, d) = ({n}, {d}, {d}), one (d, d) matrix per row of "
            f"expected_x, got shape {expected_xx.shape}"
        )
    check_finite(expected_xx, "expected_xx")
    mean = expected_x.mean(axis=0)
    cov = expected_xx.mean(axis=0) - np.outer(mean, mean)
    return mean, 0.5 * (cov + cov.T)


def gaussian_missing_log_likelihood(X, mean, cov):
    r"""Float :math:`\ell(\mu, \Sigma) = \sum_i \log N(x_{i,o}; \mu_o, \Sigma_{oo})` (notebook 07, eq. 7.5).

    The log-likelihood of the seen entries only: each row's missing coordinates are
    integrated out, which for a Gaussian means dropping their rows and columns of
    :math:`\Sigma`. A row with nothing seen contributes 0.
    """
    X = _check_data(X)
    mean, cov = _check_gaussian(mean, cov, X.shape[1])
    total = 0.0
    for missing, rows in _patterns(X):
        seen = ~missing
        if not seen.any():
            continue
        chol = np.linalg.cholesky(cov[np.ix_(seen, seen)])
        centred = X[np.ix_(rows, seen)] - mean[seen]
        z = np.linalg.solve(chol, centred.T)                        # L^{-1} (x_o - mu_o)
        log_det = 2.0 * np.log(np.diag(chol)).sum()
        total += -0.5 * (rows.size * (seen.sum() * LOG_2PI + log_det) + (z * z).sum())
    return float(total)


def fit_gaussian_missing(X, mean, cov, n_iter):
    r"""``(mean, cov, log_likelihoods)`` after ``n_iter`` EM iterations from ``(mean, cov)``.

    Each iteration is :func:`gaussian_missing_e_step` then :func:`gaussian_missing_m_step`;
    ``log_likelihoods`` (n_iter,) holds the observed-data log-likelihood (eq. 7.5) after each
    iteration, which never decreases.
    """
    X = _check_data(X)
    mean, cov = _check_gaussian(mean, cov, X.shape[1])
    n_iter = check_positive_int(n_iter, "n_iter")
    history = np.empty(n_iter)
    for t in range(n_iter):
        mean, cov = gaussian_missing_m_step(*gaussian_missing_e_step(X, mean, cov))
        history[t] = gaussian_missing_log_likelihood(X, mean, cov)
    return mean, cov, history


def complete_data_estimates(X):
    r"""``(mean, cov)`` of a complete (n, d) data set: the sample mean and the covariance with divisor n.

    The maximum-likelihood estimates of a Gaussian when nothing is missing; EM's M-step is this
    with the sufficient statistics replaced by their expectations.
    """
    X = _check_data(X)
    if np.isnan(X).any():
        raise ValueError("X has missing entries (NaN): use gaussian_missing_e_step first, or drop those rows")
    mean = X.mean(axis=0)
    centred = X - mean
    return mean, centred.T @ centred / X.shape[0]


__all__ = [
    "conditional",
    "gaussian_missing_e_step",
    "gaussian_missing_m_step",
    "gaussian_missing_log_likelihood",
    "fit_gaussian_missing",
    "complete_data_estimates",
]
