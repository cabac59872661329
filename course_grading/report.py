"""The class report: what each exercise cost, which misconceptions are common, what waits for a grader.

Run from the course root (where ``nbgrader_config.py`` is), after ``nbgrader autograde``
(or ``make grade``)::

    python -m course_grading.report 04_e_and_m_steps   # reports/04_e_and_m_steps/index.html and CSVs
    python -m course_grading.report                    # reports/index.html: the whole course

``make report ASSIGNMENT=<name>`` and ``make report`` run the same. Everything is read from
the gradebook (scores, written answers waiting for a grader, notebooks a grader flagged) and
from the autograded notebooks' metadata that the grader wrote itself (``course_grading``:
each test's verdict with the classic mistake its check named, and the submission's
integrity events), never from text the student's code printed.

An assignment's report (``reports/<name>/``):

- ``index.html``: one static page (figures inline, no network), per exercise its score
  distribution, the misconceptions most common first with the students who have them, the
  written answers waiting for a grader and the flagged submissions with the command or the
  formgrader link that deals with each;
- ``cells.csv``: per graded cell (test or written answer) the points and how many students
  got full, partial, no points, or are still waiting for a grader;
- ``exercises.csv``: the same per exercise (a function's tests together; a written answer);
- ``misconceptions.csv``: ``function, mistake, misconception, students, student_ids``: one
  row per classic mistake that at least one student made, most common first;
- ``review.csv``: what waits for a person: ``student, notebook, cell, reason, action``;
- ``scores.csv`` and ``scores-max.csv``: the per-problem scores of
  :class:`course_grading.exports.PerProblemExporter`.

The course's report (``reports/``): ``index.html``, ``course.csv`` (one row per student, one
column per assignment, the total) and ``exercises.csv`` (every exercise of the course with the
points it cost the class, the costliest first).

Reports hold student data (ids, scores, answers' mistakes): ``/reports/`` is git-ignored.
"""

import argparse
import csv
import html
import io
import json
import os
import sys
from collections import defaultdict
from dataclasses import dataclass, field

from nbgrader.api import Gradebook, MissingEntry

from .cells import RECORD, cell_source, defined_functions, is_answer, is_graded, is_task, nbgrader_meta, source_cells
from .exports import PerProblemExporter, number

FULL, PARTIAL, NONE, WAITING = "full", "partial", "none", "waiting"
OUTCOMES = (FULL, PARTIAL, NONE, WAITING)
#: Okabe and Ito's colour-blind-safe palette: bluish green, orange, vermillion, grey.
COLOURS = {FULL: "#009E73", PARTIAL: "#E69F00", NONE: "#D55E00", WAITING: "#BBBBBB"}
#: Why a failed test named no classic mistake, in words (the verdict's kind and message).
OTHER_FAILURES = {
    "not written": "not written yet (raise NotImplementedError left in)",
    "stopped": "did not finish (a hang, a crash or too much memory)",
    "raised": "the function raised an exception",
    "grader": "the test raised (flagged for review)",
    "unexplained": "a wrong value that no classic mistake explains (it may come from another of the student's "
                   "functions that this one calls)",
}


# ---------------------------------------------------------------------------
# What the gradebook and the autograded notebooks say
# ---------------------------------------------------------------------------


@dataclass
class Cell:
    """A graded cell of the assignment: an autograded test or a written answer graded by hand."""

    notebook: str
    name: str             # the grade_id
    max_score: float
    exercise: str         # the function whose tests it belongs to, or the written answer's grade_id
    written: bool         # graded by hand


@dataclass
class Submission:
    student: str
    scores: dict                      # (notebook, grade_id) -> score, None while waiting for a grader
    total: float
    verdicts: dict = field(default_factory=dict)    # (notebook, grade_id) -> the grader's verdict
    review: list = field(default_factory=list)      # (notebook, cell, reason, action)


@dataclass
class AssignmentData:
    name: str
    cells: list                       # [Cell] in notebook order
    submissions: dict                 # student -> Submission
    students: list                    # every student id of the gradebook
    max_score: float


