"""The nbgrader cells of a notebook as the course's grading reads them, and their hidden tests.

One place for what every part of ``course_grading`` asks of a cell: its nbgrader metadata, its
grade id, its source as text, what kind of nbgrader cell it is, and the hidden-test regions of
a test cell's source.

The kinds follow ``nbgrader.utils`` (``is_grade``, ``is_solution``, ``is_locked``, ``is_task``).
Those read ``cell.metadata.nbgrader`` with attribute access and fail on a plain JSON dict or on
``"nbgrader": null`` (a submission's metadata is the student's to change); here a cell may be a
``NotebookNode`` or a plain dict, and missing, empty or null nbgrader metadata is no nbgrader
metadata.

Hidden tests: a region runs from a line containing ``BEGIN HIDDEN TESTS`` to the next line
containing ``END HIDDEN TESTS`` (the defaults of nbgrader's ``ClearHiddenTests``; the course
writes them ``### BEGIN HIDDEN TESTS``). ``without_hidden_tests`` removes them exactly as
``ClearHiddenTests`` does; ``hidden_ranges`` and ``hidden_lines`` find them without ever failing
(grading and feedback must go on), for the runner and the feedback.
"""

import ast
import json
import os

from nbformat.notebooknode import NotebookNode
from nbgrader import utils
from nbgrader.preprocessors import ClearHiddenTests

#: Where the course keeps its own record in a notebook's (or a cell's) metadata.
RECORD = "course_grading"

#: The nbgrader flags that make a cell an nbgrader cell.
FLAGS = ("grade", "solution", "locked", "task")

def defined_functions(source):
    """The names of the functions a cell's ``source`` defines at its top level, in order ([] if it does not parse)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    return [node.name for node in tree.body if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))]


def source_path(coursedir, assignment, notebook):
    """Where the assignment's source notebook (the instructor's, with answers and hidden tests) is."""
    return os.path.join(coursedir.format_path(coursedir.source_directory, ".", assignment), f"{notebook}.ipynb")


def source_cells(coursedir, assignment, notebook):
    """The cells of the assignment's source notebook as JSON dicts, or None when it cannot be read."""
    try:
        with open(source_path(coursedir, assignment, notebook), encoding="utf-8") as fh:
            return json.load(fh)["cells"]
    except (OSError, ValueError, KeyError, TypeError):
        return None


_DELIMITERS = ClearHiddenTests.class_traits()
#: What a line that opens / closes a hidden-test region contains: ``ClearHiddenTests``' defaults.
HIDDEN_BEGIN = _DELIMITERS["begin_test_delimeter"].default()
HIDDEN_END = _DELIMITERS["end_test_delimeter"].default()


# -- metadata ------------------------------------------------------------------------------


def nbgrader_meta(cell):
    """The cell's nbgrader metadata (the dict itself, to read or change), or ``{}`` if it has none."""
    return cell.get("metadata", {}).get("nbgrader", {}) or {}


def grade_id_of(cell):
    """The grade id of an nbgrader cell (graded, answer, locked or task), else None."""
    meta = nbgrader_meta(cell)
    if meta.get("grade_id") and any(meta.get(flag) for flag in FLAGS):
        return meta["grade_id"]
    return None


def cell_source(cell):
    """The cell's source as one string (a notebook on disk may hold it as a list of lines)."""
    source = cell["source"]
    return source if isinstance(source, str) else "".join(source)


def _as_nbgrader_reads(cell):
    """The cell's nbgrader metadata in the shape ``nbgrader.utils`` reads: ``cell.metadata['nbgrader']``."""
    return NotebookNode(metadata=NotebookNode(nbgrader=nbgrader_meta(cell)))


def is_graded(cell):
    """A cell with points: a test cell, or an answer graded by hand (``nbgrader.utils.is_grade``)."""
    return bool(utils.is_grade(_as_nbgrader_reads(cell)))


def is_answer(cell):
    """A cell the student writes in (``nbgrader.utils.is_solution``)."""
    return bool(utils.is_solution(_as_nbgrader_reads(cell)))


def is_task(cell):
    """A task cell, graded by hand (``nbgrader.utils.is_task``)."""
    return bool(utils.is_task(_as_nbgrader_reads(cell)))


def is_instructor(cell):
    """A test or read-only cell: not an answer, and graded or locked (``nbgrader.utils.is_locked``).

    Its source is the instructor's: autograde puts it back from the course's copy.
    """
    return bool(utils.is_locked(_as_nbgrader_reads(cell)))


def is_test(cell):
    """A graded test cell: a code cell with points that is not an answer."""
    return cell.get("cell_type") == "code" and is_graded(cell) and not is_answer(cell)


def is_manual(cell):
    """A cell graded by hand: a written (or free-response code) answer with points, or a task."""
    return (is_graded(cell) and is_answer(cell)) or is_task(cell)


# -- hidden tests -------------------------------------------------------------------------------


def _marks(lines, begin, end):
    """What each line is: "begin", "end", "in" or "out" of a region; "nested" (a begin inside a
    region) and "stray" (an end outside one) are the lines nbgrader refuses / drops."""
    inside = False
    for line in lines:
        if begin in line:
            mark, inside = ("nested" if inside else "begin"), True
        elif end in line:
            mark, inside = ("end" if inside else "stray"), False
        else:
            mark = "in" if inside else "out"
        yield mark


def without_hidden_tests(source, begin=HIDDEN_BEGIN, end=HIDDEN_END):
    r"""``source`` without its hidden-test regions, as nbgrader's ``ClearHiddenTests`` leaves a cell.

    Lines are split at ``\n`` only (not ``splitlines``). Each region goes, its ``begin`` and ``end``
    lines included, and so does a line containing ``end`` outside any region. A region opened
    inside another, or one never closed, raises ``RuntimeError`` (nbgrader refuses such a
    notebook). Only the source changes: nbgrader's metadata check (a region in a cell that is not
    graded) is the caller's.
    """
    lines = source.split("\n")
    marks = list(_marks(lines, begin, end))
    if "nested" in marks:
        raise RuntimeError(f"A hidden-test region is opened ({begin!r}) inside another one")
    if marks and marks[-1] in ("begin", "in"):
        raise RuntimeError(f"A hidden-test region ({begin!r}) is never closed ({end!r})")
    return "\n".join(line for line, mark in zip(lines, marks) if mark == "out")


def hidden_ranges(source, begin=HIDDEN_BEGIN, end=HIDDEN_END):
    """1-based (first, last) line numbers of each hidden-test region of a test cell, delimiters included.

    Never fails: a region not closed runs to the last line, and a ``begin`` inside a region is part of it.
    """
    ranges, start = [], None
    for number, mark in enumerate(_marks(source.splitlines(), begin, end), 1):
        if mark == "begin":
            start = number
        elif mark == "end":
            ranges.append((start, number))
            start = None
    if start is not None:
        ranges.append((start, len(source.splitlines())))
    return tuple(ranges)


def hidden_lines(source, begin=HIDDEN_BEGIN, end=HIDDEN_END):
    """The lines inside the hidden-test regions of ``source``, delimiters left out (never fails, as above)."""
    lines = source.splitlines()
    return [line for line, mark in zip(lines, _marks(lines, begin, end)) if mark == "in"]
