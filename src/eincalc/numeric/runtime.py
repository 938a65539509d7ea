"""Shared pieces of compiled evaluation: in-place NumPy functions, views, GEMM orientation, any-backend kernels.

`eincalc.numeric.fastpath` and `eincalc.numeric.elementwise` specialise contractions and
kernels for NumPy arrays; the functions here serve them and the general path.  Other array types (PyTorch,
JAX, CuPy, Dask) run kernels through `run_kernel()` with plain,
non-mutating operators and their own namespace, and contractions through
opt_einsum's backend dispatch, so they stay native and keep their autodiff
graphs.

>>> import numpy as np
>>> X, R = np.ones((10000, 500)), np.ones((10000, 10))
>>> gemm_swaps(500, 10000, 10, X.T, R)   # compute (Rᵀ X)ᵀ: the small dimension leads
True
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import opt_einsum

from ..core import functions

InPlace = Callable[[Any, Any], Any]
"""``f(x, out)``: the function of ``x`` written into ``out`` (``None``: a new array)."""


def _sigmoid(x: Any, out: Any) -> Any:
    """``1 / (1 + exp(−x))``: NumPy's exp is vectorised where tanh is not; exp(−x) = inf gives exactly 0."""
    out = np.negative(x, out=out)
    with np.errstate(over="ignore"):
        np.exp(out, out=out)
    out += 1.0
    return np.reciprocal(out, out=out)


def _softplus(x: Any, out: Any) -> Any:
    tail = np.abs(x)
    np.negative(tail, out=tail)
    np.exp(tail, out=tail)
    np.log1p(tail, out=tail)
    out = np.maximum(x, 0.0, out=out)
    out += tail
    return out


def _power(k: float) -> InPlace:
    if k == 2.0:
        return lambda x, out: np.multiply(x, x, out=out)
    if k == -1.0:
        return lambda x, out: np.divide(1.0, x, out=out)
    if k == 0.5:
        return lambda x, out: np.sqrt(x, out=out)
    return lambda x, out: np.power(x, k, out=out)


IN_PLACE: dict[str, InPlace] = {
    "sigmoid": _sigmoid,
    "tanh": lambda x, out: np.tanh(x, out=out),
    "exp": lambda x, out: np.exp(x, out=out),
    "log": lambda x, out: np.log(x, out=out),
    "relu": lambda x, out: np.maximum(x, 0.0, out=out),
    "step": lambda x, out: np.greater(x, 0.0, out=out) if out is not None else np.where(x > 0, 1.0, 0.0),
    "sqrt": lambda x, out: np.sqrt(x, out=out),
    "abs": lambda x, out: np.abs(x, out=out),
    "sign": lambda x, out: np.sign(x, out=out),
    "softplus": _softplus,
    "sin": lambda x, out: np.sin(x, out=out),
    "cos": lambda x, out: np.cos(x, out=out),
    "tan": lambda x, out: np.tan(x, out=out),
}
"""NumPy spellings that can write into a buffer; the formulas match `eincalc.core.functions`."""


ROW_BUFFERS_FROM = 128
"""Shortest rows along which `along_rows()` shortens NumPy's ufunc buffer (shorter ones measured no faster)."""


@functools.lru_cache(maxsize=64)  # a softmax asks on every call: one wrapper per ufunc and width
def along_rows(ufunc: Callable[..., Any], width: int) -> Callable[..., Any]:
    """``ufunc`` for calls where an operand is broadcast along rows of ``width`` entries (``x − m[:, None]``).

    NumPy (2.4 and earlier: numpy/numpy#13307) copies such an operand into its
    ufunc buffer on every fill, which makes the call about twice as slow as
    one on two full arrays (0.45–0.50 against 0.21–0.26 ns per entry for a
    128×512 block, one core); with the buffer no longer than a row, the
    broadcast operand is read in place.  The size is set for the call only
    (NumPy keeps it per thread and context).

    >>> import numpy as np
    >>> subtract = along_rows(np.subtract, 512)
    >>> x = np.ones((4, 512))
    >>> float(subtract(x, np.arange(4.0)[:, None], out=x)[3, 0]), np.getbufsize()
    (-2.0, 8192)
    """
    if width < ROW_BUFFERS_FROM:
        return ufunc
    size = width - width % 16  # NumPy takes multiples of 16

    def call(*args: Any, **kwargs: Any) -> Any:
        previous = np.setbufsize(size)
        try:
            return ufunc(*args, **kwargs)
        finally:
            np.setbufsize(previous)

    return call


