"""Simplification: named rules applied bottom-up to a fixed point, every step recorded.

A `Rule` is a value: a name, a one-sentence reason a learner can read,
the node type it looks at, and a function that returns the rewritten node or
``None``.  `simplify()` applies the rules to every node, children first,
until none applies, and reports each application to the active
`Recorder` (``with Recorder() as steps: ...``), which is what
derivations are built from.

The engine is memoised over the DAG: each distinct node is simplified once,
children before parents with an explicit stack, and (outside a `Recorder`) its
simplified form is kept on the node, so a shared sub-expression, a second
gradient of the same loss, or a layer of a deep chain is never simplified again.

Rules: flatten nested products and sums, fold constants, drop zeros, eliminate
Kronecker deltas (``δ[i,j] t[j] → t[i]``, ``δ[i,j] δ[j,k] → δ[i,k]``,
``Σ_i δ[i,i] → size``), absorb all-ones broadcasts, distribute a product over a
sum when that lets a delta collapse, and collect like terms modulo renaming of
summed indices.

>>> from eincalc.frontend.build import tensors, indices
>>> W, a, g = tensors("W[m,n] a[n] g[m]")
>>> from eincalc.core.expr import Delta, Index, Contract
>>> i, j, p = Index("i", "m"), Index("j", "n"), Index("p", "n")
>>> str(simplify(Contract((W[i.name, j.name], Delta(j, p), a[j.name]), (i, p))))
'(W[i,p] a[p])[i,p]'
"""

from __future__ import annotations

import contextvars
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field

from ..core.errors import UnsupportedError
from ..core.expr import (
    Add,
    Apply,
    Const,
    Contract,
    Delta,
    Expr,
    Index,
    One,
    Size,
    Tensor,
    Zero,
    bound_names,
    split_coefficient,
)
from ..core.names import canonical, fresh_indices, rename
from ..core.registry import require_new
from ..frontend.build import as_expr
from ..frontend.exponents import constant_power


@dataclass(frozen=True)
class Rule:
    """A named rewrite: ``apply(node)`` returns the rewritten node or ``None``."""

    name: str
    reason: str
    node_type: type
    apply: Callable[[Expr], Expr | None]


@dataclass(frozen=True)
class Step:
    """One recorded rule application."""

    rule: Rule
    before: Expr
    after: Expr


@dataclass
class Recorder:
    """Collects the steps of every `simplify()` call made while it is active."""

    steps: list[Step] = field(default_factory=list)
    _token: contextvars.Token[Recorder | None] | None = None

    def __enter__(self) -> Recorder:
        self._token = _ACTIVE.set(self)
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._token is not None
        _ACTIVE.reset(self._token)

    def __iter__(self) -> Iterator[Step]:
        return iter(self.steps)


_ACTIVE: contextvars.ContextVar[Recorder | None] = contextvars.ContextVar("eincalc_recorder", default=None)


def simplify(expr: Expr) -> Expr:
    """Apply every rule until none applies; the value never changes."""
    return _Simplifier().run(as_expr(expr, "the expression to simplify"))


class _Simplifier:
    def __init__(self) -> None:
        self.memo: dict[Expr, Expr] = {}
        self.recorder = _ACTIVE.get()
        self.key = f"simplified {len(RULES)}"  # a rule registered later makes older results stale

    def run(self, expr: Expr) -> Expr:
        """Simplify children before parents, left to right, with an explicit stack (deep chains
        never hit the recursion limit).

        Without an active `Recorder` the simplified form is kept on each node, so every
        node of a DAG is simplified once, across calls too (a gradient's shared backward pass,
        a second gradient of the same loss).
        """
        stack: list[tuple[Expr, bool]] = [(expr, False)]
        while stack:
            node, ready = stack.pop()
            if node in self.memo:
                continue
            if self.recorder is None and self.key in node.memo():
                self.memo[node] = node.memo()[self.key]
                continue
            if ready:
                unchanged = all(self.memo[c] is c for c in node.children())
                result = self._rewrite(node if unchanged else node.map_children(self.memo.__getitem__))
                self.memo[node] = result
                if self.recorder is None:
                    node.memo()[self.key] = result
            else:
                stack.append((node, True))
                stack.extend((c, False) for c in reversed(node.children()) if c not in self.memo)
        return self.memo[expr]

    def _rewrite(self, current: Expr) -> Expr:
        """Apply the first rule that changes ``current``, then simplify the result."""
        for rule in RULES:
            if isinstance(current, rule.node_type):
                rewritten = rule.apply(current)
                if rewritten is not None and rewritten != current:
                    if self.recorder is not None:
                        self.recorder.steps.append(Step(rule, current, rewritten))
                    return self.run(rewritten)
        return current


