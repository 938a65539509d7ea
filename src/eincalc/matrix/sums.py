"""Sums in matrix notation, as a textbook writes them: `add`, and a diagonal matrix multiplied into a sum.

`add` flattens nested sums, drops zeros, gathers like terms and their
coefficients (``x + x → 2 x``, ``s x + t x → (s + t) x``), takes out scalar
factors every term shares (``c X − c Y → c (X − Y)``) and common left and right
factors (``A x + Aᵀ x → (A + Aᵀ) x``), writes a sum of multiples of a vector of
ones as one multiple (``1 − σ(b) 1 → (1 − σ(b)) 1``), and leads with a term
without a minus sign (``−y + ŷ → ŷ − y``).  `scale_rows` multiplies
``diag(v)`` into a sum whose terms absorb it: ``diag(s) (I − 1 sᵀ) → diag(s) − s sᵀ``.

>>> from eincalc.matrix.tree import Symbol
>>> from eincalc.matrix.render import to_text
>>> from eincalc.matrix.algebra import matmul, transpose
>>> A, x = Symbol("A", "matrix"), Symbol("x", "col")
>>> to_text(add([matmul(A, x), matmul(transpose(A), x)], "col"))
'(A + Aᵀ) x'
"""

from __future__ import annotations

import functools

from .algebra import (
    ONE,
    chain_of,
    cost,
    diag,
    hadamard,
    matmul,
    oriented,
    product_of,
    scale,
    split_number,
    times,
    uniform,
    unscaled,
)
from .tree import Add, Broadcast, Diag, Identity, Kind, MatrixExpr, Number, Ones, Scale, Zeros


def add(terms: list[MatrixExpr], kind: Kind) -> MatrixExpr:
    """The sum of ``terms``: nested sums flattened, zeros dropped, like terms gathered, common numbers and common
    left and right factors taken out."""
    flat = [p for t in terms for p in (t.terms if isinstance(t, Add) else (t,))]
    flat = [t for t in flat if not _is_zero(t)] or flat[:1]
    constant = _constant_sum(flat) if kind != "scalar" else None
    if constant is not None:
        return constant
    flat = _gather(flat, kind)
    common, flat = _common_scalars(flat)
    flat = _lead_with_a_positive(_factor_out(flat))
    body = flat[0] if len(flat) == 1 else Add(tuple(flat), kind)
    return body if common is None else scale(common, body)


def _gather(terms: list[MatrixExpr], kind: Kind) -> list[MatrixExpr]:
    """Like terms added, their coefficients gathered (``x + x → 2 x``, ``s x + t x → (s + t) x``), in order of
    first appearance, those that cancel dropped; when everything cancels, 0 for a scalar, else unchanged.  In a
    vector or matrix sum a bare number is the literal ``1`` (ones) and stays apart: ``x − 1 − 1``, never ``x − 2``,
    which reads as a scalar."""
    groups: dict[object, list[MatrixExpr]] = {}
    bodies: dict[object, MatrixExpr] = {}
    for position, term in enumerate(terms):
        coefficient, body = _coefficient(term)
        key = position if kind != "scalar" and isinstance(term, Number) else body
        groups.setdefault(key, []).append(coefficient)
        bodies[key] = body
    if len(groups) == len(terms):
        return terms
    totals = [(_total(c), bodies[key]) for key, c in groups.items()]
    kept = [scale(total, body) for total, body in totals if not _is_zero(total)]
    return kept or ([Number(0.0)] if kind == "scalar" else terms)  # 1 − 1 would read as ones in a product


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


def _common_scalars(terms: list[MatrixExpr]) -> tuple[MatrixExpr | None, list[MatrixExpr]]:
    """The scalar factors (other than numbers) every term has, and the terms without them:
    ``c X − c Y → c (X − Y)``."""
    if len(terms) < 2:
        return None, terms
    split = [(list(scalars), chain) for scalars, chain in map(chain_of, terms)]
    shared: list[MatrixExpr] = []
    for factor in split[0][0]:
        if not isinstance(factor, Number) and all(factor in scalars for scalars, _ in split):
            shared.append(factor)
            for scalars, _ in split:
                scalars.remove(factor)
    if not shared:
        return None, terms
    rests = [product_of(tuple(scalars), chain) for scalars, chain in split]
    return functools.reduce(lambda product, factor: scale(factor, product), reversed(shared[:-1]), shared[-1]), rests


