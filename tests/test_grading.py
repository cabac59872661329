"""Grades an instructor can trust, checked by running nbgrader's autograde on real submissions.

Every assignment: the filled solution gets every autograded point, the untouched
release gets none, and the instructor's autograde log shows no warning for either (a
test cell whose output nbgrader cannot read as a score logs "cannot be converted to a
float" on every submission; a flagged cell or unprotected grading would warn too).
"""

import pytest

from course import assignments
from submissions import Course, auto_total

ASSIGNMENTS = assignments()


def _warnings(result):
    return [line for line in (result.get("log") or "").splitlines() if "WARNING" in line or "ERROR" in line]


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    return Course(tmp_path_factory.mktemp("course"))


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_the_filled_solution_gets_full_marks(course, assignment):
    course.submit("solver", assignment, course.filled(assignment))
    result = course.autograde(assignment, "solver")
    assert result["success"], result.get("error") or result.get("log")
    scored, possible = auto_total(course.grades(assignment, "solver"), course.source(assignment))
    assert possible > 0
    assert scored == possible, course.grades(assignment, "solver")
    assert not _warnings(result), _warnings(result)


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_the_untouched_release_gets_zero(course, assignment):
    course.submit("blank", assignment, course.blank(assignment))
    result = course.autograde(assignment, "blank")
    assert result["success"], result.get("error") or result.get("log")
    scored, possible = auto_total(course.grades(assignment, "blank"), course.source(assignment))
    assert possible > 0
    assert scored == 0, course.grades(assignment, "blank")
    assert not _warnings(result), _warnings(result)
