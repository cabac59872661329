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
    Rows sum to 1.
    """
    lj = log_joint(x, weights, means, variances)
    return np.exp(lj - logsumexp_rows(lj)[:, None])


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
    if np.ndim(resp) != 2:
        raise ValueError(f"resp must be a 2-D array of shape (n, K), got shape {np.shape(resp)}")
    resp = check_distribution_rows(resp, x.size, np.shape(resp)[1], "resp")
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

def _quadratic_coefficients(weights, means, variances):
    r"""(K, 3) coefficients of the log joint as a quadratic in x.

    :math:`\log\pi_k + \log N(x; \mu_k, \sigma_k^2) = a_k + b_k x + c_k x^2` with
    :math:`c_k = -1/(2\sigma_k^2)`, :math:`b_k = \mu_k/\sigma_k^2`,
    :math:`a_k = \log\pi_k - \tfrac12\log(2\pi\sigma_k^2) - \mu_k^2/(2\sigma_k^2)`.
    With the features :math:`(1, x, x^2)` stacked as a (3, n) array the whole
    (K, n) log joint is one matrix product.
    """
    precision = 1.0 / variances
    with np.errstate(divide="ignore"):
        log_weights = np.log(weights)
    a = log_weights - 0.5 * (LOG_2PI + np.log(variances)) - 0.5 * means**2 * precision
    return np.stack([a, means * precision, -0.5 * precision], axis=1)


def _sweep(features, coef, chunk=CHUNK):
    r"""One pass over the data at fixed parameters: the E-step and what the M-step needs.

    ``features`` is (3, n) holding :math:`(1, x_i, x_i^2)`; ``coef`` is (K, 3).
    Returns the log-likelihood :math:`\ell(\theta)` and the (K, 3) sufficient
    statistics :math:`\sum_i \gamma_{ik} (1, x_i, x_i^2)`. Works component-major
    on blocks of ``chunk`` points: one ``exp`` per entry, reused for both the
    log-likelihood and the responsibilities.
    """
    n = features.shape[1]
    counts, sum_x, sum_x2 = (np.zeros(coef.shape[0]) for _ in range(3))
    loglik = 0.0
    for start in range(0, n, chunk):
        block = features[:, start:start + chunk]
        joint = coef @ block                    # (K, m): log p(x_i, z_i = k)
        top = joint.max(axis=0)                 # log-sum-exp shift, per point
        joint -= top
        np.exp(joint, out=joint)                # p(x_i, z=k) / e^top
        total = joint.sum(axis=0)               # p(x_i) / e^top
        loglik += np.log(total).sum() + top.sum()
        joint *= 1.0 / total                    # responsibilities gamma_ik
        counts += joint.sum(axis=1)             # sum_i gamma_ik
        sum_x += joint @ block[1]               # sum_i gamma_ik x_i
        sum_x2 += joint @ block[2]              # sum_i gamma_ik x_i^2
    return loglik, np.stack([counts, sum_x, sum_x2], axis=1)


def _parameters_from_statistics(stats, n, iteration):
    """The M-step (notebook 04, eqs. 4.3 to 4.5) from the (K, 3) sufficient statistics."""
    counts = stats[:, 0]
    if (counts <= 0).any():
        k = int(np.argmin(counts))
        raise ValueError(f"component {k} lost all its responsibility at iteration {iteration}")
    means = stats[:, 1] / counts
    variances = stats[:, 2] / counts - means**2
    if (variances <= 0).any():
        k = int(np.argmin(variances))
        raise ValueError(
            f"component {k} collapsed onto a single point at iteration {iteration} "
            "(its variance reached 0, so the likelihood is unbounded); start from other "
            "parameters or use em_lib.mixture_nd, which keeps a variance floor"
        )
    return counts / n, means, variances


def fit_em(x, weights, means, variances, n_iter):
    r"""Run ``n_iter`` EM iterations from the given start (notebook 04, the loop).

    Returns ``(weights, means, variances, log_likelihoods)``: the parameters after
    the last iteration and an (n_iter,) array whose entry t is
    :math:`\ell(\theta^{(t+1)})`, the log-likelihood after iteration t. EM never
    lets it decrease. Each iteration is an E-step (responsibilities) then an
    M-step (weighted means, variances and weights).

    The data are shifted by their mean first, which changes no likelihood but
    keeps :math:`\sum\gamma x^2 / N - \mu^2` free of cancellation.
    """
    x = check_samples(x)
    weights, means, variances = check_mixture(weights, means, variances)
    n_iter = check_positive_int(n_iter, "n_iter")
    shift = x.mean()
    centred = x - shift
    features = np.stack([np.ones_like(centred), centred, centred**2])
    means = means - shift
    _, stats = _sweep(features, _quadratic_coefficients(weights, means, variances))
    history = np.empty(n_iter)
    for t in range(n_iter):
        weights, means, variances = _parameters_from_statistics(stats, x.size, t)
        history[t], stats = _sweep(features, _quadratic_coefficients(weights, means, variances))
    return weights, means + shift, variances, history
