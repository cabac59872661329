"""Submissions whose notebook is not where nbgrader looks for it: graded under the right name, or named.

nbgrader grades ``submitted/<student>/<assignment>/<notebook>.ipynb`` only. A
notebook handed in under another name (``04_e_and_m_steps (1).ipynb`` from a
browser download, ``... -Copy1.ipynb`` from JupyterLab's "Duplicate") is
skipped with "Skipping unknown notebook" and "No notebooks found, did you forget
to run 'nbgrader generate_assignment'?"; a folder with no notebook at all only
gets a WARNING "No notebooks were matched by ..."; either way the student has no
autograded notebook and ``nbgrader export`` writes 0 for them without a word.

``CourseAutograde`` (nbgrader's ``Autograde`` converter, with two methods
extended) decides before nbgrader does, per student:

- the expected notebook is there: nbgrader's own behaviour, nothing changes;
- it is missing and exactly one other ``.ipynb`` is in the student's folder:
  that notebook is COPIED to the expected name, in the same folder (the
  student's file is left as it was), with a record of where it came from in its
  metadata (``course_grading.submitted_as``: the file's name and SHA-256), and
  graded as usual. ``RestoreCells`` reads the record and flags the submission
  for review (one WARNING line naming the student and the file, a
  "Note from the grader" on the first answer cell, ``needs_manual_grade`` on
  its first grade). Running autograde again grades the same copy and flags it
  again; if the student's file has changed since (collected again), the copy
  is made afresh;
- it is missing and there are several other notebooks, or none: one ERROR line
  naming the student, what the folder holds and the fix (rename the right file
  and run autograde again); the submission's grades are flagged for manual
  grading, nbgrader records that submission as failed and goes on with the
  other students (``nbgrader autograde`` exits 1 at the end).

nbgrader has no setting for the converter class its autograde app builds, so
``install()`` (called by ``course_grading.config.configure``) puts
``CourseAutograde`` where ``nbgrader autograde`` and the formgrader (through
``NbGraderAPI.autograde``) look it up. Code that builds nbgrader's converter
itself should build ``CourseAutograde``.
"""

import glob
import hashlib
import json
import os

from nbgrader.api import Gradebook, MissingEntry
from nbgrader.converters import Autograde, NbGraderException

from .cells import RECORD

#: Where the record of a renamed notebook lives in the copy's notebook metadata (under ``RECORD``).
SUBMITTED_AS = "submitted_as"


class SubmissionNotFound(NbGraderException):
    """The student's folder holds no notebook that can be graded as the expected one."""


def _stem(path):
    return os.path.splitext(os.path.basename(path))[0]


def _sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def submitted_as(path):
    """The record of the file a notebook was copied from (``{"file", "sha256"}``), or None."""
    try:
        with open(path, "rb") as f:
            content = json.loads(f.read().decode("utf-8"))
        record = content["metadata"][RECORD][SUBMITTED_AS]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return record if isinstance(record, dict) and record.get("file") else None


def copy_as(original, target):
    """Copy the notebook ``original`` to ``target``, recording the original's name and hash in the copy.

    A file that is not a JSON notebook is copied byte for byte (nbgrader's reading of it then
    reports what is wrong with it, see ``integrity.CheckedNotebookExporter``).
    """
    with open(original, "rb") as f:
        data = f.read()
    record = {"file": os.path.basename(original), "sha256": hashlib.sha256(data).hexdigest()}
    try:
        content = json.loads(data.decode("utf-8"))
        content.setdefault("metadata", {}).setdefault(RECORD, {})[SUBMITTED_AS] = record
        data = (json.dumps(content, indent=1, ensure_ascii=False) + "\n").encode("utf-8")
    except (ValueError, AttributeError, TypeError):
        pass
    partial = target + ".partial"
    with open(partial, "wb") as f:
        f.write(data)
    os.replace(partial, target)


