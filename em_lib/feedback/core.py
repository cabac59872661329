"""The machinery behind every self-check and graded test: compare, then explain.

A check calls the learner's function, compares the answer with em_lib's
reference, and when they differ, compares it with the answers that the classic
mistakes would give. The message then names the mistake in words ("the
responsibilities were normalised over samples instead of components") rather
than only saying "not close".

``check`` raises ``AssertionError`` with that message (so a graded test cell
fails with a readable reason) and returns a one-line confirmation when right.

Grading that a submission cannot talk its way around
----------------------------------------------------
nbgrader has no sandbox: the learner's code and the graded tests run in one
kernel, so a submission can reach everything the tests use. This module makes
the two cheap tricks worthless (issue 4); ``course_grading.tamper`` reads the
submission's source for the expensive ones.

1. **Calling the reference scores zero.** ``call_learner`` runs the learner's
   function under ``sys.setprofile`` and watches for the code objects of em_lib's
   reference of the exercise being graded (named by ``what`` or the function's
   name: see ``REFERENCES``), however it is reached: ``em_lib.log_joint(...)``, an
   alias captured earlier, ``log_joint = em_lib.log_joint``, a function rebuilt
   from the reference's code object. References of EARLIER steps stay allowed
   (``log_likelihood`` may call ``em_lib.log_joint``). A call that removes or
   replaces the profiler is tampering and fails too. In a notebook, a cell that
   calls an exercise function directly (``q = posterior(x, ...)`` followed by plain
   ``assert``) is watched the same way, and the cell fails after it ran.
2. **Replacing helpers gains nothing.** The code objects and attributes this
   module relies on are recorded at import (em_lib is imported in a notebook's
   first cell, before any learner code): every attribute of numpy and its loaded
   submodules, of ``builtins`` and ``math``, and every function, class and module
   of em_lib (including the feedback modules, recorded when first seen, and the
   functions' ``__code__``, ``__defaults__``, ``__kwdefaults__``). They are put
   back before every notebook cell (an IPython ``pre_run_cell`` hook), at every
   ``check`` and ``call_learner``, and after every call of the learner's function
   (which then fails: a function that patches numpy while it runs is not graded).
   The module names the notebook's first cell bound (``np``, ``em_lib``,
   ``feedback``, ...) are put back before every cell too. This module's own
   comparisons use a private copy of the builtins and of numpy's namespace, bound
   at import, so not even a helper replaced in the middle of a check (by an object
   the learner returned) changes a verdict. A right answer keeps its marks, a
   wrong one gets what it would get without the patches.

What this does NOT stop (``course_grading.tamper`` flags the ones it can read in
the source): code that reaches into this module's private records or hooks
(``core._ORIGINALS``, IPython's event callbacks), ``setattr`` /
``exec`` / ``ctypes`` / ``gc`` / ``__code__`` tricks, a reference copied by source
(``inspect.getsource`` + ``exec`` gives new code objects), a reference called in
another thread, in-place edits of em_lib's data arrays, and anything done with
the kernel's process itself. A determined attacker with ``exec`` or ``ctypes``
can do anything: the preprocessor flags those constructs instead.
"""

import builtins as _builtins_module
import copy
import itertools
import math
import operator
import re
import sys
import types
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Callable

import numpy as _numpy

# Core's own functions look names such as ``abs``, ``len``, ``isinstance`` or
# ``AssertionError`` up in a private copy of the builtins (functions capture
# ``__builtins__`` when they are defined), so ``builtins.abs = ...`` in a learner's
# cell changes nothing here. ``np`` is a frozen copy of numpy's namespace for the
# same reason (``np.all = lambda *a, **k: True`` does not reach it).
__builtins__ = dict(vars(_builtins_module))
np = types.SimpleNamespace(**{k: v for k, v in vars(_numpy).items() if not k.startswith("__")})
_deepcopy = copy.deepcopy
_isfinite = math.isfinite
_getprofile, _setprofile = sys.getprofile, sys.setprofile
#: Reaching for the profiler (or the tracer) from the learner's code is tampering.
_PROFILER_FUNCTIONS = (sys.getprofile, sys.setprofile, sys.gettrace, sys.settrace)
_FunctionType, _ModuleType = types.FunctionType, types.ModuleType
_is_not, _repeat = operator.is_not, itertools.repeat

