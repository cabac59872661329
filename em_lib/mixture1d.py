r"""A mixture of K Gaussians in one dimension: the model of notebooks 01, 03 and 04.

The model (notebook 01, eq. 1.1): a hidden component :math:`z_i \in \{0..K-1\}`
is drawn with probabilities :math:`\pi_k`, then :math:`x_i \sim N(\mu_k, \sigma_k^2)`.

Shapes: ``x`` is (n,); ``weights``, ``means``, ``variances`` are (K,);
``resp`` is (n, K). Parameters are variances, never standard deviations.
Everything is computed in log space, so points far out in the tails, whose
densities underflow to 0 in floating point, still get finite answers.
"""

import numpy as np

from ._checks import check_mixture, check_no_empty_component, check_positive_int, check_resp, check_samples

#: :math:`\log 2\pi`, in every Gaussian log density of em_lib.
LOG_2PI = np.log(2.0 * np.pi)

#: Points per block in the fast sweep of ``fit_em``: a (K, CHUNK) block stays in cache.
CHUNK = 32768


def logsumexp_rows(a):
    r"""Log-sum-exp of each row, :math:`\log \sum_k e^{a_{ik}}`, without overflow or underflow (notebook 01, eq. 1.6).

    The largest entry of each row is factored out first:
    :math:`\log\sum_k e^{a_k} = m + \log\sum_k e^{a_k - m}` with :math:`m = \max_k a_k`.

    Parameters
    ----------
    a : ndarray, shape (n, K)
        Logs, e.g. the log joint; -inf allowed.

    Returns
    -------
    ndarray, shape (n,)
    """
    top = a.max(axis=1, keepdims=True)
    top = np.where(np.isfinite(top), top, 0.0)
    return (top + np.log(np.exp(a - top).sum(axis=1, keepdims=True)))[:, 0]


def log_joint(x, weights, means, variances):
    r"""Log joint :math:`\log p(x_i, z_i = k) = \log\pi_k + \log N(x_i; \mu_k, \sigma_k^2)` (notebook 01, eq. 1.3).

    The joint, not the conditional :math:`p(x_i \mid z_i = k)`.

    Parameters
    ----------
    x : array_like, shape (n,)
        Samples.
    weights : array_like, shape (K,)
        Mixing weights :math:`\pi_k`, summing to 1.
    means : array_like, shape (K,)
        Component means :math:`\mu_k`.
    variances : array_like, shape (K,)
        Component variances :math:`\sigma_k^2` (not standard deviations), > 0.

    Returns
    -------
    ndarray, shape (n, K)
        Entry (i, k) is :math:`\log p(x_i, z_i = k)`; a component with weight 0 gets
        :math:`-\infty` in its column.
    """
    x = check_samples(x)
    weights, means, variances = check_mixture(weights, means, variances)
    with np.errstate(divide="ignore"):
        log_weights = np.log(weights)
    with np.errstate(over="ignore"):  # a far point under a tiny variance: -inf, handled by the callers
        return log_weights - 0.5 * (LOG_2PI + np.log(variances)) - 0.5 * (x[:, None] - means) ** 2 / variances


def log_likelihood(x, weights, means, variances):
    r"""Log-likelihood :math:`\ell(\theta) = \sum_i \log \sum_k p(x_i, z_i = k)` (notebook 01, eq. 1.5).

    The hidden variable is marginalised inside the log with log-sum-exp, so the
    result stays finite where the densities themselves underflow to 0.

    Parameters
    ----------
    x : array_like, shape (n,)
        Samples.
    weights : array_like, shape (K,)
        Mixing weights :math:`\pi_k`, summing to 1.
    means : array_like, shape (K,)
        Component means :math:`\mu_k`.
    variances : array_like, shape (K,)
        Component variances :math:`\sigma_k^2` (not standard deviations), > 0.

    Returns
    -------
    float
        :math:`\ell(\theta)`.
    """
    return float(logsumexp_rows(log_joint(x, weights, means, variances)).sum())


def posterior(x, weights, means, variances):
    r"""Posterior :math:`p(z_i = k \mid x_i) = p(x_i, z_i = k) / \sum_j p(x_i, z_i = j)` (notebook 03, eq. 3.2).

    The distribution :math:`Q_i` that makes Jensen's bound tight. Each row's largest log
    joint is factored out before the ``exp`` (as in log-sum-exp), and the row is then
    divided by its sum: subtracting the log-sum-exp instead would leave rows summing to 1
    only up to ``eps * |log p|``, which in the far tails (log joints of -1e10) is an error of 1e-6.

    Parameters
    ----------
    x : array_like, shape (n,)
        Samples.
    weights : array_like, shape (K,)
        Mixing weights :math:`\pi_k`, summing to 1.
    means : array_like, shape (K,)
        Component means :math:`\mu_k`.
    variances : array_like, shape (K,)
        Component variances :math:`\sigma_k^2` (not standard deviations), > 0.

    Returns
    -------
    ndarray, shape (n, K)
        :math:`p(z_i = k \mid x_i)`; rows sum to 1.
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
    r"""Responsibilities :math:`\gamma_{ik} = p(z_i = k \mid x_i; \theta)`: the E-step (notebook 04, eq. 4.1).

    The E-step *is* the posterior of notebook 03, evaluated at the current parameters.

    Parameters
    ----------
    x : array_like, shape (n,)
        Samples.
    weights : array_like, shape (K,)
        Mixing weights :math:`\pi_k`, summing to 1.
    means : array_like, shape (K,)
        Component means :math:`\mu_k`.
    variances : array_like, shape (K,)
        Component variances :math:`\sigma_k^2` (not standard deviations), > 0.

    Returns
    -------
    ndarray, shape (n, K)
        :math:`\gamma_{ik}`; rows sum to 1.
    """
    return posterior(x, weights, means, variances)


def m_step(x, resp):
    r"""The M-step: the parameters maximising the bound for fixed responsibilities (notebook 04, eqs. 4.3 to 4.5).

    With :math:`N_k = \sum_i \gamma_{ik}`:

    .. math::
        \pi_k = N_k / n, \quad
        \mu_k = \frac{1}{N_k}\sum_i \gamma_{ik} x_i, \quad
        \sigma_k^2 = \frac{1}{N_k}\sum_i \gamma_{ik} (x_i - \mu_k)^2.

    Parameters
    ----------
    x : array_like, shape (n,)
        Samples.
    resp : array_like, shape (n, K)
        Responsibilities :math:`\gamma_{ik}`, rows summing to 1.

    Returns
    -------
    weights : ndarray, shape (K,)
    means : ndarray, shape (K,)
    variances : ndarray, shape (K,)
    """
    x = check_samples(x)
    resp = check_resp(resp, x.size)
    counts = resp.sum(axis=0)
    check_no_empty_component(counts, "variance")
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

    Each iteration is an E-step (:func:`e_step`) then an M-step (:func:`m_step`),
    fused into one pass over the data.

    Parameters
    ----------
    x : array_like, shape (n,)
        Samples.
    weights : array_like, shape (K,)
        Starting weights :math:`\pi_k`, summing to 1.
    means : array_like, shape (K,)
        Starting means :math:`\mu_k`.
    variances : array_like, shape (K,)
        Starting variances :math:`\sigma_k^2` (not standard deviations), > 0.
    n_iter : int
        Number of iterations, >= 1.

    Returns
    -------
    weights, means, variances : ndarray, shape (K,)
        The parameters after the last iteration.
    log_likelihoods : ndarray, shape (n_iter,)
        Entry t is :math:`\ell(\theta^{(t+1)})`, the log-likelihood after iteration t;
        EM never lets it decrease.
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
