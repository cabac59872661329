"""Feedback a student may see: scores and explanations, never the hidden tests.

nbgrader's ``generate_feedback`` renders the autograded notebook, and that
notebook's test cells hold the hidden tests (autograde puts them back to run
them). nbgrader's ``ClearHiddenTests`` removes the ``### BEGIN HIDDEN TESTS``
regions from the cell sources, but a failing test's traceback still quotes the
hidden lines (IPython prints the source around the failing line).

``HideHiddenTests`` (``GenerateFeedback.preprocessors``, after ``GetGrades``)
clears the hidden regions and reduces the error output of every nbgrader cell
(tests, self-checks, answers) to its message, ``ename: evalue`` — for the
course's checks that is the explanation in words, e.g. ``AssertionError:
log_joint(...) should be ...``. A student's own (ungraded) cells keep their
full tracebacks: they quote only the student's code.
"""

from nbgrader import utils
from nbgrader.preprocessors import ClearHiddenTests


def _is_nbgrader_cell(cell):
    meta = cell.get("metadata", {}).get("nbgrader", {}) or {}
    return any(meta.get(flag) for flag in ("grade", "solution", "locked", "task"))


class HideHiddenTests(ClearHiddenTests):
    """ClearHiddenTests, plus tracebacks of graded cells cut to ``ename: evalue``."""

    def preprocess_cell(self, cell, resources, cell_index):
        cell, resources = super().preprocess_cell(cell, resources, cell_index)
        if cell.cell_type == "code" and (_is_nbgrader_cell(cell) or utils.is_grade(cell)):
            for output in cell.get("outputs", []):
                if output.get("output_type") == "error":
                    output["traceback"] = [f"{output.get('ename', 'Error')}: {output.get('evalue', '')}"]
        return cell, resources


def install(c):
    """Put HideHiddenTests into config ``c``'s feedback preprocessors, after GetGrades."""
    from nbgrader.converters import GenerateFeedback
    from nbgrader.preprocessors import GetGrades

    section = c.GenerateFeedback
    current = section["preprocessors"] if "preprocessors" in section else None
    classes = list(current) if isinstance(current, (list, tuple)) else list(
        GenerateFeedback.class_traits()["preprocessors"].default()
    )
    classes = [p for p in classes if p is not HideHiddenTests]
    position = classes.index(GetGrades) + 1 if GetGrades in classes else 0
    classes.insert(position, HideHiddenTests)
    c.GenerateFeedback.preprocessors = classes
