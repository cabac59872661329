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
    as_float_array,
    check_distribution_rows,
    check_finite,
    check_positive_int,
    check_probability_vector,
)
from .mixture1d import logsumexp_rows

LOG_2PI = np.log(2.0 * np.pi)

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

#: Relative asymmetry tolerated in a covariance (rounding); it is then symmetrised.
SYMMETRY_RTOL = 1e-8


@dataclass(frozen=True)
class MixtureFit:
    """The result of :func:`fit_em_nd`.

    Attributes
    ----------
    weights : (K,) mixing weights :math:`\\pi_k`.
    means : (K, d) component means :math:`\\mu_k`.
    covariances : (K, d, d) component covariances :math:`\\Sigma_k` (floor included).
    log_likelihoods : (T,) entry t is :math:`\\ell(\\theta^{(t+1)})`, the
        log-likelihood after iteration t. With ``covariance_floor=0`` it never
        decreases (up to rounding); with a floor it can fall slightly near
        convergence (see the module docstring).
    converged : True if stopped by ``tol``, False if stopped by ``max_iter``.
    n_iter : T, the number of iterations run.
    """

    weights: np.ndarray
    means: np.ndarray
    covariances: np.ndarray
    log_likelihoods: np.ndarray
    converged: bool
    n_iter: int


# --------------------------------------------------------------------------
# Validation (messages name the parameter, the expected and the actual).
# --------------------------------------------------------------------------


#: A covariance whose smallest eigenvalue is below this fraction of its largest is
#: treated as collapsed (condition number above 1e10).
MAX_CONDITION_INVERSE = 1e-10

def _check_data(X, name="X"):
    """(n, d) samples, n >= 1, d >= 1, finite. Returns a float64 array."""
    X = as_float_array(X, name)
    if X.ndim == 1:
        raise ValueError(
            f"{name} must be a 2-D array of shape (n, d), one sample per row, got a 1-D array "
            f"of shape {X.shape}; pass {name}.reshape(-1, 1) for one-dimensional data, "
            "or use the 1-D functions of em_lib.mixture1d"
        )
    if X.ndim != 2:
        raise ValueError(f"{name} must be a 2-D array of shape (n, d), got shape {X.shape}")
    if X.shape[0] == 0:
        raise ValueError(f"{name} is empty: expected at least one sample (row), got shape {X.shape}")
    if X.shape[1] == 0:
        raise ValueError(f"{name} has no columns: expected d >= 1 dimensions, got shape {X.shape}")
    check_finite(X, name)
    return X


def _show(value):
    """repr of a value for a message, numpy scalars shown as plain Python numbers."""
    return repr(value.item() if isinstance(value, np.generic) else value)


def _check_nonnegative_number(value, name):
    """A finite float >= 0."""
    v = as_float_array(value, name)
    if v.ndim != 0 or not np.isfinite(v) or v < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {_show(value)}")
    return float(v)


def _check_seed(seed):
    """A non-negative integer seed, or a numpy Generator used as it is."""
    if isinstance(seed, np.random.Generator):
        return seed
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer or a numpy Generator, got {_show(seed)}")
    return np.random.default_rng(int(seed))


def _cholesky(covariances, name="covariances"):
    """(K, d, d) lower Cholesky factors; a ValueError naming the first component that is not positive definite."""
    try:
        return np.linalg.cholesky(covariances)
    except np.linalg.LinAlgError:
        for k, cov in enumerate(covariances):
            try:
                np.linalg.cholesky(cov)
            except np.linalg.LinAlgError:
                smallest = np.linalg.eigvalsh(cov)[0]
                raise ValueError(
                    f"{name} must be positive definite, but component {k} is not "
                    f"(its smallest eigenvalue is {_show(smallest)})"
                ) from None
        raise  # pragma: no cover - every component factorised one by one


