"""Smart constructors for matrix-notation trees: each builds the most readable equal form.

They never change a value, only its spelling: ``transpose`` of a product
reverses it (``(A B)ᵀ → Bᵀ Aᵀ``) when that reads no worse, a double transpose
cancels, a symmetric matrix is its own transpose, a column times a row becomes
an outer product (``1ᵀ 1`` is ``n``), identities and ones drop out of products,
numeric factors move to the front, and a number every term of a sum shares
moves out of a product (``Xᵀ (2 X w − 2 y) → 2 Xᵀ (X w − y)``).  "Reads worse"
counts transpose marks and the parentheses they need.  A vector repeated along
a matrix is written with an explicit vector of ones (``1 bᵀ``), so every form is
well typed.  Sums are built in `eincalc.matrix.sums`, reductions and
functions in `eincalc.matrix.reductions`.

>>> from eincalc.matrix.tree import MatMul, Symbol
>>> from eincalc.matrix.render import to_text
>>> A, B = Symbol("A", "matrix"), Symbol("B", "matrix")
>>> to_text(transpose(MatMul((A, B)))), to_text(transpose(transpose(A)))
('Bᵀ Aᵀ', 'A')
"""

from __future__ import annotations

import functools
from dataclasses import replace

from ..core.errors import NoMatrixForm
from .tree import (
    FLIP,
    Add,
    Broadcast,
    Call,
    Diag,
    Function,
    Hadamard,
    Identity,
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
    Transpose,
    Zeros,
)

_COMPOUND = (MatMul, Outer, Hadamard, Scale, Add)
ONE = Number(1.0)


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
        return Zeros(node.sources[::-1], FLIP[node.kind], node.dims[::-1])
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
    if isinstance(child, Zeros):
        return child
    if isinstance(factor, Zeros):  # the zero scalar scales as the number 0 does
        factor = Number(0.0)
    if isinstance(child, Number) and not isinstance(factor, Number):  # two scalars: the number in front
        return scale(child, factor)
    if isinstance(factor, Scale) and isinstance(factor.factor, Number):
        return scale(factor.factor, scale(factor.child, child))
    if isinstance(factor, Number):
        if factor.value == 1.0:
            return child
        if factor.value == 0.0 and (shaped := uniform(child)) is not None:  # 0 (c 1ᵀ) is the zero row, not 0 1ᵀ
            return zeros_shaped(shaped[1])
        if isinstance(child, Number):
            return Number(factor.value * child.value)
        if isinstance(child, Scale) and isinstance(child.factor, Number):
            return scale(Number(factor.value * child.factor.value), child.child)
    elif isinstance(child, Scale) and isinstance(child.factor, Number):
        return Scale(child.factor, scale(factor, child.child))
    return Scale(factor, child)


def matmul(left: MatrixExpr, right: MatrixExpr) -> MatrixExpr:
    """The matrix product ``left right`` (a column times a row is an outer product); a number common to the terms
    of a sum moves out: ``Xᵀ (2 X w − 2 y) → 2 Xᵀ (X w − y)``."""
    left, right = number_out(left), number_out(right)
    if isinstance(left, Scale):
        return scale(left.factor, matmul(left.child, right))
    if isinstance(right, Scale):
        return scale(right.factor, matmul(left, right.child))
    if left.kind == "col" and right.kind == "row":
        return _zero_outer(left, right) or Outer(_unsized_zero_refused(left), _unsized_zero_refused(right))
    assert left.kind in ("row", "matrix") and right.kind in ("col", "matrix"), (left.kind, right.kind)
    if isinstance(left, Identity):
        return right
    if isinstance(right, Identity):
        return left
    *before, last = chain_of(left)[1]
    first, *after = chain_of(right)[1]
    if isinstance(last, Ones) and isinstance(first, Ones):  # 1ᵀ 1 = n
        size = SizeOf(last.dim, last.source)
        return scale(size, functools.reduce(times, [*before, *after])) if before or after else size
    return MatMul(_factors(left) + _factors(right))


