"""The built-in node kinds, and the `node` decorator that makes a class one.

==============  ===========================================================
``Tensor``      a declared tensor with an index per axis (``W[i,j]``; a
                repeated index such as ``A[i,i]`` reads the diagonal)
``Delta``       Kronecker delta ``δ[i,j]``
``One``         the all-ones vector ``1[i]`` (broadcasts along ``i``)
``Zero``        the zero tensor over some indices
``Const``       a real scalar
``Size``        the size of a dimension (what ``Σ_i 1`` and ``δ[i,i]`` become)
``Contract``    einsum: product of factors, summed over every index not in ``out``
``Add``         sum of terms; a term may lack some of ``out`` (it broadcasts)
``Apply``       an element-wise function of one argument (``σ(z)[i]``)
``Named``       a named intermediate (``z1[i]``) standing for its body
==============  ===========================================================

Further node kinds (structured and matrix functions) subclass `Expr` with `node` in
their own modules and implement the same small protocol: ``args``, ``free``,
``map_children``.  The helpers that building nodes needs live here too:
`check_consistent()` (one dimension per index name), `real_number()` (a
number as a `Const`'s finite value) and `split_coefficient()`.

>>> from eincalc.core.indices import Index, TensorSpec
>>> i, j = Index("i", "m"), Index("j", "n")
>>> W = Tensor(TensorSpec("W", ("m", "n")), (i, j))
>>> a = Tensor(TensorSpec("a", ("n",)), (j,))
>>> z = Contract((W, a), (i,))
>>> [k.name for k in z.free], z.shape
(['i'], ('m',))
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, ClassVar, TypeVar, dataclass_transform

from .errors import IndexMismatch, UnsupportedError, count
from .expr import RENAMING, Expr
from .indices import Index, TensorSpec
from .name_pool import bound_names

_T = TypeVar("_T")


@dataclass_transform(frozen_default=True, field_specifiers=(field,))
def node(cls: type[_T]) -> type[_T]:
    """Make ``cls`` a frozen, slotted dataclass node (equality and hash come from `Expr`).

    A node with children counts its `tree_size` when built (a number, never a walk).
    """
    if getattr(cls, "children", None) is Expr.children:  # a leaf: one node
        made: Any = dataclass(frozen=True, slots=True, eq=False, repr=False)(cls)
        made._tree = 1
        return made
    checks = getattr(cls, "__post_init__", lambda self: None)

    def counted(self: Expr) -> None:
        checks(self)
        size = 1
        for child in self.children():  # a named intermediate counts once: it is written by its name
            size += 1 if type(child) is Named else child._tree
        _TREE.__set__(self, size)

    cls.__post_init__ = counted  # type: ignore[attr-defined]
    return dataclass(frozen=True, slots=True, eq=False, repr=False)(cls)


_TREE = Expr.__dict__["_tree"]
"""The slot holding a node's `tree_size`, set once when the node is built."""


def positional_flag() -> Any:
    """The `positional` field every node declares (keyword-only, default False)."""
    return field(default=False, kw_only=True)


def _unique(indices: Iterable[Index]) -> tuple[Index, ...]:
    return tuple(dict.fromkeys(indices))


@node
class Tensor(Expr):
    """A declared tensor with one index per axis; repeating an index reads a diagonal."""

    holds_diagonal: ClassVar[bool] = True
    spec: TensorSpec
    indices: tuple[Index, ...]
    positional: bool = positional_flag()

    def __post_init__(self) -> None:
        if len(self.indices) != len(self.spec.dims):
            raise IndexMismatch(
                f"{self.spec.name} has {len(self.spec.dims)} axes "
                f"({', '.join(self.spec.dims) or 'a scalar'}) but {len(self.indices)} indices were given"
            )

    def args(self) -> tuple[Any, ...]:
        return (self.spec, self.indices)

    def _compute_free(self) -> tuple[Index, ...]:
        return _unique(self.indices)


@node
class Delta(Expr):
    """Kronecker delta: 1 where ``i`` and ``j`` agree, else 0."""

    i: Index
    j: Index
    positional: bool = positional_flag()

    def __post_init__(self) -> None:
        if self.i.dim != self.j.dim:
            raise IndexMismatch(f"δ[{self.i},{self.j}] joins dimensions {self.i.dim} and {self.j.dim}; they must agree")

    def args(self) -> tuple[Any, ...]:
        return (self.i, self.j)

    def _compute_free(self) -> tuple[Index, ...]:
        return _unique((self.i, self.j))


