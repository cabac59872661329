"""Tests of em_lib.feedback.core: what a learner reads when a check passes or fails.

The learner's functions here are small stand-ins written in the test: a right one, one
with a classic mistake, one never written, and ones whose output has the wrong shape,
is transposed, or holds NaN or inf.
"""

import textwrap
import warnings

import numpy as np
import pytest

from em_lib import log_joint, log_likelihood, m_step, posterior
from em_lib.datasets import HEIGHTS_TRUE
from em_lib.feedback.core import Mistake, MistakeFound, check, close, describe_difference, judge, run_self_check

X = np.array([150.0, 165.0, 172.0, 190.0])
KWARGS = dict(x=X, weights=HEIGHTS_TRUE[0], means=HEIGHTS_TRUE[1], variances=HEIGHTS_TRUE[2])


def with_sd_instead_of_variance(x, weights, means, variances):
    """The classic: the variances passed on as if they were standard deviations."""
    return log_likelihood(x, weights, means, np.asarray(variances) ** 2)


SD_MISTAKE = Mistake("variances_squared", "You used the variance where the standard deviation goes.",
                     with_sd_instead_of_variance)


def never_written(x, weights, means, variances):
    raise NotImplementedError()


# ---------------------------------------------------------------------------
# check
# ---------------------------------------------------------------------------

def test_a_right_function_gets_a_confirmation():
    def my_log_likelihood(x, weights, means, variances):
        return float(np.log(np.exp(log_joint(x, weights, means, variances)).sum(axis=1)).sum())

    message = check(my_log_likelihood, KWARGS, log_likelihood, mistakes=[SD_MISTAKE])
    assert message == "my_log_likelihood(...): correct"


def test_a_known_mistake_is_explained_in_its_own_words():
    with pytest.raises(MistakeFound) as info:
        check(with_sd_instead_of_variance, KWARGS, log_likelihood, mistakes=[SD_MISTAKE], what="log_likelihood")
    assert str(info.value) == "log_likelihood is not right. You used the variance where the standard deviation goes."
    assert (info.value.mistake, info.value.explanation) == ("variances_squared", SD_MISTAKE.explanation)


def test_the_first_matching_mistake_wins_and_mistakes_that_crash_are_skipped():
    def crashes(**kwargs):
        raise ZeroDivisionError

    first = Mistake("first", "first explanation", with_sd_instead_of_variance)
    second = Mistake("second", "second explanation", with_sd_instead_of_variance)
    with pytest.raises(MistakeFound, match="first explanation") as info:
        check(with_sd_instead_of_variance, KWARGS, log_likelihood,
              mistakes=[Mistake("crash", "crash", crashes), first, second])
    assert info.value.mistake == "first"


def test_a_wrong_answer_matching_no_mistake_says_where_it_differs():
    def off_by_one(**kwargs):
        return log_likelihood(**kwargs) + 1.0

    with pytest.raises(AssertionError, match=r"the result differs from the reference: got .*, expected ") as info:
        check(off_by_one, KWARGS, log_likelihood, mistakes=[SD_MISTAKE])
    assert SD_MISTAKE.explanation not in str(info.value)


def test_an_unwritten_function_is_called_not_written_yet():
    with pytest.raises(AssertionError, match=r"log_likelihood is not written yet: replace `raise NotImplementedError\(\)`"):
        check(never_written, KWARGS, log_likelihood, what="log_likelihood")


def test_a_crash_in_the_learners_code_is_reported_with_its_type():
    def crashes(x, weights, means, variances):
        return x @ np.ones((3, 3))

    with pytest.raises(AssertionError, match=r"raised ValueError"):
        check(crashes, KWARGS, log_likelihood)


def test_a_failing_assert_inside_the_learners_code_passes_through_unchanged():
    def asserts(**kwargs):
        raise AssertionError("my own check failed")

    with pytest.raises(AssertionError, match="^my own check failed$"):
        check(asserts, KWARGS, log_likelihood)


def test_a_learner_editing_its_inputs_in_place_changes_nothing_outside_and_is_told():
    """`variances **= 2` inside the learner's function: the caller's arrays (here the course's
    own HEIGHTS_TRUE) stay intact, the mistake is still recognised, and the message says so."""
    def in_place(x, weights, means, variances):
        variances **= 2
        return log_likelihood(x, weights, means, variances)

    kwargs = dict(x=X, weights=HEIGHTS_TRUE[0], means=HEIGHTS_TRUE[1], variances=HEIGHTS_TRUE[2])
    before = HEIGHTS_TRUE[2].copy()
    with pytest.raises(AssertionError) as info:
        check(in_place, kwargs, log_likelihood, mistakes=[SD_MISTAKE])
    np.testing.assert_array_equal(HEIGHTS_TRUE[2], before)
    assert SD_MISTAKE.explanation in str(info.value)
    assert "changed its input variances in place" in str(info.value)


