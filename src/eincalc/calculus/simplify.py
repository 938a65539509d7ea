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
summed indices.  The product rules live in `eincalc.calculus.product_rules`, the sum rules in
`eincalc.calculus.sum_rules`; this module holds the engine and the rule table.

>>> from eincalc.frontend.build import tensors, indices
>>> W, a, g = tensors("W[m,n] a[n] g[m]")
>>> from eincalc.core.indices import Index
>>> from eincalc.core.nodes import Delta, Contract
>>> i, j, p = Index("i", "m"), Index("j", "n"), Index("p", "n")
>>> str(simplify(Contract((W[i.name, j.name], Delta(j, p), a[j.name]), (i, p))))
'(W[i,p] a[p])[i,p]'
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from ..core.errors import UnsupportedError
from ..core.expr import Expr
from ..core.nodes import Add, Apply, Const, Contract
from ..core.registry import require_new
from ..frontend.build import as_expr
from ..frontend.exponents import constant_power
from .product_rules import (
    absorb_ones,
    distribute_over_sum,
    eliminate_delta,
    flatten_product,
    fold_constants,
    hoist_coefficient,
    unwrap_product,
    zero_factor,
)
from .sum_rules import collect_terms, drop_zero_terms, flatten_sum, single_term


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
    Rule("zero-factor", "A product with a zero factor is zero.", Contract, zero_factor),
    Rule("fold-constants", "Constant factors multiply into one coefficient, written first.", Contract, fold_constants),
    Rule(
        "flatten-product",
        "A product of products is one product (summed indices renamed apart).",
        Contract,
        flatten_product,
    ),
    Rule(
        "hoist-coefficient",
        "A constant factor of a nested product multiplies the whole product.",
        Contract,
        hoist_coefficient,
    ),
    Rule(
        "delta-elimination",
        "Summing over j with δ[i,j] keeps only the term j = i: the sum collapses and j is renamed i.",
        Contract,
        eliminate_delta,
    ),
    Rule(
        "absorb-ones",
        "Multiplying by the all-ones vector 1[k] changes nothing once k is used elsewhere.",
        Contract,
        absorb_ones,
    ),
    Rule(
        "distribute",
        "A delta inside a sum can only collapse once the product is distributed over the sum.",
        Contract,
        distribute_over_sum,
    ),
    Rule("unwrap-product", "A product of one factor with the same output is that factor.", Contract, unwrap_product),
    Rule("flatten-sum", "A sum of sums is one sum.", Add, flatten_sum),
    Rule("drop-zero-terms", "Adding zero changes nothing.", Add, drop_zero_terms),
    Rule("single-term", "A sum of one term is that term (broadcast if it lacks an index).", Add, single_term),
    Rule("collect-terms", "Terms equal up to renaming summed indices are added: a + a = 2a.", Add, collect_terms),
    Rule("fold-function", "A function of a constant is a constant.", Apply, _fold_function_of_constant),
]
"""The rules, in the order they are tried at each node."""


def register_rule(rule: Rule) -> Rule:
    """Add a rule (tried after the built-in ones); modules with new node kinds use this. Names are unique."""
    require_new("simplification rule", rule.name, [known.name for known in RULES])
    RULES.append(rule)
    return rule