def _constant_sum(terms: list[MatrixExpr]) -> MatrixExpr | None:
    """A sum of multiples of a vector or matrix of ones (and written numbers, which take its shape) as one multiple:
    ``1 − σ(b) 1 → (1 − σ(b)) 1``; None unless every term is one."""
    found = [uniform(t) for t in terms]
    ones = next((u[1] for u in found if u is not None), None)
    if ones is None or any(u is None and not isinstance(t, Number) for t, u in zip(terms, found, strict=True)):
        return None
    coefficients = [t if u is None else u[0] for t, u in zip(terms, found, strict=True)]
    return scale(add(coefficients, "scalar"), ones)


def _lead_with_a_positive(terms: list[MatrixExpr]) -> list[MatrixExpr]:
    """The first term without a minus sign moved to the front: ``−y + ŷ → ŷ − y``."""
    positive = next((n for n, t in enumerate(terms) if split_number(t)[0] > 0), 0)
    return [terms[positive], *terms[:positive], *terms[positive + 1 :]]


def _factor_out(terms: list[MatrixExpr]) -> list[MatrixExpr]:
    """Terms that share a first or last factor written once: ``A x + Aᵀ x → (A + Aᵀ) x``, ``X b + X c → X (b + c)``.

    The largest group of terms sharing a factor goes first (a right factor before a left one in a tie); the
    common part grows as long as every term keeps a factor of its own.
    """
    while True:
        chains = [chain_of(t) for t in terms]
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
    rests = [product_of(scalars, chain[: len(chain) - length] if side else chain[length:]) for scalars, chain in chains]
    inner = add(sorted(rests, key=lambda rest: (split_number(rest)[0] < 0, cost(rest))), rests[0].kind)  # A + Aᵀ
    return functools.reduce(times, (inner, *common) if side else (*common, inner))


def _end(chain: tuple[MatrixExpr, ...], side: int, length: int) -> tuple[MatrixExpr, ...]:
    return chain[len(chain) - length :] if side else chain[:length]


def scale_rows(vector: MatrixExpr, matrix: MatrixExpr) -> MatrixExpr:
    """``diag(v) M``; multiplied into a sum whose terms absorb it: ``diag(s) (I − 1 sᵀ) → diag(s) − s sᵀ``."""
    return _diagonal_times(vector, matrix, 0)


def scale_columns(matrix: MatrixExpr, vector: MatrixExpr) -> MatrixExpr:
    """``M diag(v)``, as `scale_rows()` on the right."""
    return _diagonal_times(vector, matrix, -1)


def absorbs(matrix: MatrixExpr, side: int) -> bool:
    """Whether a diagonal matrix at ``side`` (0: left, −1: right) of ``matrix`` merges into it or into a term of it."""
    matrix = unscaled(matrix)
    return any(_absorbing(term, side) is not None for term in (matrix.terms if isinstance(matrix, Add) else (matrix,)))


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
    scalars, chain = chain_of(absorbing)  # the ones vector at its end takes the vector's place: diag(v) 1 uᵀ = v uᵀ
    replaced = oriented(vector, chain[side].kind)
    return product_of(scalars, (replaced, *chain[1:]) if side == 0 else (*chain[:-1], replaced))


def _absorbing(matrix: MatrixExpr, side: int) -> MatrixExpr | None:
    """``matrix`` in a form a diagonal matrix at ``side`` merges into (an identity, a zero, a diagonal matrix, a
    product with a ones vector at that end), or None."""
    matrix = unscaled(matrix)
    if isinstance(matrix, Identity | Zeros | Diag):
        return matrix
    if isinstance(matrix, Broadcast) and matrix.axis == (1 if side == 0 else 0):  # 1 uᵀ or u 1ᵀ
        matrix = matrix.display
    end = chain_of(matrix)[1][side]
    return matrix if isinstance(end, Ones) and end.kind == ("col" if side == 0 else "row") else None
