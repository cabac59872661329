"""Every classic mistake of tests/wrong_answers.py, graded by real nbgrader.

For each wrong answer, the filled solution with that one answer cell replaced is
autograded (``nbgrader autograde`` through NbGraderAPI) and the gradebook says:

- the autograde succeeded and the wrong function lost points in its own graded cells;
- the other functions kept full marks (one mistake does not sink the rest);
- a mistake that leaves part of the function right keeps part of its points, where
  the catalogue marks it ``partial``, and full marks in the cells it ``keeps``;
- the failed cells' feedback names the mistake, where the catalogue gives the phrase,
  and does not name another mistake where one was named for it before;
- the grader's verdict of a failed cell records the mistake's id and the function it judged
  (the autograded notebook's ``course_grading.verdicts``), where the catalogue gives the id.

To stay fast, wrong answers for different functions of one assignment share a
submission (their graded cells are disjoint), unless one function is graded
through the learner's own version of the other (``GRADED_WITH_LEARNERS``). The last
wrong answer of each function is graded alone, so that for every function one
submission shows that its mistake leaves every other function's cells at full marks.
"""

import ast
import json
from functools import cached_property

import pytest

from course import SOLUTIONS, assignments, notebook_path, read_notebook
from submissions import Course, auto_total, cell_source, nbgrader_meta
from em_lib.feedback.core import mistake_catalogue
from wrong_answers import REFERENCE_CALLS, WRONG_ANSWERS, function_name

#: function -> graded functions of the learner that its graded cells also run. None: every
#: graded cell that calls an earlier function runs em_lib's in its place
#: (feedback.using_reference in notebook 01, feedback.reference_steps in notebook 04), so
#: each function is graded on its own and wrong answers of both can share a submission.
GRADED_WITH_LEARNERS = {}

#: Wrong answers whose feedback once named a different mistake: (phrase it must not contain, why).
NOT_NAMED_AS = {
    "posterior:hard_assignment": (
        "standard deviation",
        "on the lecture's two people a one-hot answer equals the sqrt(variances) mistake's answer "
        "within tolerance; an exactly one-hot answer must be named a hard assignment",
    ),
}

# --------------------------------------------------------------------------
# The sources: graded functions and the graded cells that belong to each
# --------------------------------------------------------------------------


def _answer_functions(notebook):
    """{function name: answer grade_id} for the code answer cells of a source notebook."""
    out = {}
    for cell in notebook["cells"]:
        meta = nbgrader_meta(cell)
        if cell["cell_type"] == "code" and meta.get("solution"):
            out[function_name(cell_source(cell))] = meta["grade_id"]
    return out


def _autograded_cells(notebook):
    """{grade_id: points} of the autograded test cells."""
    return {
        nbgrader_meta(c)["grade_id"]: nbgrader_meta(c)["points"]
        for c in notebook["cells"]
        if nbgrader_meta(c).get("grade") and not nbgrader_meta(c).get("solution")
    }


def _cells_of(function, cells):
    """The graded cells of ``function``: grade_ids ``test_<function>_<what>``."""
    return sorted(g for g in cells if g.startswith(f"test_{function}_"))


SOURCES = {a: read_notebook(notebook_path(SOLUTIONS, a)) for a in assignments()}
GRADED_FUNCTIONS = {a: _answer_functions(nb) for a, nb in SOURCES.items()}


def _conflict(f, g):
    return g in GRADED_WITH_LEARNERS.get(f, ()) or f in GRADED_WITH_LEARNERS.get(g, ())


def _group(entries, prefix, last_alone):
    """Submissions: lists of entries of one assignment, distinct and independent functions each.

    With ``last_alone``, the last entry of each function gets a submission of its own.
    """
    last = {e.function: e for e in entries}
    groups = []
    for entry in entries:
        alone = last_alone and last[entry.function] is entry
        for group in groups:
            if not alone and not group.alone and group[0].assignment == entry.assignment and all(
                e.function != entry.function and not _conflict(e.function, entry.function) for e in group
            ):
                group.append(entry)
                break
        else:
            groups.append(_Submission([entry], alone))
    return {f"{prefix}{i:02d}": group for i, group in enumerate(groups)}


