"""Grade exports: nbgrader export plugins for a per-problem table, Canvas and Moodle.

Run from the course root (where ``nbgrader_config.py`` is), e.g.::

    nbgrader export --exporter=course_grading.exports.PerProblemExporter --to=scores.csv
    nbgrader export --exporter=course_grading.exports.CanvasExporter --to=canvas.csv
    nbgrader export --exporter=course_grading.exports.MoodleExporter --to=moodle.csv

nbgrader's ``--assignment`` / ``--student`` lists (``ExportPlugin.assignment`` /
``ExportPlugin.student``) restrict every exporter as they restrict nbgrader's own CSV
exporter. Every student in the gradebook gets a row, also those with no submission.

Scores are nbgrader's ``Grade.score``: the manual score if a grader set one, else the
autograder's (plus extra credit). Numbers are written without trailing zeros
(``3``, ``2.5``).

``PerProblemExporter`` (default file ``scores.csv``)
    One row per student: ``student_id``, then for each assignment (sorted by name) and
    each graded cell of its notebooks (notebooks sorted by name, cells in notebook
    order: autograded test cells, written answers graded by hand, task cells) a column
    ``<assignment>:<grade_id>`` (``<assignment>:<notebook>/<grade_id>`` when the
    assignment has several notebooks), then ``<assignment>:total`` (the submission's raw
    score, i.e. the sum of its cells; no late penalty). A student with no submission
    of an assignment has empty cells for it.

    Choice for the maximum points: they are NOT a second header-like row in
    ``scores.csv`` (it stays one header plus one row per student, easy to load) but a
    separate file next to it, named like it with ``-max`` before the extension
    (``scores-max.csv`` for ``scores.csv``): the same header (``student_id`` column
    holding ``max``) and one row with each column's maximum points.

    Cell order is read from the assignment's source notebook
    (``solutions/<assignment>/<notebook>.ipynb``); a cell not found there (or a
    missing source) falls back to the gradebook's order, after the cells found.

``CanvasExporter`` (default file ``canvas.csv``)
    The layout of the CSV Canvas's Gradebook exports and its import accepts
    ("How do I import grades in the Gradebook?", Canvas Instructor Guide, Canvas
    Community, as it read in 2023-2024; written from memory, not checked against the
    live page): header ``Student,ID,SIS User ID,SIS Login ID,Section,<assignment>...``,
    then a ``Points Possible`` row (in the Student column, identification columns
    empty) with each assignment's maximum, then one row per student. Canvas matches a
    row to a student by ``ID`` (Canvas's internal id) or, when that is empty, the SIS
    ids; we leave ``ID`` and ``SIS User ID`` empty and put nbgrader's student id in
    ``SIS Login ID`` (so nbgrader's ids must be the students' Canvas login ids).
    ``Student`` is ``"last, first"`` when the gradebook knows the name (one of them
    alone if only one is known), else the student id. ``Section`` is empty. One
    column per nbgrader assignment, named as the assignment; Canvas offers to create
    a new assignment for a column it does not know. The score is nbgrader's total
    minus the late-submission penalty (floored at 0), as nbgrader's own CSV exporter
    computes it; empty when the student has no submission (Canvas leaves the grade
    unset rather than recording a 0).

``MoodleExporter`` (default file ``moodle.csv``)
    For Moodle's "Import grades from CSV" (Moodle 4.x docs, "Grade import" page,
    docs.moodle.org/4x/en/Grade_import, from memory): at import time the teacher maps
    one identifying column to a user field ("Map from" ``Username`` -> "Map to"
    username, or ``Email address`` -> email address) and each remaining column to a
    grade item (existing or new). Columns: ``Username`` (nbgrader's student id),
    ``Email address`` (the gradebook's email, empty if unknown), then one column per
    assignment (sorted) with the same score as the Canvas export; empty when the
    student has no submission (Moodle then leaves that grade unchanged).
"""

import csv
import os

from nbgrader.api import MissingEntry
from nbgrader.coursedir import CourseDirectory
from nbgrader.plugins import ExportPlugin

from .cells import is_graded, is_task, nbgrader_meta, source_cells, source_path

__all__ = ["PerProblemExporter", "CanvasExporter", "MoodleExporter", "max_path"]


def number(value):
    """A score as text: ``3``, ``2.5``; empty for None."""
    if value is None:
        return ""
    value = float(value)
    return str(int(value)) if value.is_integer() else repr(value)


def max_path(dest):
    """``scores.csv`` -> ``scores-max.csv`` (the per-problem export's maximum points)."""
    base, ext = os.path.splitext(dest)
    return f"{base}-max{ext or '.csv'}"


