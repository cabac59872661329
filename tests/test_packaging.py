"""The course's packaging and commands: what an instructor relies on before opening a notebook.

- environment.yml (conda-forge, Binder) lists the same packages as pyproject.toml;
- the Makefile's lab, test and bench targets exist and run the project's venv tools;
- CI (.ci/run) runs `make test` and cannot hide a failure;
- the exercise contract (em_lib/contract.py) holds: every exercise is importable from em_lib with
  its exact signature, the answer cells of solutions/ define it so, and the README lists it;
- no tracked file points at a document outside the repository.
"""

import ast
import importlib
import inspect
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
import yaml

import em_lib
from em_lib import contract

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent

#: Packages that only make sense in a conda environment file.
CONDA_ONLY = {"python", "pip"}


def _name(requirement):
    """The distribution name of a requirement, lower-cased: 'tomli>=2; python_version < "3.11"' -> 'tomli'."""
    match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", requirement)
    assert match, f"cannot read a package name from {requirement!r}"
    return re.sub(r"[-_.]+", "-", match.group(1)).lower()


def _pyproject():
    with open(ROOT / "pyproject.toml", "rb") as fh:
        return tomllib.load(fh)


def _conda_names():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    names = set()
    for entry in env["dependencies"]:
        if isinstance(entry, dict):  # a nested `- pip: [...]` list
            names |= {_name(r) for r in entry.get("pip", [])}
        else:
            names.add(_name(entry))
    return env, names


# ---------------------------------------------------------------------------
# environment.yml and pyproject.toml
# ---------------------------------------------------------------------------

def test_name_reading_ignores_pins_and_markers():
    assert _name("tomli>=2; python_version < '3.11'") == "tomli"
    assert _name("scikit_learn >= 1.4") == "scikit-learn"
    assert _name("PyYAML") == "pyyaml"


def test_environment_yml_uses_conda_forge():
    env, _ = _conda_names()
    assert "conda-forge" in env["channels"]


def test_environment_yml_lists_the_same_packages_as_pyproject():
    project = _pyproject()["project"]
    pip_names = {_name(r) for r in project["dependencies"]} | {
        _name(r) for r in project["optional-dependencies"]["dev"]
    }
    _, conda_names = _conda_names()
    conda_names -= CONDA_ONLY
    assert conda_names - pip_names == set(), "in environment.yml but not in pyproject.toml"
    assert pip_names - conda_names == set(), "in pyproject.toml but not in environment.yml"


def test_environment_yml_asks_for_the_python_pyproject_requires():
    env, _ = _conda_names()
    required = _pyproject()["project"]["requires-python"]
    assert f"python{required}" in [str(d).replace(" ", "") for d in env["dependencies"]]


# ---------------------------------------------------------------------------
# The Makefile
# ---------------------------------------------------------------------------

needs_make = pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")


def _make(*args, extra_makefile=None):
    cmd = ["make", "--no-print-directory", "-C", str(ROOT), "-f", "Makefile"]
    if extra_makefile is not None:
        cmd += ["-f", str(extra_makefile)]
    return subprocess.run(cmd + list(args), capture_output=True, text=True, timeout=60)


@needs_make
@pytest.mark.parametrize("target, command", [
    ("lab", "jupyter lab"),
    ("test", "python -m pytest"),
    ("test-fast", 'python -m pytest -m "not slow" -p no:nbval'),
    ("bench", "python benchmarks/bench_em.py"),
])
def test_make_targets_exist_and_run_their_command(target, command):
    """`make -n` prints what the target would run, without running it."""
    result = _make("-n", target)
    assert result.returncode == 0, result.stderr
    assert command in result.stdout


@needs_make
def test_make_test_runs_everything_and_test_fast_leaves_out_only_the_slow():
    """CI's `make test` deselects nothing; `make test-fast` deselects by the marker pyproject registers."""
    test = _make("-n", "test").stdout
    assert re.search(r"^python -m pytest\s*$", test, re.M), test
    assert any(m.startswith("slow:") for m in _pyproject()["tool"]["pytest"]["ini_options"]["markers"])


