"""Input validation for every em_lib function, in one place.

Each check raises ``ValueError`` whose message names the parameter, what was
expected and what was given, so that a learner reading the message knows which
argument to fix. Nothing here computes anything about EM. The sections follow
the modules: shared helpers, then the checks of each model, in the course's order.
"""

import numpy as np

#: How far a probability vector may sum from 1 and still be accepted.
SUM_TOL = 1e-6

#: Largest magnitude accepted for samples and means: squaring a difference of two
#: values this size stays far below float64's overflow (about 1.8e308).
MAX_MAGNITUDE = 1e150

#: Relative asymmetry tolerated in a covariance (rounding); it is then symmetrised.
SYMMETRY_RTOL = 1e-8


# --------------------------------------------------------------------------
# Shared: numbers, arrays, distributions.
# --------------------------------------------------------------------------

def _describe(a):
    """Describe an array for a message: its shape, or the value of a scalar."""
    return f"an array of shape {a.shape}" if a.ndim else f"the scalar {a.item()!r}"


def show(value):
    """``repr`` of a value as the learner typed it: ``0.5``, not ``np.float64(0.5)``."""
    if isinstance(value, np.generic):
        value = value.item()
    elif isinstance(value, np.ndarray):
        value = value.tolist()
    return repr(value)


def as_float_array(value, name):
    """``value`` as a float64 array; a ``ValueError`` naming ``name`` if it is not numeric."""
    try:
        return np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be numeric, got {type(value).__name__}") from None


def check_finite(a, name):
    """Raise if ``a`` holds NaN or inf, naming how many and the first position."""
    bad = ~np.isfinite(a)
    if bad.any():
        first = tuple(int(i) for i in np.argwhere(bad)[0])
        where = first[0] if len(first) == 1 else first
        raise ValueError(
            f"{name} must be finite, but {int(bad.sum())} entries are NaN or inf "
            f"(the first at index {where})"
        )


def check_magnitude(a, name):
    """Raise if ``a`` holds values so large that their squares overflow float64."""
    if a.size and np.abs(a).max() > MAX_MAGNITUDE:
        raise ValueError(
            f"{name} holds values as large as {float(np.abs(a).max()):.3g}; values beyond "
            f"{MAX_MAGNITUDE:.0e} cannot be squared in float64 (rescale the data, e.g. change units)"
        )


