"""The machinery behind every self-check and graded test: compare, then explain.

A check calls the learner's function, compares the answer with em_lib's
reference, and when they differ, compares it with the answers that the classic
mistakes would give. The message then names the mistake in words ("the
responsibilities were normalised over samples instead of components") rather
than only saying "not close".

``check`` raises ``AssertionError`` with that message (so a graded test cell
fails with a readable reason) and returns a one-line confirmation when right.
"""

import copy
import math
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

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
    """Call the learner's function; turn a crash into an ``AssertionError`` that explains it."""
    try:
        return fn(**kwargs)
    except NotImplementedError:
        raise AssertionError(f"{what} is not written yet: replace `raise NotImplementedError()` with your code") from None
    except AssertionError:
        raise
    except Exception as exc:  # the learner's code may raise anything
        raise AssertionError(f"{what} raised {type(exc).__name__}: {exc}") from exc


def check(fn, kwargs, reference, mistakes=(), what=None, rtol=RTOL, atol=ATOL):
    """Check ``fn(**kwargs)`` against ``reference(**kwargs)``; explain the first matching mistake.

    Returns a one-line confirmation when right; raises ``AssertionError`` with the
    explanation when wrong.
    """
    what = what or f"{getattr(fn, '__name__', 'your function')}(...)"
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
        return copy.deepcopy(value)
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
    if not math.isfinite(result):
        raise AssertionError(f"{what} should be finite, got {result}")
    return result
