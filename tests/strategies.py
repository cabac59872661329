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
