"""The matrix-notation tree behind `eincalc.to_matrix()`.

A `MatrixExpr` is typed by its *kind*: ``scalar``, ``col`` (column
vector), ``row`` (row vector) or ``matrix``.  Vector orientation lives in the
tree, so ``aᵀ b`` (row times column) and ``g aᵀ`` (column times row) are
different nodes, and a transpose can never be dropped by a printer.  The tree
has no values of its own: what is checked is its printed NumPy text
(`eincalc.matrix.check`), where a vector of either orientation is a 1-D
array and a matrix is 2-D with rows first.

Sizes (of ``1``, ``I``, ``n``) are read from an axis of a named tensor
(`Axis`), so the NumPy text needs nothing but the tensor values.

>>> W, g = Symbol("W", "matrix"), Symbol("g", "col")
>>> MatMul((Transpose(W), g)).kind
'col'
"""

from __future__ import annotations

import string
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from ..core.indices import Index

Kind = Literal["scalar", "col", "row", "matrix"]
FLIP: dict[Kind, Kind] = {"col": "row", "row": "col", "scalar": "scalar", "matrix": "matrix"}


@dataclass(frozen=True, slots=True)
class Axis:
    """Axis ``axis`` of tensor ``tensor``: where a dimension's size is read."""

    tensor: str
    axis: int


class MatrixExpr:
    """Base of the matrix-notation nodes (frozen dataclasses)."""

    __slots__ = ()

    if TYPE_CHECKING:  # a field of each node; no class attribute at run time, so no dataclass default
        kind: Kind


@dataclass(frozen=True, slots=True)
class Symbol(MatrixExpr):
    """A named tensor; ``symmetric`` matrices are their own transpose."""

    name: str
    kind: Kind
    symmetric: bool = False


@dataclass(frozen=True, slots=True)
class Number(MatrixExpr):
    value: float
    kind: Kind = "scalar"


@dataclass(frozen=True, slots=True)
class SizeOf(MatrixExpr):
    """The size of dimension ``dim``: ``n`` in text, ``X.shape[k]`` in NumPy."""

    dim: str
    source: Axis
    kind: Kind = "scalar"


@dataclass(frozen=True, slots=True)
class Ones(MatrixExpr):
    """The all-ones vector ``1`` (``kind`` ``col``) or ``1ᵀ`` (``row``)."""

    dim: str
    source: Axis
    kind: Kind


@dataclass(frozen=True, slots=True)
class Identity(MatrixExpr):
    dim: str
    source: Axis
    kind: Kind = "matrix"


@dataclass(frozen=True, slots=True)
class Zeros(MatrixExpr):
    """The zero scalar, vector or matrix; ``sources`` give its sizes and ``dims`` their names, rows first."""

    sources: tuple[Axis, ...]
    kind: Kind
    dims: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Transpose(MatrixExpr):
    child: MatrixExpr
    kind: Kind = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", FLIP[self.child.kind])


@dataclass(frozen=True, slots=True)
class MatMul(MatrixExpr):
    """A chain ``[row] matrix… [col]``: NumPy's ``@`` reads it left to right."""

    factors: tuple[MatrixExpr, ...]
    kind: Kind = field(init=False)

    def __post_init__(self) -> None:
        first, last = self.factors[0].kind, self.factors[-1].kind
        kind = ("scalar" if last == "col" else "row") if first == "row" else ("col" if last == "col" else "matrix")
        object.__setattr__(self, "kind", kind)


@dataclass(frozen=True, slots=True)
class Outer(MatrixExpr):
    """Column times row, ``u vᵀ``."""

    left: MatrixExpr
    right: MatrixExpr
    kind: Kind = "matrix"


@dataclass(frozen=True, slots=True)
class Hadamard(MatrixExpr):
    """Element-wise product of factors of one kind and orientation."""

    factors: tuple[MatrixExpr, ...]
    kind: Kind = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", self.factors[0].kind)


@dataclass(frozen=True, slots=True)
class Scale(MatrixExpr):
    """A scalar ``factor`` times ``child``."""

    factor: MatrixExpr
    child: MatrixExpr
    kind: Kind = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", self.child.kind)


@dataclass(frozen=True, slots=True)
class Add(MatrixExpr):
    """A sum; scalar and `Broadcast` terms broadcast as in NumPy."""

    terms: tuple[MatrixExpr, ...]
    kind: Kind


@dataclass(frozen=True, slots=True)
class Broadcast(MatrixExpr):
    """A vector repeated along the other axis of a matrix sum.

    ``axis`` is the matrix axis the vector runs along (1: the trailing axis, as
    NumPy broadcasts it); ``ones`` is the column of ones along the other axis;
    ``display`` is what the text form shows.
    """

    child: MatrixExpr
    axis: int
    ones: Ones
    display: MatrixExpr
    kind: Kind = "matrix"


