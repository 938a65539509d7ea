"""Differentiation: Jacobians (one rule per node kind), VJPs and gradients (reverse mode).

Conventions: the Jacobian ``∂y/∂X`` has ``y``'s free indices first, then fresh
indices for ``X``'s axes (``p, q, …``); the gradient of a scalar with respect
to ``X`` has ``X``'s shape.  Differentiating adds Kronecker deltas
(``∂W[i,j]/∂W[p,q] = δ[i,p] δ[j,q]``); `simplify()`
removes them.  A node kind with no rule raises `UnsupportedError`;
nothing silently becomes zero.

For a tensor declared symmetric, ``∂S[i,j]/∂S[p,q] = ½(δ[i,p] δ[j,q] + δ[i,q] δ[j,p])``:
the gradient is ``sym(G) = (G + Gᵀ)/2``, the gradient in the Frobenius inner
product on symmetric matrices (see `eincalc.ops.linalg` for why).

Two routes, checked against each other in the tests:

* `jacobian_raw()` differentiates one entry forwards (product rule over the
  factors of a contraction, chain rule through functions);
* `vjp_raw()` sends an upstream gradient backwards through the expression
  once (reverse mode), accumulating per shared sub-expression, so its cost is
  linear in the size of the expression DAG.

>>> from eincalc.frontend.build import tensors
>>> W, a, g = tensors("W[m,n] a[n] g[m]")
>>> str(jacobian(W @ a, W)), str(vjp(W @ a, W, g)), str(vjp(W @ a, a, g))
('δ[i,p] a[q]', 'g[p] a[q]', 'W[i,p] g[i]')
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from ..core.arguments import require_variable
from ..core.errors import IndexMismatch, ShapeError, UnsupportedError
from ..core.expr import Expr
from ..core.functions import assert_known, derivative
from ..core.indices import Index, TensorSpec
from ..core.limits import check_expression_size
from ..core.names import fresh_indices, index_names, rename, substitute
from ..core.nodes import Add, Apply, Const, Contract, Delta, Named, One, Size, Tensor, Zero
from ..core.registry import Registry
from ..core.traversal import fill_bottom_up, postorder, walk
from ..frontend.build import as_expr
from ..frontend.declare import reserved_role
from .simplify import simplify

# -- rule tables (one per interpretation) ---------------------------------------------------

JacobianRule = Callable[[Expr, "Forward"], Expr]
VJPRule = Callable[[Expr, Expr], list[tuple[Expr, Expr]]]
"""A reverse rule maps (node, cotangent of node) to [(child, cotangent of child), …]."""

JACOBIAN_RULES: Registry[type, JacobianRule] = Registry("forward derivative rule")
VJP_RULES: Registry[type, VJPRule] = Registry("reverse derivative rule")

N = TypeVar("N", bound=Callable[..., object])


def register_jacobian(node_type: type) -> Callable[[N], N]:
    """Register the forward (one-entry) derivative rule of a node kind."""

    def decorate(rule: N) -> N:
        JACOBIAN_RULES[node_type] = rule  # type: ignore[assignment]
        return rule

    return decorate


def register_vjp(node_type: type) -> Callable[[N], N]:
    """Register the reverse rule of a node kind."""

    def decorate(rule: N) -> N:
        VJP_RULES[node_type] = rule  # type: ignore[assignment]
        return rule

    return decorate


R = TypeVar("R")


def _rule(table: Mapping[type, R], node: Expr) -> R:
    try:
        return table[type(node)]
    except KeyError:
        kind = type(node).__name__
        raise UnsupportedError(
            f"no derivative rule for {kind} node {node}; register one with "
            f"eincalc.calculus.diff.register_jacobian({kind}) and register_vjp({kind})"
        ) from None


# -- what to differentiate with respect to --------------------------------------------------


def _variable(wrt: Expr) -> TensorSpec:
    return require_variable(wrt).spec


def dependents(expr: Expr, spec: TensorSpec | set[TensorSpec]) -> set[Expr]:
    """The sub-expressions of ``expr`` in which tensor ``spec`` (or any of a set) occurs (one pass, children first)."""
    specs = spec if isinstance(spec, set) else {spec}
    found: set[Expr] = set()
    for node in postorder(expr):
        if (isinstance(node, Tensor) and node.spec in specs) or any(c in found for c in node.children()):
            found.add(node)
    return found


def _variable_indices(spec: TensorSpec, *exprs: Expr) -> tuple[Index, ...]:
    used: set[str] = set()
    for expr in exprs:
        used |= index_names(expr)
    like = tuple(Index("_", dim) for dim in spec.dims)
    return fresh_indices(like, used)


# -- forward: differentiate one entry -------------------------------------------------------


class Forward:
    """State of one Jacobian computation: the variable and its fresh indices ``P``."""

    def __init__(self, expr: Expr, spec: TensorSpec, fresh: tuple[Index, ...]) -> None:
        self.spec = spec
        self.fresh = fresh
        self.dependent = dependents(expr, spec)
        self.memo: dict[Expr, Expr] = {}

    def __call__(self, node: Expr) -> Expr:
        """``∂node/∂X[P]``: free indices ``node.free + P``.

        The dependent nodes below ``node`` are differentiated first, children before parents and without
        recursion, so a rule's call on a child finds it done: a chain of any depth.
        """
        if node not in self.dependent:
            return Zero(node.free + self.fresh)
        fill_bottom_up(node, self._known, self._differentiate)
        return self.memo[node]

    def _known(self, node: Expr) -> bool:
        return node in self.memo or node not in self.dependent

    def _differentiate(self, node: Expr) -> None:
        self.memo[node] = _rule(JACOBIAN_RULES, node)(node, self)


def jacobian_raw(expr: Expr, wrt: Expr) -> Expr:
    """The Jacobian before simplification (deltas and zeros still in place)."""
    spec = _variable(wrt)
    return Forward(expr, spec, _variable_indices(spec, expr))(expr)


def jacobian(expr: Expr, wrt: Expr) -> Expr:
    """``∂expr/∂wrt``: free indices are ``expr``'s, then fresh ones for ``wrt``'s axes."""
    expr = simplify(as_expr(expr, "the expression to differentiate"))
    raw = check_expression_size(jacobian_raw(expr, wrt), "jacobian", *_first_order(expr))
    return _derivative_of(expr, _tidy(simplify(raw), expr.rank))


def variable_derivative(node: Tensor, fresh: tuple[Index, ...]) -> tuple[Expr, ...]:
    """The factors of ``∂X[indices]/∂X[fresh]``: deltas, symmetrised for a symmetric ``X``."""
    deltas = tuple(Delta(k, p) for k, p in zip(node.indices, fresh, strict=True))
    if not node.spec.symmetric:
        return deltas
    out = node.free + fresh
    (i, j), (p, q) = node.indices, fresh
    swapped = Contract((Delta(i, q), Delta(j, p)), out)
    return (Const(0.5), Add((Contract(deltas, out), swapped), out))


@register_jacobian(Tensor)
def _tensor_jacobian(node: Expr, d: Forward) -> Expr:
    assert isinstance(node, Tensor)
    return Contract(variable_derivative(node, d.fresh), node.free + d.fresh)


@register_jacobian(Contract)
def _product_rule(node: Expr, d: Forward) -> Expr:
    assert isinstance(node, Contract)
    out = node.out + d.fresh
    terms = tuple(
        Contract((*node.factors[:k], d(factor), *node.factors[k + 1 :]), out)
        for k, factor in enumerate(node.factors)
        if factor in d.dependent
    )
    return terms[0] if len(terms) == 1 else Add(terms, out)


@register_jacobian(Add)
def _sum_rule(node: Expr, d: Forward) -> Expr:
    assert isinstance(node, Add)
    terms = tuple(d(t) for t in node.terms if t in d.dependent)
    return Add(terms, node.out + d.fresh)


def _local_derivative(node: Apply) -> Expr:
    """``f'(u)`` for ``f(u)``; a function with no derivative rule raises `UnsupportedError`."""
    assert_known(node.fn)
    return derivative(node)