class _Submission(list):
    def __init__(self, entries, alone):
        super().__init__(entries)
        self.alone = alone


SUBMISSIONS = {**_group(WRONG_ANSWERS, "wrong", last_alone=True), **_group(REFERENCE_CALLS, "reference", last_alone=False)}
STUDENT_OF = {entry: student for student, group in SUBMISSIONS.items() for entry in group}


# --------------------------------------------------------------------------
# Grading, once per submission
# --------------------------------------------------------------------------


class Graded:
    """One autograded submission: success, per-cell scores and the error shown in each cell."""

    def __init__(self, course, student, entries):
        self.assignment = entries[0].assignment
        self.student = student
        self.entries = entries
        notebook = course.with_answers(self.assignment, {e.grade_id: e.source for e in entries})
        course.submit(student, self.assignment, notebook)
        self.result = course.autograde(self.assignment, student)
        self.grades = course.grades(self.assignment, student) if self.result["success"] else {}
        self.cells = _autograded_cells(course.source(self.assignment))
        path = notebook_path(course.root / "autograded" / student, self.assignment)
        autograded = json.loads(path.read_text()) if path.exists() else None
        self.errors = self._errors(autograded) if autograded else {}
        #: grade_id -> {passed, kind, message, mistake, function}: the grader's verdicts, read from the metadata
        self.verdicts = autograded["metadata"].get("course_grading", {}).get("verdicts", {}) if autograded else {}

    @staticmethod
    def _errors(notebook):
        out = {}
        for cell in notebook["cells"]:
            grade_id = nbgrader_meta(cell).get("grade_id")
            shown = [f"{o['ename']}: {o['evalue']}" for o in cell.get("outputs", []) if o.get("output_type") == "error"]
            if grade_id and shown:
                out[grade_id] = "\n".join(shown)
        return out

    def score(self, grade_id):
        return self.grades[grade_id][0] or 0.0

    def points(self, cells):
        return sum(self.score(g) for g in cells), sum(self.cells[g] for g in cells)

    @cached_property
    def table(self):
        """Per-cell scores, for assertion messages."""
        rows = [f"{g}: {self.score(g):g}/{self.cells[g]:g}" for g in sorted(self.cells)]
        answers = ", ".join(e.id for e in self.entries)
        return f"submission {self.student} ({self.assignment}: {answers})\n  " + "\n  ".join(rows)


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    return Course(tmp_path_factory.mktemp("course"))


@pytest.fixture(scope="module")
def graded(course):
    cache = {}

    def grade(entry):
        student = STUDENT_OF[entry]
        if student not in cache:
            cache[student] = Graded(course, student, SUBMISSIONS[student])
        g = cache[student]
        assert g.result["success"], f"{entry.id}: autograde failed: {g.result.get('error') or g.result.get('log')}"
        return g

    return grade


def _own_and_other_cells(entry, g):
    own = _cells_of(entry.function, g.cells)
    assert own, f"{entry.id}: no graded cells test_{entry.function}_* in {entry.assignment}"
    return own, [c for c in g.cells if c not in own]


# --------------------------------------------------------------------------
# The catalogue covers every graded function, with the release's signatures
# --------------------------------------------------------------------------


def test_every_graded_function_has_three_wrong_answers_and_a_reference_call():
    missing = []
    for assignment, functions in GRADED_FUNCTIONS.items():
        for function, grade_id in functions.items():
            wrong = [e for e in WRONG_ANSWERS if (e.assignment, e.grade_id, e.function) == (assignment, grade_id, function)]
            calls = [e for e in REFERENCE_CALLS if (e.assignment, e.grade_id, e.function) == (assignment, grade_id, function)]
            if len(wrong) < 3 or len(calls) != 1:
                missing.append(f"{assignment} {function}: {len(wrong)} wrong answers, {len(calls)} reference calls")
    assert not missing, "graded functions without enough catalogue entries:\n" + "\n".join(missing)


