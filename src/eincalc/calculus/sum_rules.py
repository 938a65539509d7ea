"""The sum rules of `eincalc.calculus.simplify`: rewrites of an `Add` node.

Each rule takes a sum and returns the rewritten node or ``None``: flatten nested sums, drop zero
terms, unwrap a sum of one term, and collect like terms modulo renaming of summed indices.
"""

from __future__ import annotations

from collections import Counter

from ..core.expr import Expr
from ..core.indices import Index
from ..core.names import canonical
from ..core.nodes import Add, Apply, Const, Contract, One, Tensor, Zero, split_coefficient
from .product_rules import rebuild


def flatten_sum(node: Expr) -> Expr | None:
    assert isinstance(node, Add)
    if not any(isinstance(t, Add) for t in node.terms):
        return None
    terms = [part for t in node.terms for part in (t.terms if isinstance(t, Add) else (t,))]
    return Add(tuple(terms), node.out, positional=node.positional)


def drop_zero_terms(node: Expr) -> Expr | None:
    assert isinstance(node, Add)
    terms = [t for t in node.terms if not _is_zero(t)]
    if len(terms) == len(node.terms):
        return None
    if not terms:
        return Zero(node.out, positional=node.positional)
    return Add(tuple(terms), node.out, positional=node.positional)


def _is_zero(expr: Expr) -> bool:
    return isinstance(expr, Zero) or (isinstance(expr, Const) and expr.value == 0.0)


def single_term(node: Expr) -> Expr | None:
    assert isinstance(node, Add)
    if len(node.terms) != 1:
        return None
    term = node.terms[0]
    if term.free == node.out:
        return term
    ones = tuple(One(k) for k in node.out if k not in set(term.free))
    return Contract((term, *ones), node.out, positional=node.positional)


def collect_terms(node: Expr) -> Expr | None:
    assert isinstance(node, Add)
    split = [_coefficient_and_body(term) for term in node.terms]
    prints = Counter(_fingerprint(body) for _, body in split)
    if all(count == 1 for count in prints.values()):
        return None  # no two terms can be alike: skip the canonical forms
    groups: dict[Expr, list[tuple[float, Expr]]] = {}
    for coefficient, body in split:
        key = _like_key(body) if prints[_fingerprint(body)] > 1 else body
        groups.setdefault(key, []).append((coefficient, body))
    if all(len(members) == 1 for members in groups.values()):
        return None
    terms: list[Expr] = []
    for members in groups.values():
        total = sum(c for c, _ in members)
        if total != 0.0:
            terms.append(_scaled(members[0][1], total))
    if not terms:
        return Zero(node.out, positional=node.positional)
    return Add(tuple(terms), node.out, positional=node.positional)


def _scaled(body: Expr, coefficient: float) -> Expr:
    if isinstance(body, Const):
        return Const(coefficient * body.value)
    if coefficient == 1.0:
        return body
    return Contract((Const(coefficient), body), body.free)


def _coefficient_and_body(term: Expr) -> tuple[float, Expr]:
    if isinstance(term, Const):
        return term.value, Const(1.0)
    if isinstance(term, Contract):
        coefficient, rest = split_coefficient(term)
        if coefficient != 1.0:
            body = rest[0] if len(rest) == 1 and rest[0].free == term.out else rebuild(term, rest)
            return coefficient, body
    return 1.0, term


def _fingerprint(body: Expr) -> tuple[str, frozenset[Index], frozenset[str]]:
    """Equal for terms that `_like_key()` may find alike (cheap: no renaming)."""
    return type(body).__name__, frozenset(body.free), body.cached("tensors and functions", _names_inside)


def _names_inside(node: Expr) -> frozenset[str]:
    """The tensors and functions in ``node`` (its children's already cached)."""
    own = {node.spec.name} if isinstance(node, Tensor) else {f"{node.fn}()"} if isinstance(node, Apply) else set()
    return frozenset(own).union(*(child.memo()["tensors and functions"] for child in node.children()))


def _like_key(body: Expr) -> Expr:
    """A key equal for terms equal up to factor order and names of summed indices."""
    if isinstance(body, Contract):
        out = set(body.out)
        body = Contract(tuple(sorted(body.factors, key=lambda f: _shape_key(f, out))), body.out)
    return canonical(body)


def _shape_key(factor: Expr, free: set[Index]) -> tuple[str, ...]:
    """A sort key that ignores the names of summed indices (ties only cost a missed collection)."""
    if isinstance(factor, Tensor):
        return ("Tensor", factor.spec.name, *(k.name if k in free else "_" for k in factor.indices))
    return (type(factor).__name__, str(factor.rank), *sorted(k.name for k in factor.free if k in free))