def test_a_right_answer_is_right_even_if_computed_in_place():
    def in_place_but_right(x, weights, means, variances):
        x -= 0.0
        return log_likelihood(x, weights, means, variances)

    assert check(in_place_but_right, KWARGS, log_likelihood).endswith("correct")


# ---------------------------------------------------------------------------
# The plain-words descriptions
# ---------------------------------------------------------------------------

def _message(fn, reference=posterior, kwargs=KWARGS):
    with pytest.raises(AssertionError) as info:
        check(fn, kwargs, reference, what="posterior")
    return str(info.value)


def test_wrong_shape_is_described():
    message = _message(lambda **kw: posterior(**kw)[:, :1])
    assert "should have shape (4, 2), got (4, 1)" in message


def test_transposed_output_is_called_transposed():
    message = _message(lambda **kw: posterior(**kw).T)
    assert "should have shape (4, 2), got (2, 4)" in message
    assert "transposed" in message


def test_an_array_where_a_number_was_expected_asks_about_the_sum():
    message = _message(lambda **kw: np.log(np.exp(log_joint(**kw)).sum(axis=1)), reference=log_likelihood)
    assert "forget to sum over the samples" in message


def test_a_number_where_an_array_was_expected_says_so():
    assert "an array was expected" in _message(lambda **kw: 0.5)


def test_nan_is_described_in_plain_words():
    def with_nan(**kw):
        out = posterior(**kw)
        out[2, 1] = np.nan
        return out

    message = _message(with_nan)
    assert "contains NaN where the reference is finite" in message
    assert "0/0" in message


def test_inf_is_described_in_plain_words():
    message = _message(lambda **kw: np.full(1, -np.inf)[0], reference=log_likelihood)
    assert "contains inf where the reference is finite" in message
    assert "log-sum-exp" in message


def test_a_finite_stand_in_for_minus_infinity_is_not_accepted():
    """log_joint with a zero weight has a column of -inf; log(w + 1e-300) gives -690.8 there instead."""
    kwargs = dict(x=X, weights=[1.0, 0.0], means=[170.0, 160.0], variances=[50.0, 50.0])

    def with_epsilon(x, weights, means, variances):
        log_normal = log_joint(x, [0.5, 0.5], means, variances) - np.log(0.5)
        return log_normal + np.log(np.asarray(weights) + 1e-300)

    got = with_epsilon(**kwargs)
    assert np.all(np.isfinite(got))  # the premise: no -inf in this answer
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # and no RuntimeWarning from comparing infinities
        with pytest.raises(AssertionError, match=r"at index \(0, 1\): got -69\d\.\d+, expected -inf"):
            check(with_epsilon, kwargs, log_joint)
        assert check(log_joint, kwargs, log_joint).endswith("correct")


def test_a_difference_is_located_where_it_is_not_where_both_are_infinite():
    expected = np.array([[-1.0, -np.inf], [-2.0, -np.inf]])
    got = np.array([[-1.0, -np.inf], [-2.5, -np.inf]])
    assert describe_difference(got, expected, "r") == "r differs from the reference at index (1, 0): got -2.5, expected -2"


# ---------------------------------------------------------------------------
# Tuples: compared item by item
# ---------------------------------------------------------------------------

RESP = posterior(**KWARGS)


def test_tuples_are_compared_item_by_item():
    def means_wrong(x, resp):
        weights, means, variances = m_step(x, resp)
        return weights, means + 0.5, variances

    with pytest.raises(AssertionError, match=r"item 1 returned by the result differs from the reference at index \(0,\)"):
        check(means_wrong, dict(x=X, resp=RESP), m_step)


def test_a_tuple_of_the_wrong_length_is_described():
    with pytest.raises(AssertionError, match=r"should return a tuple of 3 items, but returned tuple of length 2"):
        check(lambda x, resp: m_step(x, resp)[:2], dict(x=X, resp=RESP), m_step)
    with pytest.raises(AssertionError, match=r"should return a tuple of 3 items, but returned ndarray"):
        check(lambda x, resp: np.stack(m_step(x, resp)), dict(x=X, resp=RESP), m_step)


def test_a_list_of_arrays_counts_as_a_tuple():
    assert check(lambda x, resp: list(m_step(x, resp)), dict(x=X, resp=RESP), m_step).endswith("correct")


def test_close_needs_same_structure_shape_and_values():
    a = np.array([1.0, 2.0])
    assert close(a, a + 1e-9)
    assert not close(a, a + 1e-3)
    assert not close(a[:1], a)
    assert not close(1.0, np.ones(3))  # a number is not an array, even one full of that number
    assert not close(np.ones((3, 1)), np.ones(3))  # nor is an (n, 1) column an (n,) vector
    assert not close(np.array([np.nan, 2.0]), a)
    assert not close("text", a)
    assert close((a, 3.0), (a, 3.0))
    assert not close((a,), (a, 3.0))


