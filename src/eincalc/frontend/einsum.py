"""``einsum(equation, *operands)``: NumPy's einsum notation as an expression builder.

Each term of the equation names its operand's axes (the operand's free indices,
in order) with letters.  A letter repeated within one term takes the diagonal,
a letter shared by terms multiplies along that axis, and a letter missing from
the output is summed.  Without ``->`` the output is every letter used exactly
once, sorted (uppercase before lowercase), as in NumPy.  Ellipses are not
supported.  The result is matrix style: its axes are named ``i, j, …`` by position.

>>> from eincalc.frontend.build import tensors
>>> W, a = tensors("W[m,n] a[n]")
>>> z = einsum("ij,j->i", W, a)
>>> str(z), z.shape
('W[i,j] a[j]', ('m',))
>>> str(einsum("ij,ij", W, W))
'W[i,j] W[i,j]'
"""

from __future__ import annotations

from collections import Counter

from ..core.errors import EincalcError, IndexMismatch, Located, ParseError, UnsupportedError
from ..core.expr import Expr
from ..core.indices import Index
from ..core.nodes import Contract, Tensor
from .build import Operand, as_expr, index_expr
from .styles import tidy

_Letters = list[tuple[str, int | None]]  # a letter and its column in the equation (None: implied)


def einsum(equation: str, *operands: Operand) -> Expr:
    """The contraction ``equation`` (``"ij,jk->ik"``) of ``operands`` (expressions or numbers)."""
    if not isinstance(equation, str):
        raise ParseError(f"the einsum equation must be a string, not {type(equation).__name__}")
    try:
        terms, output = _read(equation)
        return _build(terms, output, [_operand(k, o) for k, o in enumerate(operands)])
    except Located as located:
        raise located.error.with_context(equation, located.column) from None


def _read(equation: str) -> tuple[list[_Letters], _Letters | None]:
    """The input terms and the output (None in implicit mode), letters with their columns."""
    if "..." in equation:
        raise Located(
            UnsupportedError("ellipsis (...) broadcasting is not supported; name every axis"), equation.index("...")
        )
    inputs, arrow, output = equation.partition("->")
    if "->" in output:
        raise Located(ParseError("an einsum equation has at most one '->'"), len(inputs) + 2 + output.index("->"))
    terms: list[_Letters] = [[]]
    for column, char in enumerate(inputs):
        if char == ",":
            terms.append([])
        elif not char.isspace():
            terms[-1].append(_letter(char, column))
    start = len(inputs) + 2
    out = [_letter(c, start + n) for n, c in enumerate(output) if not c.isspace()]
    return terms, (out if arrow else None)


def _letter(char: str, column: int) -> tuple[str, int | None]:
    if not (char.isascii() and char.isalpha()):
        raise Located(ParseError(f"invalid character {char!r} in einsum equation; use letters a-z, A-Z"), column)
    return char, column


def _build(terms: list[_Letters], output: _Letters | None, operands: list[Expr]) -> Expr:
    if len(terms) != len(operands):
        raise Located(
            IndexMismatch(
                f"the equation has {len(terms)} term{'s' * (len(terms) != 1)} "
                f"but got {len(operands)} operand{'s' * (len(operands) != 1)}"
            )
        )
    dims: dict[str, tuple[str, int]] = {}
    for k, (term, operand) in enumerate(zip(terms, operands, strict=True)):
        if len(term) != operand.rank:
            letters = "".join(c for c, _ in term)
            raise Located(
                IndexMismatch(
                    f"operand {k} ({_describe(operand)}, shape ({', '.join(operand.shape)})) has {operand.rank} "
                    f"{'axis' if operand.rank == 1 else 'axes'} but term {letters!r} has {len(term)} "
                    f"letter{'s' * (len(term) != 1)}"
                ),
                term[0][1] if term else None,
            )
        for (letter, column), dim in zip(term, operand.shape, strict=True):
            seen, where = dims.setdefault(letter, (dim, k))
            if seen != dim:
                places = f"in operand {where} but {dim} in operand {k}" if where != k else f"and {dim} in operand {k}"
                raise Located(IndexMismatch(f"letter {letter} is dimension {seen} {places}"), column)
    counts = Counter(c for term in terms for c, _ in term)
    if output is None:
        output = [(c, None) for c in sorted(counts) if counts[c] == 1]
    for position, (letter, column) in enumerate(output):
        if letter not in dims:
            raise Located(IndexMismatch(f"output letter {letter} appears in no input term"), column)
        if letter in [c for c, _ in output[:position]]:
            raise Located(IndexMismatch(f"output letter {letter} is repeated"), column)
    factors = tuple(index_expr(o, tuple(c for c, _ in t)) if t else o for t, o in zip(terms, operands, strict=True))
    out = tuple(Index(c, dims[c][0]) for c, _ in output)
    if len(factors) == 1 and factors[0].free == out:
        return tidy(factors[0])
    return tidy(Contract(factors, out))


def _operand(k: int, value: Operand) -> Expr:
    try:
        return as_expr(value)
    except EincalcError as error:
        raise Located(type(error)(f"operand {k}: {error}")) from None


def _describe(operand: Expr) -> str:
    if isinstance(operand, Tensor) and operand.positional and len(set(operand.indices)) == len(operand.indices):
        return operand.spec.name
    return str(operand)
