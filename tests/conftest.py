"""Shared test configuration: Hypothesis profiles, and the ``slow`` marker.

Hypothesis profiles, chosen by HYPOTHESIS_PROFILE:

- ``default``: what `make test` runs (enough examples to find real bugs, bounded time);
- ``thorough``: many more examples, for a deliberate search (HYPOTHESIS_PROFILE=thorough).

``slow`` (registered in pyproject.toml) is given here by module: the tests that run nbgrader,
the sandbox, a Jupyter server, a JupyterHub or a browser, build the site or a fresh venv, and
every nbval notebook cell. `make test-fast` deselects them (``-m "not slow"``); `make test`, what
CI runs, runs everything. Measured one file at a time (``--durations``) on the project's 2-core
machine: test_lab 42 s, test_release 32 s, test_runtime_dependencies 67 s, test_exports 13 s,
test_grading_verdicts 48 s, test_grading_corrupt 9 s, test_feedback_total (the one unit-test
module among them) 26 s; test_sandbox takes 8 s but needs bubblewrap, which `make test-fast` does
not install, as every grading test does; test_hub, test_browser, test_site and test_report start
servers and Chromium. Every module not listed takes under 10 s, most under 3.
"""

import os
import re
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile("default", max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("thorough", max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

# nbgrader runs `alembic` (and the notebooks run `python`) by name: make sure the
# interpreter running the tests comes first on PATH even when its venv is not activated.
_bin = os.path.dirname(sys.executable)
if _bin not in os.environ.get("PATH", "").split(os.pathsep):
    os.environ["PATH"] = _bin + os.pathsep + os.environ.get("PATH", "")


#: The test modules marked ``slow``, by name (test_grading* is every grading test).
SLOW_MODULES = re.compile(
    r"test_(grading\w*|hub|browser|site|lab|release|sandbox|exports|report|runtime_dependencies|feedback_total)")


def pytest_collection_modifyitems(config, items):
    """Mark as ``slow`` the items of SLOW_MODULES and every notebook cell nbval collects."""
    for item in items:
        path = Path(str(item.path))
        if path.suffix == ".ipynb" or SLOW_MODULES.fullmatch(path.stem):
            item.add_marker(pytest.mark.slow)
