"""Notebook 07's feedback: every classic mistake, written as a learner would write it, is named.

The wrong functions below are written independently of the Mistake catalogue in
em_lib.feedback.deriving (plain NumPy and SciPy, loops where a learner would loop), so these
tests check that real wrong code is recognised: the self-check fails with the mistake's own
words, passes for em_lib's reference and for a correct learner's version, and says "not
written yet" for the release's stub.
"""

import math

import numpy as np
import pytest
from scipy import stats

import em_lib
from em_lib import datasets
from em_lib.feedback import deriving as fb
from em_lib.feedback.core import MistakeFound
from self_checks import SelfCheck, self_check_tests


# ==========================================================================
# poisson_e_step
# ==========================================================================


def e_right(counts, weights, rates):
    """A correct learner's version, with scipy.special.logsumexp."""
    from scipy.special import logsumexp
    y = np.asarray(counts, dtype=float)[:, None]
    lj = np.log(weights) + stats.poisson.logpmf(y, rates)
    return np.exp(lj - logsumexp(lj, axis=1, keepdims=True))


def e_joint(counts, weights, rates):
    return weights * stats.poisson.pmf(np.asarray(counts)[:, None], rates)


def e_columns(counts, weights, rates):
    joint = weights * stats.poisson.pmf(np.asarray(counts)[:, None], rates)
    return joint / joint.sum(axis=0)


def e_no_weights(counts, weights, rates):
    lik = stats.poisson.pmf(np.asarray(counts)[:, None], rates)
    return lik / lik.sum(axis=1, keepdims=True)


def e_plus_rate(counts, weights, rates):
    y = np.asarray(counts, dtype=float)[:, None]
    lj = np.log(weights) + y * np.log(rates) + rates
    lj -= lj.max(axis=1, keepdims=True)
    return np.exp(lj) / np.exp(lj).sum(axis=1, keepdims=True)


def e_no_exp_factor(counts, weights, rates):
    y = np.asarray(counts, dtype=float)[:, None]
    lj = np.log(weights) + y * np.log(rates)
    lj -= lj.max(axis=1, keepdims=True)
    return np.exp(lj) / np.exp(lj).sum(axis=1, keepdims=True)


def e_exponential(counts, weights, rates):
    y = np.asarray(counts, dtype=float)[:, None]
    with np.errstate(all="ignore"):       # 0/0 for counts in the hundreds: part of the mistake
        dens = weights * rates * np.exp(-rates * y)
        return dens / dens.sum(axis=1, keepdims=True)


def e_hard(counts, weights, rates):
    resp = e_right(counts, weights, rates)
    return (resp == resp.max(axis=1, keepdims=True)).astype(float)


def e_naive(counts, weights, rates):
    """Right formula, no log space: NaN where rate**y overflows."""
    y = np.asarray(counts, dtype=float)[:, None]
    with np.errstate(all="ignore"):
        joint = weights * rates**y * np.exp(-rates)
        return joint / joint.sum(axis=1, keepdims=True)


def e_factorial(counts, weights, rates):
    """Right formula with math.factorial: 800! does not fit a float (OverflowError)."""
    fact = np.array([float(math.factorial(int(v))) for v in counts])[:, None]
    joint = weights * stats.poisson.pmf(np.asarray(counts)[:, None], rates) * fact / fact
    return joint / joint.sum(axis=1, keepdims=True)


def e_transposed(counts, weights, rates):
    return e_right(counts, weights, rates).T


POISSON_E_WRONG = [
    (e_joint, "not normalised"),
    (e_columns, "over the counts (axis 0)"),
    (e_no_weights, "mixing weights are missing"),
    (e_plus_rate, "e^(+lambda_k)"),
    (e_no_exp_factor, "e^(-lambda_k) was left out"),
    (e_exponential, "exponential density"),
    (e_hard, "hard assignment"),
    (e_naive, "Work in log space"),
    (e_factorial, "Work in log space"),
    (e_transposed, "transposed"),
]