def _check_gmm(weights, means, covariances, d=None):
    """Validated ``(weights, means, covariances, chol)`` of a d-dimensional mixture.

    ``weights`` a probability vector (K,); ``means`` (K, d) finite; ``covariances``
    (K, d, d) finite, symmetric and positive definite; ``chol`` their lower
    Cholesky factors. ``d`` is taken from ``means`` unless given (the data's d).
    """
    weights = check_probability_vector(weights, "weights")
    K = weights.size
    means = as_float_array(means, "means")
    if means.ndim != 2 or means.shape[0] != K or (d is not None and means.shape[1] != d):
        expected = f"(K, d) = ({K}, {d})" if d is not None else f"(K, d) with K = {K}"
        raise ValueError(
            f"means must have shape {expected} to match weights and the data, got shape {means.shape}"
        )
    check_finite(means, "means")
    d = means.shape[1]
    covariances = as_float_array(covariances, "covariances")
    if covariances.shape != (K, d, d):
        raise ValueError(
            f"covariances must have shape (K, d, d) = ({K}, {d}, {d}) to match weights and means, "
            f"got shape {covariances.shape}"
        )
    check_finite(covariances, "covariances")
    asymmetry = np.abs(covariances - covariances.transpose(0, 2, 1)).max(axis=(1, 2))
    scale = np.abs(covariances).max(axis=(1, 2))
    bad = asymmetry > SYMMETRY_RTOL * scale
    if bad.any():
        k = int(np.argmax(bad))
        raise ValueError(
            f"covariances must be symmetric, but component {k} differs from its transpose "
            f"by up to {_show(asymmetry[k])}"
        )
    covariances = 0.5 * (covariances + covariances.transpose(0, 2, 1))
    return weights, means, covariances, _cholesky(covariances)


def _check_resp(resp, n):
    """(n, K) responsibilities: non-negative rows summing to 1."""
    resp_shape = np.shape(resp)
    if len(resp_shape) != 2:
        raise ValueError(f"resp must be a 2-D array of shape (n, K) with n = {n}, got shape {resp_shape}")
    return check_distribution_rows(resp, n, resp_shape[1], "resp")


def _check_K(K, X):
    """K components, at most the number of distinct rows of X (inits need K distinct points)."""
    K = check_positive_int(K, "K")
    distinct = np.unique(X, axis=0).shape[0] if K > 1 else 1
    if K > distinct:
        raise ValueError(
            f"K must be at most the number of distinct samples in X ({distinct}), got K = {K}"
        )
    return K


# --------------------------------------------------------------------------
# The plain E- and M-step: readable, exact, (n, K) like the 1-D module.
# --------------------------------------------------------------------------

def _log_normal_const(chol):
    r"""(K,) :math:`-\tfrac12(d\log 2\pi + \log\lvert\Sigma_k\rvert)`, with :math:`\log\lvert\Sigma\rvert = 2\sum_j\log L_{jj}`."""
    d = chol.shape[-1]
    return -0.5 * d * LOG_2PI - np.log(np.diagonal(chol, axis1=1, axis2=2)).sum(axis=1)


def log_joint_nd(X, weights, means, covariances):
    r"""(n, K) array of :math:`\log\pi_k + \log N(x_i; \mu_k, \Sigma_k)` (notebook 05).

    The quadratic form is computed by whitening with the Cholesky factor
    :math:`\Sigma_k = L_k L_k^\top`: with :math:`y = L_k^{-1}(x_i - \mu_k)`,
    :math:`(x_i-\mu_k)^\top\Sigma_k^{-1}(x_i-\mu_k) = \lVert y\rVert^2`.
    A component with weight 0 gets :math:`-\infty` in its column.
    """
    X = _check_data(X)
    weights, means, covariances, chol = _check_gmm(weights, means, covariances, X.shape[1])
    with np.errstate(divide="ignore"):
        out = np.log(weights) + _log_normal_const(chol)        # log pi_k - (d log 2pi + log|Sigma_k|)/2
    out = np.repeat(out[None, :], X.shape[0], axis=0)
    for k in range(weights.size):
        y = np.linalg.solve(chol[k], (X - means[k]).T)         # (d, n): L_k^{-1} (x_i - mu_k)
        out[:, k] -= 0.5 * np.einsum("ji,ji->i", y, y)         # - ||y_i||^2 / 2
    return out


def log_likelihood_nd(X, weights, means, covariances):
    r"""Float :math:`\ell(\theta) = \sum_i\log\sum_k \pi_k N(x_i; \mu_k, \Sigma_k)`, by log-sum-exp."""
    return float(logsumexp_rows(log_joint_nd(X, weights, means, covariances)).sum())


