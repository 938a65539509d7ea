"""NumPy definitions of the element-wise functions, sharing no code with eincalc's own function table.

`reference_value()` in `eincalc.strategies` applies them to arrays, and the expression builder of
`problems()` maps value intervals through them.  Each takes the argument and the parameter
(``pow``'s exponent, else ``None``).

>>> float(REFERENCE_FUNCTIONS["pow"](3.0, 2.0)), float(REFERENCE_FUNCTIONS["relu"](-1.0, None))
(9.0, 0.0)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

REFERENCE_FUNCTIONS: dict[str, Callable[[Any, float | None], Any]] = {
    "sigmoid": lambda x, k: 1.0 / (1.0 + np.exp(-x)),
    "tanh": lambda x, k: np.tanh(x),
    "exp": lambda x, k: np.exp(x),
    "log": lambda x, k: np.log(x),
    "sqrt": lambda x, k: np.sqrt(x),
    "softplus": lambda x, k: np.logaddexp(0.0, x),
    "sin": lambda x, k: np.sin(x),
    "cos": lambda x, k: np.cos(x),
    "pow": lambda x, k: np.power(x, 1.0 if k is None else k),
    "relu": lambda x, k: np.where(x > 0, x, 0.0),
    "step": lambda x, k: np.where(x > 0, 1.0, 0.0),
    "abs": lambda x, k: np.abs(x),
    "sign": lambda x, k: np.sign(x),
}
