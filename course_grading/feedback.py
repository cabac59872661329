"""Feedback a student may see: scores and explanations, never the hidden tests.

nbgrader's ``generate_feedback`` renders the autograded notebook, and that
notebook's test cells hold the hidden tests (autograde puts them back to run
them). nbgrader's ``ClearHiddenTests`` removes the ``### BEGIN HIDDEN TESTS``
regions from the cell sources. The course's tests run in the grader
(``runner``), whose error outputs hold only the check's message; a notebook
autograded by plain nbgrader, in a kernel, would also have tracebacks that quote
the hidden lines (IPython prints the source around the failing line), so this
cuts those too.

``HideHiddenTests`` (``GenerateFeedback.preprocessors``, after ``GetGrades``):

- clears the hidden regions of the test and other read-only nbgrader cells (the
  instructor's source; a student's answer or own cell is left as written, so a
  stray marker there cannot break the feedback);
- reduces the error output of those cells to its message, ``ename: evalue``:
  for the course's checks that is the explanation in words, e.g.
  ``AssertionError: log_likelihood(...) is not right. It is the sum of the logs, ...``;
- does the same to the error output of any other cell whose traceback quotes a
  hidden line (code that calls into a hidden test's helper). Other tracebacks
  are kept whole: they quote only the student's code and libraries.
"""

import os
import re

from nbformat.v4 import new_markdown_cell
from nbgrader.api import Gradebook, MissingEntry
from nbgrader.preprocessors import ClearHiddenTests, GetGrades, NbGraderPreprocessor
from traitlets import List

from .cells import RECORD, hidden_lines, is_instructor, is_manual, nbgrader_meta, without_hidden_tests
from .runner import message_lines

#: nbgrader's preprocessors declare ``display_data_priority`` without ``config=True`` (all but
#: ``GetGrades``), while nbconvert's HTMLExporter configures it for every preprocessor
#: (``NbConvertBase.display_data_priority``): a preprocessor of ours in generate_feedback then logs
#: "Config option `display_data_priority` not recognized by ...". Declared configurable, as GetGrades does.
def _display_data_priority():
    return List(list(GetGrades.class_traits()["display_data_priority"].default()), config=True)

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


class HideHiddenTests(ClearHiddenTests):
    """ClearHiddenTests for the instructor's cells, plus error outputs cut to ``ename: evalue``.

    A subclass for ClearHiddenTests' settings (the delimiters) and its ``preprocess``; each cell is
    done here (``cells.without_hidden_tests``), as nbgrader's own ``preprocess_cell`` would refuse
    a hidden region in a cell that is not graded.
    """

    display_data_priority = _display_data_priority()

    #: Hidden lines shorter than this are not searched for in tracebacks (``)``, ``else:``).
    min_line = 8

    def preprocess(self, nb, resources):
        self._hidden = set()
        for cell in nb.cells:
            if cell.cell_type == "code" and is_instructor(cell):
                lines = hidden_lines(cell.source, self.begin_test_delimeter, self.end_test_delimeter)
                self._hidden.update(line.strip() for line in lines if len(line.strip()) >= self.min_line)
        return super().preprocess(nb, resources)

    def _quotes_hidden(self, output):
        text = _ANSI.sub("", "\n".join(output.get("traceback", [])))
        return self.begin_test_delimeter in text or any(line in text for line in self._hidden)

    def preprocess_cell(self, cell, resources, cell_index):
        instructor = is_instructor(cell)
        if instructor:
            cell.source = without_hidden_tests(cell.source, self.begin_test_delimeter, self.end_test_delimeter)
        if cell.cell_type == "code":
            for output in cell.get("outputs", []):
                if output.get("output_type") == "error" and (instructor or self._quotes_hidden(output)):
                    output["traceback"] = message_lines(output.get("ename", "Error"), output.get("evalue", ""))
        return cell, resources


# -- written answers not graded yet -------------------------------------------------------

#: Said at a written answer nobody has graded yet (nbgrader shows its score as 0).
NOT_GRADED_YET = "Not graded yet"


def _converter(obj):
    """The nbgrader converter up the parent chain (preprocessor, exporter, converter), or None."""
    while obj is not None:
        if hasattr(obj, "assignments") and hasattr(obj, "coursedir"):
            return obj
        obj = getattr(obj, "parent", None)
    return None


