"""Lowering: index-form expressions to one straight-line program of array operations.

Every distinct value gets a slot; a slot's axes have a fixed order, and each
expression node is lowered to a `Ref` (a slot plus the index labelling
each of its axes), so a transpose costs nothing: it only relabels.  Operations
are frozen values written with canonical einsum letters, which makes common
sub-expressions meet in one slot even when their index names differ
(``h[i,q] (1 − h[i,q])`` in one gradient and ``h[i,p] (1 − h[i,p])`` in
another).

Inside a product, factors over the same indices (some of them kept, or all
of them carried by a larger factor too) are multiplied element-wise first:
that never costs more and lets gradients share the product (``h (1 − h) δ`` in
both ``Xᵀ(h (1 − h) δ)`` and its column sums).  A Kronecker delta with a
summed index renames instead of materialising, and element-wise
work (functions, sums, Hadamard products, broadcasts) becomes
`Elementwise` kernels, which `fuse()` merges into as few array
passes as possible.

>>> from eincalc.frontend.build import tensors, sigmoid
>>> W, x = tensors("W[m,n] x[n]")
>>> program = lower([sigmoid(W @ x)])
>>> [type(op).__name__ for op in program.ops]
['Load', 'Load', 'Contraction', 'Elementwise']
"""

from __future__ import annotations

from collections.abc import Sequence

import opt_einsum

from ..core.errors import UnsupportedError
from ..core.expr import Expr
from ..core.indices import Index, declared_differently
from ..core.names import canonical, rename
from ..core.nodes import Add, Apply, Const, Contract, Delta, Named, One, Size, Tensor, Zero
from .factoring import factor_shared
from .fusion import fuse
from .program import Contraction, Custom, Elementwise, Fill, Load, Op, Program, Ref, Scalar, Tree, View


def _letters(groups: Sequence[Sequence[Index]]) -> list[str]:
    """One einsum string per group, letters in order of first appearance."""
    table: dict[Index, str] = {}
    return ["".join(table.setdefault(k, opt_einsum.get_symbol(len(table))) for k in g) for g in groups]


def _view(labels: Sequence[Index], out: Sequence[Index]) -> View:
    return tuple(labels.index(k) if k in labels else None for k in out)


