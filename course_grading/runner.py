"""Grade one notebook: the student's code in sandboxes, the tests and their verdicts here.

The notebook arrives as a :class:`Plan`: its code cells in order, each one of

- ``student``: a cell the student wrote or may have changed (answer cells, cells they added,
  demonstration cells they edited, their copy of the setup cell): it runs in the sandbox;
- ``test``: a graded test cell, with the instructor's source from the gradebook: it runs here,
  in the grader's process, never in the sandbox.

The release's demonstration and self-check cells that the student left as they were are not
run at all: they use em_lib, which graded code cannot reach, and they decide nothing.

Two passes run side by side, each in a sandbox of its own:

- the **feedback pass** runs the student's cells and keeps their outputs for the feedback.
  No test has run in it, so no hidden input is in that process, and nothing it prints can
  carry one;
- the **grading pass** runs the student's cells again, outputs dropped, and at the place of
  each test cell runs that test here. In the test, every name of a function the student
  writes (``log_joint``) is a :class:`LearnerFunction`: calling it sends the arguments to the
  sandbox, calls the student's function there and brings back what it returned, as plain
  data (``sandbox.wire``). The checks compare that with em_lib's reference, computed here.
  Nothing the student's code does (to numpy, IPython, frames, the tests' module, files)
  reaches this process; the worst it can send is a wrong value.

A cell or call that hangs, dies or runs out of memory ends its sandbox; a new one replays
the student's cells that came before (not the one that hung) and grading goes on. A budget
per notebook bounds the total.
"""

import builtins
import contextlib
import io
import sys
import textwrap
import threading
import time
import warnings
from dataclasses import dataclass, field

import numpy as np
from nbformat.v4 import new_output

from .cells import hidden_ranges
from .sandbox.session import Session, Stopped

#: What a student's cell that uses a name from a cell grading does not run is told.
NOT_RUN_NOTE = (
    "(When your notebook is graded, only your own cells and the answer cells run, in a sandbox "
    "without em_lib: names defined by the notebook's other cells do not exist there. A graded "
    "function must get what it needs from its arguments, NumPy, SciPy or your own cells.)"
)


@dataclass
class Step:
    index: int          # the cell's index in the notebook
    kind: str           # "student" or "test"
    source: str
    label: str          # "log_joint_answer", "cell 12", or the test's grade_id
    quiet: bool = False  # student cell whose outputs are not kept (the setup cell)


@dataclass
class Plan:
    steps: list
    trusted_setup: str          # the release's setup cell: builds each test's namespace
    exercises: tuple            # names of the functions the student writes
    served: dict                # "em_lib.log_joint" -> function, callable from graded code
    worker_settings: dict       # for the sandbox's worker: hidden modules, served names


@dataclass
class Options:
    kind: str = "bubblewrap-root"
    limits: object = None
    cell_timeout: float = 10.0
    call_timeout: float = 10.0
    notebook_timeout: float = 180.0
    protect: tuple = ()
    parallel: bool = True


@dataclass
class Verdict:
    """What a test cell decided, read from the trusted side (never from printed text)."""

    passed: bool
    kind: str                 # "pass", "fail" (the answer), "stopped" (hang, crash, memory), "grader" (the test raised)
    message: str = ""
    mistake: str | None = None   # the classic mistake a failed check named (``em_lib.feedback``'s ``Mistake.id``)
    function: str | None = None  # the student's function the test called last: the one a failed check judged


@dataclass
class Result:
    outputs: dict = field(default_factory=dict)   # cell index -> [nbformat outputs]
    verdicts: dict = field(default_factory=dict)  # test label -> Verdict
    events: list = field(default_factory=list)    # (label, message) worth a line in the log


def message_lines(ename, evalue, width=100):
    """``ename: evalue`` as the lines of a traceback, wrapped to ``width`` so that the feedback shows a
    sentence a reader can take in, not one long line to scroll."""
    lines = []
    for paragraph in f"{ename}: {evalue}".splitlines() or [""]:
        lines.extend(textwrap.wrap(paragraph, width, break_long_words=False, break_on_hyphens=False) or [""])
    return lines


