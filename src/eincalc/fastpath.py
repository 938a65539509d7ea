"""The NumPy fast path: kernels and contractions specialised once per shape signature.

Everything that depends only on shapes is decided when a plan is made, so a
call does little more than the NumPy operations themselves:

* an element-wise kernel becomes a chain of closures that knows, for every
  operation, whether it can write into a buffer it owns (``out=``) or must
  allocate, so ``σ(X W + b)`` reuses the buffer of ``X W``;
* a contraction follows the pairwise path opt_einsum plans, and each pairwise
  step that is a matrix product is one GEMM through ``@`` on views, in the
  orientation `gemm_swaps()` picks from the operands'
  memory layout.

The fast path runs when every input is a NumPy array of one floating dtype,
so every intermediate has that dtype too.

>>> import numpy as np
>>> kernel = numpy_kernel(("add", (("arg", 0, (0, 1)), ("arg", 1, (None, 0)))), [(2, 3), (3,)], frozenset())
>>> kernel([np.zeros((2, 3)), np.arange(3.0)])
array([[0., 1., 2.],
       [0., 1., 2.]])
>>> contract = numpy_contraction(("ab", "bc"), "ca", [(2, 3), (3, 4)])
>>> contract([np.ones((2, 3)), np.ones((3, 4))]).shape
(4, 2)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from operator import itemgetter
from typing import Any

import numpy as np

from . import functions
from .runtime import gemm_swaps, in_place_rule, plan_path

Fn = Callable[[Sequence[Any]], Any]
Shape = tuple[int, ...]


# -- element-wise kernels -------------------------------------------------------------------------


def numpy_kernel(tree: tuple[Any, ...], shapes: Sequence[Shape], donate: frozenset[int]) -> Fn:
    """A function of the argument arrays computing ``tree`` (see `eincalc.lowering.Tree`)."""
    return _build(tree, shapes, donate)[0]


def _build(node: tuple[Any, ...], shapes: Sequence[Shape], donate: frozenset[int]) -> tuple[Fn, Shape, bool]:
    """The function, the result's shape, and whether the result is a buffer nobody else holds."""
    kind = node[0]
    if kind == "num":
        value = node[1]
        return (lambda args: value), (), False
    if kind == "arg":
        return _leaf(node[1], node[2], shapes[node[1]], donate)
    if kind == "apply":
        return _apply(node, shapes, donate)
    return _fold(np.add if kind == "add" else np.multiply, [_build(t, shapes, donate) for t in node[1]])


def _leaf(k: int, view: tuple[int | None, ...], shape: Shape, donate: frozenset[int]) -> tuple[Fn, Shape, bool]:
    result = tuple(1 if a is None else shape[a] for a in view)
    order = [a for a in view if a is not None]
    if not shape:  # a number: broadcasting places it
        return itemgetter(k), (), False
    if order == list(range(len(shape))) and None not in view:
        return itemgetter(k), result, k in donate
    index = tuple(slice(None) if a is not None else None for a in view)
    if order == sorted(order):
        return (lambda args: args[k][index]), result, False
    return (lambda args: args[k].transpose(order)[index]), result, False


def _apply(node: tuple[Any, ...], shapes: Sequence[Shape], donate: frozenset[int]) -> tuple[Fn, Shape, bool]:
    name, param = node[1], node[2]
    inner, shape, owned = _build(node[3], shapes, donate)
    rule = in_place_rule(name, param)
    if rule is None or not shape:
        return (lambda args: functions.apply_array(name, inner(args), param)), shape, False
    if owned:

        def overwrite(args: Sequence[Any]) -> Any:
            x = inner(args)
            return rule(x, x)

        return overwrite, shape, True
    return (lambda args: rule(inner(args), None)), shape, True


def _fold(ufunc: Any, parts: list[tuple[Fn, Shape, bool]]) -> tuple[Fn, Shape, bool]:
    """Combine ``parts`` with ``ufunc``, accumulating into an owned full-size buffer whenever there is one."""
    full = tuple(np.broadcast_shapes(*(shape for _, shape, _ in parts)))
    start = next((n for n, (_, shape, owned) in enumerate(parts) if owned and shape == full), 0)
    first, shape, owned = parts[start]
    steps: list[tuple[Fn, bool]] = []
    for n, (fn, part_shape, _) in enumerate(parts):
        if n == start:
            continue
        merged = tuple(np.broadcast_shapes(shape, part_shape))
        steps.append((fn, owned and merged == shape))
        owned, shape = bool(merged), merged
    pairs = tuple(steps)

    def fold(args: Sequence[Any]) -> Any:
        total = first(args)
        for fn, in_place in pairs:
            if in_place:
                ufunc(total, fn(args), out=total)
            else:
                total = ufunc(total, fn(args))
        return total

    return fold, full, owned


