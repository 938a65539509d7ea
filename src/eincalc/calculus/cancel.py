"""Simplification through named intermediates: a factor cancels its reciprocal, even inside a name's definition.

Reverse mode names the gradient arriving at a named intermediate (``dŷ`` for
``ŷ = ec.let("ŷ", ec.softmax(θ))``), and the rule of the next layer then
multiplies it by the intermediate again: the softmax rule gives
``ŷ ⊙ (dŷ − (dŷᵀ ŷ) 1)``, while the cross-entropy's gradient is
``dŷ = −y ⊙ ŷ⁻¹``.  Three rules let the simplifier see that ``ŷ ⊙ dŷ = −y``, so
that the simplex rule (``Σ_i y[i] = 1``, `eincalc.ops.nn`) can finish the job and
the gradient reads ``ŷ − y``:

* ``reciprocal``: ``x x⁻¹ = 1`` for a factor and its reciprocal over the same indices;
* ``inline-to-cancel``: a named factor whose definition holds the reciprocal of
  another factor is written out;
* ``distribute-to-cancel``: a product is distributed over a sum one of whose terms
  holds the reciprocal of another factor;
* ``expand-to-collect``: a sum of element-wise products of sums is multiplied out
  when two of the resulting terms are alike, so they collect:
  ``p ⊙ (1 − y) − (1 − p) ⊙ y = p − y``.  The terms are counted first, once per
  node, and nothing is multiplied out into more than `EXPANSION_LIMIT` terms.

Each rewrite keeps the value (``x⁻¹`` is defined only where ``x ≠ 0``); a name
is written out only where that lets a factor cancel.

>>> import eincalc as ec
>>> theta, = ec.tensors("θ[c]")
>>> y, = ec.tensors("y[c]", simplex="y")
>>> y_hat = ec.let("ŷ", ec.softmax(theta))
>>> print(ec.to_matrix(ec.grad(-ec.sum(y * ec.log(y_hat)), theta)))
ŷ − y
  where ŷ = softmax(θ)
"""

from __future__ import annotations

import itertools
import math
from collections import Counter

from ..core.expr import Expr
from ..core.indices import Index
from ..core.names import rename
from ..core.nodes import Add, Apply, Const, Contract, Named, One, Size
from .simplify import Rule, register_rule


def _base_of_reciprocal(factor: Expr) -> Expr | None:
    """``x`` when ``factor`` is ``x⁻¹``."""
    if isinstance(factor, Apply) and factor.fn == "pow" and factor.param == -1.0:
        return factor.arg
    return None


def _definition(named: Named) -> Expr:
    """The body of ``named`` with its free indices renamed to the ones of this reference."""
    return rename(named.body, dict(zip(named.body.free, named.indices, strict=True)))


def _reciprocals(expr: Expr) -> tuple[Expr, ...]:
    """The ``x`` of every ``x⁻¹`` that multiplies ``expr``: its factors, those of nested products and of named
    definitions.  Computed once per node and kept on it (children first, without recursion), so asking every
    product of a deep named chain is linear in its distinct nodes."""
    result: tuple[Expr, ...] = expr.cached("reciprocals", _own_reciprocals)
    return result


def _own_reciprocals(node: Expr) -> tuple[Expr, ...]:
    """`_reciprocals()` of ``node`` from the cached ones of its children."""
    base = _base_of_reciprocal(node)
    if base is not None:
        return (base,)
    if isinstance(node, Contract | Add):  # a base that carries an index summed here is not seen from outside
        free = set(node.free)
        bases = (b for child in node.children() for b in child.memo()["reciprocals"])
        return tuple(dict.fromkeys(b for b in bases if free.issuperset(b.free)))
    if isinstance(node, Named):
        mapping = dict(zip(node.body.free, node.indices, strict=True))
        return tuple(rename(b, mapping) for b in node.body.memo()["reciprocals"])
    return ()


def _cancels_with(term: Expr, others: tuple[Expr, ...]) -> bool:
    """Whether ``term`` holds the reciprocal of one of ``others``."""
    return any(base in others for base in _reciprocals(term))


def _product(node: Contract, factors: list[Expr], gone: tuple[Index, ...] = ()) -> Expr:
    """``factors`` multiplied with ``node``'s output: an output index no factor carries becomes ``1[k]``, a summed
    index of ``gone`` that none carries becomes ``size(k)`` (``Σ_k 1 = n``)."""
    present = {k for f in factors for k in f.free}
    factors = [*factors, *(One(k) for k in node.out if k not in present)]
    factors += [Size(k.dim) for k in dict.fromkeys(gone) if k not in present and k not in node.out]
    return Contract(tuple(factors), node.out, positional=node.positional) if factors else Const(1.0)