def _error(ename, evalue):
    return new_output("error", ename=ename, evalue=evalue, traceback=message_lines(ename, evalue))


def _stream(text):
    return new_output("stream", name="stdout", text=text)


# --------------------------------------------------------------------------
# One sandbox at a time, restarted when a cell or call stops it
# --------------------------------------------------------------------------


class _Space:
    """The student's code in a sandbox, at some position in the notebook."""

    def __init__(self, plan, options, deadline, abandoned, lock):
        self.plan, self.options, self.deadline = plan, options, deadline
        self.abandoned, self.lock = abandoned, lock
        self.session = None
        self.done = []          # student steps run so far (replayed after a restart)
        self.test_deadline = None  # while a test runs: its calls share one cell's time
        self.test_stopped = False  # a call of the running test hung, crashed or ran out of memory
        self.last_called = None    # the student's function the running test called last

    def _new_session(self):
        return Session(self.options.kind, self.plan.worker_settings, self.plan.served, self.options.limits,
                       self.options.protect)

    def _timeout(self, limit):
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise Stopped(f"not run: the notebook used up its {self.options.notebook_timeout:g} s", "budget")
        return min(limit, left)

    def _ensure(self):
        while self.session is None or not self.session.alive:
            self.session = self._new_session()
            for step in list(self.done):
                if self._abandoned(step):
                    continue
                try:
                    self.session.run(step.source, step.label, False, self._timeout(self.options.cell_timeout))
                except Stopped as stop:
                    if stop.kind == "budget":
                        raise
                    self._abandon(step)
                    break

    def _abandoned(self, step):
        with self.lock:
            return step.index in self.abandoned

    def _abandon(self, step):
        with self.lock:
            self.abandoned.add(step.index)

    def run(self, step, capture):
        """Run a student step; its outputs (or an error output saying why it stopped)."""
        if self._abandoned(step):
            return [_error("NotRun", "not run again: this cell hung or crashed the first time it ran")]
        try:
            self._ensure()
            outputs = self.session.run(step.source, step.label, capture,
                                       self._timeout(self.options.cell_timeout))
        except Stopped as stop:
            if stop.kind != "budget":
                self._abandon(step)
            return [_error("CellStopped" if stop.kind != "budget" else "NotebookTimeout", stop.reason)]
        finally:
            self.done.append(step)
        return outputs

    def call(self, name, args, kwargs, helpers):
        limit = self.options.call_timeout
        if self.test_deadline is not None:
            left = self.test_deadline - time.monotonic()
            if left <= 0:
                raise Stopped(f"not run: this test had used up its {self.options.cell_timeout:g} s", "budget")
            limit = min(limit, left)
        self._ensure()
        return self.session.call(name, args, kwargs, helpers, self._timeout(limit))

    def close(self):
        if self.session is not None:
            self.session.close()


# --------------------------------------------------------------------------
# The learner's functions, as the tests see them
# --------------------------------------------------------------------------


class LearnerFailure(Exception):
    """The learner's function did not return: ``learner_explanation`` says why, in words
    (em_lib.feedback's checks append it to ``"<function>(...) "``)."""

    def __init__(self, function, explanation, stopped=False):
        super().__init__(explanation)
        self.function, self.learner_explanation, self.stopped = function, explanation, stopped


_BUILTIN_EXCEPTIONS = {name for name, obj in vars(builtins).items()
                       if isinstance(obj, type) and issubclass(obj, BaseException)}