def test_poisson_e_step_rows_check_rewards_a_distribution_with_wrong_values():
    """The form cell: weights forgotten still gives rows summing to 1, so it keeps that point."""
    counts, _ = datasets.hasselblad_deaths()
    assert fb.check_poisson_e_step_rows.verdict(e_no_weights, counts, [0.3, 0.7], [1.0, 2.5]).endswith("sum to 1")
    with pytest.raises(AssertionError, match="sums to"):
        fb.check_poisson_e_step_rows.verdict(e_joint, counts, [0.3, 0.7], [1.0, 2.5])


def test_a_self_check_of_a_wrong_answer_prints_no_numpy_warning(recwarn, capsys):
    """The mistakes' answers may overflow (that is what makes them wrong): no RuntimeWarning reaches the learner."""
    for self_check, wrong in ((fb.self_check_poisson_e_step, e_transposed), (fb.self_check_poisson_m_step, m_plain_mean),
                              (fb.self_check_gaussian_missing_e_step, ge_zero),
                              (fb.self_check_gaussian_missing_m_step, gm_sums)):
        with pytest.raises(AssertionError):
            self_check(wrong)
    capsys.readouterr()
    assert not [w for w in recwarn if issubclass(w.category, RuntimeWarning)], [str(w.message) for w in recwarn]


def test_graded_check_prints_one_tick_line(capsys):
    counts, _ = datasets.hasselblad_deaths()
    fb.check_poisson_e_step(e_right, counts, [0.3, 0.7], [1.0, 2.5])
    out = capsys.readouterr().out
    assert out.startswith("✓ poisson_e_step(") and out.count("\n") == 1


# ==========================================================================
# poisson_m_step
# ==========================================================================


def m_right(counts, frequencies, resp):
    """A correct learner's version, with a loop over the components."""
    K = resp.shape[1]
    weights, rates = np.empty(K), np.empty(K)
    for k in range(K):
        days_k = np.sum(frequencies * resp[:, k])
        weights[k] = days_k / np.sum(frequencies)
        rates[k] = np.sum(frequencies * resp[:, k] * counts) / days_k
    return weights, rates


def m_no_frequencies(counts, frequencies, resp):
    return resp.mean(axis=0), resp.T @ counts / resp.sum(axis=0)


def m_frequencies_on_top_only(counts, frequencies, resp):
    return frequencies @ resp / frequencies.sum(), (frequencies * counts) @ resp / resp.sum(axis=0)


def m_divided_by_n(counts, frequencies, resp):
    return frequencies @ resp / frequencies.sum(), (frequencies * counts) @ resp / frequencies.sum()


def m_weights_not_divided(counts, frequencies, resp):
    return frequencies @ resp, (frequencies * counts) @ resp / (frequencies @ resp)


def m_weights_over_m(counts, frequencies, resp):
    return frequencies @ resp / len(counts), (frequencies * counts) @ resp / (frequencies @ resp)


def m_reciprocal_rate(counts, frequencies, resp):
    return frequencies @ resp / frequencies.sum(), (frequencies @ resp) / ((frequencies * counts) @ resp)


def m_plain_mean(counts, frequencies, resp):
    mean = np.sum(frequencies * counts) / np.sum(frequencies)
    return frequencies @ resp / frequencies.sum(), np.full(resp.shape[1], mean)


def m_rates_not_divided(counts, frequencies, resp):
    return frequencies @ resp / frequencies.sum(), (frequencies * counts) @ resp


POISSON_M_WRONG = [
    (m_no_frequencies, "The frequencies were forgotten"),
    (m_frequencies_on_top_only, "in the numerator but not in the denominator"),
    (m_divided_by_n, "divided by n, all the days"),
    (m_weights_not_divided, "expected numbers of days N_k"),
    (m_weights_over_m, "divided by m, the number of distinct counts"),
    (m_reciprocal_rate, "1 / (mean count)"),
    (m_plain_mean, "responsibilities were not used"),
    (m_rates_not_divided, "not yet divided by N_k"),
]


