"""Where the course's pieces are, and nbgrader set up as the instructor's config sets it up.

Shared by the release, notebook and grading tests.
"""

import json
import os
import re
import shutil
import signal
import subprocess
from pathlib import Path

from traitlets.config.loader import PyFileConfigLoader

from em_lib import contract

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = ROOT / "solutions"
RELEASE = ROOT / "notebooks"

#: The assignments of the exercise contract (em_lib/contract.py), in order.
EXPECTED_ASSIGNMENTS = tuple(contract.ASSIGNMENTS)


def assignments():
    """The assignment folders present under solutions/, in order."""
    return sorted(p.name for p in SOLUTIONS.iterdir() if p.is_dir() and re.fullmatch(r"\d\d_\w+", p.name))


def notebook_path(folder, assignment):
    return folder / assignment / f"{assignment}.ipynb"


def read_notebook(path):
    return json.loads(Path(path).read_text(encoding="utf-8"))


def copy_course(destination):
    """A private copy of the course (sources and config) to run nbgrader in.

    Its config insists on the sandbox: where bubblewrap does not work, grading fails loudly
    instead of falling back to unprotected grading (the course's own config, "auto", would).
    """
    destination = Path(destination)
    shutil.copytree(SOLUTIONS, destination / "solutions", ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    config = (ROOT / "nbgrader_config.py").read_text()
    (destination / "nbgrader_config.py").write_text(
        config + '\n# The tests: grade in the sandbox or not at all.\nc.SandboxedExecute.sandbox = "bubblewrap"\n')
    return destination


def nbgrader_config(course_root):
    """The Config that `nbgrader` would load from ``course_root/nbgrader_config.py``."""
    return PyFileConfigLoader("nbgrader_config.py", path=str(course_root)).load_config()


def stop_server(process):
    """End a server started with ``start_new_session=True``, and everything it started."""
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
