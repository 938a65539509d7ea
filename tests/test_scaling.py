"""Symbolic scaling: deriving through a deep chain is linear in its depth and never recurses past Python's limit.

Counts, not timings: the size of the derivative (distinct nodes, printed
characters, simplification steps) must grow by the same amount per layer.
"""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose

import eincalc as ec
from eincalc.calculus.product_rules import FLAT_PRODUCT_LIMIT
from eincalc.calculus.simplify import Recorder
from eincalc.core.expr import Expr
from eincalc.core.nodes import Contract, Tensor
from eincalc.core.traversal import postorder
from eincalc.frontend.printing import with_definitions


def deep_mlp(depth: int) -> tuple[Expr, list[Tensor], Tensor]:
    """P9: ``depth`` tanh layers, each a named intermediate, and a squared-error loss."""
    x, y = ec.tensors("x[n] y[n]")
    weights = list(ec.tensors(" ".join(f"W{layer}[n,n]" for layer in range(1, depth + 1))))
    h: Expr = x
    for layer, W in enumerate(weights, 1):
        h = ec.let(f"h{layer}", ec.tanh(W @ h), adjoint=f"δ{layer}")
    return ec.sum((h - y) ** 2), weights, x


def gradient_facts(depth: int) -> tuple[int, int, int]:
    """Distinct nodes, printed characters and simplification steps of dLoss/dW1 at ``depth``."""
    loss, weights, _ = deep_mlp(depth)
    with ec.resource_limits(max_nodes=None), Recorder() as steps:
        gradient = ec.grad(loss, weights[0])
    return sum(1 for _ in postorder(gradient)), len(with_definitions(gradient)), len(steps.steps)


def test_a_thousand_layers_derive_without_recursion_error() -> None:
    loss, weights, _ = deep_mlp(1000)
    with ec.resource_limits(max_nodes=None):
        gradient = ec.grad(loss, weights[0])
    text = with_definitions(gradient)
    assert "δ1000" in text and "δ2[" in text
    assert text.count("\n") >= 2 * 1000  # one definition per forward and per backward intermediate


def test_derivative_size_grows_by_the_same_amount_per_layer() -> None:
    facts = {depth: gradient_facts(depth) for depth in (20, 40, 80)}
    for measure in range(3):
        small, medium, large = (facts[d][measure] for d in (20, 40, 80))
        per_layer = (medium - small) / 20
        assert per_layer > 0
        assert (large - medium) / 40 == pytest.approx(per_layer, rel=0.05), (measure, facts)


def test_an_elementwise_chain_differentiates_into_small_products() -> None:
    """``tanh(tanh(… x))``: the gradient's product of ``1 − tᵢ²`` factors is a chain of small products, not one
    flat product that every layer re-simplifies (which made 1,000 layers take 30 s)."""
    (x,) = ec.tensors("x[n]")
    h: Expr = x
    for _ in range(200):
        h = ec.tanh(h)
    gradient = ec.grad(ec.sum(h), x)
    widths = [len(node.factors) for node in postorder(gradient) if isinstance(node, Contract)]
    assert len(widths) >= 200 // FLAT_PRODUCT_LIMIT and max(widths) <= FLAT_PRODUCT_LIMIT


def test_the_jacobian_of_an_elementwise_chain_keeps_its_delta_apart_and_its_products_small() -> None:
    """``∂h/∂x`` of ``tanh(tanh(… x))`` is diag(Π (1 − tᵢ²)): its δ[i,p] joins no product (no rule removes it),
    so the factors stay a chain of small products; merging for the delta made one product of 200 factors that
    every layer simplified again (8.4 s CPU at 1,200 layers, 0.24 s now).  Its numbers are those of finite
    differences."""
    (x,) = ec.tensors("x[n]")
    h: Expr = x
    for _ in range(200):
        h = ec.tanh(h)
    jacobian = ec.jacobian(h, x)
    widths = [len(node.factors) for node in postorder(jacobian) if isinstance(node, Contract)]
    assert max(widths) <= FLAT_PRODUCT_LIMIT
    shallow: Expr = x
    for _ in range(12):
        shallow = ec.tanh(shallow)
    values = ec.testing.random_values(shallow, {"n": 3}, seed=2)
    assert ec.testing.check_jacobian(shallow, x, values) < 1e-6


