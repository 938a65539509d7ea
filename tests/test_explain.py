"""Explained derivations: the library's own answer, layer by layer, with reasons read off the expressions."""

from __future__ import annotations

import importlib
import re
import warnings
from collections import Counter
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings

import eincalc as ec
from eincalc.calculus.diff import vjp
from eincalc.calculus.simplify import RULES
from eincalc.core.names import canonical, index_names, rename
from eincalc.core.nodes import Named, Tensor
from eincalc.core.traversal import walk
from eincalc.explain.check import Check, numeric_check
from eincalc.explain.layers import opaque
from eincalc.explain.render import escape
from eincalc.explain.steps import Step
from eincalc.frontend.printing import definitions, to_latex, to_text
from eincalc.strategies import problems
from eincalc.testing import declared, random_values
from explanation_oracle import false_notes, surface

LEARNER_STEPS = {
    "index-form",
    "layer",
    "differentiate",
    "jacobian",
    "diagonal-jacobian",
    "add-gate",
    "chain-rule",
    "layer-gradient",
    "accumulate",
    "differentiate-again",
    "rename-indices",
    "assemble",
    "matrix-form",
    "no-matrix-form",
    "no-dependence",
    "numeric-check",
    "graph",
}
RULE_NAMES = {r.name for r in RULES}


def rules(d: ec.Derivation) -> list[str]:
    return [s.rule for s in d.steps]


def step(d: ec.Derivation, rule: str, **where: str) -> Step:
    return next(s for s in d.steps if s.rule == rule and all(v in getattr(s, k) for k, v in where.items()))


def variable_of(s: Step) -> str:
    """``z2`` for a step about ``∂E/∂z2[p]``."""
    return s.lhs.split("/∂")[-1].split("[")[0]


def assert_well_formed(d: ec.Derivation) -> None:
    """Steps are learner steps or simplifier rules; rewrites show a change; notes say what is printed."""
    for s in d.steps:
        assert s.rule in LEARNER_STEPS | RULE_NAMES, s.rule
    assert d.steps[0].rule == "index-form" and "numeric-check" in rules(d)
    assert not false_notes(d), false_notes(d)
    assert "Summing over j with δ[i,j]" not in d.text()  # the generic sentence is never used
    assert d.check.passed, d.check.sentence()


# -- P1: z = W a ---------------------------------------------------------------------------------


def test_p1_weights_in_the_learners_order() -> None:
    W, a, g = ec.tensors("W[m,n] a[n] g[m]")
    d = ec.explain(W @ a, W, upstream=g, name="z")
    assert_well_formed(d)
    order = [r for r in rules(d) if r in ("index-form", "differentiate", "jacobian", "chain-rule", "matrix-form")]
    assert order == ["index-form", "differentiate", "jacobian", "chain-rule", "matrix-form"]
    assert str(d.result) == "g[p] a[q]" and d.matrix is not None and d.matrix.text == "g aᵀ"
    jacobian = step(d, "jacobian")
    assert str(jacobian.after) == "δ[i,p] a[q]" and jacobian.lhs == "∂z[i]/∂W[p,q]"
    assert "rank 3 (m × m × n)" in jacobian.reason and "mostly zeros" in jacobian.reason and "1/m" in jacobian.reason
    eliminations = [s for s in d.steps if s.rule == "delta-elimination"]
    assert str(eliminations[-1].after) == "g[p] a[q]"
    assert "δ[i,p] meets the sum over i: only the term i = p survives" in eliminations[-2].reason
    assert any("outer product" in n and "row index p on the left" in n for n in step(d, "matrix-form").notes)
    assert "Σ_i ∂L/∂z[i] ∂z[i]/∂W[p,q]" in step(d, "chain-rule").reason


def test_p1_input_gets_a_transpose_and_says_why() -> None:
    W, a, g = ec.tensors("W[m,n] a[n] g[m]")
    d = ec.explain(W @ a, a, upstream=g)
    assert_well_formed(d)
    assert d.matrix is not None and d.matrix.text == "Wᵀ g" and d.numpy() == "W.T @ g"
    notes = step(d, "matrix-form").notes
    assert any(n.startswith("Wᵀ: in W[i,p] the row index i is summed with g[i]") for n in notes)
    assert not [n for n in notes if "outer product" in n]


