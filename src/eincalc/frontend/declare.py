"""Tensor declarations: reading declaration text (``"W[m,n] a[n] c"``) into specs, and the record of every
declaration made, which `eincalc.frontend.build.tensors()` keeps and `declarations()` reads.

>>> read_declarations("W[m,n] c", (), ())
[TensorSpec(name='W', dims=('m', 'n'), symmetric=False, simplex=False), \
TensorSpec(name='c', dims=(), symmetric=False, simplex=False)]
"""

from __future__ import annotations

import keyword
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence

from ..core.arguments import describe, require_text
from ..core.errors import ParseError, ShapeError
from ..core.functions import FUNCTIONS
from ..core.indices import TensorSpec

NAME = re.compile(r"[^\W\d]\w*$")
"""A name: of a tensor, a dimension, an index or an intermediate."""

RESERVED = frozenset({"δ", "delta", "np"})
"""Words the printed forms give a meaning of their own, besides keywords and function names: the delta and
NumPy's module.  (A tensor named ``where`` reads back: only a where-clause has ``=``.)"""

CALLED: set[str] = set()
"""The functions index text calls by name (``σ``, ``Σ``, ``softmax``, …): the parser's table
(`eincalc.frontend.parse.register_parse_function()`) adds each name here, so no declaration takes it."""

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
    _refuse_lookalikes(names, declarations)
    for name in names:
        check_name(name, "tensor")
    unknown = (symmetric_names | simplex_names) - set(names)
    if unknown:
        raise ParseError(f"{', '.join(sorted(unknown))} marked but not declared in {declarations!r}")
    duplicated = [n for n, c in Counter(names).items() if c > 1]
    if duplicated:
        raise ParseError(f"tensor {duplicated[0]} is declared twice in {declarations!r}")
    return specs


def check_name(name: str, what: str) -> str:
    """``name``, if every printed form (index text, matrix text, NumPy, generated code) shows it and reads it
    back as itself; else a `ParseError` saying which character or word is the problem and what to write.

    >>> check_name("W1", "tensor")
    'W1'
    >>> check_name("x₁", "tensor")
    Traceback (most recent call last):
      ...
    eincalc.core.errors.ParseError: tensor name 'x₁': '₁' (U+2081) reads as '1' in Python, so x₁ would read back \
as x1; name it x1 (a final digit prints as a subscript: W1 prints as W₁)
    >>> check_name("exp", "intermediate")
    Traceback (most recent call last):
      ...
    eincalc.core.errors.ParseError: intermediate name 'exp' is reserved: it is the function exp; \
choose another name, like exp_
    """
    if not NAME.match(name):
        raise ParseError(f"{what} name {name!r} is not a name; start with a letter, then letters, digits or _")
    normal = unicodedata.normalize("NFKC", name)
    if normal != name:
        odd = next(c for c in name if unicodedata.normalize("NFKC", c) != c)
        hint = " (a final digit prints as a subscript: W1 prints as W₁)" if normal[-1].isdigit() else ""
        raise ParseError(
            f"{what} name {name!r}: {odd!r} (U+{ord(odd):04X}) reads as {unicodedata.normalize('NFKC', odd)!r} "
            f"in Python, so {name} would read back as {normal}; name it {normal}{hint}"
        )
    role = reserved_role(name)
    if role:
        raise ParseError(f"{what} name {name!r} is reserved: it is {role}; choose another name, like {name}_")
    return name


def reserved_role(name: str) -> str:
    """What ``name`` means in a printed form already (a keyword, a function, …), or ``""``."""
    if keyword.iskeyword(name):
        return "a Python keyword"
    if name in FUNCTIONS or name in CALLED:
        return f"the function {name}"
    return f"the word {name} of the printed forms" if name in RESERVED else ""


def _refuse_lookalikes(names: Sequence[str], declarations: str) -> None:
    """Two different ``names`` that Python reads as one (the same after NFKC normalisation, like 𝑥 and x)."""
    seen: dict[str, str] = {}
    for name in names:
        other = seen.setdefault(unicodedata.normalize("NFKC", name), name)
        if other != name:
            raise ParseError(
                f"tensors {other} and {name} in {declarations!r} are both read as "
                f"{unicodedata.normalize('NFKC', name)} (Python reads names NFKC-normalised); rename one of them"
            )


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
