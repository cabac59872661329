"""Unreadable submissions: a clear message for that student, and the rest of the batch graded.

One real `nbgrader autograde 01_latent_variables` (the CLI, in a private copy of
the course with the instructor's nbgrader_config.py) over a class where some
files are not notebooks: empty, binary, not JSON, cut off, JSON but not a
notebook, an nbformat version nbgrader cannot read. Students are graded in
alphabetical order and the broken ones come first, so "the others are still
graded" is tested, not assumed.

Exit status (documented in docs/instructors.md): nbgrader exits 1 when any
submission could not be graded, after grading all the others.
"""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from course import notebook_path
from submissions import Course, auto_total

A = "01_latent_variables"


def _corrupt(filled):
    text = json.dumps(filled, indent=1)
    not_a_notebook = {"cells": "are in the other file", "author": "me"}
    future = dict(filled, nbformat=99)
    return {
        # student: (file content, what the message must say)
        "a_empty": (b"", "is empty"),
        "b_binary": (b"%PDF-1.7\n\xff\xfe\xfa binary", "is not a text file"),
        "c_not_json": ("print('my answers are in my head')\n", "is not valid JSON"),
        "d_cut_off": (text[: len(text) // 2], "is cut off"),
        "e_json_not_notebook": (json.dumps(not_a_notebook), "not a Jupyter notebook"),
        "f_unknown_nbformat": (json.dumps(future), "nbformat version 99"),
    }


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    course = Course(tmp_path_factory.mktemp("course"))
    filled = course.filled(A)
    corrupt = _corrupt(filled)
    for student, (content, _) in corrupt.items():
        course.submit(student, A, content)
    # A good submission whose ordinary cell carries stray nbgrader metadata: plain nbgrader
    # aborts the WHOLE batch on it ("old version of the nbgrader metadata format").
    stray = json.loads(json.dumps(filled))
    stray["cells"][1]["metadata"]["nbgrader"] = {"grade": False, "solution": False}
    course.submit("g_stray_metadata", A, stray)
    course.submit("h_good", A, filled)
    course.submit("i_good", A, filled)
    run = subprocess.run(
        [str(Path(sys.executable).parent / "nbgrader"), "autograde", A],
        cwd=course.root, capture_output=True, text=True, timeout=300,
    )
    return course, corrupt, run


def test_the_good_submissions_are_graded_despite_the_broken_ones(batch):
    course, _, run = batch
    for student in ("g_stray_metadata", "h_good", "i_good"):
        assert notebook_path(course.root / "autograded" / student, A).exists(), run.stderr[-3000:]
        scored, possible = auto_total(course.grades(A, student), course.source(A))
        assert scored == possible > 0, (student, course.grades(A, student))


@pytest.mark.parametrize("student", list(_corrupt({"nbformat": 4, "cells": []})))
def test_each_broken_file_gets_a_clear_message_for_that_student(batch, student):
    course, corrupt, run = batch
    _, problem = corrupt[student]
    path = notebook_path(course.root / "submitted" / student, A)
    lines = [line for line in run.stderr.splitlines()
             if f"ERROR] Cannot grade student '{student}', assignment '{A}'" in line]
    assert len(lines) == 1, run.stderr[-5000:]
    message = lines[0]
    assert f"the file {path} " in message and problem in message, message  # which file, what is wrong
    assert f"nbgrader autograde {A} --student {student} --force" in message  # what the instructor should do
    # no autograded notebook, and every grade waits for the instructor (nothing silently exported as 0)
    assert not notebook_path(course.root / "autograded" / student, A).exists()
    grades = course.grades(A, student)
    assert grades and all(needs_manual for _, _, needs_manual in grades.values()), grades


def test_the_exit_status_says_some_submissions_failed(batch):
    _, corrupt, run = batch
    assert run.returncode == 1, run.stderr[-3000:]
    failed = set(re.findall(r"There was an error processing assignment '\S+' for student '(\S+)'", run.stderr))
    assert failed == set(corrupt)
