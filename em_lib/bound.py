r"""Jensen's inequality and the lower bound on the log-likelihood (notebooks 02 and 03).

For any distributions :math:`Q_i` over the hidden variable,

.. math::
    \ell(\theta) = \sum_i \log \sum_k Q_i(k)\frac{p(x_i, k)}{Q_i(k)}
    \;\ge\; \sum_i \sum_k Q_i(k) \log\frac{p(x_i, k)}{Q_i(k)} = L(Q, \theta),

and the gap is :math:`\sum_i KL(Q_i \,\|\, p(z \mid x_i))` (notebook 03, eq. 3.4).
Shapes: ``q`` is (n, K), like ``resp``; the rest as in :mod:`em_lib.mixture1d`.
"""

import numpy as np

from ._checks import (
    as_float_array,
    check_distribution_rows,
    check_distributions,
    check_jensen_values,
    check_probability_vector,
)
from .mixture1d import e_step, log_joint, log_likelihood, logsumexp_rows, m_step


def jensen_gap(values, q):
    r"""Jensen's gap :math:`\log\sum_k q_k v_k - \sum_k q_k \log v_k \ge 0` (notebook 02, eq. 2.2).

    Parameters
    ----------
    values : array_like, shape (K,)
        Positive numbers :math:`v_k` (the lecture's "stars").
    q : array_like, shape (K,)
        A distribution over them.

    Returns
    -------
    float
        The gap; 0 exactly when the values with :math:`q_k > 0` are all equal.
    """
    values = check_jensen_values(values)
    q = check_probability_vector(q, "q")
    if q.shape != values.shape:
        raise ValueError(f"q must have the same shape as values {values.shape}, got {q.shape}")
    log_values = np.log(values)
    used = q > 0
    # log of the average, computed stably from the logs: log sum_k q_k e^{log v_k}
    shift = log_values[used].max()
    log_of_average = shift + np.log(np.dot(q[used], np.exp(log_values[used] - shift)))
    average_of_log = np.dot(q[used], log_values[used])
    return float(max(log_of_average - average_of_log, 0.0))


def _q_log_q(q):
    """Elementwise q log q with the convention 0 log 0 = 0."""
    out = np.zeros_like(q)
    np.multiply(q, np.log(q, where=q > 0, out=np.zeros_like(q)), out=out, where=q > 0)
    return out


def entropy(q):
    r"""Entropies :math:`H(Q_i) = -\sum_k Q_i(k)\log Q_i(k)`, with 0 log 0 = 0 (notebook 02, eq. 2.6).

    Parameters
    ----------
    q : array_like, shape (K,) or (n, K)
        One distribution, or rows of them.

    Returns
    -------
    float or ndarray, shape (n,)
        The entropy of each distribution.
    """
    q = check_distributions(q, "q")
    return 0.0 - _q_log_q(q).sum(axis=-1)  # 0.0 - x: a one-hot row gives 0.0, not -0.0


def expected_complete_log_likelihood(x, q, weights, means, variances):
    r"""The expected complete-data log-likelihood :math:`\sum_i\sum_k Q_i(k)\log p(x_i, z_i = k)`: Li Hang's Q function.

    With ``q`` the posterior at :math:`\theta^{(t)}` this is
    :math:`Q(\theta, \theta^{(t)})` of 统计学习方法 ch. 9; ``elbo`` is this plus the
    entropy of q (notebook 04, eq. 4.2).

    Parameters
    ----------
    x : array_like, shape (n,)
        Samples.
    q : array_like, shape (n, K)
        Row i is :math:`Q_i`, a distribution over the K components.
    weights, means, variances : array_like, shape (K,)
        The parameters :math:`\theta`, as in :func:`em_lib.log_joint`.

    Returns
    -------
    float
        Terms with q = 0 contribute 0, even where the log joint is -inf.
    """
    lj = log_joint(x, weights, means, variances)
    q = check_distribution_rows(q, lj.shape[0], lj.shape[1], "q")
    return float(np.sum(q * np.where(q > 0, lj, 0.0)))