def _exercises(cells):
    """{grade_id: exercise} for the graded cells of a source notebook: an autograded test belongs to the
    answer cell above it (the exercise is the function that cell defines); a written answer is its own."""
    owner, exercises = None, {}
    for cell in cells:
        grade_id, code = nbgrader_meta(cell).get("grade_id"), cell.get("cell_type") == "code"
        if not grade_id:
            continue
        if is_answer(cell) and code:
            owner = next(iter(defined_functions(cell_source(cell))), grade_id)
        elif is_graded(cell) or is_task(cell):
            exercises[grade_id] = owner if code and owner else grade_id
    return exercises


def _autograded_record(coursedir, student, assignment, notebook):
    """The grader's metadata of an autograded notebook ({} when there is none)."""
    path = os.path.join(coursedir.format_path(coursedir.autograded_directory, student, assignment),
                        f"{notebook}.ipynb")
    try:
        with open(path, encoding="utf-8") as fh:
            return json.load(fh).get("metadata", {}).get(RECORD, {}) or {}
    except (OSError, ValueError, AttributeError):
        return {}


def _formgrader_link(base_url, notebook_id):
    """The formgrader's page grading one submitted notebook."""
    return f"{base_url.rstrip('/')}/formgrader/submissions/{notebook_id}/"


def _gradebook_link(base_url, assignment, notebook):
    """The formgrader's list of an assignment notebook's submissions (each opens for manual grading)."""
    return f"{base_url.rstrip('/')}/formgrader/gradebook/{assignment}/{notebook}/"


def read_assignment(gradebook, coursedir, name, base_url):
    """Everything the report of assignment ``name`` shows, from the gradebook and the autograded notebooks."""
    assignment = gradebook.find_assignment(name)
    cells = []
    for notebook in sorted(assignment.notebooks, key=lambda n: n.name):
        source = source_cells(coursedir, name, notebook.name) or []
        exercises = _exercises(source)
        order = [nbgrader_meta(c).get("grade_id") for c in source]
        graded = {c.name: c for c in notebook.grade_cells}
        for grade_id in [g for g in order if g in graded] + sorted(g for g in graded if g not in order):
            cell = graded[grade_id]
            cells.append(Cell(notebook.name, grade_id, float(cell.max_score), exercises.get(grade_id, grade_id),
                              written=cell.cell_type == "markdown"))
    submissions = {}
    for sub in gradebook.assignment_submissions(name):
        student = sub.student.id
        record = Submission(student, {}, float(sub.score))
        for nb in sub.notebooks:
            link = _formgrader_link(base_url, nb.id)
            meta = _autograded_record(coursedir, student, name, nb.name)
            for label, verdict in (meta.get("verdicts") or {}).items():
                if isinstance(verdict, dict):
                    record.verdicts[(nb.name, label)] = verdict
            flagged_cells = set()
            for event in meta.get("integrity") or []:
                if isinstance(event, dict) and event.get("review"):
                    flagged_cells.update(event.get("grades") or [event.get("cell")])
                    record.review.append((nb.name, event.get("cell") or "", f"flagged: {event.get('message', '')}",
                                          f"look at it in the formgrader: {link}"))
            if nb.flagged:
                record.review.append((nb.name, "", "flagged by a grader in the formgrader",
                                      f"look at it in the formgrader: {link}"))
            if not meta:
                record.review.append((nb.name, "", "no autograded notebook: it was not graded (see the grading log)",
                                      f"nbgrader autograde {name} --student {student} --force"))
            for grade in nb.grades:
                waiting = grade.needs_manual_grade and grade.manual_score is None
                score = grade.score
                record.scores[(nb.name, grade.name)] = None if waiting and grade.auto_score is None else (
                    float(score) if score is not None else 0.0)
                if waiting and grade.name not in flagged_cells and meta:
                    what = "written answer waiting for a grader" if grade.auto_score is None else \
                        "marked for manual grading"
                    record.review.append((nb.name, grade.name, what, f"grade it in the formgrader: {link}"))
        submissions[student] = record
    students = sorted(s.id for s in gradebook.students)
    return AssignmentData(name, cells, submissions, students, float(assignment.max_score))


