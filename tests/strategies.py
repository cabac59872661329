"""Hypothesis strategies for em_lib's tests, all in one place.

- ``mixtures``: valid parameters of a 1-D mixture of K Gaussians, K in 1..5;
- ``samples``: 1-D data, mostly near the components but with some far-tail points
  (thousands of standard deviations away), where densities underflow to 0;
- ``distributions``: (n, K) arrays whose rows are distributions over K components,
  including one-hot rows and rows with some zeros (0 log 0 = 0 must hold);
- ``problems``: data and parameters drawn together, with consistent n and K.

Everything is drawn in units of "heights in cm" so the numbers look like the course's.
"""

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

MAX_K = 5

#: Where component means live: around the course's heights (cm), with room to spare.
MEAN_RANGE = (100.0, 250.0)
#: Variances from a narrow component (sd 0.7 cm) to a very wide one (sd 30 cm).
VARIANCE_RANGE = (0.5, 900.0)


def _positive_simplex(draw, K, low=0.02):
    """A probability vector of length K with every entry > 0 (normalised by division)."""
    raw = np.array(draw(st.lists(st.floats(low, 1.0), min_size=K, max_size=K)))
    return raw / raw.sum()


@st.composite
def mixtures(draw, K=None):
    """``(weights, means, variances)``, each of shape (K,), with K in 1..5 unless given."""
    if K is None:
        K = draw(st.integers(1, MAX_K))
    weights = _positive_simplex(draw, K)
    means = np.array(draw(st.lists(st.floats(*MEAN_RANGE), min_size=K, max_size=K)))
    variances = np.array(draw(st.lists(st.floats(*VARIANCE_RANGE), min_size=K, max_size=K)))
    return weights, means, variances


#: A point in the bulk: where the heights are.
bulk_points = st.floats(50.0, 300.0)
#: A point far out in a tail: for means near 170 and sd <= 30, at least ~300 sd away,
#: where exp of the log density is exactly 0.0 in float64.
tail_points = st.one_of(st.floats(1e4, 1e5), st.floats(-1e5, -1e4))


def samples(min_size=1, max_size=40, tails=True):
    """1-D float64 arrays of shape (n,); with ``tails``, some points may be far out in a tail."""
    elements = st.one_of(bulk_points, bulk_points, bulk_points, tail_points) if tails else bulk_points
    return arrays(np.float64, st.integers(min_size, max_size), elements=elements)


@st.composite
def distribution_rows(draw, n, K):
    """(n, K) array of rows that each sum to 1: general rows, one-hot rows, rows with zeros."""
    rows = []
    for _ in range(n):
        kind = draw(st.sampled_from(["general", "one-hot", "with zeros"]))
        if kind == "one-hot":
            row = np.zeros(K)
            row[draw(st.integers(0, K - 1))] = 1.0
        else:
            row = np.array(draw(st.lists(st.floats(1e-3, 1.0), min_size=K, max_size=K)))
            if kind == "with zeros":
                keep = draw(st.integers(0, K - 1))
                zero = np.array(draw(st.lists(st.booleans(), min_size=K, max_size=K)))
                zero[keep] = False
                row[zero] = 0.0
            row = row / row.sum()
        rows.append(row)
    return np.array(rows).reshape(n, K)


@st.composite
def positive_distribution_rows(draw, n, K, low=0.01):
    """(n, K) rows summing to 1 with every entry > 0 (every component gets some of every point)."""
    raw = np.array(draw(st.lists(st.lists(st.floats(low, 1.0), min_size=K, max_size=K), min_size=n, max_size=n)))
    return raw / raw.sum(axis=1, keepdims=True)


@st.composite
def problems(draw, tails=True, min_n=1, max_n=40, K=None):
    """``(x, weights, means, variances)`` with x of shape (n,) and parameters of shape (K,)."""
    weights, means, variances = draw(mixtures(K))
    x = draw(samples(min_n, max_n, tails=tails))
    return x, weights, means, variances


@st.composite
def problems_with_q(draw, tails=True):
    """``(x, q, weights, means, variances)``: a problem plus any Q (one-hot rows and zeros included)."""
    x, weights, means, variances = draw(problems(tails=tails))
    q = draw(distribution_rows(x.size, weights.size))
    return x, q, weights, means, variances


