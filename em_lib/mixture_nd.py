r"""A mixture of K Gaussians in d dimensions with full covariances (notebook 05).

The model is the one of notebook 01 with vectors: a hidden component
:math:`z_i \in \{0..K-1\}` is drawn with probabilities :math:`\pi_k`, then
:math:`x_i \sim N(\mu_k, \Sigma_k)`, where

.. math::
    \log N(x; \mu, \Sigma) = -\tfrac12\left(d\log 2\pi + \log\lvert\Sigma\rvert
    + (x - \mu)^\top \Sigma^{-1} (x - \mu)\right).

Shapes: ``X`` is (n, d), one sample per row (a 1-D array is refused: pass shape
(n, 1), or use :mod:`em_lib.mixture1d`); ``weights`` (K,), ``means`` (K, d),
``covariances`` (K, d, d); ``resp`` (n, K). Everything is computed in log space,
as in the 1-D module.

The E- and M-steps are those of notebook 04 with vectors (Bishop, PRML eqs. 9.23
to 9.27): :math:`N_k = \sum_i\gamma_{ik}`, :math:`\pi_k = N_k/n`,
:math:`\mu_k = \frac1{N_k}\sum_i\gamma_{ik}x_i`,
:math:`\Sigma_k = \frac1{N_k}\sum_i\gamma_{ik}(x_i-\mu_k)(x_i-\mu_k)^\top`.

The covariance floor
--------------------
The likelihood of a Gaussian mixture is unbounded: put one mean exactly on a
data point and let that component's covariance shrink, and
:math:`N(x_i; x_i, \Sigma) = (2\pi)^{-d/2}\lvert\Sigma\rvert^{-1/2}` grows without
limit. EM can walk into this "collapse" (notebook 05). The cure used here, the same
as scikit-learn's ``reg_covar`` with the same default 1e-6, is a floor
:math:`\delta` (notebook 05's letter; :math:`\lambda` there names eigenvalues): the
M-step computes the weighted covariance :math:`S_k` and adds ``covariance_floor`` to
its diagonal, :math:`\Sigma_k = S_k + \delta I`. Every eigenvalue is then at least
:math:`\delta`, so a collapsed component keeps a finite (large) likelihood instead of
a singular covariance. With ``covariance_floor=0`` the M-step is exact maximum
likelihood and a collapse raises ``ValueError``.

With a floor > 0 the M-step is *not* the maximiser of the bound for the fixed
responsibilities. The maximiser under the constraint "every eigenvalue at least
:math:`\delta`" would raise only the eigenvalues of :math:`S_k` that are below
:math:`\delta` (in 1-D, :math:`\max(S_k, \delta)`); :math:`+\delta I` moves every
covariance. So notebook 04's guarantee (4.6) does not hold: EM with a floor converges
to a fixed point of its own, near but not at a stationary point of :math:`\ell`, and
near the end the log-likelihood can fall. It does in notebook 05 (Old Faithful, K = 3,
seed 0, the default floor 1e-6): after iteration 51 it falls by up to 7e-8 per
iteration, far above rounding; with ``covariance_floor=0`` every change is a rise
until the rises reach rounding (about 1e-11).

Speed
-----
``fit_em_nd`` fuses the E- and M-step into one sweep over the data, like
:func:`em_lib.mixture1d.fit_em`: the log joint is a linear function of the
features :math:`\phi(x) = (1, x_1..x_d, x_j x_l \text{ for } j \le l)`, so for a
block of points the whole (K, m) log joint is one matrix product, and the
sufficient statistics :math:`\sum_i \gamma_{ik}\phi(x_i)` are another. At the
benchmark sizes (benchmarks/bench_em.py) this was faster than whitening each
component with its Cholesky factor: 2.2 against 3.6 ms per iteration for
n=200,000, d=2, K=3, and 9 against 12 ms for n=100,000, d=10, K=5 (one BLAS
thread). The data are centred first. Two rare cases would still lose digits to
the expanded quadratic form, and take an exact, slower route instead: a component
narrow and far from the centre of the data (its log joint is computed by
whitening, see ``_coefficients``), and a covariance whose
:math:`E_k[xx^\top] - \mu_k\mu_k^\top` would cancel (its spread is measured again
about the new mean, see ``_parameters_from_statistics``). Both typically mean a
component collapsing onto a far point.
"""

from dataclasses import dataclass

import numpy as np

from ._checks import (
    check_centres,
    check_data,
    check_gmm,
    check_K,
    check_no_empty_component,
    check_nonnegative_number,
    check_positive_definite,
    check_positive_int,
    check_resp_nd,
    check_seed,
    check_start,
    show,
)
from .mixture1d import LOG_2PI, logsumexp_rows

#: Bytes of one block of the fused sweep: its features (p, m) plus its log joint (K, m).
#: About 2 MiB keeps a block in the L2 cache between the two matrix products.
BLOCK_BYTES = 2 * 1024 * 1024

