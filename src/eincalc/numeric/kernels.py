"""Numerically stable array kernels for the structured functions, for every array library.

Softmax and its relatives shift by the maximum along the axis before
exponentiating, so no entry overflows and ``log_softmax`` never takes ``log(0)``.
The generated NumPy code (matrix views, `eincalc.codegen`) calls these by
name.  Every array library goes through its Array API namespace
(`eincalc.core.arrays`), so PyTorch gradients keep flowing and no framework is imported here.

>>> import numpy as np
>>> softmax(np.array([1000.0, 1000.0]), axis=0)
array([0.5, 0.5])
>>> float(logsumexp(np.array([-1000.0, -1000.0]), axis=0))
-999.3068528194401
"""

from __future__ import annotations

import math
from typing import Any

from ..core.arrays import array_namespace


def _max(x: Any, axis: int) -> Any:
    """The shift along ``axis``: the maximum, or 0 where that is infinite (``−inf − (−inf)`` is NaN; unshifted, a
    row of −inf has log-sum-exp −inf and a row holding +inf has +inf, as ``np.logaddexp.reduce`` says)."""
    xp = array_namespace(x)
    peak = xp.max(x, axis=axis, keepdims=True)
    return xp.where(xp.isinf(peak), xp.zeros_like(peak), peak)


def _log_sum_exp_shifted(shifted: Any, axis: int) -> Any:
    """``log Σ exp(shifted)`` along ``axis``, keeping the axis."""
    xp = array_namespace(shifted)
    return xp.log(xp.sum(xp.exp(shifted), axis=axis, keepdims=True))


def logsumexp(x: Any, axis: int) -> Any:
    """``log Σ exp(x)`` along ``axis`` (the axis is removed)."""
    peak = _max(x, axis)
    total = _log_sum_exp_shifted(x - peak, axis) + peak
    return array_namespace(x).squeeze(total, axis=axis)


def log_softmax(x: Any, axis: int) -> Any:
    """``x − logsumexp(x)`` along ``axis``."""
    shifted = x - _max(x, axis)
    return shifted - _log_sum_exp_shifted(shifted, axis)


def softmax(x: Any, axis: int) -> Any:
    """``exp(x) / Σ exp(x)`` along ``axis``."""
    shifted = x - _max(x, axis)
    xp = array_namespace(shifted)
    e = xp.exp(shifted)
    return e / xp.sum(e, axis=axis, keepdims=True)


def softmax_into(x: Any, axis: int, out: Any, bound: float = math.inf) -> Any:
    """NumPy's ``softmax(x)`` along ``axis`` written into ``out`` (which may be ``x``): no temporaries of its size,
    and a multiplication by each row's reciprocal sum instead of a division per entry.  Given ``bound ≥ |x|``
    small enough (`eincalc.numeric.bounds.shift_free`), it exponentiates ``x`` unshifted: two passes fewer.

    >>> import numpy as np
    >>> x = np.array([[1000.0, 1000.0], [0.0, np.log(3.0)]])
    >>> softmax_into(x, 1, x)
    array([[0.5 , 0.5 ],
           [0.25, 0.75]])
    >>> softmax_into(np.array([[0.0, np.log(3.0)]]), 1, np.empty((1, 2)), bound=2.0)
    array([[0.25, 0.75]])
    """
    import numpy as np

    from .bounds import shift_free
    from .runtime import along_rows

    width = x.shape[-1] if axis in (-1, x.ndim - 1) else 0  # the sums broadcast along rows of this length
    if math.isfinite(bound) and shift_free(bound, x.dtype, x.shape[axis]):
        np.exp(x, out=out)
    else:
        peak = x.max(axis=axis, keepdims=True)
        along_rows(np.subtract, width)(x, peak, out=out)
        np.exp(out, out=out)
    # pairwise sums (a BLAS matrix-vector product with ones is twice as fast, and 30× less accurate in float32),
    # then one division per row and a multiplication per entry
    scale = np.reciprocal(out.sum(axis=axis, keepdims=True))
    return along_rows(np.multiply, width)(out, scale, out=out)