@register_jacobian(Apply)
def _chain_rule(node: Expr, d: Forward) -> Expr:
    assert isinstance(node, Apply)
    return Contract((_local_derivative(node), d(node.arg)), node.free + d.fresh)


# -- reverse: push an upstream gradient through once ----------------------------------------


def vjp_raw(expr: Expr, wrt: Expr, upstream: Expr) -> Expr:
    """``Σ upstream[I] ∂expr[I]/∂wrt[P]`` before simplification, by reverse accumulation."""
    return vjp_raw_many(expr, [wrt], upstream)[0]


def vjp_raw_many(expr: Expr, wrts: Sequence[Expr], upstream: Expr) -> list[Expr]:
    """`vjp_raw()` for several variables from one reverse pass over the DAG.

    Every node's cotangent is the sum of what its parents send it, formed once, after all
    of its parents (reverse topological order), and sent on once: the pass is linear in the
    number of distinct nodes, and the variables share everything upstream of them.
    """
    specs = [_variable(w) for w in wrts]
    seed = _align_upstream(expr, upstream)
    fresh = {spec: _variable_indices(spec, expr, seed) for spec in specs}
    contributions: dict[TensorSpec, list[Expr]] = {spec: [] for spec in specs}
    dependent = dependents(expr, set(specs))
    taken = _names_in_use(expr, seed)
    cotangents: dict[Expr, list[Expr]] = {expr: [seed]} if expr in dependent else {}
    for node in _parents_first(expr, dependent):
        pending = cotangents.pop(node, None)
        if pending is None:
            continue
        ct = pending[0] if len(pending) == 1 else Add(tuple(pending), node.free)
        if isinstance(node, Tensor) and node.spec in contributions:
            axes = fresh[node.spec]
            contributions[node.spec].append(Contract((ct, *variable_derivative(node, axes)), axes))
            continue
        rule = _rule(VJP_RULES, node)
        for child, child_ct in rule(_with_fresh_adjoint(node, ct, taken), ct):
            if child in dependent:
                key = _reference(child)
                if key is not child:
                    child_ct = rename(child_ct, dict(zip(child.free, key.free, strict=True)))
                cotangents.setdefault(key, []).append(child_ct)
    return [_total(contributions[spec], fresh[spec]) for spec in specs]


