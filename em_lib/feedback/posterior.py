r"""Feedback for notebook 03's exercise: ``posterior(x, weights, means, variances)``.

The learner writes :math:`p(z_i = k \mid x_i) = p(x_i, z_i = k) / \sum_j p(x_i, z_i = j)`
(notebook 03, eq. 3.2). The classic ways to get it wrong are listed in
``POSTERIOR_MISTAKES``; each holds the words the learner sees and the wrong
answer it would produce, so a wrong answer is recognised and named. Notebook 04's
``e_step`` is the same function, so :mod:`em_lib.feedback.steps` reuses this list.

Two entry points, as in every feedback module:

- ``self_check_posterior(fn)``: the visible checks of the self-check cell, one
  printed line each;
- ``check_posterior(fn, **inputs)``: one graded check on the given inputs.
"""

import numpy as np

from ..datasets import HEIGHTS_TRUE
from ..mixture1d import log_joint, logsumexp_rows
from ..mixture1d import posterior as reference_posterior
from .core import Misconception, Mistake, as_real_array, call_learner, check, close, graded, kind_of, run_self_check


def _joint(x, weights, means, variances):
    """The joint densities p(x_i, z_i = k), computed directly (they underflow in the far tails)."""
    return np.exp(log_joint(x, weights, means, variances))


def _not_normalised(x, weights, means, variances):
    return _joint(x, weights, means, variances)


def _log_posterior(x, weights, means, variances):
    lj = log_joint(x, weights, means, variances)
    return lj - logsumexp_rows(lj)[:, None]


def _over_samples(x, weights, means, variances):
    joint = _joint(x, weights, means, variances)
    return joint / joint.sum(axis=0, keepdims=True)


def _over_everything(x, weights, means, variances):
    joint = _joint(x, weights, means, variances)
    return joint / joint.sum()


def _weights_forgotten(x, weights, means, variances):
    weights = np.asarray(weights, dtype=float)
    return reference_posterior(x, np.full(weights.shape, 1.0 / weights.size), means, variances)


def _variances_as_standard_deviations(x, weights, means, variances):
    # the density was written with sigma in the place of sigma^2: N(x; mu, v) with v read as a standard deviation
    return reference_posterior(x, weights, means, np.asarray(variances, dtype=float) ** 2)


def _square_root_of_variances(x, weights, means, variances):
    # sigma = sqrt(v) computed, then used where the variance belongs
    return reference_posterior(x, weights, means, np.sqrt(np.asarray(variances, dtype=float)))


def _hard_assignment(x, weights, means, variances):
    # each sample wholly to its most probable component, as k-means does (one-hot rows)
    joint = log_joint(x, weights, means, variances)
    return np.eye(joint.shape[1])[np.argmax(joint, axis=1)]


def _transposed(x, weights, means, variances):
    return reference_posterior(x, weights, means, variances).T


def _uniform(x, weights, means, variances):
    return np.full((np.size(x), np.size(weights)), 1.0 / np.size(weights))


def _prior(x, weights, means, variances):
    return np.tile(np.asarray(weights, dtype=float), (np.size(x), 1))


