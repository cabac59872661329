"""The graded checks of em_lib.feedback are TOTAL on whatever a learner's function returns.

Graded, the learner's code runs in a sandbox and the checks, in the grader's process, call
it through a stand-in that returns plain data decoded from the wire (None, bool, int, float,
complex, str, list, tuple, str-keyed dict, NumPy arrays and scalars, ``Opaque`` stand-ins).
Whatever comes back, a check must either return (its confirmation) or raise an
``AssertionError`` whose message says in words what was expected and what was returned. Any
other exception escaping a check is recorded as "the test raised X" and flagged for the
instructor: a grader bug. So is an ``AssertionError`` that blames the learner's function for
an exception it did not raise ("raised OverflowError"), raised by the check's own code.

Each check runs on the inputs of the notebooks' visible graded tests, twice per answer: with
warnings ignored (as the grader runs them) and with warnings turned into errors (a check must
not depend on a NumPy warning staying a warning).
"""

import builtins
import copy
import re
import warnings
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import em_lib
from em_lib import datasets
from em_lib.bound import jensen_gap
from em_lib.feedback import coins, core, deriving, jensen, likelihood, posterior, practice, steps
from strategies import near_misses, opaques, plain_values

# --------------------------------------------------------------------------
# The checks, on the inputs of the notebooks' visible graded tests
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """A check with its inputs fixed: ``run(fn)`` runs it on the learner's ``fn``; ``reference`` is
    the right answer on those inputs, from which the near misses are made."""

    run: Callable[[Callable], Any]
    reference: Any


HEIGHTS = likelihood.heights_model()
X, Z, WEIGHTS0, MEANS0, VARIANCES0 = steps.heights_and_start()
RESP0 = em_lib.e_step(X, WEIGHTS0, MEANS0, VARIANCES0)
TWO = dict(x=np.array([190.0, 155.0]), weights=np.array([0.3, 0.7]), means=HEIGHTS[1], variances=HEIGHTS[2])
TAILS = dict(x=np.array([-45.0, 0.0, 50.0]), weights=np.array([0.4, 0.6]), means=np.array([0.0, 2.0]),
             variances=np.array([1.0, 0.5]))
ROWS = dict(x=datasets.heights(50, seed=1)[0], weights=HEIGHTS[0], means=HEIGHTS[1], variances=HEIGHTS[2])
ITERATION = dict(x=X[:20], weights=WEIGHTS0, means=MEANS0, variances=VARIANCES0)
M_STEP = dict(x=X[:50], resp=RESP0[:50])
M_STEP_GROUPS = dict(x=X[:50], resp=np.eye(2)[Z[:50]])
FIT_EM = dict(x=X, weights=WEIGHTS0, means=MEANS0, variances=VARIANCES0, n_iter=10)
FIT_EM_HISTORY = dict(FIT_EM, n_iter=8)
PTS = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [6.0, 5.0], [5.0, 6.0], [6.0, 6.0], [12.0, 0.0]])
CENTRES = [[1.0, 1.0], [5.0, 5.0], [10.0, 1.0]]
EMPTY_CENTRE = [[0.0, 0.0], [6.0, 6.0], [50.0, 50.0]]
PAPER_HEADS, PAPER_TOSSES = datasets.two_coins()
Y_LI = datasets.three_coins()
HASSELBLAD_COUNTS, HASSELBLAD_DAYS = datasets.hasselblad_deaths()
POISSON_E = dict(counts=HASSELBLAD_COUNTS, weights=np.array([0.3, 0.7]), rates=np.array([1.0, 2.5]))
POISSON_E_LARGE = dict(counts=np.array([0, 350, 500, 800, 1000]), weights=np.array([0.6, 0.4]),
                       rates=np.array([400.0, 900.0]))
POISSON_M = dict(counts=HASSELBLAD_COUNTS, frequencies=HASSELBLAD_DAYS, resp=em_lib.poisson_e_step(**POISSON_E))
FAITHFUL_HOLES = datasets.old_faithful_missing(fraction=0.3, seed=0)
MISSING_E = dict(X=FAITHFUL_HOLES, mean=np.array([3.5, 70.9]), cov=np.array([[1.3, 13.9], [13.9, 184.0]]))
MISSING_E_3 = dict(X=np.array([[0.5, np.nan, 2.0], [np.nan, np.nan, np.nan], [1.0, 1.5, -0.5]]),
                   mean=np.array([0.0, 1.0, 0.5]), cov=np.array([[1.0, 0.3, 0.2], [0.3, 2.0, -0.5], [0.2, -0.5, 1.5]]))
