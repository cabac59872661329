"""em_lib.feedback.posterior: every classic mistake of notebook 03 is named in words.

The wrong learner functions below are written independently of the Mistake
catalogue (with scipy.stats or plain NumPy), the way a learner would write them,
so these tests check that the feedback recognises real wrong code.
"""

import numpy as np
import pytest
from hypothesis import given
from scipy import stats
from scipy.special import logsumexp

import em_lib
from em_lib.feedback import posterior as fb

from strategies import problems


def joint_density(x, weights, means, variances):
    return weights * stats.norm.pdf(x[:, None], means, np.sqrt(variances))


def p_unnormalised(x, weights, means, variances):
    return joint_density(x, weights, means, variances)


def p_log_space_forgot_exp(x, weights, means, variances):
    lj = np.log(weights) + stats.norm.logpdf(x[:, None], means, np.sqrt(variances))
    return lj - logsumexp(lj, axis=1, keepdims=True)


def p_over_samples(x, weights, means, variances):
    joint = joint_density(x, weights, means, variances)
    return joint / joint.sum(axis=0)


def p_global_sum(x, weights, means, variances):
    joint = joint_density(x, weights, means, variances)
    return joint / np.sum(joint)


def p_no_weights(x, weights, means, variances):
    lik = stats.norm.pdf(x[:, None], means, np.sqrt(variances))
    return lik / lik.sum(axis=1, keepdims=True)


def p_variance_as_scale(x, weights, means, variances):
    joint = weights * stats.norm.pdf(x[:, None], means, variances)  # scale should be sqrt(variances)
    return joint / joint.sum(axis=1, keepdims=True)


def p_sd_in_formula(x, weights, means, variances):
    sd = np.sqrt(variances)
    lj = np.log(weights) - 0.5 * np.log(2 * np.pi * sd) - (x[:, None] - means) ** 2 / (2 * sd)
    return np.exp(lj - logsumexp(lj, axis=1, keepdims=True))


def p_naive(x, weights, means, variances):
    dens = weights * np.exp(-((x[:, None] - means) ** 2) / (2 * variances)) / np.sqrt(2 * np.pi * variances)
    with np.errstate(invalid="ignore"):
        return dens / dens.sum(axis=1, keepdims=True)


def p_transposed(x, weights, means, variances):
    joint = joint_density(x, weights, means, variances).T
    return joint / joint.sum(axis=0)


def p_prior(x, weights, means, variances):
    return np.tile(weights, (len(x), 1))


def p_not_written(x, weights, means, variances):
    raise NotImplementedError()


WRONG = {
    p_unnormalised: "not normalised",
    p_log_space_forgot_exp: "still in log space",
    p_over_samples: "over the samples (axis 0)",
    p_global_sum: "ALL samples and components",
    p_no_weights: "mixing weights are missing",
    p_variance_as_scale: "as if they were standard deviations",
    p_sd_in_formula: "standard deviation sqrt(variances)",
    p_transposed: "transposed",
    p_prior: "prior",
}

INPUTS = [fb.SELF_CHECK_INPUTS["heights"], fb.SELF_CHECK_INPUTS["three components"]]


@pytest.mark.parametrize("fn, words", list(WRONG.items()), ids=[f.__name__ for f in WRONG])
@pytest.mark.parametrize("inputs", INPUTS, ids=["heights", "K=3"])
def test_each_mistake_is_named(fn, words, inputs):
    with pytest.raises(AssertionError, match="not right") as info:
        fb.check_posterior.verdict(fn, **inputs)
    assert words in str(info.value)


def test_naive_exp_then_normalise_is_named_as_underflow_in_the_far_tails():
    with pytest.raises(AssertionError) as info:
        fb.check_posterior.verdict(p_naive, **fb.SELF_CHECK_INPUTS["far tails"])
    assert "underflow" in str(info.value) and "log space" in str(info.value)
    # away from the tails the naive version is right, and the feedback says so
    assert fb.check_posterior.verdict(p_naive, **fb.SELF_CHECK_INPUTS["heights"]).endswith("correct")


def test_the_far_tail_inputs_really_underflow():
    inputs = fb.SELF_CHECK_INPUTS["far tails"]
    assert np.isnan(p_naive(**inputs)).any()


