"""em_lib.feedback.likelihood: every classic mistake of notebook 01 is named in words.

Each wrong learner function below is written independently of the Mistake
catalogue (with scipy.stats, loops, or plain NumPy), the way a learner would
write it, so these tests check that the feedback recognises real wrong code,
not just its own wrong answers.
"""

import numpy as np
import pytest
from scipy import stats
from scipy.special import logsumexp

import em_lib
from em_lib.feedback import likelihood as fb
from self_checks import SelfCheck, self_check_tests, stub

HEIGHTS = fb.heights_model()


# --------------------------------------------------------------------------
# log_joint: wrong learner functions
# --------------------------------------------------------------------------

def lj_conditional(x, weights, means, variances):
    return stats.norm.logpdf(x[:, None], means, np.sqrt(variances))


def lj_weight_not_logged(x, weights, means, variances):
    return weights + stats.norm.logpdf(x[:, None], means, np.sqrt(variances))


def lj_weight_times_log(x, weights, means, variances):
    return weights * stats.norm.logpdf(x[:, None], means, np.sqrt(variances))


def lj_std_for_variance(x, weights, means, variances):
    sd = np.sqrt(variances)
    return np.log(weights) - 0.5 * np.log(2 * np.pi * sd) - (x[:, None] - means) ** 2 / (2 * sd)


def lj_scale_is_variance(x, weights, means, variances):
    return np.log(weights) + stats.norm.logpdf(x[:, None], means, variances)


def lj_no_normaliser(x, weights, means, variances):
    return np.log(weights) - (x[:, None] - means) ** 2 / (2 * variances)


def lj_no_half(x, weights, means, variances):
    return np.log(weights) - 0.5 * np.log(2 * np.pi * variances) - (x[:, None] - means) ** 2 / variances


def lj_density(x, weights, means, variances):
    return weights * stats.norm.pdf(x[:, None], means, np.sqrt(variances))


def lj_log_of_density(x, weights, means, variances):
    with np.errstate(divide="ignore"):
        return np.log(weights * stats.norm.pdf(x[:, None], means, np.sqrt(variances)))


def lj_transposed(x, weights, means, variances):
    out = np.empty((len(weights), len(x)))
    for k in range(len(weights)):
        out[k] = np.log(weights[k]) + stats.norm.logpdf(x, means[k], np.sqrt(variances[k]))
    return out


LOG_JOINT_WRONG = [
    (lj_conditional, "CONDITIONAL"),
    (lj_weight_not_logged, "added as pi_k instead of log pi_k"),
    (lj_weight_times_log, "multiply the log density"),
    (lj_std_for_variance, "standard deviation is used where the variance belongs"),
    (lj_scale_is_variance, "as if they were standard deviations"),
    (lj_no_normaliser, "normalising constant"),
    (lj_no_half, "lost its 1/2"),
    (lj_density, "density pi_k N(x_i; mu_k, sigma_k^2) itself, not its log"),
    (lj_log_of_density, "takes the log afterwards"),
    (lj_transposed, "transposed"),
]


def test_log_joint_each_mistake_named_by_a_graded_check():
    """The graded check on the visible K = 3 inputs names every mistake except log-after-density,
    which only shows in the far tail (and is caught there)."""
    for wrong, phrase in LOG_JOINT_WRONG:
        inputs = (fb.TYPO_X, *HEIGHTS) if wrong is lj_log_of_density else (fb.EXAMPLE_X, *fb.THREE_COMPONENTS)
        with pytest.raises(AssertionError) as info:
            fb.check_log_joint(wrong, *inputs)
        assert phrase in str(info.value), wrong.__name__


def test_log_joint_graded_checks_print_confirmation(capsys):
    fb.check_log_joint(em_lib.log_joint, fb.EXAMPLE_X, *HEIGHTS)
    fb.check_log_joint_shape(em_lib.log_joint, fb.EXAMPLE_X, *HEIGHTS)
    out = capsys.readouterr().out
    assert out.count("✓") == 2 and "shape (n, K) = (5, 2)" in out


