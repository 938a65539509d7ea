"""Index names: fresh names, capture-avoiding renaming, canonical forms modulo renaming.

Bound (summed) indices are local to the `Contract` that
sums them, so renaming must never capture them, and two expressions that differ
only in the names of bound indices are the same expression.

>>> from eincalc.core.indices import Index, TensorSpec
>>> from eincalc.core.nodes import Tensor
>>> i, p = Index("i", "n"), Index("p", "n")
>>> str(rename(Tensor(TensorSpec("x", ("n",)), (i,)), {i: p}))
'x[p]'
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import replace

from .expr import RENAMING, Expr, raw_mode, raw_nodes
from .indices import Index
from .name_pool import CANONICAL_POOL, bound_names, name_pool
from .nodes import Add, Contract, Delta, Named, One, Tensor, Zero
from .traversal import walk


def bound_indices(expr: Expr) -> Iterator[Index]:
    """Every index bound (summed) anywhere inside ``expr``."""
    for sub in walk(expr):
        if isinstance(sub, Contract):
            yield from sub.summed
        else:
            yield from getattr(sub, "summed", ())


def index_names(expr: Expr) -> set[str]:
    """All index names used anywhere in ``expr``: free, bound, and inside named intermediates.

    Cached on every node, so repeated calls on a growing DAG stay linear.
    """

    def compute(node: Expr) -> frozenset[str]:
        own = {k.name for k in node.free}
        return frozenset(own).union(*(c.memo()["index names"] for c in node.children()))

    return set(expr.cached("index names", compute))


FRESH_POOL = "pqrstuvwxyzabcdefgh"


def positional_names(count: int) -> list[str]:
    """The names of ``count`` axes by position: ``i, j, …, h``, then ``i1, j1, …`` (any rank has names).

    >>> positional_names(3), positional_names(28)[-3:]
    (['i', 'j', 'k'], ['h', 'i1', 'j1'])
    """
    return list(itertools.islice(name_pool(CANONICAL_POOL), count))


def fresh_names(used: set[str], count: int, pool: str = FRESH_POOL) -> list[str]:
    """``count`` index names not in ``used``, taken deterministically from ``pool``.

    >>> fresh_names({"p", "i"}, 3)
    ['q', 'r', 's']
    """
    return list(itertools.islice((n for n in name_pool(pool) if n not in used), count))


def fresh_indices(like: Iterable[Index], used: set[str], pool: str = FRESH_POOL) -> tuple[Index, ...]:
    """New indices with the dimensions of ``like`` and names not in ``used``."""
    like = tuple(like)
    names = fresh_names(used, len(like), pool)
    return tuple(Index(n, k.dim) for n, k in zip(names, like, strict=True))


def rename(expr: Expr, mapping: Mapping[Index, Index]) -> Expr:
    """Rename free indices of ``expr`` by ``mapping`` (all at once), never capturing a bound index.

    A binding node renamed takes the canonical names for its bound indices again
    (the first names not among its new free ones), so the result is canonical too.
    Each (node, renaming) is computed once and kept on the node, the inverse
    renaming with it, and the descent is iterative: renaming a chain is linear in
    its distinct nodes, at any depth.
    """
    if expr._rep is None or raw_mode():  # a display tree: its names are kept, and so are the new ones
        with raw_nodes():
            return _rename_raw(expr, mapping)
    key = _restrict(expr, mapping)
    if key is None:
        return expr
    stack: list[tuple[Expr, frozenset[tuple[Index, Index]]]] = [(expr, key)]
    while stack:
        node, job = stack[-1]
        if job in _renamed(node):
            stack.pop()
            continue
        children, build = _plan(node, dict(job))
        missing = [(c, k) for c, k in children if k is not None and k not in _renamed(c)]
        if missing:
            stack.extend(missing)
            continue
        stack.pop()
        result = build([c if k is None else _renamed(c)[k] for c, k in children])
        _remember(node, job, result)
    return _renamed(expr)[key]


def _renamed(node: Expr) -> dict[frozenset[tuple[Index, Index]], Expr]:
    memo: dict[frozenset[tuple[Index, Index]], Expr] = node.memo().setdefault("renamed", {})
    return memo


def _restrict(node: Expr, mapping: Mapping[Index, Index]) -> frozenset[tuple[Index, Index]] | None:
    """The part of ``mapping`` that changes a free index of ``node`` (``None`` if nothing changes)."""
    job = frozenset((k, v) for k in node.free if (v := mapping.get(k, k)) != k)
    return job or None


def _remember(node: Expr, job: frozenset[tuple[Index, Index]], result: Expr) -> None:
    """Keep ``result`` as ``node`` renamed by ``job``, and ``node`` as ``result`` renamed back."""
    _renamed(node)[job] = result
    if result._rep is not None and len(set(result.free)) == len(node.free):
        _renamed(result).setdefault(frozenset((v, k) for k, v in job), node)


Plan = tuple[list[tuple[Expr, "frozenset[tuple[Index, Index]] | None"]], Callable[[list[Expr]], Expr]]


def _plan(node: Expr, mapping: dict[Index, Index]) -> Plan:
    """The children to rename (and how), and how to build the renamed node from them."""

    def get(k: Index) -> Index:
        return mapping.get(k, k)

    if isinstance(node, Tensor):
        return [], lambda _: Tensor(node.spec, tuple(map(get, node.indices)), positional=node.positional)
    if isinstance(node, Delta):
        return [], lambda _: Delta(get(node.i), get(node.j), positional=node.positional)
    if isinstance(node, One):
        return [], lambda _: One(get(node.i), positional=node.positional)
    if isinstance(node, Zero):
        return [], lambda _: Zero(tuple(map(get, node.indices)), positional=node.positional)
    if isinstance(node, Named):
        return [], lambda _: replace(node, indices=tuple(map(get, node.indices)))
    if isinstance(node, Contract):
        out = tuple(map(get, node.out))
        summed = node.summed
        names = bound_names(len(summed), {k.name for k in out})
        inner = mapping | {k: Index(n, k.dim) for k, n in zip(summed, names, strict=True)}
        return (
            [(f, _restrict(f, inner)) for f in node.factors],
            lambda parts: Contract(tuple(parts), out, positional=node.positional),
        )
    if isinstance(node, Add):
        out = tuple(map(get, node.out))
        return (
            [(t, _restrict(t, mapping)) for t in node.terms],
            lambda parts: Add(tuple(parts), out, positional=node.positional),
        )
    own = getattr(node, "rename_with", None)
    if own is not None:
        return [], lambda _: own(mapping)
    if getattr(node, "summed", ()):
        raise TypeError(f"{type(node).__name__} binds indices and must define rename_with")

    def rebuild(parts: list[Expr]) -> Expr:
        remaining = iter(parts)
        return node.map_children(lambda _: next(remaining))

    return [(c, _restrict(c, mapping)) for c in node.children()], rebuild


def _rename_raw(expr: Expr, mapping: Mapping[Index, Index]) -> Expr:
    """`rename()` for display trees: bound names stay unless a target would capture them."""
    free = set(expr.free)
    mapping = {k: v for k, v in mapping.items() if k != v and k in free}
    if not mapping:
        return expr
    return _rename(expr, mapping)


def _rename(expr: Expr, mapping: Mapping[Index, Index]) -> Expr:
    if isinstance(expr, Tensor):
        return Tensor(expr.spec, tuple(mapping.get(k, k) for k in expr.indices), positional=expr.positional)
    if isinstance(expr, Delta):
        return Delta(mapping.get(expr.i, expr.i), mapping.get(expr.j, expr.j), positional=expr.positional)
    if isinstance(expr, One):
        return One(mapping.get(expr.i, expr.i), positional=expr.positional)
    if isinstance(expr, Zero):
        return Zero(tuple(mapping.get(k, k) for k in expr.indices), positional=expr.positional)
    if isinstance(expr, Contract):
        return _rename_binder(expr, mapping)
    if isinstance(expr, Named):
        return replace(expr, indices=tuple(mapping.get(k, k) for k in expr.indices))
    if isinstance(expr, Add):
        out = tuple(mapping.get(k, k) for k in expr.out)
        return Add(tuple(_rename_raw(t, mapping) for t in expr.terms), out, positional=expr.positional)
    if getattr(expr, "summed", ()):
        expr = _avoid_capture(expr, {v.name for v in mapping.values()})
    own = getattr(expr, "rename_with", None)
    if own is not None:
        return own(mapping)
    return expr.map_children(lambda child: _rename_raw(child, mapping))


def _avoid_capture(expr: Expr, targets: set[str]) -> Expr:
    """Rename a binding node's own bound indices (``summed``) away from ``targets``."""
    bound = [k for k in getattr(expr, "summed", ()) if k.name in targets]
    if not bound:
        return expr
    new = fresh_indices(bound, index_names(expr) | targets)
    return expr.rebind(dict(zip(bound, new, strict=True)))  # type: ignore[attr-defined]