@dataclass(frozen=True, slots=True)
class Function(MatrixExpr):
    """An element-wise function from `eincalc.core.functions`."""

    fn: str
    param: float | None
    child: MatrixExpr
    kind: Kind = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", self.child.kind)


@dataclass(frozen=True, slots=True)
class Diag(MatrixExpr):
    """The diagonal matrix of a vector, ``diag(v)``."""

    child: MatrixExpr
    kind: Kind = "matrix"


@dataclass(frozen=True, slots=True)
class DiagPart(MatrixExpr):
    """The diagonal of a square matrix as a vector, ``diag(A)``."""

    child: MatrixExpr
    kind: Kind


@dataclass(frozen=True, slots=True)
class Norm(MatrixExpr):
    """The Euclidean norm of a vector, ``‖x‖``, or the Frobenius norm of a matrix, ``‖X‖_F``."""

    child: MatrixExpr
    kind: Kind = "scalar"


@dataclass(frozen=True, slots=True)
class Trace(MatrixExpr):
    child: MatrixExpr
    kind: Kind = "scalar"


@dataclass(frozen=True, slots=True)
class Sum(MatrixExpr):
    """Sum of ``child`` over ``axis`` (``None``: every axis); text shows ``display`` (``1ᵀ v``)."""

    child: MatrixExpr
    axis: int | None
    display: MatrixExpr
    kind: Kind


@dataclass(frozen=True, slots=True)
class Inner(MatrixExpr):
    """Frobenius inner product of two aligned matrices; text shows ``tr(display)``."""

    left: MatrixExpr
    right: MatrixExpr
    display: MatrixExpr
    kind: Kind = "scalar"


@dataclass(frozen=True, slots=True)
class Intermediate(MatrixExpr):
    """A named intermediate (``δ₂``): text and NumPy code show ``name``; the value is ``body``'s, which the form
    defines beneath it (``where δ₂ = Wᵀ g``, `eincalc.matrix.where`).

    Compared and hashed by name alone (a form gives each name one body): a chain of
    names, each body using the one before, is never compared or hashed through.
    """

    name: str
    body: MatrixExpr = field(compare=False)
    kind: Kind = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", self.body.kind)


@dataclass(frozen=True, slots=True)
class Call(MatrixExpr):
    """A function with its own spelling, for node kinds added by other modules.

    ``text``, ``latex`` and ``numpy`` are format strings over the rendered
    arguments ``{0}``, ``{1}``… (write a literal brace as ``{{`` or ``}}``).  An
    argument inside the template's own brackets (``det({0})``) is written bare;
    one outside them is parenthesised unless it is an atom, and ``postfix`` says
    the template attaches to it as a suffix (``{0}⁻¹``).  The NumPy template
    must run after ``import numpy as np`` alone.  ``transposed`` optionally
    spells the transpose the same way (``{0}⁻ᵀ``); without it a transpose reads
    ``(X⁻¹)ᵀ``.  A template with any other field is refused when the node is made.
    """

    name: str
    args: tuple[MatrixExpr, ...]
    kind: Kind
    text: str
    latex: str
    numpy: str
    postfix: bool = False
    transposed: tuple[str, str, str] | None = None

    def __post_init__(self) -> None:
        allowed = {str(n) for n in range(len(self.args))}
        for template in (self.text, self.latex, self.numpy, *(self.transposed or ())):
            try:
                fields = {field for _, field, _, _ in string.Formatter().parse(template) if field is not None}
            except ValueError as error:
                raise TypeError(f"matrix call {self.name}: template {template!r} is malformed ({error})") from None
            if not fields <= allowed:
                extra = ", ".join(sorted(fields - allowed))
                raise TypeError(
                    f"matrix call {self.name}: template {template!r} has fields {{{extra}}} that are not "
                    "arguments; write literal braces as {{ and }}"
                )


_KIND_RANK = {"scalar": 0, "col": 1, "row": 1, "matrix": 2}


@dataclass(frozen=True, slots=True)
class Term:
    """A matrix-notation tree and the indices its axes stand for: rows first, one for a vector."""

    matrix: MatrixExpr
    labels: tuple[Index, ...]

    def __post_init__(self) -> None:
        if len(set(self.labels)) != len(self.labels) or _KIND_RANK[self.matrix.kind] != len(self.labels):
            names = ", ".join(k.name for k in self.labels)
            raise TypeError(f"a {self.matrix.kind} cannot carry indices ({names})")