def test_a_transpose_inside_a_function_is_not_the_products_transpose() -> None:
    """The first question: z[j] = Σ_i W[i,j] a[i]; the result W (…) uses W as it is, whatever σ(Wᵀ a) does."""
    W, a, g = ec.tensors("W[nin,nout] a[nin] g[nout]")
    d = ec.explain(ec.parse("sigmoid(W[i,j] a[i])", W, a), a, upstream=g)
    assert_well_formed(d)
    assert d.matrix is not None and d.matrix.text == "W (σ(Wᵀ a) ⊙ (1 − σ(Wᵀ a)) ⊙ g)"
    notes = step(d, "matrix-form").notes
    assert not [n for n in notes if "transpose" in n]
    assert any("stands on the left" in n for n in notes) and any("⊙" in n for n in notes)


def test_surface_cuts_function_arguments() -> None:
    assert surface("W (σ(Wᵀ a) ⊙ (1 − σ(Wᵀ a)) ⊙ g)") == "W ( ⊙ (1 − ) ⊙ g)"
    assert surface("softmax_rows(Q Kᵀ) V") == " V"


def test_result_is_the_librarys_and_agrees_numerically() -> None:
    W, a, g, b = ec.tensors("W[m,n] a[n] g[m] b[m]")
    cases = [(ec.tanh(W @ a + b), W), (ec.tanh(W @ a + b), a), (ec.exp(W @ a) * b, b), (ec.square(W @ a), W)]
    for expr, wrt in cases:
        d = ec.explain(expr, wrt, upstream=g)
        assert_well_formed(d)
        assert d.result == vjp(expr, wrt, g)
        values = random_values(expr, {"m": 3, "n": 4}, seed=1) | random_values(g, {"m": 3}, seed=2)
        np.testing.assert_allclose(ec.evaluate(d.result, values), ec.evaluate(vjp(expr, wrt, g), values), atol=1e-12)


# -- element-wise functions, biases, batches -------------------------------------------------------


def test_elementwise_function_has_a_diagonal_jacobian_and_a_hadamard_product() -> None:
    z, g = ec.tensors("z[n] g[n]")
    d = ec.explain(ec.sigmoid(z), z, upstream=g, name="a")
    assert_well_formed(d)
    assert "depends only on input entry p with i = p" in step(d, "diagonal-jacobian").reason
    assert rules(d).index("diagonal-jacobian") < rules(d).index("chain-rule")
    assert d.matrix is not None and d.matrix.text == "σ(z) ⊙ (1 − σ(z)) ⊙ g"
    assert any("Hadamard product ⊙" in n for n in step(d, "matrix-form").notes)


def test_bias_is_an_add_gate_and_sums_over_the_batch() -> None:
    X, V, c, G = ec.tensors("X[B,n] V[n,m] c[m] G[B,m]")
    d = ec.explain(X @ V + c, c, upstream=G, name="Z")
    assert_well_formed(d)
    gate = step(d, "add-gate").reason
    assert "the add gate passes the upstream gradient through: local gradient 1" in gate
    assert "sums the upstream gradient over i" in gate
    assert d.matrix is not None and d.matrix.text == "Gᵀ 1" and d.numpy() == "G.sum(axis=0)"
    rows = ec.explain(X @ V + c, c, upstream=G, rows=True)
    assert rows.matrix is not None and rows.matrix.text == "1ᵀ G" and "vectors as rows" in rows.layout
    weights = ec.explain(X @ V + c, V, upstream=G)
    assert weights.matrix is not None and weights.matrix.text == "Xᵀ G" and "add-gate" not in rules(weights)
    assert any(
        "X[i,p] carries the result's row index p, so it stands on the left" in n
        for n in step(weights, "matrix-form").notes
    )


def test_bias_of_a_single_example_is_not_summed() -> None:
    W, a, b, g = ec.tensors("W[m,n] a[n] b[m] g[m]")
    d = ec.explain(W @ a + b, b, upstream=g, name="z")
    assert step(d, "add-gate").reason == (
        "b is an addend of W[i,j] a[j] + b[i], and the add gate passes the upstream "
        "gradient through: local gradient 1 (the Jacobian is only deltas)."
    )
    assert "only where i = p" in step(d, "jacobian").reason
    assert "Here ∂z/∂b[p] is 1: the add gate passes the upstream gradient through" in step(d, "chain-rule").reason
    assert d.matrix is not None and d.matrix.text == "g"


