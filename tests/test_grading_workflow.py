"""The instructor's workflow on awkward but real submissions (issue 9): real `nbgrader` commands.

One private copy of the course, notebook 01 released, a class handed in with:

- a notebook renamed as a browser download or JupyterLab's "Duplicate" names it
  (``01_latent_variables (1).ipynb``): graded under the expected name, flagged;
- two renamed notebooks, or no notebook at all: one ERROR each, naming the
  student, what was found and the fix; the other students graded;
- an answer cell duplicated (a stale draft above, a new version below, or
  pasted at the very end): the LAST copy is graded, the earlier one runs before
  it (a helper defined only there still works), flagged;
- a written answer duplicated: the last copy is the one graded by hand, flagged.

Then `nbgrader autograde` again (idempotent), `nbgrader generate_feedback`
(written answers not graded yet: one WARNING, "Not graded yet" in the HTML, no
``display_data_priority`` warning) and `nbgrader export`.
"""

import copy
import csv
import hashlib
import html
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from nbgrader.api import Gradebook

from course import ROOT, notebook_path, read_notebook
from submissions import Course, auto_total

A = "01_latent_variables"
NBGRADER = str(Path(sys.executable).parent / "nbgrader")

RIGHT_LOG_JOINT = (
    "def log_joint(x, weights, means, variances):\n"
    "    x = np.asarray(x, dtype=float)[:, None]\n"
    "    return np.log(weights) + _log_normal(x, means, variances)\n"
)
#: The stale draft: a wrong log_joint, and the helper the new version (RIGHT_LOG_JOINT) uses.
STALE_DRAFT = (
    "def _log_normal(x, means, variances):\n"
    "    return -0.5 * np.log(2 * np.pi * variances) - 0.5 * (x - means) ** 2 / variances\n"
    "\n"
    "def log_joint(x, weights, means, variances):\n"
    "    return 'my first draft'\n"
)


def _meta(cell):
    return cell["metadata"].get("nbgrader", {})


def _index(notebook, grade_id):
    return next(i for i, c in enumerate(notebook["cells"]) if _meta(c).get("grade_id") == grade_id)


def _copy_of(notebook, grade_id, source, cell_id):
    cell = copy.deepcopy(notebook["cells"][_index(notebook, grade_id)])
    cell["source"], cell["id"] = source, cell_id
    return cell


def _class(course):
    """{student: {file name: notebook JSON or bytes}} handed in."""
    filled = course.filled(A)

    below = copy.deepcopy(filled)  # a stale draft, and the new version just below it
    i = _index(below, "log_joint_answer")
    below["cells"][i]["source"] = STALE_DRAFT
    below["cells"].insert(i + 1, _copy_of(below, "log_joint_answer", RIGHT_LOG_JOINT, "second-try"))

    at_the_end = copy.deepcopy(filled)  # the new version pasted at the very end, after every test
    at_the_end["cells"][_index(at_the_end, "log_joint_answer")]["source"] = STALE_DRAFT
    at_the_end["cells"].append(_copy_of(at_the_end, "log_joint_answer", RIGHT_LOG_JOINT, "pasted-at-the-end"))

    # the draft moved down between two exercises (log_likelihood calls log_joint), the new version at the end
    between = copy.deepcopy(filled)
    draft = between["cells"].pop(_index(between, "log_joint_answer"))
    draft["source"] = STALE_DRAFT
    between["cells"].insert(_index(between, "log_likelihood_answer"), draft)
    between["cells"].append(_copy_of(between, "log_joint_answer", RIGHT_LOG_JOINT, "pasted-at-the-end"))

    written = copy.deepcopy(filled)
    j = _index(written, "latent_variables_written")
    written["cells"][j]["source"] = "My draft: not sure yet."
    written["cells"].insert(j + 1, _copy_of(written, "latent_variables_written", "My final answer.", "final"))

    return {
        "a_renamed": {f"{A} (1).ipynb": filled},
        "b_several": {f"{A} (1).ipynb": filled, f"{A}-Copy1.ipynb": course.blank(A)},
        "c_none": {"answers.pdf": b"%PDF-1.7 not a notebook"},
        "d_good": {f"{A}.ipynb": filled},
        "e_answer_twice": {f"{A}.ipynb": below},
        "f_answer_pasted_at_the_end": {f"{A}.ipynb": at_the_end},
        "g_written_twice": {f"{A}.ipynb": written},
        "i_draft_between_exercises": {f"{A}.ipynb": between},
    }


