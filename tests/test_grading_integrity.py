"""Test and answer cells edited, deleted or duplicated: restored, graded right, flagged for review.

Real nbgrader autograde (through NbGraderAPI, with the course's config) on
notebook 01 built from solutions/. "Flagged" is what an instructor sees in
nbgrader's own tools: ``needs_manual_grade`` on the grades concerned (the
formgrader lists the submission as needing grading), an automatic comment on
the exercise's answer cell (formgrader and feedback), and a WARNING in the log.
The scores stay the autograder's, so `nbgrader export` shows the right totals.
"""

import copy
import csv
import html
import re

import pytest
from nbgrader.api import Gradebook
from nbgrader.plugins import CsvExportPlugin

from submissions import Course, auto_total

A = "01_latent_variables"


def _index(notebook, grade_id):
    return next(i for i, c in enumerate(notebook["cells"])
                if c["metadata"].get("nbgrader", {}).get("grade_id") == grade_id)


def _autograded(course, student):
    from course import notebook_path, read_notebook

    return read_notebook(notebook_path(course.root / "autograded" / student, A))


def _comment(course, student, grade_id):
    with Gradebook(course.api.coursedir.db_url) as gb:
        return gb.find_comment(grade_id, A, A, student).auto_comment or ""


def _auto_test_ids(course):
    return [c["metadata"]["nbgrader"]["grade_id"] for c in course.source(A)["cells"]
            if c["metadata"].get("nbgrader", {}).get("grade") and not c["metadata"]["nbgrader"].get("solution")]


def _tests_of(course, answer_id):
    """The test cells after an answer cell, up to the next answer cell."""
    cells = course.source(A)["cells"]
    out = []
    for cell in cells[_index(course.source(A), answer_id) + 1:]:
        meta = cell["metadata"].get("nbgrader", {})
        if meta.get("solution"):
            break
        if meta.get("grade"):
            out.append(meta["grade_id"])
    return out


def _submissions(course):
    filled = course.filled(A)

    edited = copy.deepcopy(filled)
    edited["cells"][_index(edited, "test_log_joint_values")]["source"] = "pass  # nothing to see here\n"

    deleted = copy.deepcopy(filled)
    del deleted["cells"][_index(deleted, "test_log_likelihood_values")]
    scratch = {"cell_type": "code", "execution_count": None, "id": "my-scratch", "metadata": {}, "outputs": [],
               "source": "scratch = 'my own cell'"}
    deleted["cells"].insert(_index(deleted, "test_log_joint_far_tail") + 1, scratch)

    duplicated = copy.deepcopy(filled)
    i = _index(duplicated, "test_log_joint_shape")
    duplicated["cells"].insert(i + 1, dict(copy.deepcopy(duplicated["cells"][i]), id="copy-1"))
    j = _index(duplicated, "test_log_likelihood_far_tail")
    twin = dict(copy.deepcopy(duplicated["cells"][j]), id="copy-2")
    twin["source"] = "pass"
    duplicated["cells"].insert(j + 1, twin)  # a second, edited copy: still graded once, from the source

    no_answer = copy.deepcopy(filled)
    del no_answer["cells"][_index(no_answer, "log_likelihood_answer")]

    two_answers = copy.deepcopy(filled)
    k = _index(two_answers, "log_joint_answer")
    second = dict(copy.deepcopy(two_answers["cells"][k]), id="second-try")
    second["source"] = "def log_joint(x, weights, means, variances):\n    return 'my second try'\n"
    two_answers["cells"].insert(k + 1, second)

    settings = copy.deepcopy(filled)
    settings["cells"][_index(settings, "test_log_joint_far_tail")]["metadata"]["nbgrader"]["points"] = 100
    settings["cells"][_index(settings, "test_log_likelihood_is_a_number")]["metadata"]["nbgrader"]["grade"] = False

    moved = copy.deepcopy(filled)
    moved["cells"].append(moved["cells"].pop(_index(moved, "test_log_joint_shape")))

    return {"intact": filled, "edited": edited, "deleted": deleted, "duplicated": duplicated,
            "no_answer": no_answer, "two_answers": two_answers, "settings": settings, "moved": moved}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """{student: (autograde result, grades)} for one autograded submission of each kind."""
    course = Course(tmp_path_factory.mktemp("course"))
    out = {}
    for student, notebook in _submissions(course).items():
        course.submit(student, A, notebook)
        result = course.autograde(A, student)
        assert result["success"], result.get("error") or result.get("log")
        out[student] = (result, course.grades(A, student))
    return course, out