def test_poisson_m_step_parts_are_graded_apart():
    """A rate mistake keeps the weights' points and the reverse: the point split is real."""
    inputs = fb.POISSON_M_STEP_INPUTS["hasselblad"]
    assert fb.check_poisson_m_step.verdict(m_reciprocal_rate, **inputs, parts=("weights",)).endswith("weights correct")
    with pytest.raises(AssertionError, match="rates array"):
        fb.check_poisson_m_step.verdict(m_reciprocal_rate, **inputs, parts=("rates",))
    assert fb.check_poisson_m_step.verdict(m_weights_over_m, **inputs, parts=("rates",)).endswith("rates correct")
    with pytest.raises(AssertionError, match="should return a tuple \\(weights, rates\\)"):
        fb.check_poisson_m_step.verdict(lambda **kw: 1.0, **inputs)


# ==========================================================================
# gaussian_missing_e_step
# ==========================================================================


def _conditional_rows(X, mean, cov, rule, second="conditional"):
    """A learner's loop over the rows with a chosen fill ``rule`` and second moment."""
    X = np.asarray(X, dtype=float)
    mean, cov = np.asarray(mean, dtype=float), np.asarray(cov, dtype=float)
    n, d = X.shape
    ex, exx = X.copy(), np.zeros((n, d, d))
    for i in range(n):
        m = np.isnan(X[i])
        o = ~m
        S_oo, S_mo, S_mm = cov[np.ix_(o, o)], cov[np.ix_(m, o)], cov[np.ix_(m, m)]
        if rule == "right":
            ex[i, m] = mean[m] + S_mo @ np.linalg.solve(S_oo, X[i, o] - mean[o])
        elif rule == "mean":
            ex[i, m] = mean[m]
        elif rule == "zero":
            ex[i, m] = 0.0
        elif rule == "reversed":
            ex[i, m] = mean[m] + np.linalg.solve(S_mm, S_mo @ (X[i, o] - mean[o]))
        elif rule == "no inverse":
            ex[i, m] = mean[m] + S_mo @ (X[i, o] - mean[o])
        elif rule == "uncentred":
            ex[i, m] = mean[m] + S_mo @ np.linalg.solve(S_oo, X[i, o])
        C = np.zeros((d, d))
        C[np.ix_(m, m)] = S_mm - S_mo @ np.linalg.solve(S_oo, S_mo.T)
        if second == "conditional":
            exx[i] = np.outer(ex[i], ex[i]) + C
        elif second == "none":
            exx[i] = np.outer(ex[i], ex[i])
        elif second == "marginal":
            M = np.zeros((d, d))
            M[np.ix_(m, m)] = S_mm
            exx[i] = np.outer(ex[i], ex[i]) + M
        elif second == "minus":
            exx[i] = np.outer(ex[i], ex[i]) - C
    return ex, exx


def ge_right(X, mean, cov):
    return _conditional_rows(X, mean, cov, "right")


def ge_no_conditional_cov(X, mean, cov):
    return _conditional_rows(X, mean, cov, "right", second="none")


def ge_marginal_cov(X, mean, cov):
    return _conditional_rows(X, mean, cov, "right", second="marginal")


def ge_minus(X, mean, cov):
    return _conditional_rows(X, mean, cov, "right", second="minus")


def ge_mean_imputation(X, mean, cov):
    return _conditional_rows(X, mean, cov, "mean", second="none")


def ge_mean_imputation_marginal(X, mean, cov):
    return _conditional_rows(X, mean, cov, "mean", second="marginal")


def ge_zero(X, mean, cov):
    X = np.asarray(X, dtype=float)
    filled = np.nan_to_num(X)
    return filled, filled[:, :, None] * filled[:, None, :]


def ge_reversed(X, mean, cov):
    return _conditional_rows(X, mean, cov, "reversed")


def ge_no_inverse(X, mean, cov):
    return _conditional_rows(X, mean, cov, "no inverse")


def ge_uncentred(X, mean, cov):
    return _conditional_rows(X, mean, cov, "uncentred")


def ge_nan_left(X, mean, cov):
    X = np.asarray(X, dtype=float)
    return X.copy(), X[:, :, None] * X[:, None, :]


