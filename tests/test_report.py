"""The class report (course_grading.report) on a seeded class graded with real nbgrader.

A private course, 04_e_and_m_steps handed in by ten students: two right (one of them with an
answer cell duplicated, which grading flags for review), one blank, six with wrong answers
from tests/wrong_answers.py in known numbers (one student with two of them), and one student
in the gradebook with no submission. One written answer is graded by hand. The report is
written by ``python -m course_grading.report`` (what ``make report`` runs) and checked
against the seeding and the gradebook; its page is opened in Chromium.
"""

import copy
import csv
import json
import re
import subprocess
import sys
from collections import defaultdict

import pytest

from nbgrader.api import Gradebook

from browser import chromium
from course import ROOT
from submissions import Course, command_env
from wrong_answers import WRONG_ANSWERS

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

ASSIGNMENT = "04_e_and_m_steps"
RIGHT, FLAGGED, BLANK, ABSENT, LOST = "right", "flagged", "blank", "absent", "lost"
#: student -> the wrong answers (catalogue names) they hand in; the other answers are right
SEEDED = {
    "w1": ("m_step", "variances_divided_by_n"),
    "w2": ("m_step", "variances_divided_by_n"),
    "w3": ("m_step", "variances_divided_by_n", "fit_em", "e_and_m_swapped"),
    "w4": ("m_step", "means_divided_by_n"),
    "w5": ("fit_em", "e_and_m_swapped"),
    "w6": ("em_iteration", "q_function_instead_of_the_bound"),
}
HAND_GRADED = (RIGHT, "m_step_means_written", 2.0)


def _catalogue(function, name):
    entry = next(w for w in WRONG_ANSWERS if w.assignment == ASSIGNMENT and w.function == function and w.name == name)
    assert entry.mistake, f"the catalogue's {entry.id} names no mistake id"
    return entry


def _seeded_answers():
    """student -> [WrongAnswer]"""
    out = {}
    for student, spec in SEEDED.items():
        out[student] = [_catalogue(spec[i], spec[i + 1]) for i in range(0, len(spec), 2)]
    return out


def report(course, *args):
    return subprocess.run([sys.executable, "-m", "course_grading.report", *args], cwd=course.root, env=command_env(),
                          capture_output=True, text=True, timeout=300)


def read_csv(path):
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    course = Course(tmp_path_factory.mktemp("report"))
    course.release(ASSIGNMENT)
    course.submit(RIGHT, ASSIGNMENT, course.filled(ASSIGNMENT))
    flagged = course.filled(ASSIGNMENT)
    cells = flagged["cells"]
    index = next(i for i, c in enumerate(cells) if c["metadata"].get("nbgrader", {}).get("grade_id") == "m_step_answer")
    duplicate = copy.deepcopy(cells[index])
    duplicate["id"] = "duplicate-answer"
    cells.insert(index, duplicate)  # the answer cell twice: graded, flagged for review
    course.submit(FLAGGED, ASSIGNMENT, flagged)
    course.submit(BLANK, ASSIGNMENT, course.blank(ASSIGNMENT))
    for student, entries in _seeded_answers().items():
        course.submit(student, ASSIGNMENT, course.with_answers(ASSIGNMENT, {e.grade_id: e.source for e in entries}))
    # two copies under other names: nbgrader cannot pick one, the submission waits for the instructor
    lost = course.root / "submitted" / LOST / ASSIGNMENT
    lost.mkdir(parents=True)
    (lost / f"{ASSIGNMENT} (1).ipynb").write_text(json.dumps(course.filled(ASSIGNMENT)))
    (lost / f"{ASSIGNMENT}-Copy1.ipynb").write_text(json.dumps(course.blank(ASSIGNMENT)))
    for student in [RIGHT, FLAGGED, BLANK, *SEEDED]:
        result = course.autograde(ASSIGNMENT, student)
        assert result["success"], result.get("error") or result.get("log")
    assert not course.autograde(ASSIGNMENT, LOST)["success"]
    with Gradebook(course.api.coursedir.db_url) as gb:
        gb.add_student(ABSENT)
        student, cell, score = HAND_GRADED
        grade = gb.find_grade(cell, ASSIGNMENT, ASSIGNMENT, student)
        grade.manual_score = score
        gb.db.commit()
    result = report(course, ASSIGNMENT, "--url", "http://hub.example.org/user/teacher")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Wrote" in result.stdout and "misconceptions" in result.stdout
    return course


@pytest.fixture(scope="module")
def out(course):
    return course.root / "reports" / ASSIGNMENT


