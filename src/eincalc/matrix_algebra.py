"""Smart constructors for matrix-notation trees: each builds the most readable equal form.

They never change a value, only its spelling: ``transpose`` of a product
reverses it (``(A B)ᵀ → Bᵀ Aᵀ``) when that reads no worse, a double transpose
cancels, a symmetric matrix is its own transpose, a column times a row becomes
an outer product, identities and ones drop out of products, and numeric factors
move to the front.  "Reads worse" counts transpose marks and the parentheses
they need.  Sums gather like terms (``x + x → 2 x``), a common number
(``2 a − 2 b → 2 (a − b)``) and common left and right factors
(``A x + Aᵀ x → (A + Aᵀ) x``); a diagonal matrix multiplies into a sum whose
terms absorb it (``diag(s) (I − 1 sᵀ) → diag(s) − s sᵀ``); half-integer powers
of a squared norm are norms (``(xᵀ x)^-0.5 → ‖x‖⁻¹``); an element-wise function
of a constant is a constant (``σ(1) → σ(1) 1``).  Every form is well typed: a
scalar or a vector in a larger sum is spread with explicit ``1`` vectors.

>>> from eincalc.matrix_tree import MatMul, Symbol
>>> from eincalc.matrix_render import to_text
>>> A, B, x = Symbol("A", "matrix"), Symbol("B", "matrix"), Symbol("x", "col")
>>> to_text(transpose(MatMul((A, B)))), to_text(transpose(transpose(A)))
('Bᵀ Aᵀ', 'A')
>>> to_text(add([matmul(A, x), matmul(transpose(A), x)], "col"))
'(A + Aᵀ) x'
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Iterator
from dataclasses import replace

import numpy as np

from .errors import NoMatrixForm
from .functions import apply_array
from .matrix_render import to_text
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
    Intermediate,
    Kind,
    MatMul,
    MatrixExpr,
    Norm,
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
    if isinstance(child, Number) and not isinstance(factor, Number):  # two scalars: the number in front
        return scale(child, factor)
    if isinstance(factor, Scale) and isinstance(factor.factor, Number):
        return scale(factor.factor, scale(factor.child, child))
    if isinstance(factor, Number):
        if factor.value == 1.0:
            return child
        if factor.value == 0.0 and _all_ones(child):
            return _zeros_shaped(child)
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
    left, right = _number_out(left), _number_out(right)
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
    *before, last = _chain(left)[1]
    first, *after = _chain(right)[1]
    if isinstance(last, Ones) and isinstance(first, Ones):  # 1ᵀ 1 = n
        size = SizeOf(last.dim, last.source)
        return scale(size, functools.reduce(matmul, [*before, *after])) if before or after else size
    return MatMul(_factors(left) + _factors(right))


def _factors(node: MatrixExpr) -> tuple[MatrixExpr, ...]:
    return node.factors if isinstance(node, MatMul) else (node,)


def hadamard(left: MatrixExpr, right: MatrixExpr) -> MatrixExpr:
    """The element-wise product of two operands of one kind, numbers in front; a factor of ones drops out."""
    left, right = _number_out(left), _number_out(right)
    if isinstance(left, Scale):
        return scale(left.factor, hadamard(left.child, right))
    if isinstance(right, Scale):
        return scale(right.factor, hadamard(left, right.child))
    parts = [f for node in (left, right) for f in (node.factors if isinstance(node, Hadamard) else (node,))]
    zero = next((f for f in parts if isinstance(f, Zeros)), None)
    if zero is not None:
        return zero
    parts = [f for f in parts if not _all_ones(f)] or parts[:1]
    return parts[0] if len(parts) == 1 else Hadamard(tuple(parts))


def _all_ones(node: MatrixExpr) -> bool:
    """Whether ``node`` is a vector or matrix of ones (``1``, ``1ᵀ``, ``1 1ᵀ``)."""
    return isinstance(node, Ones) or (isinstance(node, Outer) and _all_ones(node.left) and _all_ones(node.right))


# -- sums -----------------------------------------------------------------------------------------


def add(terms: list[MatrixExpr], kind: Kind) -> MatrixExpr:
    """The sum of ``terms``: nested sums flattened, zeros dropped, like terms gathered, common numbers and common
    left and right factors taken out."""
    flat = [p for t in terms for p in (t.terms if isinstance(t, Add) else (t,))]
    flat = [t for t in flat if not _is_zero(t)] or flat[:1]
    constant = _constant_sum(flat) if kind != "scalar" else None
    if constant is not None:
        return constant
    flat = _gather(flat)
    common, flat = _common_scalars(flat)
    flat = _lead_with_a_positive(_factor_out(flat))
    body = flat[0] if len(flat) == 1 else Add(tuple(flat), kind)
    return body if common is None else scale(common, body)


def _common_scalars(terms: list[MatrixExpr]) -> tuple[MatrixExpr | None, list[MatrixExpr]]:
    """The scalar factors (other than numbers) every term has, and the terms without them:
    ``c X − c Y → c (X − Y)``."""
    if len(terms) < 2:
        return None, terms
    split = [(list(scalars), chain) for scalars, chain in map(_chain, terms)]
    shared: list[MatrixExpr] = []
    for factor in split[0][0]:
        if not isinstance(factor, Number) and all(factor in scalars for scalars, _ in split):
            shared.append(factor)
            for scalars, _ in split:
                scalars.remove(factor)
    if not shared:
        return None, terms
    rests = [_product(tuple(scalars), chain) for scalars, chain in split]
    return functools.reduce(lambda product, factor: scale(factor, product), reversed(shared[:-1]), shared[-1]), rests


def _constant_sum(terms: list[MatrixExpr]) -> MatrixExpr | None:
    """A sum of multiples of a vector or matrix of ones (and written numbers, which take its shape) as one multiple:
    ``1 − σ(b) 1 → (1 − σ(b)) 1``; None unless every term is one."""
    uniform = [_uniform(t) for t in terms]
    ones = next((u[1] for u in uniform if u is not None), None)
    if ones is None or any(u is None and not isinstance(t, Number) for t, u in zip(terms, uniform, strict=True)):
        return None
    coefficients = [t if u is None else u[0] for t, u in zip(terms, uniform, strict=True)]
    return scale(add(coefficients, "scalar"), ones)


def _lead_with_a_positive(terms: list[MatrixExpr]) -> list[MatrixExpr]:
    """The first term without a minus sign moved to the front: ``−y + ŷ → ŷ − y``."""
    positive = next((n for n, t in enumerate(terms) if _split_number(t)[0] > 0), 0)
    return [terms[positive], *terms[:positive], *terms[positive + 1 :]]


def _number_out(node: MatrixExpr) -> MatrixExpr:
    """A sum whose terms share a number (up to sign) as that number times a sum: ``2 a − 2 b → 2 (a − b)``."""
    if not isinstance(node, Add):
        return node
    split = [_split_number(t) for t in node.terms]
    common = abs(split[0][0])
    if common in (0.0, 1.0) or any(abs(c) != common for c, _ in split):
        return node
    return scale(Number(common), Add(tuple(scale(Number(c / common), body) for c, body in split), node.kind))


def _split_number(term: MatrixExpr) -> tuple[float, MatrixExpr]:
    """``term`` as a number times the rest (``−2 x → (−2, x)``; a number alone is itself times 1)."""
    if isinstance(term, Number):
        return term.value, ONE
    if isinstance(term, Scale) and isinstance(term.factor, Number):
        return term.factor.value, term.child
    return 1.0, term


def _gather(terms: list[MatrixExpr]) -> list[MatrixExpr]:
    """Like terms added, their coefficients gathered (``x + x → 2 x``, ``s x + t x → (s + t) x``), in order of
    first appearance, those that cancel dropped; unchanged when everything cancels."""
    groups: dict[MatrixExpr, list[MatrixExpr]] = {}
    for term in terms:
        coefficient, body = _coefficient(term)
        groups.setdefault(body, []).append(coefficient)
    if len(groups) == len(terms):
        return terms
    gathered = [scale(_total(c), body) for body, c in groups.items()]
    return [t for t in gathered if not _is_zero(t)] or terms


def _total(coefficients: list[MatrixExpr]) -> MatrixExpr:
    """The sum of scalar coefficients, its numbers added up."""
    number = sum(c.value for c in coefficients if isinstance(c, Number))
    others = [c for c in coefficients if not isinstance(c, Number)]
    if not others:
        return Number(number)
    return add([*others, Number(number)] if number else others, "scalar") if len(coefficients) > 1 else others[0]


def _coefficient(term: MatrixExpr) -> tuple[MatrixExpr, MatrixExpr]:
    """``term`` as its scalar coefficient times the rest (``2 s x → (2 s, x)``; a number is itself times 1)."""
    if isinstance(term, Number):
        return term, ONE
    scalars, body = [], term
    while isinstance(body, Scale):
        scalars.append(body.factor)
        body = body.child
    if not scalars:
        return ONE, term
    return functools.reduce(lambda product, factor: scale(factor, product), reversed(scalars[:-1]), scalars[-1]), body


def _is_zero(term: MatrixExpr) -> bool:
    return isinstance(term, Zeros) or (isinstance(term, Number) and term.value == 0.0)


def _chain(term: MatrixExpr) -> tuple[tuple[MatrixExpr, ...], tuple[MatrixExpr, ...]]:
    """``term`` as scalar factors and a chain of matrix-product factors (``2 s A x → ((2, s), (A, x))``)."""
    scalars: list[MatrixExpr] = []
    while isinstance(term, Scale):
        scalars.append(term.factor)
        term = term.child
    if isinstance(term, MatMul):
        return tuple(scalars), tuple(f for factor in term.factors for f in _chain(factor)[1])
    if isinstance(term, Outer):
        return tuple(scalars), _chain(term.left)[1] + _chain(term.right)[1]
    return tuple(scalars), (term,)


def _product(scalars: tuple[MatrixExpr, ...], chain: tuple[MatrixExpr, ...]) -> MatrixExpr:
    body = functools.reduce(matmul, chain)
    for factor in reversed(scalars):
        body = scale(factor, body)
    return body


def _factor_out(terms: list[MatrixExpr]) -> list[MatrixExpr]:
    """Terms that share a first or last factor written once: ``A x + Aᵀ x → (A + Aᵀ) x``, ``X b + X c → X (b + c)``.

    The largest group of terms sharing a factor goes first (a right factor before a left one in a tie); the
    common part grows as long as every term keeps a factor of its own.
    """
    while True:
        chains = [_chain(t) for t in terms]
        groups: dict[tuple[int, MatrixExpr], list[int]] = {}
        for n, (_, chain) in enumerate(chains):
            if len(chain) > 1:
                groups.setdefault((-1, chain[-1]), []).append(n)
                groups.setdefault((0, chain[0]), []).append(n)
        best = max(groups.items(), key=lambda item: (len(item[1]), item[0][0] == -1), default=None)
        if best is None or len(best[1]) < 2:
            return terms
        (side, _), members = best
        factored = _factored([chains[n] for n in members], side)
        terms = [factored if n == members[0] else t for n, t in enumerate(terms) if n not in members[1:]]


def _factored(chains: list[tuple[tuple[MatrixExpr, ...], tuple[MatrixExpr, ...]]], side: int) -> MatrixExpr:
    """The sum of ``chains`` (which share their factor at ``side``, 0 or −1) with the common part taken out."""
    shortest = min(len(chain) for _, chain in chains)
    length = 1
    while length < shortest - 1 and len({_end(chain, side, length + 1) for _, chain in chains}) == 1:
        length += 1
    common = _end(chains[0][1], side, length)
    rests = [_product(scalars, chain[: len(chain) - length] if side else chain[length:]) for scalars, chain in chains]
    inner = add(sorted(rests, key=lambda rest: (_split_number(rest)[0] < 0, cost(rest))), rests[0].kind)  # A + Aᵀ
    return functools.reduce(matmul, (inner, *common) if side else (*common, inner))


def _end(chain: tuple[MatrixExpr, ...], side: int, length: int) -> tuple[MatrixExpr, ...]:
    return chain[len(chain) - length :] if side else chain[:length]


# -- broadcasting and constants -------------------------------------------------------------------


def broadcast(vector: MatrixExpr, axis: int, ones: Ones) -> MatrixExpr:
    """A vector along matrix axis ``axis`` of a sum, repeated along the other (``ones``).

    The text spells the repetition with a vector of ones, so the sum is well typed: ``X W + 1 bᵀ`` (along the
    trailing axis), ``b 1ᵀ`` (along the leading one); the NumPy code broadcasts.
    """
    if isinstance(vector, Scale):
        return scale(vector.factor, broadcast(vector.child, axis, ones))
    column, row = (ones, oriented(vector, "row")) if axis == 1 else (oriented(vector, "col"), transpose(ones))
    return Broadcast(vector, axis, ones, Outer(column, row))


def spread(scalar: MatrixExpr, ones: tuple[MatrixExpr, ...]) -> MatrixExpr:
    """A scalar repeated over a vector (``s 1``) or a matrix (``s 1 1ᵀ``): ``ones`` are the vectors of ones
    along its axes, each oriented as it stands."""
    return scale(scalar, functools.reduce(matmul, ones))


def _zeros_shaped(ones: MatrixExpr) -> Zeros:
    """The zero with the shape of a vector or matrix of ones."""
    pieces = [ones] if isinstance(ones, Ones) else [ones.left, ones.right] if isinstance(ones, Outer) else []
    assert all(isinstance(p, Ones) for p in pieces) and pieces, ones
    return Zeros(tuple(p.source for p in pieces if isinstance(p, Ones)), ones.kind,
                 tuple(p.dim for p in pieces if isinstance(p, Ones)))


def _uniform(node: MatrixExpr) -> tuple[MatrixExpr, MatrixExpr] | None:
    """``node`` as a scalar times a vector or matrix of ones (``(c, 1)`` for ``c 1``), if it is one."""
    if _all_ones(node):
        return ONE, node
    if isinstance(node, Zeros) and node.kind != "scalar" and len(node.dims) == len(node.sources):
        pieces = [Ones(d, s, "col") for d, s in zip(node.dims, node.sources, strict=True)]
        return Number(0.0), oriented(pieces[0], node.kind) if len(pieces) == 1 else Outer(pieces[0],
                                                                                          transpose(pieces[1]))
    if isinstance(node, Scale):
        inner = _uniform(node.child)
        return None if inner is None else (scale(node.factor, inner[0]), inner[1])
    return None


def function(fn: str, param: float | None, child: MatrixExpr) -> MatrixExpr:
    """The element-wise function ``fn`` of ``child``: of a constant a constant (``σ(s 1) → σ(s) 1``), of the
    identity ``f(0) 1 1ᵀ + (f(1) − f(0)) I``; a half-integer power of a squared norm a power of the norm."""
    uniform = _uniform(child)
    if uniform is not None:
        value, ones = uniform
        return scale(function(fn, param, value), ones)
    if isinstance(child, Identity):
        return _of_identity(fn, param, child)
    if fn == "pow" and isinstance(child, Number):
        with np.errstate(all="ignore"):
            power = float(np.float64(child.value) ** float(param if param is not None else 1.0))
        if math.isfinite(power):
            return Number(power)
    squared = _squared_norm(child)
    if squared is not None and (fn == "sqrt" or (fn == "pow" and param is not None and (2 * param) % 2 == 1)):
        return _norm_power(Norm(squared), 1.0 if fn == "sqrt" else 2 * float(param or 0.0))
    if fn == "pow" and isinstance(child, Function) and child.fn == "pow" and isinstance(child.child, Norm):
        return _norm_power(child.child, float(param if param is not None else 1.0) * float(child.param or 1.0))
    return Function(fn, param, child)


def _norm_power(norm: Norm, exponent: float) -> MatrixExpr:
    return norm if exponent == 1.0 else Function("pow", exponent, norm)


def _of_identity(fn: str, param: float | None, identity: Identity) -> MatrixExpr:
    with np.errstate(all="ignore"):
        at_zero, at_one = (float(apply_array(fn, np.float64(x), param)) for x in (0.0, 1.0))
    if not (math.isfinite(at_zero) and math.isfinite(at_one)):
        raise NoMatrixForm(f"{fn} of the identity matrix is not finite off its diagonal; keep the index form")
    on_diagonal = add([Function(fn, param, ONE), scale(Number(-1.0), Function(fn, param, Number(0.0)))], "scalar")
    if at_zero == 0.0:
        return scale(Function(fn, param, ONE), identity)
    ones = Ones(identity.dim, identity.source, "col")
    return add([scale(on_diagonal, identity), scale(Function(fn, param, Number(0.0)), Outer(ones, transpose(ones)))],
               "matrix")


def _squared_norm(node: MatrixExpr) -> MatrixExpr | None:
    """``v`` when ``node`` is ``vᵀ v`` or ``tr(Vᵀ V)`` (a squared Euclidean or Frobenius norm), else None."""
    if isinstance(node, MatMul) and len(node.factors) == 2 and node.factors[0].kind == "row" \
            and transpose(node.factors[0]) == node.factors[1]:
        return node.factors[1]
    if isinstance(node, Inner) and node.left == node.right:
        return node.left
    return None


def diag(vector: MatrixExpr) -> MatrixExpr:
    """The diagonal matrix of ``vector`` (``diag(c 1) → c I``)."""
    uniform = _uniform(vector)
    if uniform is not None and isinstance(uniform[1], Ones):
        return scale(uniform[0], Identity(uniform[1].dim, uniform[1].source))
    return Diag(vector)


def scale_rows(vector: MatrixExpr, matrix: MatrixExpr) -> MatrixExpr:
    """``diag(v) M``; multiplied into a sum whose terms absorb it: ``diag(s) (I − 1 sᵀ) → diag(s) − s sᵀ``."""
    return _diagonal_times(vector, matrix, 0)


def scale_columns(matrix: MatrixExpr, vector: MatrixExpr) -> MatrixExpr:
    """``M diag(v)``, as `scale_rows()` on the right."""
    return _diagonal_times(vector, matrix, -1)


def absorbs(matrix: MatrixExpr, side: int) -> bool:
    """Whether a diagonal matrix at ``side`` (0: left, −1: right) of ``matrix`` merges into it or into a term of it."""
    matrix = _unscaled(matrix)
    return any(_absorbing(term, side) is not None for term in (matrix.terms if isinstance(matrix, Add) else (matrix,)))


def _unscaled(node: MatrixExpr) -> MatrixExpr:
    while isinstance(node, Scale):
        node = node.child
    return node


def _diagonal_times(vector: MatrixExpr, matrix: MatrixExpr, side: int) -> MatrixExpr:
    if isinstance(matrix, Scale):
        return scale(matrix.factor, _diagonal_times(vector, matrix.child, side))
    if isinstance(matrix, Add) and absorbs(matrix, side):
        return add([_diagonal_times(vector, t, side) for t in matrix.terms], "matrix")
    absorbing = _absorbing(matrix, side)
    if absorbing is None:
        return matmul(diag(vector), matrix) if side == 0 else matmul(matrix, diag(vector))
    if isinstance(absorbing, Identity):
        return diag(vector)
    if isinstance(absorbing, Zeros):
        return absorbing
    if isinstance(absorbing, Diag):
        return diag(hadamard(oriented(vector, absorbing.child.kind), absorbing.child))
    scalars, chain = _chain(absorbing)  # the ones vector at its end takes the vector's place: diag(v) 1 uᵀ = v uᵀ
    replaced = oriented(vector, chain[side].kind)
    return _product(scalars, (replaced, *chain[1:]) if side == 0 else (*chain[:-1], replaced))


def _absorbing(matrix: MatrixExpr, side: int) -> MatrixExpr | None:
    """``matrix`` in a form a diagonal matrix at ``side`` merges into (an identity, a zero, a diagonal matrix, a
    product with a ones vector at that end), or None."""
    matrix = _unscaled(matrix)
    if isinstance(matrix, Identity | Zeros | Diag):
        return matrix
    if isinstance(matrix, Broadcast) and matrix.axis == (1 if side == 0 else 0):  # 1 uᵀ or u 1ᵀ
        matrix = matrix.display
    end = _chain(matrix)[1][side]
    return matrix if isinstance(end, Ones) and end.kind == ("col" if side == 0 else "row") else None


# -- reductions -----------------------------------------------------------------------------------


def sum_vector(vector: MatrixExpr, ones: Ones) -> MatrixExpr:
    """The sum of a vector's entries (``1ᵀ v``); ``ones`` is the column of ones of its size."""
    vector = _number_out(vector)
    if isinstance(vector, Transpose):
        return sum_vector(vector.child, ones)
    if isinstance(vector, Scale):
        return scale(vector.factor, sum_vector(vector.child, ones))
    if isinstance(vector, Zeros):
        return Zeros((), "scalar")
    if isinstance(vector, Ones):
        return SizeOf(vector.dim, vector.source)
    if isinstance(vector, DiagPart):
        return trace(vector.child)
    if isinstance(vector, Function) and vector.fn == "pow" and vector.param == 2.0:
        return Function("pow", 2.0, Norm(oriented(vector.child, "col")))
    display = matmul(transpose(ones), vector) if vector.kind == "col" else matmul(vector, ones)
    return Sum(vector, None, display, "scalar")


