"""Fusion: merge element-wise kernels into their consumers, and sums of products into contractions.

A kernel used by exactly one other kernel, at full size, is inlined into it,
so ``h (1 − h) δ`` is one pass-chain over one buffer instead of three arrays.
A sum over the product of two arrays, where nothing else reads the product,
becomes one contraction of the two (``Σ_j P[i,j] dP[i,j]``, ``Σ r²``): dot
products, with no temporary the size of the product.  Which buffer each
kernel writes into is decided later, per shape, by `eincalc.numeric.memory`.

>>> from eincalc.frontend.build import tensors, sigmoid
>>> from eincalc.numeric.lowering import lower
>>> X, W, b = tensors("X[n,k] W[k,m] b[m]")
>>> [type(op).__name__ for op in lower([sigmoid(X @ W + b)]).ops]
['Load', 'Load', 'Contraction', 'Load', 'Elementwise']
"""

from __future__ import annotations

from collections import Counter
from dataclasses import replace

from .program import Contraction, Elementwise, Op, Program, Ref, Tree, View, arg_views, inputs, map_leaves

MAX_KERNEL_DEPTH = 32
"""Fusion stops before a kernel's expression tree grows deeper than this (kernels are walked recursively)."""


def _compose(tree: Tree, outer: View, offset: int) -> Tree:
    """``tree`` (a producer kernel) seen through ``outer``, its argument numbers shifted by ``offset``."""
    return map_leaves(tree, lambda t: ("arg", t[1] + offset, tuple(None if a is None else t[2][a] for a in outer)))


def _inline_all(tree: Tree, producers: dict[int, Elementwise], offsets: dict[int, int]) -> Tree:
    """``tree`` with each argument ``position`` of ``producers`` replaced by that producer's kernel."""
    return map_leaves(tree, lambda t: _compose(producers[t[1]].tree, t[2], offsets[t[1]]) if t[1] in producers else t)


def _full(view: View, rank: int) -> bool:
    return None not in view and len(view) == rank


def _depth(tree: Tree) -> int:
    kind = tree[0]
    if kind in ("arg", "num"):
        return 1
    if kind == "apply":
        return 1 + _depth(tree[3])
    return 1 + max(_depth(t) for t in tree[1])


def _leaf_levels(tree: Tree, level: int = 1) -> list[int]:
    """How deep each argument leaf sits (the root is level 1), in the order of `arg_views`."""
    kind = tree[0]
    if kind == "arg":
        return [level]
    if kind == "num":
        return []
    if kind == "apply":
        return _leaf_levels(tree[3], level + 1)
    return [n for t in tree[1] for n in _leaf_levels(t, level + 1)]


def _factors(tree: Tree) -> tuple[list[tuple[int, View]], float] | None:
    """The two full-size argument leaves and the constant of a product ``c · a · b`` (or ``a²``), else ``None``."""
    if tree[0] == "apply" and tree[1] == "pow" and tree[2] == 2.0 and tree[3][0] == "arg":
        return [tree[3][1:], tree[3][1:]], 1.0
    if tree[0] != "mul":
        return None
    leaves = [t[1:] for t in tree[1] if t[0] == "arg"]
    numbers = [t[1] for t in tree[1] if t[0] == "num"]
    if len(leaves) != 2 or len(leaves) + len(numbers) != len(tree[1]):
        return None
    coefficient = 1.0
    for x in numbers:
        coefficient *= x
    return leaves, coefficient


def _summed_product(op: Op, ops: list[Op], uses: Counter[int], outputs: set[int]) -> Op:
    """``op``, or the contraction of the factors when ``op`` sums a product that nothing else reads."""
    if not (isinstance(op, Contraction) and len(op.args) == 1):
        return op
    slot, letters = op.args[0], op.inputs[0]
    producer = ops[slot]
    found = _factors(producer.tree) if isinstance(producer, Elementwise) else None
    if found is None or uses[slot] != 1 or slot in outputs or len(set(letters)) < len(letters):
        return op
    assert isinstance(producer, Elementwise)
    leaves, coefficient = found
    if any(None in view or len(view) != len(letters) for _, view in leaves):
        return op
    inputs = tuple("".join(letters[view.index(axis)] for axis in range(len(view))) for _, view in leaves)
    return replace(
        op, inputs=inputs, args=tuple(producer.args[k] for k, _ in leaves), coefficient=op.coefficient * coefficient
    )


