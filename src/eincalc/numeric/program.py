"""The straight-line program compiled evaluation runs: operations on numbered slots.

Each operation reads earlier slots (``args``) and fills one slot; its result's
axes have dimension names ``dims``.  Operations are frozen values written with
canonical einsum letters, so two that compute the same thing are equal and
`eincalc.numeric.lowering` keeps one.  `eincalc.evaluate` runs a program,
`eincalc.codegen` prints it as NumPy source.

>>> op = Contraction(("ab", "bc"), "ac", ("m", "k"), (0, 1))
>>> op.equation, inputs(op)
('ab,bc->ac', (0, 1))
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..core.expr import Expr
from ..core.indices import Index, TensorSpec

View = tuple[int | None, ...]
"""For each axis of a kernel's result, the argument axis that supplies it (``None``: broadcast)."""
Tree = tuple[Any, ...]
"""A kernel: ``("arg", k, view)``, ``("num", x)``, ``("apply", fn, param, tree)``, ``("add"|"mul", trees)``."""


@dataclass(frozen=True, slots=True)
class Load:
    """Input tensor ``name``; ``equation`` extracts a diagonal when an index repeats (``"aa->a"``)."""

    name: str
    dims: tuple[str, ...]
    equation: str | None = None
    args: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class Scalar:
    """A number: ``value``, or the size of dimension ``size_of``."""

    value: float = 1.0
    size_of: str | None = None
    dims: tuple[str, ...] = ()
    args: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class Fill:
    """A constant array: ``ones``, ``zeros`` or ``eye`` over ``dims``."""

    kind: str
    dims: tuple[str, ...]
    args: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class Elementwise:
    """An element-wise kernel over ``args`` (see `Tree`)."""

    tree: Tree
    dims: tuple[str, ...]
    args: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class Contraction:
    """``einsum(inputs -> output)`` over ``args``, times ``coefficient`` and the scalar slots ``scale``."""

    inputs: tuple[str, ...]
    output: str
    dims: tuple[str, ...]
    args: tuple[int, ...]
    coefficient: float = 1.0
    scale: tuple[int, ...] = ()

    @property
    def equation(self) -> str:
        return f"{','.join(self.inputs)}->{self.output}"


@dataclass(frozen=True, slots=True)
class Custom:
    """A node kind with a registered evaluator; ``views`` put each arg in its child's index order."""

    node: Expr
    dims: tuple[str, ...]
    args: tuple[int, ...]
    views: tuple[tuple[int, ...], ...]


Op = Load | Scalar | Fill | Elementwise | Contraction | Custom


def inputs(op: Op) -> tuple[int, ...]:
    """Every slot ``op`` reads, once per use (a kernel leaf counts each time it occurs)."""
    if isinstance(op, Contraction):
        return (*op.args, *op.scale)
    if isinstance(op, Elementwise):
        return tuple(op.args[position] for position, _ in arg_views(op.tree))
    return op.args


@dataclass(frozen=True, slots=True)
class Ref:
    """A lowered expression: slot ``slot``, whose axes carry the indices ``labels``."""

    slot: int
    labels: tuple[Index, ...]


@dataclass
class Program:
    """Operations in execution order, the output refs, and a readable name per slot where known."""

    ops: list[Op] = field(default_factory=list)
    outputs: list[Ref] = field(default_factory=list)
    names: dict[int, str] = field(default_factory=dict)
    specs: dict[str, TensorSpec] = field(default_factory=dict)
    nodes: dict[int, Expr] = field(default_factory=dict)
    """For each slot, the expression whose lowering first produced it (for messages)."""


def shared_outputs(program: Program) -> tuple[bool, ...]:
    """For each output, whether its array would be one the caller also holds: an input returned as it is (through
    views), or the slot of an earlier output (``[e, e]``, ``[e, e.T]``).  Those are returned as copies.

    >>> from eincalc.core.indices import Index
    >>> i = Index("i", "n")
    >>> ops = [Load("x", ("n",)), Elementwise(("arg", 0, (0,)), ("n",), (0,))]
    >>> shared_outputs(Program(ops, [Ref(1, (i,)), Ref(0, (i,))]))   # a view of the input x, and x itself
    (True, True)
    """
    seen: set[int] = set()
    shared = []
    for ref in program.outputs:
        slot = ref.slot
        while isinstance(op := program.ops[slot], Elementwise) and op.tree[0] == "arg":
            slot = op.args[op.tree[1]]
        shared.append(isinstance(program.ops[slot], Load) or slot in seen)
        seen.add(slot)
    return tuple(shared)


def arg_views(tree: Tree) -> list[tuple[int, View]]:
    """``(argument number, view)`` of every argument leaf of a kernel, in order (without recursion: every fused
    kernel of a deep chain is read, often, while it is fused).

    >>> arg_views(("mul", (("arg", 0, (0,)), ("apply", "tanh", None, ("arg", 1, (0,))), ("num", 2.0))))
    [(0, (0,)), (1, (0,))]
    """
    found: list[tuple[int, View]] = []
    stack = [tree]
    while stack:
        node = stack.pop()
        kind = node[0]
        if kind == "arg":
            found.append((node[1], node[2]))
        elif kind == "apply":
            stack.append(node[3])
        elif kind != "num":
            stack.extend(reversed(node[1]))
    return found


def map_leaves(tree: Tree, leaf: Callable[[Tree], Tree]) -> Tree:
    """``tree`` with every ``("arg", …)`` leaf replaced by ``leaf(it)`` (recursive: fusion bounds a kernel's
    depth).

    >>> map_leaves(("add", (("arg", 0, (0,)), ("num", 1.0))), lambda t: ("arg", t[1] + 5, t[2]))
    ('add', (('arg', 5, (0,)), ('num', 1.0)))
    """
    kind = tree[0]
    if kind == "arg":
        return leaf(tree)
    if kind == "num":
        return tree
    if kind == "apply":
        return (kind, tree[1], tree[2], map_leaves(tree[3], leaf))
    return (kind, tuple([map_leaves(t, leaf) for t in tree[1]]))