# ---------------------------------------------------------------------------
# Counting
# ---------------------------------------------------------------------------


def outcome(score, max_score):
    """full, partial, none, or waiting (a grader has not scored it yet)."""
    if score is None:
        return WAITING
    if score >= max_score - 1e-9:
        return FULL
    return PARTIAL if score > 1e-9 else NONE


def distribution(scores):
    """The scores' distribution as text, lowest first: ``"0:10 2:5 6:29"`` (points: students)."""
    counts = defaultdict(int)
    for score in scores:
        counts[round(score, 3)] += 1
    return " ".join(f"{number(score)}:{n}" for score, n in sorted(counts.items()))


def _tally(data, cells):
    """How the submissions did on ``cells`` taken together: points, mean, points lost, how many got full,
    partial, none or wait (a student waits while any of the cells waits), and the distribution."""
    points = sum(c.max_score for c in cells)
    counts = dict.fromkeys(OUTCOMES, 0)
    scores = []
    for sub in data.submissions.values():
        values = [sub.scores.get((c.notebook, c.name)) for c in cells]
        score = None if any(v is None for v in values) else sum(values)
        counts[outcome(score, points)] += 1
        if score is not None:
            scores.append(score)
    mean = sum(scores) / len(scores) if scores else None
    return {"points": points, "mean": mean, "lost": (points - mean) * len(scores) if mean is not None else 0.0,
            **counts, "distribution": distribution(scores)}


def cell_rows(data):
    """Per graded cell, in notebook order: its exercise and kind, and its :func:`_tally`."""
    return [{"notebook": cell.notebook, "cell": cell.name, "exercise": cell.exercise,
             "kind": "written" if cell.written else "test", **_tally(data, [cell])} for cell in data.cells]


def exercise_rows(data):
    """Per exercise (a function's tests together; a written answer on its own), in notebook order, with
    the :func:`_tally` of its cells."""
    groups = defaultdict(list)
    for cell in data.cells:
        groups[(cell.notebook, cell.exercise)].append(cell)
    return [{"notebook": notebook, "exercise": exercise, "kind": "written" if cells[0].written else "code",
             **_tally(data, cells), "cells": [c.name for c in cells]} for (notebook, exercise), cells in groups.items()]


def _failure_kind(verdict):
    message = str(verdict.get("message") or "")
    if verdict.get("kind") == "stopped":
        return "stopped"
    if verdict.get("kind") == "grader":
        return "grader"
    if message == "not written yet" or "is not written yet" in message:
        return "not written"
    if " raised " in message.split(".")[0]:
        return "raised"
    return "unexplained"


def misconceptions(data, catalogue=None):
    """Per exercise, the classic mistakes its failed tests named: [{function, mistake, misconception,
    students, student_ids}], most common first; and per exercise the other failures, counted.

    A student is counted once per (function, mistake), however many tests named it. ``catalogue``
    maps a mistake id to its words; without one, the words are the check's message, as the
    grader recorded it for the first student who made the mistake.
    """
    exercise_of = {(c.notebook, c.name): c.exercise for c in data.cells}
    named = defaultdict(set)
    words = {}
    others = defaultdict(lambda: defaultdict(set))
    for student, sub in data.submissions.items():
        for key, verdict in sub.verdicts.items():
            if verdict.get("passed"):
                continue
            function = verdict.get("function") or exercise_of.get(key, key[1])
            mistake = verdict.get("mistake")
            if isinstance(mistake, str) and mistake:
                named[(function, mistake)].add(student)
                words.setdefault((function, mistake), _explanation(mistake, verdict, catalogue))
            else:
                others[function][_failure_kind(verdict)].add(student)
    rows = [{"function": function, "mistake": mistake, "misconception": words[(function, mistake)],
             "students": len(students), "student_ids": sorted(students)}
            for (function, mistake), students in named.items()]
    order = {c.exercise: i for i, c in reversed(list(enumerate(data.cells)))}
    rows.sort(key=lambda r: (order.get(r["function"], len(order)), -r["students"], r["mistake"]))
    return rows, others