def _zero_outer(column: MatrixExpr, row: MatrixExpr) -> Zeros | None:
    """A column times a row where one is zero and the text shows both sizes (``1 0ᵀ``, a zero broadcast): the zero
    matrix, never ``1 0``, which the matrix reader takes for a column times the number 0.

    >>> from eincalc.matrix.tree import Axis, Ones
    >>> axis = Axis("x", 0)
    >>> _zero_outer(Ones("n", axis, "col"), Zeros((axis,), "row", ("n",))).kind
    'matrix'
    """
    if not isinstance(column, Zeros) and not isinstance(row, Zeros):
        return None
    sized = [
        (v.source, v.dim) if isinstance(v, Ones) else (v.sources[0], v.dims[0])
        for v in (column, row)
        if isinstance(v, Ones) or (isinstance(v, Zeros) and len(v.sources) == len(v.dims) == 1)
    ]
    if len(sized) < 2:
        return None
    return Zeros((sized[0][0], sized[1][0]), "matrix", (sized[0][1], sized[1][1]))


def _unsized_zero_refused(vector: MatrixExpr) -> MatrixExpr:
    """``vector``, unless it is a zero vector in an outer product whose other side shows no size: ``A 0`` (a vector
    times the zero row) would read back as ``A`` times the number 0, and the zero matrix cannot be written without
    both sizes, so there is no matrix form (found by the deep read-back run)."""
    if isinstance(vector, Zeros):
        raise NoMatrixForm("a vector times a zero vector: the zero matrix it makes has a size the text cannot show")
    return vector


def _factors(node: MatrixExpr) -> tuple[MatrixExpr, ...]:
    return node.factors if isinstance(node, MatMul) else (node,)


def hadamard(left: MatrixExpr, right: MatrixExpr) -> MatrixExpr:
    """The element-wise product of two operands of one kind, numbers in front; a factor of ones drops out."""
    left, right = number_out(left), number_out(right)
    if isinstance(left, Scale):
        return scale(left.factor, hadamard(left.child, right))
    if isinstance(right, Scale):
        return scale(right.factor, hadamard(left, right.child))
    parts = [f for node in (left, right) for f in (node.factors if isinstance(node, Hadamard) else (node,))]
    zero = next((f for f in parts if isinstance(f, Zeros)), None)
    if zero is not None:
        return zero
    parts = [f for f in parts if not all_ones(f)] or parts[:1]
    return parts[0] if len(parts) == 1 else Hadamard(tuple(parts))


def all_ones(node: MatrixExpr) -> bool:
    """Whether ``node`` is a vector or matrix of ones (``1``, ``1ᵀ``, ``1 1ᵀ``)."""
    return isinstance(node, Ones) or (isinstance(node, Outer) and all_ones(node.left) and all_ones(node.right))


def number_out(node: MatrixExpr) -> MatrixExpr:
    """A sum whose terms share a number (up to sign) as that number times a sum: ``2 a − 2 b → 2 (a − b)``."""
    if not isinstance(node, Add):
        return node
    split = [split_number(t) for t in node.terms]
    common = abs(split[0][0])
    if common in (0.0, 1.0) or any(abs(c) != common for c, _ in split):
        return node
    return scale(Number(common), Add(tuple(scale(Number(c / common), body) for c, body in split), node.kind))


def split_number(term: MatrixExpr) -> tuple[float, MatrixExpr]:
    """``term`` as a number times the rest (``−2 x → (−2, x)``; a number alone is itself times 1)."""
    if isinstance(term, Number):
        return term.value, ONE
    if isinstance(term, Scale) and isinstance(term.factor, Number):
        return term.factor.value, term.child
    return 1.0, term