#: Above this size the feature matrix is not stored but rebuilt block by block every
#: iteration (slower, but memory stays at one block).
MAX_FEATURE_BYTES = 512 * 1024 * 1024

#: Above this :math:`\mu_k^\top\Sigma_k^{-1}\mu_k` (centred data) a component's log joint is
#: computed by whitening instead of from the features: the expanded quadratic form would
#: carry a rounding error of about 2e-16 times this value (see ``_coefficients``).
FAR_AND_NARROW = 1e4

#: A covariance whose smallest eigenvalue is below this fraction of its largest is
#: treated as collapsed (condition number above 1e10).
MAX_CONDITION_INVERSE = 1e-10


@dataclass(frozen=True)
class MixtureFit:
    r"""The result of :func:`fit_em_nd`.

    Attributes
    ----------
    weights : ndarray, shape (K,)
        Mixing weights :math:`\pi_k`.
    means : ndarray, shape (K, d)
        Component means :math:`\mu_k`.
    covariances : ndarray, shape (K, d, d)
        Component covariances :math:`\Sigma_k` (floor included).
    log_likelihoods : ndarray, shape (T,)
        Entry t is :math:`\ell(\theta^{(t+1)})`, the log-likelihood after iteration t.
        With ``covariance_floor=0`` it never decreases (up to rounding); with a floor it
        can fall slightly near convergence (see the module docstring).
    converged : bool
        True if stopped by ``tol``, False if stopped by ``max_iter``.
    n_iter : int
        T, the number of iterations run.
    """

    weights: np.ndarray
    means: np.ndarray
    covariances: np.ndarray
    log_likelihoods: np.ndarray
    converged: bool
    n_iter: int


# --------------------------------------------------------------------------
# The plain E- and M-step: readable, exact, (n, K) like the 1-D module.
# --------------------------------------------------------------------------

def _log_normal_const(chol):
    r"""(K,) :math:`-\tfrac12(d\log 2\pi + \log\lvert\Sigma_k\rvert)`, with :math:`\log\lvert\Sigma\rvert = 2\sum_j\log L_{jj}`."""
    d = chol.shape[-1]
    return -0.5 * d * LOG_2PI - np.log(np.diagonal(chol, axis1=1, axis2=2)).sum(axis=1)


def log_joint_nd(X, weights, means, covariances):
    r"""Log joint :math:`\log\pi_k + \log N(x_i; \mu_k, \Sigma_k)` of each sample and component (notebook 05).

    The d-dimensional :func:`em_lib.log_joint`. The quadratic form is computed by
    whitening with the Cholesky factor :math:`\Sigma_k = L_k L_k^\top`: with
    :math:`y = L_k^{-1}(x_i - \mu_k)`, :math:`(x_i-\mu_k)^\top\Sigma_k^{-1}(x_i-\mu_k) = \lVert y\rVert^2`.

    Parameters
    ----------
    X : array_like, shape (n, d)
        Samples, one per row.
    weights : array_like, shape (K,)
        Mixing weights :math:`\pi_k`, summing to 1.
    means : array_like, shape (K, d)
        Component means :math:`\mu_k`.
    covariances : array_like, shape (K, d, d)
        Component covariances :math:`\Sigma_k`, symmetric positive definite.

    Returns
    -------
    ndarray, shape (n, K)
        :math:`\log p(x_i, z_i = k)`; a component with weight 0 gets :math:`-\infty` in its column.
    """
    X = check_data(X)
    weights, means, covariances, chol = check_gmm(weights, means, covariances, X.shape[1])
    with np.errstate(divide="ignore"):
        out = np.log(weights) + _log_normal_const(chol)        # log pi_k - (d log 2pi + log|Sigma_k|)/2
    out = np.repeat(out[None, :], X.shape[0], axis=0)
    for k in range(weights.size):
        y = np.linalg.solve(chol[k], (X - means[k]).T)         # (d, n): L_k^{-1} (x_i - mu_k)
        out[:, k] -= 0.5 * np.einsum("ji,ji->i", y, y)         # - ||y_i||^2 / 2
    return out


def log_likelihood_nd(X, weights, means, covariances):
    r"""Log-likelihood :math:`\ell(\theta) = \sum_i\log\sum_k \pi_k N(x_i; \mu_k, \Sigma_k)`, by log-sum-exp.

    The d-dimensional :func:`em_lib.log_likelihood` (notebook 05).

    Parameters
    ----------
    X : array_like, shape (n, d)
        Samples, one per row.
    weights : array_like, shape (K,)
        Mixing weights :math:`\pi_k`, summing to 1.
    means : array_like, shape (K, d)
        Component means :math:`\mu_k`.
    covariances : array_like, shape (K, d, d)
        Component covariances :math:`\Sigma_k`, symmetric positive definite.

    Returns
    -------
    float
        :math:`\ell(\theta)`.
    """
    return float(logsumexp_rows(log_joint_nd(X, weights, means, covariances)).sum())