# -- products -------------------------------------------------------------------------------


def _rebuild(node: Contract, factors: list[Expr], vanished: tuple[Index, ...] = ()) -> Expr:
    """A contraction over ``factors`` with ``node``'s output.

    An output index no factor carries any more becomes ``1[k]``; a summed index in
    ``vanished`` that no factor carries becomes ``size(k)`` (``Σ_k 1 = n``).
    """
    return _rebuild_renamed(node, [(f, {}) for f in factors], vanished)


def _rebuild_renamed(
    node: Contract, pairs: list[tuple[Expr, Mapping[Index, Index]]], vanished: tuple[Index, ...] = ()
) -> Expr:
    """`_rebuild()` over factors each renamed by its mapping, and renamed only once: the summed indices
    go straight to the names the product gives them (`eincalc.core.expr.bound_names()` by first appearance),
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


def _flatten_product(node: Expr) -> Expr | None:
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
    not (a constant factor of a large one moves out instead: `_hoist_coefficient()`), so a deep chain of
    ``1 − tᵢ²`` factors is simplified in bounded work per layer.  A delta between two kept indices (the δ[i,p]
    of a Jacobian ``∂h[i]/∂x[p]``) stays where it is: no rule removes it, and merging for it would make the
    Jacobian of an L-deep element-wise chain one product of L factors, simplified again at every layer."""
    kept = set(outer.out)
    if any(isinstance(f, One | Zero | Size) for f in inner.factors):
        return True
    if any(isinstance(f, Delta) and not kept.issuperset(f.free) for f in inner.factors):
        return True
    return len(outer.factors) + len(inner.factors) - 1 <= FLAT_PRODUCT_LIMIT


def _hoist_coefficient(node: Expr) -> Expr | None:
    """``a (2 W[i,j] g[i]) → 2 a (W[i,j] g[i])``: a nested product's coefficient joins the enclosing one."""
    assert isinstance(node, Contract)
    for position, factor in enumerate(node.factors):
        if isinstance(factor, Contract):
            coefficient, rest = split_coefficient(factor)
            if coefficient != 1.0 and rest:
                inner = _rebuild(factor, rest)
                others = [*node.factors[:position], inner, *node.factors[position + 1 :]]
                return _rebuild(node, [Const(coefficient), *others])
    return None


def _zero_factor(node: Expr) -> Expr | None:
    assert isinstance(node, Contract)
    if any(isinstance(f, Zero) or (isinstance(f, Const) and f.value == 0.0) for f in node.factors):
        return Zero(node.out, positional=node.positional)
    return None


def _fold_constants(node: Expr) -> Expr | None:
    assert isinstance(node, Contract)
    coefficient, rest = split_coefficient(node)
    constants = len(node.factors) - len(rest)
    leading = bool(node.factors) and isinstance(node.factors[0], Const)
    if constants == 0 or (constants == 1 and leading and coefficient != 1.0):
        return None
    factors = rest if coefficient == 1.0 else [Const(coefficient), *rest]
    return _rebuild(node, factors)


def _eliminate_delta(node: Expr) -> Expr | None:
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


def _absorb_ones(node: Expr) -> Expr | None:
    assert isinstance(node, Contract)
    for position, factor in enumerate(node.factors):
        if isinstance(factor, One):
            others = node.factors[:position] + node.factors[position + 1 :]
            if any(factor.i in f.free for f in others) or factor.i not in node.out:
                return _rebuild(node, list(others), (factor.i,))
    return None


def _unwrap_product(node: Expr) -> Expr | None:
    assert isinstance(node, Contract)
    if len(node.factors) == 1 and node.factors[0].free == node.out:
        return node.factors[0]
    if not node.factors:
        return Const(1.0)
    return None


