r"""A mixture of K Gaussians in one dimension: the model of notebooks 01, 03 and 04.

The model (notebook 01, eq. 1.1): a hidden component :math:`z_i \in \{0..K-1\}`
is drawn with probabilities :math:`\pi_k`, then :math:`x_i \sim N(\mu_k, \sigma_k^2)`.

Shapes: ``x`` is (n,); ``weights``, ``means``, ``variances`` are (K,);
``resp`` is (n, K). Parameters are variances, never standard deviations.
Everything is computed in log space, so points far out in the tails, whose
densities underflow to 0 in floating point, still get finite answers.
"""

import numpy as np

from ._checks import (
    as_float_array,
    check_distribution_rows,
    check_mixture,
    check_positive_int,
    check_samples,
)

LOG_2PI = np.log(2.0 * np.pi)

#: Points per block in the fast sweep of ``fit_em``: a (K, CHUNK) block stays in cache.
CHUNK = 32768


def logsumexp_rows(a):
    r""":math:`\log \sum_k e^{a_{ik}}` for each row of an (n, K) array, without overflow or underflow.

    The largest entry of each row is factored out first (notebook 01, eq. 1.6):
    :math:`\log\sum_k e^{a_k} = m + \log\sum_k e^{a_k - m}` with :math:`m = \max_k a_k`.
    """
    top = a.max(axis=1, keepdims=True)
    top = np.where(np.isfinite(top), top, 0.0)
    return (top + np.log(np.exp(a - top).sum(axis=1, keepdims=True)))[:, 0]


def log_joint(x, weights, means, variances):
    r"""(n, K) array of :math:`\log p(x_i, z_i = k) = \log\pi_k + \log N(x_i; \mu_k, \sigma_k^2)`.

    Notebook 01, eq. 1.3: the joint, not the conditional :math:`p(x_i \mid z_i = k)`.
    A component with weight 0 gets :math:`-\infty` in its column.
    """
    x = check_samples(x)
    weights, means, variances = check_mixture(weights, means, variances)
    with np.errstate(divide="ignore"):
        log_weights = np.log(weights)
    with np.errstate(over="ignore"):  # a far point under a tiny variance: -inf, handled by the callers
        return log_weights - 0.5 * (LOG_2PI + np.log(variances)) - 0.5 * (x[:, None] - means) ** 2 / variances


def log_likelihood(x, weights, means, variances):
    r"""Float :math:`\ell(\theta) = \sum_i \log \sum_k p(x_i, z_i = k)` (notebook 01, eq. 1.5).

    The hidden variable is marginalised inside the log with log-sum-exp, so the
    result stays finite where the densities themselves underflow to 0.
    """
    return float(logsumexp_rows(log_joint(x, weights, means, variances)).sum())


def posterior(x, weights, means, variances):
    r"""(n, K) array of :math:`p(z_i = k \mid x_i) = p(x_i, z_i = k) / \sum_j p(x_i, z_i = j)`.

    Notebook 03, eq. 3.2: the distribution Q_i that makes Jensen's bound tight.
    Rows sum to 1. Each row's largest log joint is factored out before the ``exp``
    (as in log-sum-exp), and the row is then divided by its sum: subtracting the
    log-sum-exp instead would leave rows summing to 1 only up to ``eps * |log p|``,
    which in the far tails (log joints of -1e10) is an error of 1e-6.
    """
    lj = log_joint(x, weights, means, variances)
    top = lj.max(axis=1, keepdims=True)
    if np.isneginf(top).any():
        i = int(np.argmax(np.isneginf(top[:, 0])))
        raise ValueError(
            f"x[{i}] = {float(np.asarray(x, dtype=float)[i]):.6g} is so far from every component, for its "
            "variance, that every log density overflows to -inf: its posterior is not computable "
            "in float64 (check the units of x and the variances)"
        )
    ratio = np.exp(lj - top)
    return ratio / ratio.sum(axis=1, keepdims=True)


def e_step(x, weights, means, variances):
    r"""(n, K) responsibilities :math:`\gamma_{ik} = p(z_i = k \mid x_i; \theta)` (notebook 04, eq. 4.1).

    The E-step *is* the posterior of notebook 03, evaluated at the current parameters.
    """
    return posterior(x, weights, means, variances)


def m_step(x, resp):
    r"""``(weights, means, variances)``, each (K,), maximising the bound for fixed ``resp``.

    Notebook 04, eqs. 4.3 to 4.5, with :math:`N_k = \sum_i \gamma_{ik}`:

    .. math::
        \pi_k = N_k / n, \quad
        \mu_k = \frac{1}{N_k}\sum_i \gamma_{ik} x_i, \quad
        \sigma_k^2 = \frac{1}{N_k}\sum_i \gamma_{ik} (x_i - \mu_k)^2.
    """
    x = check_samples(x)
    resp = as_float_array(resp, "resp")
    if resp.ndim != 2:
        raise ValueError(f"resp must be a 2-D array of shape (n, K), got shape {resp.shape}")
    if resp.shape[0] != x.size:
        hint = " (transposed? rows are samples i, columns components k)" if resp.shape[1] == x.size else ""
        raise ValueError(
            f"resp must have one row per sample, shape (n, K) with n = {x.size}, got shape {resp.shape}{hint}"
        )
    resp = check_distribution_rows(resp, x.size, resp.shape[1], "resp")
    counts = resp.sum(axis=0)
    empty = np.flatnonzero(counts <= 0)
    if empty.size:
        raise ValueError(
            f"resp gives component {int(empty[0])} no responsibility at all (its column sums to 0), "
            "so its mean and variance are undefined"
        )
    weights = counts / x.size
    means = resp.T @ x / counts
    variances = (resp * (x[:, None] - means) ** 2).sum(axis=0) / counts
    return weights, means, variances