def _names_in_use(*exprs: Expr) -> set[str]:
    """The names of the tensors and named intermediates in ``exprs``."""
    nodes = (node for expr in exprs for node in walk(expr))
    return {
        node.spec.name if isinstance(node, Tensor) else node.name for node in nodes if isinstance(node, Tensor | Named)
    }


def _with_fresh_adjoint(node: Expr, ct: Expr, taken: set[str]) -> Expr:
    """``node``, a named intermediate's adjoint (``dh``) renamed where a name ``taken`` or a reserved word has it
    (``dh2``), so that ``where dh = …`` never defines a tensor in terms of itself; the new name joins ``taken``.
    A cotangent ``ct`` that is the tensor of that name (an upstream ``dh`` arriving unchanged) keeps it.

    >>> from eincalc.frontend.build import let, tensors
    >>> dh, x = tensors("dh[n] x[n]")
    >>> _with_fresh_adjoint(let("h", x), 2 * dh, {"dh", "h", "x"}).adjoint
    'dh2'
    >>> _with_fresh_adjoint(let("h", x), dh, {"dh", "h", "x"}).adjoint
    'dh'
    """
    if not isinstance(node, Named):
        return node
    name = node.adjoint or f"d{node.name}"
    if isinstance(ct, Tensor) and ct.spec.name == name:
        return node
    fresh, count = name, 1
    while fresh in taken or reserved_role(fresh):
        count += 1
        fresh = f"{name}{count}"
    if fresh == name:
        return node
    taken.add(fresh)
    return Named(node.name, node.body, node.indices, fresh)