def test_the_bias_of_a_sigmoid_neuron_gets_its_1_from_the_add_gate() -> None:
    """The third question: the (1) of the bias is the add gate's local gradient, said so, never 'a sum of one
    term'."""
    w0, x0, w1, x1, w2 = ec.tensors("w0 x0 w1 x1 w2")
    d = ec.explain(ec.sigmoid(w0 * x0 + w1 * x1 + w2), w2, detail="full")
    assert_well_formed(d)
    assert "Differentiate with respect to w2: ∂w2/∂w2 = 1" in step(d, "differentiate").reason
    single = step(d, "single-term")
    assert single.reason == (
        "Of the addends of w0 x0 + w1 x1 + w2 only w2 depends on the variable, and the add gate "
        "passes the upstream gradient through: local gradient 1."
    )
    assert "(1)" in to_text(single.before)  # type: ignore[arg-type]
    assert "A sum of one term is that term" not in d.text()
    value = float(ec.evaluate(d.result, {"w0": 2, "x0": -1, "w1": -3, "x1": -2, "w2": -3}))
    assert value == pytest.approx(0.19661193, abs=1e-8)


def test_jacobian_of_rank_three_has_no_matrix_form() -> None:
    W, a = ec.tensors("W[m,n] a[n]")
    d = ec.explain(W @ a, W)
    assert_well_formed(d)
    assert d.kind == "jacobian" and d.matrix is None and "no-matrix-form" in rules(d)
    assert d.result == ec.jacobian(W @ a, W) and "numerator layout" in d.layout
    with pytest.raises(ec.NoMatrixForm):
        d.numpy()


def test_hessian_of_a_quadratic_form() -> None:
    x, A = ec.tensors("x[n] A[n,n]")
    d = ec.explain(x @ A @ x, x, kind="hessian")
    assert_well_formed(d)
    assert d.result == ec.hessian(x @ A @ x, x)
    assert d.matrix is not None and d.matrix.text == "A + Aᵀ"
    assert rules(d).index("differentiate") < rules(d).index("differentiate-again")
    assert d.check.gradient_error is not None and d.check.gradient_error < 1e-6
    assert "H[p,q]" in d.layout


def test_an_output_that_does_not_depend_on_the_variable() -> None:
    x, y = ec.tensors("x[n] y[n]")
    d = ec.explain(ec.sum(x) + 0 * ec.sum(y), y)  # y is written, and multiplied away
    assert "no-dependence" in rules(d) and d.result == ec.grad(ec.sum(x) + 0 * ec.sum(y), y)


@pytest.mark.parametrize("kind", ["grad", "vjp", "jacobian", "hessian"])
def test_a_variable_the_expression_never_mentions_has_derivative_zero(kind: str) -> None:
    """grad gives 0 for a variable that does not occur, so explain explains that zero (it raised UnknownNameError:
    the numeric check drew no value for the variable)."""
    x, y, g = ec.tensors("x[n] y[k] g[n]")
    expr = x if kind in ("vjp", "jacobian") else ec.sum(x)
    upstream = g if kind == "vjp" else None
    d = ec.explain(expr, y, kind=kind, upstream=upstream)
    library = (
        {"grad": ec.grad, "jacobian": ec.jacobian, "hessian": ec.hessian}[kind](expr, y)
        if upstream is None
        else ec.vjp(expr, y, upstream)
    )
    assert d.result == library and d.check.passed and d.check.sizes["k"] == 3
    assert "no-dependence" in rules(d) or "y does not occur, so every entry is 0." in step(d, "differentiate").reason


def test_the_graph_of_an_expression_without_the_variable_sends_it_zero() -> None:
    x, y = ec.tensors("x[n] y[k]")
    d = ec.explain(ec.sum(x), y, values={"x": [1.0, 2.0], "y": [3.0]})
    assert d.steps[-1].notes[-1] == "The symbolic result at these values: ∂f/∂y = [0.], the same as the graph's."


def test_a_dimension_no_tensor_of_the_expression_carries_is_sized_for_the_check() -> None:
    """``size(m)`` with ``m`` only on a declared tensor, or given by ``sizes=``: the finite differences get every
    size the check chose (they raised ShapeError)."""
    x, A, g = ec.tensors("x[n] A[m,n] g[n]")
    d = ec.explain(ec.parse("sum(x[i]) size(m)", x, A), x)
    assert d.check.passed and dict(d.check.sizes) == {"n": 2, "m": 3}
    d = ec.explain(ec.parse("x[i] size(m)", x, A), x, upstream=g, sizes={"m": 5})
    assert d.check.passed and d.check.sizes["m"] == 5
    d = ec.explain(ec.parse("sum(x[i]) size(m)", x, A), x, sizes={"m": 5}, values={"x": [1.0, 2.0]})
    assert d.steps[-1].notes[-1] == "The symbolic result at these values: ∂f/∂x = [5., 5.], the same as the graph's."


# -- named intermediates: every layer -----------------------------------------------------------------


