"""Student code that never returns or kills its process costs what it blocks, not the batch.

One real `nbgrader autograde` batch over a class of notebook 06, run with the
course's config from the command line as an instructor would, then
`nbgrader export`: every student gets a recorded grade, within a bounded time.
"""

import csv
import subprocess
import sys
import time
from pathlib import Path

import pytest

from submissions import Course, auto_total

A = "06_beyond_gaussians"
TWO_COINS_CELLS = ("test_two_coins_em_one_iteration", "test_two_coins_em_paper", "test_two_coins_em_other_data")
THREE_COINS_CELLS = ("test_three_coins_em_symmetric_start", "test_three_coins_em_li_hang", "test_three_coins_em_other_data")

ENDLESS_LOOP = '''def two_coins_em(heads, n_tosses, theta_a, theta_b, n_iter):
    while True:
        pass
'''
SWALLOWS_INTERRUPT = '''def three_coins_em(y, pi, p, q, n_iter):
    import time
    while True:
        try:
            time.sleep(0.05)
        except KeyboardInterrupt:
            pass
'''
KILLS_KERNEL = '''def two_coins_em(heads, n_tosses, theta_a, theta_b, n_iter):
    import os
    os._exit(1)
'''


@pytest.fixture(scope="module")
def graded_class(tmp_path_factory):
    course = Course(tmp_path_factory.mktemp("course"))
    course.submit("solver", A, course.filled(A))
    course.submit("looper", A, course.with_answers(A, {"two_coins_em_answer": ENDLESS_LOOP}))
    course.submit("stubborn", A, course.with_answers(A, {"three_coins_em_answer": SWALLOWS_INTERRUPT}))
    course.submit("crasher", A, course.with_answers(A, {"two_coins_em_answer": KILLS_KERNEL}))
    nbgrader = [sys.executable, "-m", "nbgrader"]
    started = time.monotonic()
    autograde = subprocess.run(nbgrader + ["autograde", A], cwd=course.root, capture_output=True, text=True)
    elapsed = time.monotonic() - started
    export = subprocess.run(nbgrader + ["export"], cwd=course.root, capture_output=True, text=True)
    assert export.returncode == 0, export.stderr
    with open(Path(course.root) / "grades.csv") as fh:
        exported = {row["student_id"]: row for row in csv.DictReader(fh)}
    return course, autograde, elapsed, exported


def _scores(course, student, cells):
    grades = course.grades(A, student)
    return sum(grades[c][0] or 0 for c in cells), sum(grades[c][1] for c in cells)


def test_the_batch_completes_and_every_student_is_graded(graded_class):
    course, autograde, elapsed, exported = graded_class
    assert autograde.returncode == 0, autograde.stderr[-3000:]
    for student in ("solver", "looper", "stubborn", "crasher"):
        assert (Path(course.root) / "autograded" / student / A / f"{A}.ipynb").is_file(), student
        assert student in exported
    # 4 notebooks; the bad ones block 3 test cells each, each stopped after its 10 s
    assert elapsed < 3 * 3 * 10 + 60, f"the batch took {elapsed:.0f} s"


def test_an_endless_loop_scores_zero_for_what_it_blocks_only(graded_class):
    course = graded_class[0]
    assert _scores(course, "looper", TWO_COINS_CELLS)[0] == 0
    scored, possible = _scores(course, "looper", THREE_COINS_CELLS)
    assert scored == possible > 0


def test_a_loop_that_swallows_keyboard_interrupt_is_abandoned_and_the_rest_graded(graded_class):
    course = graded_class[0]
    assert _scores(course, "stubborn", THREE_COINS_CELLS)[0] == 0
    scored, possible = _scores(course, "stubborn", TWO_COINS_CELLS)
    assert scored == possible > 0
    autograded = (Path(course.root) / "autograded" / "stubborn" / A / f"{A}.ipynb").read_text()
    assert "was still running after 10 s, so it was stopped" in autograded


def test_a_dying_kernel_costs_only_the_cells_it_was_running(graded_class):
    course = graded_class[0]
    assert _scores(course, "crasher", TWO_COINS_CELLS)[0] == 0
    scored, possible = _scores(course, "crasher", THREE_COINS_CELLS)
    assert scored == possible > 0
    autograded = (Path(course.root) / "autograded" / "crasher" / A / f"{A}.ipynb").read_text()
    assert "the Python process running your code died" in autograded


def test_export_records_the_grades_not_a_zero_for_a_failed_run(graded_class):
    course, _, _, exported = graded_class
    for student in ("solver", "looper", "stubborn", "crasher"):
        scored, _ = auto_total(course.grades(A, student), course.source(A))
        assert float(exported[student]["raw_score"]) == pytest.approx(scored), student
    assert float(exported["looper"]["raw_score"]) > 0
    assert float(exported["solver"]["raw_score"]) > float(exported["looper"]["raw_score"])
