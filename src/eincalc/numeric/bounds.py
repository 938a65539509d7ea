"""Bounds on the entries of a contraction, cheaper than computing it: what a softmax needs to skip its shift.

``x = c Σ_s a[…, s] b[…, s]`` has ``|x| ≤ |c| · max ‖a[…, :]‖ · max ‖b[…, :]‖``
(Cauchy–Schwarz over the summed indices ``s``: the norms are those of the
operands' fibres along them).  A softmax of ``x`` whose entries are known to
lie within what ``exp`` represents exactly (`shift_free()`) needs no pass for
the row maxima and none to subtract them: attention's ``softmax(Q Kᵀ/√d)``
reads ``Q`` and ``K`` once more (``T×d`` each) and saves two passes over the
``T×T`` scores.

>>> import numpy as np
>>> bound = contraction_bound(("ab", "cb"), "ac", 0.5, ((4, 2), (4, 2)))
>>> a, b = np.arange(8.0).reshape(4, 2), np.ones((4, 2))
>>> float(np.abs(0.5 * a @ b.T).max()), round(bound(a, b), 3)   # 0.5 · ‖(6, 7)‖ · ‖(1, 1)‖
(6.5, 6.519)
>>> contraction_bound(("ab", "cb"), "ac", 1.0, ((4, 100), (4, 100))) is None   # 800 operand entries, 16 results
True
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

Bound = Callable[[Any, Any], float]
"""``bound(a, b)``: an upper bound on ``|x|`` for a contraction ``x`` of operands ``a`` and ``b``."""


def contraction_bound(
    inputs: Sequence[str], output: str, coefficient: float, shapes: Sequence[tuple[int, ...]]
) -> Bound | None:
    """The Cauchy–Schwarz bound of ``coefficient · einsum(inputs -> output)`` over two real operands, or ``None`` where
    it does not apply (an index repeated within an operand, or summed in one operand only) or would cost more than
    the passes it saves (operands together larger than the result: a long summed index)."""
    if len(inputs) != 2:
        return None
    first, second = inputs
    summed = [c for c in first + second if c not in output]
    repeated = len(set(first)) < len(first) or len(set(second)) < len(second)
    if repeated or any(c not in first or c not in second for c in summed):
        return None
    sizes = {c: n for letters, shape in zip(inputs, shapes, strict=True) for c, n in zip(letters, shape, strict=True)}
    if sum(math.prod(shape) for shape in shapes) > math.prod(sizes[c] for c in output):
        return None
    squared = [f"{letters},{letters}->{''.join(c for c in letters if c not in summed)}" for letters in inputs]
    factor, count = abs(coefficient), math.prod(sizes[c] for c in set(summed))

    def bound(a: Any, b: Any) -> float:
        info = np.finfo(a.dtype)
        wide = np.longdouble if a.dtype == np.longdouble else np.float64
        tiny, eps = wide(info.tiny), wide(info.eps)
        slack = 1 + 2 * count * eps  # the rounding of a sum of ``count`` products (here and in x)
        norms = (_largest_norm(eq, x, count, tiny, eps) for eq, x in zip(squared, (a, b), strict=True))
        return float(factor * slack * math.prod(norms))

    return bound


def _largest_norm(equation: str, x: Any, count: int, tiny: Any, eps: Any) -> Any:
    """An upper bound on the largest norm of ``x``'s fibres (``equation`` sums their squares): the computed sum of
    ``count`` squares, widened by what rounding (``eps``) and underflow can have taken from it (each square up to
    ``tiny``: a float16 ``2.99e-4²`` rounds to ``5.96e-8``, a float64 ``1e-170²`` to 0), in the precision of
    ``tiny`` and ``eps`` (float64, or long double for long double).

    >>> info = np.finfo(np.float64)
    >>> float(_largest_norm("a,a->", np.array([1e-170, 0.0]), 2, info.tiny, info.eps)) > 1e-170
    True
    """
    squares = type(tiny)(np.einsum(equation, x, x).max(initial=0.0))
    return np.sqrt((squares + count * tiny) * (1 + 2 * count * eps))


def shift_free(bound: float, dtype: Any, count: int) -> bool:
    """Whether a softmax over ``count`` entries within ``±bound`` may exponentiate them unshifted: every ``exp`` a
    normal number (full relative precision) and their sum finite.  A NaN bound (NaN or inf in the operands) is not.

    >>> shift_free(50.0, np.float64, 512), shift_free(705.0, np.float64, 512), shift_free(50.0, np.float32, 512)
    (True, False, True)
    >>> shift_free(float("nan"), np.float64, 2), shift_free(85.0, np.float32, 512)
    (False, False)
    """
    return bound <= _limit(np.dtype(dtype), count)


@functools.lru_cache(maxsize=64)  # asked once per softmax call (per row block)
def _limit(dtype: np.dtype[Any], count: int) -> float:
    info = np.finfo(dtype)  # logs taken in the dtype: long double's tiny and max are beyond float64
    return min(-float(np.log(info.tiny)), float(np.log(info.max)) - math.log(max(count, 1))) - 1.0
