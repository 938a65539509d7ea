"""Element-wise kernels for NumPy arrays, compiled once per shape into ufunc calls that write into buffers.

A kernel (`Tree`) becomes a list of ufunc calls, each
with ``out=``: the result buffer, or a scratch buffer for a second full-size
sub-expression.  So ``h (1 − h) g`` is three passes and no new array
(``out = 1 − h; out *= h; out *= g``), ``x − y`` is one ``np.subtract``, and a
kernel given one of its arguments' buffers as ``out`` (donation, see
`eincalc.numeric.memory`) reads that argument in its first call, before anything
is written.  Sub-expressions smaller than the result (a bias ``b[None, :]``)
are computed at their own size and broadcast.

>>> import numpy as np
>>> h, g = ("arg", 0, (0, 1)), ("arg", 1, (0, 1))
>>> tree = ("mul", (h, ("add", (("mul", (h, ("num", -1.0))), ("num", 1.0))), g))
>>> kernel = compile_kernel(tree, [(2, 2), (2, 2)], (2, 2))
>>> kernel.scratch, kernel.calls
(0, 3)
>>> kernel.run([np.full((2, 2), 0.5), np.ones((2, 2))], np.empty((2, 2)), [])
array([[0.25, 0.25],
       [0.25, 0.25]])
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np

from ..core import functions
from .program import Tree, View, arg_views, map_leaves
from .runtime import along_rows, in_place_rule, run_kernel

Shape = tuple[int, ...]
Operand = Callable[[Sequence[Any], list[Any]], Any]
"""The value of an operand, from the kernel's arguments and its registers (``registers[0]`` is the result)."""
Call = Callable[[Sequence[Any], list[Any]], Any]
_T = TypeVar("_T")


@dataclass(frozen=True)
class Kernel:
    """A compiled kernel: ``run(args, out, scratch)`` fills ``out``; it needs ``scratch`` buffers of its shape."""

    calls: int
    scratch: int
    code: tuple[Call, ...]

    def run(self, args: Sequence[Any], out: Any, scratch: Sequence[Any]) -> Any:
        registers = [out, *scratch]
        for call in self.code:
            call(args, registers)
        return out


def donors(tree: Tree) -> tuple[int, ...]:
    """Arguments a kernel may overwrite: read once, whole, in their own axis order."""
    leaves = arg_views(tree)
    reads = Counter(k for k, _ in leaves)
    return tuple(k for k, view in leaves if reads[k] == 1 and view == tuple(range(len(view))))


def compile_kernel(tree: Tree, shapes: Sequence[Shape], shape: Shape, donor: int | None = None) -> Kernel:
    """Calls computing ``tree`` over arguments of ``shapes`` into a result of ``shape``; ``out`` is argument
    ``donor``'s own array when that is given."""
    compiler = _Compiler(shapes, shape, donor)
    compiler.into(tree, 0)
    return Kernel(len(compiler.code), compiler.registers - 1, tuple(compiler.code))


def _leaf_shape(view: View, shape: Shape) -> Shape:
    return tuple(1 if a is None else shape[a] for a in view)


def _once(table: dict[int, tuple[Tree, _T]], tree: Tree, compute: Callable[[Tree], _T]) -> _T:
    """``compute(tree)``, remembered in ``table`` by the sub-tree's identity."""
    seen = table.get(id(tree))
    if seen is None:
        seen = table[id(tree)] = (tree, compute(tree))
    return seen[1]


def _broadcast(shapes: Sequence[Shape]) -> Shape:
    """The common shape of kernel parts: each is ``()`` or has the result's rank, every axis 1 or full.

    >>> _broadcast([(), (3, 1), (1, 4)])
    (3, 4)
    """
    ranked = [s for s in shapes if s]
    return tuple(max(sizes) for sizes in zip(*ranked, strict=True)) if ranked else ()


def _negated(tree: Tree) -> Tree | None:
    """``x`` when ``tree`` is ``−1 · x``."""
    if tree[0] == "mul" and len(tree[1]) == 2 and ("num", -1.0) in tree[1]:
        return next(t for t in tree[1] if t != ("num", -1.0))
    return None


