"""Real nbgrader on real submissions: a private course, students, autograde, scores.

Submissions are built from solutions/ automatically, so a new exercise is
covered with no extra work:

- ``filled``: the release with every answer cell holding the source's answer,
  as a student who solved everything would hand it in;
- ``blank``: the release untouched;
- ``with_answers``: ``filled`` with chosen answer cells replaced.
"""

import copy
import json
import os
import re
import sys

from nbformat.v4 import new_code_cell

from nbgrader.api import Gradebook
from nbgrader.apps import NbGraderAPI

from course import ROOT, copy_course, nbgrader_config, notebook_path

_SOLUTION_REGION = re.compile(r"^[ \t]*### (BEGIN|END) SOLUTION[ \t]*\n?", re.MULTILINE)


def nbgrader_meta(cell):
    """The nbgrader metadata of a cell of a notebook read as JSON ({} if none)."""
    return cell.get("metadata", {}).get("nbgrader", {})


def cell_source(cell):
    """The source of a cell of a notebook read as JSON, as one string."""
    return "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]




def answer_cells(notebook):
    """{grade_id: cell} for the cells a student writes in (code and written answers)."""
    return {nbgrader_meta(c)["grade_id"]: c for c in notebook["cells"] if nbgrader_meta(c).get("solution")}


def strip_solution_markers(source):
    """The answer as the student writes it: the solution region's delimiters removed."""
    return _SOLUTION_REGION.sub("", source)


def command_env():
    """The environment for a command run in a private course, as `make` runs it from the root: this
    interpreter's bin first on PATH, and the repository's course_grading and em_lib importable."""
    env = dict(os.environ)
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return env


class Course:
    """A private copy of the course in ``root``, with nbgrader configured as the instructor's config says."""

    def __init__(self, root):
        self.root = copy_course(root)
        self.api = NbGraderAPI(config=nbgrader_config(self.root))
        self._released = set()

    def release(self, assignment):
        """Generate the student release (once) and return its notebook as JSON."""
        if assignment not in self._released:
            result = self.api.generate_assignment(assignment, force=True)
            assert result["success"], result.get("error") or result.get("log")
            self._released.add(assignment)
        return json.loads(notebook_path(self.root / "notebooks", assignment).read_text())

    def source(self, assignment):
        return json.loads(notebook_path(self.root / "solutions", assignment).read_text())

    def blank(self, assignment):
        return self.release(assignment)

    def filled(self, assignment):
        """The release with every answer taken from the source (markers stripped)."""
        return self.with_answers(assignment, {})

    def with_answers(self, assignment, replacements):
        """``filled``, but answer cells named in ``replacements`` ({grade_id: source}) hold that source."""
        notebook = copy.deepcopy(self.release(assignment))
        answers = answer_cells(self.source(assignment))
        unknown = set(replacements) - set(answers)
        assert not unknown, f"no answer cells {sorted(unknown)} in {assignment}"
        for grade_id, cell in answer_cells(notebook).items():
            text = replacements.get(grade_id, strip_solution_markers(cell_source(answers[grade_id])))
            cell["source"] = text
        return notebook

    def submit(self, student, assignment, notebook):
        """Put ``notebook`` (JSON dict, or raw text/bytes for a corrupt file) where nbgrader collects it."""
        path = notebook_path(self.root / "submitted" / student, assignment)
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(notebook, dict):
            path.write_text(json.dumps(notebook))
        else:
            path.write_bytes(notebook if isinstance(notebook, bytes) else notebook.encode())
        return path

    def autograde(self, assignment, student):
        return self.api.autograde(assignment, student, force=True, create=True)

    def grades(self, assignment, student):
        """{grade_id: (auto_score, max_score, needs_manual_grade)} of the student's autograded notebook."""
        with Gradebook(self.api.coursedir.db_url) as gb:
            submission = gb.find_submission(assignment, student)
            out = {}
            for nb in submission.notebooks:
                for grade in nb.grades:
                    out[grade.name] = (grade.auto_score, grade.max_score, grade.needs_manual_grade)
            return out


def autograded_ids(source_notebook):
    """grade_ids of the autograded test cells (written answers are graded by hand)."""
    return {
        nbgrader_meta(c)["grade_id"]
        for c in source_notebook["cells"]
        if nbgrader_meta(c).get("grade") and not nbgrader_meta(c).get("solution")
    }


def auto_total(grades, source_notebook):
    """(scored, possible) over the autograded test cells (written answers are graded by hand)."""
    auto_ids = autograded_ids(source_notebook)
    scored = sum((grades[g][0] or 0.0) for g in auto_ids)
    possible = sum(grades[g][1] for g in auto_ids)
    return scored, possible


def with_extra_cell(notebook, after_grade_id, source):
    """``notebook`` with a code cell the student added just after the cell ``after_grade_id``."""
    notebook = copy.deepcopy(notebook)
    index = next(i for i, c in enumerate(notebook["cells"]) if nbgrader_meta(c).get("grade_id") == after_grade_id)
    notebook["cells"].insert(index + 1, dict(new_code_cell(source)))
    return notebook


def hidden_lines(source_notebook, release_notebook):
    """Every non-blank line inside a BEGIN/END HIDDEN TESTS region of the source that the release does not show.

    (A hidden line may repeat a visible one, e.g. ``with feedback.using_reference(...):``.)
    """
    visible = "\n".join(cell_source(cell) for cell in release_notebook["cells"])
    lines = []
    for cell in source_notebook["cells"]:
        inside = False
        for line in cell_source(cell).splitlines():
            if "BEGIN HIDDEN TESTS" in line:
                inside = True
            elif "END HIDDEN TESTS" in line:
                inside = False
            elif inside and line.strip() and line.strip() not in visible:
                lines.append(line.strip())
    return lines
