"""Grade exports (course_grading.exports) with real nbgrader.

A private course, 01_latent_variables autograded for three students (every answer
right, the release untouched, one wrong answer) plus a student in the gradebook with
no submission; ``nbgrader export --exporter=course_grading.exports.<Class>`` run from
the course root, its CSVs checked against the gradebook.
"""

import csv
import subprocess
import sys

import pytest

from nbgrader.api import Gradebook

from submissions import Course, command_env

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

ASSIGNMENT = "01_latent_variables"
FILLED, BLANK, WRONG, ABSENT = "s001", "s002", "s003", "s004"
WRONG_ANSWER = {"log_joint_answer": "def log_joint(x, weights, means, variances):\n    return 0.0\n"}


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    course = Course(tmp_path_factory.mktemp("exports"))
    course.release(ASSIGNMENT)
    course.submit(FILLED, ASSIGNMENT, course.filled(ASSIGNMENT))
    course.submit(BLANK, ASSIGNMENT, course.blank(ASSIGNMENT))
    course.submit(WRONG, ASSIGNMENT, course.with_answers(ASSIGNMENT, WRONG_ANSWER))
    for student in (FILLED, BLANK, WRONG):
        result = course.autograde(ASSIGNMENT, student)
        assert result["success"], result.get("error") or result.get("log")
    with Gradebook(course.api.coursedir.db_url) as gb:
        gb.update_or_create_student(FILLED, first_name="Ada", last_name="Lovelace", email="ada@example.org")
        gb.add_student(ABSENT, email="absent@example.org")
        # a grader marks s001's written answer by hand: the exports carry the manual score
        grade = gb.find_grade("latent_variables_written", ASSIGNMENT, ASSIGNMENT, FILLED)
        grade.manual_score = 1.5
        gb.db.commit()
    return course


def export(course, exporter, dest):
    result = subprocess.run(
        [sys.executable, "-m", "nbgrader", "export", f"--exporter=course_grading.exports.{exporter}", f"--to={dest}"],
        cwd=course.root, env=command_env(), capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    with open(dest, newline="", encoding="utf-8") as fh:
        return list(csv.reader(fh))


def gradebook_truth(course):
    """{student: ({grade_id: score}, total, final score)}, grade_id max points, assignment max."""
    truth = {}
    with Gradebook(course.api.coursedir.db_url) as gb:
        assignment = gb.find_assignment(ASSIGNMENT)
        maxima = {c.name: c.max_score for nb in assignment.notebooks for c in nb.grade_cells + nb.task_cells}
        for student in (FILLED, BLANK, WRONG):
            sub = gb.find_submission(ASSIGNMENT, student)
            cells = {g.name: g.score for nb in sub.notebooks for g in nb.grades}
            truth[student] = (cells, sub.score, max(0.0, sub.score - (sub.late_submission_penalty or 0.0)))
        return truth, maxima, assignment.max_score


def notebook_order(course):
    """grade_ids of the source notebook's graded cells in notebook order."""
    source = course.source(ASSIGNMENT)
    return [c["metadata"]["nbgrader"]["grade_id"] for c in source["cells"]
            if c.get("metadata", {}).get("nbgrader", {}).get("grade")
            or c.get("metadata", {}).get("nbgrader", {}).get("task")]


def test_per_problem(course, tmp_path):
    rows = export(course, "PerProblemExporter", tmp_path / "scores.csv")
    truth, maxima, assignment_max = gradebook_truth(course)
    order = notebook_order(course)
    assert order and set(order) == set(maxima)
    assert rows[0] == ["student_id"] + [f"{ASSIGNMENT}:{g}" for g in order] + [f"{ASSIGNMENT}:total"]
    by_student = {r[0]: r[1:] for r in rows[1:]}
    assert list(by_student) == sorted([FILLED, BLANK, WRONG, ABSENT])  # one row each, no header-like row
    for student, (cells, total, _) in truth.items():
        got = by_student[student]
        assert [float(x) for x in got[:-1]] == [cells[g] for g in order], student
        assert float(got[-1]) == pytest.approx(total) == pytest.approx(sum(cells.values()))
    assert by_student[ABSENT] == [""] * (len(order) + 1)
    # the scores tell the students apart: full marks, none, and a loss on the wrong answer's tests
    full, blank, wrong = (truth[s][1] for s in (FILLED, BLANK, WRONG))
    assert blank < wrong < full
    assert any(float(a) > float(b) for a, b in zip(by_student[FILLED], by_student[WRONG]))
    assert by_student[FILLED][order.index("latent_variables_written")] == "1.5"

    maxrows = list(csv.reader(open(tmp_path / "scores-max.csv", newline="", encoding="utf-8")))
    assert maxrows[0] == rows[0] and len(maxrows) == 2 and maxrows[1][0] == "max"
    assert [float(x) for x in maxrows[1][1:-1]] == [maxima[g] for g in order]
    assert float(maxrows[1][-1]) == pytest.approx(assignment_max) == pytest.approx(sum(maxima.values()))


def test_canvas(course, tmp_path):
    rows = export(course, "CanvasExporter", tmp_path / "canvas.csv")
    truth, _, assignment_max = gradebook_truth(course)
    assert rows[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", ASSIGNMENT]
    assert rows[1][:5] == ["Points Possible", "", "", "", ""] and float(rows[1][5]) == pytest.approx(assignment_max)
    by_login = {r[3]: r for r in rows[2:]}
    assert sorted(by_login) == sorted([FILLED, BLANK, WRONG, ABSENT]) and len(rows) == 6
    assert by_login[FILLED][0] == "Lovelace, Ada" and by_login[BLANK][0] == BLANK
    for student, (_, _, final) in truth.items():
        row = by_login[student]
        assert row[1] == row[2] == row[4] == ""
        assert float(row[5]) == pytest.approx(final)
    assert by_login[ABSENT][5] == ""


def test_moodle(course, tmp_path):
    rows = export(course, "MoodleExporter", tmp_path / "moodle.csv")
    truth, _, _ = gradebook_truth(course)
    assert rows[0] == ["Username", "Email address", ASSIGNMENT]
    by_user = {r[0]: r for r in rows[1:]}
    assert sorted(by_user) == sorted([FILLED, BLANK, WRONG, ABSENT]) and len(rows) == 5
    assert by_user[FILLED][1] == "ada@example.org" and by_user[BLANK][1] == ""
    assert by_user[ABSENT] == [ABSENT, "absent@example.org", ""]
    for student, (_, _, final) in truth.items():
        assert float(by_user[student][2]) == pytest.approx(final)