def _full(course, grades):
    scored, possible = auto_total(grades, course.source(A))
    return scored == possible and possible > 0


def _flagged_tests(course, grades):
    return {g for g in _auto_test_ids(course) if grades[g][2]}


def test_an_intact_submission_is_not_flagged_and_logs_no_checksum_noise(graded):
    course, out = graded
    result, grades = out["intact"]
    assert _full(course, grades), grades
    assert _flagged_tests(course, grades) == set()
    assert "Integrity:" not in result["log"]
    # nbgrader's own warning for every test cell with hidden tests, in every submission: gone
    assert "Attribute 'checksum'" not in result["log"], result["log"]


def test_an_edited_test_cell_is_restored_graded_and_flagged(graded):
    course, out = graded
    result, grades = out["edited"]
    assert _full(course, grades), grades
    assert _flagged_tests(course, grades) == {"test_log_joint_values"}
    assert "student 'edited', assignment '01_latent_variables'" in result["log"]
    assert "cell 'test_log_joint_values'" in result["log"]
    assert "test_log_joint_values" in _comment(course, "edited", "log_joint_answer")
    cell = _autograded(course, "edited")["cells"][_index(course.source(A), "test_log_joint_values")]
    assert "".join(cell["source"]) == "".join(course.source(A)["cells"][_index(course.source(A), "test_log_joint_values")]["source"])


def test_the_flag_is_shown_to_the_student_in_the_feedback(graded):
    course, _ = graded
    result = course.api.generate_feedback(A, "edited", force=True)
    assert result["success"], result.get("error") or result.get("log")
    page = (course.root / "feedback" / "edited" / A / f"{A}.html").read_text(encoding="utf-8")
    text = html.unescape(re.sub(r"<[^>]+>", "", page))  # the comment is rendered from markdown
    assert "Note from the grader: The test cell test_log_joint_values had been changed" in text


def test_a_deleted_test_cell_is_restored_and_keeps_its_points(graded):
    course, out = graded
    result, grades = out["deleted"]
    assert grades["test_log_likelihood_values"][:2] == (2.0, 2.0)
    assert _full(course, grades), grades
    assert _flagged_tests(course, grades) == {"test_log_likelihood_values"}
    assert "cell 'test_log_likelihood_values'" in result["log"] and "missing" in result["log"]
    assert "test_log_likelihood_values" in _comment(course, "deleted", "log_likelihood_answer")
    # the release's order is back, and the student's own cell stayed where it was
    ids = [c["metadata"].get("nbgrader", {}).get("grade_id") for c in _autograded(course, "deleted")["cells"]]
    sources = ["".join(c["source"]) for c in _autograded(course, "deleted")["cells"]]
    assert [g for g in ids if g] == [c["metadata"]["nbgrader"]["grade_id"] for c in course.source(A)["cells"]
                                     if c["metadata"].get("nbgrader", {}).get("grade_id")]
    assert sources.index("scratch = 'my own cell'") == ids.index("test_log_joint_far_tail") + 1