def e_step_nd(X, weights, means, covariances):
    r"""(n, K) responsibilities :math:`\gamma_{ik} = p(z_i = k \mid x_i; \theta)`; rows sum to 1."""
    joint = log_joint_nd(X, weights, means, covariances)
    top = joint.max(axis=1, keepdims=True)                      # log-sum-exp shift, per point
    resp = np.exp(joint - top)                                  # p(x_i, z_i = k) / e^top
    # normalise by division, not by subtracting log p(x_i): far in a tail the log joint is
    # huge and that subtraction would lose digits, so rows would not sum to 1
    return resp / resp.sum(axis=1, keepdims=True)


def m_step_nd(X, resp, covariance_floor=1e-6):
    r"""``(weights (K,), means (K, d), covariances (K, d, d))`` maximising the bound for fixed ``resp``.

    With :math:`N_k = \sum_i\gamma_{ik}`: :math:`\pi_k = N_k/n`,
    :math:`\mu_k = \frac1{N_k}\sum_i\gamma_{ik}x_i`,
    :math:`\Sigma_k = \frac1{N_k}\sum_i\gamma_{ik}(x_i-\mu_k)(x_i-\mu_k)^\top + \delta I`
    with :math:`\delta` = ``covariance_floor`` (see the module docstring). With 0 this
    is the exact maximiser of the expected complete-data log-likelihood; with
    :math:`\delta > 0` the weights and means still are, the covariances are not.
    """
    X = _check_data(X)
    resp = _check_resp(resp, X.shape[0])
    covariance_floor = _check_nonnegative_number(covariance_floor, "covariance_floor")
    counts = resp.sum(axis=0)                                   # N_k
    empty = np.flatnonzero(counts <= 0)
    if empty.size:
        raise ValueError(
            f"resp gives component {int(empty[0])} no responsibility at all (its column sums to 0), "
            "so its mean and covariance are undefined"
        )
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


def _check_centres(centres, d):
    """(K, d) finite centres, K >= 1, with the d columns of X. Returns a float64 array."""
    centres = as_float_array(centres, "centres")
    if centres.ndim != 2 or centres.shape[0] == 0 or centres.shape[1] != d:
        raise ValueError(f"centres must be a 2-D array of shape (K, d) with K >= 1 and d = {d}, got shape {centres.shape}")
    check_finite(centres, "centres")
    return centres


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
    r"""One k-means iteration, the "hard" EM of notebook 05: ``(labels (n,), new_centres (K, d))``.

    Hard E-step: :math:`z_i = rg\min_k \lVert x_i - c_k
Vert^2`, the nearest centre in
    squared Euclidean distance (on a tie the lower k, as ``np.argmin`` does). M-step:
    :math:`c_k^{	ext{new}} = rac{1}{|\{i: z_i = k\}|}\sum_{i: z_i = k} x_i`, the mean of
    the points labelled k; a centre that received no point stays where it was.
    ``centres`` is not modified. Iterated from the k-means++ seeds of
    :func:`init_kmeans_pp` until no label changes, it follows :func:`kmeans` exactly.
    """
    X = _check_data(X)
    centres = _check_centres(centres, X.shape[1])
    return _kmeans_step(X, centres)


