"""Honest work written in unusual ways (tests/honest_answers.py): full marks and no flag.

Each submission is the filled solution with the catalogue's changes; all are autograded
with the real ``nbgrader autograde`` command. Issue 4's defences read the students' source
and zeroed or flagged some of these (``import pickle``, ``em_lib.__file__``, ``eval``); a
warning on stderr cost a point; a rebound notebook variable cost a right m_step its points.
"""

import copy
import json
import subprocess
import sys

import pytest

from course import notebook_path
from honest_answers import HONEST
from submissions import Course, auto_total, autograded_ids, nbgrader_meta, with_extra_cell

ASSIGNMENTS = sorted({h.assignment for h in HONEST})


def _with_cell_before(notebook, grade_id, source):
    notebook = copy.deepcopy(notebook)
    index = next(i for i, c in enumerate(notebook["cells"]) if nbgrader_meta(c).get("grade_id") == grade_id)
    notebook["cells"].insert(index, {"cell_type": "code", "execution_count": None, "id": f"before-{index}",
                                     "metadata": {}, "outputs": [], "source": source})
    return notebook


def _notebook(course, honest):
    notebook = course.with_answers(honest.assignment, honest.answers)
    for grade_id, source in honest.before:
        notebook = _with_cell_before(notebook, grade_id, source)
    for grade_id, source in honest.after:
        notebook = with_extra_cell(notebook, grade_id, source)
    if honest.setup:
        setup = next(c for c in notebook["cells"] if "setup" in c.get("metadata", {}).get("tags", []))
        text = setup["source"] if isinstance(setup["source"], str) else "".join(setup["source"])
        setup["source"] = text.rstrip("\n") + "\n" + honest.setup
    return notebook


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    course = Course(tmp_path_factory.mktemp("honest"))
    for honest in HONEST:
        course.submit(honest.student, honest.assignment, _notebook(course, honest))
    runs = {a: subprocess.run([sys.executable, "-m", "nbgrader", "autograde", a], cwd=course.root,
                              capture_output=True, text=True) for a in ASSIGNMENTS}
    return course, runs


def test_the_catalogue_has_at_least_ten_kinds_of_honest_work():
    assert len({h.name for h in HONEST}) == len(HONEST) >= 10


def test_every_assignment_is_graded_without_error(graded):
    _, runs = graded
    for assignment, run in runs.items():
        assert run.returncode == 0, run.stderr[-3000:]
        assert "Tampering" not in run.stderr and "Flagged for review" not in run.stderr, run.stderr[-3000:]


@pytest.mark.parametrize("honest", HONEST, ids=lambda h: h.name)
def test_honest_work_gets_full_marks_and_no_flag(graded, honest):
    course, _ = graded
    grades = course.grades(honest.assignment, honest.student)
    scored, possible = auto_total(grades, course.source(honest.assignment))
    assert scored == possible > 0, {g: grades[g] for g in autograded_ids(course.source(honest.assignment))}
    flagged = [g for g in autograded_ids(course.source(honest.assignment)) if grades[g][2]]
    assert not flagged, flagged
    autograded = json.loads(notebook_path(course.root / "autograded" / honest.student, honest.assignment).read_text())
    assert autograded["metadata"].get("course_grading", {}).get("integrity", []) == []
