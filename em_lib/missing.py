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

from ._checks import check_data_with_holes, check_gaussian, check_moments, check_positive_int
from .mixture1d import LOG_2PI


def _patterns(X):
    """``[(missing mask (d,), row indices), ...]``: the rows of X grouped by which entries are missing."""
    missing = np.isnan(X)
    patterns, which = np.unique(missing, axis=0, return_inverse=True)
    return [(patterns[p], np.flatnonzero(which.ravel() == p)) for p in range(patterns.shape[0])]


def conditional(mean, cov, missing):
    r"""The regression of the missing block on the seen one, and the conditional covariance (notebook 07, eq. 7.6).

    Nothing seen: B is empty and C is :math:`\Sigma_{mm}`; nothing missing: both are empty.
    Not validated.

    Parameters
    ----------
    mean : ndarray, shape (d,)
        :math:`\mu` (unused: the regression does not depend on it).
    cov : ndarray, shape (d, d)
        :math:`\Sigma`.
    missing : ndarray of bool, shape (d,)
        True where an entry is missing (m), False where it is seen (o).

    Returns
    -------
    B : ndarray, shape (n_missing, n_seen)
        :math:`\Sigma_{mo}\Sigma_{oo}^{-1}`, so that :math:`E[x_m \mid x_o] = \mu_m + B(x_o - \mu_o)`.
    C : ndarray, shape (n_missing, n_missing)
        :math:`\Sigma_{mm} - B\Sigma_{om}`.
    """
    m, o = missing, ~missing
    cov_oo, cov_mo = cov[np.ix_(o, o)], cov[np.ix_(m, o)]
    regression = np.linalg.solve(cov_oo, cov_mo.T).T if o.any() else np.zeros((m.sum(), 0))
    conditional_cov = cov[np.ix_(m, m)] - regression @ cov_mo.T
    return regression, 0.5 * (conditional_cov + conditional_cov.T)


def gaussian_missing_e_step(X, mean, cov):
    r"""The E-step: the conditional first and second moments of each row (notebook 07, eq. 7.7).

    The seen entries of a row are kept; its missing ones are replaced by their conditional
    mean :math:`\mu_m + \Sigma_{mo}\Sigma_{oo}^{-1}(x_{i,o} - \mu_o)`. The second moment is
    the outer product of that completed row **plus** the conditional covariance
    :math:`\Sigma_{mm} - \Sigma_{mo}\Sigma_{oo}^{-1}\Sigma_{om}` in the missing block: the
    missing values are uncertain, and their expected square is more than the square of their
    expectation. A complete row gives :math:`(x_i, x_i x_i^\top)`; a row with nothing seen
    gives :math:`(\mu, \Sigma + \mu\mu^\top)`.

    Parameters
    ----------
    X : array_like, shape (n, d)
        The data, ``np.nan`` where an entry is missing.
    mean : array_like, shape (d,)
        :math:`\mu`.
    cov : array_like, shape (d, d)
        :math:`\Sigma`, symmetric positive definite.

    Returns
    -------
    expected_x : ndarray, shape (n, d)
        :math:`E[x_i \mid x_{i,o}]`.
    expected_xx : ndarray, shape (n, d, d)
        :math:`E[x_i x_i^\top \mid x_{i,o}]`.
    """
    X = check_data_with_holes(X)
    n, d = X.shape
    mean, cov = check_gaussian(mean, cov, d)
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
    r"""The M-step: the mean and covariance maximising the expected complete-data log-likelihood (notebook 07, eq. 7.8).

    .. math::
        \mu = \frac1n \sum_i E[x_i], \qquad
        \Sigma = \frac1n \sum_i E[x_i x_i^\top] - \mu\mu^\top,

    the complete-data estimates (sample mean, and the covariance with divisor n) with the
    sufficient statistics :math:`\sum_i x_i` and :math:`\sum_i x_i x_i^\top` replaced by their
    expectations from the E-step.

    Parameters
    ----------
    expected_x : array_like, shape (n, d)
        :math:`E[x_i \mid x_{i,o}]`, from :func:`gaussian_missing_e_step`.
    expected_xx : array_like, shape (n, d, d)
        :math:`E[x_i x_i^\top \mid x_{i,o}]`.

    Returns
    -------
    mean : ndarray, shape (d,)
    cov : ndarray, shape (d, d)
    """
    expected_x, expected_xx = check_moments(expected_x, expected_xx)
    mean = expected_x.mean(axis=0)
    cov = expected_xx.mean(axis=0) - np.outer(mean, mean)
    return mean, 0.5 * (cov + cov.T)


def gaussian_missing_log_likelihood(X, mean, cov):
    r"""The observed-data log-likelihood (notebook 07, eq. 7.5).

    :math:`\ell(\mu, \Sigma) = \sum_i \log N(x_{i,o}; \mu_o, \Sigma_{oo})`, the log-likelihood
    of the seen entries only: each row's missing coordinates are integrated out, which for a
    Gaussian means dropping their rows and columns of :math:`\Sigma`.

    Parameters
    ----------
    X : array_like, shape (n, d)
        The data, ``np.nan`` where an entry is missing.
    mean : array_like, shape (d,)
        :math:`\mu`.
    cov : array_like, shape (d, d)
        :math:`\Sigma`, symmetric positive definite.

    Returns
    -------
    float
        :math:`\ell(\mu, \Sigma)`; a row with nothing seen contributes 0.
    """
    X = check_data_with_holes(X)
    mean, cov = check_gaussian(mean, cov, X.shape[1])
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
    r"""Run ``n_iter`` EM iterations of the Gaussian with missing entries from ``(mean, cov)``.

    Each iteration is :func:`gaussian_missing_e_step` then :func:`gaussian_missing_m_step`.

    Parameters
    ----------
    X : array_like, shape (n, d)
        The data, ``np.nan`` where an entry is missing.
    mean : array_like, shape (d,)
        The starting :math:`\mu`.
    cov : array_like, shape (d, d)
        The starting :math:`\Sigma`, symmetric positive definite.
    n_iter : int
        Number of iterations, >= 1.

    Returns
    -------
    mean : ndarray, shape (d,)
    cov : ndarray, shape (d, d)
    log_likelihoods : ndarray, shape (n_iter,)
        The observed-data log-likelihood (eq. 7.5) after each iteration, which never decreases.
    """
    X = check_data_with_holes(X)
    mean, cov = check_gaussian(mean, cov, X.shape[1])
    n_iter = check_positive_int(n_iter, "n_iter")
    history = np.empty(n_iter)
    for t in range(n_iter):
        mean, cov = gaussian_missing_m_step(*gaussian_missing_e_step(X, mean, cov))
        history[t] = gaussian_missing_log_likelihood(X, mean, cov)
    return mean, cov, history


def complete_data_estimates(X):
    r"""The sample mean and the covariance with divisor n of a complete data set.

    The maximum-likelihood estimates of a Gaussian when nothing is missing; EM's M-step is this
    with the sufficient statistics replaced by their expectations.

    Parameters
    ----------
    X : array_like, shape (n, d)
        The data, with no missing entry.

    Returns
    -------
    mean : ndarray, shape (d,)
    cov : ndarray, shape (d, d)
    """
    X = check_data_with_holes(X)
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
