"""The computational graph: forward values, upstream and local gradients, text, DOT and pictures."""

from __future__ import annotations

import shutil
import sys

import numpy as np
import pytest

import eincalc as ec
from eincalc.explain.graph import graph_at, show
from eincalc.testing import numeric_jacobian, random_values

P4 = {"w0": 2.0, "x0": -1.0, "w1": -3.0, "x1": -2.0, "w2": -3.0}


def sigmoid_neuron() -> tuple[ec.Expr, tuple[ec.Expr, ...]]:
    w0, x0, w1, x1, w2 = ec.tensors("w0 x0 w1 x1 w2")
    return ec.sigmoid(w0 * x0 + w1 * x1 + w2), (w0, x0, w1, x1, w2)


def test_p4_numbers_of_the_cs231n_figure() -> None:
    f, _ = sigmoid_neuron()
    g = ec.graph(f, P4).backward()
    assert float(g.output.value) == pytest.approx(0.7311, abs=1e-4)
    expected = {"x0": 0.393, "x1": -0.590, "w0": -0.197, "w1": -0.393, "w2": 0.197}
    for name, value in expected.items():
        assert float(g.node(name).gradient) == pytest.approx(value, abs=1e-3), name
    add = next(n for n in g.nodes if n.gate == "+")
    assert [float(local) for local in add.local] == [1.0, 1.0, 1.0]
    assert float(g.node("w2").gradient) == float(add.gradient)  # passed on unchanged
    for gate in (n for n in g.nodes if n.gate == "×"):
        a, b = (g.nodes[k] for k in gate.inputs)
        assert float(gate.local[0]) == float(b.value) and float(gate.local[1]) == float(a.value)  # swapped
    sigma = float(g.output.value)
    assert float(g.output.local[0]) == pytest.approx(sigma * (1 - sigma))


def test_gradients_match_the_symbolic_ones_and_finite_differences() -> None:
    W, a, b = ec.tensors("W[m,n] a[n] b[m]")
    f = ec.sum(ec.tanh(W @ a + b) * ec.sigmoid(b))
    values = random_values(f, {"m": 3, "n": 2}, seed=3)
    g = ec.graph(f, values).backward()
    for tensor in (W, a, b):
        name = tensor.spec.name  # type: ignore[attr-defined]
        np.testing.assert_allclose(g.node(name).gradient, ec.evaluate(ec.grad(f, tensor), values), atol=1e-12)
        np.testing.assert_allclose(g.node(name).gradient, numeric_jacobian(f, tensor, values), atol=1e-7)


def test_local_jacobians_times_upstream_give_the_inputs_gradients() -> None:
    W, a = ec.tensors("W[m,n] a[n]")
    values = random_values(W @ a, {"m": 2, "n": 3}, seed=4)
    g = ec.graph(ec.sum(ec.exp(W @ a)), values).backward()
    product = next(n for n in g.nodes if n.gate.startswith("einsum ij"))
    local_w, local_a = product.local
    assert local_w.shape == (2, 2, 3) and local_a.shape == (2, 3)
    np.testing.assert_allclose(local_a, values["W"])
    np.testing.assert_allclose(np.tensordot(product.gradient, local_w, axes=1), g.node("W").gradient)
    np.testing.assert_allclose(product.gradient @ local_a, g.node("a").gradient)


def test_named_intermediates_are_gates_that_pass_gradients_on() -> None:
    W, x = ec.tensors("W[m,n] x[n]")
    z = ec.let("z", W @ x)
    f = ec.sum(ec.square(ec.sigmoid(z)))
    values = random_values(f, {"m": 2, "n": 2}, seed=5)
    g = ec.graph(f, values).backward()
    assert g.node("z").gate == "name"
    np.testing.assert_allclose(g.node("W").gradient, ec.evaluate(ec.grad(f, W), values), atol=1e-12)
    np.testing.assert_allclose(g.node("z").gradient, g.nodes[g.node("z").inputs[0]].gradient)


def test_text_and_dot() -> None:
    f, _ = sigmoid_neuron()
    g = ec.graph(f, P4)
    before = g.text()
    assert "node  gate" in before and "∂f/∂node" in before and "—" in before
    g.backward()
    text = str(g)
    assert "0.731" in text and "∂n3/∂w2 = 1" in text and "∂n1/∂w0 = x₀ = -1" in text
    assert "∂f/∂n3 = f (1 − f) = 0.197" in text
    dot = g.dot()
    assert dot.startswith("digraph eincalc {") and dot.endswith("}")
    assert '"w2" -> "n3" [label=<<font color="darkgreen">-3</font><br/><font color="firebrick">0.197</font>>];' in dot
    assert '"n3" [label="+", shape=circle];' in dot and '"f" -> output' in dot


