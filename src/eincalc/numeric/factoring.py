"""Factoring before lowering: a sum of contractions that share factors becomes one contraction of a sum.

Gradients come out of the simplifier distributed: the logistic-regression
gradient ``Xᵀ(σ(X w) − y)`` reads ``X[i,p] σ(X[i,j] w[j]) − y[i] X[i,p]``, two
contractions over ``X`` and an add.  Lowered as written, that is a second pass
over the largest array (a second GEMM on NumPy; on Dask every chunk of ``X``
is held until both passes used it, so worker memory grows with the data).
`factor_shared()` rewrites such sums, for the lowering only (printed forms are
untouched), as ``X[i,p] (σ(X[i,j] w[j]) − y[i])``.

The rule is general: terms of a sum that are contractions with the same output
and share factors (on either side, up to the names of summed indices, with any
scalar coefficients) are grouped, and the shared factors are taken out once.
It applies only where it never costs more: each term keeps at most one
factor over indices (besides scalars), one of those remainders spans all the
remainders' indices (so the factored contraction is shaped like an existing
term's, plus one element-wise add of the remainders), and no grouped term is
used anywhere else (its contraction would otherwise still be computed).

>>> from eincalc.frontend.build import tensors
>>> from eincalc.frontend.parse import parse
>>> X, y, w = tensors("X[b,n] y[b] w[n]")
>>> gradient = parse("X[i,p] sigmoid(X[i,j] w[j]) - y[i] X[i,p]", X, y, w)
>>> str(factor_shared([gradient])[0])
'X[i,p] (σ(X[i,j] w[j]) - y[i])'
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from ..core.expr import Expr
from ..core.indices import Index
from ..core.names import fresh_names, index_names, rename
from ..core.nodes import Add, Const, Contract
from ..core.traversal import walk


def factor_shared(exprs: Sequence[Expr]) -> list[Expr]:
    """``exprs`` with every sum of contractions sharing factors factored (see the module docstring), children
    first and without recursion; a node shared by several outputs is rewritten once."""
    uses = _uses(exprs)
    done: dict[Expr, Expr] = {}
    stack: list[tuple[Expr, bool]] = [(root, False) for root in reversed(exprs)]
    while stack:
        node, expanded = stack.pop()
        if node in done:
            continue
        if not expanded:
            stack.append((node, True))
            stack.extend((c, False) for c in reversed(node.children()) if c not in done)
            continue
        kids = node.children()
        built = node if all(done[c] is c for c in kids) else node.map_children(done.__getitem__)
        if isinstance(node, Add) and isinstance(built, Add):
            built = _factor_sum(built, [uses[t] == 1 for t in node.terms])
        done[node] = built
    return [done[root] for root in exprs]


def _uses(exprs: Sequence[Expr]) -> Counter[Expr]:
    """How many times each node is read: once per occurrence as a child, once per output."""
    uses: Counter[Expr] = Counter(exprs)
    seen: set[Expr] = set()
    for root in exprs:
        fresh = [n for n in walk(root, lambda n: n not in seen) if n not in seen]
        for node in fresh:
            uses.update(node.children())
        seen.update(fresh)
    return uses


def _scalar(factor: Expr) -> bool:
    return not factor.free


def _key(factor: Expr, term: Contract) -> tuple[frozenset[Index], Expr]:
    """``factor`` with the indices its term sums named by position: equal keys, equal factors up to renaming."""
    summed = [k for k in factor.free if k not in term.out]
    positional = {k: Index(f"#{n}", k.dim) for n, k in enumerate(summed)}
    return frozenset(term.out), rename(factor, positional)


def _factor_sum(add: Add, eligible: Sequence[bool]) -> Expr:
    """``add`` with each group of eligible contraction terms sharing a factor written as one contraction."""
    by_key: dict[tuple[frozenset[Index], Expr], list[int]] = defaultdict(list)
    for n, term in enumerate(add.terms):
        if eligible[n] and isinstance(term, Contract):
            for factor in dict.fromkeys(f for f in term.factors if not _scalar(f)):
                by_key[_key(factor, term)].append(n)
    factored: dict[int, Expr | None] = {}  # the first term of a group -> the group; the others -> None
    for positions in sorted(by_key.values(), key=len, reverse=True):
        group = [n for n in dict.fromkeys(positions) if n not in factored]
        merged = _factor_group([add.terms[n] for n in group], add.out) if len(group) > 1 else None
        if merged is not None:
            factored.update({n: None for n in group} | {group[0]: merged})
    if not factored:
        return add
    kept = (factored.get(n, t) for n, t in enumerate(add.terms))
    terms = tuple(t for t in kept if t is not None)
    if len(terms) == 1 and terms[0].free == add.out:
        return terms[0]
    return Add(terms, add.out, positional=add.positional)


@dataclass
class _Match:
    """How a term lines up with its group's first term: its summed indices renamed, and the factors taken."""

    term: Contract
    mapping: dict[Index, Index] = field(default_factory=dict)
    taken: frozenset[int] = frozenset()

    def take(self, factor: Expr, first: Contract) -> _Match | None:
        """This match with a factor equal to ``factor`` of ``first`` (up to summed names) taken, if one lines up."""
        key = _key(factor, first)
        for n, mine in enumerate(self.term.factors):
            if n in self.taken or _scalar(mine) or _key(mine, self.term) != key:
                continue
            extension = dict(zip(mine.free, factor.free, strict=True))
            if self._consistent(extension):
                return _Match(self.term, self.mapping | extension, self.taken | {n})
        return None

    def _consistent(self, extension: dict[Index, Index]) -> bool:
        """Output indices stay, a summed index goes to one summed index of the first term, one-to-one."""
        images = {v: k for k, v in self.mapping.items()}
        out = set(self.term.out)
        return all(
            self.mapping.get(k, v) == v and images.get(v, k) == k and (k == v if k in out else v not in out)
            for k, v in extension.items()
        )

    def rest(self, avoid: set[str]) -> list[Expr]:
        """The factors not taken, in the first term's summed names (the term's other summed indices renamed
        away from ``avoid``)."""
        own = [k for k in self.term.summed if k not in self.mapping]
        fresh = {k: Index(n, k.dim) for k, n in zip(own, fresh_names(avoid, len(own)), strict=True)}
        return [rename(f, self.mapping | fresh) for n, f in enumerate(self.term.factors) if n not in self.taken]