MISSING_M = dict(zip(("expected_x", "expected_xx"), em_lib.gaussian_missing_e_step(**MISSING_E)))


def _verdict(check, reference, *args, parts=None, **kwargs):
    """``check.verdict`` on the inputs ``args`` and ``kwargs`` (graded on ``parts`` only, if given),
    and ``reference``'s answer on them."""
    graded = {} if parts is None else {"parts": parts}
    return Case(lambda fn: check.verdict(fn, *args, **kwargs, **graded), reference(*args, **kwargs))


def _on_heights(check, reference, *args):
    """``check(fn, *args, *heights_model())``, a fresh copy of the heights model each run, and ``reference``'s
    answer on the same inputs."""
    return Case(lambda fn: check(fn, *args, *likelihood.heights_model()), reference(*args, *HEIGHTS))


CASES = {
    "check_log_joint": _on_heights(likelihood.check_log_joint, em_lib.log_joint, likelihood.EXAMPLE_X),
    "check_log_joint (far tail)": _on_heights(likelihood.check_log_joint, em_lib.log_joint, likelihood.TYPO_X),
    "check_log_joint_shape": _on_heights(likelihood.check_log_joint_shape, em_lib.log_joint, likelihood.EXAMPLE_X),
    "check_log_likelihood": _on_heights(likelihood.check_log_likelihood, em_lib.log_likelihood, likelihood.EXAMPLE_X),
    "check_log_likelihood_is_number": _on_heights(
        likelihood.check_log_likelihood_is_number, em_lib.log_likelihood, likelihood.EXAMPLE_X),
    "check_jensen_gap": Case(
        lambda fn: jensen.check_jensen_gap(fn, jensen.STARS, jensen.LECTURE_Q),
        jensen_gap(jensen.STARS, jensen.LECTURE_Q)),
    "check_jensen_gap (zero gap)": Case(
        lambda fn: jensen.check_jensen_gap(fn, [3.0, 3.0], [0.4, 0.6]),
        jensen_gap([3.0, 3.0], [0.4, 0.6])),
    "check_jensen_gap_nonnegative": Case(
        lambda fn: jensen.check_jensen_gap_nonnegative(fn, jensen.STARS, jensen.LECTURE_Q),
        jensen_gap(jensen.STARS, jensen.LECTURE_Q)),
    "check_elbo": _on_heights(jensen.check_elbo, em_lib.elbo, jensen.EXAMPLE_X, jensen.example_q()),
    "check_elbo (one-hot q)": _on_heights(jensen.check_elbo, em_lib.elbo, jensen.EXAMPLE_X, jensen.one_hot_q()),
    "check_posterior": _verdict(posterior.check_posterior, em_lib.posterior, **TWO),
    "check_posterior (tails)": _verdict(posterior.check_posterior, em_lib.posterior, **TAILS),
    "check_posterior_rows": _verdict(posterior.check_posterior_rows, em_lib.posterior, **ROWS),
    "check_em_iteration": _verdict(steps.check_em_iteration, em_lib.em_iteration, **ITERATION),
    "check_em_iteration chain": _verdict(steps.check_em_iteration, em_lib.em_iteration, **ITERATION, parts=("chain",)),
    "check_em_iteration_order": _verdict(steps.check_em_iteration_order, em_lib.em_iteration, **ITERATION),
    "check_m_step": _verdict(steps.check_m_step, em_lib.m_step, **M_STEP),
    "check_m_step weights": _verdict(steps.check_m_step, em_lib.m_step, **M_STEP, parts=("weights",)),
    "check_m_step means": _verdict(steps.check_m_step, em_lib.m_step, **M_STEP, parts=("means",)),
    "check_m_step variances": _verdict(steps.check_m_step, em_lib.m_step, **M_STEP, parts=("variances",)),
    "check_m_step variances (one-hot)": _verdict(
        steps.check_m_step, em_lib.m_step, **M_STEP_GROUPS, parts=("variances",)),
    "check_fit_em": _verdict(steps.check_fit_em, em_lib.fit_em, **FIT_EM),
    "check_fit_em parameters": _verdict(steps.check_fit_em, em_lib.fit_em, **FIT_EM, parts=("parameters",)),
    "check_fit_em history": _verdict(steps.check_fit_em, em_lib.fit_em, **FIT_EM, parts=("history",)),
    "check_fit_em_history": _verdict(steps.check_fit_em_history, em_lib.fit_em, **FIT_EM_HISTORY),
    "check_n_gmm_params": _verdict(practice.check_n_gmm_params, em_lib.mixture_nd.n_gmm_params, 2, 1),
    "check_n_gmm_params (d = 2)": _verdict(practice.check_n_gmm_params, em_lib.mixture_nd.n_gmm_params, 2, 2),
    "check_kmeans_step": Case(
        lambda fn: practice.check_kmeans_step.verdict(fn, PTS, CENTRES), em_lib.mixture_nd.kmeans_step(PTS, np.array(CENTRES))),
    "check_kmeans_step (empty centre)": Case(
        lambda fn: practice.check_kmeans_step.verdict(fn, PTS, EMPTY_CENTRE),
        em_lib.mixture_nd.kmeans_step(PTS, np.array(EMPTY_CENTRE))),
    "check_two_coins_em": _verdict(
        coins.check_two_coins_em, em_lib.two_coins_em, PAPER_HEADS, PAPER_TOSSES, 0.6, 0.5, 1),
    "check_three_coins_em": _verdict(coins.check_three_coins_em, em_lib.three_coins_em, Y_LI, 0.5, 0.5, 0.5, 1),
    "check_poisson_e_step": _verdict(deriving.check_poisson_e_step, em_lib.poisson_e_step, **POISSON_E),
    "check_poisson_e_step (large counts)": _verdict(
        deriving.check_poisson_e_step, em_lib.poisson_e_step, **POISSON_E_LARGE),
    "check_poisson_e_step_rows": _verdict(deriving.check_poisson_e_step_rows, em_lib.poisson_e_step, **POISSON_E),
    "check_poisson_m_step": _verdict(deriving.check_poisson_m_step, em_lib.poisson_m_step, **POISSON_M),
    "check_poisson_m_step weights": _verdict(
        deriving.check_poisson_m_step, em_lib.poisson_m_step, **POISSON_M, parts=("weights",)),
    "check_poisson_m_step rates": _verdict(
        deriving.check_poisson_m_step, em_lib.poisson_m_step, **POISSON_M, parts=("rates",)),
    "check_gaussian_missing_e_step": _verdict(
        deriving.check_gaussian_missing_e_step, em_lib.gaussian_missing_e_step, **MISSING_E_3),
    "check_gaussian_missing_e_step expected_x": _verdict(
        deriving.check_gaussian_missing_e_step, em_lib.gaussian_missing_e_step, **MISSING_E, parts=("expected_x",)),
    "check_gaussian_missing_e_step expected_xx": _verdict(
        deriving.check_gaussian_missing_e_step, em_lib.gaussian_missing_e_step, **MISSING_E, parts=("expected_xx",)),
    "check_gaussian_missing_e_step_seen": _verdict(
        deriving.check_gaussian_missing_e_step_seen, em_lib.gaussian_missing_e_step, **MISSING_E),
    "check_gaussian_missing_m_step mean": _verdict(
        deriving.check_gaussian_missing_m_step, em_lib.gaussian_missing_m_step, **MISSING_M, parts=("mean",)),
    "check_gaussian_missing_m_step cov": _verdict(
        deriving.check_gaussian_missing_m_step, em_lib.gaussian_missing_m_step, **MISSING_M, parts=("cov",)),
}