def in_place_rule(fn: str, param: float | None) -> InPlace | None:
    """How to compute ``fn`` into a buffer, or ``None`` when only `eincalc.core.functions` knows it."""
    if fn == "pow":
        return _power(float(param if param is not None else 1.0))
    return IN_PLACE.get(fn)


# -- views ----------------------------------------------------------------------------------


def permute(x: Any, order: Sequence[int], numpy: bool) -> Any:
    """``x`` with its axes in ``order`` (a view where the array type allows)."""
    if list(order) == list(range(len(order))):
        return x
    if numpy:
        return x.transpose(order)
    letters = "".join(opt_einsum.get_symbol(n) for n in range(len(order)))
    return opt_einsum.contract(f"{letters}->{''.join(letters[n] for n in order)}", x, backend="auto")


def aligned(x: Any, view: tuple[int | None, ...], numpy: bool) -> Any:
    """``x`` arranged as ``view`` says: each result axis from an axis of ``x``, or ``None`` (length 1)."""
    if not view or getattr(x, "ndim", 0) == 0:
        return x
    x = permute(x, [a for a in view if a is not None], numpy)
    if None in view:
        x = x[tuple(slice(None) if a is not None else None for a in view)]
    return x


# -- element-wise kernels ---------------------------------------------------------------------


def run_kernel(tree: tuple[Any, ...], args: Sequence[Any], xp: Any, numpy: bool = False) -> Any:
    """Evaluate an element-wise kernel with non-mutating operators in namespace ``xp`` (any array type;
    ``numpy``: NumPy arrays, whose axes are permuted as views and whose functions are those of the planned
    kernels, `in_place_rule()`, each writing into a new array where it has axes)."""
    kind = tree[0]
    if kind == "num":
        return tree[1]
    if kind == "arg":
        return aligned(args[tree[1]], tree[2], numpy)
    if kind == "apply":
        value = run_kernel(tree[3], args, xp, numpy)
        rule = in_place_rule(tree[1], tree[2]) if numpy and getattr(value, "ndim", 0) > 0 else None
        return functions.apply_array(tree[1], value, tree[2]) if rule is None else rule(value, np.empty_like(value))
    values = [run_kernel(t, args, xp, numpy) for t in tree[1]]
    total = values[0]
    for value in values[1:]:
        total = total + value if kind == "add" else total * value
    return total


# -- contractions -----------------------------------------------------------------------------


def gemm_swaps(m: int, k: int, n: int, a: Any, b: Any, wanted: bool | None = None) -> bool:
    """Whether to compute ``a @ b`` (``m×k`` by ``k×n``) as ``(bᵀ aᵀ)ᵀ``.

    Measured with OpenBLAS on one core (see ``benchmarks/README.md``): a long,
    thin product is fastest with its small dimension as the rows of the result,
    and so is a product whose first operand alone is transposed (``Xᵀ R``, a
    weight gradient: 4–12 % faster); otherwise take the orientation ``wanted``
    (``True``: swapped, whose result is laid out as the consumer reads it),
    and never hand BLAS two transposed operands where the other orientation has
    none (``Xᵀ R`` with ``R`` column-major: 21.5 ms direct, 16.5 ms swapped).
    """
    if min(m, n) * 8 <= max(m, n) and k >= 256:
        return n < m
    if not a.flags.c_contiguous and b.flags.c_contiguous:
        return n < m
    return bool(wanted) or (not a.flags.c_contiguous and not b.flags.c_contiguous)


def plan_path(equation: str, shapes: Sequence[tuple[int, ...]]) -> list[tuple[int, ...]]:
    """opt_einsum's pairwise contraction order for ``equation`` at these shapes."""
    if len(shapes) < 3:
        return [tuple(range(len(shapes)))] if shapes else []
    path, _ = opt_einsum.contract_path(equation, *shapes, shapes=True, optimize="auto")
    return [tuple(step) for step in path]
