"""Grades an instructor can trust, checked by running nbgrader's autograde on real submissions.

Every assignment: the filled solution gets every autograded point, the untouched
release gets none.
"""

import pytest

from course import assignments
from submissions import Course, auto_total

ASSIGNMENTS = assignments()


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


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_the_untouched_release_gets_zero(course, assignment):
    course.submit("blank", assignment, course.blank(assignment))
    result = course.autograde(assignment, "blank")
    assert result["success"], result.get("error") or result.get("log")
    scored, possible = auto_total(course.grades(assignment, "blank"), course.source(assignment))
    assert possible > 0
    assert scored == 0, course.grades(assignment, "blank")