@st.composite
def fit_problems(draw, tails=True):
    """``(x, weights, means, variances)`` for running EM: data drawn from a random mixture
    (so components have points to hold on to), a start drawn independently, and possibly
    one far-tail point. Data that are all one value, which make a component collapse at
    once, are left to the collapse tests."""
    K = draw(st.integers(1, MAX_K))
    true_weights, true_means, true_variances = draw(mixtures(K))
    n = draw(st.integers(5 * K, 60))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    z = rng.choice(K, size=n, p=true_weights)
    x = rng.normal(true_means[z], np.sqrt(true_variances[z]))
    if tails and draw(st.booleans()):
        x[0] = draw(tail_points)
    weights, means, variances = draw(mixtures(K))
    return x, weights, means, variances


# --------------------------------------------------------------------------
# Plain data: what a learner's function can return to the grader
# --------------------------------------------------------------------------
#
# Graded, the learner's code runs in a sandbox and the grader's checks receive what it
# returned decoded from the wire (course_grading.sandbox.wire): None, bool, int, float,
# complex, str, list, tuple, dict with str keys, NumPy arrays and scalars of dtype
# bool/int/uint/float/complex, and ``Opaque`` stand-ins for anything else.

import warnings  # noqa: E402

from hypothesis.extra.numpy import array_shapes, from_dtype  # noqa: E402

from course_grading.sandbox.wire import Opaque  # noqa: E402

#: Every dtype an array or a NumPy scalar may have on the wire.
WIRE_DTYPES = tuple(np.dtype(name) for name in (
    "bool", "int8", "uint8", "int16", "uint16", "int32", "uint32", "int64", "uint64",
    "float16", "float32", "float64", "complex64", "complex128",
))

#: Floats a wrong answer is made of: NaN, both infinities, huge, tiny, negative, zero.
wild_floats = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([np.nan, np.inf, -np.inf, 1e308, -1e308, 1.7976931348623157e308, 5e-324, -0.0, 0.0, -1.0, 1e-300]),
)

#: Python ints, some far beyond float64's range (the wire carries any JSON integer).
wild_ints = st.one_of(
    st.integers(),
    st.sampled_from([0, -1, 2**63, -(2**63) - 1, 2**64, 10**308, 10**309, -(10**400), 10**4000]),
)

opaques = st.sampled_from([
    "a generator object", "a function object", "a dict whose keys are not all strings", "an array of Python objects",
    "a value nested too deeply", "an integer too large", "a NumPy datetime64 scalar", "", "Opaque",
]).map(Opaque)

wire_dtypes = st.sampled_from(WIRE_DTYPES)


@st.composite
def wire_arrays(draw, shape=None, dtype=None):
    """A NumPy array of a wire dtype, any shape (0-d and empty included) unless ``shape`` is given."""
    dtype = draw(wire_dtypes) if dtype is None else np.dtype(dtype)
    if shape is None:
        shape = draw(array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=5))
    return draw(arrays(dtype, shape, elements=from_dtype(dtype)))


@st.composite
def wire_scalars(draw):
    """A NumPy scalar of a wire dtype (np.float64(nan), np.uint64(2**64 - 1), np.complex64(...), np.bool_...)."""
    dtype = draw(wire_dtypes)
    return dtype.type(draw(from_dtype(dtype)))


def _nested(depth, leaf, kind):
    for _ in range(depth):
        leaf = [leaf] if kind == "list" else (leaf,)
    return leaf


#: Values nested as deep as the wire allows (64), and deeper than an array can be (> 64 dims).
deeply_nested = st.builds(_nested, st.integers(30, 70), st.sampled_from([1.0, "x", None]), st.sampled_from(["list", "tuple"]))

plain_leaves = st.one_of(
    st.none(), st.booleans(), wild_ints, wild_floats,
    st.complex_numbers(allow_nan=True, allow_infinity=True),
    st.text(max_size=8), st.sampled_from(["1.5", "nan", "-inf", "1e999", " 2 ", "0x10"]),
    wire_arrays(), wire_scalars(), opaques,
)


