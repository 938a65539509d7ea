"""The NumPy fast path for contractions: a pairwise plan per shape signature, writing into a given buffer.

Everything that depends only on shapes is decided when a plan is made, so a
call does little more than the NumPy operations themselves: a contraction
follows the pairwise path opt_einsum plans, each pairwise step that is a matrix
product is one GEMM through ``np.matmul`` on views, in the orientation
`gemm_swaps()` picks from the operands' memory layout, a
product summed over all its shared axes (``Σ_j a[i,j] b[i,j]``) is a batch of
dot products with no temporary, and the last step writes into the buffer the
memory plan gives it (`eincalc.numeric.memory`).  Element-wise kernels are
compiled in `eincalc.numeric.elementwise`.

The fast path runs when every input is a NumPy array of one floating dtype,
so every intermediate has that dtype too.

>>> import numpy as np
>>> contract = numpy_contraction(("ab", "bc"), "ca", [(2, 3), (3, 4)])
>>> contract.run([np.ones((2, 3)), np.ones((3, 4))], np.empty(8)).shape
(4, 2)
>>> numpy_contraction(("ab", "ab"), "a", [(2, 3), (2, 3)]).run([np.ones((2, 3)), np.ones((2, 3))], None)
array([3., 3.])
>>> numpy_contraction(("ab", "ac", "a"), "bc", [(5, 2), (5, 3), (5,)]).sizes   # one intermediate: s ⊙ the 5×3
(15,)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .runtime import gemm_swaps, plan_path

Shape = tuple[int, ...]


# -- contractions -------------------------------------------------------------------------------


Step = Callable[..., Any]
"""One step of a path, ``step(a, b, out)`` (or other numbers of operands, then ``out``), writing into ``out``."""


def _into(out: Any, shape: Shape) -> Any:
    """The first elements of the flat buffer ``out`` in ``shape`` (``None`` stays ``None``: NumPy allocates)."""
    return None if out is None else out[: math.prod(shape)].reshape(shape)


@dataclass(frozen=True)
class PairwisePlan:
    """A contraction along a pairwise path: ``run(arrays, out, scratch)``, where the last step writes into the flat
    buffer ``out`` (``None``: a new array; the result may be a transposed view of it) and each earlier step into a
    flat buffer of ``scratch`` (element counts ``sizes``; none given: new arrays); ``final`` puts the result's axes
    in the output's order (``()``: they are)."""

    steps: tuple[tuple[tuple[int, ...], Step], ...]
    final: tuple[int, ...]
    sizes: tuple[int, ...]
    direct: bool = False
    """One step over the operands in order (one GEMM or one sum): run it without bookkeeping."""

    def run(self, arrays: Sequence[Any], out: Any, scratch: Sequence[Any] = ()) -> Any:
        value = self.steps[0][1](*arrays, out) if self.direct else self._path(arrays, out, scratch)
        return value.transpose(self.final) if self.final else value

    def _path(self, arrays: Sequence[Any], out: Any, scratch: Sequence[Any]) -> Any:
        values = list(arrays)
        last = len(self.steps) - 1
        for n, (positions, step) in enumerate(self.steps):
            taken = [values[p] for p in positions]
            for p in sorted(positions, reverse=True):
                del values[p]
            values.append(step(*taken, out if n == last else scratch[n] if scratch else None))
        return values[0]


@dataclass(frozen=True)
class GramPlan:
    """``Xᵀ diag(v) X`` (``X`` given twice, ``v`` along the summed axis) as ``Yᵀ Y`` with ``Y = X √v`` when ``v ≥ 0``:
    one symmetric rank-k update (NumPy calls BLAS ``syrk`` for a matrix times its own transpose), half the
    multiplications of a GEMM; otherwise ``Xᵀ (X v)``.  ``run`` as for `PairwisePlan`."""

    axis: int
    """The summed axis of ``X``."""
    sizes: tuple[int, ...]

    def run(self, arrays: Sequence[Any], out: Any, scratch: Sequence[Any] = ()) -> Any:
        x, _, v = arrays
        weights = v[:, None] if self.axis == 0 else v[None, :]
        scaled = _into(scratch[0] if scratch else np.empty(x.size, x.dtype), x.shape)
        shape = (x.shape[1 - self.axis],) * 2
        if v.min() >= 0:  # NaN fails too
            np.multiply(x, np.sqrt(weights), out=scaled)
            return np.matmul(*_gram_operands(scaled, self.axis), out=_into(out, shape))
        np.multiply(x, weights, out=scaled)
        first, second = _gram_operands(x, self.axis)[0], _gram_operands(scaled, self.axis)[1]
        return np.matmul(first, second, out=_into(out, shape))