def _reference(node: Expr) -> Expr:
    """One node for every reference to a named intermediate, whatever labels its axes carry there (its body's
    own), so the gradients arriving at ``h2[i,j]`` and at ``h2[i,a]`` are summed and named once: ``dh2``.

    >>> from eincalc.frontend.build import let, tensors
    >>> (W,) = tensors("W[m,n]")
    >>> h = let("h", W)
    >>> _reference(h["k", "l"]) is _reference(h["i", "j"])
    True
    """
    if isinstance(node, Named) and node.indices != node.body.free:
        return Named(node.name, node.body, node.body.free, node.adjoint)
    return node


def _total(parts: list[Expr], axes: tuple[Index, ...]) -> Expr:
    if not parts:
        return Zero(axes)
    return parts[0] if len(parts) == 1 else Add(tuple(parts), axes)


def vjp(expr: Expr, wrt: Expr | Sequence[Expr], upstream: Expr) -> Any:
    """Contract an upstream gradient (shaped like ``expr``) with ``∂expr/∂wrt``, symbolically.

    ``wrt`` may be a list of variables: the list of their results comes from one reverse pass.
    """
    expr, upstream = as_expr(expr, "the expression to differentiate"), as_expr(upstream, "the upstream gradient")
    many = isinstance(wrt, list | tuple)
    wrts: list[Expr] = list(wrt) if isinstance(wrt, list | tuple) else [wrt]  # type: ignore[list-item]
    expr = simplify(expr)
    raw = vjp_raw_many(expr, wrts, upstream)
    inputs = _first_order(expr, upstream=upstream)
    results = [_derivative_of(expr, _tidy(simplify(check_expression_size(r, "vjp", *inputs)), 0)) for r in raw]
    return results if many else results[0]


_ORDER = "derivative order"
"""The memo key that marks a result of differentiation with its order (1 for a gradient, 2 for a Hessian)."""


def _first_order(expr: Expr, upstream: Expr | None = None) -> tuple[Expr, ...]:
    """``expr`` (and ``upstream``) when ``expr`` is not a derivative: the inputs a first derivative is measured
    against (`eincalc.core.limits.check_expression_size()`); ``()`` for a derivative of a derivative.

    Only ``expr`` is asked: nodes are shared, so an upstream such as ``1`` may be the result of an
    unrelated derivative without making this one a second derivative."""
    if _ORDER in expr.memo():
        return ()
    return (expr,) if upstream is None else (expr, upstream)


def _derivative_of(expr: Expr, result: Expr) -> Expr:
    """``result``, marked as a derivative of ``expr`` one order higher."""
    result.memo()[_ORDER] = max(expr.memo().get(_ORDER, 0) + 1, result.memo().get(_ORDER, 0))
    return result


def _tidy(result: Expr, kept: int) -> Expr:
    """``p, q, …`` for the variable's axes (after the first ``kept``); summed indices are canonical already."""
    variable = result.free[kept:]
    used = index_names(result) - {k.name for k in variable}
    return rename(result, dict(zip(variable, fresh_indices(variable, used), strict=True)))


def grad(expr: Expr, wrt: Expr | Sequence[Expr]) -> Any:
    """Gradient of a scalar expression: same shape as ``wrt``.

    ``wrt`` may be a list of variables; their gradients come back as a list, in order,
    from one reverse pass (``ec.grad(loss, [W1, b1, W2])``).

    >>> from eincalc.frontend.build import tensors
    >>> x, A = tensors("x[n] A[n,n]")
    >>> str(grad(x @ A @ x, x))
    'A[p,i] x[i] + x[i] A[i,p]'
    >>> [str(g) for g in grad(x @ A @ x, [x, A])]
    ['A[p,i] x[i] + x[i] A[i,p]', 'x[p] x[q]']
    """
    expr = as_expr(expr, "the expression to differentiate")
    if expr.free:
        raise IndexMismatch(
            f"grad needs a scalar expression, but {expr} has free indices "
            f"({', '.join(map(str, expr.free))}); use jacobian, or vjp with an upstream gradient"
        )
    return vjp(expr, wrt, Const(1.0))