#: ``core.judge`` on its own: (inputs, reference, mistakes) of the kinds of answer the checks compare.
JUDGED = {
    "log_joint": (likelihood._inputs(likelihood.EXAMPLE_X, *HEIGHTS), em_lib.log_joint, likelihood.LOG_JOINT_MISTAKES),
    "log_likelihood": (likelihood._inputs(likelihood.EXAMPLE_X, *HEIGHTS), em_lib.log_likelihood,
                       likelihood.LOG_LIKELIHOOD_MISTAKES),
    "posterior": (TWO, em_lib.posterior, posterior.POSTERIOR_MISTAKES),
    "m_step": (M_STEP, em_lib.m_step, ()),
    "kmeans_step": (dict(X=PTS, centres=np.array(CENTRES)), em_lib.mixture_nd.kmeans_step, practice.KMEANS_MISTAKES),
    "n_gmm_params": (dict(K=2, d=2), em_lib.mixture_nd.n_gmm_params, practice.N_PARAMS_MISTAKES),
    "two_coins_em": (dict(heads=PAPER_HEADS, n_tosses=PAPER_TOSSES, theta_a=0.6, theta_b=0.5, n_iter=1),
                     em_lib.two_coins_em, coins.TWO_COINS_MISTAKES),
    "poisson_e_step": (POISSON_E, em_lib.poisson_e_step, deriving.POISSON_E_STEP_MISTAKES),
    "expected_x": (MISSING_E, lambda **kw: em_lib.gaussian_missing_e_step(**kw)[0], deriving.EXPECTED_X_MISTAKES),
}