def check_positive_int(value, name, minimum=1):
    """An integer >= ``minimum``, returned as a Python int."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"{name} must be an integer, got {show(value)}")
    if value < minimum:
        raise ValueError(f"{name} must be at least {minimum}, got {value}")
    return int(value)


def check_nonnegative_number(value, name):
    """A finite number >= 0, returned as a float."""
    v = as_float_array(value, name)
    if v.ndim != 0 or not np.isfinite(v) or v < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {show(value)}")
    return float(v)


def check_open_unit(value, name):
    """A probability strictly between 0 and 1, returned as a float."""
    v = as_float_array(value, name)
    if v.ndim != 0 or not np.isfinite(v) or not 0.0 < float(v) < 1.0:
        raise ValueError(f"{name} must be a number strictly between 0 and 1, got {show(value)}")
    return float(v)


def check_probabilities(value, name):
    """Finite probabilities in [0, 1], any shape, as a float64 array."""
    v = as_float_array(value, name)
    check_finite(v, name)
    if ((v < 0.0) | (v > 1.0)).any():
        raise ValueError(f"{name} must hold probabilities between 0 and 1, got {show(value)}")
    return v


def broadcast_together(names_and_values):
    """The arrays of ``((name, array), ...)`` broadcast together, or a message naming their shapes."""
    try:
        return np.broadcast_arrays(*(v for _, v in names_and_values))
    except ValueError:
        shapes = ", ".join(f"{name} {np.shape(v)}" for name, v in names_and_values)
        raise ValueError(f"the shapes of {shapes} do not broadcast together") from None


def check_seed(seed):
    """A non-negative integer seed as a new numpy Generator, or a Generator used as it is."""
    if isinstance(seed, np.random.Generator):
        return seed
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer or a numpy Generator, got {show(seed)}")
    return np.random.default_rng(int(seed))


def check_probability_vector(p, name):
    """A non-empty (K,) vector of non-negative entries summing to 1, as float64."""
    p = as_float_array(p, name)
    if p.ndim != 1 or p.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-D array, got {_describe(p)}")
    check_finite(p, name)
    if (p < 0).any():
        raise ValueError(f"{name} must be non-negative, got {float(p.min())!r} at index {int(p.argmin())}")
    total = p.sum()
    if abs(total - 1.0) > SUM_TOL:
        raise ValueError(f"{name} must sum to 1, but sums to {float(total)!r}")
    return p


def check_distribution_rows(q, n, K, name):
    """An (n, K) array whose rows are distributions over the K components, as float64."""
    q = as_float_array(q, name)
    if q.shape != (n, K):
        raise ValueError(f"{name} must have shape (n, K) = ({n}, {K}), got {_describe(q)}")
    check_finite(q, name)
    if (q < 0).any():
        i, k = (int(v) for v in np.argwhere(q < 0)[0])
        raise ValueError(f"{name} must be non-negative, got {float(q[i, k])!r} at row {i}, column {k}")
    row_sums = q.sum(axis=1)
    off = np.abs(row_sums - 1.0) > SUM_TOL
    if off.any():
        i = int(np.argmax(off))
        raise ValueError(
            f"each row of {name} must sum to 1 (a distribution over the K components), "
            f"but row {i} sums to {float(row_sums[i])!r}"
        )
    return q


def check_distributions(q, name):
    """A (K,) distribution or an (n, K) array of them, as float64 of the shape given."""
    q = as_float_array(q, name)
    if q.ndim not in (1, 2) or q.size == 0:
        raise ValueError(
            f"{name} must be a distribution of shape (K,) or rows of them, shape (n, K), got shape {q.shape}"
        )
    rows = np.atleast_2d(q)
    check_distribution_rows(rows, rows.shape[0], rows.shape[1], name)
    return q


# --------------------------------------------------------------------------
# The 1-D Gaussian mixture (mixture1d) and the bound (bound).
# --------------------------------------------------------------------------

def check_samples(x, name="x"):
    """1-D samples: shape (n,) with n >= 1, finite, as float64."""
    x = as_float_array(x, name)
    if x.ndim != 1:
        hint = " (for d-dimensional data use em_lib.mixture_nd)" if x.ndim == 2 else ""
        raise ValueError(f"{name} must be a 1-D array of shape (n,), got {_describe(x)}{hint}")
    if x.size == 0:
        raise ValueError(f"{name} is empty: expected at least one sample")
    check_finite(x, name)
    check_magnitude(x, name)
    return x


def check_mixture(weights, means, variances):
    """Weights (a probability vector), means and variances (> 0) of a 1-D mixture, each (K,)."""
    weights = check_probability_vector(weights, "weights")
    K = weights.size
    means = as_float_array(means, "means")
    variances = as_float_array(variances, "variances")
    for name, a in (("means", means), ("variances", variances)):
        if a.shape != (K,):
            raise ValueError(
                f"{name} must have shape (K,) = ({K},) to match weights, got {_describe(a)}"
            )
        check_finite(a, name)
    check_magnitude(means, "means")
    if (variances <= 0).any():
        k = int(np.argmin(variances))
        raise ValueError(
            f"variances must be strictly positive, got {float(variances[k])!r} for component {k}"
        )
    return weights, means, variances


def check_resp(resp, n):
    """(n, K) responsibilities of n samples, any K (a transposed array is called so), as float64."""
    resp = as_float_array(resp, "resp")
    if resp.ndim != 2:
        raise ValueError(f"resp must be a 2-D array of shape (n, K), got shape {resp.shape}")
    if resp.shape[0] != n:
        hint = " (transposed? rows are samples i, columns components k)" if resp.shape[1] == n else ""
        raise ValueError(
            f"resp must have one row per sample, shape (n, K) with n = {n}, got shape {resp.shape}{hint}"
        )
    return check_distribution_rows(resp, n, resp.shape[1], "resp")


def check_no_empty_component(counts, spread):
    """Raise if a column of resp sums to 0 (``counts`` (K,)): that component's mean and ``spread`` are 0/0."""
    empty = np.flatnonzero(counts <= 0)
    if empty.size:
        raise ValueError(
            f"resp gives component {int(empty[0])} no responsibility at all (its column sums to 0), "
            f"so its mean and {spread} are undefined"
        )


