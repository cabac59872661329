"""The student release in notebooks/ is exactly what nbgrader generates from solutions/.

It keeps no answer and no hidden test, it runs without error up to the first
exercise, and each assignment carries the reference pages its notebook links to.
"""

import nbformat
import pytest
from nbclient import NotebookClient
from nbgrader.apps import NbGraderAPI

from course import (
    EXPECTED_ASSIGNMENTS,
    RELEASE,
    ROOT,
    SOLUTIONS,
    assignments,
    copy_course,
    nbgrader_config,
    notebook_path,
    read_notebook,
)

ASSIGNMENTS = assignments()
LEAKS = ("### BEGIN SOLUTION", "### END SOLUTION", "### BEGIN HIDDEN TESTS", "=== BEGIN MARK SCHEME ===")


def test_the_assignments_of_the_course_exist():
    assert tuple(ASSIGNMENTS) == EXPECTED_ASSIGNMENTS
    for a in EXPECTED_ASSIGNMENTS:
        assert notebook_path(SOLUTIONS, a).is_file(), a
        assert notebook_path(RELEASE, a).is_file(), a


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory):
    """notebooks/ as nbgrader generates it now, in a private copy of the course."""
    course = copy_course(tmp_path_factory.mktemp("course"))
    api = NbGraderAPI(config=nbgrader_config(course))
    for a in ASSIGNMENTS:
        result = api.generate_assignment(a, force=True)
        assert result["success"], result.get("error") or result.get("log")
    return course / "notebooks"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_committed_release_equals_the_generated_one(regenerated, assignment):
    generated = sorted(p.relative_to(regenerated / assignment) for p in (regenerated / assignment).rglob("*") if p.is_file())
    committed = sorted(p.relative_to(RELEASE / assignment) for p in (RELEASE / assignment).rglob("*") if p.is_file())
    assert committed == generated, "notebooks/ holds other files than nbgrader generates: run `make release`"
    for rel in generated:
        if rel.suffix == ".ipynb":
            same = read_notebook(RELEASE / assignment / rel) == read_notebook(regenerated / assignment / rel)
        else:
            same = (RELEASE / assignment / rel).read_bytes() == (regenerated / assignment / rel).read_bytes()
        assert same, f"notebooks/{assignment}/{rel} is stale or hand-edited: run `make release` and commit"


#: The reference pages every assignment ships (solutions/<a>/ links them from docs/, and nbgrader
#: copies the files into the release), so a student who gets only the release has them.
REFERENCE_PAGES = ("notation.md", "glossary.md")


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_release_ships_the_reference_pages_its_notebook_links_to(assignment):
    for page in REFERENCE_PAGES:
        shipped = RELEASE / assignment / page
        assert shipped.is_file() and not shipped.is_symlink(), f"notebooks/{assignment}/{page} is missing"
        assert shipped.read_bytes() == (ROOT / "docs" / page).read_bytes(), f"notebooks/{assignment}/{page} is stale"
        first_cell = "".join(read_notebook(notebook_path(RELEASE, assignment))["cells"][0]["source"])
        assert f"]({page})" in first_cell, f"{assignment}'s first cell does not link to {page}"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_release_has_no_solution_and_no_hidden_test(assignment):
    for cell in read_notebook(notebook_path(RELEASE, assignment))["cells"]:
        source = "".join(cell["source"])
        for marker in LEAKS:
            assert marker not in source, f"{assignment}: '{marker}' in the release"
        assert not cell.get("outputs"), f"{assignment}: the release keeps outputs of a cell"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_release_runs_without_error_up_to_the_first_exercise(assignment, tmp_path):
    nb = nbformat.read(notebook_path(RELEASE, assignment), as_version=4)
    NotebookClient(nb, kernel_name="python3", allow_errors=True, timeout=120,
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    code = [c for c in nb.cells if c.cell_type == "code"]
    first_answer = next(i for i, c in enumerate(code) if c.metadata.get("nbgrader", {}).get("solution"))
    for i, cell in enumerate(code[:first_answer + 1]):
        errors = [o for o in cell.outputs if o.output_type == "error"]
        assert not errors, f"{assignment}: code cell {i} fails before the first exercise: {errors[0].ename}: {errors[0].evalue}"
