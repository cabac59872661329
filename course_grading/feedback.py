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

import re

from nbgrader.preprocessors import ClearHiddenTests

from .runner import message_lines

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def _meta(cell):
    return cell.get("metadata", {}).get("nbgrader", {}) or {}


def _is_instructor_cell(cell):
    """A test or read-only cell: its source is the instructor's, restored by autograde."""
    meta = _meta(cell)
    return bool((meta.get("grade") or meta.get("locked")) and not meta.get("solution"))


class HideHiddenTests(ClearHiddenTests):
    """ClearHiddenTests for the instructor's cells, plus error outputs cut to ``ename: evalue``."""

    #: Hidden lines shorter than this are not searched for in tracebacks (``)``, ``else:``).
    min_line = 8

    def preprocess(self, nb, resources):
        self._hidden = set()
        for cell in nb.cells:
            if cell.cell_type == "code" and _is_instructor_cell(cell):
                self._hidden.update(self._hidden_lines(cell.source))
        return super().preprocess(nb, resources)

    def _hidden_lines(self, source):
        lines, inside = [], False
        for line in source.splitlines():
            if self.begin_test_delimeter in line:
                inside = True
            elif self.end_test_delimeter in line:
                inside = False
            elif inside and len(line.strip()) >= self.min_line:
                lines.append(line.strip())
        return lines

    def _quotes_hidden(self, output):
        text = _ANSI.sub("", "\n".join(output.get("traceback", [])))
        return self.begin_test_delimeter in text or any(line in text for line in self._hidden)

    def preprocess_cell(self, cell, resources, cell_index):
        instructor = _is_instructor_cell(cell)
        if instructor:
            self._remove_hidden_test_region(cell)
        if cell.cell_type == "code":
            for output in cell.get("outputs", []):
                if output.get("output_type") == "error" and (instructor or self._quotes_hidden(output)):
                    output["traceback"] = message_lines(output.get("ename", "Error"), output.get("evalue", ""))
        return cell, resources