RTOL = 1e-6
ATOL = 1e-8


@dataclass(frozen=True)
class Mistake:
    """A classic mistake: what the learner sees, and the wrong answer it produces.

    ``answer`` takes the same keyword arguments as the function under test and
    returns what a function with this mistake would return (it may raise, in
    which case the mistake is skipped for these inputs).
    """

    explanation: str
    answer: Callable[..., Any]


def _as_array(value):
    if isinstance(value, tuple):
        return tuple(_as_array(v) for v in value)
    try:
        return np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        return None


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


def describe_difference(got, expected, what):
    """A plain-words account of how ``got`` differs from ``expected``."""
    if isinstance(expected, tuple):
        if not isinstance(got, (tuple, list)) or len(got) != len(expected):
            kind = type(got).__name__
            return f"{what} should return a tuple of {len(expected)} items, but returned {kind}" + (
                f" of length {len(got)}" if isinstance(got, (tuple, list)) else ""
            )
        for i, (g, e) in enumerate(zip(got, expected)):
            if not close(g, e):
                return describe_difference(g, e, f"item {i} returned by {what}")
        return f"{what} is correct"
    g, e = _as_array(got), np.asarray(expected, dtype=np.float64)
    if g is None or isinstance(g, tuple):
        return f"{what} should be numeric, got {type(got).__name__}"
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

    The call is watched (see the module docstring): reaching em_lib's reference of the
    exercise named in ``what``, removing the profiler, or replacing a helper of numpy,
    builtins or em_lib while it runs fails with a plain-words ``AssertionError``.
    """
    _guard(full=False)
    exercise = _exercise_of(what, fn)
    forbidden = _forbidden(exercise) if _grading() else {}
    seen, meddled, armed = [], [], [True]

    def watch(frame, event, arg):
        if event == "call":
            if frame.f_code in forbidden:
                seen.append(forbidden[frame.f_code])
        elif event == "c_call" and armed[0] and any(arg is f for f in _PROFILER_FUNCTIONS):
            meddled.append(arg)

    previous = _getprofile()
    _setprofile(watch)
    try:
        result = fn(**kwargs)
    except NotImplementedError:
        _setprofile(previous)
        raise AssertionError(f"{what} is not written yet: replace `raise NotImplementedError()` with your code") from None
    except AssertionError:
        _setprofile(previous)
        raise
    except Exception as exc:  # the learner's code may raise anything
        _setprofile(previous)
        raise AssertionError(f"{what} raised {type(exc).__name__}: {exc}") from exc
    else:
        # Anything the learner's value does when it is converted later (``__array__``,
        # ``__float__``) is done now, still watched.
        result = _plain(result)
        armed[0] = False
        current = _getprofile()
        _setprofile(previous)
    finally:
        replaced = _guard()
    if current is not watch or meddled:
        raise AssertionError(
            f"{what}: your {exercise or 'function'} changed the Python profiler (sys.setprofile) while it ran, "
            "which graded checks use; the check cannot run, so it fails"
        )
    if seen:
        raise AssertionError(
            f"{what}: your {exercise} calls em_lib's reference {seen[0]}; the exercise is to write it yourself"
        )
    if replaced:
        raise AssertionError(
            f"{what}: your {exercise or 'function'} replaced {', '.join(replaced[:3])} while it ran; "
            "they are put back, and a function that does this is not graded"
        )
    return result


def check(fn, kwargs, reference, mistakes=(), what=None, rtol=RTOL, atol=ATOL):
    """Check ``fn(**kwargs)`` against ``reference(**kwargs)``; explain the first matching mistake.

    Returns a one-line confirmation when right; raises ``AssertionError`` with the
    explanation when wrong.
    """
    what = what or f"{getattr(fn, '__name__', 'your function')}(...)"
    _guard(full=False)
    if _grading() and type(reference) is _FunctionType and reference.__code__ not in _ORIGINALS.codes:
        raise AssertionError(
            f"{what}: the reference this check compares with is not em_lib's (it was replaced by "
            f"{reference.__qualname__}); graded checks only compare with em_lib's own, so this check fails"
        )
    expected = reference(**kwargs)
    # The learner's function gets copies: an in-place edit (``variances **= 2``) must not
    # change the caller's data (e.g. em_lib.datasets.HEIGHTS_TRUE) nor the inputs that the
    # mistakes below are evaluated on.
    given = {name: _copy(value) for name, value in kwargs.items()}
    got = call_learner(fn, given, what)
    if close(got, expected, rtol, atol):
        return f"{what}: correct"
    changed = [name for name in kwargs if not _unchanged(given[name], kwargs[name])]
    note = (
        f" (Your function also changed its input {', '.join(changed)} in place, e.g. with -= or **=; "
        "compute new arrays instead, so the caller's data stay as they were.)"
        if changed else ""
    )
    for mistake in mistakes:
        try:
            wrong = mistake.answer(**kwargs)
        except Exception:
            continue
        if close(got, wrong, rtol, atol):
            raise AssertionError(f"{what} is not right. {mistake.explanation}{note}")
    raise AssertionError(f"{what} is not right: {describe_difference(got, expected, 'the result')}{note}")


def _copy(value):
    """A deep copy when one can be made (arrays, lists, numbers); else the value itself."""
    try:
        return _deepcopy(value)
    except Exception:
        return value


def _unchanged(after, before):
    """True when an argument still equals what was passed (NaN equal to NaN)."""
    if isinstance(before, np.ndarray) or isinstance(after, np.ndarray):
        a, b = np.asarray(after), np.asarray(before)
        return a.shape == b.shape and bool(np.all((a == b) | (a != a) & (b != b)))
    try:
        return bool(after == before)
    except Exception:
        return True


def run_self_check(checks):
    """Run named checks ``[(label, thunk), ...]``, print a line for each, and say what to fix first.

    Used by the visible self-check cells: every check runs even when an earlier one
    fails, so the learner sees the whole picture. Raises ``AssertionError`` at the end
    if any failed, so the cell shows as failed.
    """
    failures = []
    for label, thunk in checks:
        try:
            thunk()
        except AssertionError as exc:
            failures.append(label)
            print(f"✗ {label}\n    {exc}")
        else:
            print(f"✓ {label}")
    if failures:
        raise AssertionError(f"{len(failures)} of {len(checks)} checks failed; start with: {failures[0]}")
    print(f"All {len(checks)} checks passed.")


def finite_float(value, what):
    """``value`` as a Python float, or an ``AssertionError`` saying why it is not one."""
    try:
        result = float(value)
    except (TypeError, ValueError):
        raise AssertionError(f"{what} should be a single number, got {type(value).__name__}") from None
    if not _isfinite(result):
        raise AssertionError(f"{what} should be finite, got {result}")
    return result


# ---------------------------------------------------------------------------
# The references a learner may not call, and the records that make patches worthless.
# ---------------------------------------------------------------------------

#: exercise -> the em_lib functions ``(module, name)`` that answer it. A function
#: ``reference_<exercise>`` in any em_lib.feedback module counts too. References of
#: earlier steps are not listed, so they stay allowed (fit_em may call em_lib.e_step).
REFERENCES = types.MappingProxyType({
    "log_joint": (("em_lib.mixture1d", "log_joint"), ("em_lib.mixture_nd", "log_joint_nd")),
    "log_likelihood": (("em_lib.mixture1d", "log_likelihood"), ("em_lib.mixture_nd", "log_likelihood_nd")),
    "jensen_gap": (("em_lib.bound", "jensen_gap"),),
    "elbo": (("em_lib.bound", "elbo"),),
    "posterior": (("em_lib.mixture1d", "posterior"), ("em_lib.mixture1d", "e_step"), ("em_lib.mixture_nd", "e_step_nd")),
    "e_step": (("em_lib.mixture1d", "e_step"), ("em_lib.mixture1d", "posterior"), ("em_lib.mixture_nd", "e_step_nd")),
    "m_step": (("em_lib.mixture1d", "m_step"), ("em_lib.mixture_nd", "m_step_nd")),
    "fit_em": (("em_lib.mixture1d", "fit_em"), ("em_lib.mixture_nd", "fit_gmm")),
    "n_gmm_params": (("em_lib.mixture_nd", "n_params"),),
    "kmeans_step": (("em_lib.mixture_nd", "kmeans_step"),),
    "two_coins_em": (("em_lib.coins", "two_coins_em"),),
    "three_coins_em": (("em_lib.coins", "three_coins_em"),),
})

_EXERCISE_IN_WHAT = re.compile(r"\b(" + "|".join(sorted(REFERENCES, key=len, reverse=True)) + r")\(")

#: Names IPython adds to and removes from builtins while a cell runs: not the learner's doing.
_IPYTHON_BUILTINS = frozenset({"get_ipython", "exit", "quit", "display", "_", "__", "___", "help", "input", "raw_input"})
_MISSING = object()


def _exercise_of(what, fn):
    """The exercise a check grades: named in ``what`` ("m_step(...)"), else the function's name."""
    match = _EXERCISE_IN_WHAT.search(what) if type(what) is str else None
    if match:
        return match.group(1)
    name = fn.__name__ if type(fn) is _FunctionType else None
    return name if name in REFERENCES else None


