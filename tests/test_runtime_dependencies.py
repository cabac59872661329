"""Every notebook, source and release, runs with the runtime dependencies alone.

A learner who runs `pip install .` (or a JupyterHub image built from pyproject's
dependencies) has no dev extras: no scikit-learn, pytest or Hypothesis. This test builds
that environment for real, a fresh venv with `pip install <the course>` and nothing else,
and executes every notebook in it, each from a copy of its own folder so that em_lib comes
from the installed package, not from the checkout.
"""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

from course import RELEASE, ROOT, SOLUTIONS, assignments, notebook_path

#: What the venv's python runs: each notebook given executes in its own folder (errors kept,
#: so a release runs on past its unanswered exercises); prints, per notebook, every error as
#: [cell index, exception name, first line of its message].
EXECUTE = r"""
import json, sys
import nbformat
from nbclient import NotebookClient
report = {}
for path in sys.argv[1:]:
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, kernel_name="python3", timeout=300, allow_errors=True,
                   resources={"metadata": {"path": path.rsplit("/", 1)[0]}}).execute()
    report[path] = [[i, o["ename"], o["evalue"].splitlines()[0] if o["evalue"] else ""]
                    for i, cell in enumerate(nb.cells) if cell.cell_type == "code"
                    for o in cell.get("outputs", []) if o["output_type"] == "error"]
print(json.dumps(report))
"""

#: Errors a release may raise: its exercises are unanswered (NotImplementedError, raised again
#: by any later cell that calls them) and its self-checks and graded tests say so.
UNANSWERED = {"NotImplementedError", "SelfCheckFailed", "AssertionError"}


def _dev_only_modules():
    """Import names of the dev extras that the runtime dependencies do not bring."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    names = {"scikit-learn": "sklearn", "pytest": "pytest", "hypothesis": "hypothesis", "nbval": "nbval"}
    dev = {r.split(">")[0].split(";")[0].strip() for r in project["optional-dependencies"]["dev"]}
    return [module for dist, module in names.items() if dist in dev]


@pytest.fixture(scope="module")
def runtime_python(tmp_path_factory):
    """The python of a fresh venv with the course installed from its pyproject, no extras."""
    venv = tmp_path_factory.mktemp("runtime") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    install = subprocess.run([str(python), "-m", "pip", "install", "--quiet", str(ROOT)],
                             capture_output=True, text=True, timeout=1200)
    assert install.returncode == 0, install.stdout + install.stderr
    return python


def _clean_env(python):
    env = {k: v for k, v in os.environ.items()
           if k not in ("VIRTUAL_ENV", "PYTHONPATH", "JUPYTER_PATH", "JUPYTER_DATA_DIR", "PYTHONHOME")}
    env["PATH"] = str(python.parent) + os.pathsep + "/usr/bin:/bin"
    env["MPLBACKEND"] = "agg"
    return env


def test_the_runtime_environment_has_no_dev_extras(runtime_python):
    """Else the test below proves nothing: scikit-learn, pytest and Hypothesis are not importable."""
    for module in _dev_only_modules():
        found = subprocess.run([str(runtime_python), "-c", f"import {module}"], capture_output=True,
                               env=_clean_env(runtime_python), cwd="/")
        assert found.returncode != 0, f"{module} is importable in the runtime-only environment"


def _execute(python, folder, which, tmp_path):
    """Copy each assignment's folder under ``folder`` and execute its notebook; the errors by assignment."""
    paths = []
    for assignment in assignments():
        copy = tmp_path / which / assignment
        shutil.copytree(folder / assignment, copy)
        paths.append(str(notebook_path(tmp_path / which, assignment)))
    run = subprocess.run([str(python), "-c", EXECUTE, *paths], capture_output=True, text=True,
                         env=_clean_env(python), cwd=str(tmp_path), timeout=1800)
    assert run.returncode == 0, run.stderr[-3000:]
    report = json.loads(run.stdout.strip().splitlines()[-1])
    return {Path(p).parent.name: errors for p, errors in report.items()}


def test_every_solution_notebook_runs_without_an_error(runtime_python, tmp_path):
    errors = _execute(runtime_python, SOLUTIONS, "solutions", tmp_path)
    assert set(errors) == set(assignments())
    failed = {a: e for a, e in errors.items() if e}
    assert not failed, f"errors with the runtime dependencies alone: {failed}"
    em_lib = subprocess.run([str(runtime_python), "-c", "import em_lib; print(em_lib.__file__)"],
                            capture_output=True, text=True, env=_clean_env(runtime_python), cwd="/")
    assert str(ROOT) not in em_lib.stdout, "the notebooks ran on the checkout's em_lib, not the installed one"


def test_every_release_notebook_fails_only_where_an_exercise_is_unanswered(runtime_python, tmp_path):
    errors = _execute(runtime_python, RELEASE, "release", tmp_path)
    assert set(errors) == set(assignments())
    other = {a: [e for e in errs if e[1] not in UNANSWERED] for a, errs in errors.items()}
    other = {a: e for a, e in other.items() if e}
    assert not other, f"release notebooks fail for another reason than an unanswered exercise: {other}"
    assert all(errors.values()), f"a release whose exercises raise nothing, as if answered? {errors}"