def test_the_reference_passes_every_check(capsys):
    fb.self_check_posterior(em_lib.posterior)
    out = capsys.readouterr().out
    assert out.count("✓") == 4 and "All 4 checks passed." in out
    for inputs in fb.SELF_CHECK_INPUTS.values():
        assert fb.check_posterior.verdict(em_lib.posterior, **inputs) == "posterior(...): correct"


def test_a_function_not_written_yet_is_told_so(capsys):
    with pytest.raises(AssertionError, match="4 of 4 checks failed"):
        fb.self_check_posterior(p_not_written)
    assert "not written yet" in capsys.readouterr().out
    with pytest.raises(AssertionError, match="not written yet"):
        fb.check_posterior.verdict(p_not_written, **INPUTS[0])


def test_self_check_prints_the_misconception_and_fails(capsys):
    with pytest.raises(AssertionError, match="checks failed"):
        fb.self_check_posterior(p_over_samples)
    out = capsys.readouterr().out
    assert "✗" in out and "over the samples" in out


def test_rows_not_summing_to_one_are_explained(capsys):
    with pytest.raises(AssertionError):
        fb.self_check_posterior(p_unnormalised)
    assert "sums to" in capsys.readouterr().out


def test_the_visible_inputs_tell_the_mistakes_apart():
    """On the visible inputs no two mistakes give the same answer, so the message is unambiguous."""
    for inputs in INPUTS:
        answers = [m.answer(**inputs) for m in fb.POSTERIOR_MISTAKES]
        for i in range(len(answers)):
            for j in range(i + 1, len(answers)):
                a, b = np.asarray(answers[i]), np.asarray(answers[j])
                assert a.shape != b.shape or not np.allclose(a, b), (i, j)
        truth = em_lib.posterior(**inputs)
        assert all(np.shape(a) != truth.shape or not np.allclose(a, truth) for a in answers)


@given(problems(tails=True, min_n=2))
def test_the_reference_passes_on_any_problem_even_in_the_tails(problem):
    x, weights, means, variances = problem
    assert fb.check_posterior.verdict(em_lib.posterior, x=x, weights=weights, means=means, variances=variances).endswith("correct")


def p_hard(x, weights, means, variances):
    lj = em_lib.log_joint(x, weights, means, variances)
    return np.eye(lj.shape[1])[lj.argmax(axis=1)]


def test_a_one_hot_answer_is_named_a_hard_assignment_not_another_mistake():
    """On the lecture's two people the sqrt(variances) answer is within tolerance of one-hot: a one-hot
    answer must still be named for what it is."""
    two = dict(x=np.array([190.0, 155.0]), weights=np.array([0.3, 0.7]),
               means=fb.SELF_CHECK_INPUTS["heights"]["means"], variances=fb.SELF_CHECK_INPUTS["heights"]["variances"])
    assert em_lib.feedback.core.close(p_hard(**two), fb._square_root_of_variances(**two))
    for inputs in [two, *fb.SELF_CHECK_INPUTS.values()]:
        with pytest.raises(AssertionError, match="It is a hard assignment") as info:
            fb.check_posterior.verdict(p_hard, **inputs)
        assert "standard deviation" not in str(info.value)


def test_a_nearly_one_hot_answer_of_another_mistake_keeps_its_own_name():
    def p_sqrt(x, weights, means, variances):
        return em_lib.posterior(x, weights, means, np.sqrt(variances))

    for inputs in fb.SELF_CHECK_INPUTS.values():
        with pytest.raises(AssertionError, match="standard deviation sqrt"):
            fb.check_posterior.verdict(p_sqrt, **inputs)


def test_a_one_hot_right_answer_passes():
    """Far apart components: the posterior is one-hot in floating point, and so is a right answer."""
    inputs = dict(x=np.array([-50.0, 50.0]), weights=np.array([0.5, 0.5]), means=np.array([-50.0, 50.0]),
                  variances=np.array([1.0, 1.0]))
    assert np.array_equal(em_lib.posterior(**inputs), np.eye(2))
    assert fb.check_posterior.verdict(p_hard, **inputs).endswith("correct")