def _gram_operands(y: Any, axis: int) -> tuple[Any, Any]:
    """``(yᵀ, y)`` when the rows are summed, ``(y, yᵀ)`` when the columns are: one array and its transpose."""
    return (y.T, y) if axis == 0 else (y, y.T)


def gram_contraction(inputs: Sequence[str], output: str, shapes: Sequence[Shape]) -> GramPlan | None:
    """A `GramPlan` for ``einsum(inputs -> output)`` whose first two operands are one matrix, summed along one
    axis against the third, a vector (``ab,ac,a->bc``); ``None`` for any other form."""
    if len(inputs) != 3 or shapes[0] != shapes[1] or len(shapes[0]) != 2 or len(inputs[2]) != 1:
        return None
    p, q, v = inputs
    axis = p.find(v)
    if (
        axis < 0
        or q.find(v) != axis
        or v in output
        or len(set(p + q)) != 3
        or sorted(output) != sorted(p[1 - axis] + q[1 - axis])
    ):
        return None
    return GramPlan(axis, (math.prod(shapes[0]),))


def numpy_contraction(inputs: Sequence[str], output: str, shapes: Sequence[Shape]) -> PairwisePlan:
    """How to compute ``einsum(inputs -> output)`` pairwise along opt_einsum's path, GEMMs as GEMMs."""
    sizes = {c: n for letters, shape in zip(inputs, shapes, strict=True) for c, n in zip(letters, shape, strict=True)}
    if len(inputs) == 1:
        return PairwisePlan((((0,), _single(inputs[0], output, sizes)),), (), (), direct=True)
    operands = list(inputs)
    plan: list[tuple[tuple[int, ...], Step]] = []
    produced: list[str] = []
    path = plan_path(f"{','.join(inputs)}->{output}", shapes)
    for position, step in enumerate(path):
        taken = [operands[p] for p in step]
        for p in sorted(step, reverse=True):
            del operands[p]
        rest = "".join(operands) + output
        keep = "".join(dict.fromkeys(c for letters in taken for c in letters if c in rest))
        last = position == len(path) - 1
        if len(taken) == 2:
            fn, letters = _pairwise(taken[0], taken[1], keep, output if last else "", sizes)
        else:
            fn, letters = _einsum(taken, keep, sizes)
        plan.append((tuple(step), fn))
        operands.append(letters)
        produced.append(letters)
    intermediates = tuple(math.prod(sizes[c] for c in letters) for letters in produced[:-1])
    final = tuple(operands[0].index(c) for c in output)
    direct = len(plan) == 1 and plan[0][0] == tuple(range(len(inputs)))
    return PairwisePlan(tuple(plan), () if final == tuple(range(len(final))) else final, intermediates, direct)


def _single(letters: str, output: str, sizes: dict[str, int]) -> Step:
    kept = [c for c in letters if c in output]
    shape = tuple(sizes[c] for c in dict.fromkeys(kept))
    if len(set(letters)) < len(letters):
        equation = f"{letters}->{''.join(dict.fromkeys(kept))}"
        order = [list(dict.fromkeys(kept)).index(c) for c in output]
        return lambda x, out: np.einsum(equation, x, out=_into(out, shape)).transpose(order)
    summed = tuple(n for n, c in enumerate(letters) if c not in output)
    order = [kept.index(c) for c in output]
    return lambda x, out: x.sum(axis=summed, out=_into(out, shape)).transpose(order)


def _einsum(taken: Sequence[str], keep: str, sizes: dict[str, int]) -> tuple[Step, str]:
    equation = f"{','.join(taken)}->{keep}"
    shape = tuple(sizes[c] for c in keep)
    return (lambda *xs: np.einsum(equation, *xs[:-1], out=_into(xs[-1], shape))), keep