def _factor_group(group: Sequence[Expr], out: tuple[Index, ...]) -> Expr | None:
    """``Σ_t common · rest_t`` as ``common · Σ_t rest_t``, or ``None`` where that could cost more."""
    first, *others = group
    assert isinstance(first, Contract) and all(isinstance(t, Contract) for t in others)
    matches = [_Match(t) for t in others if isinstance(t, Contract)]
    common: list[int] = []
    for n, factor in enumerate(first.factors):
        trial = [] if _scalar(factor) else [m.take(factor, first) for m in matches]
        taken = [m for m in trial if m is not None]
        if trial and len(taken) == len(matches):
            matches = taken
            common.append(n)
    if not common:
        return None
    avoid = index_names(first) | {k.name for k in out}
    rests = [[f for n, f in enumerate(first.factors) if n not in common]] + [m.rest(avoid) for m in matches]
    visible = {k for n in common for k in first.factors[n].free} | set(first.out)
    remainder = _sum_of_rests(rests, visible)
    if remainder is None:
        return None
    factors = (*(first.factors[n] for n in common), remainder)
    return Contract(factors, tuple(k for k in out if k in first.out), positional=first.positional)


def _sum_of_rests(rests: list[list[Expr]], visible: set[Index]) -> Expr | None:
    """``Σ_t rest_t`` over the indices the rests share with the common factors or the output, or ``None`` where a
    rest holds two factors over indices or no rest spans the sum's indices (factoring could then cost more)."""
    if any(sum(not _scalar(f) for f in rest) > 1 for rest in rests):
        return None
    outs = [tuple(dict.fromkeys(k for f in rest for k in f.free if k in visible)) for rest in rests]
    union = tuple(dict.fromkeys(k for o in outs for k in o))
    if not any(set(o) == set(union) for o in outs):
        return None
    terms = tuple(_product(rest, o) for rest, o in zip(rests, outs, strict=True))
    return Add(terms, union)


def _product(factors: list[Expr], out: tuple[Index, ...]) -> Expr:
    if not factors:
        return Const(1.0)
    if len(factors) == 1 and factors[0].free == out:
        return factors[0]
    return Contract(tuple(factors), out)
