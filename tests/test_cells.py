"""course_grading.cells: hidden-test regions removed as nbgrader's own ClearHiddenTests removes them,
and the kinds of nbgrader cells as nbgrader.utils tells them."""

import json

import nbformat
import pytest
from hypothesis import given
from hypothesis import strategies as st
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook
from nbgrader import utils
from nbgrader.preprocessors import ClearHiddenTests

from course_grading import cells

BEGIN, END = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"


def nbgrader_clears(source, **delimiters):
    """What nbgrader's ClearHiddenTests leaves of ``source`` (a graded test cell's), or the error it raises."""
    cell = new_code_cell(source)
    cell.metadata["nbgrader"] = {"grade": True, "grade_id": "t", "points": 1, "solution": False, "locked": True}
    nb = new_notebook(cells=[cell])
    try:
        nb, _ = ClearHiddenTests(**delimiters).preprocess(nb, {})
    except RuntimeError:
        return RuntimeError
    return nb.cells[0].source


def ours(source, **delimiters):
    try:
        return cells.without_hidden_tests(source, **delimiters)
    except RuntimeError:
        return RuntimeError


SOURCES = {
    "no region": "assert f(1) == 2\nprint('ok')",
    "empty": "",
    "one region": f"assert f(1) == 2\n{BEGIN}\nassert f(3) == 4\n{END}\nprint('ok')",
    "several regions": f"a = 1\n{BEGIN}\nb = 2\n{END}\nc = 3\n{BEGIN}\nd = 4\ne = 5\n{END}\n{BEGIN}\n{END}\nf = 6",
    "region at the ends": f"{BEGIN}\nx = 1\n{END}",
    "trailing newline": f"a = 1\n{BEGIN}\nx = 1\n{END}\n",
    "indented delimiters": f"with ctx():\n    {BEGIN}\n    x = 1\n    {END}\n    y = 2",
    "delimiters without ###": "a\n# BEGIN HIDDEN TESTS here\nb\nEND HIDDEN TESTS.\nc",
    "stray end": f"a\n{END}\nb",
    "begin and end on one line": f"a\n{BEGIN} {END}\nb\n{END}\nc",
    "windows newlines": f"a\r\n{BEGIN}\r\nb\r\n{END}\r\nc",
    "unterminated": f"a\n{BEGIN}\nb\nc",
    "unterminated after a region": f"a\n{BEGIN}\nb\n{END}\nc\n{BEGIN}\nd",
    "unterminated, begin last": f"a\n{BEGIN}",
    "nested": f"{BEGIN}\na\n{BEGIN}\nb\n{END}\n{END}",
}


@pytest.mark.parametrize("name", SOURCES)
def test_without_hidden_tests_leaves_what_clear_hidden_tests_leaves(name):
    assert ours(SOURCES[name]) == nbgrader_clears(SOURCES[name])


def test_the_cases_cover_both_outcomes():
    outcomes = {name: nbgrader_clears(source) for name, source in SOURCES.items()}
    assert outcomes["unterminated"] is RuntimeError and outcomes["nested"] is RuntimeError
    assert outcomes["several regions"] == "a = 1\nc = 3\nf = 6"


def test_custom_delimiters_as_clear_hidden_tests_settings():
    source = "a\n## HIDE\nb\n## SHOW\nc\n### BEGIN HIDDEN TESTS\nd\n### END HIDDEN TESTS"
    delimiters = {"begin_test_delimeter": "## HIDE", "end_test_delimeter": "## SHOW"}
    assert ours(source, begin="## HIDE", end="## SHOW") == nbgrader_clears(source, **delimiters)


LINES = ["x = 1", "", "    y = f(x)", BEGIN, END, f"  {BEGIN}", f"{END}  # done", "# BEGIN", "END"]


@given(st.lists(st.sampled_from(LINES), max_size=12), st.booleans())
def test_without_hidden_tests_agrees_with_nbgrader_on_any_mix(lines, final_newline):
    source = "\n".join(lines) + ("\n" if final_newline else "")
    assert ours(source) == nbgrader_clears(source)