def _rename_binder(expr: Contract, mapping: Mapping[Index, Index]) -> Expr:
    targets = {v.name for v in mapping.values()}
    clashing = [k for k in expr.summed if k.name in targets]
    inner: dict[Index, Index] = dict(mapping)
    if clashing:
        used = index_names(expr) | targets | {k.name for k in mapping}
        for old, new in zip(clashing, fresh_indices(clashing, used), strict=True):
            inner[old] = new
    factors = tuple(_rename_raw(f, inner) for f in expr.factors)
    out = tuple(mapping.get(k, k) for k in expr.out)
    return Contract(factors, out, positional=expr.positional)


def with_positional(expr: Expr, positional: bool) -> Expr:
    """The same node with the ``positional`` flag set as given."""
    if expr.positional == positional:
        return expr
    return replace(expr, positional=positional)  # type: ignore[type-var]


def canonical(expr: Expr) -> Expr:
    """Name bound indices ``i, j, k, …`` by position (skipping the names in scope).

    Built nodes are canonical already (a node names its bound indices from itself
    alone), so this only changes display trees (`separate_bound()`).
    Two expressions that differ only in the names of summed indices have the same
    canonical form, so ``canonical(a) == canonical(b)`` is equality modulo renaming.

    >>> from eincalc.core.indices import Index, TensorSpec
    >>> from eincalc.core.nodes import Tensor, Contract
    >>> x, y = TensorSpec("x", ("n",)), TensorSpec("y", ("n",))
    >>> k, q = Index("k", "n"), Index("q", "n")
    >>> str(canonical(Contract((Tensor(x, (k,)), Tensor(y, (k,))), ())))
    'x[i] y[i]'
    """
    if expr._rep is not None:
        return expr
    return _relabel(expr, frozenset(k.name for k in expr.free), False)[0]


