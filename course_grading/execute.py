"""Autograde's execution step: the student's code in a sandbox, the tests and verdicts outside it.

``SandboxedExecute`` takes the place of nbgrader's ``Execute`` in ``Autograde`` (see
``config.py``). Instead of one kernel running every cell, students' code and the graded
tests included, it hands the notebook to :mod:`course_grading.runner`:

- every code cell of the student's (answer cells, cells they added or changed, their copy
  of the setup cell) runs in a sandbox (:mod:`course_grading.sandbox`); the release's own
  demonstration and self-check cells, unchanged, do not run;
- every graded test cell runs in this process, from the source stored in the gradebook
  (not the submission's copy), in a namespace built from the release's setup cell; the
  names of the functions the student writes call into the sandbox and bring back plain data.

It writes each cell's outputs (the tests' verdicts in words; the student's own prints, but
never anything printed during a graded test) into the notebook, where nbgrader's
``SaveAutoGrades`` reads the scores as usual: an error output scores 0. The verdicts are
also recorded in the notebook's metadata (``course_grading.verdicts``), and a test that
raised something other than a failed check is flagged for review (``integrity.FlagForReview``).

The first notebook graded in a process logs what protects it, once; without a working
bubblewrap it says loudly that students' code runs unprotected.
"""

import importlib

from nbgrader.api import Gradebook
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Bool, Float, Integer, Unicode

from . import runner
from .cells import RECORD, cell_source, defined_functions, grade_id_of, is_answer, is_test, nbgrader_meta
from .integrity import find_coursedir, read_release
from .sandbox import launch

SETUP_TAG = "setup"

_ANNOUNCED = set()


def _served(assignment):
    """{"em_lib.log_joint": function} for the em_lib functions this assignment's answers may call."""
    try:
        from em_lib.contract import ASSIGNMENTS
    except ImportError:
        return {}
    entry = ASSIGNMENTS.get(assignment)
    if entry is None:
        return {}
    em_lib = importlib.import_module("em_lib")
    return {f"em_lib.{name}": getattr(em_lib, name) for name in entry.may_call}


class GradingSetupError(Exception):
    """The course itself is not set up for grading this notebook (the instructor's to fix)."""


