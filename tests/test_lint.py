r"""ruff on the whole course, notebooks included, with the settings in pyproject.toml.

The same check runs before a commit (.pre-commit-config.yaml); here it is part of
`make test`, so a name used but never defined, or imported and never used, fails CI,
and so does a docstring with a backslash that is not raw (pydocstyle's D301): in a
docstring that is not raw, Python reads ``\frac`` as a form feed and "rac".
"""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _ruff(*args):
    return subprocess.run([sys.executable, "-m", "ruff", *args], cwd=ROOT, capture_output=True, text=True)


def test_ruff_finds_nothing():
    result = _ruff("check", "--output-format", "concise", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_reads_every_solution_notebook():
    """ruff lints .ipynb files itself: the sources in solutions/ (answers, hidden tests) are among its files."""
    result = _ruff("check", "--show-files", ".")
    assert result.returncode == 0, result.stderr
    checked = {Path(line.strip()).resolve() for line in result.stdout.splitlines() if line.strip()}
    notebooks = sorted((ROOT / "solutions").glob("[0-9][0-9]_*/[0-9][0-9]_*.ipynb"))
    assert len(notebooks) >= 7
    assert [nb for nb in notebooks if nb.resolve() not in checked] == []


def test_ruff_catches_a_non_raw_docstring_with_a_backslash(tmp_path):
    """The course's settings flag D301 (and pyflakes) in a notebook cell as in a module."""
    source = 'def density(x):\n    """Return :math:`\\\\frac{1}{2}` of x."""\n    return x / 2\n'
    (tmp_path / "bad.py").write_text(source)
    result = _ruff("check", "--output-format", "concise", "--config", str(ROOT / "pyproject.toml"),
                   str(tmp_path / "bad.py"))
    assert "D301" in result.stdout, result.stdout + result.stderr
