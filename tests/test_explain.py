"""Explained derivations: steps come from the simplifier, in the learner's order, and agree with the numbers."""



from __future__ import annotations

import numpy as np
import pytest

import eincalc as ec
from eincalc.diff import vjp
from eincalc.explain_check import Check
from eincalc.explain_render import escape
from eincalc.printing import to_text
from eincalc.simplify import RULES
from eincalc.testing import random_values

LEARNER_STEPS = {"index-form", "differentiate", "jacobian", "diagonal-jacobian", "local-gradient-one", "chain-rule",
                 "backpropagate", "differentiate-again", "rename-indices", "matrix-form", "no-matrix-form",
                 "numeric-check"}


def rules(d: ec.Derivation) -> list[str]:
    return [s.rule for s in d.steps]


def assert_well_formed(d: ec.Derivation) -> None:
    """Every step is a simplifier rule (with that rule's own reason) or a learner step; rewrites chain up."""
    reasons = {r.name: r.reason for r in RULES}
    previous = None
    for step in d.steps:
        assert step.rule in LEARNER_STEPS or step.reason == reasons[step.rule], step.rule
        if step.before is not None:
            assert previous is not None and to_text(previous) == to_text(step.before), step.rule
        if step.after is not None and step.rule != "matrix-form":
            previous = step.after
    assert d.steps[0].rule == "index-form" and d.steps[-1].rule == "numeric-check"
    assert d.check.passed, d.check.sentence()


# -- P1: z = W a ---------------------------------------------------------------------------------


def test_p1_weights_in_the_learners_order() -> None:
    W, a, g = ec.tensors("W[m,n] a[n] g[m]")
    d = ec.explain(W @ a, W, upstream=g, name="z")
    assert_well_formed(d)
    order = [r for r in rules(d) if r in ("index-form", "differentiate", "jacobian", "chain-rule", "matrix-form")]
    assert order == ["index-form", "differentiate", "jacobian", "chain-rule", "matrix-form"]
    assert str(d.result) == "g[p] a[q]" and d.matrix is not None and d.matrix.text == "g aᵀ"
    jacobian = next(s for s in d.steps if s.rule == "jacobian")
    assert str(jacobian.after) == "δ[i,p] a[q]" and jacobian.lhs == "∂z[i]/∂W[p,q]"
    assert "rank 3 (m × m × n)" in jacobian.reason and "mostly zeros" in jacobian.reason and "1/m" in jacobian.reason
    eliminations = [s for s in d.steps if s.rule == "delta-elimination"]
    assert eliminations and all("δ" in to_text(s.before) for s in eliminations)  # type: ignore[arg-type]
    assert str(eliminations[-1].after) == "g[p] a[q]"
    assert "only i = p survives" in eliminations[-1].notes[0]
    reading = next(s for s in d.steps if s.rule == "matrix-form")
    assert any("outer product" in n and "row index p on the left" in n for n in reading.notes)
    chain = next(s for s in d.steps if s.rule == "chain-rule")
    assert "Σ_i ∂L/∂z[i] ∂z[i]/∂W[p,q]" in chain.reason


def test_p1_input_gets_a_transpose_and_says_why() -> None:
    W, a, g = ec.tensors("W[m,n] a[n] g[m]")
    d = ec.explain(W @ a, a, upstream=g)
    assert_well_formed(d)
    assert d.matrix is not None and d.matrix.text == "Wᵀ g" and d.numpy() == "W.T @ g"
    notes = next(s for s in d.steps if s.rule == "matrix-form").notes
    assert any(n.startswith("Wᵀ: in W[i,p] the row index i is summed with g[i]") for n in notes)
    assert not [n for n in notes if "outer product" in n]


def test_result_agrees_with_vjp_numerically() -> None:
    W, a, g, b = ec.tensors("W[m,n] a[n] g[m] b[m]")
    cases = [(ec.tanh(W @ a + b), W), (ec.tanh(W @ a + b), a), (ec.exp(W @ a) * b, b), (ec.square(W @ a), W)]
    for expr, wrt in cases:
        d = ec.explain(expr, wrt, upstream=g)
        assert_well_formed(d)
        values = random_values(expr, {"m": 3, "n": 4}, seed=1) | random_values(g, {"m": 3}, seed=2)
        np.testing.assert_allclose(ec.evaluate(d.result, values), ec.evaluate(vjp(expr, wrt, g), values), atol=1e-12)


# -- element-wise functions, biases, batches -------------------------------------------------------


