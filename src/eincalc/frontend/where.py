"""Where-clauses: the definitions printed under an expression, read back by `eincalc.parse()`.

The printers show each named intermediate once (`eincalc.core.intermediates`)::

    ((1 - t1[p]**2) (t1[p] - y[p]) x[q])[p,q]
      where t1[p] = tanh(W[p,i] x[i])

`split()` cuts such a text into the expression and its clauses; each clause is
``where NAME[indices] = body`` (``where NAME = body`` for a scalar) and may use the
names defined above it.  The reader reads each body on its own, declares its name
like a tensor of the body's shape (its dimensions come from the body), and
`resolve()` replaces each use as the reader meets it: an automatic name (``t1``)
by its body with the indices of that use, read as that body written in
parentheses at that place (so ``A - t1`` with ``t1 = -(A)`` folds its signs as
``A - (-(A))`` does, and the text reads back to the very expression it was
printed from); any other name by a named intermediate, as `eincalc.let()`
makes it.  Every piece is read on its own and each use is replaced once, so a
text of any number of clauses reads in linear time.

>>> text = "t1[p] t1[p]\\n  where t1[i] = x[i] + y[i]"
>>> main, clauses = split(text)
>>> main, [(c.name, c.indices, c.body) for c in clauses]
('t1[p] t1[p]', [('t1', ('i',), 'x[i] + y[i]')])
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from ..core.errors import IndexMismatch, ParseError
from ..core.expr import Expr
from ..core.indices import TensorSpec
from ..core.intermediates import is_automatic
from ..core.names import rename
from ..core.nodes import Contract, Named, Tensor
from .declare import check_name

_CLAUSE = re.compile(r"\s+where\s+([^\W\d]\w*)\s*(?:\[([^\]]*)\])?\s*=(?!=)")
"""``where NAME[i,j] =``: an ``=`` appears nowhere else in an expression, so a tensor named ``where`` is safe."""


@dataclass(frozen=True)
class Clause:
    """One ``where NAME[indices] = body`` line; ``name_at`` and ``body_at`` are where its name and body
    start in the whole text (for the caret of an error)."""

    name: str
    indices: tuple[str, ...]
    body: str
    name_at: int
    body_at: int


def split(text: str) -> tuple[str, list[Clause]]:
    """The expression and its where-clauses, in order."""
    found = list(_CLAUSE.finditer(text))
    if not found:
        return text, []
    ends = [m.start() for m in found[1:]] + [len(text)]
    clauses = [_clause(m, text[m.end() : end]) for m, end in zip(found, ends, strict=True)]
    return text[: found[0].start()], clauses


def _clause(match: re.Match[str], rest: str) -> Clause:
    """The clause ``match`` begins, whose body is ``rest`` (up to the next clause)."""
    indices = tuple(n.strip() for n in match.group(2).split(",")) if match.group(2) else ()
    body = rest.strip()
    return Clause(match.group(1), indices, body, match.start(1), match.end() + len(rest) - len(rest.lstrip()))


@dataclass(frozen=True)
class Definition:
    """A name defined by a clause: its body (axes in the order of the clause's indices)."""

    name: str
    body: Expr

    @property
    def spec(self) -> TensorSpec:
        """How later pieces of the text see the name: a tensor of the body's shape."""
        return TensorSpec(self.name, self.body.shape)


def define(clause: Clause, body: Expr, taken: Mapping[str, TensorSpec]) -> Definition:
    """The definition of ``clause`` whose body reads as ``body``; `ParseError` for a name already in use
    and `IndexMismatch` when the clause's indices are not the body's free indices."""
    check_name(clause.name, "intermediate")  # as ec.let names one: where exp = …, where ℓ = … are refused
    if clause.name in taken:
        raise ParseError(
            f"where {clause.name} = …: {clause.name} is already a tensor or defined above; "
            "give the definition a name of its own"
        )
    by_name = {k.name: k for k in body.free}
    if sorted(clause.indices) != sorted(by_name) or len(set(clause.indices)) != len(clause.indices):
        raise IndexMismatch(
            f"where {clause.name}[{','.join(clause.indices)}] = …: the indices on the left must be "
            f"the free indices of the right side, ({', '.join(by_name) or 'none: a scalar'})"
        )
    order = tuple(by_name[n] for n in clause.indices)
    return Definition(clause.name, body if order == body.free else Contract((body,), order))


def resolve(use: Expr, definitions: Mapping[TensorSpec, Definition]) -> Expr:
    """``use`` itself, or what it stands for when it is a tensor of a defined name's spec."""
    definition = definitions.get(use.spec) if isinstance(use, Tensor) else None
    if definition is None:
        return use
    assert isinstance(use, Tensor)
    return _use(definition, use)


def reads_as_group(name: str, spec: TensorSpec | None, definitions: Mapping[TensorSpec, Definition]) -> bool:
    """Whether a use of ``name`` (a tensor of ``spec``) stands for its definition in parentheses: an
    automatic name does (the printer chose it for a piece it would otherwise write in full)."""
    return spec is not None and spec in definitions and is_automatic(name)


def _use(definition: Definition, use: Tensor) -> Expr:
    if len(set(use.indices)) != len(use.indices):
        raise IndexMismatch(
            f"{definition.name}[{','.join(map(str, use.indices))}] repeats an index; an "
            "intermediate takes distinct indices"
        )
    if is_automatic(definition.name):
        return rename(definition.body, dict(zip(definition.body.free, use.indices, strict=True)))
    return Named(definition.name, definition.body, use.indices, f"d{definition.name}", positional=use.positional)