def _align_upstream(expr: Expr, upstream: Expr) -> Expr:
    if upstream.shape != expr.shape:
        raise ShapeError(
            f"upstream gradient {upstream} has shape ({', '.join(upstream.shape)}) but {expr} has shape "
            f"({', '.join(expr.shape)}); the upstream gradient must have the output's shape"
        )
    used = index_names(expr)
    temporary = fresh_indices(upstream.free, used | index_names(upstream), pool="ABCDEFGHIJKLMNOP")
    staged = rename(upstream, dict(zip(upstream.free, temporary, strict=True)))
    return rename(staged, dict(zip(temporary, expr.free, strict=True)))


def _parents_first(expr: Expr, dependent: set[Expr]) -> list[Expr]:
    """The ``dependent`` sub-expressions of ``expr``, each before all of its children."""
    order: list[Expr] = []
    state: dict[Expr, bool] = {}
    stack: list[tuple[Expr, bool]] = [(expr, False)]
    while stack:
        node, done = stack.pop()
        if done:
            order.append(node)
            continue
        if node in state:
            continue
        state[node] = True
        stack.append((node, True))
        stack.extend((key, False) for c in node.children() if c in dependent and (key := _reference(c)) not in state)
    order.reverse()
    return order


@register_vjp(Contract)
def _contract_vjp(node: Expr, ct: Expr) -> list[tuple[Expr, Expr]]:
    assert isinstance(node, Contract)
    pairs: list[tuple[Expr, Expr]] = []
    for k, factor in enumerate(node.factors):
        if isinstance(factor, Const | Size | Delta | One | Zero):
            continue
        parts = [*node.factors[:k], ct, *node.factors[k + 1 :]]
        present = {i for part in parts for i in part.free}
        parts += [One(i) for i in factor.free if i not in present]
        pairs.append((factor, Contract(tuple(parts), factor.free)))
    return pairs


@register_vjp(Add)
def _add_vjp(node: Expr, ct: Expr) -> list[tuple[Expr, Expr]]:
    assert isinstance(node, Add)
    return [(t, ct if set(t.free) == set(node.out) else Contract((ct,), t.free)) for t in node.terms]


@register_vjp(Apply)
def _apply_vjp(node: Expr, ct: Expr) -> list[tuple[Expr, Expr]]:
    assert isinstance(node, Apply)
    return [(node.arg, Contract((_local_derivative(node), ct), node.arg.free))]


@register_vjp(Tensor)
def _constant_tensor_vjp(node: Expr, ct: Expr) -> list[tuple[Expr, Expr]]:
    return []


@register_jacobian(Named)
def _named_jacobian(node: Expr, d: Forward) -> Expr:
    """The body's derivative, with the body written by its name where it reappears: σ'(z) reads p ⊙ (1 − p)."""
    assert isinstance(node, Named)
    body = node.body

    def reference(labels: tuple[Index, ...]) -> Expr:
        return Named(node.name, body, labels, node.adjoint)

    derivative = d(body) if isinstance(body, Tensor) else substitute(d(body), body, reference)
    return rename(derivative, dict(zip(body.free, node.indices, strict=True)))


@register_vjp(Named)
def _named_vjp(node: Expr, ct: Expr) -> list[tuple[Expr, Expr]]:
    """The gradient arriving at a named intermediate gets a name of its own (``δ2``, ``dz``)."""
    assert isinstance(node, Named)
    body_ct = rename(ct, dict(zip(node.indices, node.body.free, strict=True)))
    name = node.adjoint or f"d{node.name}"
    adjoint = Named(name, body_ct, body_ct.free)  # a sum may pass its cotangent on with its axes in another order
    body = node.body
    if isinstance(body, Tensor | Named):  # a name for a name passes its gradient on, to be summed there and named once
        return [(body, adjoint)]
    # Apply the body's own rule here, then write the body by its name in what flows on:
    # σ'(z) = σ(z)(1 − σ(z)) reads h ⊙ (1 − h), softmax's rule reads P ⊙ (dP − …).
    rule = _rule(VJP_RULES, body)

    def reference(labels: tuple[Index, ...]) -> Expr:
        return Named(node.name, body, labels, node.adjoint)

    return [(child, substitute(child_ct, body, reference)) for child, child_ct in rule(body, adjoint)]
