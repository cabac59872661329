"""Submissions whose graded cells were edited, deleted, duplicated or moved, and files that are not notebooks.

Plain nbgrader restores an edited test cell but only logs a warning; it does not
restore a deleted one (the grade stays NULL and the CSV shows a partial total);
it keeps the last copy of a duplicated cell; it logs a checksum warning for
every test cell with hidden tests in every submission, so a real tampering
warning drowns; and a file that is not a notebook fails with a bare traceback.

Three pieces, all installed by ``course_grading.config.configure``:

``RestoreCells`` (sanitize stage, before nbgrader's ``DeduplicateIds`` and
``OverwriteCells``) rebuilds the submission's nbgrader cells from the release
(``notebooks/``, the student's copy; the gradebook holds the test sources):

- every graded, answer and locked cell of the release appears exactly once, in
  the order of the release; cells the student added stay where they were (each
  travels with the graded cell above it);
- a locked cell (test or self-check) gets the instructor's source (with the
  hidden tests) and the release's nbgrader metadata. A cell whose source is
  still the release's is restored silently: that is only the hidden tests going
  back in (nbgrader's per-submission checksum warning is gone). A cell whose
  source differs was edited: restored, and flagged;
- a deleted test cell is put back from the gradebook (graded as usual), flagged;
- a duplicated test cell is kept once (it is graded once), flagged;
- a deleted answer cell is put back empty, as released (its tests then score 0),
  flagged; a duplicated answer cell: the LAST copy (the lowest in the notebook,
  the one the student wrote most recently) is the answer cell, and stands where
  the release has it, before the exercise's tests; the earlier copies become
  ordinary cells just above it (wherever they were), so they still run (no
  work is lost, a helper defined only there is still there) but whatever the
  last copy defines replaces what they defined, for every test of the
  notebook; flagged. A duplicated written answer: the last copy is the one
  graded by hand, the earlier ones stay visible just above it; flagged;
- a notebook handed in under another name and copied to the expected one by
  ``course_grading.submissions`` (its metadata says so): flagged;
- changed grading metadata (points, grade, locked, cell type) is restored,
  flagged; a cell with a grade id the assignment does not know becomes an
  ordinary cell, flagged; stray nbgrader metadata on an ordinary cell is
  dropped (plain nbgrader aborts the WHOLE batch on it, "old version of the
  nbgrader metadata format", as it does on a duplicated cell);
- cells moved out of order are put back in order (logged, not flagged).

What it did is recorded in the notebook's metadata (``course_grading.integrity``,
kept in the autograded notebook) and logged as one WARNING per cell naming the
student, assignment, notebook and cell.

``FlagForReview`` (autograde stage, after ``SaveAutoGrades``, which would
otherwise reset the flags) makes the record visible in nbgrader's own tools:
``needs_manual_grade`` is set on the grades concerned (the formgrader lists the
submission as needing manual grading; the score itself stays the autograder's,
so the totals in ``nbgrader export`` are right), and an automatic comment on the
exercise's answer cell says what happened (shown in the formgrader and in the
feedback). An instructor clears a flag by confirming or entering the score in
the formgrader.

``CheckedNotebookExporter`` (``Autograde.exporter_class``) reads each file
before nbgrader does. A file that is empty, not text, not JSON, cut off, JSON
but not a notebook, or of an nbformat version nbgrader cannot read gets one
ERROR line naming the student, assignment, file, what is wrong and what to do;
its grades are flagged for review; nbgrader then records that submission as
failed and goes on with the others (``nbgrader autograde`` exits 1 at the end
when any submission failed).
"""

import copy
import json
import os

import nbformat
from nbconvert.exporters import NotebookExporter
from nbformat.v4 import new_code_cell, new_markdown_cell
from nbgrader.api import Gradebook, MissingEntry
from nbgrader.preprocessors import NbGraderPreprocessor

from .cells import FLAGS, RECORD, grade_id_of, is_answer, is_graded, is_task, nbgrader_meta, without_hidden_tests
from .submissions import SUBMITTED_AS


def _settings(meta):
    """The grading settings of nbgrader metadata, comparable across submission and release."""
    out = {flag: bool(meta.get(flag)) for flag in FLAGS}
    if meta.get("grade"):
        try:
            out["points"] = float(meta.get("points"))
        except (TypeError, ValueError):
            out["points"] = meta.get("points")
    return out


