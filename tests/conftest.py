"""Shared test configuration: Hypothesis profiles, chosen by HYPOTHESIS_PROFILE.

- ``default``: what `make test` runs (enough examples to find real bugs, bounded time);
- ``thorough``: many more examples, for a deliberate search (HYPOTHESIS_PROFILE=thorough).
"""

import os

from hypothesis import HealthCheck, settings

settings.register_profile("default", max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("thorough", max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))