def p2_network() -> tuple[ec.Expr, ec.Expr]:
    W1, W2, x, y = ec.tensors("W1[n0,n1] W2[n1,n2] x[n0] y[n2]")
    z1 = ec.let("z1", W1["i", "j"] * x["i"], adjoint="δ1")
    a1 = ec.let("a1", ec.sigmoid(z1), adjoint="da1")
    z2 = ec.let("z2", W2["j", "k"] * a1["j"], adjoint="δ2")
    a2 = ec.let("a2", ec.sigmoid(z2), adjoint="da2")
    return 0.5 * ec.sum(ec.square(a2 - y["k"])), W1


def test_every_layer_has_its_jacobian_chain_rule_and_matrix_form() -> None:
    E, W1 = p2_network()
    d = ec.explain(E, W1, name="E")
    assert_well_formed(d)
    assert d.result == ec.grad(E, W1)
    layers = [s.lhs for s in d.steps if s.rule == "layer"]
    assert layers == ["E", "a2[k]", "z2[k]", "a1[j]", "z1[j]"]
    jacobians = [s.reason.split(":")[0] for s in d.steps if s.rule == "jacobian"]
    assert jacobians == [
        "The Jacobian ∂E/∂a2 has rank 1 (n2)",
        "The Jacobian ∂a2/∂z2 has rank 2 (n2 × n2)",
        "The Jacobian ∂z2/∂a1 has rank 2 (n2 × n1)",
        "The Jacobian ∂a1/∂z1 has rank 2 (n1 × n1)",
        "The Jacobian ∂z1/∂W1 has rank 3 (n1 × n0 × n1)",
    ]
    assert "∂E/∂z2[p] = Σ_k ∂E/∂a2[k] ∂a2[k]/∂z2[p], the upstream gradient da2[k]" in d.text().replace("\n    ", " ")
    sent = {s.lhs: s.matrix.text for s in d.steps if s.rule == "layer-gradient" and s.matrix is not None}
    assert sent == {
        "∂E/∂a2[p]": "a₂ − y",
        "∂E/∂z2[p]": "a₂ ⊙ (1 − a₂) ⊙ da₂",
        "∂E/∂a1[p]": "W₂ δ₂",
        "∂E/∂z1[p]": "a₁ ⊙ (1 − a₁) ⊙ da₁",
        "∂E/∂W1[p,q]": "x δ₁ᵀ",
    }
    assert "σ(z2[k]) is a2[k], this layer's own output" in step(d, "chain-rule", reason="∂E/∂z2").notes[-1]
    assemble = step(d, "assemble")
    assert assemble.notes[:4] == ("da2 = a₂ − y", "δ2 = a₂ ⊙ (1 − a₂) ⊙ da₂", "da1 = W₂ δ₂", "δ1 = a₁ ⊙ (1 − a₁) ⊙ da₁")


def test_each_layer_gradient_is_the_one_grad_names() -> None:
    E, W1 = p2_network()
    d = ec.explain(E, W1, name="E")
    library = {n.name: n.body for n in definitions(ec.grad(E, W1))}
    adjoints = {"a2": "da2", "z2": "δ2", "a1": "da1", "z1": "δ1"}
    for s in d.steps:
        if s.rule == "layer-gradient" and variable_of(s) in adjoints:
            assert same_up_to_names(s.after, library[adjoints[variable_of(s)]]), s.lhs  # type: ignore[arg-type]


def named_values(expr: ec.Expr, library: ec.Expr, problem: Any, upstream: ec.Expr | None) -> dict[str, Any]:
    """The problem's arrays, with the value of every intermediate and of every gradient ``library`` names,
    each with its axes in the order of its intermediate's own (grad may name a gradient's axes in another order)."""
    sizes = problem.sizes
    values = dict(problem.values)
    if upstream is not None:
        tensor, array = problem.upstream()
        values[tensor.spec.name] = array
    owners = {}
    for named in (n for n in walk(expr) if isinstance(n, Named)):
        values[named.name] = ec.evaluate(named.body, values, dims=sizes)
        owners[named.adjoint or f"d{named.name}"] = named
    for gradient in definitions(library):
        if gradient.name in owners:
            axes = [k.name for k in gradient.body.free]
            order = [axes.index(k.name) for k in owners[gradient.name].body.free]
            values[gradient.name] = np.transpose(ec.evaluate(gradient.body, values, dims=sizes), order)
    return values


def same_up_to_names(mine: ec.Expr, theirs: ec.Expr) -> bool:
    """Equal up to the names of indices (``theirs`` with its intermediates read as tensors)."""
    aligned = rename(mine, dict(zip(mine.free, theirs.free, strict=True)))
    return canonical(aligned) == canonical(opaque(theirs))