def find_coursedir(obj):
    """nbgrader's CourseDirectory, found up the parent chain (preprocessor, exporter, converter)."""
    while obj is not None:
        coursedir = getattr(obj, "coursedir", None)
        if coursedir is not None:
            return coursedir
        obj = getattr(obj, "parent", None)
    return None


def read_release(coursedir, assignment, notebook):
    """(the notebook, the directory it was read from): the release's, else the source's; (None, None) if neither."""
    for directory in (coursedir.release_directory, coursedir.source_directory):
        path = os.path.join(coursedir.format_path(directory, ".", assignment), notebook + ".ipynb")
        if os.path.exists(path):
            return nbformat.read(path, as_version=4), directory
    return None, None


def _cell_like(reference, source):
    """A fresh cell of the reference's type and metadata holding ``source``."""
    if reference.cell_type == "code":
        cell = new_code_cell(source)
    else:
        cell = new_markdown_cell(source)
    cell.metadata = copy.deepcopy(reference.metadata)
    for key in ("execution", "collapsed", "scrolled"):
        cell.metadata.pop(key, None)
    return cell


class RestoreCells(NbGraderPreprocessor):
    """Sanitize stage: the release's nbgrader cells, once each, in order; edits undone; what was done recorded."""

    def preprocess(self, nb, resources):
        ids = resources["nbgrader"]
        self.student, self.assignment, self.notebook = ids["student"], ids["assignment"], ids["notebook"]
        reference = self._reference_cells()
        if reference is None:
            return nb, resources
        with Gradebook(ids["db_url"]) as gb:
            stored = {
                cell.name: cell.source
                for cell in gb.find_notebook(self.notebook, self.assignment).source_cells
            }
        reference = [cell for cell in reference if grade_id_of(cell) in stored]
        self.order = [grade_id_of(cell) for cell in reference]
        self.by_id = {grade_id_of(cell): cell for cell in reference}
        self.events = []
        self._renamed(nb)

        leading, segments, seen_order, copies, earlier = self._segments(nb)
        cells = list(leading)
        for grade_id in self.order:
            if grade_id in segments:
                cell = segments[grade_id][0]
                self._check(cell, stored[grade_id])
                cells.extend(earlier.get(grade_id, []))
                cells.extend(segments[grade_id])
            else:
                cells.append(self._restore(grade_id, stored[grade_id]))
        for grade_id, count in copies.items():
            self._duplicated(grade_id, count)
        if seen_order != [g for g in self.order if g in seen_order]:
            self._event(None, "moved", "The graded cells were not in the order of the released notebook; "
                        "they were put back in order before grading.", review=False)
        nb.cells = cells

        nb.metadata.setdefault(RECORD, {})["integrity"] = self.events
        for event in self.events:
            self.log.warning(
                "Integrity: student '%s', assignment '%s', notebook '%s', cell '%s': %s%s",
                self.student, self.assignment, self.notebook, event["cell"] or "-", event["message"],
                " Flagged for review." if event["review"] else "",
            )
        return nb, resources

    # -- the release ---------------------------------------------------------------

    def _reference_cells(self):
        """The release's nbgrader cells in order (the source's if there is no release), or None."""
        coursedir = find_coursedir(self)
        if coursedir is None:
            self.log.warning("RestoreCells: no course directory found; graded cells are not checked")
            return None
        nb, directory = read_release(coursedir, self.assignment, self.notebook)
        if nb is not None:
            self.from_release = directory == coursedir.release_directory
            return [cell for cell in nb.cells if grade_id_of(cell)]
        self.log.warning(
            "RestoreCells: neither the release nor the source of %s/%s exists; graded cells are not checked",
            self.assignment, self.notebook,
        )
        return None

    # -- the submission, cut into segments -------------------------------------------

    def _segments(self, nb):
        """Cells before the first nbgrader cell; {grade_id: [its cell, the ordinary cells after it]}.

        An answer cell that appears more than once: the LAST copy (the lowest in the notebook) is the
        answer; the earlier copies become ordinary cells, returned in ``earlier`` to go just before it
        (wherever they were), so they run before it and whatever the last copy defines is what every
        test sees. Ordinary cells that followed an earlier copy stay where they were. A test or
        read-only cell that appears more than once: the first copy is kept (its source is the course's
        anyway), the others dropped.
        """
        count, last = {}, {}
        for index, cell in enumerate(nb.cells):
            grade_id = grade_id_of(cell)
            if grade_id in self.by_id:
                count[grade_id] = count.get(grade_id, 0) + 1
                last[grade_id] = index
        copies = {grade_id: n for grade_id, n in count.items() if n > 1}
        leading, segments, seen_order, earlier = [], {}, [], {}
        current = leading
        for index, cell in enumerate(nb.cells):
            grade_id = grade_id_of(cell)
            if grade_id is None:
                # an ordinary cell: nbgrader metadata here (e.g. without a schema_version) would
                # make nbgrader abort the whole batch with "old version of the metadata format"
                cell.metadata.pop("nbgrader", None)
                current.append(cell)
                continue
            if grade_id not in self.by_id:
                self._event(grade_id, "unknown", f"A cell carried the grading id `{grade_id}`, which this "
                            "assignment does not have; it was kept as an ordinary cell.", review=True,
                            grades=[], comment=self._first_answer())
                cell.metadata.pop("nbgrader", None)
                current.append(cell)
                continue
            if grade_id not in seen_order:
                seen_order.append(grade_id)  # the order check goes by where the student first put it
            if is_answer(self.by_id[grade_id]):
                if index != last[grade_id]:
                    cell.metadata.pop("nbgrader", None)  # an earlier copy: an ordinary cell, just before the last
                    earlier.setdefault(grade_id, []).append(cell)
                    continue
            elif grade_id in segments:
                continue  # an extra copy of a locked cell: dropped
            segments[grade_id] = [cell]
            current = segments[grade_id]
        return leading, segments, seen_order, copies, earlier

    # -- what belongs to which exercise ----------------------------------------------

    def _answer_of(self, grade_id):
        """The answer cell an nbgrader cell belongs to: itself, or the nearest answer cell above it."""
        index = self.order.index(grade_id)
        for g in reversed(self.order[: index + 1]):
            if is_answer(self.by_id[g]):
                return g
        return self._first_answer()

    def _first_answer(self):
        return next((g for g in self.order if is_answer(self.by_id[g])), None)

    def _grades_of(self, grade_id):
        """The grades a problem with this cell affects: its own, or (for an ungraded cell) its exercise's tests."""
        if is_graded(self.by_id[grade_id]) and not is_answer(self.by_id[grade_id]):
            return [grade_id]
        answer = self._answer_of(grade_id)
        start = self.order.index(answer) if answer in self.order else self.order.index(grade_id)
        out = []
        for g in self.order[start:]:
            if g != answer and is_answer(self.by_id[g]):
                break
            if is_graded(self.by_id[g]):
                out.append(g)
        return out

    def _event(self, grade_id, problem, message, review, grades=None, comment=None):
        if grade_id is not None and grade_id in self.by_id:
            grades = self._grades_of(grade_id) if grades is None else grades
            comment = self._answer_of(grade_id) if comment is None else comment
        self.events.append({
            "cell": grade_id,
            "problem": problem,
            "message": message,
            "review": bool(review),
            "grades": list(grades or []) if review else [],
            "comment": comment if review else None,
        })

    # -- restoring ----------------------------------------------------------------------

    def _check(self, cell, stored_source):
        """Put a present nbgrader cell back to the release: type, settings, and (if locked) source."""
        grade_id = grade_id_of(cell)
        ref = self.by_id[grade_id]
        ref_meta = nbgrader_meta(ref)
        changed = []
        if cell.cell_type != ref.cell_type:
            changed.append(f"cell type ({cell.cell_type} instead of {ref.cell_type})")
        student_settings, release_settings = _settings(nbgrader_meta(cell)), _settings(ref_meta)
        for key in release_settings:
            if student_settings.get(key) != release_settings[key]:
                changed.append(f"{key} ({student_settings.get(key)} instead of {release_settings[key]})")
        edited = False
        if ref_meta.get("locked"):
            accepted = {s.rstrip() for s in (stored_source, ref.source, without_hidden_tests(stored_source))}
            edited = cell.source.rstrip() not in accepted
            source = stored_source
        else:
            source = cell.source
        if cell.cell_type != ref.cell_type:
            new = _cell_like(ref, source)
            cell.clear()
            cell.update(new)
        cell.source = source
        cell.metadata["nbgrader"] = copy.deepcopy(ref_meta)
        for key in ("editable", "deletable"):
            if key in ref.metadata:
                cell.metadata[key] = ref.metadata[key]
            else:
                cell.metadata.pop(key, None)
        kind = self._kind(grade_id)
        if edited:
            self._event(grade_id, "edited", f"The {kind} `{grade_id}` had been changed in the submitted "
                        "notebook; it was restored from the course's copy before grading.", review=True)
        if changed:
            self._event(grade_id, "settings", f"The grading settings of the {kind} `{grade_id}` had been "
                        f"changed ({', '.join(changed)}); they were restored before grading.", review=True)

    def _restore(self, grade_id, stored_source):
        ref = self.by_id[grade_id]
        kind = self._kind(grade_id)
        if nbgrader_meta(ref).get("locked"):
            cell = _cell_like(ref, stored_source)
            self._event(grade_id, "deleted", f"The {kind} `{grade_id}` was missing from the submitted notebook; "
                        "it was put back from the course's copy and graded as usual.", review=True)
        else:
            source = ref.source if self.from_release else (
                "# This answer cell was missing from the submission." if ref.cell_type == "code"
                else "This answer cell was missing from the submission.")
            cell = _cell_like(ref, source)
            self._event(grade_id, "deleted", f"The {kind} `{grade_id}` was missing from the submitted notebook; "
                        "it was put back empty, as released, so the tests of this exercise fail unless the "
                        "answer is defined elsewhere in the notebook.", review=True)
        return cell

    def _duplicated(self, grade_id, count):
        kind = self._kind(grade_id)
        if is_answer(self.by_id[grade_id]):
            earlier = "the earlier copy" if count == 2 else f"the {count - 1} earlier copies"
            ordinary = "an ordinary cell" if count == 2 else "ordinary cells"
            if self.by_id[grade_id].cell_type == "code":
                message = (f"The {kind} `{grade_id}` appeared {count} times; the last copy (the lowest in the "
                           f"notebook) was graded as the answer. {earlier.capitalize()} ran just before it as "
                           f"{ordinary}, so what the last copy defines is what the tests used.")
            else:
                message = (f"The {kind} `{grade_id}` appeared {count} times; the last copy (the lowest in the "
                           f"notebook) is the answer to grade; {earlier} stayed in the notebook, just above it, as "
                           f"{ordinary}.")
        else:
            message = (f"The {kind} `{grade_id}` appeared {count} times; the extra copies were removed and "
                       "it was graded once, from the course's copy.")
        self._event(grade_id, "duplicated", message, review=True)

    def _renamed(self, nb):
        """The submission was handed in under another file name (see ``course_grading.submissions``)."""
        record = nb.metadata.get(RECORD, {}).pop(SUBMITTED_AS, None)
        if not record or not record.get("file"):
            return
        first_grade = next((g for g in self.order if is_graded(self.by_id[g])), None)
        self._event(None, "renamed", f"The notebook was handed in as '{record['file']}' instead of "
                    f"'{self.notebook}.ipynb'; it was copied to '{self.notebook}.ipynb' (the student's file is "
                    "unchanged) and graded as usual.", review=True,
                    grades=[first_grade] if first_grade else [], comment=self._first_answer())

    def _kind(self, grade_id):
        cell = self.by_id[grade_id]
        if is_answer(cell):
            return "answer cell"
        if is_graded(cell):
            return "test cell"
        if is_task(cell):
            return "task cell"
        return "read-only cell"