@needs_make
def test_bench_runs_a_script_that_exists():
    assert (ROOT / "benchmarks" / "bench_em.py").is_file()


@needs_make
def test_make_recipes_find_python_and_jupyter_in_the_venv_first(tmp_path):
    """Every recipe runs with .venv/bin first on PATH, so `python`, `jupyter` and nbgrader's
    `alembic` are the project's, not whatever the shell had."""
    probe = tmp_path / "probe.mk"
    probe.write_text("_probe_path:\n\t@echo \"$$PATH\"\n")
    result = _make("-s", "_probe_path", extra_makefile=probe)
    assert result.returncode == 0, result.stderr
    first = result.stdout.strip().split(os.pathsep)[0]
    assert Path(first) == ROOT / ".venv" / "bin"


# ---------------------------------------------------------------------------
# CI
# ---------------------------------------------------------------------------

CI = ROOT / ".ci" / "run"


def _commands(script):
    """The script's lines without comments and blank lines."""
    lines = (line.split("#", 1)[0].strip() for line in script.splitlines() if not line.lstrip().startswith("#!"))
    return [line for line in lines if line]


def test_ci_runs_make_test_and_hides_no_failure():
    commands = _commands(CI.read_text())
    assert "make test" in commands
    joined = "\n".join(commands)
    for hiding in (r"\|\|\s*true", r"\|\|\s*:", r"\|\|\s*exit\s+0", r"set\s+\+e", r";\s*true\b", r"\|\|\s*echo"):
        assert not re.search(hiding, joined), f".ci/run hides failures with {hiding!r}"
    assert re.search(r"set\s+-\w*e", joined), ".ci/run should stop at the first failing command (set -e)"