POSTERIOR_MISTAKES = (
    Mistake(
        "joint_not_normalised",
        "It returns the joint p(x_i, z_i = k) itself: the rows are not normalised. Equality in Jensen "
        "only says Q_i(k) is PROPORTIONAL to p(x_i, k); divide each row by its sum over k "
        "(which is p(x_i)) so that Q_i is a distribution.",
        _not_normalised,
    ),
    Mistake(
        "posterior_still_in_log_space",
        "It returns log p(z_i = k | x_i): the normalisation is right, but the result is still in "
        "log space. Take np.exp of it at the end.",
        _log_posterior,
    ),
    Mistake(
        "normalised_over_samples",
        "It normalises over the samples (axis 0) instead of over the components (axis 1): each "
        "COLUMN sums to 1. Q_i is a distribution over the hidden variable of sample i, so each "
        "ROW must sum to 1: divide by the sum over k, with keepdims=True or [:, None].",
        _over_samples,
    ),
    Mistake(
        "normalised_over_all_entries",
        "It divides by the total over ALL samples and components, so the whole array sums to 1. "
        "Each sample has its own Q_i: divide each ROW by its own sum over k (axis=1, keepdims=True).",
        _over_everything,
    ),
    Mistake(
        "mixing_weights_missing",
        "The mixing weights are missing: it normalises the component densities N(x_i; mu_k, "
        "sigma_k^2), i.e. p(x_i | z_i = k), not the joint. The joint is pi_k * N(...): "
        "in log space, add np.log(weights) before normalising.",
        _weights_forgotten,
    ),
    Mistake(
        "variances_used_as_standard_deviations",
        "The variances are used as if they were standard deviations (sigma where sigma^2 belongs, "
        "or the reverse). The parameters are variances: "
        "log N(x; mu, v) = -0.5*log(2*pi*v) - (x - mu)**2 / (2*v).",
        _variances_as_standard_deviations,
    ),
    Mistake(
        "square_root_of_variances",
        "It uses the standard deviation sqrt(variances) in the place of the variance. The "
        "parameters are already variances: log N(x; mu, v) = -0.5*log(2*pi*v) - (x - mu)**2 / (2*v).",
        _square_root_of_variances,
    ),
    Mistake(
        "posterior_transposed",
        "It has shape (K, n): transposed. Rows are samples i, columns components k, so the "
        "answer has shape (n, K), like log_joint.",
        _transposed,
    ),
    Mistake(
        "uniform_rows",
        "Every row is the uniform distribution 1/K: the data and the parameters were not used.",
        _uniform,
    ),
    Mistake(
        "prior_not_posterior",
        "Every row equals the mixing weights: that is the prior p(z = k), before seeing x_i. "
        "The posterior multiplies the prior by the density of x_i under each component, then normalises.",
        _prior,
    ),
)

HARD_ASSIGNMENT = Mistake(
    "hard_assignment",
    "It is a hard assignment: every row is one-hot, 1 for the most probable component and 0 "
    "for the others, as in k-means. Equality in Jensen needs Q_i(k) = p(z_i = k | x_i) itself, "
    "a probability between 0 and 1 (the lecture's 1.90 m person is 0.9 male, 0.1 female): "
    "normalise the joint over k instead of taking its argmax.",
    _hard_assignment,
)

#: Last in the list (a nearly one-hot answer is more likely another mistake), but an answer
#: that is EXACTLY one-hot is named a hard assignment before any other mistake is tried
#: (``check_against_reference``): on well separated components the answers of other
#: mistakes are one-hot within the tolerance (sqrt(variances) makes every component
#: narrower), and the first of them in the list would be named for it.
POSTERIOR_MISTAKES = POSTERIOR_MISTAKES + (HARD_ASSIGNMENT,)

#: Named by the checks themselves, on an answer with NaN where em_lib's is finite.
UNDERFLOW = Misconception(
    "posterior_underflows_to_nan",
    "It gives NaN for points far from every component. There the densities exp(log p) "
    "underflow to exactly 0.0, and 0/0 is NaN. Normalise in log space: subtract the "
    "row's log-sum-exp from the log joint (subtract the largest entry of each row before "
    "exponentiating, as in notebook 01), and only then take np.exp.",
)

#: The heights model of the course (component 0 male, 1 female), in cm.
_W, _M, _V = (np.array(a, dtype=float) for a in HEIGHTS_TRUE)

#: The visible inputs of the self-check: the lecture's two people, and others.
SELF_CHECK_INPUTS = {
    "heights": dict(x=np.array([190.0, 155.0, 168.0, 175.3]), weights=np.array([0.3, 0.7]), means=_M, variances=_V),
    "three components": dict(
        x=np.array([-2.0, 0.0, 0.5, 3.0, 7.5]),
        weights=np.array([0.2, 0.5, 0.3]),
        means=np.array([-1.0, 1.0, 4.0]),
        variances=np.array([0.5, 2.0, 1.5]),
    ),
    # exp(log p) underflows to 0.0 below about -745: x = -45 and 50 are there for both components
    "far tails": dict(
        x=np.array([-45.0, -3.0, 0.5, 4.0, 50.0]),
        weights=np.array([0.4, 0.6]),
        means=np.array([0.0, 2.0]),
        variances=np.array([1.0, 0.5]),
    ),
}


def _recording(fn):
    """``fn`` wrapped so that its last answer is kept (to explain NaN answers afterwards)."""
    box = {}

    def wrapped(**kwargs):
        box["answer"] = fn(**kwargs)
        return box["answer"]

    wrapped.__name__ = getattr(fn, "__name__", "your function")
    return wrapped, box