def gradebook_scores(course):
    """{student: {grade_id: (score or None while waiting, max)}}, and {student: SubmittedNotebook id}."""
    scores, ids = {}, {}
    with Gradebook(course.api.coursedir.db_url) as gb:
        for sub in gb.assignment_submissions(ASSIGNMENT):
            for nb in sub.notebooks:
                ids[sub.student.id] = nb.id
                scores[sub.student.id] = {
                    g.name: (None if g.needs_manual_grade and g.manual_score is None and g.auto_score is None
                             else g.score, g.max_score) for g in nb.grades}
    return scores, ids


def test_each_seeded_misconception_is_counted_for_exactly_its_students(out):
    rows = read_csv(out / "misconceptions.csv")
    assert rows and set(rows[0]) >= {"function", "misconception", "students", "mistake", "student_ids"}
    found = {(r["function"], r["mistake"]): r for r in rows}
    expected = defaultdict(set)
    for student, entries in _seeded_answers().items():
        for entry in entries:
            expected[(entry.function, entry.mistake)].add(student)
    for (function, mistake), students in expected.items():
        assert (function, mistake) in found, f"{function}: {mistake} missing from {sorted(found)}"
        row = found[(function, mistake)]
        assert set(row["student_ids"].split()) == students, (function, mistake)
        assert int(row["students"]) == len(students)
        assert len(row["misconception"]) > 20 and "\n" not in row["misconception"]
    # nobody right, blank or absent has a misconception
    for row in rows:
        assert not {RIGHT, FLAGGED, BLANK, ABSENT, LOST} & set(row["student_ids"].split()), row
    # most common first within each function
    per_function = defaultdict(list)
    for row in rows:
        per_function[row["function"]].append(int(row["students"]))
    for function, counts in per_function.items():
        assert counts == sorted(counts, reverse=True), function
    # the exercise with most seeded students comes with its mistake first
    m_step = [r for r in rows if r["function"] == "m_step"]
    assert m_step[0]["mistake"] == _catalogue("m_step", "variances_divided_by_n").mistake and m_step[0]["students"] == "3"


def test_per_cell_counts_match_the_gradebook(course, out):
    scores, _ = gradebook_scores(course)
    rows = {r["cell"]: r for r in read_csv(out / "cells.csv")}
    source_ids = [c["metadata"]["nbgrader"]["grade_id"] for c in course.source(ASSIGNMENT)["cells"]
                  if c["metadata"].get("nbgrader", {}).get("grade")]
    assert list(rows) == source_ids  # notebook order, every graded cell
    for cell, row in rows.items():
        counts = {"full": 0, "partial": 0, "none": 0, "waiting": 0}
        for grades in scores.values():
            score, maximum = grades[cell]
            kind = "waiting" if score is None else "full" if score == maximum else "partial" if score > 0 else "none"
            counts[kind] += 1
        assert {k: int(row[k]) for k in counts} == counts, cell
        assert float(row["points"]) == next(iter(scores.values()))[cell][1]
    # what the seeding implies, said plainly
    # variances: right for right, flagged, w4 (its variances are right about its own means), w5, w6; not w1-w3, blank
    assert rows["test_m_step_variances"]["full"] == "5"
    assert int(rows["test_m_step_variances"]["none"]) + int(rows["test_m_step_variances"]["partial"]) == 4
    # all but the blank one and the graded one (the lost one's every cell waits)
    assert rows["m_step_means_written"]["waiting"] == str(len(scores) - 2)
    assert rows["test_m_step_weights"]["waiting"] == "1"
    assert rows["test_em_iteration_chain"]["kind"] == "test" and rows["monotone_written"]["kind"] == "written"


def test_exercises_group_each_functions_tests(out):
    rows = {r["exercise"]: r for r in read_csv(out / "exercises.csv")}
    assert {"m_step", "em_iteration", "fit_em", "m_step_means_written", "monotone_written"} <= set(rows)
    assert float(rows["m_step"]["points"]) == 6
    # m_step: right, flagged, w5, w6 full; w1-w4 lose some; the blank one none
    assert (rows["m_step"]["full"], rows["m_step"]["none"]) == ("4", "1")
    assert int(rows["m_step"]["partial"]) + int(rows["m_step"]["none"]) == 5
    # its score distribution: points -> students, over the graded ones (the lost submission waits)
    spread = {float(k): int(v) for k, v in (item.split(":") for item in rows["m_step"]["distribution"].split())}
    assert spread[6.0] == 4 and spread[0.0] == 1 and sum(spread.values()) == 9
    assert all(0 < k < 6 for k in set(spread) - {0.0, 6.0})


