r"""A mixture of K Poisson distributions on grouped counts: Part A of notebook 07.

The model: each day i has a hidden kind :math:`z_i \in \{0..K-1\}`, drawn with
probabilities :math:`\pi_k`; given its kind, the day's count (of deaths, in Hasselblad's
table) is Poisson with rate :math:`\lambda_k`,

.. math::
    p(y \mid z = k) = \frac{\lambda_k^{y} e^{-\lambda_k}}{y!}.

The data come as a frequency table: ``counts`` (m,) holds the distinct values :math:`u_j`
and ``frequencies`` (m,) the number :math:`f_j` of days with that value, so
:math:`n = \sum_j f_j` days in all. Every day with the same count has the same posterior, so
the E-step is computed once per distinct value, shape (m, K), and the M-step weighs each
value by its frequency. The log-likelihood (notebook 07, eq. 7.1) is

.. math::
    \ell(\theta) = \sum_j f_j \log \sum_k \pi_k \frac{\lambda_k^{u_j} e^{-\lambda_k}}{u_j!}.

Shapes: ``counts``, ``frequencies`` (m,); ``weights``, ``rates`` (K,); ``resp`` (m, K).
Everything is computed in log space (``y log(lambda)`` with ``scipy.special.xlogy``,
``log y!`` with ``gammaln``), so counts in the hundreds, whose ``lambda**y`` and ``y!``
overflow float64, still give finite answers.
"""

import numpy as np
from scipy.special import gammaln, xlogy

from ._checks import (
    as_float_array,
    check_count_resp,
    check_counts,
    check_frequencies,
    check_poisson_mixture,
    check_positive_int,
)
from .mixture1d import logsumexp_rows


def log_poisson(counts, rates):
    r"""Poisson log-probabilities :math:`\log p(u_j \mid z = k) = u_j\log\lambda_k - \lambda_k - \log u_j!`.

    Parameters
    ----------
    counts : array_like, shape (m,)
        The distinct counts :math:`u_j`, whole numbers >= 0.
    rates : array_like, shape (K,)
        Poisson rates :math:`\lambda_k` >= 0 (not validated).

    Returns
    -------
    ndarray, shape (m, K)
        With :math:`0 \log 0 = 0`: a rate of 0 gives probability 1 to the count 0 and 0 to others.
    """
    y = check_counts(counts)
    rates = as_float_array(rates, "rates")
    return xlogy(y[:, None], rates) - rates - gammaln(y + 1.0)[:, None]


def poisson_log_joint(counts, weights, rates):
    r"""Log joint :math:`\log p(u_j, z = k) = \log\pi_k + u_j\log\lambda_k - \lambda_k - \log u_j!`.

    The joint of one day with count :math:`u_j` and its hidden kind, the Poisson version of
    notebook 01's ``log_joint``.

    Parameters
    ----------
    counts : array_like, shape (m,)
        The distinct counts :math:`u_j`, whole numbers >= 0.
    weights : array_like, shape (K,)
        Mixing weights :math:`\pi_k`, summing to 1.
    rates : array_like, shape (K,)
        Poisson rates :math:`\lambda_k` >= 0.

    Returns
    -------
    ndarray, shape (m, K)
        A weight of 0 gives :math:`-\infty` in its column.
    """
    y = check_counts(counts)
    weights, rates = check_poisson_mixture(weights, rates)
    with np.errstate(divide="ignore"):
        return np.log(weights) + log_poisson(y, rates)


def poisson_e_step(counts, weights, rates):
    r"""Responsibilities :math:`r_{jk} = p(z = k \mid u_j; \theta)`: the E-step (notebook 07, eq. 7.3).

    .. math::
        r_{jk} = \frac{\pi_k \lambda_k^{u_j} e^{-\lambda_k}}{\sum_l \pi_l \lambda_l^{u_j} e^{-\lambda_l}}

    One row per distinct count: every day with the count :math:`u_j` has this posterior, so
    the frequencies do not enter. The :math:`u_j!` is common to the numerator and the
    denominator and cancels. Computed from the log joint with each row's largest entry
    subtracted before the ``exp``.

    Parameters
    ----------
    counts : array_like, shape (m,)
        The distinct counts :math:`u_j`, whole numbers >= 0.
    weights : array_like, shape (K,)
        Mixing weights :math:`\pi_k`, summing to 1.
    rates : array_like, shape (K,)
        Poisson rates :math:`\lambda_k` >= 0.

    Returns
    -------
    ndarray, shape (m, K)
        :math:`r_{jk}`; rows sum to 1.
    """
    lj = poisson_log_joint(counts, weights, rates)
    top = lj.max(axis=1, keepdims=True)
    if np.isneginf(top).any():
        j = int(np.argmax(np.isneginf(top[:, 0])))
        raise ValueError(
            f"counts[{j}] = {float(np.asarray(counts, dtype=float)[j]):g} is impossible under every component "
            "(a rate of 0 gives probability 0 to any count above 0): its posterior is undefined"
        )
    ratio = np.exp(lj - top)
    return ratio / ratio.sum(axis=1, keepdims=True)