def _distribute_over_sum(node: Expr) -> Expr | None:
    """``δ[i,p] (a[i] + b[i]) → δ[i,p] a[i] + δ[i,p] b[i]`` when a delta inside a term can then collapse."""
    assert isinstance(node, Contract)
    summed = set(node.summed)
    for position, factor in enumerate(node.factors):
        if isinstance(factor, Add) and _has_collapsible_delta(factor, summed):
            others = node.factors[:position] + node.factors[position + 1 :]
            terms = tuple(  # a term that lacks an index of the sum is constant along it: 1[k] or size(k)
                _rebuild(
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


# -- sums -----------------------------------------------------------------------------------


def _flatten_sum(node: Expr) -> Expr | None:
    assert isinstance(node, Add)
    if not any(isinstance(t, Add) for t in node.terms):
        return None
    terms = [part for t in node.terms for part in (t.terms if isinstance(t, Add) else (t,))]
    return Add(tuple(terms), node.out, positional=node.positional)


def _drop_zero_terms(node: Expr) -> Expr | None:
    assert isinstance(node, Add)
    terms = [t for t in node.terms if not _is_zero(t)]
    if len(terms) == len(node.terms):
        return None
    if not terms:
        return Zero(node.out, positional=node.positional)
    return Add(tuple(terms), node.out, positional=node.positional)


def _is_zero(expr: Expr) -> bool:
    return isinstance(expr, Zero) or (isinstance(expr, Const) and expr.value == 0.0)


def _single_term(node: Expr) -> Expr | None:
    assert isinstance(node, Add)
    if len(node.terms) != 1:
        return None
    term = node.terms[0]
    if term.free == node.out:
        return term
    ones = tuple(One(k) for k in node.out if k not in set(term.free))
    return Contract((term, *ones), node.out, positional=node.positional)


def _collect_terms(node: Expr) -> Expr | None:
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
            body = rest[0] if len(rest) == 1 and rest[0].free == term.out else _rebuild(term, rest)
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


# -- constants inside functions -------------------------------------------------------------


def _fold_function_of_constant(node: Expr) -> Expr | None:
    assert isinstance(node, Apply)
    if node.fn == "pow" and isinstance(node.arg, Const) and node.param is not None:
        try:
            return Const(constant_power(node.arg.value, node.param))
        except UnsupportedError:
            return None  # left for evaluation to report (1/0, a root of a negative number)
    if node.fn == "pow" and node.param == 1.0:
        return node.arg
    return None


RULES: list[Rule] = [
    Rule("zero-factor", "A product with a zero factor is zero.", Contract, _zero_factor),
    Rule("fold-constants", "Constant factors multiply into one coefficient, written first.", Contract, _fold_constants),
    Rule(
        "flatten-product",
        "A product of products is one product (summed indices renamed apart).",
        Contract,
        _flatten_product,
    ),
    Rule(
        "hoist-coefficient",
        "A constant factor of a nested product multiplies the whole product.",
        Contract,
        _hoist_coefficient,
    ),
    Rule(
        "delta-elimination",
        "Summing over j with δ[i,j] keeps only the term j = i: the sum collapses and j is renamed i.",
        Contract,
        _eliminate_delta,
    ),
    Rule(
        "absorb-ones",
        "Multiplying by the all-ones vector 1[k] changes nothing once k is used elsewhere.",
        Contract,
        _absorb_ones,
    ),
    Rule(
        "distribute",
        "A delta inside a sum can only collapse once the product is distributed over the sum.",
        Contract,
        _distribute_over_sum,
    ),
    Rule("unwrap-product", "A product of one factor with the same output is that factor.", Contract, _unwrap_product),
    Rule("flatten-sum", "A sum of sums is one sum.", Add, _flatten_sum),
    Rule("drop-zero-terms", "Adding zero changes nothing.", Add, _drop_zero_terms),
    Rule("single-term", "A sum of one term is that term (broadcast if it lacks an index).", Add, _single_term),
    Rule("collect-terms", "Terms equal up to renaming summed indices are added: a + a = 2a.", Add, _collect_terms),
    Rule("fold-function", "A function of a constant is a constant.", Apply, _fold_function_of_constant),
]
"""The rules, in the order they are tried at each node."""


def register_rule(rule: Rule) -> Rule:
    """Add a rule (tried after the built-in ones); modules with new node kinds use this. Names are unique."""
    require_new("simplification rule", rule.name, [known.name for known in RULES])
    RULES.append(rule)
    return rule