# -- contractions -------------------------------------------------------------------------------


Step = Callable[[Any, Any], Any]


def numpy_contraction(inputs: Sequence[str], output: str, shapes: Sequence[Shape]) -> Fn:
    """A function of the operand arrays computing ``einsum(inputs -> output)`` pairwise along opt_einsum's path."""
    sizes = {c: n for letters, shape in zip(inputs, shapes, strict=True) for c, n in zip(letters, shape, strict=True)}
    if len(inputs) == 1:
        return _single(inputs[0], output)
    operands = list(inputs)
    plan: list[tuple[tuple[int, ...], Step]] = []
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
            fn, letters = _einsum(taken, keep)
        plan.append((tuple(step), fn))
        operands.append(letters)
    final = [operands[0].index(c) for c in output]
    identity = final == list(range(len(final)))
    steps = tuple(plan)

    def contract(arrays: Sequence[Any]) -> Any:
        values = list(arrays)
        for positions, fn in steps:
            taken = [values[p] for p in positions]
            for p in sorted(positions, reverse=True):
                del values[p]
            values.append(fn(*taken))
        return values[0] if identity else values[0].transpose(final)

    return contract


def _single(letters: str, output: str) -> Fn:
    if len(set(letters)) < len(letters):
        equation = f"{letters}->{output}"
        return lambda arrays: np.einsum(equation, arrays[0])
    summed = tuple(n for n, c in enumerate(letters) if c not in output)
    kept = [c for c in letters if c in output]
    order = [kept.index(c) for c in output]
    if order == sorted(order):
        return lambda arrays: arrays[0].sum(axis=summed)
    return lambda arrays: arrays[0].sum(axis=summed).transpose(order)


def _einsum(taken: Sequence[str], keep: str) -> tuple[Step, str]:
    equation = f"{','.join(taken)}->{keep}"
    return (lambda *xs: np.einsum(equation, *xs)), keep


def _pairwise(la: str, lb: str, keep: str, wanted: str, sizes: dict[str, int]) -> tuple[Step, str]:
    """One pairwise step: a GEMM on views where it is a matrix product, else a broadcast product or einsum.

    An index only one operand carries, and nobody needs, is summed away first.
    """
    if len(set(la)) < len(la) or len(set(lb)) < len(lb):
        return _einsum([la, lb], keep)
    lone_a = tuple(n for n, c in enumerate(la) if c not in lb and c not in keep)
    lone_b = tuple(n for n, c in enumerate(lb) if c not in la and c not in keep)
    if lone_a or lone_b:
        inner, letters = _pairwise("".join(c for n, c in enumerate(la) if n not in lone_a),
                                   "".join(c for n, c in enumerate(lb) if n not in lone_b), keep, wanted, sizes)
        return (lambda a, b: inner(a.sum(axis=lone_a) if lone_a else a, b.sum(axis=lone_b) if lone_b else b)), letters
    summed = [c for c in la if c in lb and c not in keep]
    batch = [c for c in la if c in lb and c in keep]
    left = [c for c in la if c not in lb]
    right = [c for c in lb if c not in la]
    if not summed:
        letters = la + "".join(right)
        index_b = tuple(slice(None) if c in lb else None for c in letters)
        order_b = [lb.index(c) for c in letters if c in lb]
        expand_a = (Ellipsis,) + (None,) * len(right)
        return (lambda a, b: np.multiply(a[expand_a], b.transpose(order_b)[index_b])), letters
    m, k, n = (math.prod(sizes[c] for c in group) for group in (left, summed, right))
    perm_a = [la.index(c) for c in batch + left + summed]
    perm_b = [lb.index(c) for c in batch + summed + right]
    if batch:
        shape_a = (math.prod(sizes[c] for c in batch), m, k)
        shape_b = (shape_a[0], k, n)
        out_shape = tuple(sizes[c] for c in batch + left + right)
        return (lambda a, b: (a.transpose(perm_a).reshape(shape_a) @ b.transpose(perm_b).reshape(shape_b))
                .reshape(out_shape)), "".join(batch + left + right)
    letters = "".join(left + right)
    prefer = {letters: False, "".join(right + left): True}.get(wanted)
    out_shape = tuple(sizes[c] for c in left + right)
    swapped_shape = tuple(sizes[c] for c in right + left)
    order = list(range(len(right), len(right) + len(left))) + list(range(len(right)))

    def gemm(a: Any, b: Any) -> Any:
        a2 = a.transpose(perm_a).reshape(m, k)
        b2 = b.transpose(perm_b).reshape(k, n)
        if gemm_swaps(m, k, n, a2, b2, prefer):
            return (b2.T @ a2.T).reshape(swapped_shape).transpose(order)
        return (a2 @ b2).reshape(out_shape)

    return gemm, letters