def test_elementwise_function_has_a_diagonal_jacobian_and_a_hadamard_product() -> None:
    z, g = ec.tensors("z[n] g[n]")
    d = ec.explain(ec.sigmoid(z), z, upstream=g, name="a")
    assert_well_formed(d)
    diagonal = next(s for s in d.steps if s.rule == "diagonal-jacobian")
    assert "depends only on input entry p with i = p" in diagonal.reason
    assert rules(d).index("diagonal-jacobian") < rules(d).index("chain-rule")
    assert d.matrix is not None and d.matrix.text == "g ⊙ σ(z) ⊙ (1 − σ(z))"
    reading = next(s for s in d.steps if s.rule == "matrix-form")
    assert any("Hadamard product ⊙" in n for n in reading.notes)


def test_bias_has_local_gradient_one_and_sums_over_the_batch() -> None:
    X, V, c, G = ec.tensors("X[B,n] V[n,m] c[m] G[B,m]")
    d = ec.explain(X @ V + c, c, upstream=G, name="Z")
    assert_well_formed(d)
    bias = next(s for s in d.steps if s.rule == "local-gradient-one")
    assert "local gradient is 1" in bias.reason and "sums the upstream gradient over i" in bias.reason
    assert d.matrix is not None and d.matrix.text == "Gᵀ 1" and d.numpy() == "G.sum(axis=0)"
    rows = ec.explain(X @ V + c, c, upstream=G, rows=True)
    assert rows.matrix is not None and rows.matrix.text == "1ᵀ G" and "vectors as rows" in rows.layout
    weights = ec.explain(X @ V + c, V, upstream=G)
    assert weights.matrix is not None and weights.matrix.text == "Xᵀ G"
    assert "local-gradient-one" not in rules(weights)
    notes = next(s for s in weights.steps if s.rule == "matrix-form").notes
    assert any("X[i,p] carries the result's row index p, so it stands on the left" in n for n in notes)


def test_bias_of_a_single_example_is_not_summed() -> None:
    W, a, b, g = ec.tensors("W[m,n] a[n] b[m] g[m]")
    d = ec.explain(W @ a + b, b, upstream=g, name="z")
    bias = next(s for s in d.steps if s.rule == "local-gradient-one")
    assert bias.reason == "b enters z by addition, so its local gradient is 1 (the Jacobian is only deltas)."
    assert "only where i = p" in next(s for s in d.steps if s.rule == "jacobian").reason
    assert d.matrix is not None and d.matrix.text == "g"


def test_jacobian_of_rank_three_has_no_matrix_form() -> None:
    W, a = ec.tensors("W[m,n] a[n]")
    d = ec.explain(W @ a, W)
    assert_well_formed(d)
    assert d.kind == "jacobian" and d.matrix is None and "no-matrix-form" in rules(d)
    assert "numerator layout" in d.layout
    with pytest.raises(ec.NoMatrixForm):
        d.numpy()


def test_hessian_of_a_quadratic_form() -> None:
    x, A = ec.tensors("x[n] A[n,n]")
    d = ec.explain(x @ A @ x, x, kind="hessian")
    assert_well_formed(d)
    assert d.matrix is not None and d.matrix.text == "A + Aᵀ"
    assert rules(d).index("differentiate") < rules(d).index("differentiate-again")
    assert d.check.gradient_error is not None and d.check.gradient_error < 1e-6
    assert "H[p,q]" in d.layout


def test_scalars_and_the_bias_of_a_sigmoid_neuron() -> None:
    w0, x0, w1, x1, w2 = ec.tensors("w0 x0 w1 x1 w2")
    f = ec.sigmoid(w0 * x0 + w1 * x1 + w2)
    d = ec.explain(f, w2)
    assert_well_formed(d)
    assert d.kind == "grad" and "Differentiate with respect to w2: ∂w2/∂w2 = 1" in d.steps[1].reason
    value = float(ec.evaluate(d.result, {"w0": 2, "x0": -1, "w1": -3, "x1": -2, "w2": -3}))
    assert value == pytest.approx(0.19661193, abs=1e-8)


# -- named intermediates: P2 and P3 ------------------------------------------------------------------


def p2_network() -> tuple[ec.Expr, ec.Expr]:
    W1, W2, x, y = ec.tensors("W1[n0,n1] W2[n1,n2] x[n0] y[n2]")
    z1 = ec.let("z1", W1["i", "j"] * x["i"], adjoint="δ1")
    a1 = ec.let("a1", ec.sigmoid(z1), adjoint="da1")
    z2 = ec.let("z2", W2["j", "k"] * a1["j"], adjoint="δ2")
    a2 = ec.let("a2", ec.sigmoid(z2), adjoint="da2")
    return 0.5 * ec.sum(ec.square(a2 - y["k"])), W1