@pytest.mark.skipif(sys.platform == "win32", reason="a bash script")
@pytest.mark.parametrize("status", [0, 3])
def test_ci_exits_with_the_status_of_make_test(tmp_path, status):
    """Run .ci/run with a stand-in `make` first on PATH: its exit status must come through."""
    fake = tmp_path / "make"
    fake.write_text(f'#!/usr/bin/env bash\necho "$@" > "{tmp_path}/args"\nexit {status}\n')
    fake.chmod(0o755)
    env = dict(os.environ, PATH=f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    result = subprocess.run(["bash", str(CI)], env=env, capture_output=True, text=True, timeout=60)
    assert (tmp_path / "args").read_text().split() == ["test"]
    assert result.returncode == status


def test_ci_script_is_executable():
    assert os.access(CI, os.X_OK)


# ---------------------------------------------------------------------------
# The exercise contract (em_lib/contract.py): em_lib, the answer cells and the README
# ---------------------------------------------------------------------------

EXERCISES = list(contract.EXERCISES.values()) + list(contract.EXTRAS)


@pytest.mark.parametrize("exercise", EXERCISES, ids=[e.name for e in EXERCISES])
def test_reference_has_the_contracts_signature(exercise):
    """The reference in its module has the contract's parameters, and em_lib exports that very function."""
    fn = getattr(importlib.import_module(exercise.module), exercise.name)
    signature = inspect.signature(fn)
    assert tuple(signature.parameters) == exercise.parameters
    for p in signature.parameters.values():
        assert p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD, f"{exercise.name}({p.name}) must be passable by name"
        assert p.default is inspect.Parameter.empty, f"{exercise.name}({p.name}) has a default the contract does not give"
    assert getattr(em_lib, exercise.name) is fn, f"em_lib.{exercise.name} is not {exercise.module}.{exercise.name}"


def test_em_lib_exports_exactly_the_contract():
    """`__all__` is the exercises in the course's order, then the extras (e_step), and each name imports."""
    assert em_lib.__all__ == contract.exported()
    from em_lib import kmeans_step, n_gmm_params  # notebook 05's exercises

    assert callable(kmeans_step) and callable(n_gmm_params)


def test_exercise_names_are_unique_and_answers_may_call_only_em_libs_exports():
    names = [e.name for a in contract.ASSIGNMENTS.values() for e in a.functions]
    assert len(names) == len(set(names)) == len(contract.EXERCISES)
    for a in contract.ASSIGNMENTS.values():
        assert set(a.may_call) <= set(em_lib.__all__), a.name
        assert set(a.may_call).isdisjoint(a.exercises), f"{a.name}'s answers may call their own reference"
    assert contract.may_call("m_step") == contract.ASSIGNMENTS["04_e_and_m_steps"].may_call
    assert contract.may_call("no_such_exercise") == ()


def _answer_defs(assignment):
    """[(name, parameters)] of the functions the answer cells of solutions/<a>/<a>.ipynb define, in order."""
    nb = nbformat.read(ROOT / "solutions" / assignment / f"{assignment}.ipynb", as_version=4)
    defs = []
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type != "code" or not meta.get("solution"):
            continue
        for node in ast.parse(cell.source).body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                args = node.args
                assert not (args.posonlyargs or args.vararg or args.kwonlyargs or args.kwarg or args.defaults), (
                    f"{assignment}: def {node.name} must take plain parameters without defaults, as the contract")
                defs.append((node.name, tuple(a.arg for a in args.args)))
    return defs


@pytest.mark.parametrize("assignment", list(contract.ASSIGNMENTS))
def test_answer_cells_define_the_contracts_functions(assignment):
    """The learner's answer cells hold the contract's functions, in its order, with its parameters."""
    expected = [(e.name, e.parameters) for e in contract.ASSIGNMENTS[assignment].functions]
    assert _answer_defs(assignment) == expected


def test_readme_lists_the_contracts_exercises():
    """README's table "The course": per notebook, the functions "you write" are the contract's."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| \d\d \| \[[^]]*\]\(notebooks/(\w+)/\1\.ipynb\) \|.*\| ([^|]*) \|$", readme, re.M)
    listed = [(a, tuple(re.findall(r"`(\w+)`", you_write))) for a, you_write in rows]
    assert listed == [(a.name, a.exercises) for a in contract.ASSIGNMENTS.values()]


# ---------------------------------------------------------------------------
# The repository stands alone: no tracked file points at a document outside it
# ---------------------------------------------------------------------------

#: A ../ path that names something (not "../.." alone), and the old course brief's name.
OUTSIDE = re.compile(r"(?<![\w.])((?:\.\./)+[\w-][^\s'\"`)\]>|,;]*)|\b(COURSE" r"\.md)\b")


def _tracked_files():
    try:
        out = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout")
    return [name for name in out.decode().split("\0") if name]


def _outside_references(text):
    """The references in ``text`` to documents outside the repository."""
    refs = []
    for match in OUTSIDE.finditer(text):
        ref = match.group(0).rstrip(".:")
        if match.group(1):
            inside = ROOT / ref.split("../")[-1]
            if inside.exists() and inside.resolve().is_relative_to(ROOT):
                continue
        refs.append(ref)
    return refs


def test_outside_references_are_found():
    text = ("see ../" "shared/seeds and COURSE" ".md; `ln -s ../../docs/notation.md`, [a](../hub/jupyterhub_config.py),\n"
            "'../..' walks up; .../submitted/s001/ is elided; ../../" "NOTES.md")
    assert _outside_references(text) == ["../" "shared/seeds", "COURSE" ".md", "../../" "NOTES.md"]


def test_no_tracked_file_refers_to_a_document_outside_the_repository():
    """A relative path starting ../ must name a file of the repository (from some folder of it, like
    the links `solutions/<a>/notation.md -> ../../docs/notation.md`); symlinks stay inside it."""
    found = []
    for name in _tracked_files():
        path = ROOT / name
        if path.is_symlink():
            if not path.resolve().is_relative_to(ROOT) or not path.exists():
                found.append((name, os.readlink(path)))
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, FileNotFoundError, IsADirectoryError):
            continue  # binary, or deleted in the work tree
        found += [(name, ref) for ref in _outside_references(text)]
    assert found == []
