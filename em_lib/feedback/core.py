"""The machinery behind every self-check and graded test: compare, then explain.

A check calls the learner's function, compares the answer with em_lib's reference, and
when they differ, compares it with the answers that the classic mistakes would give. The
message then names the mistake in words ("the responsibilities were normalised over
samples instead of components") rather than only saying "not close".

The comparison is :func:`judge`, a pure function of (inputs, answer): it never runs the
learner's code. :func:`check` is ``call_learner`` then ``judge``. The same checks run in two
places:

- in the learner's JupyterLab, in the self-check cells and the test cells, with the
  learner's real function. There :func:`call_learner` also tells the learner when the
  function calls em_lib beyond what the exercise allows (``em_lib.contract``), since
  graded code runs without em_lib;
- in the grader (``course_grading.runner``), where the function is a stand-in that runs the
  learner's code in a sandbox and returns plain data; the references, the mistakes and
  these comparisons stay out of the learner's reach.

Importing this module does nothing else: no hooks, no patches.
"""

import contextlib
import copy
import functools
import os
import re
import sys
import types
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from .. import contract

RTOL = 1e-6
ATOL = 1e-8


#: What a mistake id looks like: snake_case, the name an instructor reads in the class report.
MISTAKE_ID = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclass(frozen=True)
class Misconception:
    """A classic misconception: a stable ``id`` and the words the learner sees.

    The ``id`` (snake_case, e.g. ``resp_summed_over_wrong_axis``) is what the grader records in a
    failed test's verdict and the class report counts; the ``explanation`` is what the learner
    reads. A misconception that more than one wrong answer expresses (one table, two ways of getting
    it), or that a check names outside :func:`judge`, is written once as a ``Misconception`` so
    that its id and its words cannot drift apart.
    """

    id: str
    explanation: str

    def __post_init__(self):
        if not isinstance(self.id, str) or not MISTAKE_ID.match(self.id):
            raise ValueError(f"a mistake id is snake_case ([a-z][a-z0-9_]*), got {self.id!r}")

    def with_answer(self, answer, more=""):
        """The :class:`Mistake` of this misconception whose wrong answer is ``answer`` (a Mistake's own id
        and words, with another answer); ``more`` is added to the words (how it shows in one table)."""
        return Mistake(self.id, self.explanation + more, answer)

    def found(self, what, note=""):
        """The :class:`MistakeFound` that says ``what`` is not right and names this misconception."""
        return self.named_in(f"{what} is not right. {self.explanation}{note}")

    def named_in(self, message):
        """The :class:`MistakeFound` with ``message``, a message that names this misconception in words."""
        return MistakeFound(message, self.id, self.explanation)


@dataclass(frozen=True)
class Mistake(Misconception):
    """A classic mistake: its id, what the learner sees, and the wrong answer it produces.

    ``answer`` takes the same keyword arguments as the function under test and
    returns what a function with this mistake would return (it may raise, in
    which case the mistake is skipped for these inputs).
    """

    answer: Callable[..., Any]


class MistakeFound(AssertionError):
    """A wrong answer that a classic mistake explains: the message names it in words.

    ``mistake`` is its id and ``explanation`` its words. The grader records ``mistake`` in the failed
    test's verdict (``course_grading.runner``), read from this exception, never parsed from the text.
    """

    def __init__(self, message, mistake, explanation=""):
        super().__init__(message)
        self.mistake = mistake
        self.explanation = explanation

    def __reduce__(self):
        return type(self), (str(self), self.mistake, self.explanation)

    def reworded(self, message):
        """The same mistake found, said with ``message``."""
        return MistakeFound(message, self.mistake, self.explanation)


def reworded(exc, message):
    """``exc``, an AssertionError raised by a check, said with ``message``: a :class:`MistakeFound` keeps its
    mistake id; any other becomes a plain AssertionError."""
    if isinstance(exc, MistakeFound):
        return exc.reworded(message)
    return AssertionError(message)


