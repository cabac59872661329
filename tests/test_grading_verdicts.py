"""What the grader records and says, besides the scores, graded by the real ``nbgrader autograde``.

- Each test cell's verdict is kept in the autograded notebook's metadata (``course_grading.verdicts``):
  passed, and why not ("fail": the answer; "stopped": a hang, a crash, the memory limit;
  "grader": the test itself raised), for the instructor's tools to read instead of printed text.
- A test that raises something other than a failed check cannot decide: the cell scores 0 and is
  flagged for review, with a comment, not silently failed.
- The log says once what protects the students' code; without bubblewrap grading still runs,
  and says loudly, once, that it is unprotected; configured to insist on the sandbox, it refuses.
"""

import json
import os
import subprocess
import sys
import textwrap

import nbformat
import pytest

from course import notebook_path
from submissions import Course

A = "01_latent_variables"

#: A graded test that assumes the learner's function returns something with a length.
FRAGILE_TEST = textwrap.dedent('''\
    """log_joint of one height: one row (a test that trusts the answer to have a length)."""
    assert len(log_joint(np.array([170.0]), np.array([1.0]), np.array([170.0]), np.array([60.0]))) == 1
    ''')

RETURNS_NONE = "def log_joint(x, weights, means, variances):\n    return None\n"
HANGS = "def log_likelihood(x, weights, means, variances):\n    while True:\n        pass\n"


def _nbgrader(course, *args, env=None):
    return subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=course.root, capture_output=True, text=True,
                          env=env)


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    course = Course(tmp_path_factory.mktemp("verdicts"))
    source = notebook_path(course.root / "solutions", A)
    nb = nbformat.read(source, as_version=4)
    index = next(i for i, c in enumerate(nb.cells) if c.metadata.get("nbgrader", {}).get("grade_id") == "test_log_joint_far_tail")
    cell = nbformat.v4.new_code_cell(FRAGILE_TEST)
    cell.metadata["nbgrader"] = {"grade": True, "grade_id": "test_log_joint_one_row", "locked": True, "points": 1,
                                 "schema_version": 3, "solution": False, "task": False}
    nb.cells.insert(index + 1, cell)
    nbformat.write(nb, source)
    course.submit("careful", A, course.filled(A))
    course.submit("sloppy", A, course.with_answers(A, {"log_joint_answer": RETURNS_NONE, "log_likelihood_answer": HANGS}))
    course.run = _nbgrader(course, "autograde", A)
    assert course.run.returncode == 0, course.run.stderr[-3000:]
    return course


def _verdicts(course, student):
    nb = json.loads(notebook_path(course.root / "autograded" / student, A).read_text())
    return nb["metadata"]["course_grading"]["verdicts"]


def test_every_test_cells_verdict_is_recorded_and_agrees_with_its_score(course):
    for student in ("careful", "sloppy"):
        verdicts, grades = _verdicts(course, student), course.grades(A, student)
        tests = {g for g in grades if g.startswith("test_")}
        assert set(verdicts) == tests
        for grade_id, verdict in verdicts.items():
            assert verdict["passed"] == (grades[grade_id][0] == grades[grade_id][1]), (student, grade_id)
    assert all(v["passed"] and v["kind"] == "pass" for v in _verdicts(course, "careful").values())


def test_a_wrong_answer_a_hang_and_a_test_that_raised_are_told_apart(course):
    verdicts = _verdicts(course, "sloppy")
    assert verdicts["test_log_joint_values"]["kind"] == "fail"
    assert "log_joint(x, weights, means, variances) with n = 5, K = 2 is not right" in verdicts["test_log_joint_values"]["message"]
    assert verdicts["test_log_likelihood_values"]["kind"] == "stopped"
    assert "still running after" in verdicts["test_log_likelihood_values"]["message"]
    assert verdicts["test_log_joint_one_row"]["kind"] == "grader"
    assert verdicts["test_log_joint_one_row"]["message"].startswith("TypeError")


def test_a_test_that_raised_scores_zero_and_is_flagged_for_review(course):
    grades = course.grades(A, "sloppy")
    assert grades["test_log_joint_one_row"][0] == 0 and grades["test_log_joint_one_row"][2] is True
    assert grades["test_log_joint_values"][2] is False   # a plain wrong answer is not flagged
    assert "The graded test `test_log_joint_one_row` could not decide" in course.run.stderr
    assert course.grades(A, "careful")["test_log_joint_one_row"] == (1.0, 1.0, False)


def test_the_log_says_once_what_protects_the_students_code(course):
    assert course.run.stderr.count("Sandbox: students' code runs in a bubblewrap sandbox") == 1


def _without_bwrap(course):
    """An environment whose PATH has the venv's tools but no bubblewrap."""
    bin_dir = course.root / "bin-without-bwrap"
    bin_dir.mkdir(exist_ok=True)
    return {**os.environ, "PATH": f"{os.path.dirname(sys.executable)}:{bin_dir}"}


def test_without_bubblewrap_grading_runs_and_says_loudly_once_that_it_is_unprotected(course):
    course.submit("laptop", A, course.filled(A))
    run = _nbgrader(course, "autograde", A, "--student", "laptop", "--SandboxedExecute.sandbox=auto",
                    env=_without_bwrap(course))
    assert run.returncode == 0, run.stderr[-3000:]
    assert run.stderr.count("UNPROTECTED GRADING: bubblewrap (bwrap) is not installed") == 1
    grades = course.grades(A, "laptop")
    assert all(score == points for g, (score, points, _) in grades.items() if g.startswith("test_"))


def test_configured_to_insist_on_the_sandbox_it_refuses_without_one(course):
    course.submit("strict", A, course.filled(A))
    run = _nbgrader(course, "autograde", A, "--student", "strict", "--SandboxedExecute.sandbox=bubblewrap",
                    env=_without_bwrap(course))
    assert run.returncode != 0
    assert "bubblewrap (bwrap) is not installed" in run.stderr
