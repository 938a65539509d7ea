"""Hypothesis profiles for the test suite.

* ``ci`` (the default): 100 examples per property, no deadline (shared CI
  machines are slow and uneven); the whole suite stays within a few minutes.
* ``deep``: 20,000 examples per property, for the randomized differential suite::

      PYTHONPATH=src python -m pytest tests/test_differential.py --hypothesis-profile=deep -p no:warnings

  A property that sets its own ``max_examples`` keeps it under either profile.

``HYPOTHESIS_PROFILE=deep`` in the environment selects a profile too.

Every explanation the suite makes (in tests, doctests and the executed docs) is
checked at the end of the session against what it prints (see
``explanation_oracle.py``): a note may call a matrix transposed only where the
printed form shows the ``ᵀ``, and no step may print the same before and after.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

from eincalc.explain.derivation import Derivation
from explanation_oracle import false_notes

settings.register_profile("ci", max_examples=100, deadline=None, print_blob=True)
settings.register_profile(
    "deep",
    max_examples=20_000,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture(autouse=True, scope="session")
def every_explanation_says_what_it_prints() -> Iterator[list[Derivation]]:
    """Collect every :class:`~eincalc.explain.derivation.Derivation` made during the session, then check them all."""
    made: list[Derivation] = []
    original = Derivation.__init__

    def record(self: Derivation, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        made.append(self)

    Derivation.__init__ = record  # type: ignore[method-assign]
    try:
        yield made
    finally:
        Derivation.__init__ = original  # type: ignore[method-assign]
    problems = [problem for derivation in made for problem in false_notes(derivation)]
    assert not problems, f"{len(problems)} notes or steps say what their printed form does not show:\n" + "\n".join(
        problems[:20]
    )