def test_log_joint_shape_check_accepts_wrong_values():
    """The shape cell gives partial credit: right shape, wrong values passes it."""
    fb.check_log_joint_shape(lj_conditional, fb.EXAMPLE_X, *HEIGHTS)
    with pytest.raises(AssertionError, match="transposed"):
        fb.check_log_joint_shape(lj_transposed, fb.EXAMPLE_X, *HEIGHTS)
    with pytest.raises(AssertionError, match=r"shape \(5, 2\)"):
        fb.check_log_joint_shape(lambda x, weights, means, variances: np.zeros(5), fb.EXAMPLE_X, *HEIGHTS)


def test_log_joint_graded_check_says_not_written_yet():
    with pytest.raises(AssertionError, match="not written yet"):
        fb.check_log_joint(stub, fb.EXAMPLE_X, *HEIGHTS)


def test_log_joint_crash_is_reported_in_words():
    def log_joint(x, weights, means, variances):
        return x + means  # shapes (5,) and (2,) do not broadcast

    with pytest.raises(AssertionError, match="raised ValueError"):
        fb.check_log_joint(log_joint, fb.EXAMPLE_X, *HEIGHTS)


def test_log_joint_learner_cannot_corrupt_the_inputs():
    x = fb.EXAMPLE_X.copy()

    def log_joint(x, weights, means, variances):
        out = em_lib.log_joint(x, weights, means, variances)
        x[:] = 0.0
        weights[:] = 0.0
        return out

    fb.check_log_joint(log_joint, x, *HEIGHTS)
    np.testing.assert_array_equal(x, fb.EXAMPLE_X)
    np.testing.assert_array_equal(fb.heights_model()[0], [0.5, 0.5])


# --------------------------------------------------------------------------
# log_likelihood: wrong learner functions
# --------------------------------------------------------------------------

def _lj(x, weights, means, variances):
    return np.log(weights) + stats.norm.logpdf(x[:, None], means, np.sqrt(variances))


def ll_sum_of_logs(x, weights, means, variances):
    return float(np.sum(_lj(x, weights, means, variances)))


def ll_naive(x, weights, means, variances):
    total = 0.0
    for xi in x:
        p = sum(w * stats.norm.pdf(xi, m, np.sqrt(v)) for w, m, v in zip(weights, means, variances))
        with np.errstate(divide="ignore"):
            total += np.log(p)
    return float(total)


def ll_no_weights(x, weights, means, variances):
    return float(logsumexp(stats.norm.logpdf(x[:, None], means, np.sqrt(variances)), axis=1).sum())


def ll_weights_twice(x, weights, means, variances):
    return float(logsumexp(_lj(x, weights, means, variances), axis=1, b=weights).sum())


def ll_shift_forgotten(x, weights, means, variances):
    a = _lj(x, weights, means, variances)
    m = a.max(axis=1, keepdims=True)
    return float(np.log(np.exp(a - m).sum(axis=1)).sum())


def ll_hard_max(x, weights, means, variances):
    return float(_lj(x, weights, means, variances).max(axis=1).sum())


def ll_mean(x, weights, means, variances):
    return float(np.mean(logsumexp(_lj(x, weights, means, variances), axis=1)))


def ll_per_sample(x, weights, means, variances):
    return logsumexp(_lj(x, weights, means, variances), axis=1)


LOG_LIKELIHOOD_WRONG = [
    (ll_sum_of_logs, "sum of the logs"),
    (ll_naive, "underflows"),
    (ll_no_weights, "mixing weights are forgotten"),
    (ll_weights_twice, "counted twice"),
    (ll_shift_forgotten, "shift is not added back"),
    (ll_hard_max, "only the largest term"),
    (ll_mean, "MEAN over samples"),
    (ll_per_sample, "one number per sample"),
]