def _explanation(mistake, verdict, catalogue):
    if catalogue and mistake in catalogue:
        return catalogue[mistake]
    message = str(verdict.get("message") or "")
    head, _, rest = message.partition(" is not right. ")
    return rest or message


def _mistake_catalogue():
    """em_lib.feedback's words for each mistake id, when this em_lib has them ({} otherwise)."""
    try:
        from em_lib.feedback.core import mistake_catalogue  # noqa: PLC0415 (optional: words only)
    except ImportError:
        return {}
    try:
        return mistake_catalogue()
    except Exception:  # noqa: BLE001 (the report does without the catalogue's words)
        return {}


# ---------------------------------------------------------------------------
# Figures (matplotlib, inline SVG)
# ---------------------------------------------------------------------------


def _svg(figure):
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", bbox_inches="tight")
    text = buffer.getvalue()
    return text[text.index("<svg"):]


def _png(figure, path):
    figure.savefig(path, dpi=110, bbox_inches="tight")


def _pyplot():
    """matplotlib.pyplot on the Agg backend (imported only when a report draws)."""
    import matplotlib  # noqa: PLC0415

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    return plt


def outcome_figure(rows, label, title):
    """Horizontal stacked bars: per row, how many students got full, partial, none, or wait."""
    plt = _pyplot()
    height = 0.9 + 0.32 * len(rows)
    figure, ax = plt.subplots(figsize=(7.5, height))
    names = [label(r) for r in rows][::-1]
    left = [0] * len(rows)
    for kind in OUTCOMES:
        values = [r[kind] for r in rows][::-1]
        if not any(values):
            continue
        bars = ax.barh(names, values, left=left, color=COLOURS[kind], label=kind, edgecolor="white", linewidth=0.5)
        for bar, value in zip(bars, values):
            if value and bar.get_width() >= 0.06 * max(1, sum(rows[0][k] for k in OUTCOMES)):
                ax.text(bar.get_x() + bar.get_width() / 2, bar.get_y() + bar.get_height() / 2, str(value),
                        ha="center", va="center", fontsize=8, color="black")
        left = [a + b for a, b in zip(left, values)]
    ax.set_xlabel("students")
    ax.set_title(title, fontsize=10, loc="left")
    ax.legend(ncol=4, fontsize=8, loc="lower center", bbox_to_anchor=(0.5, 1.0 + 0.35 / height), frameon=False)
    ax.spines[["top", "right"]].set_visible(False)
    ax.tick_params(axis="y", labelsize=8)
    figure.tight_layout()
    return figure


def totals_figure(totals, max_score, title):
    """A histogram of the submissions' totals."""
    plt = _pyplot()
    figure, ax = plt.subplots(figsize=(7.5, 2.4))
    bins = max(1, min(30, int(max_score) + 1))
    ax.hist(totals, bins=bins, range=(0, max_score), color="#0072B2", edgecolor="white")
    ax.set_xlabel(f"total score (out of {number(max_score)})")
    ax.set_ylabel("students")
    ax.set_title(title, fontsize=10, loc="left")
    ax.spines[["top", "right"]].set_visible(False)
    figure.tight_layout()
    return figure


# ---------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------


def _write_csv(path, header, rows):
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)


def _count(n, noun):
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _fmt(value):
    return "" if value is None else number(round(value, 3))


_STYLE = """
body { font-family: system-ui, sans-serif; max-width: 62rem; margin: 2rem auto; padding: 0 1rem; color: #222; }
h1 { font-size: 1.5rem; } h2 { font-size: 1.2rem; margin-top: 2rem; border-bottom: 1px solid #ddd; }
h3 { font-size: 1rem; margin-bottom: 0.3rem; }
table { border-collapse: collapse; margin: 0.5rem 0 1rem; font-size: 0.9rem; }
th, td { border: 1px solid #ddd; padding: 0.25rem 0.5rem; text-align: left; vertical-align: top; }
th { background: #f3f3f3; } td.n { text-align: right; font-variant-numeric: tabular-nums; }
.note { color: #555; font-size: 0.9rem; } code { background: #f3f3f3; padding: 0 0.2rem; }
details summary { cursor: pointer; color: #0072B2; } figure { margin: 0.5rem 0; } figure svg { max-width: 100%; height: auto; }
.privacy { background: #fff4e0; border-left: 4px solid #E69F00; padding: 0.4rem 0.8rem; font-size: 0.9rem; }
"""