class FlagForReview(NbGraderPreprocessor):
    """Autograde stage, after SaveAutoGrades: RestoreCells' record made visible in the gradebook."""

    #: Starts every automatic comment this preprocessor writes.
    prefix = "Note from the grader: "

    def preprocess(self, nb, resources):
        events = [e for e in nb.metadata.get(RECORD, {}).get("integrity", []) if e.get("review")]
        if not events:
            return nb, resources
        ids = resources["nbgrader"]
        notebook, assignment, student = ids["notebook"], ids["assignment"], ids["student"]
        notes = {}
        with Gradebook(ids["db_url"]) as gb:
            for event in events:
                for grade_id in event["grades"]:
                    try:
                        gb.find_grade(grade_id, notebook, assignment, student).needs_manual_grade = True
                    except MissingEntry:
                        self.log.warning("FlagForReview: no grade '%s' for %s", grade_id, student)
                if event["comment"]:
                    notes.setdefault(event["comment"], []).append(event["message"])
            for grade_id, messages in notes.items():
                try:
                    comment = gb.find_comment(grade_id, notebook, assignment, student)
                except MissingEntry:
                    continue
                text = self.prefix + " ".join(messages) + " An instructor will review this."
                comment.auto_comment = f"{comment.auto_comment}\n\n{text}" if comment.auto_comment else text
            gb.db.commit()
        return nb, resources