# --------------------------------------------------------------------------
# fit_em: the same E- and M-step, fused into one fast sweep over the data.
# --------------------------------------------------------------------------

def _sweep(x, weights, means, variances, chunk=CHUNK):
    r"""One pass over the data at fixed parameters: the E-step and what the M-step needs.

    Returns the log-likelihood :math:`\ell(\theta)` and the (K, 3) statistics
    :math:`\sum_i \gamma_{ik} (1, d_{ik}, d_{ik}^2)` with :math:`d_{ik} = x_i - \mu_k`,
    the distance to the *current* mean of each component. Measuring from each
    component's own mean (not from 0, not from the data's mean) is what keeps
    the new variance :math:`\sum\gamma d^2/N - (\sum\gamma d/N)^2` free of
    cancellation. Works component-major on blocks of ``chunk`` points: one
    ``exp`` per entry, reused for both the log-likelihood and the responsibilities.
    """
    with np.errstate(divide="ignore"):
        log_weights = np.log(weights)
    log_norm = (log_weights - 0.5 * (LOG_2PI + np.log(variances)))[:, None]
    minus_half_precision = (-0.5 / variances)[:, None]
    counts, sum_d, sum_d2 = (np.zeros(means.size) for _ in range(3))
    loglik = 0.0
    for start in range(0, x.size, chunk):
        d = x[start:start + chunk] - means[:, None]   # (K, m): x_i - mu_k
        joint = d * d
        joint *= minus_half_precision
        joint += log_norm                       # log p(x_i, z_i = k)
        top = joint.max(axis=0)                 # log-sum-exp shift, per point
        joint -= top
        np.exp(joint, out=joint)                # p(x_i, z=k) / e^top
        total = joint.sum(axis=0)               # p(x_i) / e^top
        loglik += np.log(total).sum() + top.sum()
        joint *= 1.0 / total                    # responsibilities gamma_ik
        counts += joint.sum(axis=1)             # sum_i gamma_ik
        joint *= d
        sum_d += joint.sum(axis=1)              # sum_i gamma_ik (x_i - mu_k)
        joint *= d
        sum_d2 += joint.sum(axis=1)             # sum_i gamma_ik (x_i - mu_k)^2
    return loglik, np.stack([counts, sum_d, sum_d2], axis=1)


def _spread_about(x, weights, means, variances, centres, chunk=CHUNK):
    r""":math:`\sum_i \gamma_{ik} (x_i - c_k)^2` for the responsibilities at the given parameters.

    The slow, exact route to the M-step's variances, taken only when a mean moved
    so far in one iteration that the fast formula would lose digits.
    """
    out = np.zeros(means.size)
    for start in range(0, x.size, chunk):
        block = x[start:start + chunk]
        resp = posterior(block, weights, means, variances)   # (m, K)
        out += (resp * (block[:, None] - centres) ** 2).sum(axis=0)
    return out


def _m_step_from_statistics(x, theta, stats, iteration):
    """The M-step (notebook 04, eqs. 4.3 to 4.5) from the (K, 3) statistics of ``_sweep``."""
    weights, means, variances = theta
    counts = stats[:, 0]
    if (counts <= 0).any():
        k = int(np.argmin(counts))
        raise ValueError(f"component {k} lost all its responsibility at iteration {iteration}")
    shift = stats[:, 1] / counts
    mean_square = stats[:, 2] / counts
    new_means = means + shift
    new_variances = mean_square - shift**2
    # The subtraction loses digits when a mean jumped by hundreds of standard deviations:
    # then measure the spread again, about the new means.
    inexact = new_variances <= 1e-5 * mean_square
    if inexact.any():
        new_variances = np.where(
            inexact, _spread_about(x, weights, means, variances, new_means) / counts, new_variances
        )
    # A standard deviation below the rounding of its own mean is a variance of 0 in disguise.
    collapsed = new_variances <= (8 * np.finfo(np.float64).eps * np.abs(new_means)) ** 2
    if collapsed.any():
        k = int(np.argmax(collapsed))
        raise ValueError(
            f"component {k} collapsed onto a single point at iteration {iteration} "
            "(its variance reached 0, so the likelihood is unbounded); start from other "
            "parameters or use em_lib.mixture_nd, which keeps a variance floor"
        )
    return counts / x.size, new_means, new_variances


def fit_em(x, weights, means, variances, n_iter):
    r"""Run ``n_iter`` EM iterations from the given start (notebook 04, the loop).

    Returns ``(weights, means, variances, log_likelihoods)``: the parameters after
    the last iteration and an (n_iter,) array whose entry t is
    :math:`\ell(\theta^{(t+1)})`, the log-likelihood after iteration t. EM never
    lets it decrease. Each iteration is an E-step (responsibilities) then an
    M-step (weighted means, variances and weights), fused into one pass over the data.
    """
    x = check_samples(x)
    theta = check_mixture(weights, means, variances)
    n_iter = check_positive_int(n_iter, "n_iter")
    _, stats = _sweep(x, *theta)
    history = np.empty(n_iter)
    for t in range(n_iter):
        theta = _m_step_from_statistics(x, theta, stats, t)
        history[t], stats = _sweep(x, *theta)
    return (*theta, history)