def fuse(program: Program) -> Program:
    """Turn sums of products into contractions, merge each element-wise kernel used once into its element-wise
    consumer, and drop what nobody uses."""
    outputs = {r.slot for r in program.outputs}
    uses = Counter(s for op in program.ops for s in inputs(op))
    program = _compact(program, [_summed_product(op, program.ops, uses, outputs) for op in program.ops])
    ops = list(program.ops)
    outputs = {r.slot for r in program.outputs}
    uses = Counter(s for op in ops for s in inputs(op))
    depths: dict[int, int] = {}
    for n, op in enumerate(ops):
        if isinstance(op, Elementwise):
            ops[n], depths[n] = _absorb_producers(op, ops, depths, uses, outputs)
    return _compact(program, ops)


def _absorb_producers(
    op: Elementwise, ops: list[Op], depths: dict[int, int], uses: Counter[int], outputs: set[int]
) -> tuple[Elementwise, int]:
    """``op`` with every element-wise producer that only it reads, at full size, inlined while the kernel stays
    within `MAX_KERNEL_DEPTH`; and the kernel's depth.  One pass over the leaves (a producer's own arguments
    were already refused by it), so fusing a kernel is linear in its size."""
    depth = _depth(op.tree)
    producers: dict[int, Elementwise] = {}
    offsets: dict[int, int] = {}
    width = len(op.args)
    for (position, view), level in zip(arg_views(op.tree), _leaf_levels(op.tree), strict=True):
        slot = op.args[position]
        producer = ops[slot]
        if (
            isinstance(producer, Elementwise)
            and uses[slot] == 1
            and slot not in outputs
            and _full(view, len(producer.dims))
            and depth + depths[slot] <= MAX_KERNEL_DEPTH
        ):
            producers[position], offsets[position] = producer, width
            width += len(producer.args)
            depth = max(depth, level - 1 + depths[slot])
            uses[slot] -= 1
    if not producers:
        return op, depth
    args = op.args + tuple(a for p in producers.values() for a in p.args)
    return _renumber(replace(op, tree=_inline_all(op.tree, producers, offsets), args=args)), depth


def _renumber(op: Elementwise) -> Elementwise:
    """Drop arguments no leaf refers to any more and merge repeated ones."""
    number: dict[int, int] = {}
    mapping: dict[int, int] = {}
    for position, _ in arg_views(op.tree):
        mapping[position] = number.setdefault(op.args[position], len(number))
    return replace(op, tree=map_leaves(op.tree, lambda t: ("arg", mapping[t[1]], t[2])), args=tuple(number))


def _compact(program: Program, ops: list[Op]) -> Program:
    """Keep the operations the outputs need, renumbered in order."""
    needed = {r.slot for r in program.outputs}
    for n in range(len(ops) - 1, -1, -1):
        if n in needed:
            needed.update(inputs(ops[n]))
    new_slot: dict[int, int] = {}
    kept: list[Op] = []
    for n, op in enumerate(ops):
        if n in needed:
            new_slot[n] = len(kept)
            kept.append(_reslot(op, new_slot))
    return Program(
        kept,
        [Ref(new_slot[r.slot], r.labels) for r in program.outputs],
        {new_slot[s]: name for s, name in program.names.items() if s in new_slot},
        program.specs,
        {new_slot[s]: node for s, node in program.nodes.items() if s in new_slot},
    )


def _reslot(op: Op, new_slot: dict[int, int]) -> Op:
    args = tuple(new_slot[s] for s in op.args)
    if isinstance(op, Contraction):
        return replace(op, args=args, scale=tuple(new_slot[s] for s in op.scale))
    return replace(op, args=args) if args != op.args else op