class _Lowerer:
    def __init__(self) -> None:
        self.program = Program()
        self.slots: dict[Op, int] = {}
        self.refs: dict[Expr, Ref] = {}
        self.seen: set[int] = set()
        self.current: Expr | None = None

    def emit(self, op: Op) -> int:
        if op not in self.slots:
            self.slots[op] = len(self.program.ops)
            self.program.ops.append(op)
            if self.current is not None:
                self.program.nodes[self.slots[op]] = self.current
        return self.slots[op]

    def lower(self, root: Expr) -> Ref:
        """Lower ``root`` children first, never walking again into what an earlier output lowered."""
        stack: list[tuple[Expr, bool]] = [(root, False)]
        while stack:
            node, expanded = stack.pop()
            if expanded:
                self.current = node
                self.refs[node] = self.node(node)
            elif id(node) not in self.seen:
                self.seen.add(id(node))
                stack.append((node, True))
                stack.extend((c, False) for c in reversed(node.children()) if id(c) not in self.seen)
        return self.refs[root]

    def node(self, node: Expr) -> Ref:
        if isinstance(node, Tensor):
            return self.tensor(node)
        if isinstance(node, Named):
            body = self.refs[node.body]
            rename = dict(zip(node.body.free, node.indices, strict=True))
            self.program.names.setdefault(body.slot, node.name)
            return Ref(body.slot, tuple(rename[k] for k in body.labels))
        if isinstance(node, Const):
            return Ref(self.emit(Scalar(float(node.value))), ())
        if isinstance(node, Size):
            return Ref(self.emit(Scalar(size_of=node.dim)), ())
        if isinstance(node, Delta) and node.i != node.j:
            return Ref(self.emit(Fill("eye", node.shape)), (node.i, node.j))
        if isinstance(node, Delta | One | Zero):
            kind = "zeros" if isinstance(node, Zero) else "ones"
            return Ref(self.emit(Fill(kind, node.shape)), node.free)
        if isinstance(node, Apply):
            arg = self.refs[node.arg]
            tree = ("apply", node.fn, node.param, ("arg", 0, tuple(range(len(arg.labels)))))
            return self.elementwise(tree, [arg.slot], arg.labels)
        if isinstance(node, Add):
            return self.add(node)
        if isinstance(node, Contract):
            return self.contract([self.refs[f] for f in node.factors], node.out)
        return self.custom(node)

    def tensor(self, node: Tensor) -> Ref:
        conflict = declared_differently(self.program.specs.setdefault(node.spec.name, node.spec), node.spec)
        if conflict:
            raise UnsupportedError(conflict)
        equation = None
        if node.free != node.indices:
            given, kept = _letters([node.indices, node.free])
            equation = f"{given}->{kept}"
        slot = self.emit(Load(node.spec.name, node.shape, equation))
        self.program.names.setdefault(slot, node.spec.name)
        return Ref(slot, node.free)

    def custom(self, node: Expr) -> Ref:
        kids = [self.refs[c] for c in node.children()]
        views = tuple(tuple(r.labels.index(k) for k in c.free) for r, c in zip(kids, node.children(), strict=True))
        positional = {k: Index(f"#{n}", k.dim) for n, k in enumerate(node.free)}  # equal modulo index names
        op = Custom(canonical(rename(node, positional)), node.shape, tuple(r.slot for r in kids), views)
        return Ref(self.emit(op), node.free)

    def elementwise(self, tree: Tree, args: list[int], out: tuple[Index, ...]) -> Ref:
        dims = tuple(k.dim for k in out)
        return Ref(self.emit(Elementwise(tree, dims, tuple(args))), out)

    def leaves(self, refs: Sequence[Ref], out: Sequence[Index]) -> tuple[list[Tree], list[int]]:
        """Kernel leaves for ``refs`` aligned to ``out``: constants inline, slots as arguments."""
        trees: list[Tree] = []
        args: list[int] = []
        for ref in sorted(refs, key=lambda r: (r.slot, [-1 if a is None else a for a in _view(r.labels, out)])):
            op = self.program.ops[ref.slot]
            if isinstance(op, Scalar) and op.size_of is None:
                trees.append(("num", op.value))
                continue
            if ref.slot not in args:
                args.append(ref.slot)
            trees.append(("arg", args.index(ref.slot), _view(ref.labels, out)))
        return trees, args

    def add(self, node: Add) -> Ref:
        trees, args = self.leaves([self.refs[t] for t in node.terms], node.out)
        numbers = [t[1] for t in trees if t[0] == "num"]
        trees = [t for t in trees if t[0] != "num"] + ([("num", sum(numbers))] if numbers else [])
        if len(args) == 1 and len(trees) == 1 and None not in trees[0][2]:
            return self.refs[node.terms[0]]
        return self.elementwise(("add", tuple(trees)), args, node.out)

    def contract(self, factors: list[Ref], out: tuple[Index, ...]) -> Ref:
        factors = _drop_deltas(factors, out, self.program.ops)
        tensors = [f for f in factors if f.labels]
        scalars = [f for f in factors if not f.labels]
        groups: dict[object, list[Ref]] = {}
        for n, f in enumerate(tensors):
            labels = set(f.labels)
            shared = len(labels) == len(f.labels) and (
                not labels.isdisjoint(out) or any(set(g.labels) > labels for g in tensors)
            )
            groups.setdefault(frozenset(labels) if shared else n, []).append(f)
        operands = [g[0] if len(g) == 1 else self.product(g, g[0].labels) for g in groups.values()]
        present = {k for f in operands for k in f.labels}
        if present <= set(out) and all(len(set(f.labels)) == len(f.labels) for f in operands):
            if len(operands) == 1 and set(operands[0].labels) == set(out) and not scalars:
                return operands[0]  # a transpose: relabel only
            return self.product(operands + scalars, out)
        numbers, scale_refs = _split_scalars(scalars, self.program.ops)
        operands.sort(key=lambda r: r.slot)
        *inputs, output = _letters([*(f.labels for f in operands), out])
        op = Contraction(
            tuple(inputs),
            output,
            tuple(k.dim for k in out),
            tuple(f.slot for f in operands),
            numbers,
            tuple(sorted(r.slot for r in scale_refs)),
        )
        return Ref(self.emit(op), out)

    def product(self, refs: Sequence[Ref], out: Sequence[Index]) -> Ref:
        trees, args = self.leaves(refs, out)
        numbers = [t[1] for t in trees if t[0] == "num"]
        coefficient = 1.0
        for x in numbers:
            coefficient *= x
        trees = [t for t in trees if t[0] != "num"] + ([("num", coefficient)] if coefficient != 1.0 else [])
        if not trees:
            trees = [("num", coefficient)]
        tree = trees[0] if len(trees) == 1 and trees[0][0] == "arg" else ("mul", tuple(trees))
        return self.elementwise(tree, args, tuple(out))