def test_deep_gradient_is_right() -> None:
    loss, weights, _ = deep_mlp(4)
    values = ec.testing.random_values(loss, {"n": 3}, seed=1)
    values = {k: v * 0.5 for k, v in values.items()}
    for W in (weights[0], weights[-1]):
        assert ec.check_grad(loss, W, values) < 1e-7


def test_deep_gradient_compiles_and_evaluates_at_depth_1000() -> None:
    loss, weights, _ = deep_mlp(1000)
    with ec.resource_limits(max_nodes=None):
        gradient = ec.grad(loss, weights[0])
    rng = np.random.default_rng(0)
    values = {f"W{layer}": rng.standard_normal((2, 2)) * 0.5 for layer in range(1, 1001)}
    values |= {"x": np.array([0.3, -0.2]), "y": np.zeros(2)}
    hs = [values["x"]]
    for layer in range(1, 1001):
        hs.append(np.tanh(values[f"W{layer}"] @ hs[-1]))
    delta = 2 * (hs[-1] - values["y"])
    for layer in range(1000, 1, -1):
        delta = values[f"W{layer}"].T @ (delta * (1 - hs[layer] ** 2))
    expected = np.outer(delta * (1 - hs[1] ** 2), values["x"])
    assert_allclose(ec.compile(gradient)(values), expected, rtol=1e-9, atol=1e-15)


def test_the_reciprocal_search_reads_each_named_definition_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Cancelling ``x x⁻¹`` looks through named definitions; it once rewrote every definition below every
    product it asked about (1,000 named layers took 21 s to derive): the search is now kept per node."""
    import eincalc.calculus.cancel

    renamings = 0
    rename = eincalc.calculus.cancel.rename

    def counted(*args: object) -> Expr:
        nonlocal renamings
        renamings += 1
        return rename(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(eincalc.calculus.cancel, "rename", counted)
    loss, weights, _ = deep_mlp(200)
    with ec.resource_limits(max_nodes=None):
        ec.grad(loss, weights[0])
    assert renamings <= 200  # was 41,000: every named layer rewritten once per product above it


def test_a_ten_thousand_layer_chain_builds_derives_prints_and_evaluates_under_the_default_recursion_limit() -> None:
    """Issue 13, item 5: every pass is iterative or reads shallow named pieces; nothing reaches Python's limit."""
    (x,) = ec.tensors("x[n]")
    h: Expr = x
    for _ in range(10_000):
        h = ec.tanh(h)
    gradient = ec.grad(ec.sum(h), x)
    value, expected = np.array([0.9, -0.2, 0.5]), np.ones(3)
    for _ in range(10_000):  # d/dx Σ tanh(…tanh(x)): the product of 1 − tᵢ² over the layers
        value = np.tanh(value)
        expected *= 1 - value**2
    assert_allclose(ec.evaluate(gradient, {"x": np.array([0.9, -0.2, 0.5])}), expected, rtol=1e-9)
    text = str(gradient)
    assert text.count("\n  where t") >= 10_000 // 24  # one definition per 24 levels, at least
    assert "where" in gradient.latex()
    try:  # read in shallow named pieces: a form, or at most a text longer than the matrix reader reads
        assert "t₁" in ec.to_matrix(gradient).text
    except ec.NoMatrixForm as error:
        assert "more than the matrix reader reads" in str(error)


def test_hashing_and_comparing_a_deep_unnamed_chain_do_not_recurse() -> None:
    (x,) = ec.tensors("x[n]")
    first: Expr = x
    second: Expr = x
    for _ in range(5000):
        first, second = ec.sin(first), ec.sin(second)
    assert first is second and hash(first) == hash(second)  # hash-consed: one node
    assert first.free == x.free


