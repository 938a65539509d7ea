"""The powers that are not the element-wise power function of a number exponent: an expression as exponent
(``x ** t``, built as the ``tensor power`` node kind of `eincalc.ops.powers`) and a constant raised to a constant.

>>> from eincalc.frontend.build import tensors
>>> import eincalc
>>> x, t = tensors("x[n] t[n]")
>>> str(tensor_power(x, t)), constant_power(2.0, 3.0)
('x[i]**t[i]', 8.0)
"""

from __future__ import annotations

from ..core.errors import DomainError, UnsupportedError
from ..core.expr import Expr
from ..core.nodes import Const, Contract
from .node_builders import NODE_BUILDERS
from .styles import broadcast, matrix_style, tidy


def tensor_power(base: Expr, exponent: Expr) -> Expr:
    """``base ** exponent`` for an expression ``exponent``: ``exp(exponent log base)``, defined for a positive base."""
    power_node = NODE_BUILDERS.find("tensor power")  # the node kind lives with its rules, in ops.powers
    if isinstance(base, Const) and base.value <= 0:
        raise DomainError(
            f"({base.value:g}) ** {exponent}: a power with an expression as exponent needs "
            "a positive base (it is exp(t log x)); for a whole exponent write a number, like x ** 3"
        )
    if not matrix_style(base, exponent):
        return power_node(base, exponent)
    left, right, out = broadcast(base, exponent, "raise")
    result = power_node(left, right, positional=True)
    return tidy(result if result.free == out else Contract((result,), out))


def constant_power(base: float, exponent: float) -> float:
    """``base ** exponent`` for constants, or `UnsupportedError` when it is not a finite real."""
    try:
        value = base**exponent
    except (ZeroDivisionError, OverflowError):
        value = float("nan")
    if not isinstance(value, float) or value != value or value in (float("inf"), float("-inf")):
        raise UnsupportedError(f"the constant {base} ** {exponent} is not a finite real number")
    return value
