"""Reading a matrix form: why it looks as it does, one note per construct its printed text shows.

The notes are written only for the constructs the printed text shows outside
function arguments (a transpose, an outer product, a Hadamard product…), and
each is filled from the index structure of the product that holds it.

>>> from eincalc.frontend.build import tensors
>>> from eincalc.matrix.view import to_matrix
>>> from eincalc.calculus.diff import vjp
>>> W, a, g = tensors("W[m,n] a[n] g[m]")
>>> result = vjp(W @ a, a, g)
>>> print(reading_notes(result, to_matrix(result))[-1])
Wᵀ: in W[i,p] the row index i is summed with g[i] and the column index p is the result's index; \
in a matrix product a summed index is the column of the factor on its left and the row of the factor \
on its right, with the result's indices at the outer ends, so W is used with its indices swapped: transposed.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Iterator

from ..core.expr import Expr
from ..core.indices import Index
from ..core.nodes import Add, Const, Contract, Delta, Named, Tensor
from ..frontend.printing import line
from ..matrix.render import to_text as matrix_text
from ..matrix.tree import (
    Call,
    Diag,
    DiagPart,
    Function,
    Hadamard,
    Identity,
    Inner,
    Intermediate,
    MatMul,
    MatrixExpr,
    Outer,
    Scale,
    Sum,
    Symbol,
    Trace,
    Transpose,
)
from ..matrix.view import MatrixForm
from .reasons import factor_text, names


def reading_notes(expr: Expr, form: MatrixForm) -> list[str]:
    """Why the matrix form looks as it does: one note per construct its printed text shows.

    Only the *surface* of the printed form counts: what stands outside the
    arguments of functions (``σ(Wᵀ a)`` uses ``Wᵀ`` inside ``σ``, which says
    nothing about a product around it).
    """
    surface = list(_surface(form.tree))
    kinds = {type(node) for node in surface}
    products = _products(expr)
    notes: list[str] = []
    for product in products:
        reader = _ProductReader(product, expr.free)
        if MatMul in kinds:
            notes += reader.chain()
            notes.append(reader.order(form))
        if Outer in kinds:
            notes += reader.outer()
        if Hadamard in kinds:
            notes += reader.hadamard()
        if Sum in kinds:
            notes += reader.sums()
    notes += _transpose_notes(surface, products, expr.free)
    if isinstance(expr, Add):
        notes += _broadcasts(expr)
        notes.append(_prediction_minus_label(expr))
    if Diag in kinds:
        notes.append("A delta joining two free indices, times a vector on one of them, is a diagonal matrix: diag(·).")
    if Identity in kinds:
        notes.append("A delta with both indices free is the identity matrix I.")
    return [n for n in dict.fromkeys(notes) if n]


def inline_names(node: MatrixExpr, names_: Collection[str]) -> MatrixExpr:
    """The matrix tree with the named intermediates ``names_`` replaced by their definitions."""
    if isinstance(node, Intermediate) and node.name in names_:
        return inline_names(node.body, names_)
    changes: dict[str, object] = {}
    for item in dataclasses.fields(node):  # type: ignore[arg-type]
        value = getattr(node, item.name)
        if not item.init:
            continue
        if isinstance(value, MatrixExpr):
            changes[item.name] = inline_names(value, names_)
        elif isinstance(value, tuple) and value and all(isinstance(v, MatrixExpr) for v in value):
            changes[item.name] = tuple(inline_names(v, names_) for v in value)
    return dataclasses.replace(node, **changes)  # type: ignore[type-var]


def _children(node: MatrixExpr) -> Iterator[MatrixExpr]:
    for item in dataclasses.fields(node):  # type: ignore[arg-type]
        value = getattr(node, item.name)
        for child in value if isinstance(value, tuple) else (value,):
            if isinstance(child, MatrixExpr):
                yield child


def _surface(node: MatrixExpr) -> Iterator[MatrixExpr]:
    """The nodes of a matrix tree that its text shows outside function arguments and named intermediates.

    ``diag(·)``, ``tr(·)`` are functions too: in ``diag(dh₆ᵀ B) v`` the product inside ``diag`` is not the
    product around it, so a note on how ``dh₆`` stands in the result's product would be false.
    """
    yield node
    if isinstance(node, Intermediate | Function | Call | Diag | DiagPart | Trace | Inner):
        return
    for child in _children(node):
        yield from _surface(child)


def _symbols(nodes: list[MatrixExpr], name: str) -> list[MatrixExpr]:
    return [n for n in nodes if isinstance(n, Symbol | Intermediate) and n.name == name]


def _transpose_notes(surface: list[MatrixExpr], products: list[Contract], result: tuple[Index, ...]) -> list[str]:
    """``Wᵀ: …`` for a matrix the printed form shows transposed, once, in the one product that holds it."""
    notes = []
    for node in surface:
        if not isinstance(node, Transpose) or not isinstance(node.child, Symbol | Intermediate):
            continue
        child = node.child
        if child.kind != "matrix" or getattr(child, "symmetric", False) or len(_symbols(surface, child.name)) != 1:
            continue
        holders = [p for p in products if len(_ProductReader(p, result).named(child.name)) == 1]
        if len(holders) == 1:
            notes.append(_ProductReader(holders[0], result).transposed(child))
    return notes


def _products(expr: Expr) -> list[Contract]:
    terms = expr.terms if isinstance(expr, Add) else (expr,)
    return [t for t in terms if isinstance(t, Contract)]


def _broadcasts(expr: Add) -> list[str]:
    notes = []
    for term in expr.terms:
        missing = [k for k in expr.out if k not in term.free]
        if missing and term.free:
            notes.append(
                f"{line(term)} has no index {names(missing)}: it is the same for every {names(missing)} "
                "and is repeated along it (broadcast)."
            )
    return notes


def _prediction_minus_label(expr: Add) -> str:
    """``softmax(θ) − y`` is the prediction ŷ minus the label y."""
    if len(expr.terms) != 2:
        return ""
    labels = [
        t
        for t in expr.terms
        if isinstance(t, Contract)
        and len(t.factors) == 2
        and t.factors[0] == Const(-1.0)
        and isinstance(t.factors[1], Tensor)
        and t.factors[1].spec.simplex
    ]
    predictions = [t for t in expr.terms if getattr(t, "fn", None) == "softmax"]
    if len(labels) != 1 or len(predictions) != 1:
        return ""
    label = labels[0].factors[1]
    assert isinstance(label, Tensor)
    return (
        f"{line(predictions[0])} is the predicted distribution ŷ, so this is ŷ − {label.spec.name}: "
        "the prediction minus the label."
    )


class _ProductReader:
    """Facts about one product: which factors carry which index, and what each index is for."""

    def __init__(self, product: Contract, result: tuple[Index, ...]) -> None:
        self.product = product
        self.result = result
        self.factors = [f for f in product.factors if not isinstance(f, Const) and f.free]
        self.summed = set(product.summed)

    def carriers(self, index: Index, besides: Expr | None = None) -> list[Expr]:
        return [f for f in self.factors if index in f.free and f is not besides]

    def named(self, name: str) -> list[Expr]:
        """The rank-2 factors called ``name``."""
        return [f for f in self.factors if isinstance(f, Tensor | Named) and _name(f) == name and f.rank == 2]

    def role(self, index: Index, owner: Expr) -> str:
        if index in self.summed:
            others = self.carriers(index, owner)
            return f"summed with {' and '.join(line(f) for f in others)}" if others else "summed"
        if index in self.result:
            if len(self.result) == 2:
                return f"the result's {('row', 'column')[self.result.index(index)]} index"
            return "the result's index"
        return "a free index"

    def transposed(self, node: Symbol | Intermediate) -> str:
        factor = self.named(node.name)[0]
        row, col = factor.free
        if row in self.summed and len(self.carriers(row)) == 1:
            return ""  # a plain sum over rows, explained by the sum note
        shown = matrix_text(node)
        if row not in self.summed and col not in self.summed:
            return (
                f"{shown}ᵀ: in {line(factor)} the row index {row} is {self.role(row, factor)} and the column "
                f"index {col} is {self.role(col, factor)}: {shown} with its indices swapped, its transpose."
            )
        return (
            f"{shown}ᵀ: in {line(factor)} the row index {row} is {self.role(row, factor)} and the column "
            f"index {col} is {self.role(col, factor)}; in a matrix product a summed index is the column of "
            "the factor on its left and the row of the factor on its right, with the result's indices at the "
            f"outer ends, so {shown} is used with its indices swapped: transposed."
        )

    def chain(self) -> list[str]:
        joined = [k for k in self.product.summed if len(self.carriers(k)) == 2]
        notes = []
        for k in joined:
            left, right = self.carriers(k)
            notes.append(
                f"{k} is summed between {line(left)} and {line(right)}: a matrix product, which sums "
                "the column index of its left factor against the row index of its right factor."
            )
        if joined and len(self.result) == 2:
            row, col = self.result
            first, last = self.carriers(row), self.carriers(col)
            if len(first) == 1 and len(last) == 1 and first[0] is not last[0]:
                notes.append(
                    f"{line(first[0])} carries the result's row index {row}, so it stands on the left; "
                    f"{line(last[0])} carries the column index {col}, so it stands on the right."
                )
        return notes

    def order(self, form: MatrixForm) -> str:
        """Why a matrix times a vector stands in its order: the factor carrying the result's index goes outside."""
        if len(self.result) != 1:
            return ""
        (index,) = self.result
        carriers = [f for f in self.carriers(index) if isinstance(f, Tensor | Named) and f.rank == 2]
        top = form.tree.child if isinstance(form.tree, Scale) else form.tree
        if len(carriers) != 1 or not isinstance(top, MatMul):
            return ""
        carrier = carriers[0]
        ends = [_base_name(top.factors[0]), _base_name(top.factors[-1])]
        side = "right" if form.rows else "left"
        if ends[1 if form.rows else 0] != _name(carrier):
            return ""
        vector = (
            "a row vector times a matrix is a row, indexed by the matrix's column"
            if form.rows
            else "a matrix times a column vector is a column, indexed by the matrix's row"
        )
        return (
            f"{line(carrier)} carries the result's index {index}, so it stands on the {side}: {vector}, "
            f"and the summed index sits between the factors."
        )

    def outer(self) -> list[str]:
        if len(self.result) != 2:
            return []
        row, col = self.result
        rows, cols = self.carriers(row), self.carriers(col)
        if not rows or not cols or {id(f) for f in rows} & {id(f) for f in cols}:
            return []
        left = " ".join(factor_text(f) for f in rows)
        right = " ".join(factor_text(f) for f in cols)
        return [
            f"No summed index joins {left} (row index {row}) and {right} (column index {col}): entry [{row},{col}] "
            f"is a plain product, the outer product of a column and a row, with the factor carrying the row "
            f"index {row} on the left."
        ]

    def hadamard(self) -> list[str]:
        notes = []
        for k in self.product.out:
            shared = [f for f in self.carriers(k) if not isinstance(f, Delta)]
            if len(shared) >= 2:
                notes.append(
                    f"{k} is on {' and '.join(factor_text(f) for f in shared)} and is not summed, so they "
                    "multiply entry by entry: the Hadamard product ⊙."
                )
        for k in self.product.summed:
            alone = [f for f in self.carriers(k) if f.free == (k,)]
            others = [f for f in self.carriers(k) if f.free != (k,)]
            if len(alone) >= 2 and len(others) == 1:
                notes.append(
                    f"{' and '.join(factor_text(f) for f in alone)} carry only {k}, so they multiply "
                    f"entry by entry (the Hadamard product ⊙) before {k} is summed against "
                    f"{line(others[0])}."
                )
        return notes

    def sums(self) -> list[str]:
        return [
            f"{k} is summed on {line(self.carriers(k)[0])} alone: a sum along that axis, written with the "
            "vector of ones 1."
            for k in self.product.summed
            if len(self.carriers(k)) == 1
        ]


def _base_name(node: MatrixExpr) -> str | None:
    """The symbol a factor of a printed product shows (through a transpose)."""
    node = node.child if isinstance(node, Transpose) else node
    return node.name if isinstance(node, Symbol | Intermediate) else None


def _name(factor: Tensor | Named) -> str:
    return factor.spec.name if isinstance(factor, Tensor) else factor.name