# ---------------------------------------------------------------------------
# run_self_check
# ---------------------------------------------------------------------------

def _passes():
    pass


def _fails(message):
    def thunk():
        raise AssertionError(message)
    return thunk


def test_run_self_check_prints_one_line_per_check_and_passes(capsys):
    run_self_check([("shape", _passes), ("values", _passes)])
    out = capsys.readouterr().out.splitlines()
    assert out == ["✓ shape", "✓ values", "All 2 checks passed."]


def test_run_self_check_runs_every_check_and_raises_at_the_end(capsys):
    ran = []

    def last():
        ran.append("last")

    with pytest.raises(AssertionError, match=r"2 of 3 checks failed; start with: rows sum to 1"):
        run_self_check([("rows sum to 1", _fails("row 0 sums to 2")), ("shape", _fails("wrong shape")), ("last", last)])
    out = capsys.readouterr().out
    assert ran == ["last"]  # the failures did not stop the later checks
    assert "✗ rows sum to 1\n    row 0 sums to 2" in out
    assert "✗ shape\n    wrong shape" in out
    assert "✓ last" in out
    assert "checks passed" not in out


def test_run_self_check_with_a_real_check(capsys):
    with pytest.raises(AssertionError, match="1 of 2 checks failed"):
        run_self_check([
            ("right", lambda: check(log_likelihood, KWARGS, log_likelihood)),
            ("sd mistake", lambda: check(with_sd_instead_of_variance, KWARGS, log_likelihood, [SD_MISTAKE])),
        ])
    assert SD_MISTAKE.explanation in capsys.readouterr().out


# ---------------------------------------------------------------------------
# judge: the verdict is a pure function of (inputs, answer)
# ---------------------------------------------------------------------------


def test_judge_decides_from_the_answer_alone():
    right = log_likelihood(**KWARGS)
    assert judge(KWARGS, right, log_likelihood, what="l(...)") == "l(...): correct"
    with pytest.raises(AssertionError, match="You used the variance where the standard deviation goes"):
        judge(KWARGS, with_sd_instead_of_variance(**KWARGS), log_likelihood, [SD_MISTAKE], what="l(...)")
    with pytest.raises(AssertionError, match="should be numeric, got a generator object"):
        judge(KWARGS, _Opaque("a generator object"), log_likelihood, what="l(...)")


class _Opaque:
    """What the grader receives for a value that is not plain data (course_grading.sandbox.wire.Opaque)."""

    def __init__(self, description):
        self.description = description


_Opaque.__name__ = "Opaque"


def test_a_failure_the_grader_explains_is_shown_in_its_words():
    class Stopped(Exception):
        learner_explanation = "stopped: log_joint(...) was still running after 10 s"

    def stuck(**kwargs):
        raise Stopped()

    with pytest.raises(AssertionError, match=r"^log_joint\(\.\.\.\) stopped: log_joint\(\.\.\.\) was still running"):
        check(stuck, KWARGS, log_joint, what="log_joint(...)")


# ---------------------------------------------------------------------------
# In the learner's kernel: a function that calls em_lib fails the self-check, as it would fail graded
# ---------------------------------------------------------------------------

import subprocess  # noqa: E402
import sys  # noqa: E402

import em_lib  # noqa: E402
from em_lib.feedback import core  # noqa: E402
from em_lib.feedback.namespace import using_reference  # noqa: E402


def _my_log_joint(x, weights, means, variances):
    """A right log_joint written out, calling no reference."""
    x = np.asarray(x, dtype=float)[:, None]
    return np.log(weights) - 0.5 * np.log(2 * np.pi * variances) - 0.5 * (x - means) ** 2 / variances


def _through_package(x, weights, means, variances):
    return em_lib.log_joint(x, weights, means, variances)


def test_a_function_calling_em_lib_fails_in_a_kernel_and_says_it_would_fail_graded():
    with core.watching_em_lib():
        with pytest.raises(AssertionError, match=r"your log_joint calls em_lib\.mixture1d\.log_joint\. When your "
                                                 r"notebook is graded, your code runs without em_lib"):
            check(_through_package, KWARGS, log_joint, what="log_joint(x, weights, means, variances)")
        assert check(_my_log_joint, KWARGS, log_joint, what="log_joint(...)").endswith("correct")


def test_outside_a_kernel_em_libs_own_references_pass_as_right_answers():
    assert not core._in_kernel()
    assert check(_through_package, KWARGS, log_joint, what="log_joint(...)").endswith("correct")