@pytest.mark.skipif(shutil.which("dot") is None, reason="the Graphviz program 'dot' is not installed")
def test_svg_and_png_with_graphviz() -> None:
    f, _ = sigmoid_neuron()
    g = ec.graph(f, P4).backward()
    assert "<svg" in g.svg() and "0.197" in g.svg()
    assert g.png().startswith(b"\x89PNG")
    assert "image/svg+xml" in g._repr_mimebundle_()


def test_pictures_without_graphviz_say_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys.modules["eincalc.explain.graph"].shutil, "which", lambda name: None)
    f, _ = sigmoid_neuron()
    g = ec.graph(f, P4)
    with pytest.raises(ec.UnsupportedError, match="apt install graphviz"):
        g.svg()
    assert set(g._repr_mimebundle_()) == {"text/plain"}


def test_facts_name_the_add_gate_and_the_numbers_of_the_question() -> None:
    f, _ = sigmoid_neuron()
    facts = ec.graph(f, P4).backward().facts()
    assert facts[0] == "The output is f = 0.7311."
    assert (
        "The add gate n3 = n1 + n2 + w2: the add gate passes the upstream gradient through: local gradient 1 "
        "for each input, so n1, n2 and w2 each receive its gradient 0.197 unchanged."
    ) in facts
    assert (
        "The sigmoid gate f has local gradient ∂f/∂n3 = f (1 − f) = 0.197; every gradient below it carries "
        "this factor." in facts
    )
    assert facts[-1] == (
        "The gradients of the inputs: ∂f/∂w0 = -0.197, ∂f/∂x0 = 0.393, ∂f/∂w1 = -0.393, ∂f/∂x1 = -0.59, ∂f/∂w2 = 0.197."
    )


def test_labels_tell_log_softmax_from_softmax() -> None:
    (theta,) = ec.tensors("θ[c]")
    values = {"θ": np.array([0.5, -1.0, 2.0])}
    assert ec.graph(ec.sum(ec.log_softmax(theta)), values).nodes[1].gate == "log_softmax(·)"
    assert ec.graph(ec.sum(ec.softmax(theta)), values).nodes[1].gate == "softmax(·)"
    assert ec.graph(ec.logsumexp(theta), values).output.gate == "logsumexp(·)"


def test_a_vector_gates_local_gradient_is_its_matrix_form() -> None:
    W, r = ec.tensors("W[m,n] r[n]")
    h = ec.let("h", ec.sigmoid(r))
    values = {"W": np.array([[1.0, 2.0], [3.0, 4.0]]), "r": np.array([0.0, 1.0])}
    g = ec.graph(ec.sum(W @ h), values).backward()
    text = g.text()
    sigma = 1 / (1 + np.exp(-np.array([0.0, 1.0])))
    assert f"∂n1/∂r = diag(n₁ ⊙ (1 − n₁)) = diag({show(sigma * (1 - sigma))})" in text
    assert "∂h/∂n1 = I" in text and "∂n2/∂h = W" in text and "∂n2/∂W = δ[i,p] h[q]" in text
    assert "= [[" not in text  # no local gradient as nested arrays


def test_graph_at_sends_back_what_arrives() -> None:
    W, a, g = ec.tensors("W[m,n] a[n] g[m]")
    values = {"W": np.eye(2), "a": np.array([1.0, 2.0]), "g": np.array([1.0, -1.0])}
    sent = graph_at(W @ a, values, upstream=g)
    np.testing.assert_allclose(sent.node("a").gradient, values["W"].T @ values["g"])
    assert graph_at(W @ a, values).output.gradient is None  # a vector output and nothing arriving: values only
    with pytest.raises(ec.UnknownNameError, match="upstream gradient g too"):
        graph_at(W @ a, {"W": np.eye(2), "a": np.ones(2)}, upstream=g)


def test_errors() -> None:
    f, _ = sigmoid_neuron()
    g = ec.graph(f, P4)
    with pytest.raises(ec.UnknownNameError, match="no node 'q'"):
        g.node("q")
    with pytest.raises(ec.UnsupportedError, match="upstream gradient has shape"):
        g.backward(np.ones(3))