class _Originals:
    """What em_lib, numpy, builtins and math held when they were first seen, and putting it back."""

    def __init__(self):
        self.modules = {}     # module name -> (module, {attribute: value}, attributes, values)
        self.functions = []   # (function, __code__, __defaults__, __kwdefaults__) of em_lib's functions
        self.by_name = {}     # (module name, attribute) -> original em_lib function
        self.seen_modules = 0
        self.codes = set()    # every code object of em_lib's functions, nested lambdas included
        self.light = []       # the modules checked at every call: em_lib, numpy's namespace, builtins, math

    @staticmethod
    def _watched(name):
        return name in ("builtins", "math", "numpy", "em_lib") or name.startswith(("numpy.", "em_lib."))

    def refresh(self):
        """Record the watched modules imported since the last call."""
        if len(sys.modules) == self.seen_modules:
            return
        self.seen_modules = len(sys.modules)
        for name, module in list(sys.modules.items()):
            if name not in self.modules and type(module) is _ModuleType and self._watched(name):
                self._record(name, module)

    def _record(self, name, module):
        ours = name == "em_lib" or name.startswith("em_lib.")
        attrs = {}
        for key, value in list(vars(module).items()):
            if key.startswith("__") and key.endswith("__"):
                continue
            if name == "builtins" and key in _IPYTHON_BUILTINS:
                continue
            attrs[key] = value
            if ours and type(value) is _FunctionType and (value.__module__ or "").startswith("em_lib"):
                self.by_name[(name, key)] = value
                if value.__module__ == name:
                    self.functions.append((value, value.__code__, value.__defaults__, value.__kwdefaults__))
                    self._add_codes(value.__code__)
        self.modules[name] = (module, attrs, tuple(attrs), tuple(attrs.values()))
        if ours or name in ("builtins", "math", "numpy", "numpy.testing"):
            self.light.append(name)

    def _add_codes(self, code):
        self.codes.add(code)
        for const in code.co_consts:
            if type(const) is type(code):
                self._add_codes(const)

    def restore(self, full=True):
        """Put back every recorded attribute and code object that was replaced; their names.

        ``full=False`` looks only at em_lib, numpy's own namespace, numpy.testing, builtins
        and math (about 1000 attributes, 0.1 ms); the full look (numpy's submodules too)
        takes about 0.5 ms and is done before and after every cell and every learner's call.
        """
        self.refresh()
        restored = []
        for name in self.modules if full else self.light:
            module, attrs, keys, values = self.modules[name]
            current = vars(module)
            if not any(map(_is_not, values, map(current.get, keys, _repeat(_MISSING)))):
                continue  # the usual case, checked at C speed
            for key, value in attrs.items():
                if current.get(key, _MISSING) is not value:
                    current[key] = value
                    restored.append(f"{name}.{key}")
        for fn, code, defaults, kwdefaults in self.functions:
            if fn.__code__ is not code or fn.__defaults__ is not defaults or fn.__kwdefaults__ is not kwdefaults:
                fn.__code__, fn.__defaults__, fn.__kwdefaults__ = code, defaults, kwdefaults
                restored.append(f"{fn.__module__}.{fn.__qualname__}")
        return restored

    def references(self, exercise):
        """{code object: name} of em_lib's references of ``exercise`` (the originals)."""
        found = {}
        for module, name in REFERENCES.get(exercise, ()):
            fn = self.by_name.get((module, name))
            if fn is not None:
                found.setdefault(self.code_of(fn), name)
        wanted = "reference_" + exercise
        for (module, name), fn in self.by_name.items():
            if name == wanted and module.startswith("em_lib.feedback"):
                found.setdefault(self.code_of(fn), name)
        return found

    def code_of(self, fn):
        for original, code, *_ in self.functions:
            if original is fn:
                return code
        return fn.__code__