def test_an_intermediate_used_twice_adds_its_contributions() -> None:
    (x,) = ec.tensors("x[n]")
    h = ec.let("h", ec.tanh(x), adjoint="dh")
    f = ec.sum(ec.let("u", h * h)) + ec.sum(ec.let("v", ec.exp(h)))
    d = ec.explain(f, x)
    assert_well_formed(d)
    assert d.result == ec.grad(f, x)
    accumulated = step(d, "accumulate")
    assert accumulated.reason.startswith("h feeds 2 places, so its gradient is the sum of the 2 contributions")
    assert accumulated.lhs == "∂f/∂h[p]" and isinstance(accumulated.after, ec.Expr)


def test_row_vector_network_with_softmax() -> None:
    x, W1, b1, W2, b2, y = ec.tensors("x[d] W1[d,k] b1[k] W2[k,c] b2[c] y[c]", simplex="y")
    h = ec.let("h", ec.sigmoid(ec.let("r", x @ W1 + b1, adjoint="δ1")), adjoint="dh")
    theta = ec.let("θ", h @ W2 + b2, adjoint="δ2")
    d = ec.explain(ec.cross_entropy(theta, y), x, rows=True, name="J")
    assert_well_formed(d)
    assert d.matrix is not None and d.matrix.text == (
        "δ₁ W₁ᵀ\n  where r = x W₁ + b₁\n  where h = σ(r)\n  where θ = h W₂ + b₂\n  where δ₂ = softmax(θ) − y\n"
        "  where dh = δ₂ W₂ᵀ\n  where δ₁ = h ⊙ (1 − h) ⊙ dh"
    )
    assert step(d, "simplex-sum").reason == "y is declared to sum to one (labels): Σ_i y[i] = 1."
    assert any("this is ŷ − y" in n for n in step(d, "layer-gradient", lhs="∂J/∂θ").notes)
    assert step(d, "assemble").notes[-1] == "Substituting them: ∂J/∂x = (h ⊙ (1 − h) ⊙ ((softmax(θ) − y) W₂ᵀ)) W₁ᵀ"


def test_an_intermediate_named_like_a_tensor_is_named_apart() -> None:
    """An intermediate named like a tensor shows under a name of its own (x2), which the check reads back."""
    (x,) = ec.tensors("x[n]")
    derivation = ec.explain(ec.sum(ec.let("x", ec.tanh(x))), x)
    assert "where x2[i] = tanh(x[i])" in derivation.text() and derivation.check.passed
    assert derivation.check.text_error == 0.0


# -- index names never clash with tensor names ---------------------------------------------------------


def test_indices_are_never_named_like_tensors() -> None:
    p, q, A = ec.tensors("p[n] q[m] A[m,n]")
    d = ec.explain(ec.sum(ec.tanh(q @ A @ p)), A, detail="full")
    assert_well_formed(d)
    shown = [e for s in d.steps for e in (s.before, s.after, *(s.part or ())) if e is not None]
    assert not set().union(*(index_names(e) for e in shown)) & {"p", "q", "A", "f"}
    assert d.matrix is not None and d.matrix.text == ec.to_matrix(ec.grad(ec.sum(ec.tanh(q @ A @ p)), A)).text
    labels = re.findall(r"∂f/∂A\[(\w+),(\w+)\]", d.text())
    assert labels and not {name for pair in labels for name in pair} & {"p", "q", "A", "f"}


# -- detail ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("detail", ["result", "teaching", "full"])
def test_detail_levels(detail: str) -> None:
    E, W1 = p2_network()
    d = ec.explain(E, W1, name="E", detail=detail)  # type: ignore[arg-type]
    assert_well_formed(d)
    assert d.result == ec.grad(E, W1) and d.detail == detail
    if detail == "result":
        assert rules(d) == ["index-form", "assemble", "matrix-form", "numeric-check"]
    if detail == "full":
        assert "flatten-product" in rules(d)  # no rename-indices: results are canonical as built
    if detail == "teaching":
        assert "flatten-product" not in rules(d) and "layer" in rules(d)


def test_no_step_prints_the_same_before_and_after() -> None:
    E, W1 = p2_network()
    for d in (ec.explain(E, W1, name="E", detail="full"), ec.explain(E, W1, name="E")):
        for s in d.steps:
            pair = s.part if s.part is not None and s.shows_part else (s.before, s.after)
            if pair[0] is not None and pair[1] is not None and s.before_lhs is None:
                assert to_text(pair[0]) != to_text(pair[1]) and to_latex(pair[0]) != to_latex(pair[1]), s.rule