def test_what_the_exercise_may_call_is_allowed_and_said():
    from em_lib.feedback import jensen

    def elbo(x, q, weights, means, variances):   # notebook 02 may call em_lib.log_joint
        lj = em_lib.log_joint(x, weights, means, variances)
        return float(np.sum(q * (lj - np.log(q))))

    def greedy_elbo(x, q, weights, means, variances):  # ... but not em_lib.elbo
        return em_lib.elbo(x, q, weights, means, variances)

    q = em_lib.posterior(X, *HEIGHTS_TRUE)
    with core.watching_em_lib():
        jensen.check_elbo(elbo, X, q, *HEIGHTS_TRUE)
        with pytest.raises(AssertionError, match=r"calls em_lib\.bound\.elbo.*this exercise may call em_lib\.log_joint"):
            jensen.check_elbo(greedy_elbo, X, q, *HEIGHTS_TRUE)


def test_a_reference_put_in_place_by_using_reference_is_allowed():
    from em_lib.feedback import likelihood

    namespace = {"log_joint": _my_log_joint}

    def log_likelihood_(x, weights, means, variances):
        a = namespace["log_joint"](x, weights, means, variances)
        m = a.max(axis=1, keepdims=True)
        return float(np.sum(m[:, 0] + np.log(np.exp(a - m).sum(axis=1))))

    log_likelihood_.__name__ = "log_likelihood"
    with core.watching_em_lib():
        with using_reference(namespace, log_joint=em_lib.log_joint):
            likelihood.check_log_likelihood(log_likelihood_, X, *HEIGHTS_TRUE)
        namespace["log_joint"] = em_lib.log_joint   # not put there by a test: the learner's own choice
        with pytest.raises(AssertionError, match="calls em_lib.mixture1d.log_joint"):
            likelihood.check_log_likelihood(log_likelihood_, X, *HEIGHTS_TRUE)


def test_scikit_learn_is_named_too():
    from sklearn.mixture import GaussianMixture

    def fit(x, weights, means, variances):
        GaussianMixture(2, max_iter=100, random_state=0).fit(np.asarray(x)[:, None])
        return log_joint(x, weights, means, variances)

    with core.watching_em_lib():
        with pytest.raises(AssertionError, match="calls sklearn"):
            check(fit, KWARGS, log_joint, what="log_joint(...)")


def test_importing_the_feedback_modules_changes_nothing():
    code = (
        "import builtins, sys\n"
        "before = (dict(vars(builtins)), sys.getprofile(), sys.gettrace(), list(sys.meta_path))\n"
        "import em_lib.feedback.likelihood, em_lib.feedback.steps, em_lib.feedback.coins, em_lib.feedback.practice\n"
        "after = (dict(vars(builtins)), sys.getprofile(), sys.gettrace(), list(sys.meta_path))\n"
        "print(before == after)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.stdout.strip() == "True", done.stderr
    assert not hasattr(core, "_NotebookGuard") and not hasattr(core, "_ORIGINALS")


# ---------------------------------------------------------------------------
# What a failed self-check shows in JupyterLab: its lines and one sentence, no traceback
# ---------------------------------------------------------------------------


def test_a_failed_self_check_shows_its_lines_and_one_sentence_not_a_traceback():
    code = textwrap.dedent('''
        import numpy as np
        from IPython.core.interactiveshell import InteractiveShell
        from IPython.utils.capture import capture_output
        shell = InteractiveShell.instance()
        with capture_output() as captured:
            shell.run_cell(
                "from em_lib.feedback import likelihood as feedback\\n"
                "def log_joint(x, weights, means, variances):\\n"
                "    return np.zeros((len(x), len(weights))) + 1.0\\n"
                "import numpy as np\\n"
                "feedback.self_check_log_joint(log_joint)")
        print(captured.stdout)
        print("=====")
        print(captured.stderr)
        ''')
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    shown, _, errors = done.stdout.partition("=====")
    assert "✗ values: 5 heights under the true heights model" in shown
    assert "on the inputs:\n      x = [190. 155. 170. 162.5 181. ]" in shown   # no mistake explains it
    assert "SelfCheckFailed: 3 of 4 checks failed; start with:" in shown + errors
    assert "Traceback" not in shown + errors and "em_lib/feedback" not in shown + errors


def test_a_wrong_answer_a_mistake_explains_shows_no_inputs(capsys):
    from em_lib.feedback import likelihood

    def conditional(x, weights, means, variances):      # the weights forgotten: a named mistake
        return em_lib.log_joint(x, weights, means, variances) - np.log(weights)

    with pytest.raises(AssertionError):
        likelihood.self_check_log_joint(conditional)
    out = capsys.readouterr().out
    assert "CONDITIONAL density" in out and "on the inputs" not in out