def n_gmm_params(K, d):
    r"""Int :math:`n_{\mathrm{par}} = (K - 1) + Kd + K\,d(d+1)/2`: the free parameters of a full-covariance mixture.

    The K weights sum to 1, so K - 1 of them are free; each of the K means has d
    entries; each covariance is a symmetric d x d matrix, fixed by its d(d+1)/2
    entries on and above the diagonal. This is the :math:`n_{\mathrm{par}}` of :func:`bic`
    (notebook 05, eq. 5.2).
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
    """``(weights, means, covariances)``: K distinct data points as means, shared covariance, equal weights.

    The means are K distinct rows of X drawn at random with ``numpy.random.default_rng(seed)``;
    every component gets the covariance of the whole data set plus
    ``covariance_floor`` on its diagonal, and weight 1/K.
    """
    X = _check_data(X)
    K = _check_K(K, X)
    rng = _check_seed(seed)
    covariance_floor = _check_nonnegative_number(covariance_floor, "covariance_floor")
    distinct = np.unique(X, axis=0)
    means = distinct[rng.choice(distinct.shape[0], size=K, replace=False)]
    n, d = X.shape
    diff = X - X.mean(axis=0)
    shared = diff.T @ diff / n + covariance_floor * np.eye(d)
    covariances = np.repeat(shared[None], K, axis=0)
    _cholesky(covariances, "the covariance of X (plus covariance_floor)")
    return np.full(K, 1.0 / K), means, covariances


def init_kmeans_pp(X, K, seed=0, *, covariance_floor=1e-6):
    """``(weights, means, covariances)`` from k-means++ seeding (D^2 sampling).

    The means are K seeds chosen by :func:`_kmeans_pp_seeds`; each point is
    assigned to its nearest seed, and the weights and covariances are those of
    that hard assignment (the M-step with one-hot responsibilities), with
    ``covariance_floor`` added to every diagonal. A seed that gets a single point
    gets covariance ``covariance_floor * I``.
    """
    X = _check_data(X)
    K = _check_K(K, X)
    rng = _check_seed(seed)
    covariance_floor = _check_nonnegative_number(covariance_floor, "covariance_floor")
    seeds = _kmeans_pp_seeds(X, K, rng)
    labels = _nearest(X, X[seeds])
    labels[seeds] = np.arange(K)          # each seed keeps itself, even if tied with another seed
    weights, _, covariances = _hard_assignment_parameters(X, labels, K, covariance_floor)
    try:
        _cholesky(covariances)
    except ValueError as err:
        raise ValueError(
            f"{err}: a k-means++ cluster has too few distinct points for a full covariance; "
            "use covariance_floor > 0"
        ) from None
    return weights, X[seeds].copy(), covariances


def kmeans(X, K, seed=0, max_iter=100):
    r"""``(centres (K, d), labels (n,), inertia (T,))``: k-means as "hard" EM (notebook 05).

    Starts from the k-means++ seeds of :func:`init_kmeans_pp` (same ``seed``, same
    seeds), then alternates the M-step (each centre moves to the mean of its
    points) and the hard E-step (each point goes to its nearest centre), until
    no label changes or after ``max_iter`` iterations. ``inertia[t]`` is
    :math:`\sum_i\lVert x_i - c_{z_i}\rVert^2` after iteration t; it never
    increases. A centre left with no point stays where it is. The returned
    labels are always those of the nearest returned centre. Each iteration is one
    :func:`kmeans_step`, so iterating that step from the same seeds gives the same
    centres and labels, bit for bit.
    """
    X = _check_data(X)
    K = _check_K(K, X)
    rng = _check_seed(seed)
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


def _parameters_from_statistics(stats, centred, params, covariance_floor, iteration, block_rows):
    """The M-step (m_step_nd's equations) from the (K, p) statistics, and the Cholesky factors.

    ``params`` are the parameters of the sweep that produced ``stats`` (centred
    coordinates), needed only for the exact fallback.
    """
    n, d = centred.shape
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
    # The subtraction carries an error of about eps * |E_k[x x^T]|. When a component is
    # narrow and far from the centre of the data (a collapse onto a far point) that error
    # could reach 1e-11 of its smallest eigenvalue: measure its spread again, exactly.
    smallest = np.linalg.eigvalsh(covariances)[:, 0]
    inexact = np.flatnonzero(smallest <= 1e-5 * np.abs(np.diagonal(second, axis1=1, axis2=2)).max(axis=1))
    if inexact.size:
        scatter = _scatter_about(centred, params, means, inexact, block_rows)
        covariances[inexact] = scatter / counts[inexact, None, None] + covariance_floor * np.eye(d)
    try:
        chol = _cholesky(covariances)
    except ValueError as err:
        raise ValueError(
            f"{err} at iteration {iteration}: a component collapsed onto too few points (the "
            "likelihood is unbounded there); raise covariance_floor or start elsewhere"
        ) from None
    # A covariance that factorises but is squeezed flat (condition number beyond 1e10,
    # e.g. a component on a line of points with covariance_floor=0) is a collapse too: its
    # density, and so the likelihood, can no longer be computed to the digits EM needs.
    eigenvalues = np.linalg.eigvalsh(covariances)
    flat = np.flatnonzero(eigenvalues[:, 0] <= MAX_CONDITION_INVERSE * eigenvalues[:, -1])
    if flat.size:
        k = int(flat[0])
        raise ValueError(
            f"covariances must be well conditioned, but component {k} is nearly singular at iteration "
            f"{iteration}: it collapsed onto "
            f"too few points (eigenvalues {_show(eigenvalues[k, 0])} to {_show(eigenvalues[k, -1])}; the "
            "likelihood is unbounded there); raise covariance_floor or start elsewhere"
        )
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


def fit_em_nd(X, K, *, init="kmeans++", seed=0, tol=1e-6, max_iter=200, covariance_floor=1e-6):
    r"""Fit a K-component Gaussian mixture with full covariances by EM (notebook 05).

    Parameters
    ----------
    X : (n, d) data, one sample per row.
    K : number of components.
    init : ``"kmeans++"`` (:func:`init_kmeans_pp`), ``"random"`` (:func:`init_random`),
        or a tuple ``(weights, means, covariances)`` to start from exactly (all weights > 0).
    seed : seed of the initialisation (ignored for a tuple).
    tol : stop when the log-likelihood changes by less than ``tol`` per sample in one
        iteration, :math:`|\ell^{(t+1)} - \ell^{(t)}|/n < tol` (``converged=True``; the
        absolute value counts a small fall as a stop too: rounding noise, or the
        floor's effect near convergence). ``tol=0`` runs exactly ``max_iter`` iterations.
    max_iter : otherwise stop after this many iterations (``converged=False``).
    covariance_floor : :math:`\delta \ge 0` added to the diagonal of every covariance
        in each M-step (as scikit-learn's ``reg_covar``). The likelihood is unbounded
        when a covariance shrinks onto a point; the floor keeps every eigenvalue
        >= :math:`\delta`, so a collapsed component keeps a finite likelihood. With
        :math:`\delta > 0` the log-likelihood can fall slightly near convergence (see
        the module docstring).

    Returns
    -------
    MixtureFit, whose ``log_likelihoods[t]`` is the log-likelihood after iteration t.

    Each iteration is the E-step then the M-step of :func:`e_step_nd` and
    :func:`m_step_nd`, fused into one sweep (see the module docstring). The data
    are shifted by their mean first, which changes no likelihood but keeps
    :math:`\sum\gamma xx^\top/N_k - \mu\mu^\top` free of cancellation.
    The feature matrix takes 8 (1 + d + d(d+1)/2) n bytes (53 MB for n=100,000,
    d=10); above ``MAX_FEATURE_BYTES`` it is rebuilt block by block instead.
    """
    X = _check_data(X)
    n, d = X.shape
    tol = _check_nonnegative_number(tol, "tol")
    max_iter = check_positive_int(max_iter, "max_iter")
    covariance_floor = _check_nonnegative_number(covariance_floor, "covariance_floor")
    if isinstance(init, str):
        starts = {"kmeans++": init_kmeans_pp, "random": init_random}
        if init not in starts:
            raise ValueError(
                f"init must be 'kmeans++', 'random' or a tuple (weights, means, covariances), got {init!r}"
            )
        start = starts[init](X, K, seed, covariance_floor=covariance_floor)
    elif isinstance(init, (tuple, list)) and len(init) == 3:
        K = check_positive_int(K, "K")
        start = init
    else:
        raise ValueError(
            f"init must be 'kmeans++', 'random' or a tuple (weights, means, covariances), got {init!r}"
        )
    weights, means, covariances, chol = _check_gmm(*start, d=d)
    if weights.size != K:
        raise ValueError(f"init has {weights.size} components (weights has shape {weights.shape}), but K = {K}")
    if (weights <= 0).any():
        k = int(np.argmin(weights))
        raise ValueError(f"init weights must be strictly positive for fit_em_nd, got weight 0 for component {k}")

    shift = X.mean(axis=0)
    centred = X - shift                                          # no likelihood changes
    block_rows = _block_rows(d, K)
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
            raise ValueError(f"the log-likelihood is not finite at iteration {t}: {_show(history[t])}")
        if abs(history[t] - previous) / n < tol:
            converged = True
            break
        previous = history[t]
    T = t + 1
    return MixtureFit(weights, means + shift, covariances, history[:T].copy(), converged, T)


def bic(X, fit_or_params):
    r"""Float: the Bayesian information criterion :math:`-2\ell(\theta) + n_{\mathrm{par}}\log n` (lower is better).

    ``fit_or_params`` is a :class:`MixtureFit` or a tuple ``(weights, means, covariances)``;
    :math:`n_{\mathrm{par}}` = :func:`n_gmm_params` ``(K, d)`` free parameters (weights, means,
    covariances); notebook 05, eq. 5.2.
    """
    X = _check_data(X)
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