def test_every_catalogue_entry_names_a_graded_function_of_its_assignment():
    stale = [
        f"{e.assignment} {e.grade_id} {e.id}"
        for e in WRONG_ANSWERS + REFERENCE_CALLS
        if GRADED_FUNCTIONS.get(e.assignment, {}).get(e.function) != e.grade_id
    ]
    assert not stale, "entries whose function is not graded in that cell:\n" + "\n".join(stale)
    names = [e.id for e in WRONG_ANSWERS]
    assert len(names) == len(set(names)), "two wrong answers share a name"


def test_every_graded_cell_belongs_to_exactly_one_function():
    for assignment, notebook in SOURCES.items():
        functions = GRADED_FUNCTIONS[assignment]
        for cell in _autograded_cells(notebook):
            owners = [f for f in functions if cell in _cells_of(f, [cell])]
            assert len(owners) == 1, f"{assignment}: graded cell {cell} belongs to {owners}, not to one function"


def _signature(source):
    node = next(n for n in ast.parse(source).body if isinstance(n, ast.FunctionDef))
    return node.name, ast.dump(node.args)


@pytest.mark.parametrize("entry", WRONG_ANSWERS + REFERENCE_CALLS, ids=lambda e: e.id)
def test_entry_keeps_the_signature_of_the_release(entry):
    cell = next(c for c in SOURCES[entry.assignment]["cells"] if nbgrader_meta(c).get("grade_id") == entry.grade_id)
    assert _signature(entry.source) == _signature(cell_source(cell)), f"{entry.id}: signature differs from the release"


# --------------------------------------------------------------------------
# Each wrong answer, graded
# --------------------------------------------------------------------------


@pytest.mark.parametrize("entry", WRONG_ANSWERS, ids=lambda e: e.id)
def test_wrong_answer_loses_points_in_its_own_cells(graded, entry):
    g = graded(entry)
    scored, possible = auto_total(g.grades, SOURCES[entry.assignment])
    assert scored < possible, f"{entry.id} got full marks\n{g.table}"
    own, _ = _own_and_other_cells(entry, g)
    own_scored, own_possible = g.points(own)
    assert own_scored < own_possible, f"{entry.id}: {entry.function}'s cells kept full marks\n{g.table}"


@pytest.mark.parametrize("entry", WRONG_ANSWERS, ids=lambda e: e.id)
def test_wrong_answer_leaves_the_other_functions_full_marks(graded, entry):
    """Every function answered right in the submission keeps full marks (all of them, for an entry graded alone)."""
    g = graded(entry)
    mistaken = {c for e in g.entries for c in _cells_of(e.function, g.cells)}
    lost = [c for c in g.cells if c not in mistaken and g.score(c) < g.cells[c]]
    assert not lost, f"{entry.id} also lost points in {lost}\n{g.table}"


def test_every_function_has_a_wrong_answer_graded_alone():
    alone = {group[0].function for group in SUBMISSIONS.values() if group.alone}
    assert alone == {e.function for e in WRONG_ANSWERS}


@pytest.mark.parametrize("entry", [e for e in WRONG_ANSWERS if e.partial], ids=lambda e: e.id)
def test_partly_right_answer_keeps_part_of_the_points(graded, entry):
    g = graded(entry)
    own, _ = _own_and_other_cells(entry, g)
    scored, possible = g.points(own)
    assert 0 < scored < possible, f"{entry.id}: {entry.function} scored {scored:g}/{possible:g}\n{g.table}"


@pytest.mark.parametrize("entry", [e for e in WRONG_ANSWERS if e.keeps], ids=lambda e: e.id)
def test_partly_right_answer_keeps_full_marks_in_the_cells_it_gets_right(graded, entry):
    g = graded(entry)
    own, _ = _own_and_other_cells(entry, g)
    unknown = [c for c in entry.keeps if c not in own]
    assert not unknown, f"{entry.id}: {unknown} are not graded cells of {entry.function}: {own}"
    lost = [c for c in entry.keeps if g.score(c) < g.cells[c]]
    assert not lost, f"{entry.id} lost points in {lost}, which it gets right\n{g.table}"


