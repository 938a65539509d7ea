"""Smart constructors for matrix-notation trees: each builds the most readable equal form.

They never change a value, only its spelling: ``transpose`` of a product
reverses it (``(A B)ᵀ → Bᵀ Aᵀ``) when that reads no worse, a double transpose
cancels, a symmetric matrix is its own transpose, a column times a row becomes
an outer product, identities drop out of products, and numeric factors move to
the front.  "Reads worse" counts transpose marks and the parentheses they need.

>>> from eincalc.matrix_tree import MatMul, Symbol
>>> from eincalc.matrix_render import to_text
>>> A, B = Symbol("A", "matrix"), Symbol("B", "matrix")
>>> to_text(transpose(MatMul((A, B)))), to_text(transpose(transpose(A)))
('Bᵀ Aᵀ', 'A')
"""

from __future__ import annotations

import functools
from dataclasses import replace

from .matrix_tree import (
    FLIP,
    Add,
    Broadcast,
    Call,
    Diag,
    DiagPart,
    Function,
    Hadamard,
    Identity,
    Inner,
    Kind,
    MatMul,
    MatrixExpr,
    Number,
    Ones,
    Outer,
    Scale,
    SizeOf,
    Sum,
    Symbol,
    Trace,
    Transpose,
    Zeros,
)

_COMPOUND = (MatMul, Outer, Hadamard, Scale, Add)


def cost(node: MatrixExpr) -> int:
    """How hard the text form is to read: transpose marks, plus one for each that needs parentheses.

    Only products and sums are looked into (what a transpose can be pushed through), so the
    cost of a deep expression stays cheap to compute.
    """
    if isinstance(node, Transpose):
        return 1 + isinstance(node.child, _COMPOUND) + cost(node.child)
    if isinstance(node, Sum | Broadcast):
        return cost(node.display)
    return sum(cost(part) for part in _parts(node))


def _parts(node: MatrixExpr) -> tuple[MatrixExpr, ...]:
    """The operands of a product or sum (and of a function of a matrix): where transposes go."""
    if isinstance(node, MatMul | Hadamard):
        return node.factors
    if isinstance(node, Outer):
        return (node.left, node.right)
    if isinstance(node, Scale):
        return (node.factor, node.child)
    if isinstance(node, Add):
        return node.terms
    return (node.child,) if isinstance(node, Function) and node.kind == "matrix" else ()


def transpose(node: MatrixExpr) -> MatrixExpr:
    """The transpose of ``node``, spelled as readably as possible."""
    if node.kind == "scalar" or isinstance(node, Identity | Diag):
        return node
    if isinstance(node, Transpose):
        return node.child
    if isinstance(node, Symbol) and node.symmetric:
        return node
    if isinstance(node, Ones):
        return Ones(node.dim, node.source, FLIP[node.kind])
    if isinstance(node, Zeros):
        return Zeros(node.sources[::-1], FLIP[node.kind])
    if isinstance(node, Scale):
        return Scale(node.factor, transpose(node.child))
    if isinstance(node, Outer):
        return Outer(transpose(node.right), transpose(node.left))
    if isinstance(node, Sum):
        return Sum(node.child, node.axis, transpose(node.display), FLIP[node.kind])
    if isinstance(node, Broadcast):
        return broadcast(node.child, 1 - node.axis, node.ones)
    if isinstance(node, Call) and node.transposed is not None:
        spelling = (node.text, node.latex, node.numpy)
        text, latex, numpy = node.transposed
        return replace(node, kind=FLIP[node.kind], text=text, latex=latex, numpy=numpy, transposed=spelling)
    wrapped = Transpose(node)
    if isinstance(node, MatMul):
        pushed = functools.reduce(matmul, [transpose(f) for f in reversed(node.factors)])
        return pushed if cost(pushed) <= cost(wrapped) else wrapped
    if node.kind != "matrix":
        return wrapped
    if isinstance(node, Hadamard):
        return min(wrapped, Hadamard(tuple(transpose(f) for f in node.factors)), key=cost)
    if isinstance(node, Function):
        return min(wrapped, Function(node.fn, node.param, transpose(node.child)), key=cost)
    if isinstance(node, Add):
        return min(wrapped, Add(tuple(transpose(t) for t in node.terms), node.kind), key=cost)
    return wrapped


def oriented(vector: MatrixExpr, kind: Kind) -> MatrixExpr:
    """``vector`` as a ``col`` or ``row``."""
    return vector if vector.kind == kind else transpose(vector)


def scale(factor: MatrixExpr, child: MatrixExpr) -> MatrixExpr:
    """Scalar ``factor`` times ``child``, with numbers multiplied out and kept in front."""
    if isinstance(factor, Number):
        if factor.value == 1.0:
            return child
        if isinstance(child, Number):
            return Number(factor.value * child.value)
        if isinstance(child, Scale) and isinstance(child.factor, Number):
            return scale(Number(factor.value * child.factor.value), child.child)
    elif isinstance(child, Scale) and isinstance(child.factor, Number):
        return Scale(child.factor, scale(factor, child.child))
    return Scale(factor, child)