# -- one pipeline: explain's answer is grad's and vjp's, as a property ---------------------------------


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(problems(max_depth=3, named=True))
def test_explain_ends_where_grad_and_vjp_end(problem: object) -> None:
    """For random expressions (with named intermediates), explain's result and its matrix form are exactly
    those of grad or vjp with to_matrix, every gradient a layer sends back is the one grad names, and every
    note says only what is printed.  At depth (20,000 examples)::

        python -m pytest tests/test_explain.py --hypothesis-profile=deep -p no:warnings -k ends_where
    """
    expr, tensors = problem.expr, problem.tensors  # type: ignore[attr-defined]
    assume(tensors)  # the numeric check finds every size, on a tensor or not
    wrt = tensors[0]
    upstream = problem.upstream()[0] if expr.free else None  # type: ignore[attr-defined]
    d = ec.explain(expr, wrt, upstream=upstream)
    library = ec.grad(expr, wrt) if upstream is None else ec.vjp(expr, wrt, upstream)
    assert d.result == library
    try:
        expected = ec.to_matrix(library, sizes_from=[wrt]).text if library.rank <= 2 else None
    except ec.NoMatrixForm:
        expected = None
    assert (d.matrix.text if d.matrix is not None else None) == expected
    values = named_values(expr, library, problem, upstream)
    intermediates = {n.name: n for n in walk(expr) if isinstance(n, Named)}
    sent = [(variable_of(s), s) for s in d.steps if s.rule == "layer-gradient"]
    counts = Counter(variable for variable, _ in sent)
    for variable, s in sent:  # grad may name no gradient for a layer it cancelled out: log(σ(a)) sends back 1 - σ(a)
        adjoint = (intermediates[variable].adjoint or f"d{variable}") if variable in intermediates else ""
        if (
            adjoint in values
            and counts[variable] == 1
            and s.after is not None
            and set(declared(s.after)) <= set(values)
        ):
            mine = ec.evaluate(s.after, values, dims=problem.sizes)  # type: ignore[attr-defined]
            assert np.allclose(mine, values[adjoint], equal_nan=True), variable
    assert not false_notes(d), false_notes(d)
    assume(not d.check.undefined)  # e.g. √det(h2 1ᵀ − 3 I): no real value at any point drawn
    assert d.check.passed, d.check.sentence()


def test_the_check_draws_values_where_the_derivative_is_finite_too() -> None:
    """√relu(A) is finite everywhere, its derivative not where relu(A) = 0: the check drew A's values for the
    expression alone, got a negative entry, and reported a DISAGREEMENT of nan (found by the deep property run)."""
    A, g = ec.tensors("A[m] g[m]")
    h2 = ec.let("h2", ec.sqrt(ec.let("h1", ec.relu(A))))
    d = ec.explain(h2, A, upstream=g)
    assert d.check.passed and np.isfinite(d.check.error), d.check.sentence()


def test_an_expression_undefined_at_every_value_drawn_is_not_called_a_disagreement() -> None:
    """√(det(X) − 100) has no real value near the values drawn: the check says it could not run (it said DISAGREE,
    max |error| = nan), and does not pass."""
    X = ec.tensors("X[n,n]")[0]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nor does NumPy warn the user about the nan it met
        d = ec.explain(ec.sqrt(ec.det(X) - 100), X)
    assert d.check.undefined and not d.check.passed
    assert "could NOT run" in d.check.sentence() and "DISAGREE" not in d.check.sentence()


def test_a_layer_gradient_that_grad_cancels_out_is_still_explained() -> None:
    """log(σ(A)): grad's answer is (1 - h1) dh2 and names no dh1, while the layers send dh1 = dh2 / h1 (the property
    above compared every layer's gradient with one grad names, and raised KeyError: 'dh1')."""
    A = ec.tensors("A")[0]
    h2 = ec.let("h2", ec.log(ec.let("h1", ec.sigmoid(A))))
    d = ec.explain(h2, A)
    assert d.result == ec.grad(h2, A) and "dh1" not in str(d.result) and d.check.passed
    sent = [s.matrix.text for s in d.steps if s.rule == "layer-gradient" and s.matrix]
    assert sent == ["dh₂ / h₁", "h₁ (1 − h₁) dh₁"]


def test_an_intermediate_referenced_under_other_labels_gets_one_gradient_name() -> None:
    """h2 read as h2[i,j] and as h2[k,l]: the gradients arriving at both are summed into one dh2 (grad named two,
    ``where dh2 = …`` twice, a text no reader can read back; found by the property at depth)."""
    A, B = ec.tensors("A[m] B[m,n]")
    h2 = ec.let("h2", ec.parse("(A[i] + B[i,a])[i,a]", A, B))
    h5 = ec.let("h5", h2["k", "l"] + A["k"])
    h6 = ec.let("h6", ec.sum((h2["i", "j"] + A["i"]) * h5["i", "j"]))
    gradient = ec.grad(h6, A)
    assert to_text(gradient).count("where dh2") == 1
    check = ec.explain(h6, A).check
    assert check.passed and check.text_error is not None  # the printed text read back