_ORIGINALS = _Originals()

#: What was found replaced and put back, in order (for the instructor and the tests).
TAMPERING = []


def _guard(full=True):
    """Put back whatever the learner replaced; return the names put back this time."""
    restored = _ORIGINALS.restore(full)
    TAMPERING.extend(restored)
    return restored


_FORCED = [0]


@contextmanager
def reference_calls_forbidden():
    """Inside the ``with`` block, calling em_lib's reference fails a check even outside a notebook."""
    _FORCED[0] += 1
    try:
        yield
    finally:
        _FORCED[0] -= 1


def _forbidden(exercise):
    return _ORIGINALS.references(exercise) if exercise else {}


_PLAIN = (int, float, bool, complex, str, bytes, type(None))


def _plain(value):
    """``value`` with anything that could run code when converted (``__array__``, ``__float__``,
    ``__len__``) converted now: a float array where possible, else a description of it."""
    kind = type(value)
    if kind in _PLAIN or (kind is np.ndarray and value.dtype.kind in "biufcUS"):
        return value
    if kind is tuple or kind is list:
        return kind(_plain(v) for v in value)
    if kind is dict:
        return {k: _plain(v) for k, v in value.items() if type(k) in _PLAIN}
    if isinstance(value, np.generic) and kind.__module__ == "numpy":
        return value
    try:
        return np.array(value, dtype=np.float64)
    except BaseException:
        return f"<a {kind.__name__} object>"