def ge_elementwise(X, mean, cov):
    ex, _ = ge_right(X, mean, cov)
    return ex, ex * ex


GAUSSIAN_E_WRONG = [
    (ge_no_conditional_cov, "The conditional covariance is missing"),
    (ge_marginal_cov, "MARGINAL covariance"),
    (ge_minus, "subtracted instead of added"),
    (ge_mean_imputation, "mean imputation"),
    (ge_mean_imputation_marginal, "mean imputation"),
    (ge_zero, "filled with 0"),
    (ge_reversed, "wrong way"),
    (ge_no_inverse, "S_oo^-1 is missing"),
    (ge_uncentred, "not centred"),
    (ge_nan_left, "still holds NaN"),
    (ge_elementwise, "one (d, d) matrix"),
]


def test_the_second_moment_is_judged_around_the_learners_own_first_moment():
    """Mean imputation with the marginal covariance: expected_x is wrong, and expected_xx is named for
    its own mistake (marginal instead of conditional), not charged again for the wrong first moment."""
    inputs = fb.MISSING_E_STEP_INPUTS["old faithful"]
    with pytest.raises(AssertionError, match="mean imputation"):
        fb.check_gaussian_missing_e_step.verdict(ge_mean_imputation_marginal, **inputs, parts=("expected_x",))
    with pytest.raises(AssertionError, match=r"around the expected_x it returned.*MARGINAL"):
        fb.check_gaussian_missing_e_step.verdict(ge_mean_imputation_marginal, **inputs, parts=("expected_xx",))
    # a wrong first moment with the right conditional covariance keeps the second moment's points
    assert fb.check_gaussian_missing_e_step.verdict(ge_reversed, **inputs, parts=("expected_xx",)).endswith(
        "expected_xx correct")


def test_the_seen_check_rewards_what_needs_no_conditioning():
    inputs = fb.MISSING_E_STEP_INPUTS["old faithful"]
    for fn in (ge_no_conditional_cov, ge_mean_imputation, ge_reversed):
        assert "seen entries kept" in fb.check_gaussian_missing_e_step_seen.verdict(fn, **inputs)

    def changes_seen(X, mean, cov):
        ex, exx = ge_right(X, mean, cov)
        return ex + 0.5, exx

    with pytest.raises(AssertionError, match="that entry was seen"):
        fb.check_gaussian_missing_e_step_seen.verdict(changes_seen, **inputs)


# ==========================================================================
# gaussian_missing_m_step
# ==========================================================================


def gm_right(expected_x, expected_xx):
    n = expected_x.shape[0]
    mean = expected_x.sum(axis=0) / n
    return mean, sum(expected_xx[i] for i in range(n)) / n - np.outer(mean, mean)


def gm_filled_only(expected_x, expected_xx):
    return expected_x.mean(axis=0), np.cov(expected_x.T, bias=True)


def gm_np_cov(expected_x, expected_xx):
    return expected_x.mean(axis=0), np.cov(expected_x.T)


def gm_not_centred(expected_x, expected_xx):
    return expected_x.mean(axis=0), expected_xx.mean(axis=0)


def gm_squared_mean(expected_x, expected_xx):
    mean = expected_x.mean(axis=0)
    return mean, expected_xx.mean(axis=0) - mean**2


def gm_n_minus_1(expected_x, expected_xx):
    n = expected_x.shape[0]
    mean = expected_x.mean(axis=0)
    return mean, (expected_xx.sum(axis=0) - n * np.outer(mean, mean)) / (n - 1)


def gm_sums(expected_x, expected_xx):
    mean = expected_x.sum(axis=0)
    return mean, expected_xx.sum(axis=0) - np.outer(mean, mean) / expected_x.shape[0]


def gm_diagonal(expected_x, expected_xx):
    mean = expected_x.mean(axis=0)
    return mean, np.diag(np.diag(expected_xx.mean(axis=0)) - mean**2)