@node
class One(Expr):
    """The all-ones vector along ``i``."""

    i: Index
    positional: bool = positional_flag()

    def args(self) -> tuple[Any, ...]:
        return (self.i,)

    def _compute_free(self) -> tuple[Index, ...]:
        return (self.i,)


@node
class Zero(Expr):
    """The zero tensor over ``indices``."""

    indices: tuple[Index, ...]
    positional: bool = positional_flag()

    def args(self) -> tuple[Any, ...]:
        return (self.indices,)

    def _compute_free(self) -> tuple[Index, ...]:
        return self.indices


@node
class Const(Expr):
    """A real scalar constant."""

    value: float
    positional: bool = positional_flag()

    def __post_init__(self) -> None:
        if not math.isfinite(self.value):
            raise UnsupportedError(
                f"a constant is {self.value}, not a finite number: a product or power of constants overflowed "
                "the largest float (about 1.8e308), or inf or nan was given; rescale the constants"
            )

    def args(self) -> tuple[Any, ...]:
        return (float(self.value),)

    def _compute_free(self) -> tuple[Index, ...]:
        return ()


@node
class Size(Expr):
    """The size of dimension ``dim`` (a scalar bound when arrays arrive)."""

    dim: str
    positional: bool = positional_flag()

    def args(self) -> tuple[Any, ...]:
        return (self.dim,)

    def _compute_free(self) -> tuple[Index, ...]:
        return ()


@node
class Contract(Expr):
    """Einsum: the product of ``factors`` summed over every index not in ``out``.

    Every index of ``out`` must occur in some factor (use `One` to
    broadcast); indices of the factors that are not in ``out`` are summed.
    """

    factors: tuple[Expr, ...]
    out: tuple[Index, ...]
    positional: bool = positional_flag()

    def __post_init__(self) -> None:
        check_consistent(self.factors)
        present = {k for f in self.factors for k in f.free}
        missing = [str(k) for k in self.out if k not in present]
        if missing:
            raise IndexMismatch(f"output index {', '.join(missing)} occurs in no factor")
        if len(set(self.out)) != len(self.out):
            raise IndexMismatch(f"output indices repeat: ({', '.join(map(str, self.out))})")

    def args(self) -> tuple[Any, ...]:
        return (self.factors, self.out)

    def children(self) -> tuple[Expr, ...]:
        return self.factors

    def map_children(self, fn: Callable[[Expr], Expr]) -> Expr:
        return Contract(tuple(fn(f) for f in self.factors), self.out, positional=self.positional)

    def _compute_free(self) -> tuple[Index, ...]:
        return self.out

    @property
    def summed(self) -> tuple[Index, ...]:
        """Indices summed over, in order of first appearance (kept on the node)."""
        memo = self.memo()
        found: tuple[Index, ...] | None = memo.get("summed")
        if found is None:
            out = set(self.out)
            found = memo["summed"] = _unique(k for f in self.factors for k in f.free if k not in out)
        return found

    def _canonical(self) -> Expr:
        """Summed indices named ``i, j, k, …`` by first appearance, skipping only this node's output names."""
        summed = self.summed
        names = bound_names(len(summed), {k.name for k in self.out})
        if all(k.name == n for k, n in zip(summed, names, strict=True)):
            return self
        rename = RENAMING.find("rename")
        mapping = {k: Index(n, k.dim) for k, n in zip(summed, names, strict=True)}
        return Contract(tuple(rename(f, mapping) for f in self.factors), self.out, positional=self.positional)


@node
class Add(Expr):
    """Sum of ``terms``; a term lacking some index of ``out`` is constant along it."""

    terms: tuple[Expr, ...]
    out: tuple[Index, ...]
    positional: bool = positional_flag()

    def __post_init__(self) -> None:
        if not self.terms:
            raise IndexMismatch("a sum needs at least one term")
        allowed = set(self.out)
        for term in self.terms:
            extra = [str(k) for k in term.free if k not in allowed]
            if extra:
                raise IndexMismatch(
                    f"term {term} has free index {', '.join(extra)} that the sum "
                    f"({', '.join(map(str, self.out)) or 'scalar'}) does not have"
                )
        check_consistent(self.terms)

    def args(self) -> tuple[Any, ...]:
        return (self.terms, self.out)

    def children(self) -> tuple[Expr, ...]:
        return self.terms

    def map_children(self, fn: Callable[[Expr], Expr]) -> Expr:
        return Add(tuple(fn(t) for t in self.terms), self.out, positional=self.positional)

    def _compute_free(self) -> tuple[Index, ...]:
        return self.out


