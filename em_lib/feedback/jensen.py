r"""Feedback for notebook 02: ``jensen_gap`` and ``elbo``.

As in :mod:`em_lib.feedback.likelihood`: a tuple of classic mistakes per
exercise, ``self_check_<fn>(fn)`` for the visible self-check cell and
``check_<fn>(fn, **inputs)`` for the graded cells. References:
:func:`em_lib.bound.jensen_gap` and :func:`em_lib.bound.elbo`.

A wrong answer can be NaN (``0 * log 0`` evaluates to NaN in floating point), and
NaN equals nothing, not even itself; so before the usual comparison, a NaN
answer is matched against the mistakes that produce NaN in the same places.
"""

import numpy as np

from ..bound import elbo, jensen_gap
from ..mixture1d import log_joint
from .core import Mistake, as_real_array, call_learner, check, close, kind_of, run_self_check, shape_of
from .likelihood import EXAMPLE_X, heights_model  # notebook 01's, read by notebook 02 as feedback.EXAMPLE_X

# --------------------------------------------------------------------------
# Inputs of the visible checks (the notebook uses the same ones).
# --------------------------------------------------------------------------

#: The lecture's two "stars" for the 1.55 m person, rounded: v_male, v_female.
STARS = np.array([0.0034, 0.0238])
#: The lecture's Q for that person: 0.2 male, 0.8 female.
LECTURE_Q = np.array([0.2, 0.8])


def example_q():
    """(5, 2) Q for EXAMPLE_X: the lecture's 0.9/0.1 and 0.2/0.8 rows, a uniform row, two guesses."""
    return np.array([[0.9, 0.1], [0.2, 0.8], [0.5, 0.5], [0.3, 0.7], [0.75, 0.25]])


def one_hot_q():
    """(5, 2) one-hot Q for EXAMPLE_X: each person assigned to one group for sure (zeros in q)."""
    return np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0], [0.0, 1.0], [1.0, 0.0]])


# --------------------------------------------------------------------------
# A check that also recognises mistakes whose answer is NaN.
# --------------------------------------------------------------------------

def _nan_pattern_matches(got, wrong):
    """True when both hold NaN in the same places and agree (``close``) elsewhere."""
    g = np.asarray(got, dtype=float)
    w = np.asarray(wrong, dtype=float)
    if g.shape != w.shape or not np.isnan(w).any():
        return False
    same_nan = np.array_equal(np.isnan(g), np.isnan(w))
    return same_nan and close(np.where(np.isnan(g), 0.0, g), np.where(np.isnan(w), 0.0, w))


def _check(fn, kwargs, reference, mistakes, what):
    """``core.check``, calling the learner once, with NaN answers matched to their mistake."""
    got = call_learner(fn, kwargs, what)
    as_float = as_real_array(got)
    if as_float is not None and np.isnan(as_float).any():
        for mistake in mistakes:
            try:
                wrong = mistake.answer(**kwargs)
            except Exception:
                continue
            if _nan_pattern_matches(as_float, wrong):
                raise mistake.found(what)
    with np.errstate(invalid="ignore"):
        return check(lambda **_: got, kwargs, reference, mistakes, what)


# --------------------------------------------------------------------------
# jensen_gap
# --------------------------------------------------------------------------

def _jensen_inputs(values, q):
    return {"values": np.array(values, dtype=float), "q": np.array(q, dtype=float)}


def _log_of_average(values, q):
    return np.log(np.dot(q, values))


def _average_of_log(values, q):
    return np.dot(q, np.log(values))


JENSEN_GAP_MISTAKES = (
    Mistake(
        "gap_sign_flipped",
        "The sign is flipped: this is the average of the logs minus the log of the average, which "
        "is never positive. Because log is concave, log(sum_k q_k v_k) >= sum_k q_k log v_k: the gap "
        "is the log of the average MINUS the average of the logs (the curve minus the chord).",
        lambda values, q: float(_average_of_log(values, q) - _log_of_average(values, q)),
    ),
    Mistake(
        "q_ignored",
        "The weights q are ignored: both averages are plain means over k. Jensen's inequality "
        "averages with the weights q_k (the lecture's 0.2 and 0.8): log(sum_k q_k v_k) - "
        "sum_k q_k log v_k.",
        lambda values, q: float(np.log(np.mean(values)) - np.mean(np.log(values))),
    ),
    Mistake(
        "chord_not_weighted",
        "The chord point is not weighted: the second term is the plain mean of the log v_k, not "
        "sum_k q_k log v_k. The chord point and the curve point sit at the same place along the "
        "axis (the lecture's 0.2/0.8 of the way), so both terms use the weights q_k.",
        lambda values, q: float(_log_of_average(values, q) - np.mean(np.log(values))),
    ),
    Mistake(
        "curve_not_weighted",
        "The curve point is not weighted: the first term is the log of the plain mean of the v_k, "
        "not log(sum_k q_k v_k). The curve point and the chord point sit at the same place along "
        "the axis (the lecture's 0.2/0.8 of the way), so both terms use the weights q_k.",
        lambda values, q: float(np.log(np.mean(values)) - _average_of_log(values, q)),
    ),
    Mistake(
        "log_missing_in_chord",
        "The log of the values is missing in the second term: it subtracts sum_k q_k v_k, not "
        "sum_k q_k log v_k. The chord joins the points (v_k, log v_k), so it averages the LOGS.",
        lambda values, q: float(_log_of_average(values, q) - np.dot(q, values)),
    ),
    Mistake(
        "log_missing_on_curve",
        "The log is missing in the first term: it uses sum_k q_k v_k, not log(sum_k q_k v_k). "
        "The curve point is the log OF the average of the values.",
        lambda values, q: float(np.dot(q, values) - _average_of_log(values, q)),
    ),
    Mistake(
        "weights_and_values_swapped",
        "The weights and the values are swapped: it averages the q_k with weights v_k. The v_k are "
        "the points on the horizontal axis, the q_k how much each counts.",
        lambda values, q: float(np.log(np.dot(values, q)) - np.dot(values, np.log(q))),
    ),
)