def mistake_catalogue():
    """``{id: explanation}`` of every classic mistake in the ``em_lib.feedback`` modules, sorted by id.

    The words a report shows for an id a verdict recorded. It collects each module's
    :class:`Misconception` and :class:`Mistake` objects (alone, or in tuples and lists); where
    one id has several texts (a table that adds a word on how the mistake shows there), the
    shortest, the base text, is kept.
    """
    texts = {}
    for module in _feedback_modules():
        for value in vars(module).values():
            for found in _misconceptions_in(value):
                texts.setdefault(found.id, set()).add(found.explanation)
    return {id_: min(sorted(words), key=len) for id_, words in sorted(texts.items())}


def _feedback_modules():
    """The modules of ``em_lib.feedback``, imported."""
    import importlib  # noqa: PLC0415
    import pkgutil  # noqa: PLC0415

    package = importlib.import_module(__package__)
    return [importlib.import_module(f"{__package__}.{info.name}") for info in pkgutil.iter_modules(package.__path__)]


def _misconceptions_in(value):
    if isinstance(value, Misconception):
        yield value
    elif isinstance(value, (tuple, list)):
        for item in value:
            yield from _misconceptions_in(item)


#: What may stand for a real number inside a list (NumPy makes such a list an object array when
#: an int is too large for int64).
_REAL_NUMBERS = (bool, int, float, np.bool_, np.integer, np.floating)


def as_real_array(value):
    """``value`` as a float64 array, or None when it is not real numbers.

    A learner's function may return anything; graded, it comes back from the sandbox as plain
    data (see ``course_grading.sandbox.wire``). Numbers, NumPy arrays and (nested) lists of
    numbers are converted as ``np.asarray(value, dtype=float)`` converts them. None is not a
    number, nor is text (even "1.5"), an ``Opaque`` stand-in, a dict, a ragged or too deeply
    nested list, an int too large for a float64, or a complex number whose imaginary part is
    not 0 (complex numbers with imaginary part 0 are their real part, as NumPy's cast has it).
    Never raises.
    """
    try:
        raw = np.asarray(value)
        if raw.dtype.kind == "c":
            if np.any(raw.imag != 0):
                return None
            raw = raw.real
        elif raw.dtype.kind == "O":
            # an object array of the learner's own (in the notebook) is cast as the wire casts it;
            # a list becomes one when it holds something else than numbers, or a huge int
            if not isinstance(value, np.ndarray) and not all(isinstance(v, _REAL_NUMBERS) for v in raw.reshape(-1)):
                return None
        elif raw.dtype.kind not in "biuf":
            return None  # text, bytes, dates
        return raw.astype(np.float64)
    except (TypeError, ValueError, OverflowError, RecursionError):
        return None


def _is_complex(value):
    """True when ``value`` holds complex numbers with an imaginary part that is not 0."""
    try:
        raw = np.asarray(value)
        return raw.dtype.kind == "c" and bool(np.any(raw.imag != 0))
    except (TypeError, ValueError, OverflowError, RecursionError):
        return False


def shape_of(value):
    """``np.shape(value)``, or None when ``value`` has no shape (a ragged or too deeply nested list)."""
    try:
        return np.shape(value)
    except (TypeError, ValueError, OverflowError, RecursionError):
        return None


def _as_array(value):
    if isinstance(value, tuple):
        return tuple(_as_array(v) for v in value)
    return as_real_array(value)


def close(got, expected, rtol=RTOL, atol=ATOL):
    """True when ``got`` matches ``expected`` in structure, shape and value (NaN never matches)."""
    if isinstance(expected, tuple):
        return (
            isinstance(got, (tuple, list))
            and len(got) == len(expected)
            and all(close(g, e, rtol, atol) for g, e in zip(got, expected))
        )
    g, e = _as_array(got), np.asarray(expected, dtype=np.float64)
    if g is None or isinstance(g, tuple) or g.shape != e.shape:
        return False
    # An infinite reference (log 0 of a zero weight) is matched only by the same infinity:
    # a large finite stand-in such as log(1e-300) = -690.8 is a different answer.
    with np.errstate(invalid="ignore", over="ignore"):
        ok = np.where(np.isinf(e), g == e, np.abs(g - e) <= atol + rtol * np.abs(e))
    return bool(np.all(ok & ~np.isnan(g)))


