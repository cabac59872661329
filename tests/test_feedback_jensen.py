"""em_lib.feedback.jensen: every classic mistake of notebook 02 is named in words.

The wrong learner functions are written the way a learner would write them,
independently of the Mistake catalogue (loops, scipy, plain NumPy).
"""

import numpy as np
import pytest
from scipy.special import logsumexp, xlogy

import em_lib
from em_lib.feedback import jensen as fb
from self_checks import SelfCheck, self_check_output, self_check_tests

HEIGHTS = fb.heights_model()


# --------------------------------------------------------------------------
# jensen_gap
# --------------------------------------------------------------------------

def gap_sign_flipped(values, q):
    return float(np.sum(q * np.log(values)) - np.log(np.sum(q * values)))


def gap_q_ignored(values, q):
    return float(np.log(values.mean()) - np.log(values).mean())


def gap_second_log_forgotten(values, q):
    return float(np.log(q @ values) - q @ values)


def gap_first_log_forgotten(values, q):
    return float(q @ values - q @ np.log(values))


def gap_swapped(values, q):
    return float(np.log(np.sum(values * q)) - np.sum(values * np.log(q)))


JENSEN_WRONG = [
    (gap_sign_flipped, "sign is flipped"),
    (gap_q_ignored, "weights q are ignored"),
    (gap_second_log_forgotten, "missing in the second term"),
    (gap_first_log_forgotten, "missing in the first term"),
    (gap_swapped, "swapped"),
]


def test_sign_check_catches_the_flipped_sign_and_passes_the_others(capsys):
    with pytest.raises(AssertionError, match="never negative"):
        fb.check_jensen_gap_nonnegative(gap_sign_flipped, fb.STARS, fb.LECTURE_Q)
    fb.check_jensen_gap_nonnegative(gap_q_ignored, fb.STARS, fb.LECTURE_Q)  # wrong, but not negative
    assert "a number >= 0" in capsys.readouterr().out


def test_jensen_gap_graded_check_on_one_hot_q(capsys):
    """One-hot q: the average is a single value, the gap 0; a learner's plain formula gets it right."""
    def jensen_gap(values, q):
        return float(np.log(np.dot(q, values)) - np.dot(q, np.log(values)))

    fb.check_jensen_gap(jensen_gap, [0.3, 5.0, 2.0], [0.0, 1.0, 0.0])
    assert "correct" in capsys.readouterr().out


def test_stars_are_the_lecture_picture_numbers():
    """STARS are the 1.55 m person's p(x, z = k) / Q(k) under the heights model, rounded to 4 places."""
    joint = np.exp(em_lib.log_joint(np.array([155.0]), *HEIGHTS))[0]
    np.testing.assert_allclose(joint / fb.LECTURE_Q, fb.STARS, atol=5e-5)


# --------------------------------------------------------------------------
# elbo
# --------------------------------------------------------------------------

def _lj(x, weights, means, variances):
    return em_lib.log_joint(x, weights, means, variances)


def elbo_no_entropy(x, q, weights, means, variances):
    return float(np.sum(q * _lj(x, weights, means, variances)))


def elbo_naive_zero_log_zero(x, q, weights, means, variances):
    total = 0.0
    lj = _lj(x, weights, means, variances)
    with np.errstate(divide="ignore", invalid="ignore"):
        for i in range(len(x)):
            for k in range(len(weights)):
                total += q[i, k] * (lj[i, k] - np.log(q[i, k]))
    return float(total)


def elbo_entropy_sign(x, q, weights, means, variances):
    return float(np.sum(q * _lj(x, weights, means, variances)) + np.sum(xlogy(q, q)))


def elbo_unweighted_log_q(x, q, weights, means, variances):
    log_q = np.log(q, where=q > 0, out=np.zeros_like(q))
    return float(np.sum(q * _lj(x, weights, means, variances)) - np.sum(log_q))


def elbo_entropy_averaged(x, q, weights, means, variances):
    return float(np.sum(q * _lj(x, weights, means, variances)) - np.mean(np.sum(xlogy(q, q), axis=1)))


def elbo_uniform_expectation(x, q, weights, means, variances):
    return float(np.mean(_lj(x, weights, means, variances), axis=1).sum() - np.sum(xlogy(q, q)))


def elbo_mean(x, q, weights, means, variances):
    return float(np.mean(np.sum(q * _lj(x, weights, means, variances) - xlogy(q, q), axis=1)))


def elbo_is_log_likelihood(x, q, weights, means, variances):
    return float(logsumexp(_lj(x, weights, means, variances), axis=1).sum())


ELBO_WRONG = [
    (elbo_no_entropy, "entropy term is missing"),
    (elbo_naive_zero_log_zero, "0 log 0 is not handled"),
    (elbo_entropy_sign, "sign of the entropy is flipped"),
    (elbo_unweighted_log_q, "not weighted by q_ik"),
    (elbo_entropy_averaged, "averaged over the samples"),
    (elbo_uniform_expectation, "weighted uniformly"),
    (elbo_mean, "mean over samples"),
    (elbo_is_log_likelihood, "log-likelihood l(theta) itself"),
]


