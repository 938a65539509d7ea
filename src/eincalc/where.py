"""Where-clauses: the definitions printed under an expression, read back by `eincalc.parse()`.

The printers show each named intermediate once (`eincalc.intermediates`)::

    ((1 - t1[p]**2) (t1[p] - y[p]) x[q])[p,q]
      where t1[i] = tanh(W[i,j] x[j])

`split()` cuts such a text into the expression and its clauses; each clause is
``where NAME[indices] = body`` (``where NAME = body`` for a scalar) and may use the
names defined above it.  The reader reads each body on its own, declares its name
like a tensor of the body's shape (its dimensions come from the body), and
`substitute()` replaces every use: an automatic name (``t1``) by its body
with the indices of that use, so the text reads back to the very expression it
was printed from; any other name by a named intermediate, as `eincalc.let()`
makes it.  Every piece is read on its own and the substitution is one pass over
the DAG, so a text of any number of clauses reads in linear time.

>>> text = "t1[p] t1[p]\\n  where t1[i] = x[i] + y[i]"
>>> main, clauses = split(text)
>>> main, [(c.name, c.indices, c.body) for c in clauses]
('t1[p] t1[p]', [('t1', ('i',), 'x[i] + y[i]')])
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from .errors import IndexMismatch, ParseError
from .expr import Contract, Expr, Named, Tensor, TensorSpec, postorder
from .intermediates import is_automatic
from .names import rename

_CLAUSE = re.compile(r"\s+where\s+([^\W\d]\w*)\s*(?:\[([^\]]*)\])?\s*=(?!=)")
"""``where NAME[i,j] =``: an ``=`` appears nowhere else in an expression, so a tensor named ``where`` is safe."""


@dataclass(frozen=True)
class Clause:
    """One ``where NAME[indices] = body`` line."""

    name: str
    indices: tuple[str, ...]
    body: str


def split(text: str) -> tuple[str, list[Clause]]:
    """The expression and its where-clauses, in order."""
    found = list(_CLAUSE.finditer(text))
    if not found:
        return text, []
    ends = [m.start() for m in found[1:]] + [len(text)]
    clauses = [
        Clause(m.group(1), tuple(n.strip() for n in m.group(2).split(",")) if m.group(2) else (),
               text[m.end() : end].strip())
        for m, end in zip(found, ends, strict=True)
    ]
    return text[: found[0].start()], clauses


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
    if clause.name in taken:
        raise ParseError(f"where {clause.name} = …: {clause.name} is already a tensor or defined above; "
                         "give the definition a name of its own")
    by_name = {k.name: k for k in body.free}
    if sorted(clause.indices) != sorted(by_name) or len(set(clause.indices)) != len(clause.indices):
        raise IndexMismatch(f"where {clause.name}[{','.join(clause.indices)}] = …: the indices on the left must be "
                            f"the free indices of the right side, ({', '.join(by_name) or 'none: a scalar'})")
    order = tuple(by_name[n] for n in clause.indices)
    return Definition(clause.name, body if order == body.free else Contract((body,), order))


def substitute(expr: Expr, definitions: Mapping[TensorSpec, Definition]) -> Expr:
    """``expr`` with every use of a defined name (a tensor of its spec) replaced by what it stands for."""
    if not definitions:
        return expr
    done: dict[Expr, Expr] = {}
    for node in postorder(expr):
        definition = definitions.get(node.spec) if isinstance(node, Tensor) else None
        if definition is not None:
            assert isinstance(node, Tensor)
            done[node] = _use(definition, node)
        else:
            done[node] = node.map_children(done.__getitem__)
    return done[expr]


def _use(definition: Definition, use: Tensor) -> Expr:
    if len(set(use.indices)) != len(use.indices):
        raise IndexMismatch(f"{definition.name}[{','.join(map(str, use.indices))}] repeats an index; an "
                            "intermediate takes distinct indices")
    if is_automatic(definition.name):
        return rename(definition.body, dict(zip(definition.body.free, use.indices, strict=True)))
    return Named(definition.name, definition.body, use.indices, f"d{definition.name}", positional=use.positional)