def e_step_nd(X, weights, means, covariances):
    r"""Responsibilities :math:`\gamma_{ik} = p(z_i = k \mid x_i; \theta)`: the E-step (notebook 05).

    The d-dimensional :func:`em_lib.e_step` (notebook 04, eq. 4.1).

    Parameters
    ----------
    X : array_like, shape (n, d)
        Samples, one per row.
    weights : array_like, shape (K,)
        Mixing weights :math:`\pi_k`, summing to 1.
    means : array_like, shape (K, d)
        Component means :math:`\mu_k`.
    covariances : array_like, shape (K, d, d)
        Component covariances :math:`\Sigma_k`, symmetric positive definite.

    Returns
    -------
    ndarray, shape (n, K)
        :math:`\gamma_{ik}`; rows sum to 1.
    """
    joint = log_joint_nd(X, weights, means, covariances)
    top = joint.max(axis=1, keepdims=True)                      # log-sum-exp shift, per point
    resp = np.exp(joint - top)                                  # p(x_i, z_i = k) / e^top
    # normalise by division, not by subtracting log p(x_i): far in a tail the log joint is
    # huge and that subtraction would lose digits, so rows would not sum to 1
    return resp / resp.sum(axis=1, keepdims=True)


def m_step_nd(X, resp, covariance_floor=1e-6):
    r"""The M-step: the parameters maximising the bound for fixed responsibilities (notebook 05, eq. 5.1).

    The d-dimensional :func:`em_lib.m_step`. With
    :math:`N_k = \sum_i\gamma_{ik}`: :math:`\pi_k = N_k/n`,
    :math:`\mu_k = \frac1{N_k}\sum_i\gamma_{ik}x_i`,
    :math:`\Sigma_k = \frac1{N_k}\sum_i\gamma_{ik}(x_i-\mu_k)(x_i-\mu_k)^\top + \delta I`.
    With :math:`\delta = 0` this is the exact maximiser of the expected complete-data
    log-likelihood; with :math:`\delta > 0` the weights and means still are, the
    covariances are not (see the module docstring).

    Parameters
    ----------
    X : array_like, shape (n, d)
        Samples, one per row.
    resp : array_like, shape (n, K)
        Responsibilities :math:`\gamma_{ik}`, rows summing to 1.
    covariance_floor : float, default 1e-6
        :math:`\delta \ge 0`, added to the diagonal of every covariance.

    Returns
    -------
    weights : ndarray, shape (K,)
    means : ndarray, shape (K, d)
    covariances : ndarray, shape (K, d, d)
    """
    X = check_data(X)
    resp = check_resp_nd(resp, X.shape[0])
    covariance_floor = check_nonnegative_number(covariance_floor, "covariance_floor")
    counts = resp.sum(axis=0)                                   # N_k
    check_no_empty_component(counts, "covariance")
    n, d = X.shape
    weights = counts / n                                        # pi_k = N_k / n
    means = resp.T @ X / counts[:, None]                        # mu_k = sum_i gamma_ik x_i / N_k
    covariances = np.empty((counts.size, d, d))
    for k in range(counts.size):
        diff = X - means[k]                                     # x_i - mu_k
        covariances[k] = (resp[:, k] * diff.T) @ diff / counts[k]
        covariances[k].flat[:: d + 1] += covariance_floor       # + delta I
    return weights, means, covariances


# --------------------------------------------------------------------------
# Initialisation and k-means.
# --------------------------------------------------------------------------

def _kmeans_pp_seeds(X, K, rng):
    r"""(K,) indices of k-means++ seeds (Arthur and Vassilvitskii, 2007): D^2 sampling.

    The first seed is a uniformly random point; each next one is point i with
    probability :math:`D_i^2 / \sum_j D_j^2`, where :math:`D_i` is the distance from
    :math:`x_i` to the nearest seed so far.
    """
    n = X.shape[0]
    seeds = [int(rng.integers(n))]
    dist2 = ((X - X[seeds[0]]) ** 2).sum(axis=1)                # D_i^2
    for _ in range(1, K):
        cumulative = np.cumsum(dist2)
        # side="right": a point with D_i = 0 (already a seed) can never be drawn
        i = int(np.searchsorted(cumulative, rng.random() * cumulative[-1], side="right"))
        i = min(i, n - 1)
        seeds.append(i)
        np.minimum(dist2, ((X - X[i]) ** 2).sum(axis=1), out=dist2)
    return np.array(seeds)


#: Rows of X per block in :func:`kmeans_step`, so that the (rows, K, d) differences stay small.
_KMEANS_BLOCK_VALUES = 1 << 20


