"""Tests of em_lib.feedback.core: what a learner reads when a check passes or fails.

The learner's functions here are small stand-ins written in the test: a right one, one
with a classic mistake, one never written, and ones whose output has the wrong shape,
is transposed, or holds NaN or inf.
"""

import warnings

import numpy as np
import pytest

from em_lib import log_joint, log_likelihood, m_step, posterior
from em_lib.datasets import HEIGHTS_TRUE
from em_lib.feedback.core import Mistake, check, close, describe_difference, finite_float, run_self_check

X = np.array([150.0, 165.0, 172.0, 190.0])
KWARGS = dict(x=X, weights=HEIGHTS_TRUE[0], means=HEIGHTS_TRUE[1], variances=HEIGHTS_TRUE[2])


def with_sd_instead_of_variance(x, weights, means, variances):
    """The classic: the variances passed on as if they were standard deviations."""
    return log_likelihood(x, weights, means, np.asarray(variances) ** 2)


SD_MISTAKE = Mistake("You used the variance where the standard deviation goes.", with_sd_instead_of_variance)


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
    with pytest.raises(AssertionError) as info:
        check(with_sd_instead_of_variance, KWARGS, log_likelihood, mistakes=[SD_MISTAKE], what="log_likelihood")
    assert str(info.value) == "log_likelihood is not right. You used the variance where the standard deviation goes."


def test_the_first_matching_mistake_wins_and_mistakes_that_crash_are_skipped():
    def crashes(**kwargs):
        raise ZeroDivisionError

    first = Mistake("first explanation", with_sd_instead_of_variance)
    second = Mistake("second explanation", with_sd_instead_of_variance)
    with pytest.raises(AssertionError, match="first explanation"):
        check(with_sd_instead_of_variance, KWARGS, log_likelihood, mistakes=[Mistake("crash", crashes), first, second])


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


def test_finite_float():
    assert finite_float(np.float64(2.5), "l") == 2.5
    with pytest.raises(AssertionError, match="l should be finite, got -inf"):
        finite_float(-np.inf, "l")
    with pytest.raises(AssertionError, match="l should be a single number, got ndarray"):
        finite_float(np.ones(3), "l")


# ---------------------------------------------------------------------------
# Calling em_lib's reference (issue 4): watched with sys.setprofile
# ---------------------------------------------------------------------------

import builtins  # noqa: E402
import functools  # noqa: E402
import sys  # noqa: E402
import types  # noqa: E402

import em_lib  # noqa: E402
from em_lib.feedback import core  # noqa: E402
from em_lib.feedback import likelihood as feedback_likelihood  # noqa: E402
from em_lib.feedback import practice, steps  # noqa: E402

CALLS_THE_REFERENCE = "calls em_lib's reference"


def _my_log_joint(x, weights, means, variances):
    """A right log_joint written out, calling no reference."""
    x = np.asarray(x, dtype=float)[:, None]
    return np.log(weights) - 0.5 * np.log(2 * np.pi * variances) - 0.5 * (x - means) ** 2 / variances


_captured = em_lib.mixture1d.log_joint  # an alias captured before the learner's function


def _through_alias(x, weights, means, variances):
    return _captured(x, weights, means, variances)


def _through_package(x, weights, means, variances):
    return em_lib.log_joint(x, weights, means, variances)


_rebuilt = types.FunctionType(em_lib.log_joint.__code__, em_lib.mixture1d.__dict__, "log_joint")


@pytest.mark.parametrize(
    "fn",
    [em_lib.log_joint, _through_alias, _through_package, functools.partial(em_lib.log_joint), _rebuilt,
     lambda **kw: [em_lib.log_joint(**kw)][0]],
    ids=["the reference itself", "alias captured earlier", "em_lib.log_joint", "partial", "rebuilt from its code",
         "lambda"],
)
def test_calling_the_reference_fails_however_it_is_reached(fn):
    with core.reference_calls_forbidden():
        with pytest.raises(AssertionError, match="your log_joint calls em_lib's reference log_joint; "
                                                 "the exercise is to write it yourself"):
            check(fn, KWARGS, log_joint, what="log_joint(x, weights, means, variances)")
        assert check(_my_log_joint, KWARGS, log_joint, what="log_joint(...)").endswith("correct")


