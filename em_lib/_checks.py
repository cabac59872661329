"""Input validation shared by every em_lib function.

Each check raises ``ValueError`` whose message names the parameter, what was
expected and what was given, so that a learner reading the message knows which
argument to fix. Nothing here computes anything about EM.
"""

import numpy as np

#: How far a probability vector may sum from 1 and still be accepted.
SUM_TOL = 1e-6


def _describe(a):
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


#: Largest magnitude accepted for samples and means: squaring a difference of two
#: values this size stays far below float64's overflow (about 1.8e308).
MAX_MAGNITUDE = 1e150


def check_magnitude(a, name):
    """Raise if ``a`` holds values so large that their squares overflow float64."""
    if a.size and np.abs(a).max() > MAX_MAGNITUDE:
        raise ValueError(
            f"{name} holds values as large as {float(np.abs(a).max()):.3g}; values beyond "
            f"{MAX_MAGNITUDE:.0e} cannot be squared in float64 (rescale the data, e.g. change units)"
        )


def check_samples(x, name="x"):
    """1-D samples: shape (n,) with n >= 1, finite. Returns a float64 array."""
    x = as_float_array(x, name)
    if x.ndim != 1:
        hint = " (for d-dimensional data use em_lib.mixture_nd)" if x.ndim == 2 else ""
        raise ValueError(f"{name} must be a 1-D array of shape (n,), got {_describe(x)}{hint}")
    if x.size == 0:
        raise ValueError(f"{name} is empty: expected at least one sample")
    check_finite(x, name)
    check_magnitude(x, name)
    return x


def check_probability_vector(p, name):
    """A vector of non-negative entries summing to 1."""
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


def check_mixture(weights, means, variances):
    """Parameters of a 1-D mixture of K Gaussians, each of shape (K,).

    Weights are a probability vector, means finite, variances finite and
    strictly positive (variances, not standard deviations).
    """
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


def check_distribution_rows(q, n, K, name):
    """An (n, K) array whose rows are distributions over the K components."""
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


def check_positive_int(value, name, minimum=1):
    """An integer >= ``minimum``."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"{name} must be an integer, got {show(value)}")
    if value < minimum:
        raise ValueError(f"{name} must be at least {minimum}, got {value}")
    return int(value)


def check_open_unit(value, name):
    """A probability strictly between 0 and 1."""
    v = as_float_array(value, name)
    if v.ndim != 0 or not np.isfinite(v) or not 0.0 < float(v) < 1.0:
        raise ValueError(f"{name} must be a number strictly between 0 and 1, got {show(value)}")
    return float(v)