def poisson_m_step(counts, frequencies, resp):
    r"""The M-step: the parameters maximising the bound for fixed responsibilities (notebook 07, eq. 7.4).

    With :math:`N_k = \sum_j f_j r_{jk}` the expected number of days of kind k and
    :math:`n = \sum_j f_j`:

    .. math::
        \pi_k = \frac{N_k}{n}, \qquad
        \lambda_k = \frac{\sum_j f_j r_{jk} u_j}{N_k},

    the complete-data answers (the share of days of kind k, the mean count of those days)
    with each day counted for kind k with weight :math:`r_{jk}`.

    Parameters
    ----------
    counts : array_like, shape (m,)
        The distinct counts :math:`u_j`, whole numbers >= 0.
    frequencies : array_like, shape (m,)
        :math:`f_j`, the number of days with count :math:`u_j`.
    resp : array_like, shape (m, K)
        Responsibilities :math:`r_{jk}`, one row per distinct count, rows summing to 1.

    Returns
    -------
    weights : ndarray, shape (K,)
    rates : ndarray, shape (K,)
    """
    y = check_counts(counts)
    f = check_frequencies(frequencies, y.size)
    resp = check_count_resp(resp, y.size)
    expected_days = f @ resp                                   # N_k
    empty = np.flatnonzero(expected_days <= 0)
    if empty.size:
        raise ValueError(
            f"resp gives component {int(empty[0])} none of the observed days (sum_j f_j r_jk = 0), "
            "so its rate is 0/0"
        )
    weights = expected_days / f.sum()
    rates = (f * y) @ resp / expected_days
    return weights, rates


def poisson_log_likelihood(counts, frequencies, weights, rates):
    r"""The log-likelihood of the frequency table (notebook 07, eq. 7.1).

    :math:`\ell(\theta) = \sum_j f_j \log\sum_k \pi_k\, \mathrm{Poisson}(u_j; \lambda_k)`, the
    log-likelihood of all :math:`n = \sum_j f_j` days, the hidden kind summed out with
    log-sum-exp; the :math:`\log u_j!` terms are included, so it is the log-probability of
    the table itself (in the order the days came), as R's ``dpois`` would give.

    Parameters
    ----------
    counts : array_like, shape (m,)
        The distinct counts :math:`u_j`, whole numbers >= 0.
    frequencies : array_like, shape (m,)
        :math:`f_j`, the number of days with count :math:`u_j`.
    weights : array_like, shape (K,)
        Mixing weights :math:`\pi_k`, summing to 1.
    rates : array_like, shape (K,)
        Poisson rates :math:`\lambda_k` >= 0.

    Returns
    -------
    float
        :math:`\ell(\theta)`.
    """
    y = check_counts(counts)
    f = check_frequencies(frequencies, y.size)
    with np.errstate(divide="ignore"):      # a count impossible under every component: log 0 = -inf
        per_count = logsumexp_rows(poisson_log_joint(y, weights, rates))
    # a count that is impossible but never seen (f_j = 0) contributes nothing (not 0 * -inf)
    with np.errstate(invalid="ignore"):
        return float(np.sum(np.where(f > 0, f * per_count, 0.0)))


def fit_poisson_mixture(counts, frequencies, weights, rates, n_iter):
    r"""Run ``n_iter`` EM iterations of the Poisson mixture from the given start.

    Each iteration is :func:`poisson_e_step` then :func:`poisson_m_step`.

    Parameters
    ----------
    counts : array_like, shape (m,)
        The distinct counts :math:`u_j`, whole numbers >= 0.
    frequencies : array_like, shape (m,)
        :math:`f_j`, the number of days with count :math:`u_j`.
    weights : array_like, shape (K,)
        Mixing weights :math:`\pi_k`, summing to 1.
    rates : array_like, shape (K,)
        Poisson rates :math:`\lambda_k` >= 0.
    n_iter : int
        Number of iterations, >= 1.

    Returns
    -------
    weights, rates : ndarray, shape (K,)
        The parameters after the last iteration.
    log_likelihoods : ndarray, shape (n_iter,)
        :math:`\ell` after each iteration, which never decreases.
    """
    y = check_counts(counts)
    f = check_frequencies(frequencies, y.size)
    weights, rates = check_poisson_mixture(weights, rates)
    n_iter = check_positive_int(n_iter, "n_iter")
    history = np.empty(n_iter)
    for t in range(n_iter):
        resp = poisson_e_step(y, weights, rates)
        weights, rates = poisson_m_step(y, f, resp)
        history[t] = poisson_log_likelihood(y, f, weights, rates)
    return weights, rates, history


__all__ = [
    "log_poisson",
    "poisson_log_joint",
    "poisson_e_step",
    "poisson_m_step",
    "poisson_log_likelihood",
    "fit_poisson_mixture",
]