class _Exporter(ExportPlugin):
    default_to = "grades.csv"

    def _dest(self):
        return self.to or self.default_to

    def _assignments(self, gradebook):
        wanted = {str(a) for a in self.assignment}
        return sorted((a for a in gradebook.assignments if not wanted or a.name in wanted), key=lambda a: a.name)

    def _students(self, gradebook):
        wanted = {str(s) for s in self.student}
        return sorted((s for s in gradebook.students if not wanted or s.id in wanted), key=lambda s: s.id)

    @staticmethod
    def _submission(gradebook, assignment, student):
        try:
            return gradebook.find_submission(assignment.name, student.id)
        except MissingEntry:
            return None

    @staticmethod
    def _final_score(submission):
        """nbgrader's CSV exporter's ``score``: total minus late penalty, at least 0."""
        if submission is None:
            return None
        penalty = submission.late_submission_penalty or 0.0
        return max(0.0, submission.score - penalty)

    def _write(self, dest, rows):
        directory = os.path.dirname(os.path.abspath(dest))
        os.makedirs(directory, exist_ok=True)
        with open(dest, "w", newline="", encoding="utf-8") as fh:
            csv.writer(fh).writerows(rows)
        self.log.info("Wrote %s", dest)


class PerProblemExporter(_Exporter):
    """One row per student, one column per graded cell of every assignment, plus totals (``scores.csv``)."""

    default_to = "scores.csv"

    def _coursedir(self):
        coursedir = getattr(self.parent, "coursedir", None)
        return coursedir if coursedir is not None else CourseDirectory(config=self.config)

    def _source_order(self, assignment, notebook):
        """grade_ids of the source notebook's graded cells, in notebook order ([] if it cannot be read)."""
        coursedir = self._coursedir()
        cells = source_cells(coursedir, assignment.name, notebook.name)
        if cells is None:
            self.log.warning("Cannot read %s; using the gradebook's cell order",
                             source_path(coursedir, assignment.name, notebook.name))
            return []
        return [nbgrader_meta(cell)["grade_id"] for cell in cells
                if (is_graded(cell) or is_task(cell)) and nbgrader_meta(cell).get("grade_id")]

    def _cells(self, assignment):
        """[(notebook name, grade_id, max_score)] of the assignment's graded cells, in notebook order."""
        out = []
        for notebook in sorted(assignment.notebooks, key=lambda n: n.name):
            cells = {c.name: c for c in notebook.grade_cells + notebook.task_cells}
            order = self._source_order(assignment, notebook)
            names = [n for n in order if n in cells] + [c for c in cells if c not in order]
            out.extend((notebook.name, name, cells[name].max_score) for name in names)
        return out

    def export(self, gradebook):
        dest = self._dest()
        assignments = self._assignments(gradebook)
        layout = [(a, self._cells(a)) for a in assignments]
        header = ["student_id"]
        maxima = ["max"]
        for assignment, cells in layout:
            multiple = len({nb for nb, _, _ in cells}) > 1
            for nb, name, max_score in cells:
                header.append(f"{assignment.name}:{nb + '/' if multiple else ''}{name}")
                maxima.append(number(max_score))
            header.append(f"{assignment.name}:total")
            maxima.append(number(assignment.max_score))

        rows = [header]
        for student in self._students(gradebook):
            row = [student.id]
            for assignment, cells in layout:
                submission = self._submission(gradebook, assignment, student)
                if submission is None:
                    row.extend([""] * (len(cells) + 1))
                    continue
                grades = {}
                for nb in submission.notebooks:
                    for grade in nb.grades:
                        grades[(nb.name, grade.name)] = grade.score
                row.extend(number(grades.get((nb, name))) for nb, name, _ in cells)
                row.append(number(submission.score))
            rows.append(row)

        self._write(dest, rows)
        self._write(max_path(dest), [header, maxima])


class CanvasExporter(_Exporter):
    """Canvas Gradebook import CSV: ``Student,ID,SIS User ID,SIS Login ID,Section,<assignments>``."""

    default_to = "canvas.csv"
    IDENTITY = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]

    @staticmethod
    def display_name(student):
        parts = [p for p in (student.last_name, student.first_name) if p]
        return ", ".join(parts) if parts else student.id

    def export(self, gradebook):
        assignments = self._assignments(gradebook)
        rows = [self.IDENTITY + [a.name for a in assignments],
                ["Points Possible", "", "", "", ""] + [number(a.max_score) for a in assignments]]
        for student in self._students(gradebook):
            row = [self.display_name(student), "", "", student.id, ""]
            row.extend(number(self._final_score(self._submission(gradebook, a, student))) for a in assignments)
            rows.append(row)
        self._write(self._dest(), rows)


class MoodleExporter(_Exporter):
    """Moodle "Import grades from CSV": ``Username,Email address,<assignments>``."""

    default_to = "moodle.csv"

    def export(self, gradebook):
        assignments = self._assignments(gradebook)
        rows = [["Username", "Email address"] + [a.name for a in assignments]]
        for student in self._students(gradebook):
            row = [student.id, student.email or ""]
            row.extend(number(self._final_score(self._submission(gradebook, a, student))) for a in assignments)
            rows.append(row)
        self._write(self._dest(), rows)