def _has_nan(value):
    arr = as_real_array(value)
    return arr is not None and bool(np.isnan(arr).any())


def check_against_reference(fn, inputs, reference, mistakes, what):
    """``core.check`` plus one more diagnosis: NaN where the reference is finite means underflow.

    Shared with :mod:`em_lib.feedback.steps` (``e_step`` is the same function).
    """
    wrapped, box = _recording(fn)
    try:
        return check(wrapped, inputs, reference, mistakes, what=what)
    except AssertionError as exc:
        if "answer" in box and _has_nan(box["answer"]) and not _has_nan(reference(**inputs)):
            raise UNDERFLOW.found(what) from None
        one_hot = "answer" in box and _is_hard_assignment(box["answer"], inputs)
        if one_hot and not close(box["answer"], reference(**inputs)):   # wrong, not only one-hot
            raise HARD_ASSIGNMENT.found(what) from None
        raise exc from None


def _is_hard_assignment(answer, inputs):
    """True when ``answer`` is exactly one-hot (only 0.0 and 1.0) and picks the most probable component."""
    arr = as_real_array(answer)
    try:
        hard = _hard_assignment(**inputs)
    except Exception:
        return False
    if arr is None:
        return False
    return arr.shape == hard.shape and bool(np.all((arr == 0.0) | (arr == 1.0))) and bool(np.all(arr == hard))


def rows_sum_to_one(fn, inputs, what):
    """Shape (n, K), no NaN, non-negative, rows summing to 1: what any posterior must satisfy."""
    got = call_learner(fn, inputs, what)
    n, K = np.size(inputs["x"]), np.size(inputs["weights"])
    arr = as_real_array(got)
    if arr is None:
        raise AssertionError(f"{what} should return a NumPy array of shape ({n}, {K}), got {kind_of(got)}")
    if arr.shape != (n, K):
        hint = " (transposed: rows are samples i, columns components k)" if arr.shape == (K, n) else ""
        raise AssertionError(f"{what} should have shape (n, K) = ({n}, {K}), got {arr.shape}{hint}")
    with np.errstate(all="ignore"):  # inf - inf is NaN, as it should be here; huge rows overflow to inf
        sums = arr.sum(axis=1)
    if np.isnan(sums).any():
        raise UNDERFLOW.found(what)
    if (arr < 0).any():
        raise AssertionError(f"{what} has negative entries, but probabilities are >= 0")
    if not np.allclose(sums, 1.0, rtol=0, atol=1e-9):
        i = int(np.argmax(np.abs(sums - 1.0)))
        raise AssertionError(
            f"row {i} of the result of {what} sums to {sums[i]:.6g}, not 1: Q_i must be a distribution "
            "over the K components, so divide each row by its sum over k."
        )


@graded
def check_posterior_rows(fn, **inputs):
    """One graded check of the form alone: an (n, K) array of probabilities whose rows sum to 1."""
    rows_sum_to_one(fn, inputs, "posterior(...)")
    return "posterior(...): an (n, K) array whose rows sum to 1"


@graded
def check_posterior(fn, **inputs):
    """One graded check: ``fn(**inputs)`` against ``em_lib.posterior``, naming a classic mistake.

    Returns a one-line confirmation; raises ``AssertionError`` with an explanation otherwise.
    """
    return check_against_reference(fn, inputs, reference_posterior, POSTERIOR_MISTAKES, "posterior(...)")


def posterior_like_checks(fn, what, inputs=SELF_CHECK_INPUTS):
    """The ``[(label, thunk), ...]`` checks of a posterior (also used for ``e_step``)."""

    def against_reference(key):
        return lambda: check_against_reference(fn, inputs[key], reference_posterior, POSTERIOR_MISTAKES, what)

    return [
        ("returns an (n, K) array whose rows sum to 1", lambda: rows_sum_to_one(fn, inputs["heights"], what)),
        ("matches em_lib on heights with unequal weights", against_reference("heights")),
        ("works for K = 3 components", against_reference("three components")),
        ("stays finite far out in the tails (x = -45 and 50, unit-scale components)", against_reference("far tails")),
    ]


def self_check_posterior(fn):
    """The visible self-check of notebook 03: prints one line per check and names the mistake.

    Raises ``AssertionError`` at the end when a check failed, so the cell shows as failed.
    """
    run_self_check(posterior_like_checks(fn, "posterior(...)"))