def kind_of(value):
    """What ``value`` is, in a few words: ``str``, ``list``, or the grader's description of a value
    that could not cross from the sandbox (``a generator object``)."""
    description = getattr(value, "description", None) if type(value).__name__ == "Opaque" else None
    if isinstance(description, str):
        return description
    if type(value) is int and abs(value) > sys.float_info.max:
        return "an int too large for a float"
    if isinstance(value, np.ndarray) and value.dtype.kind == "c":
        return "ndarray of complex numbers"
    return type(value).__name__


def not_a_tuple(what, got, items, hint=""):
    """What is wrong when ``got`` is not a tuple (or list) of ``items``; None when it is one.

    ``items`` is how many items there should be, or their names: then the message shows the
    ``return`` line to end with. ``hint`` is added to the message.
    """
    names = tuple(items) if isinstance(items, (tuple, list)) else None
    count = len(names) if names is not None else items
    if isinstance(got, (tuple, list)) and len(got) == count:
        return None
    kind = kind_of(got) + (f" of length {len(got)}" if isinstance(got, (tuple, list)) else "")
    if names is None:
        return f"{what} should return a tuple of {count} items, but returned {kind}{hint}"
    listed = ", ".join(names)
    return f"{what} should return a tuple ({listed}), got {kind}: end with `return {listed}`{hint}"


def learner_tuple(fn, kwargs, what, items, hint=""):
    """Call the learner's function once (:func:`call_learner`) and insist on a tuple (or list) of
    ``items`` (see :func:`not_a_tuple`); returns the answer."""
    got = call_learner(fn, kwargs, what)
    message = not_a_tuple(what, got, items, hint)
    if message is not None:
        raise AssertionError(message)
    return got


def finite_array(value, shape):
    """``value`` as a finite float64 array of ``shape``, or None when it is not one (a learner's own
    item that another one is judged around)."""
    arr = as_real_array(value)
    if arr is None or arr.shape != shape or not np.isfinite(arr).all():
        return None
    return arr


def weights_sum_to_one(weights, K, why, kind="a NumPy array", misshapen=None):
    """Raise when the mixing ``weights`` an M-step returned are not an array of shape (K,) summing to 1.

    ``kind`` is what the message says the weights should be, ``why`` ends the message on a sum that is
    not 1 (why it is 1), and ``misshapen`` maps a wrong shape to the :class:`Misconception` it shows,
    named with the message on the shape.
    """
    array = as_real_array(weights)
    if array is None:
        raise AssertionError(f"the weights should be {kind}, got {kind_of(weights)}")
    if array.shape != (K,):
        message = f"the weights should have shape (K,) = ({K},), got {array.shape}"
        misconception = (misshapen or {}).get(array.shape)
        if misconception is not None:
            raise misconception.named_in(f"{message}. {misconception.explanation}")
        raise AssertionError(message)
    with np.errstate(all="ignore"):
        total = float(np.sum(array))
    if not abs(total - 1.0) < 1e-9:
        raise AssertionError(f"the weights sum to {total:.6g}, not 1: {why}")


def parts_verdict(what, parts, every):
    """The confirmation of a check of the ``parts`` (names) of what ``what`` returned: ``what: correct``
    when they are ``every`` part, else the parts named."""
    if tuple(parts) == tuple(every):
        return f"{what}: correct"
    return f"{what}: {', '.join(parts)} correct"