def test_naive_sum_passes_on_ordinary_heights_and_fails_in_the_far_tail(capsys):
    """The naive sum is right where nothing underflows, so only the far-tail check catches it."""
    fb.check_log_likelihood(ll_naive, fb.EXAMPLE_X, *HEIGHTS)
    with pytest.raises(AssertionError, match="log-sum-exp"):
        fb.check_log_likelihood(ll_naive, fb.TYPO_X, *HEIGHTS)
    capsys.readouterr()


def test_log_likelihood_reference_agrees_with_scipy():
    """The reference itself, against scipy's logsumexp, on the far-tail data the checks use."""
    expected = logsumexp(_lj(fb.TYPO_X, *HEIGHTS), axis=1).sum()
    assert np.isfinite(expected)
    assert em_lib.log_likelihood(fb.TYPO_X, *HEIGHTS) == pytest.approx(expected, rel=1e-12)


def test_log_likelihood_is_number_check():
    fb.check_log_likelihood_is_number(ll_mean, fb.EXAMPLE_X, *HEIGHTS)  # a number, though wrong
    with pytest.raises(AssertionError, match="one number"):
        fb.check_log_likelihood_is_number(ll_per_sample, fb.EXAMPLE_X, *HEIGHTS)
    with pytest.raises(AssertionError, match="inf"):
        fb.check_log_likelihood_is_number(lambda x, weights, means, variances: -np.inf, fb.EXAMPLE_X, *HEIGHTS)


def test_unknown_wrong_answer_still_explained():
    """A wrong answer that matches no catalogued mistake still gets the difference in words."""
    def log_likelihood(x, weights, means, variances):
        return em_lib.log_likelihood(x, weights, means, variances) + 1.0

    with pytest.raises(AssertionError, match="differs from the reference"):
        fb.check_log_likelihood(log_likelihood, fb.EXAMPLE_X, *HEIGHTS)


# --------------------------------------------------------------------------
# The self-checks: each mistake named, correct code passed, the stub not written yet
# --------------------------------------------------------------------------

SELF_CHECKS = {
    "log_joint": SelfCheck(fb.self_check_log_joint, LOG_JOINT_WRONG, (em_lib.log_joint,), 4),
    "log_likelihood": SelfCheck(fb.self_check_log_likelihood, LOG_LIKELIHOOD_WRONG, (em_lib.log_likelihood,), 4),
}

test_self_check_names_each_mistake, test_self_check_passes_correct_code, test_stub_is_not_written_yet = (
    self_check_tests(SELF_CHECKS))


# --------------------------------------------------------------------------
# Properties: right answers written differently pass on any valid inputs.
# --------------------------------------------------------------------------

from hypothesis import given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@st.composite
def mixtures(draw):
    K = draw(st.integers(1, 4))
    raw = np.array(draw(st.lists(st.floats(0.05, 1.0), min_size=K, max_size=K)))
    means = np.array(draw(st.lists(st.floats(100.0, 220.0), min_size=K, max_size=K)))
    variances = np.array(draw(st.lists(st.floats(0.01, 400.0), min_size=K, max_size=K)))
    x = np.array(draw(st.lists(st.floats(-2000.0, 5000.0), min_size=1, max_size=30)))
    return x, raw / raw.sum(), means, variances


def scipy_log_joint(x, weights, means, variances):
    return np.log(weights) + stats.norm.logpdf(x[:, None], means, np.sqrt(variances))


def scipy_log_likelihood(x, weights, means, variances):
    return float(logsumexp(scipy_log_joint(x, weights, means, variances), axis=1).sum())


@given(mixtures())
def test_independent_right_answers_pass_on_any_inputs(inputs):
    """scipy-based implementations pass the graded checks, far tails and tiny variances included."""
    fb.check_log_joint(scipy_log_joint, *inputs)
    fb.check_log_joint_shape(scipy_log_joint, *inputs)
    fb.check_log_likelihood(scipy_log_likelihood, *inputs)
    fb.check_log_likelihood_is_number(scipy_log_likelihood, *inputs)