class MarkUngraded(NbGraderPreprocessor):
    """generate_feedback, after GetGrades: written answers nobody has graded yet are said to be so.

    nbgrader renders a grade without a score (neither an automatic nor a manual one) as 0
    ("Score: 0.0 / 2.0") and counts it as 0 in the total, as if the answer had been marked wrong. This preprocessor:

    - adds "Not graded yet: ..." to the comment shown under each such answer (the feedback shows a
      solution cell's comment at the cell), and a note at the top of the notebook saying how many
      written answers are not graded yet and that the total counts them as 0 for now;
    - logs one WARNING per assignment: how many written answers of how many students are not graded
      yet, with the fix (grade them in the formgrader, then generate the feedback again).
    """

    display_data_priority = _display_data_priority()

    def __init__(self, **kw):
        super().__init__(**kw)
        self._reported = set()

    def preprocess(self, nb, resources):
        ids = resources["nbgrader"]
        if ids["assignment"] not in self._reported:
            self._reported.add(ids["assignment"])
            self._report(ids)
        with Gradebook(ids["db_url"]) as gb:
            try:
                grades = gb.find_submission_notebook(ids["notebook"], ids["assignment"], ids["student"]).grades
            except MissingEntry:
                grades = []
            pending = {grade.name for grade in grades if grade.auto_score is None and grade.manual_score is None}
        ungraded = []
        for cell in nb.cells:
            meta = nbgrader_meta(cell)
            if is_manual(cell) and meta.get("grade_id") in pending:
                ungraded.append(meta.get("points") or 0)
                note = (f"**{NOT_GRADED_YET}.** Your instructor has not graded this answer yet; the score "
                        "shown for it is a placeholder and counts as 0 in the total until it is graded.")
                meta["comment"] = f"{note}\n\n{meta['comment']}" if meta.get("comment") else note
        if ungraded:
            points = sum(float(p) for p in ungraded)
            answers = "written answer is" if len(ungraded) == 1 else "written answers are"
            note = new_markdown_cell(
                f"**{NOT_GRADED_YET}:** {len(ungraded)} {answers} not graded yet ({points:g} points). "
                "The total above counts them as 0 for now; look for \"Not graded yet\" below.")
            note.metadata[RECORD] = {"not_graded_yet": len(ungraded)}
            nb.cells.insert(0, note)
        return nb, resources

    def _students(self, assignment, gb):
        """The students whose feedback this run generates for the assignment (all with a submission if unknown)."""
        converter = _converter(self)
        if converter is not None and converter.assignments:
            pattern = re.escape(os.sep).join([
                converter._format_source("(?P<assignment_id>.*)", "(?P<student_id>.*)", escape=True)])
            students = set()
            for folder in converter.assignments:
                match = re.match(pattern + "$", folder)
                if match and match.group("assignment_id") == assignment:
                    students.add(match.group("student_id"))
            if students:
                return sorted(students)
        try:
            return sorted(s.student.id for s in gb.find_assignment(assignment).submissions)
        except MissingEntry:
            return []

    def _report(self, ids):
        assignment = ids["assignment"]
        with Gradebook(ids["db_url"]) as gb:
            students = self._students(assignment, gb)
            counts = {}
            for student in students:
                try:
                    submission = gb.find_submission(assignment, student)
                except MissingEntry:
                    continue
                for notebook in submission.notebooks:
                    for grade in notebook.grades:
                        if grade.auto_score is None and grade.manual_score is None:
                            counts[student] = counts.get(student, 0) + 1
        if not counts:
            return
        total = sum(counts.values())
        listed = ", ".join(f"{s} ({n})" for s, n in sorted(counts.items())[:10])
        if len(counts) > 10:
            listed += f" and {len(counts) - 10} more"
        self.log.warning(
            "Assignment '%s': %d written %s of %d %s (of the %d whose feedback this run generates) %s not graded "
            "yet: %s. Their feedback says \"Not graded yet\" at those answers and counts them as 0 in the total. "
            "Grade them in the formgrader (Manage Assignments, then the assignment's submissions), then run "
            "`nbgrader generate_feedback %s --force` again.",
            assignment, total, "answer" if total == 1 else "answers", len(counts),
            "student" if len(counts) == 1 else "students", len(students), "is" if total == 1 else "are",
            listed, assignment,
        )