def describe_difference(got, expected, what):
    """A plain-words account of how ``got`` differs from ``expected``."""
    if isinstance(expected, tuple):
        message = not_a_tuple(what, got, len(expected))
        if message is not None:
            return message
        for i, (g, e) in enumerate(zip(got, expected)):
            if not close(g, e):
                return describe_difference(g, e, f"item {i} returned by {what}")
        return f"{what} is correct"
    g, e = _as_array(got), np.asarray(expected, dtype=np.float64)
    if g is None and _is_complex(got):
        return (
            f"{what} should be real numbers, got complex numbers (an imaginary part is not 0): in Python a "
            "power of a negative number, such as (-2.0) ** 0.5, is complex; so is np.emath.sqrt or np.emath.log "
            "of one"
        )
    if g is None or isinstance(g, tuple):
        return f"{what} should be numeric, got {kind_of(got)}"
    if g.shape != e.shape:
        hint = ""
        if g.ndim == 2 and g.shape == e.shape[::-1]:
            hint = " (transposed: rows should be samples i, columns components k)"
        elif e.ndim == 0:
            hint = " (a single number was expected: did you forget to sum over the samples?)"
        elif g.ndim == 0:
            hint = " (an array was expected: one value per sample, or per sample and component)"
        return f"{what} should have shape {e.shape}, got {g.shape}{hint}"
    if np.isnan(g).any() and not np.isnan(e).any():
        return (
            f"{what} contains NaN where the reference is finite: a 0/0 or inf - inf somewhere, "
            "often a density that underflowed to 0 before a log or a division"
        )
    if np.isinf(g).any() and np.isfinite(e).all():
        return (
            f"{what} contains inf where the reference is finite: log(0) of a density that "
            "underflowed; work in log space (log-sum-exp) instead of summing densities"
        )
    with np.errstate(invalid="ignore", over="ignore"):
        diff = np.where(g == e, 0.0, np.abs(g - e))  # equal infinities do not differ
    i = np.unravel_index(int(np.argmax(diff)), diff.shape) if diff.ndim else ()
    where = f" at index {tuple(int(v) for v in i)}" if i else ""
    return f"{what} differs from the reference{where}: got {float(g[i]):.10g}, expected {float(e[i]):.10g}"


def call_learner(fn, kwargs, what):
    """Call the learner's function; turn a crash into an ``AssertionError`` that explains it.

    In a notebook's kernel, a learner's function that calls em_lib (or scikit-learn) beyond
    what its exercise may call fails here with a message saying so, as it would fail when
    graded (see :func:`watching_em_lib`).
    """
    watch = _LearnerWatch(fn, what) if _in_kernel() and type(fn) is types.FunctionType else None
    try:
        with watch or contextlib.nullcontext():
            result = fn(**kwargs)
    except AssertionError as exc:
        if _text_of(exc).strip():
            raise  # an assert of the learner's, with its words, or a check's own failure (a wrapper's)
        raise AssertionError(f"{what} raised AssertionError (an `assert` in your code failed, with no message)") from exc
    except Exception as exc:  # the learner's code may raise anything
        raise _crash(exc, what)  # noqa: B904 (its cause is set there)
    if watch and watch.seen:
        raise AssertionError(watch.message())
    return result


def _crash(exc, what):
    """The AssertionError that says in words how the learner's function failed with ``exc``."""
    if isinstance(exc, NotImplementedError):
        return _with_cause(f"{what} is not written yet: replace `raise NotImplementedError()` with your code", None)
    try:
        explanation = getattr(exc, "learner_explanation", None)  # the grader's words (course_grading.runner)
    except Exception:
        explanation = None
    if isinstance(explanation, str) and explanation:
        return _with_cause(f"{what} {explanation}", None)
    text = _text_of(exc)
    return _with_cause(f"{what} raised {type(exc).__name__}" + (f": {text}" if text else ""), exc)


def _with_cause(message, cause):
    """An AssertionError with ``message`` whose cause is ``cause`` (None hides the context, as
    ``raise ... from None`` does)."""
    error = AssertionError(message)
    error.__cause__ = cause
    return error


def _text_of(exc):
    """``str(exc)``, or "" when the exception cannot be printed (its ``__str__`` raises)."""
    try:
        text = str(exc)
    except Exception:
        return ""
    return text if isinstance(text, str) else ""


def judge(inputs, answer, reference, mistakes=(), what="the result", rtol=RTOL, atol=ATOL, note=""):
    """The verdict on ``answer``, returned by the learner's function for ``inputs``.

    A pure function of (inputs, answer): it computes the reference and the classic mistakes'
    answers on ``inputs``, never runs the learner's code. Returns a one-line confirmation when
    right; raises :class:`MistakeFound` naming the first mistake that matches, or
    :class:`Unexplained` saying how the answer differs, when wrong. ``note`` is appended to a failure message.
    """
    expected = reference(**inputs)
    if close(answer, expected, rtol, atol):
        return f"{what}: correct"
    for mistake in mistakes:
        try:
            wrong = mistake.answer(**inputs)
        except Exception:
            continue
        if close(answer, wrong, rtol, atol):
            raise mistake.found(what, note)
    raise Unexplained(f"{what} is not right: {describe_difference(answer, expected, 'the result')}{note}", inputs)