def gm_only_correction(expected_x, expected_xx):
    outer = np.einsum("ni,nj->nij", expected_x, expected_x)
    return expected_x.mean(axis=0), (expected_xx - outer).mean(axis=0)


def gm_wrong_axis(expected_x, expected_xx):
    mean = expected_x.mean(axis=1)
    return mean, expected_xx.mean(axis=0)


GAUSSIAN_M_WRONG = [
    (gm_filled_only, "expected_xx was not used"),
    (gm_np_cov, "divisor n - 1 (np.cov's default)"),
    (gm_not_centred, "not yet centred"),
    (gm_squared_mean, "OUTER product"),
    (gm_n_minus_1, "'sample covariance' correction"),
    (gm_sums, "not yet divided by n"),
    (gm_diagonal, "off-diagonal covariances were set to 0"),
    (gm_only_correction, "only the average conditional covariance"),
    (gm_wrong_axis, "wrong axis"),
]


def test_the_covariance_is_judged_around_the_learners_own_mean():
    """Sums not divided by n: the mean is wrong (its cell), the covariance named around that mean."""
    inputs = fb.MISSING_M_STEP_INPUTS["old faithful"]
    with pytest.raises(AssertionError, match="sum of the rows, not yet divided by n"):
        fb.check_gaussian_missing_m_step.verdict(gm_sums, **inputs, parts=("mean",))
    with pytest.raises(AssertionError, match="around the mean it returned"):
        fb.check_gaussian_missing_m_step.verdict(gm_sums, **inputs, parts=("cov",))
    assert fb.check_gaussian_missing_m_step.verdict(gm_filled_only, **inputs, parts=("mean",)).endswith("mean correct")


# ==========================================================================
# The self-checks: each mistake named, correct code passed, the stub not written yet
# ==========================================================================

SELF_CHECKS = {
    "poisson_e_step": SelfCheck(fb.self_check_poisson_e_step, POISSON_E_WRONG, (em_lib.poisson_e_step, e_right), 4),
    "poisson_m_step": SelfCheck(fb.self_check_poisson_m_step, POISSON_M_WRONG, (em_lib.poisson_m_step, m_right), 4),
    "gaussian_missing_e_step": SelfCheck(fb.self_check_gaussian_missing_e_step, GAUSSIAN_E_WRONG,
                                         (em_lib.gaussian_missing_e_step, ge_right), 4),
    "gaussian_missing_m_step": SelfCheck(fb.self_check_gaussian_missing_m_step, GAUSSIAN_M_WRONG,
                                         (em_lib.gaussian_missing_m_step, gm_right), 4),
}

test_self_check_names_each_mistake, test_self_check_passes_correct_code, test_stub_is_not_written_yet = (
    self_check_tests(SELF_CHECKS))


# ==========================================================================
# Every catalogued mistake can be told from the reference on the visible inputs
# ==========================================================================


def _differs(answer, right):
    from em_lib.feedback.core import close
    return not close(answer, right)


def test_poisson_mistakes_differ_from_the_reference_on_the_self_check_inputs():
    for key, inputs in fb.POISSON_E_STEP_INPUTS.items():
        if key == "large counts":
            continue
        right = em_lib.poisson_e_step(**inputs)
        for mistake in fb.POISSON_E_STEP_MISTAKES:
            with np.errstate(all="ignore"):
                assert _differs(mistake.answer(**inputs), right), (key, mistake.explanation[:60])
    inputs = fb.POISSON_M_STEP_INPUTS["hasselblad"]
    weights, rates = em_lib.poisson_m_step(**inputs)
    for mistake in fb.POISSON_WEIGHTS_MISTAKES:
        assert _differs(mistake.answer(**inputs), weights), mistake.explanation[:60]
    for mistake in fb.POISSON_RATES_MISTAKES:
        assert _differs(mistake.answer(**inputs), rates), mistake.explanation[:60]