def test_a_name_for_a_name_passes_its_gradient_on_to_be_named_once() -> None:
    """h5 = h4, with h4 used directly too: dh4 = dh6 h5 + dh5 (grad named dh4 twice, once per path)."""
    A, B = ec.tensors("A[n] B[n,m]")
    h4 = ec.let("h4", ec.sum(ec.let("h2", B["a", "i"] * A["b"])) * ec.sum(A))
    h6 = ec.let("h6", h4 * ec.let("h5", h4))
    text = to_text(ec.grad(h6, A))
    assert text.count("where dh4") == 1 and "where dh4 = dh6 h5 + dh5" in text
    assert ec.explain(h6, A).check.passed


def test_the_check_reads_the_printed_index_form_back(monkeypatch: pytest.MonkeyPatch) -> None:
    """What is printed is what is checked: the index form with its where-lines goes through ec.parse; a text that
    does not read back fails the check and says why."""
    (x,) = ec.tensors("x[n]")
    W, a = ec.tensors("W[n,n] a[n]")
    fine = ec.explain(ec.sum(ec.tanh(W @ ec.tanh(W @ a))), W)  # printed with automatic intermediates t1, t2, …
    assert "where t1[j] = tanh(W[j,i] a[i])" in fine.text()  # t1 as its first use, tanh(W[i,j] t1[j]), names it
    assert fine.check.text_error is not None and fine.check.text_error < 1e-9 and fine.check.passed
    twice = ec.let("q", ec.sum(x)) * ec.let("q", 2 * ec.sum(x)) * x["p"]  # two definitions named q print as q, q2
    assert "where q2 = 2 Σ(x[i])" in to_text(twice)
    assert numeric_check(ec.sum(x) ** 3, x, twice, kind="grad").text_error == 0.0
    monkeypatch.setattr(importlib.import_module("eincalc.explain.check"), "to_text", lambda expr: "q[p]\n  where q = …")
    check = numeric_check(ec.sum(x) ** 3, x, twice, kind="grad")
    assert not check.passed and check.text_problem is not None and check.text_problem.startswith("ParseError")
    assert "the printed index form could NOT be read back: ParseError: cannot read the expression" in check.sentence()


def test_an_outer_product_note_brackets_a_sum_among_its_factors() -> None:
    """``(1 - tanh(…)**2) W[i,p]``, not ``1 - tanh(…)**2 W[i,p]``, which reads as another product."""
    W, x = ec.tensors("W[n,n] x[n]")
    notes = [
        n
        for s in ec.explain(ec.sum(ec.tanh(W @ ec.tanh(W @ x))), W).steps
        for n in s.notes
        if n.startswith("No summed index joins")
    ]
    assert "No summed index joins (1 - tanh(W[p,i] x[i])**2) W[i,p] (row index p)" in " ".join(notes)


def test_a_factor_inside_diag_gets_no_note_on_how_it_stands_in_the_product_around() -> None:
    """``diag(dh₆ᵀ B) v``: the product inside ``diag(·)`` is not the one around it (found by the property above)."""
    A, B, G = ec.tensors("A[m] B[n] G[n,m]")
    expr = ec.parse("h6[a,i] where h3[i,j] = A[i] size(m) A[j] where h6[a,i] = (σ(h3[i,j]) B[a])[a,i]", A, B)
    (step,) = [
        s
        for s in ec.explain(expr, A, upstream=G).steps
        if s.rule == "layer-gradient" and s.matrix and "diag(" in s.matrix.text
    ]
    assert step.matrix is not None and "dh₆ᵀ" in step.matrix.text
    assert not [note for note in step.notes if "transposed" in note]


# -- renderers -----------------------------------------------------------------------------------------