# --------------------------------------------------------------------------
# Each function graded on its own: em_lib's log_joint in place of the learner's
# --------------------------------------------------------------------------

def _notebook_with(log_joint):
    """A notebook's globals: the learner's log_joint, and a right log_likelihood that calls it."""
    namespace = {"np": np, "log_joint": log_joint}
    exec(
        "def log_likelihood(x, weights, means, variances):\n"
        "    a = log_joint(x, weights, means, variances)\n"
        "    m = a.max(axis=1, keepdims=True)\n"
        "    return float(np.sum(m[:, 0] + np.log(np.exp(a - m).sum(axis=1))))\n",
        namespace,
    )
    return namespace


def test_using_reference_swaps_and_restores_even_on_failure():
    namespace = _notebook_with(lj_conditional)
    with pytest.raises(RuntimeError):
        with fb.using_reference(namespace, log_joint=em_lib.log_joint):
            assert namespace["log_joint"] is em_lib.log_joint
            raise RuntimeError
    assert namespace["log_joint"] is lj_conditional
    empty = {}
    with fb.using_reference(empty, log_joint=em_lib.log_joint):
        assert empty == {"log_joint": em_lib.log_joint}
    assert empty == {}
    with pytest.raises(ValueError, match="at least one"):
        with fb.using_reference(empty):
            pass
    with pytest.raises(TypeError, match="log_joint must be a function"):
        with fb.using_reference(empty, log_joint=3):
            pass
    assert empty == {}


def test_a_right_log_likelihood_on_a_wrong_log_joint_passes_the_graded_checks_with_the_reference():
    namespace = _notebook_with(lj_conditional)
    with pytest.raises(AssertionError):
        fb.check_log_likelihood(namespace["log_likelihood"], fb.EXAMPLE_X, *HEIGHTS)
    with fb.using_reference(namespace, log_joint=em_lib.log_joint):
        fb.check_log_likelihood(namespace["log_likelihood"], fb.EXAMPLE_X, *HEIGHTS)
        fb.check_log_likelihood(namespace["log_likelihood"], fb.TYPO_X, *HEIGHTS)
    assert namespace["log_joint"] is lj_conditional


def test_self_check_says_log_joint_is_at_fault(capsys):
    namespace = _notebook_with(lj_std_for_variance)
    with pytest.raises(AssertionError):
        fb.self_check_log_likelihood(namespace["log_likelihood"], namespace)
    out = capsys.readouterr().out
    assert "right answer when em_lib's log_joint is put in place of yours, but not with yours" in out
    assert "the mistake is in your log_joint, so fix it first" in out
    assert "When graded, log_likelihood is checked with em_lib's log_joint" in out
    assert namespace["log_joint"] is lj_std_for_variance          # put back


def test_self_check_names_a_log_likelihood_mistake_even_with_a_wrong_log_joint(capsys):
    """Wrong with em_lib's log_joint too: the log_likelihood's own mistake is named, not log_joint."""
    namespace = _notebook_with(lj_conditional)

    def log_likelihood(x, weights, means, variances):
        return float(np.sum(namespace["log_joint"](x, weights, means, variances)))   # sum of logs

    with pytest.raises(AssertionError):
        fb.self_check_log_likelihood(log_likelihood, namespace)
    out = capsys.readouterr().out
    assert "not the log of the sum" in out
    assert "the mistake is in your log_joint" not in out


def test_self_check_with_a_right_log_joint_passes(capsys):
    namespace = _notebook_with(em_lib.log_joint)
    fb.self_check_log_likelihood(namespace["log_likelihood"], namespace)
    assert "All 4 checks passed." in capsys.readouterr().out