def _kmeans_step(X, centres):
    """:func:`kmeans_step` without validation (X (n, d), centres (K, d), float64)."""
    K, d = centres.shape
    labels = np.empty(X.shape[0], dtype=np.intp)
    rows = max(1, _KMEANS_BLOCK_VALUES // (K * d))
    for start in range(0, X.shape[0], rows):
        block = X[start:start + rows]
        # plain differences: no cancellation, and an exact tie stays a tie (argmin takes the lower k)
        squared = ((block[:, None, :] - centres[None, :, :]) ** 2).sum(axis=2)
        labels[start:start + rows] = np.argmin(squared, axis=1)
    new_centres = centres.copy()
    for k in range(K):
        mine = labels == k
        if mine.any():
            new_centres[k] = X[mine].mean(axis=0)
    return labels, new_centres


def kmeans_step(X, centres):
    r"""One k-means iteration: the "hard" EM of notebook 05.

    Hard E-step: :math:`z_i = \arg\min_k \lVert x_i - c_k\rVert^2`, the nearest centre in
    squared Euclidean distance (on a tie the lower k, as ``np.argmin`` does). M-step:
    :math:`c_k^{\text{new}} = \frac{1}{|\{i: z_i = k\}|}\sum_{i: z_i = k} x_i`, the mean of
    the points labelled k; a centre that received no point stays where it was.
    Iterated from the k-means++ seeds of :func:`init_kmeans_pp` until no label changes,
    it follows :func:`kmeans` exactly.

    Parameters
    ----------
    X : array_like, shape (n, d)
        Samples, one per row.
    centres : array_like, shape (K, d)
        The current centres :math:`c_k`; not modified.

    Returns
    -------
    labels : ndarray of int, shape (n,)
        :math:`z_i`, the index of each sample's nearest centre.
    new_centres : ndarray, shape (K, d)
        The mean of each centre's samples.
    """
    X = check_data(X)
    centres = check_centres(centres, X.shape[1])
    return _kmeans_step(X, centres)


def n_gmm_params(K, d):
    r"""The number of free parameters of a full-covariance mixture: the :math:`n_{\mathrm{par}}` of :func:`bic`.

    :math:`n_{\mathrm{par}} = (K - 1) + Kd + K\,d(d+1)/2` (notebook 05, eq. 5.2): the K weights
    sum to 1, so K - 1 of them are free; each of the K means has d entries; each covariance
    is a symmetric d x d matrix, fixed by its d(d+1)/2 entries on and above the diagonal.

    Parameters
    ----------
    K : int
        Number of components, >= 1.
    d : int
        Dimension of the data, >= 1.

    Returns
    -------
    int
        :math:`n_{\mathrm{par}}`.
    """
    K = check_positive_int(K, "K")
    d = check_positive_int(d, "d")
    return (K - 1) + K * d + K * d * (d + 1) // 2


def _nearest(X, centres):
    """(n,) index of the nearest centre of each row of X (squared Euclidean distance)."""
    # ||x - c||^2 = ||x||^2 - 2 x.c + ||c||^2; ||x||^2 is the same for every centre
    return np.argmin((centres**2).sum(axis=1) - 2.0 * X @ centres.T, axis=1)


def _hard_assignment_parameters(X, labels, K, covariance_floor):
    """Weights, means, covariances (floored) of a hard assignment: m_step_nd with one-hot resp."""
    resp = np.zeros((X.shape[0], K))
    resp[np.arange(X.shape[0]), labels] = 1.0
    return m_step_nd(X, resp, covariance_floor)


def init_random(X, K, seed=0, *, covariance_floor=1e-6):
    """Start EM from K distinct data points as means, each with the data's covariance and weight 1/K.

    Parameters
    ----------
    X : array_like, shape (n, d)
        Samples, one per row, with at least K distinct rows.
    K : int
        Number of components.
    seed : int or numpy.random.Generator, default 0
        The means are K distinct rows of X drawn with ``numpy.random.default_rng(seed)``.
    covariance_floor : float, default 1e-6
        Added to the diagonal of the data's covariance.

    Returns
    -------
    weights : ndarray, shape (K,)
    means : ndarray, shape (K, d)
    covariances : ndarray, shape (K, d, d)
    """
    X = check_data(X)
    K = check_K(K, X)
    rng = check_seed(seed)
    covariance_floor = check_nonnegative_number(covariance_floor, "covariance_floor")
    distinct = np.unique(X, axis=0)
    means = distinct[rng.choice(distinct.shape[0], size=K, replace=False)]
    n, d = X.shape
    diff = X - X.mean(axis=0)
    shared = diff.T @ diff / n + covariance_floor * np.eye(d)
    covariances = np.repeat(shared[None], K, axis=0)
    check_positive_definite(covariances, "the covariance of X (plus covariance_floor)")
    return np.full(K, 1.0 / K), means, covariances


def init_kmeans_pp(X, K, seed=0, *, covariance_floor=1e-6):
    """Start EM from k-means++ seeds (D^2 sampling) and the hard assignment to them.

    The means are K seeds chosen by :func:`_kmeans_pp_seeds`; each point is assigned
    to its nearest seed, and the weights and covariances are those of that hard
    assignment (the M-step with one-hot responsibilities). A seed that gets a single
    point gets covariance ``covariance_floor * I``.

    Parameters
    ----------
    X : array_like, shape (n, d)
        Samples, one per row, with at least K distinct rows.
    K : int
        Number of components.
    seed : int or numpy.random.Generator, default 0
        Seed of ``numpy.random.default_rng``, which draws the k-means++ seeds.
    covariance_floor : float, default 1e-6
        Added to the diagonal of every covariance.

    Returns
    -------
    weights : ndarray, shape (K,)
    means : ndarray, shape (K, d)
    covariances : ndarray, shape (K, d, d)
    """
    X = check_data(X)
    K = check_K(K, X)
    rng = check_seed(seed)
    covariance_floor = check_nonnegative_number(covariance_floor, "covariance_floor")
    seeds = _kmeans_pp_seeds(X, K, rng)
    labels = _nearest(X, X[seeds])
    labels[seeds] = np.arange(K)          # each seed keeps itself, even if tied with another seed
    weights, _, covariances = _hard_assignment_parameters(X, labels, K, covariance_floor)
    try:
        check_positive_definite(covariances)
    except ValueError as err:
        raise ValueError(
            f"{err}: a k-means++ cluster has too few distinct points for a full covariance; "
            "use covariance_floor > 0"
        ) from None
    return weights, X[seeds].copy(), covariances


def kmeans(X, K, seed=0, max_iter=100):
    r"""K-means as "hard" EM (notebook 05), from the k-means++ seeds of :func:`init_kmeans_pp`.

    Alternates the M-step (each centre moves to the mean of its points) and the hard
    E-step (each point goes to its nearest centre) until no label changes or after
    ``max_iter`` iterations; each iteration is one :func:`kmeans_step`, so iterating
    that step from the same seeds gives the same centres and labels, bit for bit.
    A centre left with no point stays where it is.

    Parameters
    ----------
    X : array_like, shape (n, d)
        Samples, one per row, with at least K distinct rows.
    K : int
        Number of centres.
    seed : int or numpy.random.Generator, default 0
        Seed of the k-means++ seeds (the same seeds as ``init_kmeans_pp(X, K, seed)``).
    max_iter : int, default 100
        The most iterations run.

    Returns
    -------
    centres : ndarray, shape (K, d)
    labels : ndarray of int, shape (n,)
        The index of each sample's nearest returned centre.
    inertia : ndarray, shape (T,)
        :math:`\sum_i\lVert x_i - c_{z_i}\rVert^2` after each iteration; it never increases.
    """
    X = check_data(X)
    K = check_K(K, X)
    rng = check_seed(seed)
    max_iter = check_positive_int(max_iter, "max_iter")
    seeds = _kmeans_pp_seeds(X, K, rng)                  # the seeds of init_kmeans_pp(X, K, seed)
    # Iterates kmeans_step: step t gives the labels z_t of the centres c_t and the next centres.
    labels, centres = _kmeans_step(X, X[seeds])           # z_0 (nearest seed), c_1
    inertia = []
    for t in range(max_iter):
        new_labels, next_centres = _kmeans_step(X, centres)   # z_{t+1} of c_{t+1}, and c_{t+2}
        inertia.append(float(((X - centres[new_labels]) ** 2).sum()))
        if np.array_equal(new_labels, labels) or t == max_iter - 1:
            break
        labels, centres = new_labels, next_centres
    return centres, new_labels, np.array(inertia)


# --------------------------------------------------------------------------
# fit_em_nd: the same E- and M-step, fused into one fast sweep over the data.
# --------------------------------------------------------------------------

def _n_features(d):
    """p = 1 + d + d(d+1)/2 features (1, x, upper triangle of x x^T)."""
    return 1 + d + d * (d + 1) // 2


def _features(block):
    r"""(p, m) features :math:`\phi(x) = (1, x_1..x_d, x_j x_l\ (j \le l))` of an (m, d) block, component-major."""
    m, d = block.shape
    rows, cols = np.triu_indices(d)
    out = np.empty((_n_features(d), m))
    out[0] = 1.0
    out[1:1 + d] = block.T
    np.multiply(block.T[rows], block.T[cols], out=out[1 + d:])
    return out


def _coefficients(weights, means, chol):
    r"""(K, p) coefficients :math:`c_k` with :math:`\log\pi_k + \log N(x;\mu_k,\Sigma_k) = c_k\cdot\phi(x)`, and the exact rows.

    Expanding the quadratic form with :math:`P = \Sigma^{-1}`:
    :math:`-\tfrac12(x-\mu)^\top P(x-\mu) = -\tfrac12\mu^\top P\mu + (P\mu)^\top x
    - \tfrac12\sum_j P_{jj}x_j^2 - \sum_{j<l}P_{jl}x_jx_l`.

    The expanded sum carries a rounding error of about
    :math:`\epsilon\,\mu^\top P\mu` near :math:`\mu`. For a component that is
    narrow and far from the centre of the data (:math:`\mu^\top P\mu` > ``FAR_AND_NARROW``,
    typically one collapsing onto a far point) that error would show in the
    log-likelihood, so such components are listed in ``exact`` as tuples
    ``(k, L_k^{-1}, mu_k, constant_k)`` and their rows are computed by whitening.
    """
    d = means.shape[1]
    rows, cols = np.triu_indices(d)
    inv_chol = np.linalg.inv(chol)                               # L^{-1}
    precision = inv_chol.transpose(0, 2, 1) @ inv_chol           # P = L^{-T} L^{-1}
    white_mean = np.einsum("kij,kj->ki", inv_chol, means)        # L^{-1} mu
    mahalanobis = (white_mean**2).sum(axis=1)                    # mu^T P mu
    norm = np.log(weights) + _log_normal_const(chol)             # log pi_k - (d log 2pi + log|Sigma_k|)/2
    linear = np.einsum("kij,kj->ki", precision, means)           # P mu
    quadratic = -precision[:, rows, cols] * np.where(rows == cols, 0.5, 1.0)
    coef = np.concatenate([(norm - 0.5 * mahalanobis)[:, None], linear, quadratic], axis=1)
    exact = [(k, inv_chol[k], means[k][:, None], norm[k]) for k in np.flatnonzero(mahalanobis > FAR_AND_NARROW)]
    return coef, exact


def _sweep(blocks, coef, exact=()):
    r"""One pass over the data at fixed parameters: the E-step and what the M-step needs.

    ``blocks`` yields (p, m) feature blocks; ``coef`` is (K, p) and ``exact`` the
    components whose rows are computed by whitening (see ``_coefficients``).
    Returns the log-likelihood :math:`\ell(\theta)` and the (K, p) sufficient
    statistics :math:`\sum_i\gamma_{ik}\phi(x_i)`. Component-major (K, m) blocks;
    one ``exp`` per entry, reused for the log-likelihood and the responsibilities.
    """
    stats = np.zeros(coef.shape)
    loglik = 0.0
    for block in blocks:
        joint = coef @ block                     # (K, m): log p(x_i, z_i = k)
        for k, inv_chol, mean, norm in exact:    # rarely any: far and narrow components
            white = inv_chol @ (block[1:1 + mean.size] - mean)  # L_k^{-1} (x_i - mu_k)
            joint[k] = norm - 0.5 * np.einsum("jm,jm->m", white, white)
        top = joint.max(axis=0)                  # log-sum-exp shift, per point
        joint -= top
        np.exp(joint, out=joint)                 # p(x_i, z_i = k) / e^top
        total = joint.sum(axis=0)                # p(x_i) / e^top
        loglik += np.log(total).sum() + top.sum()
        joint *= 1.0 / total                     # gamma_ik
        stats += joint @ block.T                 # sum_i gamma_ik phi(x_i): N_k, sum x, sum x x^T
    return loglik, stats


def _scatter_about(X, params, centres, components, block_rows):
    r""":math:`\sum_i\gamma_{ik}(x_i - c_k)(x_i - c_k)^\top` for the listed components, the slow exact way.

    ``params`` are the parameters the responsibilities are taken at (those of the
    sweep); ``centres`` (K, d) the new means. Used only when the fast formula
    :math:`\sum\gamma xx^\top/N_k - \mu_k\mu_k^\top` would lose too many digits.
    """
    d = X.shape[1]
    out = np.zeros((len(components), d, d))
    for start in range(0, X.shape[0], block_rows):
        block = X[start:start + block_rows]
        resp = e_step_nd(block, *params)                        # (m, K), exact log joint
        for j, k in enumerate(components):
            diff = block - centres[k]                           # x_i - mu_k (new)
            out[j] += (resp[:, k] * diff.T) @ diff
    return out


def _m_step_from_statistics(stats, d, covariance_floor, iteration):
    r"""m_step_nd's equations from the (K, p) statistics of :func:`_sweep`, the fast way.

    Returns ``(counts, means, covariances, second)``: :math:`N_k`, :math:`\mu_k`,
    :math:`\Sigma_k = E_k[xx^\top] - \mu_k\mu_k^\top + \delta I` and :math:`E_k[xx^\top]`.
    """
    counts = stats[:, 0]                                         # N_k
    if (counts <= 0).any():
        k = int(np.argmin(counts))
        raise ValueError(
            f"component {k} lost all its responsibility at iteration {iteration} (it is far from "
            "every point); start from other parameters"
        )
    rows, cols = np.triu_indices(d)
    means = stats[:, 1:1 + d] / counts[:, None]                  # mu_k = sum gamma x / N_k
    second = np.empty((counts.size, d, d))
    second[:, rows, cols] = stats[:, 1 + d:]                     # sum gamma x x^T, upper triangle
    second[:, cols, rows] = stats[:, 1 + d:]                     # and its mirror
    second /= counts[:, None, None]                              # E_k[x x^T]
    covariances = second - means[:, :, None] * means[:, None, :]   # E_k[x x^T] - mu_k mu_k^T
    covariances[:, np.arange(d), np.arange(d)] += covariance_floor   # + delta I
    return counts, means, covariances, second


def _collapse_test(covariances, eigenvalues, iteration):
    """The Cholesky factors of the new covariances, or a ValueError saying that a component collapsed.

    ``eigenvalues`` (K, d) are the covariances' own, ascending. A collapse is a covariance
    that is not positive definite, or one that factorises but is squeezed flat (condition
    number beyond 1 / ``MAX_CONDITION_INVERSE``, e.g. a component on a line of points with
    ``covariance_floor=0``): its density, and so the likelihood, can no longer be computed
    to the digits EM needs.
    """
    try:
        chol = check_positive_definite(covariances)
    except ValueError as err:
        raise ValueError(
            f"{err} at iteration {iteration}: a component collapsed onto too few points (the "
            "likelihood is unbounded there); raise covariance_floor or start elsewhere"
        ) from None
    flat = np.flatnonzero(eigenvalues[:, 0] <= MAX_CONDITION_INVERSE * eigenvalues[:, -1])
    if flat.size:
        k = int(flat[0])
        raise ValueError(
            f"covariances must be well conditioned, but component {k} is nearly singular at iteration "
            f"{iteration}: it collapsed onto "
            f"too few points (eigenvalues {show(eigenvalues[k, 0])} to {show(eigenvalues[k, -1])}; the "
            "likelihood is unbounded there); raise covariance_floor or start elsewhere"
        )
    return chol


def _parameters_from_statistics(stats, centred, params, covariance_floor, iteration, block_rows):
    """The M-step from the (K, p) statistics of a sweep, checked for a collapse.

    Returns ``(weights, means, covariances, chol)``, ``chol`` the Cholesky factors.
    ``params`` are the parameters of the sweep that produced ``stats`` (centred
    coordinates), needed only to measure a covariance again, exactly.
    """
    n, d = centred.shape
    counts, means, covariances, second = _m_step_from_statistics(stats, d, covariance_floor, iteration)
    eigenvalues = np.linalg.eigvalsh(covariances)                # (K, d), ascending
    # The subtraction carries an error of about eps * |E_k[x x^T]|. When a component is
    # narrow and far from the centre of the data (a collapse onto a far point) that error
    # could reach 1e-11 of its smallest eigenvalue: measure its spread again, exactly.
    inexact = np.flatnonzero(eigenvalues[:, 0] <= 1e-5 * np.abs(np.diagonal(second, axis1=1, axis2=2)).max(axis=1))
    if inexact.size:
        scatter = _scatter_about(centred, params, means, inexact, block_rows)
        covariances[inexact] = scatter / counts[inexact, None, None] + covariance_floor * np.eye(d)
        eigenvalues[inexact] = np.linalg.eigvalsh(covariances[inexact])
    chol = _collapse_test(covariances, eigenvalues, iteration)
    return counts / n, means, covariances, chol


def _block_rows(d, K):
    """Points per block of the fused sweep, so that a block takes about BLOCK_BYTES."""
    return max(256, BLOCK_BYTES // (8 * (_n_features(d) + K)))


def _feature_blocks(centred, block_rows):
    """A function returning an iterable of (p, m) feature blocks of ``block_rows`` points."""
    n, d = centred.shape
    starts = range(0, n, block_rows)
    if 8 * _n_features(d) * n <= MAX_FEATURE_BYTES:
        stored = [_features(centred[s:s + block_rows]) for s in starts]   # built once, reused
        return lambda: stored
    return lambda: (_features(centred[s:s + block_rows]) for s in starts)


#: fit_em_nd's initialisations by name.
_INITS = {"kmeans++": init_kmeans_pp, "random": init_random}


def _start(X, K, init, seed, covariance_floor):
    """fit_em_nd's validated start ``(weights, means, covariances, chol)`` from its ``init``."""
    if isinstance(init, str) and init in _INITS:
        start = _INITS[init](X, K, seed, covariance_floor=covariance_floor)
    elif isinstance(init, (tuple, list)) and len(init) == 3:
        K = check_positive_int(K, "K")
        start = init
    else:
        raise ValueError(
            f"init must be 'kmeans++', 'random' or a tuple (weights, means, covariances), got {init!r}"
        )
    return check_start(start, K, X.shape[1])


def fit_em_nd(X, K, *, init="kmeans++", seed=0, tol=1e-6, max_iter=200, covariance_floor=1e-6):
    r"""Fit a K-component Gaussian mixture with full covariances by EM (notebook 05).

    The d-dimensional :func:`em_lib.fit_em`: each iteration is the E-step then the M-step
    of :func:`e_step_nd` and :func:`m_step_nd`, fused into one sweep over the data (see
    the module docstring). The data are shifted by their mean first, which changes no
    likelihood but keeps :math:`\sum\gamma xx^\top/N_k - \mu\mu^\top` free of cancellation.
    The feature matrix takes 8 (1 + d + d(d+1)/2) n bytes (53 MB for n=100,000, d=10);
    above ``MAX_FEATURE_BYTES`` it is rebuilt block by block instead.

    Parameters
    ----------
    X : array_like, shape (n, d)
        Samples, one per row.
    K : int
        Number of components.
    init : {"kmeans++", "random"} or tuple, default "kmeans++"
        :func:`init_kmeans_pp`, :func:`init_random`, or ``(weights, means, covariances)``
        to start from exactly (all weights > 0).
    seed : int or numpy.random.Generator, default 0
        Seed of the initialisation (ignored for a tuple).
    tol : float, default 1e-6
        Stop when the log-likelihood changes by less than ``tol`` per sample in one
        iteration, :math:`|\ell^{(t+1)} - \ell^{(t)}|/n < tol` (``converged=True``; a
        small fall counts too: rounding noise, or the floor's effect near convergence).
        ``tol=0`` runs exactly ``max_iter`` iterations.
    max_iter : int, default 200
        Otherwise stop after this many iterations (``converged=False``).
    covariance_floor : float, default 1e-6
        :math:`\delta \ge 0` added to the diagonal of every covariance in each M-step
        (as scikit-learn's ``reg_covar``), so that a component collapsing onto a point
        keeps a finite likelihood. With :math:`\delta > 0` the log-likelihood can fall
        slightly near convergence (see the module docstring).

    Returns
    -------
    MixtureFit
        The parameters, and ``log_likelihoods[t]``, the log-likelihood after iteration t.
    """
    X = check_data(X)
    n, d = X.shape
    tol = check_nonnegative_number(tol, "tol")
    max_iter = check_positive_int(max_iter, "max_iter")
    covariance_floor = check_nonnegative_number(covariance_floor, "covariance_floor")
    weights, means, covariances, chol = _start(X, K, init, seed, covariance_floor)

    shift = X.mean(axis=0)
    centred = X - shift                                          # no likelihood changes
    block_rows = _block_rows(d, weights.size)
    blocks = _feature_blocks(centred, block_rows)                # phi(x_i - shift), once
    params = (weights, means - shift, covariances)
    previous, stats = _sweep(blocks(), *_coefficients(weights, params[1], chol))
    history = np.empty(max_iter)
    converged = False
    for t in range(max_iter):
        # M-step from the statistics of the sweep at the previous parameters
        weights, means, covariances, chol = _parameters_from_statistics(
            stats, centred, params, covariance_floor, t, block_rows
        )
        params = (weights, means, covariances)
        # E-step at the new parameters: l(theta^(t+1)) and the statistics for the next M-step
        history[t], stats = _sweep(blocks(), *_coefficients(weights, means, chol))
        if not np.isfinite(history[t]):
            raise ValueError(f"the log-likelihood is not finite at iteration {t}: {show(history[t])}")
        if abs(history[t] - previous) / n < tol:
            converged = True
            break
        previous = history[t]
    T = t + 1
    return MixtureFit(weights, means + shift, covariances, history[:T].copy(), converged, T)


def bic(X, fit_or_params):
    r"""The Bayesian information criterion :math:`-2\ell(\theta) + n_{\mathrm{par}}\log n` (notebook 05, eq. 5.2).

    Lower is better; :math:`n_{\mathrm{par}}` is :func:`n_gmm_params` ``(K, d)``.

    Parameters
    ----------
    X : array_like, shape (n, d)
        Samples, one per row.
    fit_or_params : MixtureFit or tuple
        A fit, or ``(weights (K,), means (K, d), covariances (K, d, d))``.

    Returns
    -------
    float
        The BIC.
    """
    X = check_data(X)
    if isinstance(fit_or_params, MixtureFit):
        params = (fit_or_params.weights, fit_or_params.means, fit_or_params.covariances)
    elif isinstance(fit_or_params, (tuple, list)) and len(fit_or_params) == 3:
        params = tuple(fit_or_params)
    else:
        raise ValueError(
            "fit_or_params must be a MixtureFit or a tuple (weights, means, covariances), "
            f"got {type(fit_or_params).__name__}"
        )
    n, d = X.shape
    p = n_gmm_params(np.size(params[0]), d)
    return -2.0 * log_likelihood_nd(X, *params) + p * np.log(n)