class _Compiler:
    def __init__(self, shapes: Sequence[Shape], shape: Shape, donor: int | None) -> None:
        self.shapes, self.shape, self.donor = shapes, shape, donor
        self.code: list[Call] = []
        self.registers = 1
        """Registers needed: the result and the scratch buffers."""
        self.registers_used = 1
        self.shapes_seen: dict[int, tuple[Tree, Shape]] = {}
        """Each sub-tree's shape, by identity, computed once (the tree is kept so its id stays its own)."""
        self.donor_seen: dict[int, tuple[Tree, bool]] = {}

    def shape_of(self, tree: Tree) -> Shape:
        """The shape of ``tree``'s value (once per sub-tree: a compile is linear in the kernel's size)."""
        return _once(self.shapes_seen, tree, self._shape)

    def _shape(self, tree: Tree) -> Shape:
        kind = tree[0]
        if kind == "num":
            return ()
        if kind == "arg":
            return _leaf_shape(tree[2], self.shapes[tree[1]])
        if kind == "apply":
            return self.shape_of(tree[3])
        return _broadcast([self.shape_of(t) for t in tree[1]])

    def holds_donor(self, tree: Tree) -> bool:
        """Whether the donor argument is a leaf of ``tree`` (once per sub-tree)."""
        return self.donor is not None and _once(self.donor_seen, tree, self._holds_donor)

    def _holds_donor(self, tree: Tree) -> bool:
        kind = tree[0]
        if kind == "arg":
            return bool(tree[1] == self.donor)
        if kind == "num":
            return False
        if kind == "apply":
            return self.holds_donor(tree[3])
        return any(self.holds_donor(t) for t in tree[1])

    def along_rows(self, tree: Tree) -> bool:
        """Whether ``tree``'s value is broadcast along the result's rows (a column ``m[:, None]``)."""
        shape = self.shape_of(tree)
        return len(self.shape) > 1 and len(shape) == len(self.shape) and shape[-1] == 1 < self.shape[-1]

    def operand(self, tree: Tree) -> Operand | None:
        """A register-free way to get ``tree``'s value (a view, a number, a small broadcast part), else ``None``."""
        kind = tree[0]
        if kind == "num":
            value = tree[1]
            return lambda args, registers: value
        if kind == "arg":
            return _leaf(tree[1], tree[2], len(self.shapes[tree[1]]))
        if self.shape_of(tree) != self.shape:
            return lambda args, registers: run_kernel(tree, args, np, numpy=True)
        return None

    def into(self, tree: Tree, target: int) -> None:
        """Append the calls that leave ``tree``'s value in register ``target``."""
        kind = tree[0]
        if kind in ("num", "arg") or self.shape_of(tree) != self.shape:
            value = self.operand(tree)
            assert value is not None
            self.code.append(lambda args, registers: np.copyto(registers[target], value(args, registers)))
        elif kind == "apply":
            self.apply(tree, target)
        else:
            self.fold(tree, target)

    def apply(self, tree: Tree, target: int) -> None:
        name, param, inner = tree[1], tree[2], tree[3]
        rule = in_place_rule(name, param)
        source = self.operand(inner)
        if source is None:
            self.into(inner, target)
            source = _register(target)
        if rule is None:
            self.code.append(
                lambda args, registers: np.copyto(
                    registers[target], functions.apply_array(name, source(args, registers), param)
                )
            )
        else:
            self.code.append(lambda args, registers: rule(source(args, registers), registers[target]))

    def fold(self, tree: Tree, target: int) -> None:
        """An add or mul: the part holding the donor first, else a full-size sub-kernel, then the rest in place."""
        ufunc, inverse = (np.add, np.subtract) if tree[0] == "add" else (np.multiply, None)
        parts: list[tuple[Tree, bool]] = []
        for part in tree[1]:
            inner = _negated(part) if inverse is not None else None
            parts.append((inner, True) if inner is not None else (part, False))
        parts.sort(key=lambda p: (not self.holds_donor(p[0]), self.operand(p[0]) is not None, p[1]))
        (first, negated), rest = parts[0], parts[1:]
        source = self.operand(first)
        broadcast = source is not None and self.along_rows(first)  # the first operand, read as a column
        if source is None or not rest:
            self.into(first, target)
            if negated:
                self.code.append(lambda args, registers: np.negative(registers[target], out=registers[target]))
            source, negated, broadcast = _register(target), False, False
        for part, part_negated in rest:
            value = self.operand(part)
            register = None
            if value is None:
                register = self.registers_used
                self.registers_used += 1
                self.registers = max(self.registers, self.registers_used)
                self.into(part, register)
                value = _register(register)
            pair: tuple[Any, Any] = (ufunc, inverse)
            if broadcast or self.along_rows(part):
                pair = (along_rows(ufunc, self.shape[-1]), inverse and along_rows(inverse, self.shape[-1]))
            self.code.append(_combine(*pair, source, negated, value, part_negated, target))
            if register is not None:
                self.registers_used -= 1
            source, negated, broadcast = _register(target), False, False


def _leaf(k: int, view: View, rank: int) -> Operand:
    """Argument ``k`` arranged as ``view`` says (a view of it; decided now, not per call)."""
    order = [a for a in view if a is not None]
    if not rank or (order == list(range(rank)) and None not in view):
        return lambda args, registers: args[k]
    index = tuple(slice(None) if a is not None else None for a in view)
    if order == sorted(order):
        return lambda args, registers: args[k][index]
    return lambda args, registers: args[k].transpose(order)[index]


