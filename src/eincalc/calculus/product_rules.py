"""The product rules of `eincalc.calculus.simplify`: rewrites of a `Contract` node, and `rebuild()`.

Each rule takes a product and returns the rewritten node or ``None``: drop a zero, fold constants,
flatten nested products, hoist a nested coefficient, eliminate Kronecker deltas, absorb all-ones
broadcasts, distribute over a sum when a delta can then collapse, unwrap a product of one factor.
`rebuild()` makes a product with a node's output from new factors, renaming summed indices once.
"""

from __future__ import annotations

from collections.abc import Mapping

from ..core.expr import Expr
from ..core.indices import Index
from ..core.name_pool import bound_names
from ..core.names import fresh_indices, rename
from ..core.nodes import Add, Const, Contract, Delta, One, Size, Zero, split_coefficient


def rebuild(node: Contract, factors: list[Expr], vanished: tuple[Index, ...] = ()) -> Expr:
    """A contraction over ``factors`` with ``node``'s output.

    An output index no factor carries any more becomes ``1[k]``; a summed index in
    ``vanished`` that no factor carries becomes ``size(k)`` (``Σ_k 1 = n``).
    """
    return _rebuild_renamed(node, [(f, {}) for f in factors], vanished)


def _rebuild_renamed(
    node: Contract, pairs: list[tuple[Expr, Mapping[Index, Index]]], vanished: tuple[Index, ...] = ()
) -> Expr:
    """`rebuild()` over factors each renamed by its mapping, and renamed only once: the summed indices
    go straight to the names the product gives them (`eincalc.core.name_pool.bound_names()` by first appearance),
    so the product is canonical as built and no factor is renamed a second time."""
    out = set(node.out)
    carried = {m.get(k, k): None for f, m in pairs for k in f.free}  # by the names before the product's own
    summed = [k for k in carried if k not in out]
    final = dict(
        zip(
            summed,
            (
                Index(n, k.dim)
                for n, k in zip(bound_names(len(summed), {k.name for k in node.out}), summed, strict=True)
            ),
            strict=True,
        )
    )
    factors = [
        rename(f, {k: final.get(t, t) for k in f.free if (t := m.get(k, k)) != k or t in final}) for f, m in pairs
    ]
    factors += [One(k) for k in node.out if k not in carried]
    factors += [Size(k.dim) for k in vanished if k not in carried and k not in out]
    if not factors:
        return Const(1.0)
    return Contract(tuple(factors), node.out, positional=node.positional)


FLAT_PRODUCT_LIMIT = 8
"""A nested product with sums of its own is merged into the enclosing one only while the merged
product has at most this many factors: a chain of products (``W₃ᵀ(W₂ᵀ(W₁ᵀ g))`` and the backward
pass of a deep network) then stays a chain, and each product is simplified in bounded time."""


def flatten_product(node: Expr) -> Expr | None:
    assert isinstance(node, Contract)
    merged = [f for f in node.factors if isinstance(f, Contract) and _merges(f, node)]
    if not merged:
        return None
    pairs: list[tuple[Expr, Mapping[Index, Index]]] = []
    used = {k.name for f in node.factors for k in f.free}
    for factor in node.factors:
        if not any(factor is m for m in merged):
            pairs.append((factor, {}))
            continue
        assert isinstance(factor, Contract)
        inner = factor.summed
        new = fresh_indices(inner, used)
        used |= {k.name for k in new}
        mapping = dict(zip(inner, new, strict=True))
        pairs.extend((f, mapping) for f in factor.factors)
    return _rebuild_renamed(node, pairs)


def _merges(inner: Contract, outer: Contract) -> bool:
    """Whether ``inner`` joins the product ``outer``: always when it holds a factor a rule can remove (all-ones,
    zero, a size, or a delta with an index ``outer`` sums), else while the product stays small, element-wise or
    not (a constant factor of a large one moves out instead: `hoist_coefficient()`), so a deep chain of
    ``1 − tᵢ²`` factors is simplified in bounded work per layer.  A delta between two kept indices (the δ[i,p]
    of a Jacobian ``∂h[i]/∂x[p]``) stays where it is: no rule removes it, and merging for it would make the
    Jacobian of an L-deep element-wise chain one product of L factors, simplified again at every layer."""
    kept = set(outer.out)
    if any(isinstance(f, One | Zero | Size) for f in inner.factors):
        return True
    if any(isinstance(f, Delta) and not kept.issuperset(f.free) for f in inner.factors):
        return True
    return len(outer.factors) + len(inner.factors) - 1 <= FLAT_PRODUCT_LIMIT