def check_jensen_values(values):
    """Jensen's "stars": a non-empty (K,) array of finite, strictly positive numbers, as float64."""
    values = as_float_array(values, "values")
    if values.ndim != 1 or values.size == 0:
        raise ValueError(f"values must be a non-empty 1-D array, got shape {values.shape}")
    check_finite(values, "values")
    if (values <= 0).any():
        raise ValueError(f"values must be strictly positive (log is taken), got {float(values.min())!r}")
    return values


# --------------------------------------------------------------------------
# The d-dimensional Gaussian mixture and k-means (mixture_nd).
# --------------------------------------------------------------------------

def check_data(X, name="X"):
    """(n, d) samples, one per row, n >= 1, d >= 1, finite, as float64."""
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


def check_positive_definite(covariances, name="covariances"):
    """(K, d, d) covariances' lower Cholesky factors, or a message naming the first that is not positive definite."""
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
                    f"(its smallest eigenvalue is {show(smallest)})"
                ) from None
        raise  # pragma: no cover - every component factorised one by one


def check_gmm(weights, means, covariances, d=None):
    """Validated ``(weights (K,), means (K, d), covariances (K, d, d), chol)``; ``d`` from ``means`` unless given.

    Covariances must be finite, symmetric up to ``SYMMETRY_RTOL`` (then symmetrised)
    and positive definite; ``chol`` are their lower Cholesky factors.
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
            f"by up to {show(asymmetry[k])}"
        )
    covariances = 0.5 * (covariances + covariances.transpose(0, 2, 1))
    return weights, means, covariances, check_positive_definite(covariances)


def check_start(start, K, d):
    """``fit_em_nd``'s start ``(weights, means, covariances)``: a valid mixture of K components, all weights > 0.

    Returns ``(weights, means, covariances, chol)`` as :func:`check_gmm`.
    """
    weights, means, covariances, chol = check_gmm(*start, d=d)
    if weights.size != K:
        raise ValueError(f"init has {weights.size} components (weights has shape {weights.shape}), but K = {K}")
    if (weights <= 0).any():
        k = int(np.argmin(weights))
        raise ValueError(f"init weights must be strictly positive for fit_em_nd, got weight 0 for component {k}")
    return weights, means, covariances, chol


def check_resp_nd(resp, n):
    """(n, K) responsibilities: non-negative rows summing to 1, any K, as float64."""
    resp_shape = np.shape(resp)
    if len(resp_shape) != 2:
        raise ValueError(f"resp must be a 2-D array of shape (n, K) with n = {n}, got shape {resp_shape}")
    return check_distribution_rows(resp, n, resp_shape[1], "resp")


def check_K(K, X):
    """K components, at most the number of distinct rows of X (inits need K distinct points)."""
    K = check_positive_int(K, "K")
    distinct = np.unique(X, axis=0).shape[0] if K > 1 else 1
    if K > distinct:
        raise ValueError(
            f"K must be at most the number of distinct samples in X ({distinct}), got K = {K}"
        )
    return K


def check_centres(centres, d):
    """(K, d) finite centres, K >= 1, with the d columns of X, as float64."""
    centres = as_float_array(centres, "centres")
    if centres.ndim != 2 or centres.shape[0] == 0 or centres.shape[1] != d:
        raise ValueError(
            f"centres must be a 2-D array of shape (K, d) with K >= 1 and d = {d}, got shape {centres.shape}"
        )
    check_finite(centres, "centres")
    return centres


# --------------------------------------------------------------------------
# The coins (coins).
# --------------------------------------------------------------------------

def check_heads(heads, n_tosses):
    """``(heads, tosses)``: (m,) whole numbers of heads, each at most its set's tosses, both float64 (m,)."""
    heads = as_float_array(heads, "heads")
    if heads.ndim != 1 or heads.size == 0:
        raise ValueError(f"heads must be a non-empty 1-D array of head counts, got shape {heads.shape}")
    check_finite(heads, "heads")
    tosses = as_float_array(n_tosses, "n_tosses")
    if tosses.ndim != 0 and tosses.shape != heads.shape:
        raise ValueError(
            f"n_tosses must be one number or an array of shape {heads.shape} like heads, "
            f"got shape {tosses.shape}"
        )
    tosses = np.broadcast_to(tosses, heads.shape)
    check_finite(tosses, "n_tosses")
    if (tosses <= 0).any() or (tosses != np.round(tosses)).any():
        raise ValueError(f"n_tosses must be positive whole numbers, got {show(n_tosses)}")
    if (heads < 0).any() or (heads > tosses).any() or (heads != np.round(heads)).any():
        raise ValueError("heads must be whole numbers between 0 and n_tosses for each set")
    return heads, tosses