class LearnerFunction:
    """A function the student wrote, as a test running here sees it: calling it calls the
    student's function in the sandbox and returns what it returned, as plain data."""

    def __init__(self, name, space, namespace, exercises, test_filename, hidden):
        self.__name__ = self.__qualname__ = name
        self.changed_in_place = ()   # the arguments the last call changed in place (its own copies of them)
        self._space, self._namespace, self._exercises = space, namespace, exercises
        self._filename, self._hidden = test_filename, hidden

    def __repr__(self):
        return f"<the student's {self.__name__}>"

    def _helpers(self):
        """The student's functions the test replaced (``feedback.using_reference``): served from here."""
        helpers = {}
        for name in self._exercises:
            value = self._namespace.get(name)
            if name != self.__name__ and callable(value) and not isinstance(value, LearnerFunction):
                helpers[name] = value
        return helpers

    def _in_hidden_test(self):
        frame = sys._getframe(2)
        while frame is not None:
            if frame.f_code.co_filename == self._filename:
                return any(first <= frame.f_lineno <= last for first, last in self._hidden)
            frame = frame.f_back
        return False

    def __call__(self, *args, **kwargs):
        self.changed_in_place = ()
        self._space.last_called = self.__name__
        hidden = self._in_hidden_test()
        try:
            outcome = self._space.call(self.__name__, args, kwargs, self._helpers())
        except Stopped as stop:
            self._space.test_stopped = True
            raise LearnerFailure(self.__name__, f"did not finish: {stop.reason}", stopped=True) from None
        if outcome[0] == "returned":
            self.changed_in_place = outcome[2]
            return outcome[1]
        _, ename, evalue, where = outcome
        if ename == "NotImplementedError":
            raise NotImplementedError(evalue)
        if hidden:
            name = ename if ename in _BUILTIN_EXCEPTIONS else "an exception of its own class"
            raise LearnerFailure(self.__name__, f"raised {name} on a hidden test (its message is not shown, so that "
                                 "the hidden inputs stay hidden)")
        raise LearnerFailure(self.__name__, f"raised {ename}: {evalue}" + (f" (at {where})" if where else ""))


# --------------------------------------------------------------------------
# The two passes
# --------------------------------------------------------------------------


def _note_unavailable(outputs):
    """Outputs of a student's cell, with a note where a name from an unrun cell was missing."""
    noted = []
    for output in outputs:
        noted.append(output)
        if output.get("output_type") == "error" and output.get("ename") == "NameError":
            noted.append(_stream(textwrap.fill(NOT_RUN_NOTE, 100) + "\n"))
            break
    return noted


def _clean_outputs(outputs):
    """The worker's outputs as nbformat outputs; anything malformed dropped (the worker is not trusted)."""
    clean = []
    for output in outputs if isinstance(outputs, list) else ():
        if not isinstance(output, dict):
            continue
        kind = output.get("output_type")
        if kind == "stream" and output.get("name") in ("stdout", "stderr") and isinstance(output.get("text"), str):
            clean.append(new_output("stream", name=output["name"], text=output["text"][:200_000]))
        elif kind == "error" and isinstance(output.get("ename"), str) and isinstance(output.get("evalue"), str):
            lines = [str(line)[:1000] for line in output.get("traceback", []) if isinstance(line, str)][:60]
            clean.append(new_output("error", ename=output["ename"][:100], evalue=output["evalue"][:2000],
                                    traceback=lines))
        elif kind == "execute_result":
            text = output.get("data", {}).get("text/plain") if isinstance(output.get("data"), dict) else None
            if isinstance(text, str):
                clean.append(new_output("execute_result", data={"text/plain": text[:10_000]}))
    return clean


def _feedback_pass(plan, options, deadline, abandoned, lock, result):
    space = _Space(plan, options, deadline, abandoned, lock)
    try:
        for step in plan.steps:
            if step.kind != "student":
                continue
            outputs = space.run(step, capture=not step.quiet)
            result.outputs[step.index] = [] if step.quiet else _note_unavailable(_clean_outputs(outputs))
    finally:
        space.close()