def test_a_plain_deep_loop_derives_in_linear_size_and_evaluates() -> None:
    """The natural loop ``h = tanh(W @ h)``, no names: equal sub-expressions are one node at every depth."""
    depth = 300
    x, y = ec.tensors("x[n] y[n]")
    weights = ec.tensors(" ".join(f"W{layer}[n,n]" for layer in range(1, depth + 1)))
    h: Expr = x
    for W in weights:
        h = ec.tanh(W @ h)
    with ec.resource_limits(max_nodes=None, max_tree_nodes=None):  # the written-out form is quadratic
        first, last = ec.grad(ec.sum((h - y) ** 2), [weights[0], weights[-1]])
    assert sum(1 for _ in postorder(first)) < 15 * depth  # linear in depth (quadratic before: 15,957 at 100)
    rng = np.random.default_rng(0)
    values = {f"W{layer}": rng.standard_normal((2, 2)) * 0.5 for layer in range(1, depth + 1)}
    values |= {"x": np.array([0.3, -0.2]), "y": np.zeros(2)}
    hs = [values["x"]]
    for layer in range(1, depth + 1):
        hs.append(np.tanh(values[f"W{layer}"] @ hs[-1]))
    delta = 2 * (hs[-1] - values["y"])
    assert_allclose(ec.evaluate(last, values), np.outer(delta * (1 - hs[-1] ** 2), hs[-2]), rtol=1e-9)
    for layer in range(depth, 1, -1):
        delta = values[f"W{layer}"].T @ (delta * (1 - hs[layer] ** 2))
    assert_allclose(ec.evaluate(first, values), np.outer(delta * (1 - hs[1] ** 2), values["x"]), rtol=1e-9, atol=1e-15)


def plain_chain(depth: int) -> tuple[Expr, Tensor]:
    """The natural loop ``h = tanh(W @ h)``, no names, and a squared error; and W1."""
    x, y = ec.tensors("x[n] y[n]")
    weights = ec.tensors(" ".join(f"W{layer}[n,n]" for layer in range(1, depth + 1)))
    h: Expr = x
    for W in weights:
        h = ec.tanh(W @ h)
    return 0.5 * ec.sum((h - y) ** 2), weights[0]


def test_explaining_a_plain_deep_loop_takes_as_many_steps_at_any_depth() -> None:
    """Each step shows the whole expression, so the steps must not grow with the depth: a run of one bookkeeping
    rewrite (flattening every layer's product) is one step (at 20 layers there were 20 such steps, 31 in all)."""
    shallow, deep = (ec.explain(*plain_chain(depth)) for depth in (10, 30))
    assert deep.check.passed and deep.result == ec.grad(*plain_chain(30))
    rules = [step.rule for step in deep.steps]
    assert len(rules) <= len(shallow.steps) + 2, rules
    assert all(rules.count(rule) <= 4 for rule in rules), rules


def test_a_first_evaluation_interprets_and_a_second_plans_with_the_same_numbers() -> None:
    """``ec.evaluate`` runs its first call for a shape with kernels interpreted (planning them all took longer
    than running them for a 10,000-layer chain), the next with planned kernels: the same numbers, up to rounding
    (a planned kernel may add and multiply its parts in another order)."""
    from eincalc.core.limits import get_limits
    from eincalc.numeric.evaluate import _compiled

    (x,) = ec.tensors("x[n]")
    h: Expr = x
    for layer in range(30):
        h = (ec.tanh, ec.sigmoid, ec.softplus, ec.exp)[layer % 4](h * 0.5) ** 2
    gradient = ec.grad(ec.sum(h), x)
    values = {"x": np.linspace(-1.0, 1.0, 5)}
    compiled = _compiled(gradient, (), get_limits())
    first = ec.evaluate(gradient, values)
    assert [plan[1] for plan in compiled._plans.values()] == [None]  # interpreted: no kernel planned
    second, third = ec.evaluate(gradient, values), ec.evaluate(gradient, values)
    assert all(plan[1] is not None for plan in compiled._plans.values())
    assert_allclose(first, second, rtol=1e-13, atol=0)
    assert np.array_equal(second, third)


def test_explain_replays_rewrites_deep_in_a_chain_without_recursion() -> None:
    """A derivation replays each recorded rewrite on the whole expression: that replay recursed, so explaining a
    plain 300-layer chain reported 'nested too deeply'.  A run of rewrites is replayed in one pass, children
    first, or one rewrite at a time where that pass would miss one."""
    from eincalc.calculus.simplify import RULES, Step
    from eincalc.explain.steps import _replaced

    x, y, w = ec.tensors("x[n] y[n] w[n]")
    rule = next(rule for rule in RULES if rule.name == "flatten-product")

    def chain(start: Expr, depth: int) -> Expr:
        for _ in range(depth):
            start = ec.tanh(start)
        return start

    deep = chain(x, 5000)
    assert _replaced(deep, [Step(rule, x, y)]) is chain(y, 5000)
    assert _replaced(deep, [Step(rule, x, y), Step(rule, ec.tanh(y), w)]) is chain(w, 4999)
    assert _replaced(deep, [Step(rule, ec.tanh(x), w), Step(rule, x, y)]) is chain(w, 4999)  # x is gone by then