def chain_of(term: MatrixExpr) -> tuple[tuple[MatrixExpr, ...], tuple[MatrixExpr, ...]]:
    """``term`` as scalar factors and a chain of matrix-product factors (``2 s A x → ((2, s), (A, x))``)."""
    scalars: list[MatrixExpr] = []
    while isinstance(term, Scale):
        scalars.append(term.factor)
        term = term.child
    if isinstance(term, MatMul):
        return tuple(scalars), tuple(f for factor in term.factors for f in chain_of(factor)[1])
    if isinstance(term, Outer):
        return tuple(scalars), chain_of(term.left)[1] + chain_of(term.right)[1]
    if isinstance(term, Broadcast):  # 1 bᵀ, b 1ᵀ
        return tuple(scalars), chain_of(term.display)[1]
    return tuple(scalars), (term,)


def times(left: MatrixExpr, right: MatrixExpr) -> MatrixExpr:
    """``left right``: a scalar scales the other (``x (yᵀ z) wᵀ``), otherwise the matrix product."""
    if left.kind == "scalar":
        return scale(left, right)
    return scale(right, left) if right.kind == "scalar" else matmul(left, right)


def product_of(scalars: tuple[MatrixExpr, ...], chain: tuple[MatrixExpr, ...]) -> MatrixExpr:
    """The scalars times the product of the chain (of factors as `chain_of` returns them)."""
    body = functools.reduce(times, chain)
    for factor in reversed(scalars):
        body = scale(factor, body)
    return body


def unscaled(node: MatrixExpr) -> MatrixExpr:
    while isinstance(node, Scale):
        node = node.child
    return node


def broadcast(vector: MatrixExpr, axis: int, ones: Ones) -> MatrixExpr:
    """A vector along matrix axis ``axis`` of a sum, repeated along the other (``ones``).

    The text spells the repetition with a vector of ones, so the sum is well typed: ``X W + 1 bᵀ`` (along the
    trailing axis), ``b 1ᵀ`` (along the leading one); the NumPy code broadcasts.
    """
    if isinstance(vector, Scale):
        return scale(vector.factor, broadcast(vector.child, axis, ones))
    column, row = (ones, oriented(vector, "row")) if axis == 1 else (oriented(vector, "col"), transpose(ones))
    return _zero_outer(column, row) or Broadcast(vector, axis, ones, Outer(column, row))


def spread(scalar: MatrixExpr, ones: tuple[MatrixExpr, ...]) -> MatrixExpr:
    """A scalar repeated over a vector (``s 1``) or a matrix (``s 1 1ᵀ``): ``ones`` are the vectors of ones
    along its axes, each oriented as it stands."""
    return scale(scalar, functools.reduce(matmul, ones))


def zeros_shaped(ones: MatrixExpr) -> Zeros:
    """The zero with the shape of a vector or matrix of ones."""
    pieces = [ones] if isinstance(ones, Ones) else [ones.left, ones.right] if isinstance(ones, Outer) else []
    assert all(isinstance(p, Ones) for p in pieces) and pieces, ones
    return Zeros(
        tuple(p.source for p in pieces if isinstance(p, Ones)),
        ones.kind,
        tuple(p.dim for p in pieces if isinstance(p, Ones)),
    )


def uniform(node: MatrixExpr) -> tuple[MatrixExpr, MatrixExpr] | None:
    """``node`` as a scalar times a vector or matrix of ones (``(c, 1)`` for ``c 1``), if it is one."""
    if all_ones(node):
        return ONE, node
    if isinstance(node, Zeros) and node.kind != "scalar" and len(node.dims) == len(node.sources):
        pieces = [Ones(d, s, "col") for d, s in zip(node.dims, node.sources, strict=True)]
        return Number(0.0), oriented(pieces[0], node.kind) if len(pieces) == 1 else Outer(
            pieces[0], transpose(pieces[1])
        )
    if isinstance(node, Scale):
        inner = uniform(node.child)
        return None if inner is None else (scale(node.factor, inner[0]), inner[1])
    return None


def diag(vector: MatrixExpr) -> MatrixExpr:
    """The diagonal matrix of ``vector`` (``diag(c 1) → c I``)."""
    constant = uniform(vector)
    if constant is not None and isinstance(constant[1], Ones):
        return scale(constant[0], Identity(constant[1].dim, constant[1].source))
    return Diag(vector)
