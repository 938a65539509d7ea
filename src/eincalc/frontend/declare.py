"""Tensor declarations: reading declaration text (``"W[m,n] a[n] c"``) into specs, and the record of every
declaration made, which `eincalc.frontend.build.tensors()` keeps and `declarations()` reads.

>>> read_declarations("W[m,n] c", (), ())
[TensorSpec(name='W', dims=('m', 'n'), symmetric=False, simplex=False), \
TensorSpec(name='c', dims=(), symmetric=False, simplex=False)]
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence

from ..core.arguments import describe, require_text
from ..core.errors import ParseError, ShapeError
from ..core.indices import TensorSpec

NAME = re.compile(r"[^\W\d]\w*$")
"""A name: of a tensor, a dimension, an index or an intermediate."""

_DECL = re.compile(r"[\s,]*([^\W\d]\w*)\s*(?:\[([^\]]*)\])?[\s,]*")


def read_declarations(
    declarations: str, symmetric: str | Iterable[str], simplex: str | Iterable[str]
) -> list[TensorSpec]:
    """The specs that ``declarations`` declares, ``symmetric`` and ``simplex`` naming those marked so."""
    declarations = require_text(declarations, "the declarations given to ec.tensors", "'W[m,n] a[n] c'")
    symmetric_names, simplex_names = set(_words(symmetric, "symmetric")), set(_words(simplex, "simplex"))
    specs: list[TensorSpec] = []
    position = 0
    while position < len(declarations):
        match = _DECL.match(declarations, position)
        if match is None:
            raise ParseError(
                f"cannot read a tensor declaration at column {position} of {declarations!r}; "
                "write declarations like 'W[m,n] a[n] c'"
            )
        name, dims_text = match.group(1), match.group(2)
        dims = tuple(d.strip() for d in dims_text.split(",")) if dims_text and dims_text.strip() else ()
        for dim in dims:
            if not NAME.match(dim):
                raise ParseError(f"dimension {dim!r} of {name} is not a name (write e.g. W[m,n])")
        if name in symmetric_names and (len(dims) != 2 or dims[0] != dims[1]):
            raise ShapeError(
                f"{name} is declared symmetric but has dimensions {dims}; "
                "a symmetric tensor must be square, like S[n,n]"
            )
        if name in simplex_names and not dims:
            raise ShapeError(
                f"{name} is declared on the simplex but is a number; the simplex is a tensor whose entries sum to "
                "one along its last axis, like y[c] or Y[b,c]"
            )
        specs.append(TensorSpec(name, dims, name in symmetric_names, name in simplex_names))
        position = match.end()
    names = [s.name for s in specs]
    unknown = (symmetric_names | simplex_names) - set(names)
    if unknown:
        raise ParseError(f"{', '.join(sorted(unknown))} marked but not declared in {declarations!r}")
    duplicated = [n for n, c in Counter(names).items() if c > 1]
    if duplicated:
        raise ParseError(f"tensor {duplicated[0]} is declared twice in {declarations!r}")
    return specs


def _words(names: str | Iterable[str], what: str) -> list[str]:
    """Tensor names given as ``"S T"``, ``"S, T"`` or ``["S", "T"]``."""
    if isinstance(names, str):
        return names.replace(",", " ").split()
    if isinstance(names, bytes) or not isinstance(names, Iterable):
        raise ParseError(f"{what}= takes tensor names like 'S T' or ['S', 'T'], not {describe(names)}")
    return [require_text(name, f"each name in {what}=", "'S'") for name in names]


_DECLARED: dict[str, set[tuple[str, ...]]] = {}
"""The dimensions each name was declared with by `tensors()` (every distinct declaration)."""


def record(specs: Sequence[TensorSpec]) -> None:
    """Add ``specs`` to the declarations `declarations()` reports."""
    for spec in specs:
        _DECLARED.setdefault(spec.name, set()).add(spec.dims)


def declarations(name: str) -> list[TensorSpec]:
    """Every distinct declaration of tensor ``name`` made with `tensors()` (by dimensions), in a fixed order.

    >>> from eincalc.frontend.build import tensors
    >>> _ = tensors("Ω[m,n]")
    >>> declarations("Ω")
    [TensorSpec(name='Ω', dims=('m', 'n'), symmetric=False, simplex=False)]
    """
    return [TensorSpec(name, dims) for dims in sorted(_DECLARED.get(name, ()))]