def test_delimiters_are_nbgraders_defaults():
    clear = ClearHiddenTests()
    assert (cells.HIDDEN_BEGIN, cells.HIDDEN_END) == (clear.begin_test_delimeter, clear.end_test_delimeter)


def test_hidden_ranges_and_lines():
    source = SOURCES["several regions"]
    assert cells.hidden_ranges(source) == ((2, 4), (6, 9), (10, 11))
    assert cells.hidden_lines(source) == ["b = 2", "d = 4", "e = 5"]


def test_hidden_ranges_and_lines_never_fail():
    assert cells.hidden_ranges(SOURCES["unterminated"]) == ((2, 4),)
    assert cells.hidden_lines(SOURCES["unterminated"]) == ["b", "c"]
    assert cells.hidden_ranges(SOURCES["nested"]) == ((1, 5),)  # a begin inside a region is part of it
    assert cells.hidden_lines(SOURCES["nested"]) == ["a", "b"]
    assert cells.hidden_ranges(SOURCES["stray end"]) == ()
    assert cells.hidden_ranges(SOURCES["no region"]) == () and cells.hidden_lines("") == []


# -- the kinds of cells ---------------------------------------------------------------------------

KINDS = {
    "test": {"grade": True, "solution": False, "locked": True, "points": 2},
    "test, not locked": {"grade": True, "solution": False, "locked": False, "points": 2},
    "answer": {"grade": False, "solution": True, "locked": False},
    "written answer": {"grade": True, "solution": True, "locked": False, "points": 1},
    "read-only": {"grade": False, "solution": False, "locked": True},
    "task": {"task": True, "grade": False, "solution": False, "locked": True, "points": 1},
    "flags missing": {},
}


def _cell(kind, markdown=False):
    cell = new_markdown_cell("text") if markdown else new_code_cell("x = 1")
    cell.metadata["nbgrader"] = {**KINDS[kind], "grade_id": kind.replace(" ", "_")}
    return nbformat.from_dict(cell)


@pytest.mark.parametrize("kind", KINDS)
def test_kinds_follow_nbgrader_utils(kind):
    cell = _cell(kind)
    assert cells.is_graded(cell) == bool(utils.is_grade(cell))
    assert cells.is_answer(cell) == bool(utils.is_solution(cell))
    assert cells.is_task(cell) == bool(utils.is_task(cell))
    assert cells.is_instructor(cell) == bool(utils.is_locked(cell))


@pytest.mark.parametrize("kind", KINDS)
def test_a_plain_dict_reads_as_its_notebook_node(kind):
    node = _cell(kind)
    plain = json.loads(nbformat.writes(new_notebook(cells=[node])))["cells"][0]  # as a notebook file holds it
    assert type(plain) is dict and isinstance(plain["source"], list)
    for helper in (cells.is_graded, cells.is_answer, cells.is_task, cells.is_instructor, cells.is_test,
                   cells.is_manual, cells.grade_id_of, cells.nbgrader_meta, cells.cell_source):
        assert helper(plain) == helper(node), helper.__name__


def test_test_and_manual_cells():
    assert cells.is_test(_cell("test")) and cells.is_test(_cell("test, not locked"))
    assert not cells.is_test(_cell("test", markdown=True)) and not cells.is_test(_cell("written answer"))
    assert [k for k in KINDS if cells.is_manual(_cell(k))] == ["written answer", "task"]


def test_no_or_null_nbgrader_metadata_is_none():
    for cell in (new_code_cell("x"), {"cell_type": "code", "source": ["x"], "metadata": {"nbgrader": None}}):
        assert cells.nbgrader_meta(cell) == {} and cells.grade_id_of(cell) is None
        assert not any(f(cell) for f in (cells.is_graded, cells.is_answer, cells.is_instructor, cells.is_test))
    assert cells.cell_source({"source": ["a\n", "b"]}) == "a\nb"


def test_grade_id_only_of_nbgrader_cells():
    cell = _cell("flags missing")
    assert cells.nbgrader_meta(cell)["grade_id"] == "flags_missing" and cells.grade_id_of(cell) is None
    assert cells.grade_id_of(_cell("read-only")) == "read-only"