def elbo(x, q, weights, means, variances):
    r"""The lower bound :math:`L(Q, \theta)` on the log-likelihood (notebook 02, eq. 2.5).

    :math:`L(Q, \theta) = \sum_i\sum_k Q_i(k)\,(\log p(x_i, z_i=k) - \log Q_i(k))`, with
    0 log 0 = 0, so one-hot ``q`` is allowed.

    Parameters
    ----------
    x : array_like, shape (n,)
        Samples.
    q : array_like, shape (n, K)
        Row i is :math:`Q_i`, a distribution over the K components.
    weights, means, variances : array_like, shape (K,)
        The parameters :math:`\theta`, as in :func:`em_lib.log_joint`.

    Returns
    -------
    float
        :math:`L(Q, \theta) \le \ell(\theta)`, equal to ``log_likelihood`` when ``q`` is the posterior.
    """
    q_arr = as_float_array(q, "q")
    q_function = expected_complete_log_likelihood(x, q_arr, weights, means, variances)  # checks q's shape
    return q_function + float(entropy(q_arr).sum())


def kl_divergence(q, p):
    r"""Kullback-Leibler divergences :math:`KL(Q_i \| P_i) = \sum_k Q_i(k)\log(Q_i(k)/P_i(k))` (notebook 03, eq. 3.4).

    Parameters
    ----------
    q, p : array_like, shape (n, K) or (K,)
        Distributions, one per row, of the same shape.

    Returns
    -------
    ndarray, shape (n,), or float
        The divergence of each row; 0 log 0 = 0, and a row where q puts mass where p
        has none gives inf.
    """
    q = check_distributions(q, "q")
    p = check_distributions(p, "p")
    if q.shape != p.shape:
        raise ValueError(f"q and p must have the same shape, got {q.shape} and {p.shape}")
    terms = np.zeros(np.broadcast_shapes(q.shape, p.shape))
    used = q > 0  # terms with q = 0 are 0, even where p = 0 too (no 0 * inf = NaN)
    with np.errstate(divide="ignore"):
        terms[used] = q[used] * (np.log(q[used]) - np.log(p[used]))
    return terms.sum(axis=-1)


def bound_gap(x, q, weights, means, variances):
    r"""The gap :math:`\ell(\theta) - L(Q, \theta) = \sum_i KL(Q_i \| p(z \mid x_i))` (notebook 03, eq. 3.4).

    Parameters
    ----------
    x : array_like, shape (n,)
        Samples.
    q : array_like, shape (n, K)
        Row i is :math:`Q_i`, a distribution over the K components.
    weights, means, variances : array_like, shape (K,)
        The parameters :math:`\theta`, as in :func:`em_lib.log_joint`.

    Returns
    -------
    float
        The gap, computed from the log posterior (finite in the tails).
    """
    lj = log_joint(x, weights, means, variances)
    q = check_distribution_rows(q, lj.shape[0], lj.shape[1], "q")
    log_post = lj - logsumexp_rows(lj)[:, None]  # log p(z_i = k | x_i), finite in the tails
    used = q > 0
    return float(np.sum(q[used] * (np.log(q[used]) - log_post[used])))


def em_iteration(x, weights, means, variances):
    r"""One EM iteration from :math:`\theta^{(t)}` and the four numbers of its chain (notebook 04, eq. 4.6).

    :math:`\theta^{(t+1)}` is the M-step on the responsibilities :math:`Q^{(t)}` at
    :math:`\theta^{(t)}` (the E-step).

    Parameters
    ----------
    x : array_like, shape (n,)
        Samples.
    weights, means, variances : array_like, shape (K,)
        :math:`\theta^{(t)}`, as in :func:`em_lib.log_joint`.

    Returns
    -------
    weights, means, variances : ndarray, shape (K,)
        :math:`\theta^{(t+1)}`.
    chain : ndarray, shape (4,)
        The chain

        .. math::
            \big[\ell(\theta^{(t)}),\; L(Q^{(t)}, \theta^{(t)}),\;
            L(Q^{(t)}, \theta^{(t+1)}),\; \ell(\theta^{(t+1)})\big],

        which EM keeps in order: the first two are equal (the bound touches at the posterior),
        the M-step cannot lower the bound, and the bound lies below :math:`\ell` everywhere.
    """
    resp = e_step(x, weights, means, variances)
    new = m_step(x, resp)
    chain = np.array([
        log_likelihood(x, weights, means, variances),
        elbo(x, resp, weights, means, variances),
        elbo(x, resp, *new),
        log_likelihood(x, *new),
    ])
    return (*new, chain)