# -- files that are not notebooks ------------------------------------------------------


class CorruptNotebookError(Exception):
    """A submitted file nbgrader cannot read as a notebook."""


def diagnose(path):
    """What is wrong with the notebook file at ``path`` (a phrase), or None if nbgrader can read it."""
    with open(path, "rb") as f:
        data = f.read()
    if not data.strip():
        return f"is empty ({len(data)} bytes)"
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return ("is not a text file (not UTF-8); it may be a PDF, an archive or another file saved "
                "under the notebook's name")
    try:
        content = json.loads(text)
    except json.JSONDecodeError as error:
        stripped = text.strip()
        if stripped.startswith("{") and not stripped.endswith("}"):
            return (f"is cut off: its JSON stops after {len(data)} bytes, in the middle of the notebook "
                    "(an interrupted save, upload or copy)")
        return f"is not valid JSON (line {error.lineno}, column {error.colno}: {error.msg})"
    if not isinstance(content, dict) or "nbformat" not in content or (
        "cells" not in content and "worksheets" not in content
    ):
        found = f"keys {sorted(content)[:5]}" if isinstance(content, dict) else f"a JSON {type(content).__name__}"
        return f"is valid JSON but not a Jupyter notebook (no 'nbformat' and 'cells'; found {found})"
    version = content.get("nbformat")
    if not isinstance(version, int) or version not in (3, 4):
        return (f"declares nbformat version {version!r}, which nbgrader cannot read "
                f"(it reads versions 3 and 4; this nbformat is {nbformat.__version__})")
    try:
        nb = nbformat.reads(text, as_version=4)
    except Exception as error:  # noqa: BLE001 (any reading error is the same problem for the instructor)
        return f"could not be read as a notebook ({type(error).__name__}: {error})"
    for index, cell in enumerate(nb.get("cells", [])):
        if not isinstance(cell, dict) or "cell_type" not in cell or "source" not in cell:
            return f"is a damaged notebook: cell {index} has no cell_type or source"
    return None


