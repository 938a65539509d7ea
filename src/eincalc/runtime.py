"""Running lowered operations on arrays: BLAS-friendly contractions and in-place element-wise kernels.

NumPy arrays take the fast paths here: a contraction is split into pairwise
steps along the path opt_einsum plans (once per shape signature), and each step
that is a matrix product runs as one GEMM through ``@``, in the orientation
that suits BLAS (:func:`gemm_swaps`): ``(Rᵀ X)ᵀ`` instead of ``Xᵀ R`` when that
is faster, with no copy either way.  Element-wise kernels write into one
buffer, reusing a dead input's buffer when they may, so ``σ(X W + b)`` costs
one allocation.  Other array types (PyTorch, JAX, CuPy, Dask) go through
opt_einsum's backend dispatch and plain (non-mutating) operators, so they stay
native and keep their autodiff graphs.

>>> import numpy as np
>>> X, R = np.ones((10000, 500)), np.ones((10000, 10))
>>> gemm_swaps(500, 10000, 10, X.T, R)   # compute (Rᵀ X)ᵀ: the small dimension leads
True
>>> pairwise(np.eye(2), "ab", np.ones((2, 3)), "bc", "ac")[1]
'ac'
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import opt_einsum

from . import functions

InPlace = Callable[[Any, Any], Any]
"""``f(x, out)``: the function of ``x`` written into ``out`` (``None``: a new array)."""


def _sigmoid(x: Any, out: Any) -> Any:
    out = np.multiply(x, 0.5, out=out)
    np.tanh(out, out=out)
    out += 1.0
    out *= 0.5
    return out


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
}
"""NumPy spellings that can write into a buffer; the formulas match :mod:`eincalc.functions`."""


def _is_buffer(x: Any) -> bool:
    return isinstance(x, np.ndarray) and x.ndim > 0 and x.dtype.kind == "f" and x.flags.writeable


def apply_numpy(fn: str, param: float | None, x: Any, owned: bool) -> Any:
    """``fn(x)``, overwriting ``x`` when ``owned`` (a buffer nobody else holds)."""
    rule = _power(float(param if param is not None else 1.0)) if fn == "pow" else IN_PLACE.get(fn)
    if rule is None or not _is_buffer(x):
        return functions.apply_array(fn, x, param)
    return rule(x, x if owned else None)


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


def run_kernel(tree: tuple[Any, ...], args: Sequence[Any], donate: frozenset[int], numpy: bool) -> Any:
    """Evaluate an element-wise kernel; with NumPy, into as few new buffers as possible."""

    def evaluate(node: tuple[Any, ...]) -> tuple[Any, bool]:
        kind = node[0]
        if kind == "num":
            return node[1], False
        if kind == "arg":
            value = aligned(args[node[1]], node[2], numpy)
            return value, node[1] in donate and _is_buffer(value)
        if kind == "apply":
            value, owned = evaluate(node[3])
            if numpy:
                return apply_numpy(node[1], node[2], value, owned), True
            return functions.apply_array(node[1], value, node[2]), True
        parts = [evaluate(t) for t in node[1]]
        return combine(np.add if kind == "add" else np.multiply, parts, numpy), True

    return evaluate(tree)[0]


def combine(ufunc: Any, parts: list[tuple[Any, bool]], numpy: bool) -> Any:
    """Fold ``parts`` with ``ufunc``, accumulating into an owned full-size buffer when there is one."""
    if not numpy:
        total = parts[0][0]
        for value, _ in parts[1:]:
            total = total + value if ufunc is np.add else total * value
        return total
    shape = np.broadcast_shapes(*(np.shape(v) for v, _ in parts))
    owners = [n for n, (v, own) in enumerate(parts) if own and _is_buffer(v) and v.shape == shape]
    first = owners[0] if owners else 0
    total, owned = parts[first][0], bool(owners)
    for n, (value, _) in enumerate(parts):
        if n == first:
            continue
        if owned and np.result_type(total, value) == total.dtype:
            ufunc(total, value, out=total)
        else:
            total = ufunc(total, value)
            owned = _is_buffer(total) and total.shape == shape
    return total


# -- contractions -----------------------------------------------------------------------------


def gemm_swaps(m: int, k: int, n: int, a: Any, b: Any, wanted: bool | None = None) -> bool:
    """Whether to compute ``a @ b`` (``m×k`` by ``k×n``) as ``(bᵀ aᵀ)ᵀ``.

    Measured with OpenBLAS on one core (see ``benchmarks/README.md``): a long,
    thin product is fastest with its small dimension as the rows of the result;
    otherwise take the orientation ``wanted`` (whose result is already laid out
    as the consumer reads it), unless that means two transposed operands where
    the other orientation has none.
    """
    if min(m, n) * 8 <= max(m, n) and k >= 256:
        return n < m
    transposed = int(not a.flags.c_contiguous) + int(not b.flags.c_contiguous)
    if wanted is None or transposed == (2 if wanted else 0):
        return transposed == 2
    return wanted


def _presum(x: Any, letters: str, other: str, keep: str) -> tuple[Any, str]:
    """Sum away axes that no other operand and no output needs."""
    lone = [n for n, c in enumerate(letters) if c not in other and c not in keep and letters.count(c) == 1]
    if not lone:
        return x, letters
    return x.sum(axis=tuple(lone)), "".join(c for n, c in enumerate(letters) if n not in lone)


def pairwise(a: Any, la: str, b: Any, lb: str, keep: str, order: str = "") -> tuple[Any, str]:
    """Contract two NumPy arrays; the result keeps the letters in ``keep``, in ``order`` where that is cheap."""
    a, la = _presum(a, la, lb, keep)
    b, lb = _presum(b, lb, la, keep)
    if len(set(la)) < len(la) or len(set(lb)) < len(lb):
        out = "".join(dict.fromkeys(c for c in la + lb if c in keep))
        return np.einsum(f"{la},{lb}->{out}", a, b), out
    summed = [c for c in la if c in lb and c not in keep]
    batch = [c for c in la if c in lb and c in keep]
    left = [c for c in la if c not in lb]
    right = [c for c in lb if c not in la]
    if not summed:
        out = la + "".join(right)
        return np.multiply(aligned(a, tuple(range(len(la))) + (None,) * len(right), True),
                           aligned(b, tuple(lb.index(c) if c in lb else None for c in out), True)), out
    size = dict(zip(la, a.shape, strict=True)) | dict(zip(lb, b.shape, strict=True))
    m, k, n = (math.prod(size[c] for c in group) for group in (left, summed, right))
    batches = math.prod(size[c] for c in batch)
    a2 = a.transpose([la.index(c) for c in batch + left + summed]).reshape(batches, m, k)
    b2 = b.transpose([lb.index(c) for c in batch + summed + right]).reshape(batches, k, n)
    if not batch:
        a2, b2 = a2[0], b2[0]
        wanted = {"".join(left + right): False, "".join(right + left): True}.get(order)
        if gemm_swaps(m, k, n, a2, b2, wanted):
            product = b2.T @ a2.T
            return product.reshape([size[c] for c in right + left]), "".join(right + left)
    product = a2 @ b2
    return product.reshape([size[c] for c in batch + left + right]), "".join(batch + left + right)


def contract_numpy(inputs: Sequence[str], output: str, path: Sequence[Sequence[int]], arrays: Sequence[Any]) -> Any:
    """Run an einsum along ``path`` (opt_einsum's format) with :func:`pairwise` steps."""
    operands = list(zip(arrays, inputs, strict=True))
    if len(operands) == 1:
        x, letters = operands[0]
        if len(set(letters)) < len(letters):
            return np.einsum(f"{letters}->{output}", x)
        x, letters = _presum(x, letters, "", output)
        return permute(x, [letters.index(c) for c in output], True)
    for step in path:
        taken = [operands[p] for p in step]
        for p in sorted(step, reverse=True):
            del operands[p]
        rest = "".join(letters for _, letters in operands) + output
        if len(taken) == 2:
            (a, la), (b, lb) = taken
            keep = "".join(dict.fromkeys(c for c in la + lb if c in rest))
            operands.append(pairwise(a, la, b, lb, keep, output if not operands else ""))
        else:
            letters = "".join(dict.fromkeys(c for _, ls in taken for c in ls if c in rest))
            equation = f"{','.join(ls for _, ls in taken)}->{letters}"
            operands.append((np.einsum(equation, *(x for x, _ in taken)), letters))
    (x, letters), = operands
    return permute(x, [letters.index(c) for c in output], True)


def plan_path(equation: str, shapes: Sequence[tuple[int, ...]]) -> list[tuple[int, ...]]:
    """opt_einsum's pairwise contraction order for ``equation`` at these shapes."""
    if len(shapes) < 2:
        return []
    path, _ = opt_einsum.contract_path(equation, *shapes, shapes=True, optimize="auto")
    return [tuple(step) for step in path]