class Unexplained(AssertionError):
    """A wrong answer that no classic mistake explains. A self-check shows the inputs with it (they are
    the visible ones), so the learner can rerun the function on them; a graded test shows only the message."""

    def __init__(self, message, inputs):
        super().__init__(message)
        self.inputs = inputs


def describe_inputs(inputs, width=100):
    """``name = value`` lines, arrays cut to a few entries: what a learner needs to rerun a failed check."""
    lines = []
    for name, value in inputs.items():
        try:
            text = np.array2string(np.asarray(value), threshold=8, edgeitems=3, precision=6, max_line_width=width)
        except Exception:  # noqa: BLE001 (anything that does not print as an array prints as itself)
            text = repr(value)
        text = " ".join(text.split())
        lines.append(f"{name} = {text if len(text) <= width else text[: width - 5] + ' ...'}")
    return lines


def graded(verdict):
    """The graded form of a check whose ``verdict(...)`` returns a one-line confirmation.

    It prints ``✓ <confirmation>`` and returns None, so every graded test cell shows its checks the
    same way and ends on a statement (nbgrader would read a last value as a partial score). The
    quiet ``graded_check.verdict`` is what the self-checks call.
    """

    @functools.wraps(verdict)
    def graded_check(*args, **kwargs):
        print("✓ " + verdict(*args, **kwargs))

    graded_check.verdict = verdict
    return graded_check


def check(fn, kwargs, reference, mistakes=(), what=None, rtol=RTOL, atol=ATOL):
    """Check ``fn(**kwargs)`` against ``reference(**kwargs)``; explain the first matching mistake.

    Returns a one-line confirmation when right; raises ``AssertionError`` with the
    explanation when wrong.
    """
    what = what or f"{getattr(fn, '__name__', 'your function')}(...)"
    # The learner's function gets copies: an in-place edit (``variances **= 2``) must not
    # change the caller's data (e.g. em_lib.datasets.HEIGHTS_TRUE) nor the inputs that the
    # mistakes are evaluated on.
    given = {name: _copy(value) for name, value in kwargs.items()}
    got = call_learner(fn, given, what)
    changed = [name for name in kwargs if changed_in_place(fn, name, given[name], kwargs[name])]
    note = (
        f" (Your function also changed its input {', '.join(changed)} in place, e.g. with -= or **=; "
        "compute new arrays instead, so the caller's data stay as they were.)"
        if changed else ""
    )
    return judge(kwargs, got, reference, mistakes, what, rtol, atol, note)


def _copy(value):
    """A deep copy when one can be made (arrays, lists, numbers); else the value itself."""
    try:
        return copy.deepcopy(value)
    except Exception:
        return value


def changed_in_place(fn, name, after, before):
    """True when the call of ``fn`` changed its argument ``name`` in place: ``after`` differs from
    ``before``, or (graded, where the learner's code works on its own copies) the grader says so."""
    return name in getattr(fn, "changed_in_place", ()) or not _unchanged(after, before)


def _unchanged(after, before):
    """True when an argument still equals what was passed (NaN equal to NaN)."""
    if isinstance(before, np.ndarray) or isinstance(after, np.ndarray):
        a, b = np.asarray(after), np.asarray(before)
        return a.shape == b.shape and bool(np.all((a == b) | (a != a) & (b != b)))
    try:
        return bool(after == before)
    except Exception:
        return True


class SelfCheckFailed(AssertionError):
    """Raised by a self-check that found something wrong, after its lines are printed. In JupyterLab
    the cell shows as failed with this one line, not a traceback through the checker's code."""

    def _render_traceback_(self):  # IPython shows these lines instead of a traceback
        return [f"{type(self).__name__}: {self}"]


