"""The graded test cells run in the grader's process, from the gradebook, beside a copy of the setup cell.

So a test cell may read only the modules the setup cell imports, what it binds itself,
Python's builtins and the functions the learner writes. A test that read a variable of a
demonstration cell would fail when graded (that cell never runs there) and, in JupyterLab,
would change its verdict when a learner rebinds the variable in a scratch cell.
"""

import ast
import builtins
import json
import symtable

import pytest

from course import SOLUTIONS, assignments, notebook_path
from submissions import cell_source, nbgrader_meta

SETUP_TAG = "setup"


def _notebook(assignment):
    return json.loads(notebook_path(SOLUTIONS, assignment).read_text())


def _bound(source):
    """Names a cell binds at its top level (assignments, imports, definitions, loop targets)."""
    table = symtable.symtable(source, "<cell>", "exec")
    return {s.get_name() for s in table.get_symbols() if s.is_assigned() or s.is_imported()}


def _read_globals(source):
    """Global names a cell reads, in its top level and in any nested scope (lambdas, comprehensions)."""
    names, tables = set(), [symtable.symtable(source, "<cell>", "exec")]
    while tables:
        table = tables.pop()
        for symbol in table.get_symbols():
            if symbol.is_referenced() and (table.get_type() == "module" or symbol.is_global()):
                names.add(symbol.get_name())
        tables.extend(table.get_children())
    return names


def _imported(source):
    table = symtable.symtable(source, "<cell>", "exec")
    return {s.get_name() for s in table.get_symbols() if s.is_imported()}


def _exercises(notebook):
    names = set()
    for cell in notebook["cells"]:
        if cell["cell_type"] == "code" and nbgrader_meta(cell).get("solution"):
            tree = ast.parse(cell_source(cell))
            names.update(n.name for n in tree.body if isinstance(n, ast.FunctionDef))
    return names


@pytest.mark.parametrize("assignment", assignments())
def test_one_setup_cell_of_imports_the_tests_build_on(assignment):
    notebook = _notebook(assignment)
    setups = [c for c in notebook["cells"] if SETUP_TAG in c.get("metadata", {}).get("tags", [])]
    assert len(setups) == 1, f"{assignment}: {len(setups)} cells tagged {SETUP_TAG!r}, expected one"
    assert setups[0]["cell_type"] == "code" and not nbgrader_meta(setups[0]), "the setup cell is an ordinary code cell"


@pytest.mark.parametrize("assignment", assignments())
def test_test_cells_read_only_the_setup_their_own_names_and_the_learners_functions(assignment):
    notebook = _notebook(assignment)
    setup = next(c for c in notebook["cells"] if SETUP_TAG in c.get("metadata", {}).get("tags", []))
    allowed = _imported(cell_source(setup)) | _exercises(notebook) | set(dir(builtins))
    problems = []
    for cell in notebook["cells"]:
        meta = nbgrader_meta(cell)
        if cell["cell_type"] == "code" and meta.get("grade") and not meta.get("solution"):
            source = cell_source(cell)
            stray = _read_globals(source) - _bound(source) - allowed
            if stray:
                problems.append(f"{meta['grade_id']} reads {sorted(stray)}")
    assert not problems, f"{assignment}: test cells read names no test can rely on:\n" + "\n".join(problems)


@pytest.mark.parametrize("assignment", assignments())
def test_every_graded_test_cell_answers_in_one_style(assignment):
    """Check lines that start with ✓ on stdout, and nothing else: no quoted value (nbgrader would log that
    it cannot read it as a partial score), no bare None, no other print."""
    notebook = _notebook(assignment)
    for cell in notebook["cells"]:
        meta = nbgrader_meta(cell)
        if cell["cell_type"] == "code" and meta.get("grade") and not meta.get("solution"):
            outputs = cell.get("outputs", [])
            assert outputs, f"{meta['grade_id']} was not executed"
            assert all(o["output_type"] == "stream" and o["name"] == "stdout" for o in outputs), meta["grade_id"]
            lines = "".join("".join(o["text"]) for o in outputs).splitlines()
            assert lines and all(line.startswith("✓ ") for line in lines), (meta["grade_id"], lines)