def _pairwise(la: str, lb: str, keep: str, wanted: str, sizes: dict[str, int]) -> tuple[Step, str]:
    """One pairwise step: a GEMM on views where it is a matrix product, else a broadcast product or einsum.

    An index only one operand carries, and nobody needs, is summed away first.
    """
    if len(set(la)) < len(la) or len(set(lb)) < len(lb):
        return _einsum([la, lb], keep, sizes)
    lone_a = tuple(n for n, c in enumerate(la) if c not in lb and c not in keep)
    lone_b = tuple(n for n, c in enumerate(lb) if c not in la and c not in keep)
    if lone_a or lone_b:
        inner, letters = _pairwise(
            "".join(c for n, c in enumerate(la) if n not in lone_a),
            "".join(c for n, c in enumerate(lb) if n not in lone_b),
            keep,
            wanted,
            sizes,
        )
        return (
            lambda a, b, out: inner(a.sum(axis=lone_a) if lone_a else a, b.sum(axis=lone_b) if lone_b else b, out)
        ), letters
    summed = [c for c in la if c in lb and c not in keep]
    batch = [c for c in la if c in lb and c in keep]
    left = [c for c in la if c not in lb]
    right = [c for c in lb if c not in la]
    if not summed:
        letters = la + "".join(right)
        shape = tuple(sizes[c] for c in letters)
        index_b = tuple(slice(None) if c in lb else None for c in letters)
        order_b = [lb.index(c) for c in letters if c in lb]
        expand_a = (Ellipsis,) + (None,) * len(right)
        return (
            lambda a, b, out: np.multiply(a[expand_a], b.transpose(order_b)[index_b], out=_into(out, shape))
        ), letters
    if not left and not right:
        return _einsum([la, lb], "".join(batch), sizes)  # dot products along the summed axes: no temporary
    if batch:
        return _batched(la, lb, batch, summed, left, right, sizes)
    return _gemm(la, lb, summed, left, right, wanted, sizes)


def _batched(
    la: str, lb: str, batch: list[str], summed: list[str], left: list[str], right: list[str], sizes: dict[str, int]
) -> tuple[Step, str]:
    """A stack of matrix products, one per value of the batch indices."""
    m, k, n, count = (math.prod(sizes[c] for c in group) for group in (left, summed, right, batch))
    perm_a = [la.index(c) for c in batch + left + summed]
    perm_b = [lb.index(c) for c in batch + summed + right]
    letters = batch + left + right
    out_shape = tuple(sizes[c] for c in letters)
    return (
        lambda a, b, out: np.matmul(
            a.transpose(perm_a).reshape(count, m, k),
            b.transpose(perm_b).reshape(count, k, n),
            out=_into(out, (count, m, n)),
        ).reshape(out_shape)
    ), "".join(letters)


def _gemm(
    la: str, lb: str, summed: list[str], left: list[str], right: list[str], wanted: str, sizes: dict[str, int]
) -> tuple[Step, str]:
    """One GEMM on views, in the orientation `gemm_swaps()` picks."""
    m, k, n = (math.prod(sizes[c] for c in group) for group in (left, summed, right))
    perm_a = [la.index(c) for c in left + summed]
    perm_b = [lb.index(c) for c in summed + right]
    letters = "".join(left + right)
    prefer = {letters: False, "".join(right + left): True}.get(wanted)
    out_shape = tuple(sizes[c] for c in left + right)
    swapped_shape = tuple(sizes[c] for c in right + left)
    order = list(range(len(right), len(right) + len(left))) + list(range(len(right)))
    plain = len(left) == len(right) == 1  # the result is the matrix itself
    single = len(summed) == 1
    as_a, as_b = _as_matrix(perm_a, (m, k), plain and single), _as_matrix(perm_b, (k, n), plain and single)

    def gemm(a: Any, b: Any, out: Any) -> Any:
        a2, b2 = as_a(a), as_b(b)
        if gemm_swaps(m, k, n, a2, b2, prefer):
            product = np.matmul(b2.T, a2.T, out=_into(out, (n, m)))
            return product.T if plain else product.reshape(swapped_shape).transpose(order)
        product = np.matmul(a2, b2, out=_into(out, (m, n)))
        return product if plain else product.reshape(out_shape)

    return gemm, letters


def _as_matrix(perm: list[int], shape: tuple[int, int], matrix: bool) -> Callable[[Any], Any]:
    """An operand's axes put in order ``perm`` and grouped into a matrix of ``shape``; ``matrix``: each group is one
    axis, so the operand is that matrix or its transpose (a view, decided now)."""
    if matrix and perm == [0, 1]:
        return lambda x: x
    if matrix and perm == [1, 0]:
        return lambda x: x.T
    return lambda x: x.transpose(perm).reshape(shape)
