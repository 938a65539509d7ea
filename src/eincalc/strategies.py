"""``eincalc.strategies``: the public name of `eincalc.testing.strategies` (hypothesis strategies)."""

import sys

from .testing import strategies

sys.modules[__name__] = strategies