class CheckedNotebookExporter(NotebookExporter):
    """nbgrader's exporter for autograde, reading each submitted file with a clear diagnosis first."""

    def from_filename(self, filename, resources=None, **kw):
        problem = diagnose(filename)
        if problem is not None:
            ids = (resources or {}).get("nbgrader", {})
            student, assignment = ids.get("student", "?"), ids.get("assignment", "?")
            message = (
                f"Cannot grade student '{student}', assignment '{assignment}': the file {filename} {problem}. "
                f"The other submissions are graded as usual; this one has no autograded notebook and its "
                f"grades are flagged for manual grading. To grade it, get a readable copy of the notebook from "
                f"the student (or from the exchange), put it in place of this file, and run "
                f"`nbgrader autograde {assignment} --student {student} --force`."
            )
            self.log.error(message)
            self._flag(ids)
            raise CorruptNotebookError(f"{filename} {problem} (see the ERROR line above)")
        return super().from_filename(filename, resources, **kw)

    def _flag(self, ids):
        if not ids.get("db_url"):
            return
        try:
            with Gradebook(ids["db_url"]) as gb:
                submitted = gb.find_submission_notebook(ids["notebook"], ids["assignment"], ids["student"])
                for grade in submitted.grades:
                    grade.needs_manual_grade = True
                gb.db.commit()
        except MissingEntry:
            pass