def matmul(left: MatrixExpr, right: MatrixExpr) -> MatrixExpr:
    """The matrix product ``left right`` (a column times a row is an outer product)."""
    if isinstance(left, Scale):
        return scale(left.factor, matmul(left.child, right))
    if isinstance(right, Scale):
        return scale(right.factor, matmul(left, right.child))
    if left.kind == "col" and right.kind == "row":
        return Outer(left, right)
    assert left.kind in ("row", "matrix") and right.kind in ("col", "matrix"), (left.kind, right.kind)
    if isinstance(left, Identity):
        return right
    if isinstance(right, Identity):
        return left
    return MatMul(_factors(left) + _factors(right))


def _factors(node: MatrixExpr) -> tuple[MatrixExpr, ...]:
    return node.factors if isinstance(node, MatMul) else (node,)


def hadamard(left: MatrixExpr, right: MatrixExpr) -> MatrixExpr:
    """The element-wise product of two operands of one kind, numbers in front."""
    if isinstance(left, Scale):
        return scale(left.factor, hadamard(left.child, right))
    if isinstance(right, Scale):
        return scale(right.factor, hadamard(left, right.child))
    parts = [f for node in (left, right) for f in (node.factors if isinstance(node, Hadamard) else (node,))]
    return Hadamard(tuple(parts))


def add(terms: list[MatrixExpr], kind: Kind) -> MatrixExpr:
    """The sum of ``terms`` (nested sums flattened)."""
    flat = tuple(p for t in terms for p in (t.terms if isinstance(t, Add) else (t,)))
    return flat[0] if len(flat) == 1 else Add(flat, kind)


def sum_vector(vector: MatrixExpr, ones: Ones) -> MatrixExpr:
    """The sum of a vector's entries (``1ᵀ v``); ``ones`` is the column of ones of its size."""
    if isinstance(vector, Transpose):
        return sum_vector(vector.child, ones)
    if isinstance(vector, Ones):
        return SizeOf(vector.dim, vector.source)
    if isinstance(vector, DiagPart):
        return Trace(vector.child)
    display = matmul(transpose(ones), vector) if vector.kind == "col" else matmul(vector, ones)
    return Sum(vector, None, display, "scalar")


def sum_axis(matrix: MatrixExpr, axis: int, ones: Ones, kind: Kind) -> MatrixExpr:
    """Sum of ``matrix`` over ``axis`` (0: add up the rows), as a vector of ``kind``.

    ``ones`` is the column of ones as long as the summed axis.
    """
    if isinstance(matrix, Transpose):
        return sum_axis(matrix.child, 1 - axis, ones, kind)
    if isinstance(matrix, Identity):
        return Ones(matrix.dim, matrix.source, kind)
    if isinstance(matrix, Diag):
        return oriented(matrix.child, kind)
    along_columns = transpose(matrix) if axis == 0 else matrix  # the summed axis last
    column = matmul(along_columns, ones)
    return Sum(matrix, axis, oriented(column, kind), kind)


def sum_all(matrix: MatrixExpr, row_ones: Ones, col_ones: Ones) -> MatrixExpr:
    """Sum of every entry of ``matrix`` (``1ᵀ X 1``)."""
    if isinstance(matrix, Identity):
        return SizeOf(matrix.dim, matrix.source)
    if isinstance(matrix, Diag):
        return sum_vector(matrix.child, row_ones)
    display = matmul(matmul(transpose(row_ones), matrix), col_ones)
    return Sum(matrix, None, display, "scalar")


def inner(left: MatrixExpr, right: MatrixExpr) -> MatrixExpr:
    """Frobenius inner product ``Σ L ⊙ R`` of aligned matrices, written as a trace."""
    if isinstance(left, Identity):
        return Trace(right)
    if isinstance(right, Identity):
        return Trace(left)
    display = min(matmul(transpose(left), right), matmul(left, transpose(right)), key=cost)
    return Inner(left, right, display)


def broadcast(vector: MatrixExpr, axis: int, ones: Ones) -> MatrixExpr:
    """A vector along matrix axis ``axis`` of a sum, repeated along the other (``ones``).

    Along the trailing axis it reads plainly, as NumPy broadcasts (``X W + b``);
    along the leading axis it reads ``b 1ᵀ``.
    """
    if isinstance(vector, Scale) and isinstance(vector.factor, Number):
        return scale(vector.factor, broadcast(vector.child, axis, ones))
    display = vector if axis == 1 else Outer(oriented(vector, "col"), transpose(ones))
    return Broadcast(vector, axis, ones, display)