def run_self_check(checks):
    """Run named checks ``[(label, thunk), ...]``, print a line for each, and say what to fix first.

    Used by the visible self-check cells: every check runs even when an earlier one
    fails, so the learner sees the whole picture. A failure prints its message in words, and
    for a wrong value no classic mistake explains, the inputs (they are the visible ones).
    Raises :class:`SelfCheckFailed` at the end if any failed, so the cell shows as failed.
    """
    failures = []
    for label, thunk in checks:
        try:
            thunk()
        except AssertionError as exc:
            failures.append(label)
            print(f"✗ {label}\n    {exc}")
            if isinstance(exc, Unexplained):
                print("    on the inputs:\n" + "\n".join(f"      {line}" for line in describe_inputs(exc.inputs)))
        else:
            print(f"✓ {label}")
    if failures:
        raise SelfCheckFailed(f"{len(failures)} of {len(checks)} checks failed; start with: {failures[0]}")
    print(f"All {len(checks)} checks passed.")


# ---------------------------------------------------------------------------
# In the learner's kernel: a function that calls em_lib fails now, not when graded
# ---------------------------------------------------------------------------

_EM_LIB_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep
_EXERCISE_IN_WHAT = re.compile(r"\b(" + "|".join(sorted(
    (e for a in contract.ASSIGNMENTS.values() for e in a.exercises), key=len, reverse=True)) + r")\(")

#: Code objects of the functions ``namespace.using_reference`` has put in place of the learner's.
_PLACED = []
_FORCED = [0]


def _in_kernel():
    """True in a Jupyter kernel (where learners run their notebooks), or inside :func:`watching_em_lib`."""
    if _FORCED[0]:
        return True
    ipython = sys.modules.get("IPython")
    if ipython is None or "ipykernel" not in sys.modules:
        return False
    try:
        return ipython.get_ipython() is not None
    except Exception:
        return False


@contextmanager
def watching_em_lib():
    """Inside the block, :func:`call_learner` watches for em_lib calls even outside a kernel (tests)."""
    _FORCED[0] += 1
    try:
        yield
    finally:
        _FORCED[0] -= 1


@contextmanager
def placed(functions):
    """Calls of ``functions`` (put in place of the learner's by ``using_reference``) are allowed."""
    codes = [f.__code__ for f in functions if type(f) is types.FunctionType]
    _PLACED.extend(codes)
    try:
        yield
    finally:
        del _PLACED[len(_PLACED) - len(codes):]


def _library_of(filename):
    if filename.startswith(_EM_LIB_DIR):
        return "em_lib"
    if f"{os.sep}sklearn{os.sep}" in filename:
        return "scikit-learn"
    return None


class _LearnerWatch:
    """Watches one call of the learner's function for calls into em_lib or scikit-learn made by the
    learner's own code (not by em_lib itself), other than the exercise's ``may_call`` and the
    functions put in place by ``using_reference``."""

    def __init__(self, fn, what):
        match = _EXERCISE_IN_WHAT.search(what) if isinstance(what, str) else None
        self.exercise = match.group(1) if match else getattr(fn, "__name__", "function")
        self.what = what
        import em_lib  # noqa: PLC0415 (the package this module is part of)

        self.may_call = contract.may_call(self.exercise)
        self.allowed = {getattr(em_lib, name).__code__ for name in self.may_call if hasattr(em_lib, name)}
        self.allowed.update(_PLACED)
        self.seen = []

    def __enter__(self):
        self.previous = sys.getprofile()
        sys.setprofile(self._profile)

    def __exit__(self, *exc):
        sys.setprofile(self.previous)
        return False

    def _profile(self, frame, event, arg):
        if event != "call" or self.seen:
            return
        code = frame.f_code
        library = _library_of(code.co_filename)
        if library is None or code in self.allowed:
            return
        caller = frame.f_back
        if caller is not None and _library_of(caller.f_code.co_filename) is not None:
            return  # em_lib calling its own helpers
        name = frame.f_globals.get("__name__", library)
        self.seen.append((library, f"{name}.{code.co_qualname if hasattr(code, 'co_qualname') else code.co_name}"))

    def message(self):
        _, name = self.seen[0]
        allowed = ", ".join(f"em_lib.{n}" for n in self.may_call)
        return (f"{self.what}: your {self.exercise} calls {name}. When your notebook is graded, your "
                f"code runs without em_lib (the course's reference answers) and scikit-learn"
                + (f"; this exercise may call {allowed}" if allowed else "")
                + ", so the call would fail there: write it with NumPy and your own functions.")