def sum_axis(matrix: MatrixExpr, axis: int, ones: Ones, kind: Kind) -> MatrixExpr:
    """Sum of ``matrix`` over ``axis`` (0: add up the rows), as a vector of ``kind``.

    ``ones`` is the column of ones as long as the summed axis.
    """
    matrix = _number_out(matrix)
    if isinstance(matrix, Transpose):
        return sum_axis(matrix.child, 1 - axis, ones, kind)
    if isinstance(matrix, Scale):
        return scale(matrix.factor, sum_axis(matrix.child, axis, ones, kind))
    if isinstance(matrix, Zeros):
        return Zeros(matrix.sources[1 - axis :][:1], kind, matrix.dims[1 - axis :][:1])
    if isinstance(matrix, Identity):
        return Ones(matrix.dim, matrix.source, kind)
    if isinstance(matrix, Diag):
        return oriented(matrix.child, kind)
    along_columns = transpose(matrix) if axis == 0 else matrix  # the summed axis last
    column = matmul(along_columns, ones)
    return Sum(matrix, axis, oriented(column, kind), kind)


def sum_all(matrix: MatrixExpr, row_ones: Ones, col_ones: Ones) -> MatrixExpr:
    """Sum of every entry of ``matrix`` (``1ᵀ X 1``)."""
    matrix = _number_out(matrix)
    if isinstance(matrix, Scale):
        return scale(matrix.factor, sum_all(matrix.child, row_ones, col_ones))
    if isinstance(matrix, Zeros):
        return Zeros((), "scalar")
    if isinstance(matrix, Identity):
        return SizeOf(matrix.dim, matrix.source)
    if isinstance(matrix, Outer) and _all_ones(matrix):
        return scale(sum_vector(matrix.left, row_ones), sum_vector(matrix.right, col_ones))
    if isinstance(matrix, Diag):
        return sum_vector(matrix.child, row_ones)
    if isinstance(matrix, Function) and matrix.fn == "pow" and matrix.param == 2.0:
        return Function("pow", 2.0, Norm(matrix.child))
    display = matmul(matmul(transpose(row_ones), matrix), col_ones)
    return Sum(matrix, None, display, "scalar")