def test_outside_a_notebook_the_reference_passes_as_a_right_answer():
    """em_lib's own tests use the reference as the right answer: only grading forbids it."""
    assert not core._grading()
    assert check(em_lib.log_joint, KWARGS, log_joint, what="log_joint(...)").endswith("correct")


def test_the_reference_of_an_earlier_step_stays_allowed():
    def my_log_likelihood(x, weights, means, variances):
        a = em_lib.log_joint(x, weights, means, variances)
        top = a.max(axis=1, keepdims=True)
        return float((top[:, 0] + np.log(np.exp(a - top).sum(axis=1))).sum())

    with core.reference_calls_forbidden():
        assert check(my_log_likelihood, KWARGS, log_likelihood, what="log_likelihood(...)").endswith("correct")
        with pytest.raises(AssertionError, match="your log_likelihood calls em_lib's reference log_likelihood"):
            check(lambda **kw: em_lib.log_likelihood(**kw), KWARGS, log_likelihood, what="log_likelihood(...)")


def test_e_step_and_posterior_forbid_each_other_and_fit_em_may_call_the_steps():
    with core.reference_calls_forbidden():
        with pytest.raises(AssertionError, match="your e_step calls em_lib's reference posterior"):
            steps.check_e_step(lambda **kw: em_lib.posterior(**kw), **KWARGS)
        with pytest.raises(AssertionError, match="your posterior calls em_lib's reference e_step"):
            check(lambda **kw: em_lib.e_step(**kw), KWARGS, posterior, what="posterior(...)")

        def fit_em(x, weights, means, variances, n_iter):
            history = []
            for _ in range(n_iter):
                weights, means, variances = em_lib.m_step(x, em_lib.e_step(x, weights, means, variances))
                history.append(em_lib.log_likelihood(x, weights, means, variances))
            return weights, means, variances, np.array(history)

        inputs = dict(KWARGS, n_iter=3)
        assert steps.check_fit_em(fit_em, **inputs).endswith("correct")
        with pytest.raises(AssertionError, match="your fit_em calls em_lib's reference fit_em"):
            steps.check_fit_em(lambda **kw: em_lib.fit_em(**kw), **inputs)


def test_m_step_checked_array_by_array_still_names_the_reference():
    with core.reference_calls_forbidden():
        with pytest.raises(AssertionError, match="your m_step calls em_lib's reference m_step"):
            steps.check_m_step(lambda **kw: em_lib.m_step(**kw), parts=("means",), x=X, resp=RESP)


def test_the_feedback_modules_reference_helpers_are_references_too():
    with core.reference_calls_forbidden():
        with pytest.raises(AssertionError, match="your n_gmm_params calls em_lib's reference (reference_n_gmm_params|n_params);"):
            practice.check_n_gmm_params(lambda K, d: practice.reference_n_gmm_params(K, d), 2, 3)
        with pytest.raises(AssertionError, match="your kmeans_step calls em_lib's reference (reference_)?kmeans_step;"):
            practice.check_kmeans_step(practice.reference_kmeans_step, practice.SMALL_X, practice.SMALL_X[:2])


def test_a_value_that_calls_the_reference_when_converted_is_caught():
    """An object whose ``__array__`` computes the answer later is converted while the call is watched."""

    class Lazy:
        def __init__(self, kw):
            self.kw = kw

        def __array__(self, dtype=None, copy=None):
            return em_lib.log_joint(**self.kw)

    with core.reference_calls_forbidden():
        with pytest.raises(AssertionError, match=CALLS_THE_REFERENCE):
            check(lambda **kw: Lazy(kw), KWARGS, log_joint, what="log_joint(...)")


