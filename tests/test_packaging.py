"""The course's packaging and commands: what an instructor relies on before opening a notebook.

- environment.yml (conda-forge, Binder) lists the same packages as pyproject.toml;
- the Makefile's lab, test and bench targets exist and run the project's venv tools;
- CI (.ci/run) runs `make test` and cannot hide a failure;
- every contract function of COURSE.md is importable from em_lib with its exact signature.
"""

import inspect
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

import em_lib

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
    ("bench", "python benchmarks/bench_em.py"),
])
def test_make_targets_exist_and_run_their_command(target, command):
    """`make -n` prints what the target would run, without running it."""
    result = _make("-n", target)
    assert result.returncode == 0, result.stderr
    assert command in result.stdout


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
# The exercise contract (COURSE.md, "The exercise contract"), transcribed by hand
# ---------------------------------------------------------------------------

CONTRACT = {
    "log_joint": ["x", "weights", "means", "variances"],
    "log_likelihood": ["x", "weights", "means", "variances"],
    "jensen_gap": ["values", "q"],
    "elbo": ["x", "q", "weights", "means", "variances"],
    "posterior": ["x", "weights", "means", "variances"],
    "e_step": ["x", "weights", "means", "variances"],
    "m_step": ["x", "resp"],
    "em_iteration": ["x", "weights", "means", "variances"],
    "fit_em": ["x", "weights", "means", "variances", "n_iter"],
    "two_coins_em": ["heads", "n_tosses", "theta_a", "theta_b", "n_iter"],
    "three_coins_em": ["y", "pi", "p", "q", "n_iter"],
    "poisson_e_step": ["counts", "weights", "rates"],
    "poisson_m_step": ["counts", "frequencies", "resp"],
    "gaussian_missing_e_step": ["X", "mean", "cov"],
    "gaussian_missing_m_step": ["expected_x", "expected_xx"],
}


@pytest.mark.parametrize("name, parameters", CONTRACT.items(), ids=list(CONTRACT))
def test_contract_function_has_the_courses_signature(name, parameters):
    fn = getattr(em_lib, name)
    signature = inspect.signature(fn)
    assert list(signature.parameters) == parameters
    for p in signature.parameters.values():
        assert p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD, f"{name}({p.name}) must be passable by name"
        assert p.default is inspect.Parameter.empty, f"{name}({p.name}) has a default the contract does not give"


def test_em_lib_exports_exactly_the_contract():
    assert sorted(em_lib.__all__) == sorted(CONTRACT)