def _split_scalars(scalars: Sequence[Ref], ops: Sequence[Op]) -> tuple[float, list[Ref]]:
    """The product of constant scalar factors, and the scalar factors that are computed."""
    number = 1.0
    rest: list[Ref] = []
    for ref in scalars:
        op = ops[ref.slot]
        if isinstance(op, Scalar) and op.size_of is None:
            number *= op.value
        else:
            rest.append(ref)
    return number, rest


def _drop_deltas(factors: list[Ref], out: tuple[Index, ...], ops: Sequence[Op]) -> list[Ref]:
    """Factors with every ``δ[i,j]`` that has a summed index, and every redundant ``1[i]``, removed by renaming."""
    for position, f in enumerate(factors):
        op = ops[f.slot]
        if not (isinstance(op, Fill) and op.kind in ("eye", "ones")) or not f.labels:
            continue
        others = factors[:position] + factors[position + 1 :]
        if op.kind == "eye":
            i, j = f.labels
            keep, drop = (i, j) if j not in out else (j, i) if i not in out else (None, None)
            if keep is None or drop is None:
                continue
            renamed = [Ref(g.slot, tuple(keep if k == drop else k for k in g.labels)) for g in others]
            if not any(keep in g.labels for g in renamed):
                continue  # Σ δ[i,i] alone: a size, left to the contraction
            return _drop_deltas(renamed, out, ops)
        (i,) = f.labels
        if any(i in g.labels for g in others):
            return _drop_deltas(others, out, ops)
    return factors


def lower(exprs: Sequence[Expr]) -> Program:
    """The fused straight-line program computing every expression of ``exprs``.

    Sums of contractions sharing a factor are lowered factored (`factor_shared()`): the logistic-regression
    gradient ``X[i,p] σ(X[i,j] w[j]) − y[i] X[i,p]`` contracts ``X`` over its rows once, not twice.

    >>> from eincalc.frontend.build import tensors
    >>> from eincalc.frontend.parse import parse
    >>> X, y, w = tensors("X[b,n] y[b] w[n]")
    >>> program = lower([parse("X[i,p] sigmoid(X[i,j] w[j]) - y[i] X[i,p]", X, y, w)])
    >>> [op.equation for op in program.ops if isinstance(op, Contraction)]
    ['ab,b->a', 'ab,a->b']
    """
    lowerer = _Lowerer()
    for expr in factor_shared(exprs):
        expr.free  # noqa: B018 - compute free indices bottom-up before walking
        lowerer.program.outputs.append(lowerer.lower(expr))
    return fuse(lowerer.program)