def _removes_the_profiler(**kw):
    sys.setprofile(None)
    return em_lib.log_joint(**kw)


def _pauses_the_profiler(**kw):
    watching = sys.getprofile()
    sys.setprofile(None)
    try:
        return em_lib.log_joint(**kw)
    finally:
        sys.setprofile(watching)


@pytest.mark.parametrize("fn", [_removes_the_profiler, _pauses_the_profiler])
def test_a_learner_that_touches_the_profiler_fails(fn):
    before = sys.getprofile()
    with core.reference_calls_forbidden():
        with pytest.raises(AssertionError, match=r"changed the Python profiler \(sys.setprofile\)"):
            check(fn, KWARGS, log_joint, what="log_joint(...)")
    assert sys.getprofile() is before  # the previous profiler is back


# ---------------------------------------------------------------------------
# Replaced helpers gain nothing (issue 4)
# ---------------------------------------------------------------------------

def _forgets_the_weights(x, weights, means, variances):
    return _my_log_joint(x, np.ones_like(np.asarray(weights)), means, variances)


def test_always_pass_numpy_and_builtins_helpers_do_not_pass_a_wrong_answer():
    originals = {name: getattr(np, name) for name in ("allclose", "isclose", "all", "abs", "isnan", "where")}
    saved_builtins = {name: getattr(builtins, name) for name in ("abs", "all", "isinstance", "len", "max", "float")}
    try:
        np.allclose = np.all = lambda *a, **k: True
        np.isclose = lambda a, b, *r, **k: np.ones(np.shape(a), dtype=bool)
        np.abs = lambda a: 0.0 * a
        np.isnan = lambda a: False
        builtins.abs = lambda a: 0.0
        builtins.all = lambda *a: True
        builtins.max = lambda *a, **k: 0.0
        with pytest.raises(AssertionError, match="differs from the reference"):
            check(_forgets_the_weights, KWARGS, log_joint, what="log_joint(...)")
        # ... and they were put back by the check, so nothing else runs on them
        assert {name: getattr(np, name) for name in originals} == originals
        assert builtins.abs is saved_builtins["abs"] and builtins.max is saved_builtins["max"]
    finally:
        for name, value in originals.items():
            setattr(np, name, value)
        for name, value in saved_builtins.items():
            setattr(builtins, name, value)
    assert core.TAMPERING[-1:] != []


def test_close_itself_uses_its_own_helpers():
    """Even when a helper is replaced between two checks (nothing put back yet), close is not fooled."""
    saved = (np.all, np.abs, builtins.isinstance, builtins.len)
    try:
        np.all = lambda *a, **k: True
        np.abs = lambda a: 0.0 * a
        builtins.isinstance = lambda *a: True
        builtins.len = lambda a: 1
        assert not close(np.array([1.0, 2.0]), np.array([1.0, 3.0]))
        assert not close((np.ones(2),), (np.ones(2), 1.0))
    finally:
        np.all, np.abs, builtins.isinstance, builtins.len = saved


def test_a_replaced_reference_or_check_is_put_back_and_fails_the_check():
    """The topic module looks its reference up before core runs: core refuses a reference that is
    not em_lib's code, puts em_lib back, and the next check (the next cell) uses the original."""
    saved = (feedback_likelihood.log_joint, em_lib.log_joint, core.close.__code__, core.check.__defaults__)
    try:
        feedback_likelihood.log_joint = _forgets_the_weights  # the "reference" becomes the wrong answer
        em_lib.log_joint = _forgets_the_weights
        core.close.__code__ = (lambda got, expected, rtol=0, atol=0: True).__code__
        core.check.__defaults__ = ((), None, 1e10, 1e10)
        with core.reference_calls_forbidden():  # as in a notebook, where every check is graded
            with pytest.raises(AssertionError, match="the reference this check compares with is not em_lib's"):
                feedback_likelihood.check_log_joint(_forgets_the_weights, X, *HEIGHTS_TRUE)
        assert feedback_likelihood.log_joint is saved[0] and em_lib.log_joint is saved[1]
        assert core.close.__code__ is saved[2] and core.check.__defaults__ is saved[3]
        with pytest.raises(AssertionError, match="is not right"):
            feedback_likelihood.check_log_joint(_forgets_the_weights, X, *HEIGHTS_TRUE)
    finally:
        feedback_likelihood.log_joint, em_lib.log_joint = saved[0], saved[1]
        core.close.__code__, core.check.__defaults__ = saved[2], saved[3]