def test_named_intermediates_backpropagate_with_named_deltas() -> None:
    E, W1 = p2_network()
    d = ec.explain(E, W1, name="E")
    assert_well_formed(d)
    assert "backpropagate" in rules(d) and "(da2, δ2, da1, δ1)" in d.steps[rules(d).index("backpropagate")].reason
    assert d.result == ec.grad(E, W1)
    readings = {s.lhs: s.matrix.text for s in d.steps if s.rule == "matrix-form" and s.matrix is not None}
    assert readings["δ2[k]"] == "a₂ ⊙ (1 − a₂) ⊙ da₂" and readings["da1[j]"] == "W₂ δ₂"
    assert readings["∂E/∂W1[p,q]"] == "x δ₁ᵀ"
    in_definitions = [s for s in d.steps if s.shows_part]
    assert in_definitions and {s.within for s in in_definitions} <= {"da2", "δ2", "da1", "δ1"}


def test_row_vector_network_with_softmax() -> None:
    x, W1, b1, W2, b2, y = ec.tensors("x[d] W1[d,k] b1[k] W2[k,c] b2[c] y[c]", simplex="y")
    h = ec.let("h", ec.sigmoid(ec.let("r", x @ W1 + b1, adjoint="δ1")), adjoint="dh")
    theta = ec.let("θ", h @ W2 + b2, adjoint="δ2")
    d = ec.explain(ec.cross_entropy(theta, y), x, rows=True, name="J")
    assert_well_formed(d)
    assert d.matrix is not None and d.matrix.text == "δ₁ W₁ᵀ"
    assert "simplex-sum" in rules(d)
    readings = {s.lhs: s.matrix.text for s in d.steps if s.rule == "matrix-form" and s.matrix is not None}
    assert readings["δ2[i]"] == "−y + softmax(θ)" and readings["dh[i]"] == "δ₂ W₂ᵀ"


# -- renderers -----------------------------------------------------------------------------------------


def test_renderers_show_the_same_steps() -> None:
    W, a, g = ec.tensors("W[m,n] a[n] g[m]")
    d = ec.explain(W @ a, W, upstream=g, name="z")
    text, markdown, latex = d.text(), d.markdown(), d.latex()
    assert str(d) == text and d._repr_markdown_() == markdown and d._repr_latex_() == latex
    assert text.startswith("∂L/∂W for z[i] = W[i,j] a[j]") and "Layout: the gradient ∂L/∂W has the shape of W" in text
    assert "      ∂L/∂W[p,q] = g[i] a[j] δ[i,p] δ[j,q]" not in text  # the chain rule contracts the Jacobian
    assert "∂z[i]/∂W[p,q] = δ[i,p] a[q]" in text and "matrix form: g aᵀ" in text
    assert "numpy:       np.outer(g, a)" in text
    for number, step in enumerate(d.steps, 1):
        assert f"{number:>2}. {step.rule}:" in text and f"{number}. **{step.rule}.**" in markdown
        assert rf"\item \textbf{{{escape(step.rule)}.}}" in latex
    assert r"$$\frac{\partial z_{i}}{\partial W_{pq}} = \sum_{j} \delta_{ip} \delta_{jq} a_{j}$$" in markdown
    assert r"Matrix form: $g a^\top$ (`np.outer(g, a)`)" in markdown
    assert latex.startswith(r"\paragraph{") and latex.endswith(r"\end{enumerate}")
    assert "δ" not in latex.replace(r"$\delta$", "") and "∂" not in latex


def test_latex_escapes_text() -> None:
    assert escape("log_softmax & 50% of δ[i,p]ᵀ") == r"log\_softmax \& 50\% of $\delta$[i,p]$^\top$"


def test_definitions_are_shown_when_they_change() -> None:
    E, W1 = p2_network()
    text = ec.explain(E, W1, name="E").text()
    assert text.count("where δ1[j] = ((a1[j] (1 - a1[j]))[j] da1[j])[j]") == 1
    assert "      in da2: ((2 (a2[k] - y[k])) (0.5 1[k]))[k]" in text


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
    with pytest.raises(ec.UnsupportedError, match="kind='vjp' needs one"):
        ec.explain(W @ a, W, kind="vjp")
    with pytest.raises(ec.UnsupportedError, match="unknown kind 'hess'"):
        ec.explain(W @ a, W, kind="hess")  # type: ignore[arg-type]
    with pytest.raises(ec.IndexMismatch, match="a grad needs a scalar expression"):
        ec.explain(W @ a, W, kind="grad")
    with pytest.raises(ec.ShapeError, match="upstream gradient h"):
        ec.explain(W @ a, W, upstream=h)