def trace(matrix: MatrixExpr) -> MatrixExpr:
    """``tr(M)``: of ``c I`` it is ``c n``."""
    matrix = _number_out(matrix)
    if isinstance(matrix, Scale):
        return scale(matrix.factor, trace(matrix.child))
    if isinstance(matrix, Zeros):
        return Zeros((), "scalar")
    if isinstance(matrix, Identity):
        return SizeOf(matrix.dim, matrix.source)
    return Trace(matrix)


def inner(left: MatrixExpr, right: MatrixExpr) -> MatrixExpr:
    """Frobenius inner product ``Σ L ⊙ R`` of aligned matrices, written as a trace."""
    left, right = _number_out(left), _number_out(right)
    if isinstance(left, Scale):
        return scale(left.factor, inner(left.child, right))
    if isinstance(right, Scale):
        return scale(right.factor, inner(left, right.child))
    if isinstance(left, Identity):
        return trace(right)
    if isinstance(right, Identity):
        return trace(left)
    display = min(matmul(transpose(left), right), matmul(left, transpose(right)), key=cost)
    return Inner(left, right, display)


# -- a check of the whole tree --------------------------------------------------------------------


def require_sized(tree: MatrixExpr) -> None:
    """Raise `NoMatrixForm` where a scalar is made from vectors and matrices that are all constant
    (``1ᵀ (I + 1 1ᵀ) 1``): nothing in the text would say their size."""
    constant: dict[int, bool] = {}
    for node in _postorder(tree):
        children = _printed_children(node)
        anchor = isinstance(node, Symbol | Intermediate) and node.kind != "scalar"
        constant[id(node)] = not anchor and all(constant[id(c)] for c in children)
        shaped = [c for c in children if c.kind != "scalar"]
        if node.kind == "scalar" and shaped and all(constant[id(c)] for c in shaped):
            raise NoMatrixForm(f"{to_text(node)} reduces a constant vector or matrix whose size nothing in the "
                               "text shows; keep the index form")


def _printed_children(node: MatrixExpr) -> tuple[MatrixExpr, ...]:
    """The sub-trees the text of ``node`` shows (a sum shows its display, a name none)."""
    if isinstance(node, Broadcast | Sum | Inner):
        return (node.display,)
    if isinstance(node, Intermediate):
        return ()
    found: list[MatrixExpr] = []
    for item in dataclasses.fields(node):  # type: ignore[arg-type]
        value = getattr(node, item.name)
        found.extend(v for v in (value if isinstance(value, tuple) else (value,)) if isinstance(v, MatrixExpr))
    return tuple(found)


def _postorder(tree: MatrixExpr) -> Iterator[MatrixExpr]:
    """Every node of ``tree`` that its text shows, children first, with a stack."""
    stack: list[tuple[MatrixExpr, bool]] = [(tree, False)]
    while stack:
        node, ready = stack.pop()
        if ready:
            yield node
        else:
            stack.append((node, True))
            stack.extend((c, False) for c in _printed_children(node))
