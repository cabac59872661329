"""ruff on the whole course, notebooks included, with the settings in pyproject.toml.

The same check runs before a commit (.pre-commit-config.yaml); here it is part of
`make test`, so a name used but never defined, or imported and never used, fails CI.
"""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_ruff_finds_nothing():
    result = subprocess.run([sys.executable, "-m", "ruff", "check", "--output-format", "concise", "."],
                            cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