def _reciprocal(node: Expr) -> Expr | None:
    assert isinstance(node, Contract)
    first: dict[Expr, int] = {}  # where each factor first occurs: one pass, not one per factor
    for position, factor in enumerate(node.factors):
        first.setdefault(factor, position)
    for n, factor in enumerate(node.factors):
        base = _base_of_reciprocal(factor)
        m = None if base is None else first.get(base)
        if base is not None and m is not None and m != n:
            rest = [f for k, f in enumerate(node.factors) if k not in (n, m)]
            return _product(node, rest, base.free)
    return None


def _inline_to_cancel(node: Expr) -> Expr | None:
    assert isinstance(node, Contract)
    for n, factor in enumerate(node.factors):
        if not isinstance(factor, Named):
            continue
        others = node.factors[:n] + node.factors[n + 1 :]
        if _cancels_with(factor, others):
            return Contract((*others, _definition(factor)), node.out, positional=node.positional)
    return None


def _distribute_to_cancel(node: Expr) -> Expr | None:
    assert isinstance(node, Contract)
    for n, factor in enumerate(node.factors):
        if not isinstance(factor, Add):
            continue
        others = node.factors[:n] + node.factors[n + 1 :]
        if any(_cancels_with(term, others) for term in factor.terms):
            terms = tuple(
                _product(node, [*others, term, *(One(k) for k in factor.out if k not in term.free)])
                for term in factor.terms
            )
            return Add(terms, node.out, positional=node.positional)
    return None


EXPANSION_LIMIT = 16
"""The most terms ``expand-to-collect`` multiplies a sum out into."""


def _monomial_count(node: Expr) -> int:
    """How many terms `_monomials()` gives for ``node``, ``EXPANSION_LIMIT + 1`` standing for any more.

    Counted from the children's counts and kept on each node, so the limit is
    checked before anything is multiplied out, and a sum whose sub-expressions
    are shared many times over costs one step per distinct node.
    """
    result: int = node.cached("monomial count", _own_monomial_count)
    return result


def _own_monomial_count(node: Expr) -> int:
    """`_monomial_count()` of ``node`` from the cached counts of its children."""
    if isinstance(node, Add):
        return min(sum(t.memo()["monomial count"] for t in node.terms), EXPANSION_LIMIT + 1)
    if not isinstance(node, Contract) or node.summed:  # only an element-wise product multiplies out
        return 1
    product = math.prod(f.memo()["monomial count"] if isinstance(f, Add) else 1 for f in node.factors)
    return product if product <= EXPANSION_LIMIT else 1  # too many: the product stays as it is


def _monomials(term: Expr) -> list[Expr]:
    """``term`` multiplied out where it is an element-wise product of sums (nothing summed), else ``[term]``.

    Only called where `_monomial_count()` is within `EXPANSION_LIMIT`, so the lists it builds are short.
    """
    if isinstance(term, Add):
        return [m for t in term.terms for m in _monomials(t)]
    if not isinstance(term, Contract) or _monomial_count(term) == 1:
        return [term]
    choices = [_monomials(f) if isinstance(f, Add) else [f] for f in term.factors]
    return [_product(term, [p for f in picked for p in _plain_factors(f)]) for picked in itertools.product(*choices)]


def _plain_factors(factor: Expr) -> tuple[Expr, ...]:
    """The factors of a product that sums nothing (they join the enclosing product as they are), else ``factor``."""
    return factor.factors if isinstance(factor, Contract) and not factor.summed else (factor,)


def _like(monomial: Expr) -> frozenset[tuple[Expr, int]]:
    """The factors of ``monomial`` but its numbers: equal for terms that add up as ``a x + b x``."""
    factors = monomial.factors if isinstance(monomial, Contract) else (monomial,)
    return frozenset(Counter(f for f in factors if not isinstance(f, Const)).items())


def _expand_to_collect(node: Expr) -> Expr | None:
    assert isinstance(node, Add)
    if _monomial_count(node) in (len(node.terms), EXPANSION_LIMIT + 1):
        return None  # nothing to multiply out, or too much
    monomials = _monomials(node)
    keys = [_like(m) for m in monomials]
    return Add(tuple(monomials), node.out, positional=node.positional) if len(set(keys)) < len(keys) else None


for _rule in (
    Rule("reciprocal", "A factor times its reciprocal is one: x x⁻¹ = 1.", Contract, _reciprocal),
    Rule(
        "inline-to-cancel",
        "A named intermediate holds the reciprocal of another factor: written out, the two cancel.",
        Contract,
        _inline_to_cancel,
    ),
    Rule(
        "distribute-to-cancel",
        "A term of the sum holds the reciprocal of another factor: distributed, the two cancel.",
        Contract,
        _distribute_to_cancel,
    ),
    Rule("expand-to-collect", "Multiplied out, two terms of the sum are alike and add up.", Add, _expand_to_collect),
):
    register_rule(_rule)
