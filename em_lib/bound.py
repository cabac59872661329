r"""Jensen's inequality and the lower bound on the log-likelihood (notebooks 02 and 03).

For any distributions :math:`Q_i` over the hidden variable,

.. math::
    \ell(\theta) = \sum_i \log \sum_k Q_i(k)\frac{p(x_i, k)}{Q_i(k)}
    \;\ge\; \sum_i \sum_k Q_i(k) \log\frac{p(x_i, k)}{Q_i(k)} = L(Q, \theta),

and the gap is :math:`\sum_i KL(Q_i \,\|\, p(z \mid x_i))` (notebook 03, eq. 3.4).
Shapes: ``q`` is (n, K), like ``resp``; the rest as in :mod:`em_lib.mixture1d`.
"""

import numpy as np

from ._checks import as_float_array, check_distribution_rows, check_finite, check_probability_vector
from .mixture1d import e_step, log_joint, log_likelihood, logsumexp_rows, m_step


def jensen_gap(values, q):
    r"""Float :math:`\log\sum_k q_k v_k - \sum_k q_k \log v_k \ge 0` (notebook 02, eq. 2.2).

    ``values`` (K,) are positive numbers (the lecture's "stars"), ``q`` (K,) a
    distribution over them. The gap is 0 exactly when the values with
    :math:`q_k > 0` are all equal.
    """
    values = as_float_array(values, "values")
    if values.ndim != 1 or values.size == 0:
        raise ValueError(f"values must be a non-empty 1-D array, got shape {values.shape}")
    check_finite(values, "values")
    if (values <= 0).any():
        raise ValueError(f"values must be strictly positive (log is taken), got {float(values.min())!r}")
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


def _rows(q, name):
    """A (K,) distribution or an (n, K) array of them, checked like ``q`` everywhere else."""
    q = as_float_array(q, name)
    if q.ndim not in (1, 2) or q.size == 0:
        raise ValueError(f"{name} must be a distribution of shape (K,) or rows of them, shape (n, K), got shape {q.shape}")
    rows = np.atleast_2d(q)
    check_distribution_rows(rows, rows.shape[0], rows.shape[1], name)
    return q


def entropy(q):
    r"""Entropies :math:`H(Q_i) = -\sum_k Q_i(k)\log Q_i(k)`, with 0 log 0 = 0.

    ``q`` is one distribution (K,), giving a float, or rows of them (n, K), giving (n,).
    """
    q = _rows(q, "q")
    return 0.0 - _q_log_q(q).sum(axis=-1)  # 0.0 - x: a one-hot row gives 0.0, not -0.0


def expected_complete_log_likelihood(x, q, weights, means, variances):
    r"""Float :math:`\sum_i\sum_k Q_i(k)\log p(x_i, z_i = k)`: Li Hang's Q function.

    With ``q`` the posterior at :math:`\theta^{(t)}` this is
    :math:`Q(\theta, \theta^{(t)})` of 统计学习方法 ch. 9; ``elbo`` is this plus the
    entropy of q (notebook 04, eq. 4.2). Terms with q = 0 contribute 0, even
    where the log joint is -inf.
    """
    lj = log_joint(x, weights, means, variances)
    q = check_distribution_rows(q, lj.shape[0], lj.shape[1], "q")
    return float(np.sum(q * np.where(q > 0, lj, 0.0)))


def elbo(x, q, weights, means, variances):
    r"""Float :math:`L(Q, \theta) = \sum_i\sum_k Q_i(k)\,(\log p(x_i, z_i=k) - \log Q_i(k))`.

    Notebook 02, eq. 2.5: the lower bound on :math:`\ell(\theta)`, with
    0 log 0 = 0 so one-hot ``q`` is allowed. Equal to ``log_likelihood`` when
    ``q`` is the posterior.
    """
    q_arr = as_float_array(q, "q")
    q_function = expected_complete_log_likelihood(x, q_arr, weights, means, variances)  # checks q's shape
    return q_function + float(entropy(q_arr).sum())


def kl_divergence(q, p):
    r"""(n,) array :math:`KL(Q_i \| P_i) = \sum_k Q_i(k)\log(Q_i(k)/P_i(k))` for each row.

    ``q`` and ``p`` are (n, K) row distributions; 0 log 0 = 0, and a row where q puts
    mass where p has none gives inf.
    """
    q = _rows(q, "q")
    p = _rows(p, "p")
    if q.shape != p.shape:
        raise ValueError(f"q and p must have the same shape, got {q.shape} and {p.shape}")
    terms = np.zeros(np.broadcast_shapes(q.shape, p.shape))
    used = q > 0  # terms with q = 0 are 0, even where p = 0 too (no 0 * inf = NaN)
    with np.errstate(divide="ignore"):
        terms[used] = q[used] * (np.log(q[used]) - np.log(p[used]))
    return terms.sum(axis=-1)


def bound_gap(x, q, weights, means, variances):
    r"""Float :math:`\ell(\theta) - L(Q, \theta) = \sum_i KL(Q_i \| p(z \mid x_i))` (notebook 03, eq. 3.4)."""
    lj = log_joint(x, weights, means, variances)
    q = check_distribution_rows(q, lj.shape[0], lj.shape[1], "q")
    log_post = lj - logsumexp_rows(lj)[:, None]  # log p(z_i = k | x_i), finite in the tails
    used = q > 0
    return float(np.sum(q[used] * (np.log(q[used]) - log_post[used])))


def em_iteration(x, weights, means, variances):
    r"""One EM iteration from :math:`\theta^{(t)}` and the four numbers of its chain (notebook 04, eq. 4.6).

    Returns ``(weights, means, variances, chain)``: :math:`\theta^{(t+1)}`, the M-step on the
    responsibilities :math:`Q^{(t)}` at :math:`\theta^{(t)}` (the E-step), and the (4,) array

    .. math::
        \big[\ell(\theta^{(t)}),\; L(Q^{(t)}, \theta^{(t)}),\; L(Q^{(t)}, \theta^{(t+1)}),\; \ell(\theta^{(t+1)})\big],

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