class CourseAutograde(Autograde):
    """nbgrader's Autograde, which also grades a lone renamed notebook (flagged) and names a missing one."""

    def init_notebooks(self):
        """nbgrader's, but a student folder with no notebook at all is kept, to be named in an ERROR."""
        # Re-states nbgrader's method for this case: its loop drops such a folder, with no hook to keep it.
        if self.coursedir.notebook_id != "*":
            return super().init_notebooks()
        folders = [
            folder for folder in glob.glob(self._format_source(self.coursedir.assignment_id, self.coursedir.student_id))
            if os.path.isdir(folder)
        ]
        if not folders:
            return super().init_notebooks()  # nbgrader's own error, with its "Did you mean"
        self.notebooks = []
        self.assignments = {folder: glob.glob(os.path.join(folder, "*.ipynb")) for folder in folders}

    def init_assignment(self, assignment_id, student_id):
        if self._sanitizing and self.coursedir.notebook_id == "*":
            self._find_notebooks(assignment_id, student_id)
        super().init_assignment(assignment_id, student_id)

    # -- the student's folder ---------------------------------------------------------

    def _find_notebooks(self, assignment_id, student_id):
        """Make ``self.notebooks`` the assignment's notebooks, copying a lone renamed one; or raise."""
        with Gradebook(self.coursedir.db_url, self.coursedir.course_id) as gb:
            try:
                expected = [notebook.name for notebook in gb.find_assignment(assignment_id).notebooks]
            except MissingEntry:
                return  # nbgrader's own error follows
        folder = self._format_source(assignment_id, student_id)
        present = {_stem(path): path for path in self.notebooks}
        copied_from = set()
        for name in expected:
            if name in present:
                record = submitted_as(present[name])
                if record:
                    original = os.path.join(folder, record["file"])
                    copied_from.add(record["file"])
                    if os.path.exists(original) and _sha256(original) != record["sha256"]:
                        self.log.info("The file %s changed since it was copied to %s.ipynb: copying it again",
                                      original, name)
                        copy_as(original, present[name])
        others = sorted(path for name, path in present.items()
                        if name not in expected and os.path.basename(path) not in copied_from)
        missing = [name for name in expected if name not in present]
        # a copy's original is graded through the copy: nbgrader need not say it skips it
        self.notebooks = [path for path in self.notebooks if os.path.basename(path) not in copied_from]
        if not missing:
            return
        if len(missing) == 1 and len(others) == 1:
            target = os.path.join(folder, missing[0] + ".ipynb")
            self.log.info("Copying %s -> %s (the student's notebook under the expected name)", others[0], target)
            copy_as(others[0], target)
            self.notebooks = sorted([path for path in self.notebooks if path != others[0]] + [target])
            return
        self._not_found(assignment_id, student_id, folder, missing, others, graded=len(missing) < len(expected))

    def _not_found(self, assignment_id, student_id, folder, missing, others, graded):
        wanted = ", ".join(f"{name}.ipynb" for name in missing)
        files = sorted(os.listdir(folder)) if os.path.isdir(folder) else []
        shown = [f for f in files if not f.startswith(".") and f != "timestamp.txt"]
        if others:
            found = ("several other notebooks: " if len(others) > 1 else "one other notebook: ") + ", ".join(
                f"'{os.path.basename(p)}'" for p in others)
            fix = (f"rename the one to grade to {missing[0]}.ipynb in {folder}/ "
                   "(the others can stay: they are not graded)")
        elif shown:
            found = "no notebook, only " + ", ".join(f"'{f}'" for f in shown[:10]) + (" ..." if len(shown) > 10 else "")
            fix = f"get the notebook from the student and put it at {os.path.join(folder, missing[0] + '.ipynb')}"
        else:
            found = "nothing (an empty folder)"
            fix = f"get the notebook from the student and put it at {os.path.join(folder, missing[0] + '.ipynb')}"
        message = (
            f"Cannot grade student '{student_id}', assignment '{assignment_id}': {wanted} is missing from "
            f"{folder}/, which holds {found}. "
            + ("The other notebooks of the assignment are graded; this one scores 0 until you fix it. " if graded else
               "The other submissions are graded as usual; this one has no autograded notebook and its grades are "
               "flagged for manual grading. ")
            + f"To grade it, {fix}, and run `nbgrader autograde {assignment_id} --student {student_id} --force`."
        )
        self.log.error(message)
        if graded:
            return  # nbgrader grades the notebooks that are there and scores the missing one 0, as it does
        self._flag(assignment_id, student_id, missing)
        raise SubmissionNotFound(f"{wanted} not found for student '{student_id}' (see the ERROR line above)")

    def _flag(self, assignment_id, student_id, notebooks):
        with Gradebook(self.coursedir.db_url, self.coursedir.course_id) as gb:
            gb.update_or_create_student(student_id)
            gb.update_or_create_submission(assignment_id, student_id)
            for name in notebooks:
                for grade in gb.find_submission_notebook(name, assignment_id, student_id).grades:
                    grade.needs_manual_grade = True
            gb.db.commit()


def install():
    """Have ``nbgrader autograde`` and the formgrader build ``CourseAutograde`` (nbgrader has no setting for it)."""
    from nbgrader.apps import api, autogradeapp

    for module in (autogradeapp, api):
        current = getattr(module, "Autograde", None)
        if current is Autograde or current is CourseAutograde:
            module.Autograde = CourseAutograde