def _nbgrader(course, *args):
    return subprocess.run([NBGRADER, *args], cwd=course.root, capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    course = Course(tmp_path_factory.mktemp("course"))
    course.release(A)
    for student, files in _class(course).items():
        folder = course.root / "submitted" / student / A
        folder.mkdir(parents=True)
        for name, content in files.items():
            if isinstance(content, dict):
                (folder / name).write_text(json.dumps(content))
            else:
                (folder / name).write_bytes(content)
    (course.root / "submitted" / "h_empty" / A).mkdir(parents=True)
    original = (course.root / "submitted" / "a_renamed" / A / f"{A} (1).ipynb").read_bytes()
    first = _nbgrader(course, "autograde", A)
    grades_first = {s: course.grades(A, s) for s in ("a_renamed", "d_good")}
    again = _nbgrader(course, "autograde", A, "--student", "a_renamed", "--force")
    return course, first, again, original, grades_first


def _lines(run, level, text):
    return [line for line in run.stderr.splitlines() if f"| {level}]" in line and text in line]


def _comment(course, student, grade_id):
    with Gradebook(course.api.coursedir.db_url) as gb:
        return gb.find_comment(grade_id, A, A, student).auto_comment or ""


def _test_ids(course, answer_id):
    """The test cells after an answer cell, up to the next answer cell."""
    source = course.source(A)
    out = []
    for cell in source["cells"][_index(source, answer_id) + 1:]:
        if _meta(cell).get("solution"):
            break
        if _meta(cell).get("grade"):
            out.append(_meta(cell)["grade_id"])
    return out


def _autograded(course, student):
    return read_notebook(notebook_path(course.root / "autograded" / student, A))


# -- a renamed notebook -----------------------------------------------------------------------


def test_a_lone_renamed_notebook_is_graded_under_the_expected_name_and_flagged(batch):
    course, first, _, original, _ = batch
    grades = course.grades(A, "a_renamed")
    scored, possible = auto_total(grades, course.source(A))
    assert scored == possible == 9.0, grades
    assert notebook_path(course.root / "autograded" / "a_renamed", A).exists()
    warnings = _lines(first, "WARNING", "student 'a_renamed'")
    assert len(warnings) == 1, first.stderr[-4000:]
    assert f"handed in as '{A} (1).ipynb'" in warnings[0] and "Flagged for review" in warnings[0]
    assert any(needs for _, _, needs in grades.values())  # the formgrader lists it for review
    assert f"'{A} (1).ipynb'" in _comment(course, "a_renamed", "log_joint_answer")
    assert "Skipping unknown notebook" not in first.stderr
    # the student's file is untouched; the copy graded sits beside it
    folder = course.root / "submitted" / "a_renamed" / A
    assert (folder / f"{A} (1).ipynb").read_bytes() == original
    record = read_notebook(folder / f"{A}.ipynb")["metadata"]["course_grading"]["submitted_as"]
    assert record == {"file": f"{A} (1).ipynb", "sha256": hashlib.sha256(original).hexdigest()}


def test_autograding_a_renamed_notebook_again_gives_the_same_result(batch):
    course, _, again, _, grades_first = batch
    assert again.returncode == 0, again.stderr[-4000:]
    assert course.grades(A, "a_renamed") == grades_first["a_renamed"]
    assert len(_lines(again, "WARNING", "handed in as")) == 1, again.stderr[-4000:]
    assert "Skipping unknown notebook" not in again.stderr
    assert sorted(p.name for p in (course.root / "submitted" / "a_renamed" / A).glob("*.ipynb")) == [
        f"{A} (1).ipynb", f"{A}.ipynb"]


@pytest.mark.parametrize("student, found", [
    ("b_several", f"several other notebooks: '{A} (1).ipynb', '{A}-Copy1.ipynb'"),
    ("c_none", "no notebook, only 'answers.pdf'"),
    ("h_empty", "nothing (an empty folder)"),
])
def test_several_notebooks_or_none_get_one_clear_error_and_the_batch_goes_on(batch, student, found):
    course, first, _, _, grades_first = batch
    errors = _lines(first, "ERROR", f"Cannot grade student '{student}'")
    assert len(errors) == 1, first.stderr[-6000:]
    folder = course.root / "submitted" / student / A
    assert f"{A}.ipynb is missing from {folder}/, which holds {found}" in errors[0], errors[0]
    assert f"nbgrader autograde {A} --student {student} --force" in errors[0]
    assert "did you forget to run 'nbgrader generate_assignment'" not in first.stderr
    # not graded, but not a silent 0 either: every grade waits for the instructor
    assert not notebook_path(course.root / "autograded" / student, A).exists()
    grades = course.grades(A, student)
    assert grades and all(needs for _, _, needs in grades.values()), grades
    # the others are graded, and the exit status says some submission failed
    assert auto_total(grades_first["d_good"], course.source(A)) == (9.0, 9.0)
    assert first.returncode == 1
    failed = set(re.findall(r"There was an error processing assignment '\S+' for student '(\S+)'", first.stderr))
    assert failed == {"b_several", "c_none", "h_empty"}


# -- a duplicated answer cell -----------------------------------------------------------------


@pytest.mark.parametrize("student", ["e_answer_twice", "f_answer_pasted_at_the_end"])
def test_the_last_copy_of_an_answer_cell_is_graded_and_flagged(batch, student):
    course, first, _, _, _ = batch
    grades = course.grades(A, student)
    tests = _test_ids(course, "log_joint_answer")
    # the new version is graded (with the helper only the stale draft defines), not the draft
    assert all(grades[g][0] == grades[g][1] for g in tests), grades
    assert auto_total(grades, course.source(A)) == (9.0, 9.0)
    assert {g for g in tests if grades[g][2]} == set(tests)  # flagged
    comment = _comment(course, student, "log_joint_answer")
    assert "appeared 2 times; the last copy (the lowest in the notebook) was graded as the answer" in comment
    warnings = _lines(first, "WARNING", f"student '{student}'")
    assert len(warnings) == 1 and "cell 'log_joint_answer'" in warnings[0], first.stderr[-4000:]
    # in the graded notebook: the draft, an ordinary cell, runs first; the last copy is the answer cell,
    # before the exercise's tests
    cells = _autograded(course, student)["cells"]
    sources = ["".join(c["source"]) for c in cells]
    answer = _index({"cells": cells}, "log_joint_answer")
    assert sources[answer] == RIGHT_LOG_JOINT
    assert sources.index(STALE_DRAFT) == answer - 1 and answer < _index({"cells": cells}, tests[0])
    assert not _meta(cells[sources.index(STALE_DRAFT)])


def test_an_earlier_copy_anywhere_in_the_notebook_runs_just_before_the_last_one(batch):
    """The draft sat between two exercises: it runs just before the last copy, so log_likelihood, which
    calls log_joint, is tested with the last copy's log_joint too."""
    course, _, _, _, _ = batch
    grades = course.grades(A, "i_draft_between_exercises")
    assert auto_total(grades, course.source(A)) == (9.0, 9.0), grades
    cells = _autograded(course, "i_draft_between_exercises")["cells"]
    sources = ["".join(c["source"]) for c in cells]
    assert sources.index(STALE_DRAFT) == _index({"cells": cells}, "log_joint_answer") - 1


def test_the_last_copy_of_a_written_answer_is_the_one_graded_by_hand(batch):
    course, first, _, _, _ = batch
    cells = _autograded(course, "g_written_twice")["cells"]
    graded = cells[_index({"cells": cells}, "latent_variables_written")]
    assert "".join(graded["source"]) == "My final answer."
    draft = next(c for c in cells if "".join(c["source"]) == "My draft: not sure yet.")
    assert not _meta(draft) and cells.index(draft) < cells.index(graded)
    assert "the last copy (the lowest in the notebook) is the answer to grade" in _comment(
        course, "g_written_twice", "latent_variables_written")
    assert course.grades(A, "g_written_twice")["latent_variables_written"][2]  # waits for the instructor
    assert auto_total(course.grades(A, "g_written_twice"), course.source(A)) == (9.0, 9.0)


# -- feedback and export --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def feedback(batch):
    course = batch[0]
    with Gradebook(course.api.coursedir.db_url) as gb:  # the instructor grades one student's written answer
        gb.find_grade("latent_variables_written", A, A, "d_good").manual_score = 2.0
        gb.db.commit()
    run = _nbgrader(course, "generate_feedback", A)
    return course, run


def _page(course, student):
    page = (course.root / "feedback" / student / A / f"{A}.html").read_text(encoding="utf-8")
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", "", page)))


def test_generate_feedback_warns_once_about_written_answers_not_graded_yet(feedback):
    course, run = feedback
    assert run.returncode == 0, run.stderr[-4000:]
    warnings = _lines(run, "WARNING", "not graded yet")
    assert len(warnings) == 1, run.stderr[-4000:]
    # graded: a_renamed, d_good (its written answer graded by hand), e, f, g, i: 5 students with 1 written
    # answer each not graded yet
    assert f"Assignment '{A}': 5 written answers of 5 students (of the 6 whose feedback" in warnings[0]
    assert "formgrader" in warnings[0] and f"nbgrader generate_feedback {A} --force" in warnings[0]
    assert "d_good" not in warnings[0]
    assert "display_data_priority" not in run.stderr, run.stderr[-4000:]


def test_the_feedback_says_not_graded_yet_at_such_an_answer(feedback):
    course, _ = feedback
    text = _page(course, "a_renamed")
    assert "Not graded yet: 1 written answer is not graded yet (2 points)" in text
    assert "Comments: Not graded yet. Your instructor has not graded this answer yet" in text
    graded = _page(course, "d_good")
    assert "Not graded yet" not in graded


def test_export_has_every_graded_student_and_no_silent_zero(batch, feedback):
    course, first, _, _, _ = batch
    run = _nbgrader(course, "export")
    assert run.returncode == 0, run.stderr[-3000:]
    rows = {row["student_id"]: row for row in csv.DictReader((course.root / "grades.csv").open())}
    assert float(rows["a_renamed"]["raw_score"]) == 9.0  # the renamed notebook: graded, not 0
    assert float(rows["d_good"]["raw_score"]) == 11.0
    for student in ("b_several", "c_none", "h_empty"):  # 0, but each with its ERROR line and its flag
        assert float(rows[student]["raw_score"]) == 0.0
        assert _lines(first, "ERROR", f"Cannot grade student '{student}'")


def test_student_data_is_ignored_by_git():
    paths = ["grades.csv", "submitted/s001/a/a.ipynb", "autograded/x", "feedback/x", "release/x",
             "gradebook.db", "gradebook.db-journal", "gradebook.db-wal", ".nbgrader/exchange/x", "reports/x.csv"]
    run = subprocess.run(["git", "check-ignore", "--no-index", *paths], cwd=ROOT, capture_output=True, text=True)
    assert sorted(run.stdout.split()) == sorted(paths), run.stdout + run.stderr
    text = (ROOT / ".gitignore").read_text()
    assert "student data" in text.lower()