def separate_bound(expr: Expr) -> Expr:
    """The display tree of ``expr``: bound indices renamed so that no sum reuses a name in scope.

    Nodes name their bound indices from themselves alone, so nested sums often share
    names; here every bound index takes the first name not used by an enclosing scope
    (nor by a product juxtaposed beside it), and no name stands for two dimensions:
    what the printer needs for text that reads back unambiguously.  The tree is built
    with `raw_nodes()` (its names are not canonical).
    """
    with raw_nodes():
        return _one_dimension_per_name(_relabel(expr, frozenset(k.name for k in expr.free), False)[0])


def _one_dimension_per_name(expr: Expr) -> Expr:
    """Rename bound indices so that no name stands for two dimensions anywhere in ``expr``.

    Text is read back by inferring the dimension of ``1[i]``, ``0[i]`` and ``δ[i,j]``
    from the other uses of ``i``, so sibling sums ``Σ(x[i]) + Σ(1[i])`` over different
    dimensions must not share the name.  A name keeps the dimension it has as a free
    index of ``expr`` (else its first use); its bound uses with another dimension get
    fresh names, one per dimension.  Named intermediates' bodies are printed on their own.
    """
    dims: dict[str, dict[str, None]] = {k.name: {k.dim: None} for k in expr.free}
    for sub in walk(expr, enter=lambda node: not isinstance(node, Named)):
        for k in sub.free:
            dims.setdefault(k.name, {})[k.dim] = None
    clashes = [(name, dim) for name, seen in dims.items() for dim in list(seen)[1:]]
    if not clashes:
        return expr
    names = fresh_names(index_names(expr), len(clashes), CANONICAL_POOL)
    moved = {clash: name for clash, name in zip(clashes, names, strict=True)}
    memo: dict[Expr, Expr] = {}

    def visit(node: Expr) -> Expr:
        if node not in memo:
            binds = [k for k in getattr(node, "summed", ()) if (k.name, k.dim) in moved]
            if isinstance(node, Named):
                memo[node] = node
            elif binds:
                mapping = {k: Index(moved[k.name, k.dim], k.dim) for k in binds}
                rebound = _rename_bound(node, mapping)
                memo[node] = rebound.map_children(visit)
            else:
                memo[node] = node.map_children(visit)
        return memo[node]

    return visit(expr)