def test_a_duplicated_test_cell_counts_once_and_is_flagged(graded):
    course, out = graded
    result, grades = out["duplicated"]
    scored, possible = auto_total(grades, course.source(A))
    assert scored == possible == 9.0, grades
    assert _flagged_tests(course, grades) == {"test_log_joint_shape", "test_log_likelihood_far_tail"}
    ids = [c["metadata"].get("nbgrader", {}).get("grade_id") for c in _autograded(course, "duplicated")["cells"]]
    assert ids.count("test_log_joint_shape") == ids.count("test_log_likelihood_far_tail") == 1
    assert "appeared 2 times" in _comment(course, "duplicated", "log_joint_answer")


def test_a_deleted_answer_cell_scores_zero_for_its_function_and_is_flagged(graded):
    course, out = graded
    result, grades = out["no_answer"]
    likelihood_tests = _tests_of(course, "log_likelihood_answer")
    assert likelihood_tests and all(grades[g][0] == 0 for g in likelihood_tests), grades
    assert all(grades[g][0] == grades[g][1] for g in _tests_of(course, "log_joint_answer")), grades
    assert _flagged_tests(course, grades) == set(likelihood_tests)
    assert "cell 'log_likelihood_answer'" in result["log"]
    assert "log_likelihood_answer" in _comment(course, "no_answer", "log_likelihood_answer")


def test_a_duplicated_answer_cell_is_flagged_and_no_work_is_lost(graded):
    course, out = graded
    result, grades = out["two_answers"]
    log_joint_tests = _tests_of(course, "log_joint_answer")
    assert _flagged_tests(course, grades) == set(log_joint_tests)
    assert "appeared 2 times" in _comment(course, "two_answers", "log_joint_answer")
    cells = _autograded(course, "two_answers")["cells"]
    ids = [c["metadata"].get("nbgrader", {}).get("grade_id") for c in cells]
    assert ids.count("log_joint_answer") == 1
    assert any("my second try" in "".join(c["source"]) for c in cells)  # kept, as an ordinary cell
    # the notebook ran as the student left it: the second definition is the one tested
    assert all(grades[g][0] == 0 for g in log_joint_tests), grades


def test_changed_grading_settings_are_restored_and_flagged(graded):
    course, out = graded
    result, grades = out["settings"]
    assert grades["test_log_joint_far_tail"][:2] == (1.0, 1.0)  # not 100 points
    assert grades["test_log_likelihood_is_a_number"][:2] == (1.0, 1.0)  # still graded
    assert _full(course, grades), grades
    assert _flagged_tests(course, grades) == {"test_log_joint_far_tail", "test_log_likelihood_is_a_number"}
    assert "points (100.0 instead of 1.0)" in result["log"]


def test_moved_cells_are_put_back_in_the_release_order(graded):
    course, out = graded
    result, grades = out["moved"]
    assert _full(course, grades), grades
    ids = [c["metadata"].get("nbgrader", {}).get("grade_id") for c in _autograded(course, "moved")["cells"]]
    assert ids.index("test_log_joint_shape") == ids.index("log_joint_self_check") + 1
    assert "not in the order of the released notebook" in result["log"]


def test_the_exported_csv_has_the_right_totals(graded, tmp_path):
    course, out = graded
    target = tmp_path / "grades.csv"
    plugin = CsvExportPlugin(to=str(target))
    with Gradebook(course.api.coursedir.db_url) as gb:
        plugin.export(gb)
    rows = {row["student_id"]: row for row in csv.DictReader(target.open())
            if row["assignment"] == A}
    likelihood_points = sum(course.grades(A, "no_answer")[g][1] for g in _tests_of(course, "log_likelihood_answer"))
    log_joint_points = sum(course.grades(A, "intact")[g][1] for g in _tests_of(course, "log_joint_answer"))
    expected = {"intact": 9.0, "edited": 9.0, "deleted": 9.0, "duplicated": 9.0, "settings": 9.0, "moved": 9.0,
                "no_answer": 9.0 - likelihood_points, "two_answers": 9.0 - log_joint_points}
    assert {s: float(rows[s]["raw_score"]) for s in expected} == expected
    assert all(float(rows[s]["max_score"]) == 11.0 for s in expected)  # 9 autograded + 2 written, by hand
