"""Numerically stable array kernels for the structured functions, in any array namespace.

Softmax and its relatives shift by the maximum along the axis before
exponentiating, so no entry overflows and ``log_softmax`` never takes ``log(0)``.
The generated NumPy code (matrix views, :mod:`eincalc.codegen`) calls these by
name.

>>> import numpy as np
>>> softmax(np.array([1000.0, 1000.0]), axis=0)
array([0.5, 0.5])
>>> float(logsumexp(np.array([-1000.0, -1000.0]), axis=0))
-999.3068528194401
"""

from __future__ import annotations

from typing import Any

from .functions import array_namespace


def _shifted(x: Any, axis: int) -> tuple[Any, Any]:
    xp = array_namespace(x)
    peak = xp.max(x, axis=axis, keepdims=True)
    return xp, x - peak


def logsumexp(x: Any, axis: int) -> Any:
    """``log Σ exp(x)`` along ``axis`` (the axis is removed)."""
    xp = array_namespace(x)
    peak = xp.max(x, axis=axis, keepdims=True)
    total = xp.log(xp.sum(xp.exp(x - peak), axis=axis, keepdims=True)) + peak
    return xp.squeeze(total, axis=axis)


def log_softmax(x: Any, axis: int) -> Any:
    """``x − logsumexp(x)`` along ``axis``."""
    xp, shifted = _shifted(x, axis)
    return shifted - xp.log(xp.sum(xp.exp(shifted), axis=axis, keepdims=True))


def softmax(x: Any, axis: int) -> Any:
    """``exp(x) / Σ exp(x)`` along ``axis``."""
    xp, shifted = _shifted(x, axis)
    e = xp.exp(shifted)
    return e / xp.sum(e, axis=axis, keepdims=True)