class SandboxedExecute(NbGraderPreprocessor):
    """Autograde: run the notebook with the student's code sandboxed and the tests outside."""

    sandbox = Unicode(
        "auto",
        help="'auto': bubblewrap where it works, else run students' code unprotected and say so in the "
        "log; 'bubblewrap': refuse to grade without it; 'none': never sandbox (not for real classes).",
    ).tag(config=True)
    cell_timeout = Float(10.0, help="Seconds a student's cell may run.").tag(config=True)
    call_timeout = Float(10.0, help="Seconds one call of a student's function by a test may run.").tag(config=True)
    notebook_timeout = Float(180.0, help="Seconds for the whole notebook; what is left then is not run "
                             "and scores 0.").tag(config=True)
    memory_mb = Integer(1024, help="Memory a sandbox may use, in MB.").tag(config=True)
    parallel = Bool(True, help="Run the feedback pass and the grading pass side by side.").tag(config=True)

    def preprocess(self, nb, resources):
        ids = resources["nbgrader"]
        kind, reason = launch.detect(self.sandbox)
        self._announce(kind, reason)
        plan = self._plan(nb, ids)
        options = runner.Options(
            kind=kind, limits=launch.Limits(memory_mb=self.memory_mb),
            cell_timeout=self.cell_timeout, call_timeout=self.call_timeout,
            notebook_timeout=self.notebook_timeout, parallel=self.parallel,
            protect=tuple(p for p in (getattr(find_coursedir(self), "root", None),) if p),
        )
        result = runner.grade(plan, options)
        for count, step in enumerate(plan.steps, 1):  # numbered in the order they ran, as tracebacks name them
            if step.index not in result.outputs:
                continue
            cell = nb.cells[step.index]
            cell.outputs = result.outputs[step.index]
            cell.execution_count = count
            for output in cell.outputs:
                if output.get("output_type") == "execute_result":
                    output["execution_count"] = count
        record = nb.metadata.setdefault(RECORD, {})
        record["verdicts"] = {label: {"passed": v.passed, "kind": v.kind, "message": v.message,
                                      "mistake": v.mistake, "function": v.function}
                              for label, v in result.verdicts.items()}
        record["sandbox"] = kind
        events = record.setdefault("integrity", [])
        for label, message in result.events:
            text = (f"The graded test `{label}` could not decide ({message}); it scored 0. Please look at the "
                    "student's answer.")
            events.append({"cell": label, "problem": "test error", "message": text, "review": True,
                           "grades": [label], "comment": None})
            self.log.warning("Grading: student '%s', assignment '%s', notebook '%s', cell '%s': %s Flagged for "
                             "review.", ids["student"], ids["assignment"], ids["notebook"], label, text)
        return nb, resources

    # -- what to run ------------------------------------------------------------------------

    def _announce(self, kind, reason):
        if kind in _ANNOUNCED:
            return
        _ANNOUNCED.add(kind)
        if kind == "none":
            self.log.warning(
                "UNPROTECTED GRADING: %s. Students' code runs as your user, with your files (the gradebook "
                "among them) and the network within its reach; the verdicts are still decided outside it, but "
                "a submission could change grades directly. Install bubblewrap (Debian and Ubuntu: "
                "`apt-get install bubblewrap`) and grade as root or with unprivileged user namespaces.", reason)
        else:
            self.log.info("Sandbox: %s.", launch.describe(kind, launch.Limits(memory_mb=self.memory_mb)))

    def _release(self, assignment, notebook):
        coursedir = find_coursedir(self)
        if coursedir is None:
            raise GradingSetupError("no nbgrader course directory found")
        release, _ = read_release(coursedir, assignment, notebook)
        if release is not None:
            return release
        raise GradingSetupError(f"neither the release nor the source of {assignment}/{notebook} exists")

    def _plan(self, nb, ids):
        assignment, notebook = ids["assignment"], ids["notebook"]
        release = self._release(assignment, notebook)
        release_code = [c for c in release.cells if c.cell_type == "code"]
        setups = [c for c in release_code if SETUP_TAG in c.metadata.get("tags", [])]
        setup = setups[0] if setups else (release_code[0] if release_code else None)
        if setup is None:
            raise GradingSetupError(f"{assignment}/{notebook}: the release has no code cell to build the tests on")
        demonstrations = {
            cell_source(c).strip() for c in release_code
            if c is not setup and not is_answer(c) and not is_test(c)
        }
        exercises = []
        for cell in release_code:
            if is_answer(cell):
                exercises.extend(n for n in defined_functions(cell_source(cell)) if n not in exercises)
        with Gradebook(ids["db_url"]) as gb:
            stored = gb.find_notebook(notebook, assignment)
            tests = {c.name: c.source for c in stored.source_cells if c.cell_type == "code"}
            graded = {c.name for c in stored.grade_cells}
            answers = {c.name for c in stored.solution_cells}
        steps = []
        for index, cell in enumerate(nb.cells):
            if cell.cell_type != "code":
                continue
            grade_id = grade_id_of(cell)
            source = cell_source(cell)
            if is_test(cell) and grade_id in graded and grade_id not in answers and grade_id in tests:
                steps.append(runner.Step(index, "test", tests[grade_id], grade_id))
            elif is_answer(cell):
                steps.append(runner.Step(index, "student", source, grade_id or f"cell {index + 1}"))
            elif nbgrader_meta(cell).get("locked") or is_test(cell):
                continue  # the instructor's read-only cells decide nothing and use em_lib
            elif SETUP_TAG in cell.metadata.get("tags", []) or source.strip() == cell_source(setup).strip():
                steps.append(runner.Step(index, "student", source, "setup", quiet=True))
            elif source.strip() and source.strip() not in demonstrations:
                steps.append(runner.Step(index, "student", source, f"cell {index + 1}"))
        # A cell of the student's is named in its tracebacks as the feedback numbers it: In [n], n its
        # place among the cells that run (execution counts follow the same order, see preprocess).
        steps = [runner.Step(s.index, s.kind, s.source, f"In [{n}]", s.quiet) if s.label.startswith("cell ") else s
                 for n, s in enumerate(steps, 1)]
        served = _served(assignment)
        settings = {"hidden": list(launch.HIDDEN_MODULES),
                    "served": {"em_lib": sorted(name.partition(".")[2] for name in served)} if served else {},
                    "lazy": ["matplotlib.pyplot"]}
        return runner.Plan(steps, cell_source(setup), tuple(exercises), served, settings)