def _jensen_gap_value(fn, values, q, what=None):
    kwargs = _jensen_inputs(values, q)
    what = what or f"jensen_gap(values, q) with K = {kwargs['values'].size}"
    return _check(fn, kwargs, jensen_gap, JENSEN_GAP_MISTAKES, what)


def check_jensen_gap(fn, values, q, what=None):
    """Graded check: ``fn(values, q)`` equals em_lib's Jensen gap; explain the mistake if not."""
    print("✓ " + _jensen_gap_value(fn, values, q, what))


def check_jensen_gap_nonnegative(fn, values, q, what=None):
    """Graded check of the sign only: the gap is a finite number >= 0 (up to rounding)."""
    print("✓ " + _jensen_gap_sign(fn, values, q, what))


def _jensen_gap_sign(fn, values, q, what=None):
    kwargs = _jensen_inputs(values, q)
    what = what or f"jensen_gap(values, q) with K = {kwargs['values'].size}"
    got = call_learner(fn, kwargs, what)
    number = as_real_array(got)
    if number is None or number.ndim != 0:
        shape = shape_of(got)
        raise AssertionError(
            f"{what} should return one number, got {kind_of(got)}" + (f" of shape {shape}" if shape is not None else "")
        )
    value = float(number)
    if not np.isfinite(value):
        raise AssertionError(f"{what} should be finite for positive values, got {value}")
    if value < -1e-12:
        raise AssertionError(
            f"{what} is not right: it returned {value:.6g} < 0. For a concave function such as log the "
            "curve lies above the chord, so log(sum_k q_k v_k) - sum_k q_k log v_k is never negative: "
            "check the order of the two terms."
        )
    return f"{what}: a number >= 0"


def self_check_jensen_gap(fn):
    """The visible self-check of exercise 2.1: prints one line per check."""
    run_self_check([
        (
            "never negative: the lecture's two stars with q = (0.2, 0.8)",
            lambda: _jensen_gap_sign(fn, STARS, LECTURE_Q),
        ),
        (
            "value: the lecture's two stars with q = (0.2, 0.8)",
            lambda: _jensen_gap_value(fn, STARS, LECTURE_Q),
        ),
        (
            "value: K = 3 values with unequal weights",
            lambda: _jensen_gap_value(fn, [0.5, 2.0, 8.0], [0.5, 0.3, 0.2]),
        ),
        (
            "zero gap: equal values (the two stars coincide)",
            lambda: _jensen_gap_value(fn, [3.0, 3.0], [0.4, 0.6]),
        ),
    ])


# --------------------------------------------------------------------------
# elbo
# --------------------------------------------------------------------------

def _elbo_inputs(x, q, weights, means, variances):
    return {
        "x": np.array(x, dtype=float),
        "q": np.array(q, dtype=float),
        "weights": np.array(weights, dtype=float),
        "means": np.array(means, dtype=float),
        "variances": np.array(variances, dtype=float),
    }


def _expected_log_joint(x, q, weights, means, variances):
    """sum_ik q_ik log p(x_i, k), with 0 * (-inf) taken as 0."""
    lj = log_joint(x, weights, means, variances)
    return float(np.sum(q * np.where(q > 0, lj, 0.0)))


def _entropies(q):
    """(n,) entropies, 0 log 0 = 0."""
    return -np.where(q > 0, q * np.log(np.where(q > 0, q, 1.0)), 0.0).sum(axis=1)


def _naive_elbo(x, q, weights, means, variances):
    lj = log_joint(x, weights, means, variances)
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(np.sum(q * (lj - np.log(q))))


