"""Hypothesis profiles for the test suite.

* ``ci`` (the default): 100 examples per property, no deadline (shared CI
  machines are slow and uneven); the whole suite stays within a few minutes.
* ``deep``: 20,000 examples per property, for the randomized differential suite::

      PYTHONPATH=src python -m pytest tests/test_differential.py --hypothesis-profile=deep -p no:warnings

  A property that sets its own ``max_examples`` keeps it under either profile.

``HYPOTHESIS_PROFILE=deep`` in the environment selects a profile too.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

settings.register_profile("ci", max_examples=100, deadline=None, print_blob=True)
settings.register_profile(
    "deep",
    max_examples=20_000,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