def _page(title, body):
    return (f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{html.escape(title)}</title>"
            f"<style>{_STYLE}</style></head><body>\n<h1>{html.escape(title)}</h1>\n"
            "<p class=\"privacy\">Student data: this report names students and their scores. Keep it with the "
            "gradebook; do not publish it or commit it (<code>/reports/</code> is git-ignored).</p>\n"
            f"{body}\n</body></html>\n")


def _table(header, rows, numeric=()):
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = []
    for row in rows:
        body.append("<tr>" + "".join(
            f"<td class=\"n\">{cell}</td>" if i in numeric else f"<td>{cell}</td>" for i, cell in enumerate(row)
        ) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _students_html(students, shown=12):
    names = [html.escape(s) for s in students]
    if len(names) <= shown:
        return ", ".join(names)
    return f"{', '.join(names[:shown])} <details><summary>and {len(names) - shown} more</summary>" \
           f"{', '.join(names[shown:])}</details>"


def _link(action):
    text = html.escape(action)
    marker = "formgrader: "
    if marker in action:
        prefix, url = action.split(marker, 1)
        return f"{html.escape(prefix)}<a href=\"{html.escape(url)}\">formgrader</a>"
    return f"<code>{text}</code>"


def write_assignment_report(data, directory, gradebook, app, catalogue=None, base_url="http://127.0.0.1:8888"):
    """Write ``directory/index.html`` and its CSVs for one assignment; returns the rows written.

    ``app`` is the nbgrader app whose course the gradebook is (the per-problem export reads its course
    directory)."""
    os.makedirs(directory, exist_ok=True)
    cells = cell_rows(data)
    exercises = exercise_rows(data)
    mistakes, others = misconceptions(data, catalogue)
    review = sorted((sub.student, *item) for sub in data.submissions.values() for item in sub.review)

    _write_csv(os.path.join(directory, "cells.csv"),
               ["notebook", "cell", "exercise", "kind", "points", "mean", *OUTCOMES, "distribution"],
               [[r["notebook"], r["cell"], r["exercise"], r["kind"], _fmt(r["points"]), _fmt(r["mean"]),
                 *(r[k] for k in OUTCOMES), r["distribution"]] for r in cells])
    _write_csv(os.path.join(directory, "exercises.csv"),
               ["notebook", "exercise", "kind", "points", "mean", "points_lost", *OUTCOMES, "distribution"],
               [[r["notebook"], r["exercise"], r["kind"], _fmt(r["points"]), _fmt(r["mean"]), _fmt(r["lost"]),
                 *(r[k] for k in OUTCOMES), r["distribution"]] for r in exercises])
    _write_csv(os.path.join(directory, "misconceptions.csv"),
               ["function", "mistake", "misconception", "students", "student_ids"],
               [[r["function"], r["mistake"], r["misconception"], r["students"], " ".join(r["student_ids"])]
                for r in mistakes])
    _write_csv(os.path.join(directory, "review.csv"), ["student", "notebook", "cell", "reason", "action"], review)
    PerProblemExporter(parent=app, to=os.path.join(directory, "scores.csv"), assignment=[data.name]).export(gradebook)

    submitted = len(data.submissions)
    absent = [s for s in data.students if s not in data.submissions]
    totals = [sub.total for sub in data.submissions.values()]
    pending = sum(score is None for sub in data.submissions.values() for score in sub.scores.values())
    parts = [f"<p>{submitted} submissions graded out of {len(data.students)} students in the gradebook"
             + (f"; no submission from {_students_html(absent)}" if absent else "") + ". "
             + (f"Mean total {_fmt(sum(totals) / len(totals))} of {_fmt(data.max_score)}." if totals else "")
             + (f" Until a grader scores them, the {_count(pending, 'written answer')} waiting count 0 in the totals."
                if pending else "")
             + "</p>"]
    if totals:
        parts.append(f"<figure>{_svg(totals_figure(totals, data.max_score, 'Totals'))}</figure>")

    parts.append("<h2>Exercises</h2><p class=\"note\">Per exercise (a function's graded tests together, or a "
                 "written answer) how many students got all its points, some, none, or are waiting for a grader "
                 "(exercises.csv); the costliest first in the table.</p>")
    if not data.submissions:
        parts.append(f"<p><strong>No submission of {html.escape(data.name)} is graded yet</strong>: collect and "
                     f"autograde first (<code>make grade ASSIGNMENT={html.escape(data.name)}</code>), then run "
                     "<code>make report</code> again.</p>")
    if exercises and data.submissions:
        figure = outcome_figure(exercises, lambda r: r["exercise"], "Students per exercise")
        _png(figure, os.path.join(directory, "exercises.png"))
        parts.append(f"<figure>{_svg(figure)}</figure>")
        ranked = sorted(exercises, key=lambda r: -r["lost"])
        parts.append(_table(["exercise", "kind", "points", "mean", "points lost", *OUTCOMES, "scores (points:students)"],
                            [[f"<code>{html.escape(r['exercise'])}</code>", r["kind"], _fmt(r["points"]),
                              _fmt(r["mean"]), _fmt(r["lost"]), *(r[k] for k in OUTCOMES), r["distribution"]]
                             for r in ranked], numeric=(2, 3, 4, 5, 6, 7, 8)))
    parts.append("<h2>Graded cells</h2><p class=\"note\">Each autograded test and written answer "
                 "(cells.csv).</p>")
    if cells and data.submissions:
        figure = outcome_figure(cells, lambda r: r["cell"], "Students per graded cell")
        parts.append(f"<figure>{_svg(figure)}</figure>")
        parts.append(_table(["cell", "exercise", "kind", "points", "mean", *OUTCOMES],
                            [[f"<code>{html.escape(r['cell'])}</code>", html.escape(r["exercise"]), r["kind"],
                              _fmt(r["points"]), _fmt(r["mean"]), *(r[k] for k in OUTCOMES)] for r in cells],
                            numeric=(3, 4, 5, 6, 7, 8)))

    parts.append("<h2>Misconceptions</h2><p class=\"note\">The classic mistakes the checks recognised in the "
                 "students' answers, as the grader recorded them (misconceptions.csv); a student counts once per "
                 "mistake. Below each exercise, the failures that named no classic mistake.</p>")
    by_function = defaultdict(list)
    for row in mistakes:
        by_function[row["function"]].append(row)
    functions = list(dict.fromkeys([r["function"] for r in mistakes] + list(others)))
    if not functions:
        parts.append("<p>No failed autograded test.</p>")
    for function in functions:
        parts.append(f"<h3><code>{html.escape(function)}</code></h3>")
        rows = by_function.get(function, [])
        if rows:
            parts.append(_table(["students", "misconception", "mistake id", "who"],
                                [[r["students"], html.escape(r["misconception"]), f"<code>{html.escape(r['mistake'])}"
                                  "</code>", _students_html(r["student_ids"])] for r in rows], numeric=(0,)))
        rest = others.get(function, {})
        if rest:
            items = "".join(f"<li>{_count(len(who), 'student')}: "
                            f"{html.escape(OTHER_FAILURES[kind])} ({_students_html(sorted(who))})</li>"
                            for kind, who in sorted(rest.items(), key=lambda kv: -len(kv[1])))
            parts.append(f"<ul class=\"note\">{items}</ul>")

    parts.append("<h2>Waiting for a person</h2><p class=\"note\">Written answers no grader has scored yet, and "
                 "submissions flagged for review; one row per student and cell in review.csv. The links open the "
                 f"formgrader at {html.escape(base_url)} (another address: <code>make report REPORT_URL=...</code>"
                 ").</p>")
    written = defaultdict(list)
    for student, notebook, cell, reason, _ in review:
        if reason.startswith("written answer"):
            written[(notebook, cell)].append(student)
    if written:
        parts.append(_table(["written answer", "waiting", "students", "where"], [
            [f"<code>{html.escape(cell)}</code>", len(who), _students_html(who),
             f"<a href=\"{html.escape(_gradebook_link(base_url, data.name, notebook))}\">formgrader: "
             f"{html.escape(data.name)} / {html.escape(notebook)}</a>"]
            for (notebook, cell), who in written.items()], numeric=(1,)))
    flagged = [row for row in review if not row[3].startswith("written answer")]
    if flagged:
        parts.append(_table(["student", "notebook", "cell", "reason", "what to do"],
                            [[html.escape(s), html.escape(nb), f"<code>{html.escape(c)}</code>" if c else "",
                              html.escape(reason), _link(action)] for s, nb, c, reason, action in flagged]))
    if not review:
        parts.append("<p>Nothing: every written answer is graded and no submission is flagged.</p>")
    parts.append("<p class=\"note\">Also here: <a href=\"scores.csv\">scores.csv</a> (one row per student, one "
                 "column per graded cell; maxima in <a href=\"scores-max.csv\">scores-max.csv</a>), "
                 "<a href=\"cells.csv\">cells.csv</a>, <a href=\"exercises.csv\">exercises.csv</a>, "
                 "<a href=\"misconceptions.csv\">misconceptions.csv</a>, <a href=\"review.csv\">review.csv</a>.</p>")
    with open(os.path.join(directory, "index.html"), "w", encoding="utf-8") as fh:
        fh.write(_page(f"Class report: {data.name}", "\n".join(parts)))
    _close_figures()
    return {"cells": cells, "exercises": exercises, "misconceptions": mistakes, "review": review}


def write_course_report(gradebook, coursedir, directory, base_url):
    """Write ``directory/index.html``, ``course.csv`` and ``exercises.csv`` for every assignment."""
    os.makedirs(directory, exist_ok=True)
    names = sorted(a.name for a in gradebook.assignments)
    data = {name: read_assignment(gradebook, coursedir, name, base_url) for name in names}
    students = sorted(s.id for s in gradebook.students)
    table = []
    for student in students:
        row = [student]
        totals = []
        for name in names:
            sub = data[name].submissions.get(student)
            row.append(_fmt(sub.total) if sub else "")
            totals.append(sub.total if sub else 0.0)
        row.append(_fmt(sum(totals)))
        table.append(row)
    _write_csv(os.path.join(directory, "course.csv"), ["student_id", *names, "total"], table)
    costly = []
    for name in names:
        for r in exercise_rows(data[name]):
            costly.append({**r, "assignment": name})
    costly.sort(key=lambda r: -r["lost"])
    _write_csv(os.path.join(directory, "exercises.csv"),
               ["assignment", "exercise", "kind", "points", "mean", "points_lost", *OUTCOMES, "distribution"],
               [[r["assignment"], r["exercise"], r["kind"], _fmt(r["points"]), _fmt(r["mean"]), _fmt(r["lost"]),
                 *(r[k] for k in OUTCOMES), r["distribution"]] for r in costly])
    maxima = " ".join(f"{n}: {_fmt(data[n].max_score)}" for n in names)
    parts = [f"<p>{_count(len(students), 'student')}, {_count(len(names), 'assignment')} (points: {html.escape(maxima)}). "
             "An assignment's own report: <code>make report ASSIGNMENT=&lt;name&gt;</code>.</p>"]
    links = [f"<a href=\"{html.escape(n)}/index.html\">{html.escape(n)}</a>" if os.path.exists(
        os.path.join(directory, n, "index.html")) else html.escape(n) for n in names]
    parts.append(f"<p>Assignment reports: {', '.join(links)}.</p>")
    parts.append("<h2>The exercises that cost the class most</h2><p class=\"note\">Points lost over all "
                 "submissions (exercises.csv).</p>")
    top = [r for r in costly if r["lost"] > 0][:15]
    if top:
        figure = outcome_figure(top, lambda r: f"{r['assignment'][:2]} {r['exercise']}",
                                "Students per exercise, costliest first")
        parts.append(f"<figure>{_svg(figure)}</figure>")
        parts.append(_table(["assignment", "exercise", "points", "mean", "points lost", *OUTCOMES],
                            [[html.escape(r["assignment"]), f"<code>{html.escape(r['exercise'])}</code>",
                              _fmt(r["points"]), _fmt(r["mean"]), _fmt(r["lost"]), *(r[k] for k in OUTCOMES)]
                             for r in top], numeric=(2, 3, 4, 5, 6, 7, 8)))
    else:
        parts.append("<p>No points lost yet.</p>")
    parts.append("<h2>Students</h2><p class=\"note\">One row per student, one column per assignment "
                 "(course.csv); empty: no submission.</p>")
    parts.append(_table(["student", *names, "total"], [[html.escape(c) for c in row] for row in table],
                        numeric=tuple(range(1, len(names) + 2))))
    with open(os.path.join(directory, "index.html"), "w", encoding="utf-8") as fh:
        fh.write(_page("Course report", "\n".join(parts)))
    _close_figures()
    return {"course": table, "exercises": costly}


def _close_figures():
    plt = sys.modules.get("matplotlib.pyplot")
    if plt is not None:
        plt.close("all")


def _shown(path):
    """``path`` relative to the working directory when it is below it (what a user typed), else absolute."""
    relative = os.path.relpath(path)
    return path if relative.startswith("..") else relative


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m course_grading.report", description=__doc__.split("\n")[0])
    parser.add_argument("assignment", nargs="?", help="the assignment; without it, the whole course")
    parser.add_argument("--root", default=".", help="the course root (where nbgrader_config.py is); the report "
                        "reads nbgrader's configuration as nbgrader's commands run there read it")
    parser.add_argument("--out", default=None, help="where to write (default: <root>/reports)")
    parser.add_argument("--url", default="http://127.0.0.1:8888",
                        help="the Jupyter server running the formgrader, for the report's links "
                             "(on a JupyterHub: https://hub.example.org/user/<instructor>)")
    args = parser.parse_args(argv)
    from nbgrader.apps.exportapp import ExportApp  # noqa: PLC0415 (nbgrader's apps only when run)

    from .config import load_app  # noqa: PLC0415

    given_out = os.path.abspath(args.out) if args.out else None
    os.chdir(args.root)
    app = load_app(ExportApp, ["--log-level=WARN"])  # its warnings, not the exporter's "Wrote" lines
    coursedir = app.coursedir
    out = given_out or os.path.join(coursedir.root or os.getcwd(), "reports")
    with Gradebook(coursedir.db_url) as gradebook:
        if args.assignment:
            try:
                data = read_assignment(gradebook, coursedir, args.assignment, args.url)
            except MissingEntry:
                known = ", ".join(sorted(a.name for a in gradebook.assignments)) or "none"
                print(f"No assignment '{args.assignment}' in the gradebook {coursedir.db_url} (it has: {known}). "
                      "Generate and autograde it first (nbgrader generate_assignment, make grade).", file=sys.stderr)
                return 2
            directory = os.path.join(out, args.assignment)
            written = write_assignment_report(data, directory, gradebook, app, _mistake_catalogue(), args.url)
            print(f"Wrote {_shown(os.path.join(directory, 'index.html'))} ({len(data.submissions)} submissions, "
                  f"{len(written['misconceptions'])} misconceptions, {len(written['review'])} items waiting for a "
                  "person) and its CSVs: cells.csv, exercises.csv, misconceptions.csv, review.csv, scores.csv",
                  flush=True)
            if not data.submissions:
                print(f"No submission of {args.assignment} is graded yet: run `make grade ASSIGNMENT={args.assignment}` "
                      "first.", file=sys.stderr, flush=True)
        else:
            written = write_course_report(gradebook, coursedir, out, args.url)
            print(f"Wrote {_shown(os.path.join(out, 'index.html'))} ({len(written['course'])} students), course.csv and "
                  "exercises.csv")
    return 0


if __name__ == "__main__":
    sys.exit(main())