def test_gaussian_mistakes_differ_from_the_reference_on_the_self_check_inputs():
    for inputs in fb.MISSING_E_STEP_INPUTS.values():
        ex, exx = em_lib.gaussian_missing_e_step(**inputs)
        for mistake in fb.EXPECTED_X_MISTAKES:
            assert _differs(mistake.answer(**inputs), ex), mistake.explanation[:60]
        for mistake in fb._around(fb.EXPECTED_XX_MISTAKES, ex):
            assert _differs(mistake.answer(**inputs), exx), mistake.explanation[:60]
    for inputs in list(fb.MISSING_M_STEP_INPUTS.values())[1:]:       # with holes: C_i is not 0
        mean, cov = em_lib.gaussian_missing_m_step(**inputs)
        for mistake in fb.MISSING_MEAN_MISTAKES:
            assert _differs(mistake.answer(**inputs), mean), mistake.explanation[:60]
        for mistake in fb._around(fb.COV_MISTAKES, mean):
            assert _differs(mistake.answer(**inputs), cov), mistake.explanation[:60]


# ==========================================================================
# Every catalogued mistake is named for its own answer (none is shadowed by another)
# ==========================================================================


def _named(run, mistake):
    """``run()`` fails naming ``mistake``: in words, and by its id (what the grader records)."""
    with pytest.raises(MistakeFound) as info:
        run()
    assert mistake.explanation in str(info.value), str(info.value)
    assert info.value.mistake == mistake.id


@pytest.mark.parametrize("key", ["hasselblad", "three components"])
@pytest.mark.parametrize("index", range(len(fb.POISSON_E_STEP_MISTAKES)))
def test_each_poisson_e_step_mistake_is_named(key, index):
    mistake, inputs = fb.POISSON_E_STEP_MISTAKES[index], fb.POISSON_E_STEP_INPUTS[key]
    _named(lambda: fb.check_poisson_e_step.verdict(lambda **kw: mistake.answer(**kw), **inputs), mistake)


@pytest.mark.parametrize("part, mistakes", [("weights", fb.POISSON_WEIGHTS_MISTAKES), ("rates", fb.POISSON_RATES_MISTAKES)])
def test_each_poisson_m_step_mistake_is_named(part, mistakes):
    inputs = fb.POISSON_M_STEP_INPUTS["three components"]
    right = em_lib.poisson_m_step(**inputs)
    for mistake in mistakes:
        def learner(**kw):
            answer = list(right)
            answer[0 if part == "weights" else 1] = mistake.answer(**kw)
            return tuple(answer)
        _named(lambda: fb.check_poisson_m_step.verdict(learner, **inputs, parts=(part,)), mistake)


#: The two-part steps: the check, the reference, its inputs, and each part with its mistakes, in order.
TWO_PART_STEPS = {
    "gaussian_missing_e_step": (fb.check_gaussian_missing_e_step, em_lib.gaussian_missing_e_step, fb.MISSING_E_STEP_INPUTS,
                                ("expected_x", fb.EXPECTED_X_MISTAKES), ("expected_xx", fb.EXPECTED_XX_MISTAKES)),
    "gaussian_missing_m_step": (fb.check_gaussian_missing_m_step, em_lib.gaussian_missing_m_step, fb.MISSING_M_STEP_INPUTS,
                                ("mean", fb.MISSING_MEAN_MISTAKES), ("cov", fb.COV_MISTAKES)),
}


@pytest.mark.parametrize("key", ["old faithful", "three dimensions"])
@pytest.mark.parametrize("step", list(TWO_PART_STEPS))
def test_each_gaussian_mistake_is_named(step, key):
    """Each first-part mistake with the second part right; each second-part mistake around the right first part."""
    check, reference, inputs_by_key, (first, first_mistakes), (second, second_mistakes) = TWO_PART_STEPS[step]
    inputs = inputs_by_key[key]
    right_first, right_second = reference(**inputs)
    for mistake in first_mistakes:
        _named(lambda: check.verdict(lambda **kw: (mistake.answer(**kw), right_second), **inputs, parts=(first,)),
               mistake)
    for mistake in fb._around(second_mistakes, right_first):
        _named(lambda: check.verdict(lambda **kw: (right_first, mistake.answer(**kw)), **inputs, parts=(second,)),
               mistake)