@pytest.mark.parametrize("entry", [e for e in WRONG_ANSWERS if e.feedback], ids=lambda e: e.id)
def test_feedback_names_the_mistake(graded, entry):
    g = graded(entry)
    own, _ = _own_and_other_cells(entry, g)
    shown = "\n".join(g.errors.get(c, "") for c in own)
    assert entry.feedback in shown, (
        f"{entry.id}: the feedback does not say {entry.feedback!r}; it says:\n{shown}\n{g.table}"
    )


def test_every_mistake_id_is_in_the_feedback_catalogue_with_the_words_of_the_feedback():
    catalogue = mistake_catalogue()
    for entry in WRONG_ANSWERS:
        if entry.mistake is None:
            assert entry.feedback is None, f"{entry.id}: its feedback names a mistake: give its id"
            continue
        assert entry.mistake in catalogue, f"{entry.id}: {entry.mistake} is not an id of em_lib.feedback"
        words = entry.feedback.rpartition("not right. ")[2]
        assert words in catalogue[entry.mistake], f"{entry.id}: {entry.feedback!r} is not said by {entry.mistake}"


@pytest.mark.parametrize("entry", [e for e in WRONG_ANSWERS if e.mistake], ids=lambda e: e.id)
def test_the_verdict_records_the_mistake_and_the_function(graded, entry):
    """The instructor's report counts mistakes from these verdicts: a failed cell of the function records the
    mistake's id (from the check's MistakeFound, never parsed from the message) and the function it judged."""
    g = graded(entry)
    own, _ = _own_and_other_cells(entry, g)
    failed = {label: v for label, v in g.verdicts.items() if not v["passed"]}
    assert any(v["mistake"] == entry.mistake and v["function"] == entry.function for v in failed.values()), (
        f"{entry.id}: no failed verdict records ({entry.mistake}, {entry.function}); the verdicts of "
        f"{entry.function}'s cells:\n" + "\n".join(f"{c}: {g.verdicts.get(c)}" for c in own)
    )


def test_every_entry_that_must_not_be_misnamed_is_in_the_catalogue():
    assert set(NOT_NAMED_AS) <= {e.id for e in WRONG_ANSWERS}


@pytest.mark.parametrize("entry", [e for e in WRONG_ANSWERS if e.id in NOT_NAMED_AS], ids=lambda e: e.id)
def test_feedback_does_not_name_another_mistake(graded, entry):
    g = graded(entry)
    own, _ = _own_and_other_cells(entry, g)
    shown = "\n".join(g.errors.get(c, "") for c in own)
    phrase = NOT_NAMED_AS[entry.id][0]
    assert phrase not in shown, f"{entry.id}: the feedback speaks of {phrase!r}:\n{shown}\n{g.table}"


# --------------------------------------------------------------------------
# Calling the reference
# --------------------------------------------------------------------------


@pytest.mark.parametrize("entry", REFERENCE_CALLS, ids=lambda e: e.id)
def test_calling_the_reference_scores_zero_for_that_function(graded, entry):
    """Graded code runs without em_lib: the function scores zero and is told why; the functions of
    the assignment that the submission answered itself keep full marks."""
    g = graded(entry)
    own, _ = _own_and_other_cells(entry, g)
    scored, possible = g.points(own)
    assert scored == 0, f"{entry.id}: {entry.function} scored {scored:g}/{possible:g}\n{g.table}"
    shown = "\n".join(g.errors.get(c, "") for c in own)
    assert "is not available when your notebook is graded" in shown, f"{entry.id}: the feedback says\n{shown}"
    calling = {c for e in g.entries for c in _cells_of(e.function, g.cells)}
    lost = [c for c in g.cells if c not in calling and g.score(c) < g.cells[c]]
    assert not lost, f"{entry.id}: functions answered without the reference lost points in {lost}\n{g.table}"