ELBO_MISTAKES = (
    Mistake(
        "entropy_missing",
        "The entropy term is missing: it returns only sum_i sum_k q_ik log p(x_i, z_i = k). The bound "
        "has log(p(x_i, z_i = k) / Q_i(k)) inside, so subtract q_ik log q_ik as well "
        "(the '/ Q_i' that was multiplied in does not go away).",
        _expected_log_joint,
    ),
    Mistake(
        "zero_log_zero_not_handled",
        "0 log 0 is not handled: where q_ik = 0, q_ik * log q_ik evaluates to 0 * (-inf) = NaN in "
        "floating point. Its limit is 0 (q log q -> 0 as q -> 0), and a component that Q gives no "
        "weight contributes nothing to the expectation: compute q log q only where q > 0, e.g. "
        "np.where(q > 0, q * np.log(np.where(q > 0, q, 1.0)), 0.0).",
        _naive_elbo,
    ),
    Mistake(
        "entropy_sign_flipped",
        "The sign of the entropy is flipped: it adds q_ik log q_ik instead of subtracting it. "
        "log(p / Q) = log p - log Q, so the bound is sum q (log p - log q): the entropy "
        "-sum q log q >= 0 is ADDED.",
        lambda x, q, weights, means, variances: _expected_log_joint(x, q, weights, means, variances)
        - float(_entropies(q).sum()),
    ),
    Mistake(
        "log_q_not_weighted_by_q",
        "log q_ik is not weighted by q_ik: it subtracts sum_i sum_k log q_ik. Both terms are an "
        "expectation under Q_i: sum_k Q_i(k) (log p(x_i, k) - log Q_i(k)).",
        lambda x, q, weights, means, variances: _expected_log_joint(x, q, weights, means, variances)
        - float(np.sum(np.where(q > 0, np.log(np.where(q > 0, q, 1.0)), 0.0))),
    ),
    Mistake(
        "entropy_averaged_not_summed",
        "The entropy is averaged over the samples instead of summed: the bound has one term per "
        "sample i, sum_i sum_k q_ik (log p(x_i, k) - log q_ik), so sum the entropies of all the Q_i.",
        lambda x, q, weights, means, variances: _expected_log_joint(x, q, weights, means, variances)
        + float(_entropies(q).mean()),
    ),
    Mistake(
        "log_joint_weighted_uniformly",
        "The log p(x_i, z_i = k) terms are weighted uniformly, not by q_ik: it uses "
        "(1/K) sum_k log p(x_i, k). The expectation is under Q_i, whatever the Q_i is.",
        lambda x, q, weights, means, variances: float(log_joint(x, weights, means, variances).mean(axis=1).sum())
        + float(_entropies(q).sum()),
    ),
    Mistake(
        "bound_averaged_over_samples",
        "It is the mean over samples. The bound, like the log-likelihood it bounds, is a SUM over "
        "the samples i.",
        lambda x, q, weights, means, variances: elbo(x, q, weights, means, variances) / np.size(x),
    ),
    Mistake(
        "log_likelihood_not_bound",
        "It returns the log-likelihood l(theta) itself (the log outside the sum over k), which does "
        "not depend on q. The bound has the log INSIDE: sum_k q_ik log(p(x_i, k) / q_ik).",
        lambda x, q, weights, means, variances: float(
            np.log(np.exp(log_joint(x, weights, means, variances)).sum(axis=1)).sum()
        ),
    ),
)


def _elbo_value(fn, x, q, weights, means, variances, what=None):
    kwargs = _elbo_inputs(x, q, weights, means, variances)
    n, K = kwargs["q"].shape
    what = what or f"elbo(x, q, weights, means, variances) with n = {n}, K = {K}"
    return _check(fn, kwargs, elbo, ELBO_MISTAKES, what)


def check_elbo(fn, x, q, weights, means, variances, what=None):
    """Graded check: ``fn`` gives em_lib's lower bound on these inputs; explain the mistake if not."""
    print("✓ " + _elbo_value(fn, x, q, weights, means, variances, what))


def self_check_elbo(fn):
    """The visible self-check of exercise 2.2: prints one line per check."""
    heights = heights_model()
    uniform = np.full((EXAMPLE_X.size, 2), 0.5)
    run_self_check([
        (
            "value: 5 heights, the lecture-style Q",
            lambda: _elbo_value(fn, EXAMPLE_X, example_q(), *heights),
        ),
        (
            "value: 5 heights, uniform Q (0.5 / 0.5 for everyone)",
            lambda: _elbo_value(fn, EXAMPLE_X, uniform, *heights),
        ),
        (
            "zeros in q: one-hot Q (0 log 0 = 0)",
            lambda: _elbo_value(fn, EXAMPLE_X, one_hot_q(), *heights),
        ),
    ])