# --------------------------------------------------------------------------
# What "total" means
# --------------------------------------------------------------------------

#: A message in words has at least two words in a row.
_WORDS = re.compile(r"[A-Za-z]{2,}[^A-Za-z0-9_]+_?[A-Za-z]{2,}")

#: A message that blames the learner's function for an exception it did not raise.
_RAISED = re.compile(r"\braised [A-Z]\w*(Error|Exception|Warning)\b")


def _learner(value):
    """The stand-in's behaviour: every call returns a fresh copy of ``value`` (decoded anew from the wire)."""
    def fn(*args, **kwargs):
        return copy.deepcopy(value)

    fn.__name__ = "learners_function"
    return fn


def _outcome(run, fn, warning_mode):
    """Run the check; return ("returned", result) or ("failed", message). Anything else propagates."""
    with warnings.catch_warnings():
        warnings.simplefilter(warning_mode)
        try:
            return "returned", run(fn)
        except AssertionError as exc:
            return "failed", str(exc)


def assert_total(run, fn):
    """The check ``run`` on ``fn`` (which returns normally) returns a confirmation or fails with a message in
    words, in the grader's warning mode and with warnings as errors; no message says that ``fn`` raised."""
    for warning_mode in ("ignore", "error"):
        kind, result = _outcome(run, fn, warning_mode)
        if kind == "returned":
            assert result is None or (isinstance(result, str) and result), repr(result)
            continue
        assert _WORDS.search(result), f"not a message in words: {result!r}"
        assert not _RAISED.search(result), f"the check's own exception blamed on the learner: {result!r}"


# --------------------------------------------------------------------------
# Every check, on any plain value and on near misses of the right answer
# --------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(CASES))
@given(value=plain_values())
def test_a_check_is_total_on_any_plain_value(name, value):
    assert_total(CASES[name].run, _learner(value))


_NEAR_MISSES = {name: near_misses(case.reference) for name, case in CASES.items()}


@pytest.mark.parametrize("name", list(CASES))
@given(data=st.data())
def test_a_check_is_total_on_near_misses_of_the_right_answer(name, data):
    value = data.draw(_NEAR_MISSES[name], label="answer")
    assert_total(CASES[name].run, _learner(value))


@pytest.mark.parametrize("name", list(CASES))
def test_the_right_answer_passes_with_warnings_as_errors(name):
    case = CASES[name]
    for warning_mode in ("ignore", "error"):
        kind, result = _outcome(case.run, _learner(case.reference), warning_mode)
        assert kind == "returned", result


class _BrokenStr(Exception):
    def __str__(self):
        raise ValueError("this exception cannot be printed")


class _Explained(Exception):
    """Like the grader's LearnerFailure: the words to show are in ``learner_explanation``."""

    learner_explanation = "did not finish: still running after 10 s"


class _NotWrittenHelper(NotImplementedError):
    pass


def _exception_classes():
    classes = [cls for cls in vars(builtins).values() if isinstance(cls, type) and issubclass(cls, Exception)]
    return sorted(classes, key=lambda cls: cls.__name__) + [_BrokenStr, _Explained, _NotWrittenHelper]


def _instance(cls, message):
    try:
        return cls(message)
    except Exception:
        return cls.__new__(cls)   # UnicodeDecodeError and the like need more arguments: an empty one


@pytest.mark.parametrize("name", list(CASES))
@given(cls=st.sampled_from(_exception_classes()), message=st.one_of(st.text(max_size=20), opaques.map(str)))
def test_a_learner_function_that_raises_fails_the_check_with_an_assertion_error(name, cls, message):
    def raises(*args, **kwargs):
        raise _instance(cls, message)

    for warning_mode in ("ignore", "error"):
        kind, result = _outcome(CASES[name].run, raises, warning_mode)
        assert kind == "failed"
        if issubclass(cls, AssertionError) and message.strip():
            assert result == message   # the learner's own failed assert, in the learner's words
        else:
            assert _WORDS.search(result), result


# --------------------------------------------------------------------------
# core.judge, core.close, core.describe_difference on their own
# --------------------------------------------------------------------------