def elbo_scipy(x, q, weights, means, variances):
    """A right answer written differently: scipy's xlogy handles 0 log 0."""
    return float(np.sum(q * np.where(q > 0, _lj(x, weights, means, variances), 0.0)) - np.sum(xlogy(q, q)))


def test_zero_log_zero_only_shows_with_zeros_in_q(capsys):
    fb.check_elbo(elbo_naive_zero_log_zero, fb.EXAMPLE_X, fb.example_q(), *HEIGHTS)
    with pytest.raises(AssertionError, match="0 log 0"):
        fb.check_elbo(elbo_naive_zero_log_zero, fb.EXAMPLE_X, fb.one_hot_q(), *HEIGHTS)
    capsys.readouterr()


def test_nan_answer_matching_no_mistake_is_still_explained():
    def elbo(x, q, weights, means, variances):
        return float("nan")

    with pytest.raises(AssertionError, match="NaN"):
        fb.check_elbo(elbo, fb.EXAMPLE_X, fb.example_q(), *HEIGHTS)


def test_example_q_rows_are_distributions():
    for q in (fb.example_q(), fb.one_hot_q()):
        assert q.shape == (fb.EXAMPLE_X.size, 2)
        np.testing.assert_allclose(q.sum(axis=1), 1.0)
        assert (q >= 0).all()


# --------------------------------------------------------------------------
# The self-checks: each mistake named, correct code passed, the stub not written yet
# --------------------------------------------------------------------------

SELF_CHECKS = {
    "jensen_gap": SelfCheck(fb.self_check_jensen_gap, JENSEN_WRONG, (em_lib.jensen_gap,), 4),
    "elbo": SelfCheck(fb.self_check_elbo, ELBO_WRONG, (em_lib.elbo, elbo_scipy), 3),
}

test_self_check_names_each_mistake, test_self_check_passes_correct_code, test_stub_is_not_written_yet = (
    self_check_tests(SELF_CHECKS))


# --------------------------------------------------------------------------
# Properties: right answers written differently pass on any valid inputs.
# --------------------------------------------------------------------------

from hypothesis import given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@st.composite
def values_and_weights(draw):
    K = draw(st.integers(1, 5))
    log_values = np.array(draw(st.lists(st.floats(-300.0, 300.0), min_size=K, max_size=K)))
    raw = np.array(draw(st.lists(st.floats(0.0, 1.0), min_size=K, max_size=K)))
    if raw.sum() == 0:
        raw[0] = 1.0
    return np.exp(log_values), raw / raw.sum()


@given(values_and_weights())
def test_right_jensen_gap_passes_on_any_inputs(inputs):
    def jensen_gap(values, q):
        return float(logsumexp(np.log(values), b=q) - np.dot(q, np.log(values)))  # log of the average, stably

    fb.check_jensen_gap(jensen_gap, *inputs)
    fb.check_jensen_gap_nonnegative(em_lib.jensen_gap, *inputs)


@st.composite
def bound_inputs(draw):
    n, K = draw(st.integers(1, 20)), draw(st.integers(1, 3))
    x = np.array(draw(st.lists(st.floats(0.0, 2000.0), min_size=n, max_size=n)))
    means = np.array(draw(st.lists(st.floats(140.0, 200.0), min_size=K, max_size=K)))
    variances = np.array(draw(st.lists(st.floats(1.0, 200.0), min_size=K, max_size=K)))
    raw = np.array(draw(st.lists(st.floats(0.0, 1.0), min_size=n * K, max_size=n * K))).reshape(n, K)
    raw[raw.sum(axis=1) == 0, 0] = 1.0
    return x, raw / raw.sum(axis=1, keepdims=True), np.full(K, 1.0 / K), means, variances


@given(bound_inputs())
def test_right_elbo_passes_and_stays_below_the_log_likelihood(inputs):
    x, q, weights, means, variances = inputs

    def elbo(x, q, weights, means, variances):
        lj = em_lib.log_joint(x, weights, means, variances)
        return float(np.sum(np.where(q > 0, q * lj, 0.0)) - np.sum(xlogy(q, q)))

    fb.check_elbo(elbo, *inputs)
    assert em_lib.elbo(*inputs) <= em_lib.log_likelihood(x, weights, means, variances) + 1e-9 * (1 + abs(em_lib.elbo(*inputs)))


def gap_chord_unweighted(values, q):
    return float(np.log(q @ values) - np.mean(np.log(values)))


def gap_curve_unweighted(values, q):
    return float(np.log(np.mean(values)) - q @ np.log(values))


@pytest.mark.parametrize(
    "wrong, phrase",
    [(gap_chord_unweighted, "The chord point is not weighted"), (gap_curve_unweighted, "The curve point is not weighted")],
    ids=["chord", "curve"],
)
def test_one_unweighted_term_is_named(wrong, phrase, capsys):
    out = self_check_output(fb.self_check_jensen_gap, wrong, capsys)
    assert phrase in out
    assert "weights q are ignored" not in out
    with pytest.raises(AssertionError, match=phrase):
        fb.check_jensen_gap(wrong, [1e-3, 10.0, 0.5, 200.0], [0.1, 0.2, 0.3, 0.4])