def test_a_learner_that_patches_while_it_runs_fails_and_the_patch_is_undone():
    original = np.allclose

    def patches(x, weights, means, variances):
        np.allclose = lambda *a, **k: True
        return _my_log_joint(x, weights, means, variances)

    try:
        with pytest.raises(AssertionError, match=r"replaced numpy.allclose while it ran"):
            check(patches, KWARGS, log_joint, what="log_joint(...)")
        assert np.allclose is original
    finally:
        np.allclose = original


def test_a_right_answer_next_to_patched_helpers_keeps_passing():
    saved = np.testing.assert_allclose
    try:
        np.testing.assert_allclose = lambda *a, **k: None
        assert check(_my_log_joint, KWARGS, log_joint, what="log_joint(...)").endswith("correct")
    finally:
        np.testing.assert_allclose = saved


# ---------------------------------------------------------------------------
# In a notebook: put back before every cell, watch cells that call the learner directly
# ---------------------------------------------------------------------------

class _Shell:
    """The part of an IPython shell the notebook guard uses."""

    def __init__(self, user_ns):
        self.user_ns = user_ns


class _Info:
    def __init__(self, raw_cell):
        self.raw_cell = raw_cell


def test_the_notebook_guard_puts_module_names_back_and_flags_a_direct_reference_call():
    errors = []
    ns = {"np": np, "feedback": feedback_likelihood}
    guard = core._NotebookGuard(_Shell(ns))
    guard.stderr = types.SimpleNamespace(write=errors.append, flush=lambda: None)
    guard.before_cell(_Info("import numpy as np"))      # the first cell's names are recorded
    guard.after_cell()
    ns["feedback"] = types.SimpleNamespace(check_log_joint=lambda *a, **k: None)
    guard.before_cell(_Info("feedback.check_log_joint(log_joint, x)"))
    assert ns["feedback"] is feedback_likelihood
    guard.after_cell()
    assert errors == []

    ns["log_joint"] = _through_alias                   # a cell that calls the learner's function directly
    before = sys.getprofile()
    guard.before_cell(_Info("q = log_joint(x, w, m, v)\nassert q.shape == (4, 2)"))
    _through_alias(**KWARGS)
    guard.after_cell()
    assert sys.getprofile() is before
    assert errors and "your log_joint calls em_lib's reference log_joint" in errors[0]

    errors.clear()
    ns["log_joint"] = _my_log_joint                    # a right one, checked in the same cell
    guard.before_cell(_Info("q = log_joint(x, w, m, v)\nfeedback.check_log_joint(log_joint, x, w, m, v)"))
    _my_log_joint(**KWARGS)
    with core.reference_calls_forbidden():
        feedback_likelihood.check_log_joint(_my_log_joint, X, *HEIGHTS_TRUE)
    guard.after_cell()
    assert errors == []


def test_the_notebook_guard_flags_a_cell_whose_learner_pauses_the_profiler():
    errors = []
    ns = {"np": np}
    guard = core._NotebookGuard(_Shell(ns))
    guard.stderr = types.SimpleNamespace(write=errors.append, flush=lambda: None)
    guard.before_cell(_Info("import numpy as np"))
    guard.after_cell()
    ns["log_joint"] = _pauses_the_profiler
    before = sys.getprofile()
    guard.before_cell(_Info("q = log_joint(x, w, m, v)"))
    _pauses_the_profiler(**KWARGS)
    guard.after_cell()
    assert sys.getprofile() is before
    assert errors and "changed the Python profiler" in errors[0]
