"""Shared test configuration: Hypothesis profiles, chosen by HYPOTHESIS_PROFILE.

- ``default``: what `make test` runs (enough examples to find real bugs, bounded time);
- ``thorough``: many more examples, for a deliberate search (HYPOTHESIS_PROFILE=thorough).
"""

import os
import sys

from hypothesis import HealthCheck, settings

settings.register_profile("default", max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("thorough", max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

# nbgrader runs `alembic` (and the notebooks run `python`) by name: make sure the
# interpreter running the tests comes first on PATH even when its venv is not activated.
_bin = os.path.dirname(sys.executable)
if _bin not in os.environ.get("PATH", "").split(os.pathsep):
    os.environ["PATH"] = _bin + os.pathsep + os.environ.get("PATH", "")
