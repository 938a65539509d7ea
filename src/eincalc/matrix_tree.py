"""The matrix-notation tree behind :func:`eincalc.to_matrix`, and its NumPy evaluation.

A :class:`MatrixExpr` is typed by its *kind*: ``scalar``, ``col`` (column
vector), ``row`` (row vector) or ``matrix``.  Vector orientation lives in the
tree, so ``aᵀ b`` (row times column) and ``g aᵀ`` (column times row) are
different nodes, and a transpose can never be dropped by a printer.  Values are
NumPy arrays: a vector of either orientation is 1-D, a matrix is 2-D with rows
first.

Sizes (of ``1``, ``I``, ``n``) are read from an axis of a named tensor
(:class:`Axis`), so evaluation needs nothing but the tensor values.

>>> import numpy as np
>>> W, g = Symbol("W", "matrix"), Symbol("g", "col")
>>> evaluate(MatMul((Transpose(W), g)), {"W": np.eye(2), "g": np.ones(2)})
array([1., 1.])
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from .errors import UnknownNameError
from .expr import Index
from .functions import apply_array

Kind = Literal["scalar", "col", "row", "matrix"]
FLIP: dict[Kind, Kind] = {"col": "row", "row": "col", "scalar": "scalar", "matrix": "matrix"}


@dataclass(frozen=True, slots=True)
class Axis:
    """Axis ``axis`` of tensor ``tensor``: where a dimension's size is read."""

    tensor: str
    axis: int

    def size(self, values: Mapping[str, Any]) -> int:
        return int(np.shape(_value(values, self.tensor))[self.axis])


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
    """The zero scalar, vector or matrix; ``sources`` give its sizes, rows first."""

    sources: tuple[Axis, ...]
    kind: Kind


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
    """A sum; scalar and :class:`Broadcast` terms broadcast as in NumPy."""

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
    """An element-wise function from :mod:`eincalc.functions`."""

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
    """A named intermediate (``δ₂``): text shows ``name``; the value and NumPy code are ``body``'s."""

    name: str
    body: MatrixExpr
    kind: Kind = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", self.body.kind)


@dataclass(frozen=True, slots=True)
class Call(MatrixExpr):
    """A function with its own spelling, for node kinds added by other modules.

    ``text``, ``latex`` and ``numpy`` are format strings over the rendered
    arguments ``{0}``, ``{1}``…; ``postfix`` says they attach to an argument as a
    suffix (``{0}⁻¹``), so compound arguments need parentheses.  ``evaluate``
    computes the value from the arguments' arrays.  ``transposed`` optionally
    spells the transpose the same way (``{0}⁻ᵀ``); without it a transpose reads
    ``(X⁻¹)ᵀ``.
    """

    name: str
    args: tuple[MatrixExpr, ...]
    kind: Kind
    text: str
    latex: str
    numpy: str
    evaluate: Callable[..., Any]
    postfix: bool = False
    transposed: tuple[str, str, str] | None = None


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


# -- evaluation -----------------------------------------------------------------------------


def _value(values: Mapping[str, Any], name: str) -> Any:
    try:
        return values[name]
    except KeyError:
        raise UnknownNameError(f"no value given for tensor {name!r}") from None


def evaluate(node: MatrixExpr, values: Mapping[str, Any]) -> Any:
    """The value of ``node`` as a NumPy array, from the tensors' ``values``."""

    def ev(child: MatrixExpr) -> Any:
        return evaluate(child, values)

    return _EVAL[type(node)](node, values, ev)


def _eval_broadcast(node: Broadcast, ev: Callable[[MatrixExpr], Any]) -> Any:
    vector = ev(node.child)
    return vector[:, None] if node.axis == 0 else vector[None, :]


def _eval_matmul(node: MatMul, ev: Callable[[MatrixExpr], Any]) -> Any:
    """Left to right; a ``diag(v)`` factor scales its neighbour's rows or columns and is never formed."""
    result: Any = None
    rows: Any = None  # diagonal factors waiting to scale the rows of the next operand
    for factor in node.factors:
        if isinstance(factor, Diag):
            vector = ev(factor.child)
            if result is not None:
                result = result * vector
            else:
                rows = vector if rows is None else rows * vector
            continue
        value = ev(factor)
        if rows is not None:
            value, rows = (rows[:, None] if np.ndim(value) == 2 else rows) * value, None
        result = value if result is None else result @ value
    return np.diag(rows) if result is None else result


_EVAL: dict[type, Callable[[Any, Mapping[str, Any], Callable[[MatrixExpr], Any]], Any]] = {
    Symbol: lambda n, values, ev: np.asarray(_value(values, n.name)),
    Number: lambda n, values, ev: np.asarray(n.value),
    SizeOf: lambda n, values, ev: np.asarray(n.source.size(values)),
    Ones: lambda n, values, ev: np.ones(n.source.size(values)),
    Identity: lambda n, values, ev: np.eye(n.source.size(values)),
    Zeros: lambda n, values, ev: np.zeros(tuple(s.size(values) for s in n.sources)),
    Transpose: lambda n, values, ev: np.transpose(ev(n.child)),
    MatMul: lambda n, values, ev: _eval_matmul(n, ev),
    Outer: lambda n, values, ev: np.outer(ev(n.left), ev(n.right)),
    Hadamard: lambda n, values, ev: functools.reduce(np.multiply, map(ev, n.factors)),
    Scale: lambda n, values, ev: ev(n.factor) * ev(n.child),
    Add: lambda n, values, ev: functools.reduce(np.add, map(ev, n.terms)),
    Broadcast: lambda n, values, ev: _eval_broadcast(n, ev),
    Function: lambda n, values, ev: apply_array(n.fn, ev(n.child), n.param),
    Diag: lambda n, values, ev: np.diag(ev(n.child)),
    DiagPart: lambda n, values, ev: np.diagonal(ev(n.child)),
    Trace: lambda n, values, ev: np.trace(ev(n.child)),
    Sum: lambda n, values, ev: np.sum(ev(n.child), axis=n.axis),
    Inner: lambda n, values, ev: np.sum(ev(n.left) * ev(n.right)),
    Intermediate: lambda n, values, ev: ev(n.body),
    Call: lambda n, values, ev: n.evaluate(*map(ev, n.args)),
}