def test_renderers_show_the_same_steps() -> None:
    W, a, g = ec.tensors("W[m,n] a[n] g[m]")
    d = ec.explain(W @ a, W, upstream=g, name="z")
    text, markdown, latex = d.text(), d.markdown(), d.latex()
    assert str(d) == text and d._repr_markdown_() == markdown and d._repr_latex_() == latex
    assert text.startswith("∂L/∂W for z[i] = W[i,j] a[j]") and "Layout: the gradient ∂L/∂W has the shape of W" in text
    assert "∂z[i]/∂W[p,q] = δ[i,p] a[q]" in text and "matrix form: g aᵀ" in text
    assert "numpy:       np.outer(g, a)" in text
    for number, s in enumerate(d.steps, 1):
        assert f"{number:>2}. {s.rule}:" in text and f"{number}. **{s.rule}.**" in markdown
        assert rf"\item \textbf{{{escape(s.rule)}.}}" in latex
    assert r"$$\frac{\partial z_{i}}{\partial W_{pq}} = \sum_{j} \delta_{ip} \delta_{jq} a_{j}$$" in markdown
    assert r"Matrix form: $g a^\top$ (`np.outer(g, a)`)" in markdown
    assert latex.startswith(r"\paragraph{") and latex.endswith(r"\end{enumerate}")
    assert "δ" not in latex.replace(r"$\delta$", "") and "∂" not in latex


def test_the_graph_renders_as_a_table_in_every_format() -> None:
    w0, x0, w1, x1, w2 = ec.tensors("w0 x0 w1 x1 w2")
    values = {"w0": 2, "x0": -1, "w1": -3, "x1": -2, "w2": -3}
    d = ec.explain(ec.sigmoid(w0 * x0 + w1 * x1 + w2), w2, values=values)
    assert d.graph is not None and "graph" in rules(d)
    assert "      n3    +      n1, n2, w2  1      0.197" in d.text()
    assert "   ```text" in d.markdown() and r"{\ttfamily" in d.latex()
    assert "The symbolic result at these values: ∂f/∂w2 = 0.197, the same as the graph's." in d.text()


def test_latex_escapes_text() -> None:
    assert escape("log_softmax & 50% of δ[i,p]ᵀ") == r"log\_softmax \& 50\% of $\delta$[i,p]$^\top$"


def test_definitions_are_shown_once_where_they_change() -> None:
    E, W1 = p2_network()
    text = ec.explain(E, W1, name="E").text()
    assert text.count("where δ1[j] = (a1[j] (1 - a1[j]) da1[j])[j]") == 1
    assert text.count("where z1[j] = W1[i,j] x[i]") == 2  # the input, and the assembled result


# -- checks and errors ---------------------------------------------------------------------------------


def test_a_failed_check_is_reported() -> None:
    check = Check(error=0.5, tolerance=1e-6, sizes={"n": 2}, seed=0, matrix_error=0.0)
    assert not check.passed and "DISAGREE" in check.sentence() and "5.0e-01" in check.sentence()
    assert not Check(error=float("nan"), tolerance=1e-6, sizes={}, seed=0).passed


def test_check_uses_positive_values_where_needed() -> None:
    x, g = ec.tensors("x[n] g[n]")
    d = ec.explain(ec.log(x), x, upstream=g)  # log of the standard normal draw would be NaN
    assert d.check.passed and np.isfinite(d.check.error)


def test_bad_requests() -> None:
    W, a, g, h = ec.tensors("W[m,n] a[n] g[m] h[n]")
    with pytest.raises(ec.UnsupportedError, match="declared tensor"):
        ec.explain(W @ a, W @ a, upstream=g)
    with pytest.raises(ec.UnsupportedError, match="kind vjp needs an upstream gradient"):
        ec.explain(W @ a, W, kind="vjp")
    with pytest.raises(ec.UnsupportedError, match="unknown kind 'hess'"):
        ec.explain(W @ a, W, kind="hess")  # type: ignore[arg-type]
    with pytest.raises(ec.UnsupportedError, match="unknown detail 'some'"):
        ec.explain(W @ a, W, detail="some")  # type: ignore[arg-type]
    with pytest.raises(ec.IndexMismatch, match="a grad needs a scalar expression"):
        ec.explain(W @ a, W, kind="grad")
    with pytest.raises(ec.ShapeError, match="upstream gradient h"):
        ec.explain(W @ a, W, upstream=h)
    with pytest.raises(ec.UnknownNameError, match="upstream gradient g too"):
        ec.explain(W @ a, W, upstream=g, values={"W": np.ones((2, 2)), "a": np.ones(2)})


def test_the_tensor_names_of_the_check_are_the_tensors() -> None:
    """What the numeric check compares is the printed matrix form, run as NumPy code on the tensors' arrays."""
    W, a, g = ec.tensors("W[m,n] a[n] g[m]")
    d = ec.explain(W @ a, a, upstream=g)
    assert d.check.matrix_error is not None and d.check.matrix_error < 1e-12
    assert re.search(r"the matrix form gives the same numbers as the index form", d.steps[-1].reason)
    assert {t.spec.name for t in walk(d.result) if isinstance(t, Tensor)} == {"W", "g"}