def test_scores_csv_and_the_course_report(course, out):
    scores, _ = gradebook_scores(course)
    per_problem = {r["student_id"]: r for r in read_csv(out / "scores.csv")}
    assert set(per_problem) == set(scores) | {ABSENT}
    for student, grades in scores.items():
        for cell, (score, _) in grades.items():
            assert float(per_problem[student][f"{ASSIGNMENT}:{cell}"] or 0) == (score or 0), (student, cell)
    result = report(course)
    assert result.returncode == 0, result.stdout + result.stderr
    course_rows = {r["student_id"]: r for r in read_csv(course.root / "reports" / "course.csv")}
    assert set(course_rows) == set(scores) | {ABSENT}
    assert course_rows[ABSENT][ASSIGNMENT] == ""
    with Gradebook(course.api.coursedir.db_url) as gb:
        for student in scores:
            assert float(course_rows[student][ASSIGNMENT]) == pytest.approx(gb.find_submission(ASSIGNMENT, student).score)
    costly = read_csv(course.root / "reports" / "exercises.csv")
    lost = [float(r["points_lost"]) for r in costly]
    assert lost == sorted(lost, reverse=True) and lost[0] > 0
    page = (course.root / "reports" / "index.html").read_text(encoding="utf-8")
    assert f'href="{ASSIGNMENT}/index.html"' in page and "cost the class most" in page


def test_written_answers_and_flags_wait_with_what_to_do(course, out):
    _, ids = gradebook_scores(course)
    review = read_csv(out / "review.csv")
    waiting = {(r["student"], r["cell"]) for r in review if "written answer" in r["reason"]}
    written = ("m_step_means_written", "monotone_written")
    expected = {(s, c) for s in ids for c in written if s not in (BLANK, LOST)} - {HAND_GRADED[:2]}
    assert waiting == expected
    for row in review:
        if row["student"] != LOST:
            assert row["action"].endswith(f"http://hub.example.org/user/teacher/formgrader/submissions/"
                                          f"{ids[row['student']]}/")
    # the submission nbgrader could not grade: one row, with the command that grades it once it is fixed
    lost = [r for r in review if r["student"] == LOST]
    assert len(lost) == 1 and "not graded" in lost[0]["reason"]
    assert lost[0]["action"] == f"nbgrader autograde {ASSIGNMENT} --student {LOST} --force"
    flags = [r for r in review if r["reason"].startswith("flagged")]
    assert {r["student"] for r in flags} == {FLAGGED}
    assert any("m_step" in r["reason"] or r["cell"] == "m_step_answer" for r in flags)


def test_an_unknown_assignment_is_refused_in_words(course):
    result = report(course, "no_such_assignment")
    assert result.returncode == 2 and "No assignment 'no_such_assignment'" in result.stderr
    assert ASSIGNMENT in result.stderr and "Traceback" not in result.stderr


def test_the_page_opens_offline_in_chromium_with_its_figures(out):
    from playwright.sync_api import sync_playwright

    page_html = (out / "index.html").read_text(encoding="utf-8")
    assert not re.search(r"<(script|link|img)[^>]+(src|href)=\"https?:", page_html)  # nothing to fetch
    shots = ROOT / "build" / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium())
        page = browser.new_page(viewport={"width": 1100, "height": 900})
        requests = []
        page.on("request", lambda r: requests.append(r.url))
        page.goto((out / "index.html").as_uri())
        shown = page.evaluate("""() => ({
            figures: [...document.querySelectorAll('figure svg')].map(s => {
                const r = s.getBoundingClientRect(); return [r.width, r.height]; }),
            bars: document.querySelectorAll('figure svg path, figure svg rect').length,
            headings: [...document.querySelectorAll('h2')].map(h => h.textContent),
            text: document.body.innerText,
        })""")
        page.screenshot(path=str(shots / "report.png"), full_page=True)
        browser.close()
    assert [u for u in requests if not u.startswith("file:")] == []
    assert len(shown["figures"]) >= 3 and all(w > 300 and h > 100 for w, h in shown["figures"])
    assert shown["bars"] > 20
    assert shown["headings"][:4] == ["Exercises", "Graded cells", "Misconceptions", "Waiting for a person"]
    for student in SEEDED:
        assert student in shown["text"]
    assert "Student data" in shown["text"]
    assert json.dumps(shown)  # plain data


def test_before_any_grading_the_report_says_what_to_do_first(tmp_path):
    course = Course(tmp_path)
    course.release("01_latent_variables")
    result = report(course, "01_latent_variables")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No submission of 01_latent_variables is graded yet: run `make grade ASSIGNMENT=01_latent_variables`" \
        in result.stderr
    page = (course.root / "reports" / "01_latent_variables" / "index.html").read_text(encoding="utf-8")
    assert "No submission of 01_latent_variables is graded yet" in page and "<svg" not in page
    assert read_csv(course.root / "reports" / "01_latent_variables" / "misconceptions.csv") == []