_ANSWERS = {name: st.one_of(plain_values(), near_misses(reference(**inputs)))
            for name, (inputs, reference, _) in JUDGED.items()}


@pytest.mark.parametrize("name", list(JUDGED))
@given(data=st.data())
def test_judge_is_total(name, data):
    inputs, reference, mistakes = JUDGED[name]
    answer = data.draw(_ANSWERS[name], label="answer")
    assert_total(lambda fn: core.judge(inputs, fn(), reference, mistakes, what=f"{name}(...)"), _learner(answer))


@pytest.mark.parametrize("name", list(JUDGED))
@given(data=st.data())
def test_close_and_describe_difference_are_total(name, data):
    inputs, reference, _ = JUDGED[name]
    expected = reference(**inputs)
    got = data.draw(_ANSWERS[name], label="got")
    for warning_mode in ("ignore", "error"):
        with warnings.catch_warnings():
            warnings.simplefilter(warning_mode)
            assert isinstance(core.close(got, expected), bool)
            description = core.describe_difference(got, expected, f"{name}(...)")
            assert isinstance(description, str) and _WORDS.search(description), description


# --------------------------------------------------------------------------
# What the learner reads for the answers that used to crash a check
# --------------------------------------------------------------------------


def _message(name, value):
    kind, result = _outcome(CASES[name].run, _learner(value), "error")
    assert kind == "failed"
    return result


def _nested(depth):
    value = 1.0
    for _ in range(depth):
        value = [value]
    return value


@pytest.mark.parametrize("value, words", [
    (None, "should be numeric, got NoneType"),
    (10**400, "should be numeric, got an int too large for a float"),
    ("-3.5", "should be numeric, got str"),           # text is not a number, even text of one
    ([[1.0], [1.0, 2.0]], "should be numeric, got list"),
    (_nested(65), "should be numeric, got list"),
    (np.full((5, 2), -3.0 + 1.0j), "should be real numbers, got complex numbers"),
])
def test_answers_that_are_not_real_numbers_are_named(value, words):
    assert words in _message("check_log_joint", value)


def test_a_complex_answer_with_imaginary_parts_zero_is_its_real_part():
    reference = CASES["check_log_joint"].reference
    assert _outcome(CASES["check_log_joint"].run, _learner(reference.astype(complex)), "error")[0] == "returned"


def test_a_single_number_that_is_not_one_is_named():
    assert _message("check_log_likelihood_is_number", [[1.0], [1.0, 2.0]]).endswith("should return a number, got list")
    assert _message("check_log_likelihood_is_number", "-12.5").endswith("should return a number, got str")
    assert _message("check_jensen_gap_nonnegative", 10**400).endswith("got an int too large for a float of shape ()")


def test_kmeans_step_does_not_blame_the_learner_for_centres_it_cannot_read():
    labels = CASES["check_kmeans_step"].reference[0]
    message = _message("check_kmeans_step", (labels, [[1.0], [1.0, 2.0]]))
    assert "item 1 returned by the result should be numeric, got list" in message
    assert "raised" not in message


def test_fit_em_history_names_parameters_that_are_not_a_mixture():
    weights, means, variances, history = CASES["check_fit_em_history"].reference
    message = _message("check_fit_em_history", (None, means, variances, history))
    assert message.startswith("the weights returned by fit_em(...) should be a NumPy array of numbers, got NoneType")
    message = _message("check_fit_em_history", (weights * 2, means, variances, history))
    assert "are not the parameters of a mixture (weights must sum to 1, but sums to 2" in message


def test_fit_em_history_calls_the_learners_function_once():
    calls = []

    def fit_em(**inputs):
        calls.append(1)
        return CASES["check_fit_em_history"].reference

    assert CASES["check_fit_em_history"].run(fit_em) == "fit_em(...): the history is right"
    assert len(calls) == 1


def test_an_exception_without_words_is_still_reported_in_words():
    def raises(exc):
        def fn(*args, **kwargs):
            raise exc
        return fn

    run = CASES["check_posterior"].run
    assert _outcome(run, raises(ZeroDivisionError()), "error") == ("failed", "posterior(...) raised ZeroDivisionError")
    assert _outcome(run, raises(_BrokenStr()), "error") == ("failed", "posterior(...) raised _BrokenStr")
    assert _outcome(run, raises(AssertionError()), "error") == (
        "failed", "posterior(...) raised AssertionError (an `assert` in your code failed, with no message)")