def hoist_coefficient(node: Expr) -> Expr | None:
    """``a (2 W[i,j] g[i]) → 2 a (W[i,j] g[i])``: a nested product's coefficient joins the enclosing one."""
    assert isinstance(node, Contract)
    for position, factor in enumerate(node.factors):
        if isinstance(factor, Contract):
            coefficient, rest = split_coefficient(factor)
            if coefficient != 1.0 and rest:
                inner = rebuild(factor, rest)
                others = [*node.factors[:position], inner, *node.factors[position + 1 :]]
                return rebuild(node, [Const(coefficient), *others])
    return None


def zero_factor(node: Expr) -> Expr | None:
    assert isinstance(node, Contract)
    if any(isinstance(f, Zero) or (isinstance(f, Const) and f.value == 0.0) for f in node.factors):
        return Zero(node.out, positional=node.positional)
    return None


def fold_constants(node: Expr) -> Expr | None:
    assert isinstance(node, Contract)
    coefficient, rest = split_coefficient(node)
    constants = len(node.factors) - len(rest)
    leading = bool(node.factors) and isinstance(node.factors[0], Const)
    if constants == 0 or (constants == 1 and leading and coefficient != 1.0):
        return None
    factors = rest if coefficient == 1.0 else [Const(coefficient), *rest]
    return rebuild(node, factors)


def eliminate_delta(node: Expr) -> Expr | None:
    assert isinstance(node, Contract)
    summed = set(node.summed)
    for position, factor in enumerate(node.factors):
        if not isinstance(factor, Delta):
            continue
        keep, drop = _delta_direction(factor, summed)
        others = node.factors[:position] + node.factors[position + 1 :]
        if drop is None or any(_would_repeat(f, keep, drop) for f in others):
            continue
        return _rebuild_renamed(node, [(f, {drop: keep}) for f in others], (keep,))
    return None


def _would_repeat(factor: Expr, keep: Index, drop: Index) -> bool:
    """Whether renaming ``drop`` to ``keep`` gives ``factor`` a repeated free index it cannot hold.

    Only nodes that hold a diagonal can carry one (``A[i,i]``, ``inv(X)[i,i]``); ``σ(M)[i,i]``
    has no node, so there the delta stays.
    """
    return keep != drop and not factor.holds_diagonal and keep in factor.free and drop in factor.free


def _delta_direction(delta: Delta, summed: set[Index]) -> tuple[Index, Index | None]:
    """Which index of ``δ[i,j]`` survives and which is summed away (``None``: neither can go)."""
    if delta.i == delta.j:
        return delta.i, delta.j
    if delta.j in summed:
        return delta.i, delta.j
    if delta.i in summed:
        return delta.j, delta.i
    return delta.i, None


def absorb_ones(node: Expr) -> Expr | None:
    assert isinstance(node, Contract)
    for position, factor in enumerate(node.factors):
        if isinstance(factor, One):
            others = node.factors[:position] + node.factors[position + 1 :]
            if any(factor.i in f.free for f in others) or factor.i not in node.out:
                return rebuild(node, list(others), (factor.i,))
    return None


def unwrap_product(node: Expr) -> Expr | None:
    assert isinstance(node, Contract)
    if len(node.factors) == 1 and node.factors[0].free == node.out:
        return node.factors[0]
    if not node.factors:
        return Const(1.0)
    return None


def distribute_over_sum(node: Expr) -> Expr | None:
    """``δ[i,p] (a[i] + b[i]) → δ[i,p] a[i] + δ[i,p] b[i]`` when a delta inside a term can then collapse."""
    assert isinstance(node, Contract)
    summed = set(node.summed)
    for position, factor in enumerate(node.factors):
        if isinstance(factor, Add) and _has_collapsible_delta(factor, summed):
            others = node.factors[:position] + node.factors[position + 1 :]
            terms = tuple(  # a term that lacks an index of the sum is constant along it: 1[k] or size(k)
                rebuild(
                    node,
                    [*others[:position], term, *others[position:]],
                    tuple(k for k in factor.free if k not in term.free),
                )
                for term in factor.terms
            )
            return Add(terms, node.out, positional=node.positional)
    return None


def _has_collapsible_delta(sum_node: Add, summed: set[Index]) -> bool:
    for term in sum_node.terms:
        parts = term.factors if isinstance(term, Contract) else (term,)
        if any(isinstance(p, Delta) and (p.i in summed or p.j in summed) for p in parts):
            return True
    return False