@node
class Apply(Expr):
    """An element-wise function (see `eincalc.core.functions`); ``param`` is e.g. a power."""

    fn: str
    arg: Expr
    param: float | None = None
    positional: bool = positional_flag()

    def args(self) -> tuple[Any, ...]:
        return (self.fn, self.arg, self.param)

    def children(self) -> tuple[Expr, ...]:
        return (self.arg,)

    def map_children(self, fn: Callable[[Expr], Expr]) -> Expr:
        return Apply(self.fn, fn(self.arg), self.param, positional=self.positional)

    def _compute_free(self) -> tuple[Index, ...]:
        return self.arg.free


@node
class Named(Expr):
    """A named intermediate (``z1``, ``δ2``): shows as ``name[indices]``, stands for ``body``.

    ``body`` keeps its own index names; ``indices`` label its axes, in order, at
    this reference.  Renaming touches only ``indices``, so every reference
    shares one body and an evaluator computes it once.  Derivatives flowing
    back through a named intermediate are named too (``adjoint``, e.g. ``δ2``).
    """

    name: str
    body: Expr
    indices: tuple[Index, ...]
    adjoint: str | None = None
    positional: bool = positional_flag()

    def __post_init__(self) -> None:
        if len(set(self.indices)) != len(self.indices):
            raise IndexMismatch(f"{self.name}[{', '.join(map(str, self.indices))}] repeats an index")
        if tuple(k.dim for k in self.indices) != self.body.shape:
            raise IndexMismatch(
                f"{self.name} has shape ({', '.join(self.body.shape)}) but is labelled "
                f"[{', '.join(map(str, self.indices))}] with dimensions ({', '.join(k.dim for k in self.indices)})"
            )

    def args(self) -> tuple[Any, ...]:
        return (self.name, self.body, self.indices, self.adjoint)

    def children(self) -> tuple[Expr, ...]:
        return (self.body,)

    def map_children(self, fn: Callable[[Expr], Expr]) -> Expr:
        return Named(self.name, fn(self.body), self.indices, self.adjoint, positional=self.positional)

    def _compute_free(self) -> tuple[Index, ...]:
        return _unique(self.indices)


# -- index bookkeeping ------------------------------------------------------------------
def check_consistent(parts: Iterable[Expr]) -> None:
    """Raise `IndexMismatch` if one index name is used with two dimensions."""
    seen: dict[str, tuple[Index, Expr]] = {}
    for part in parts:
        for k in part.free:
            other, where = seen.setdefault(k.name, (k, part))
            if other.dim != k.dim:
                both = (
                    f"dimensions {other.dim} and {k.dim} in {part}"
                    if where is part
                    else f"dimension {other.dim} in {where} and {k.dim} in {part}"
                )
                raise IndexMismatch(f"index {k.name} stands for {both}; use a different index name for one of them")


def real_number(value: Any) -> float:
    """``value``, a Python or NumPy number, as a finite float; `UnsupportedError` when it is too large
    for one (``10**400``), infinite or not a number.

    >>> real_number(10**400)
    Traceback (most recent call last):
      ...
    eincalc.core.errors.UnsupportedError: the integer about 10^400 is not a finite float ...
    """
    try:
        number = float(value)
    except OverflowError:
        number = math.inf
    if not math.isfinite(number):
        # a huge integer is described, never printed in full (slow, and refused by Python past 4300 digits)
        shown = f"the integer {count(value)}" if isinstance(value, int) else f"the number {value!r}"
        raise UnsupportedError(f"{shown} is not a finite float (the largest is about 1.8e308); rescale it")
    return number


def split_coefficient(expr: Contract) -> tuple[float, list[Expr]]:
    """The product of a contraction's constant factors, and its other factors."""
    coefficient = 1.0
    rest: list[Expr] = []
    for factor in expr.factors:
        if isinstance(factor, Const):
            coefficient *= factor.value
        else:
            rest.append(factor)
    return coefficient, rest