# ---------------------------------------------------------------------------
# In a notebook: put things back before every cell, and watch cells that call an
# exercise function directly (``q = posterior(x, ...)`` then plain asserts).
# ---------------------------------------------------------------------------

_stderr = sys.stderr
_CORE_GLOBALS = globals()


class _NotebookGuard:
    def __init__(self, shell):
        self.shell = shell
        self.user_modules = None
        self.watch = None
        self.previous = None
        self.seen = []
        self.stderr = _stderr   # where the verdict goes: a stderr output fails the cell in nbgrader

    def before_cell(self, info=None):
        _guard()
        ns = self.shell.user_ns
        if self.user_modules is None:
            self.user_modules = {k: v for k, v in ns.items() if type(v) is _ModuleType and not k.startswith("_")}
        for key, module in self.user_modules.items():
            if ns.get(key, _MISSING) is not module:
                ns[key] = module
                TAMPERING.append(key)
        self.watch = None
        learners = self._learners(getattr(info, "raw_cell", "") or "")
        if learners:
            self.seen = []
            self.watch = self._watcher(learners)
            self.previous = _getprofile()
            _setprofile(self.watch)

    def _learners(self, source):
        """{code object of the learner's function: exercise} for the exercises this cell calls by name."""
        import ast

        try:
            tree = ast.parse(source)
        except (SyntaxError, ValueError):
            return {}
        called = {n.func.id for n in ast.walk(tree) if type(n) is ast.Call and type(n.func) is ast.Name}
        learners = {}
        for name in called & set(REFERENCES):
            fn = self.shell.user_ns.get(name)
            if type(fn) is _FunctionType:
                learners[fn.__code__] = name
        return learners

    def _watcher(self, learners):
        forbidden = {}
        for exercise in set(learners.values()):
            for code, name in _forbidden(exercise).items():
                forbidden.setdefault(code, {})[exercise] = name
        seen = self.seen

        def watch(frame, event, arg):
            if event == "c_call" and any(arg is f for f in _PROFILER_FUNCTIONS):
                if frame.f_globals is not _CORE_GLOBALS:  # core's own calls (call_learner, after_cell) are fine
                    seen.append(("", ""))
            elif event == "call" and frame.f_code in forbidden:
                targets = forbidden[frame.f_code]
                f = frame
                while f is not None:
                    exercise = learners.get(f.f_code)
                    if exercise in targets:
                        seen.append((exercise, targets[exercise]))
                        return
                    f = f.f_back

        return watch

    def after_cell(self, result=None):
        problems = []
        if self.watch is not None:
            current = _getprofile()
            _setprofile(self.previous)
            watch, self.watch = self.watch, None
            if current is not watch or ("", "") in self.seen:
                problems.append(
                    "this cell changed the Python profiler (sys.setprofile), which graded checks use; "
                    "the cell cannot be graded"
                )
            elif self.seen:
                exercise, name = self.seen[0]
                problems.append(f"your {exercise} calls em_lib's reference {name}; the exercise is to write it yourself")
        restored = _guard()
        if restored:
            problems.append(
                f"this cell replaced {', '.join(restored[:4])}{' and more' if len(restored) > 4 else ''}; "
                "they are put back, and graded checks always use the originals"
            )
        if problems:
            self.stderr.write("".join(f"AssertionError: {p}\n" for p in problems))
            try:
                self.stderr.flush()
            except Exception:
                pass


def _install_notebook_guard():
    """Register the guard with the running IPython kernel, once; nothing outside IPython."""
    ipython = sys.modules.get("IPython")
    try:
        shell = ipython.get_ipython() if ipython is not None else None
    except Exception:
        shell = None
    if shell is None or getattr(shell, "_em_lib_notebook_guard", None) is not None:
        return None
    guard = _NotebookGuard(shell)
    shell.events.register("pre_run_cell", guard.before_cell)
    shell.events.register("post_run_cell", guard.after_cell)
    shell._em_lib_notebook_guard = guard
    return guard


def _grading_mode(in_notebook, forced):
    def _grading():
        """True in a notebook kernel (where learners' code is checked) and inside ``reference_calls_forbidden()``.

        Outside a notebook, em_lib's own tests pass em_lib's references to the checks as
        a right answer, so there calling a reference is allowed. The mode is held in this
        closure, out of reach of a plain assignment.
        """
        return in_notebook or forced[0] > 0

    return _grading


_NOTEBOOK_GUARD = _install_notebook_guard()
_grading = _grading_mode(_NOTEBOOK_GUARD is not None, _FORCED)
_ORIGINALS.refresh()