_plain_values = st.one_of(
    st.recursive(
        plain_leaves,
        lambda children: st.one_of(
            st.lists(children, max_size=5),
            st.lists(children, max_size=5).map(tuple),
            st.dictionaries(st.text(max_size=6), children, max_size=4),
        ),
        max_leaves=12,
    ),
    deeply_nested,
)


def plain_values():
    """Any value the wire can carry, nested in lists, tuples and str-keyed dicts."""
    return _briefly(_plain_values)


def _numeric_near_misses(reference):
    """Wrong answers shaped like the numeric ``reference`` (a number or an array)."""
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # float16 overflows, inf to int: these are the near misses wanted
        return _numeric_near_misses_of(reference)


def _numeric_near_misses_of(reference):
    ref = np.asarray(reference)
    shape = ref.shape
    as_float = ref.astype(np.float64)
    size_one = as_float.reshape(-1)[:1]
    fixed = [
        reference, as_float, as_float.tolist(), as_float.astype(np.float32), as_float.astype(np.float16),
        as_float.astype(np.int64) if np.isfinite(as_float).all() else as_float,
        as_float.astype(bool), as_float.astype(np.complex128), as_float + 1j, as_float * (1 + 1e-3j),
        as_float.T, as_float.reshape(-1), as_float[None], as_float[..., None], as_float.reshape(-1)[:0], np.empty((0, 0)),
        np.asarray(as_float.sum()), size_one, size_one.reshape(()), size_one.tolist(), np.zeros(shape, dtype=np.uint64),
        -as_float, as_float * 2, np.full(shape, np.nan), np.full(shape, np.inf), np.full(shape, -np.inf),
        np.full(shape, 1e308), np.full(shape, -1e308), as_float.astype(str).tolist(),
        np.full(shape, Opaque("a generator object"), dtype=object).tolist(),
    ]
    if ref.ndim == 0:
        value = float(as_float)
        fixed += [value, str(value), complex(value, 1.0), complex(value, 0.0), np.complex128(value), int(value) if np.isfinite(value) else 0,
                  [value], (value,), {"value": value}, True, 10**400]
    def poked(index, value):
        """The right answer with one entry replaced by ``value``."""
        out = as_float.copy()
        if out.size:
            out.reshape(-1)[index] = value
        return out if out.ndim else out[()]

    entries = st.integers(0, max(as_float.size - 1, 0))
    return st.one_of(
        _one_of(fixed),
        wire_arrays(shape=shape),                                      # the right shape, any dtype, any entries
        arrays(np.float64, shape, elements=wild_floats),               # the right shape, NaN, inf, huge entries
        arrays(np.float64, shape, elements=wild_floats).map(lambda a: a.tolist()),   # nested lists
        st.builds(poked, entries, wild_floats),
        st.builds(poked, entries, wild_floats).map(lambda a: a.tolist()),
    )


def _one_of(values):
    """One of ``values``, by index (``sampled_from`` would print every value in the strategy's repr)."""
    def pick(index):
        return values[index]

    return st.integers(0, len(values) - 1).map(pick)


def near_misses(reference):
    """Wrong answers close in form to ``reference``: for a tuple, tuples (and lists) of the right length
    whose items are near misses or any plain value, and tuples one item short or long; for a number or an
    array, the same shape with NaN, inf, huge or negative entries, another dtype, a list, a transpose,
    a 0-d or empty array, strings and Opaque stand-ins."""
    if isinstance(reference, tuple):
        items = [st.one_of(near_misses(item), plain_values()) for item in reference]
        strategy = st.one_of(
            st.tuples(*items),
            st.tuples(*items).map(list),
            st.tuples(*[near_misses(item) for item in reference]),
            st.tuples(*items).map(lambda t: t[:-1]),
            st.tuples(*items, plain_values()),
            _one_of([reference]),
        )
    else:
        strategy = _numeric_near_misses(reference)
    return _briefly(strategy)


def _briefly(strategy):
    """``strategy`` under a short repr: Hypothesis warns when a strategy's repr is long (these hold arrays)."""
    return st.just(None).flatmap(lambda _: strategy)