class _TrustedTests:
    """The tests' namespace, built from the release's setup cell; each test gets a fresh copy."""

    def __init__(self, plan):
        self.plan = plan
        self.namespace = {"__name__": "__main__", "__builtins__": builtins}
        with contextlib.redirect_stdout(io.StringIO()):
            exec(compile(plan.trusted_setup, "<setup>", "exec"), self.namespace)

    def run(self, step, space):
        namespace = dict(self.namespace)
        filename = f"<test {step.label}>"
        hidden = hidden_ranges(step.source)
        for name in self.plan.exercises:
            namespace[name] = LearnerFunction(name, space, namespace, self.plan.exercises, filename, hidden)
        printed = io.StringIO()
        outputs = []
        space.test_deadline = time.monotonic() + space.options.cell_timeout
        space.test_stopped = False
        space.last_called = None
        try:
            with contextlib.redirect_stdout(printed), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                exec(compile(step.source, filename, "exec"), namespace)
        except AssertionError as exc:
            mistake = getattr(exc, "mistake", None)  # raised here, by a check: never the student's object
            verdict = Verdict(False, "stopped" if space.test_stopped else "fail", str(exc),
                              mistake if isinstance(mistake, str) else None, space.last_called)
            error = _error("AssertionError", str(exc))
        except LearnerFailure as exc:
            message = f"{exc.function}(...) {exc.learner_explanation}"
            verdict = Verdict(False, "stopped" if exc.stopped else "fail", message, function=exc.function)
            error = _error("LearnerError", message)
        except NotImplementedError:
            verdict = Verdict(False, "fail", "not written yet", function=space.last_called)
            error = _error("NotImplementedError", "not written yet: replace `raise NotImplementedError()` with your code")
        except Exception as exc:  # noqa: BLE001 (the test itself failed on what the student returned)
            message = f"{type(exc).__name__}: {exc}"
            verdict = Verdict(False, "grader", message, function=space.last_called)
            error = _error(type(exc).__name__, str(exc))
        else:
            verdict, error = Verdict(True, "pass"), None
        finally:
            space.test_deadline = None
        if printed.getvalue():
            outputs.append(_stream(printed.getvalue()))
        if error is not None:
            outputs.append(error)
        return outputs, verdict


def _grading_pass(plan, options, deadline, abandoned, lock, result):
    space = _Space(plan, options, deadline, abandoned, lock)
    tests = _TrustedTests(plan)
    try:
        for step in plan.steps:
            if step.kind == "student":
                space.run(step, capture=False)
                continue
            if time.monotonic() > deadline:
                outputs = [_error("NotebookTimeout", f"not run: the notebook used up its {options.notebook_timeout:g} s")]
                verdict = Verdict(False, "stopped", "the notebook's time ran out")
            else:
                outputs, verdict = tests.run(step, space)
            result.outputs[step.index] = outputs
            result.verdicts[step.label] = verdict
            if verdict.kind == "grader":
                result.events.append((step.label, f"the test raised {verdict.message}; it may be the test's fault"))
    finally:
        space.close()


def grade(plan, options):
    """Run both passes; the outputs of every cell that ran and the verdict of every test."""
    result = Result()
    deadline = time.monotonic() + options.notebook_timeout
    abandoned, lock = set(), threading.Lock()
    saved = np.get_printoptions()
    failure = []

    def feedback():
        try:
            _feedback_pass(plan, options, deadline, abandoned, lock, result)
        except BaseException as exc:  # noqa: BLE001 (re-raised in the calling thread)
            failure.append(exc)

    try:
        with warnings.catch_warnings():
            if options.parallel:
                thread = threading.Thread(target=feedback, name="feedback-pass")
                thread.start()
                try:
                    _grading_pass(plan, options, deadline, abandoned, lock, result)
                finally:
                    thread.join()
            else:
                feedback()
                _grading_pass(plan, options, deadline, abandoned, lock, result)
    finally:
        np.set_printoptions(**saved)
    if failure:
        raise failure[0]
    return result