def _register(n: int) -> Operand:
    return lambda args, registers: registers[n]


def _combine(ufunc: Any, inverse: Any, a: Operand, a_negated: bool, b: Operand, b_negated: bool, target: int) -> Call:
    """``registers[target] = a ∘ b``, where a negated operand of an add is subtracted."""
    if a_negated and b_negated:

        def both(args: Sequence[Any], registers: list[Any]) -> Any:
            out = registers[target]
            ufunc(a(args, registers), b(args, registers), out=out)
            return np.negative(out, out=out)

        return both
    if a_negated:
        return lambda args, registers: inverse(b(args, registers), a(args, registers), out=registers[target])
    if b_negated:
        return lambda args, registers: inverse(a(args, registers), b(args, registers), out=registers[target])
    return lambda args, registers: ufunc(a(args, registers), b(args, registers), out=registers[target])


# -- symmetric results ---------------------------------------------------------------------------------

SYMMETRIC_BLOCK = 256
"""Side of the blocks a symmetric kernel computes above the diagonal and mirrors below it: a block's column
walk of the transposed argument touches 256 cache lines (16 KiB, within a 32 KiB L1), and a quarter of 128's
blocks means a quarter of the per-block Python work (``A + Aᵀ`` at n = 2000 on an AMD EPYC: 0.81–0.82 of NumPy's
time against 1.03–1.08 with 128, ``python benchmarks/paired.py``)."""
SYMMETRIC_FROM = 1024
"""Smallest side at which a symmetric kernel is blocked (smaller matrices stay in cache: one pass is as fast)."""


def symmetric(tree: Tree, shape: Shape) -> bool:
    """Whether a square kernel's value is its own transpose, seen from its form: swapping the result's two axes
    maps its leaves onto themselves, up to the order of sums and products (``A + Aᵀ``, ``σ(S) ⊙ (J + Jᵀ)``)."""
    if len(shape) != 2 or shape[0] != shape[1]:
        return False
    swapped = map_leaves(tree, lambda t: ("arg", t[1], (t[2][1], t[2][0])))
    return _unordered(swapped) == _unordered(tree)


def _unordered(tree: Tree) -> Any:
    """``tree`` with the terms of every sum and factors of every product in a fixed order."""
    kind = tree[0]
    if kind in ("add", "mul"):
        return (kind, tuple(sorted((_unordered(t) for t in tree[1]), key=repr)))
    if kind == "apply":
        return (*tree[:3], _unordered(tree[3]))
    return tree


class SymmetricKernel:
    """A symmetric kernel computed in blocks on and above the diagonal, each block above copied transposed below
    it, so every argument is read once in cache-sized pieces (``A + Aᵀ`` reads each entry of ``A`` once, instead
    of once along rows and once, cache line by cache line, down columns)."""

    def __init__(self, tree: Tree, shape: Shape) -> None:
        self.sources = arg_views(tree)
        """The argument and view of each leaf; in the blocked tree, leaf ``n`` is argument ``n``."""
        numbered = iter(range(len(self.sources)))
        self.tree = map_leaves(tree, lambda t: ("arg", next(numbered), t[2]))
        self.side = shape[0]
        self.kernels: dict[tuple[Shape, ...], Kernel] = {}

    def run(self, args: Sequence[Any], out: Any, scratch: Sequence[Any]) -> Any:
        b = SYMMETRIC_BLOCK
        for i in range(0, self.side, b):
            rows = slice(i, i + b)
            for j in range(i, self.side, b):
                cols = slice(j, j + b)
                block = out[rows, cols]
                parts = [_part(args[k], view, rows, cols) for k, view in self.sources]
                shapes = tuple(getattr(x, "shape", ()) for x in parts)
                kernel = self.kernels.get((*shapes, block.shape))
                if kernel is None:
                    kernel = self.kernels[(*shapes, block.shape)] = compile_kernel(self.tree, shapes, block.shape)
                kernel.run(parts, block, [np.empty_like(block) for _ in range(kernel.scratch)])
                if j != i:
                    np.copyto(out[cols, rows], block.T)
        return out


def _part(x: Any, view: View, rows: slice, cols: slice) -> Any:
    """The piece of argument ``x`` (arranged by ``view``) that a block at ``rows``, ``cols`` of the result reads."""
    if not getattr(x, "ndim", 0):
        return x
    index = [slice(None)] * x.ndim
    for axis, source in enumerate(view):
        if source is not None:
            index[source] = rows if axis == 0 else cols
    return x[tuple(index)]