def check_tosses(y):
    """(n,) outcomes of single tosses, each 0 (tails) or 1 (heads), as float64."""
    y = as_float_array(y, "y")
    if y.ndim != 1 or y.size == 0:
        raise ValueError(f"y must be a non-empty 1-D array of 0/1 outcomes, got shape {y.shape}")
    if not np.isin(y, (0.0, 1.0)).all():
        raise ValueError("y must hold only 0 (tails) and 1 (heads)")
    return y


# --------------------------------------------------------------------------
# The Poisson mixture on a frequency table (poisson).
# --------------------------------------------------------------------------

def check_counts(counts):
    """Distinct observed values: a non-empty (m,) array of whole numbers >= 0, as float64."""
    y = as_float_array(counts, "counts")
    if y.ndim != 1 or y.size == 0:
        raise ValueError(f"counts must be a non-empty 1-D array of shape (m,), got shape {y.shape}")
    check_finite(y, "counts")
    if (y < 0).any() or (y != np.round(y)).any():
        j = int(np.argmax((y < 0) | (y != np.round(y))))
        raise ValueError(f"counts must be whole numbers >= 0 (a Poisson count), got {float(y[j])!r} at index {j}")
    return y


def check_frequencies(frequencies, m):
    """How many times each count was seen: (m,), finite, >= 0, not all 0, as float64."""
    f = as_float_array(frequencies, "frequencies")
    if f.shape != (m,):
        raise ValueError(f"frequencies must have shape (m,) = ({m},) like counts, got shape {f.shape}")
    check_finite(f, "frequencies")
    if (f < 0).any():
        j = int(np.argmin(f))
        raise ValueError(f"frequencies must be >= 0 (how often each count was seen), got {float(f[j])!r} at index {j}")
    if not f.sum() > 0:
        raise ValueError("frequencies are all 0: there are no observations")
    return f


def check_poisson_mixture(weights, rates):
    """``weights`` a probability vector (K,); ``rates`` (K,) finite and >= 0; both float64."""
    weights = check_probability_vector(weights, "weights")
    rates = as_float_array(rates, "rates")
    if rates.shape != weights.shape:
        raise ValueError(
            f"rates must have shape (K,) = ({weights.size},) to match weights, got shape {rates.shape}"
        )
    check_finite(rates, "rates")
    if (rates < 0).any():
        k = int(np.argmin(rates))
        raise ValueError(f"rates must be >= 0 (a Poisson mean), got {float(rates[k])!r} for component {k}")
    return weights, rates


def check_count_resp(resp, m):
    """(m, K) responsibilities, one row per distinct count (a transposed array is called so), as float64."""
    resp = as_float_array(resp, "resp")
    if resp.ndim != 2 or resp.shape[0] != m:
        hint = " (transposed? rows are the distinct counts j, columns components k)" if (
            resp.ndim == 2 and resp.shape[1] == m) else ""
        raise ValueError(
            f"resp must have shape (m, K) with one row per count, m = {m}, got shape {resp.shape}{hint}"
        )
    return check_distribution_rows(resp, m, resp.shape[1], "resp")


# --------------------------------------------------------------------------
# The Gaussian with missing entries (missing).
# --------------------------------------------------------------------------

def check_data_with_holes(X):
    """(n, d) data, n, d >= 1, with NaN for missing entries and no infinities, as float64."""
    X = as_float_array(X, "X")
    if X.ndim != 2 or X.shape[0] == 0 or X.shape[1] == 0:
        raise ValueError(f"X must be a 2-D array of shape (n, d) with n, d >= 1, got shape {X.shape}")
    if np.isinf(X).any():
        i, j = (int(v) for v in np.argwhere(np.isinf(X))[0])
        raise ValueError(f"X must hold finite numbers or NaN (missing), got {X[i, j]} at row {i}, column {j}")
    check_magnitude(np.nan_to_num(X), "X")
    return X


def check_gaussian(mean, cov, d):
    """``mean`` (d,) finite; ``cov`` (d, d) symmetric positive definite; both float64."""
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


def check_moments(expected_x, expected_xx):
    """The E-step's ``expected_x`` (n, d) and ``expected_xx`` (n, d, d), finite, as float64."""
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
    return expected_x, expected_xx