def _rename_bound(expr: Expr, mapping: Mapping[Index, Index]) -> Expr:
    """A binding node with its own bound indices renamed by ``mapping`` (new names unused in ``expr``)."""
    if isinstance(expr, Contract):
        return Contract(tuple(rename(f, mapping) for f in expr.factors), expr.out, positional=expr.positional)
    return expr.rebind(mapping)  # type: ignore[attr-defined]


def _relabel(expr: Expr, scope: frozenset[str], keep: bool) -> tuple[Expr, frozenset[str]]:
    """``expr`` with its bound indices renamed, and the names it now binds.

    The result depends only on its arguments, so it is kept on the node: terms
    compared again and again (collecting like terms) are relabelled once.
    """
    cache: dict[tuple[frozenset[str], bool], tuple[Expr, frozenset[str]]] = expr.memo().setdefault("relabelled", {})
    key = (scope, keep)
    if key in cache:
        return cache[key]
    result: tuple[Expr, frozenset[str]]
    if isinstance(expr, Contract):
        result = _relabel_contract(expr, scope, keep)
    elif isinstance(expr, Named):  # a reference: its body is a piece of its own, printed on its own
        result = expr, frozenset()
    elif isinstance(expr, Add):
        parts = [_relabel(t, scope, keep) for t in expr.terms]
        bound = frozenset().union(*(b for _, b in parts))
        result = Add(tuple(t for t, _ in parts), expr.out, positional=expr.positional), bound
    elif expr.children():
        bound_names: set[str] = set()

        def visit(child: Expr) -> Expr:
            new, names = _relabel(child, scope, keep)
            bound_names.update(names)
            return new

        result = expr.map_children(visit), frozenset() if expr.opens_scope else frozenset(bound_names)
    else:
        result = expr, frozenset()
    cache[key] = result
    return result


def _relabel_contract(expr: Contract, scope: frozenset[str], keep: bool) -> tuple[Expr, frozenset[str]]:
    taken = set(scope) | {k.name for k in expr.out}
    avoid = taken | index_names(expr) if keep else taken
    mapping: dict[Index, Index] = {}
    for k in expr.summed:
        name = k.name if keep and k.name not in taken else next(n for n in name_pool(CANONICAL_POOL) if n not in avoid)
        taken.add(name)
        avoid.add(name)
        mapping[k] = Index(name, k.dim)
    inner = frozenset(taken)
    siblings: set[str] = set()
    factors: list[Expr] = []
    bound = {k.name for k in mapping.values()}
    for factor in expr.factors:
        renamed = rename(factor, mapping)
        juxtaposed = isinstance(renamed, Contract)
        new, names = _relabel(renamed, inner | siblings if juxtaposed else inner, keep)
        if juxtaposed:
            siblings |= names
        bound |= names
        factors.append(new)
    return Contract(tuple(factors), expr.out, positional=expr.positional), frozenset(bound)


def substitute(expr: Expr, old: Expr, new: Callable[[tuple[Index, ...]], Expr]) -> Expr:
    """``expr`` with every copy of ``old`` — under any labels of its free indices — replaced.

    ``new(labels)`` builds the replacement for a copy whose free indices are ``labels``.
    Named intermediates are definitions of their own and are left as they are.
    """
    memo: dict[Expr, Expr] = {}

    def is_copy(node: Expr) -> bool:
        if type(node) is not type(old) or node.shape != old.shape or len(set(node.free)) != len(node.free):
            return False
        return node == old or rename(node, dict(zip(node.free, old.free, strict=True))) == old

    def visit(node: Expr) -> Expr:
        if node not in memo:
            if is_copy(node):
                memo[node] = new(node.free)
            else:
                memo[node] = node if isinstance(node, Named) else node.map_children(visit)
        return memo[node]

    return visit(expr)


RENAMING["rename"] = rename  # what Contract calls to name its summed indices (expr cannot import this module)
