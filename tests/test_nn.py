"""Neural-network calculus: softmax family, losses, biases, batches, and the reference problems P2, P3, P8."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import eincalc as ec
from eincalc.frontend.printing import definitions
from eincalc.numeric import kernels
from eincalc.testing import check_grad, check_jacobian, check_vjp, random_values, sizes_of


def matrix_value(expr: ec.Expr, values: dict[str, np.ndarray]) -> np.ndarray:
    """Check that the matrix form's printed NumPy text, run with NumPy alone, agrees with the index form."""
    form = ec.to_matrix(expr, rows=True)
    index_value = np.asarray(ec.evaluate(expr, values))
    np.testing.assert_allclose(form.evaluate(values), index_value, atol=1e-12)
    return index_value


# -- the structured functions ----------------------------------------------------------------------


def test_softmax_jacobian_is_the_textbook_form() -> None:
    (theta,) = ec.tensors("θ[c]")
    J = ec.jacobian(ec.softmax(theta), theta)
    assert str(J) == "(softmax(θ[i], i) (δ[i,p] - softmax(θ[p], p)))[i,p]"
    values = random_values(J, {"c": 4}, seed=0)
    y = kernels.softmax(values["θ"], 0)
    np.testing.assert_allclose(ec.evaluate(J, values), np.diag(y) - np.outer(y, y), atol=1e-12)


def test_softmax_vjp_never_forms_the_jacobian() -> None:
    theta, g = ec.tensors("θ[c] g[c]")
    V = ec.vjp(ec.softmax(theta), theta, g)
    assert not any(isinstance(sub, ec.core.nodes.Delta) for sub in ec.core.traversal.walk(V))
    assert ec.to_matrix(V).text == "softmax(θ) ⊙ (g − (gᵀ softmax(θ)) 1)"
    values = random_values(V, {"c": 5}, seed=1)
    assert check_vjp(ec.softmax(theta), theta, g, values) < 1e-8
    matrix_value(V, values)


@pytest.mark.parametrize("name", ["softmax", "log_softmax", "logsumexp"])
@pytest.mark.parametrize("axis", [0, 1])
def test_structured_functions_on_matrices_against_finite_differences(name: str, axis: int) -> None:
    S, G = ec.tensors("S[b,c] G[b,c]")
    f = getattr(ec, name)(S, axis=axis)
    values = random_values(S + G, {"b": 3, "c": 4}, seed=2)
    assert check_jacobian(f, S, values) < 1e-7
    L = ec.sum(f * G) if name != "logsumexp" else ec.sum(f)
    assert check_grad(L, S, values) < 1e-7
    matrix_value(ec.grad(L, S), values)


def test_cross_entropy_gradient_is_yhat_minus_y_for_simplex_labels() -> None:
    theta, y = ec.tensors("θ[c] y[c]", simplex="y")
    G = ec.grad(ec.cross_entropy(theta, y), theta)
    assert str(G) == "-y[p] + softmax(θ[p], p)"
    assert ec.to_matrix(G).text == "softmax(θ) − y"
    values = random_values(G, {"c": 4}, seed=3)
    np.testing.assert_allclose(ec.evaluate(G, values), kernels.softmax(values["θ"], 0) - values["y"])


def test_a_simplex_matrix_sums_to_one_along_its_rows_only_and_a_simplex_number_is_refused() -> None:
    Y = ec.tensors("Y[b,c]", simplex="Y")[0]
    assert str(ec.simplify(ec.sum(Y, axis=1))) == "1"  # Σ_c Y[b,c] = 1 for every row b
    down_columns = ec.simplify(ec.sum(Y, axis=0))
    values = {"Y": np.array([[0.25, 0.75], [1.0, 0.0], [0.5, 0.5]])}
    np.testing.assert_allclose(ec.evaluate(down_columns, values), [1.75, 1.25])
    with pytest.raises(ec.ShapeError, match="declared on the simplex but is a number"):
        ec.tensors("s", simplex="s")


def test_cross_entropy_gradient_without_declaration_keeps_the_label_sum() -> None:
    theta, y = ec.tensors("θ[c] y[c]")
    G = ec.grad(ec.cross_entropy(theta, y), theta)
    values = {"θ": np.array([0.5, -1.0, 2.0]), "y": np.array([2.0, 1.0, 0.5])}
    expected = values["y"].sum() * kernels.softmax(values["θ"], 0) - values["y"]
    np.testing.assert_allclose(ec.evaluate(G, values), expected)


def test_cross_entropy_from_probabilities_and_log_of_softmax() -> None:
    theta, y = ec.tensors("θ[c] y[c]", simplex="y")
    from_probabilities = ec.cross_entropy(ec.softmax(theta), y, logits=False)
    # log(softmax(θ)) is rewritten to log_softmax(θ), so the gradient is the same ŷ − y
    assert str(ec.grad(from_probabilities, theta)) == "-y[p] + softmax(θ[p], p)"
    values = random_values(from_probabilities, {"c": 3}, seed=4)
    assert check_grad(from_probabilities, theta, values) < 1e-7


def test_mse_and_binary_cross_entropy_and_mean() -> None:
    p, t, z, y = ec.tensors("p[n] t[n] z[n] y[n]")
    values = random_values(p + t + z + y, {"n": 5}, seed=5)
    values["y"] = (values["y"] > 0).astype(float)
    assert float(ec.evaluate(ec.mse(p, t), values)) == pytest.approx(np.mean((values["p"] - values["t"]) ** 2))
    assert check_grad(ec.mse(p, t), p, values) < 1e-7
    bce = ec.binary_cross_entropy(z, y)
    sig = 1 / (1 + np.exp(-values["z"]))
    expected = -np.sum(values["y"] * np.log(sig) + (1 - values["y"]) * np.log(1 - sig))
    assert float(ec.evaluate(bce, values)) == pytest.approx(expected)
    np.testing.assert_allclose(ec.evaluate(ec.grad(bce, z), values), sig - values["y"], atol=1e-12)
    probabilities = ec.binary_cross_entropy(ec.sigmoid(z), y, logits=False)
    assert float(ec.evaluate(probabilities, values)) == pytest.approx(expected)
    assert float(ec.evaluate(ec.mean(p), values)) == pytest.approx(values["p"].mean())


# -- numerical stability ---------------------------------------------------------------------------


def test_stable_evaluation_for_extreme_inputs() -> None:
    theta, y = ec.tensors("θ[c] y[c]", simplex="y")
    extreme = {"θ": np.array([1000.0, -1000.0, 0.0]), "y": np.array([0.0, 1.0, 0.0])}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        np.testing.assert_allclose(ec.evaluate(ec.softmax(theta), extreme), [1.0, 0.0, 0.0])
        assert float(ec.evaluate(ec.logsumexp(theta), extreme)) == pytest.approx(1000.0)
        np.testing.assert_allclose(ec.evaluate(ec.log_softmax(theta), extreme), [0.0, -2000.0, -1000.0])
        assert float(ec.evaluate(ec.cross_entropy(theta, y), extreme)) == pytest.approx(2000.0)
        np.testing.assert_allclose(
            ec.evaluate(ec.grad(ec.cross_entropy(theta, y), theta), extreme), [1.0, -1.0, 0.0], atol=1e-300
        )
        np.testing.assert_allclose(ec.evaluate(ec.sigmoid(theta), extreme), [1.0, 0.0, 0.5])
        np.testing.assert_allclose(ec.evaluate(ec.softplus(theta), extreme), [1000.0, 0.0, np.log(2.0)])
        z, t = ec.tensors("z[n] t[n]")
        bce = ec.binary_cross_entropy(z, t)
        value = ec.evaluate(bce, {"z": np.array([1000.0, -1000.0]), "t": np.array([0.0, 1.0])})
        assert float(value) == pytest.approx(2000.0)


# -- biases and batches ----------------------------------------------------------------------------


def test_bias_gradient_is_the_sum_over_the_batch() -> None:
    X, W, b, G = ec.tensors("X[B,n] W[n,m] b[m] G[B,m]")
    out = X @ W + b
    db = ec.vjp(out, b, G)
    assert str(db) == "Σ(G[i,p])[p]" or str(db) == "(G[i,p])[p]"
    values = random_values(out + G, {"B": 4, "n": 3, "m": 2}, seed=6)
    np.testing.assert_allclose(ec.evaluate(db, values), values["G"].sum(axis=0))
    assert ec.to_matrix(db, rows=True).text == "1ᵀ G"
    np.testing.assert_allclose(ec.to_matrix(db).evaluate(values), values["G"].sum(axis=0))
    assert ec.to_matrix(ec.vjp(out, W, G)).text == "Xᵀ G"


# -- P2: the first question, in its own indexing z[j] = Σ_i W[i,j] a[i] -----------------------------


def two_layer_network() -> tuple[ec.Expr, tuple[ec.Expr, ...]]:
    W1, W2, x, y = ec.tensors("W1[n0,n1] W2[n1,n2] x[n0] y[n2]")
    i, j, k = ec.indices("i j k")
    z1 = ec.let("z1", W1[i, j] * x[i], adjoint="δ1")
    a1 = ec.let("a1", ec.sigmoid(z1), adjoint="da1")
    z2 = ec.let("z2", W2[j, k] * a1[j], adjoint="δ2")
    a2 = ec.let("a2", ec.sigmoid(z2), adjoint="da2")
    return 0.5 * ec.sum(ec.square(a2 - y[k])), (W1, W2, x, y)


def test_p2_backprop_with_named_deltas() -> None:
    E, (W1, W2, x, _labels) = two_layer_network()
    dW1, dW2 = ec.grad(E, W1), ec.grad(E, W2)
    assert ec.to_matrix(dW1).text == (
        "x δ₁ᵀ\n  where z₁ = W₁ᵀ x\n  where a₁ = σ(z₁)\n  where z₂ = W₂ᵀ a₁\n  where a₂ = σ(z₂)\n"
        "  where da₂ = a₂ − y\n  where δ₂ = a₂ ⊙ (1 − a₂) ⊙ da₂\n  where da₁ = W₂ δ₂\n  where δ₁ = a₁ ⊙ (1 − a₁) ⊙ da₁"
    )
    assert ec.to_matrix(dW2).text.splitlines()[0] == "a₁ δ₂ᵀ"  # then its where-lines
    named = {d.name: d for d in definitions(dW1)}
    assert ec.to_matrix(named["δ2"].body).text.splitlines()[0] == "a₂ ⊙ (1 − a₂) ⊙ da₂"
    assert ec.to_matrix(named["da2"].body).text.splitlines()[0] == "a₂ − y"
    assert ec.to_matrix(named["da1"].body).text.splitlines()[0] == "W₂ δ₂"
    assert ec.to_matrix(named["δ1"].body).text.splitlines()[0] == "a₁ ⊙ (1 − a₁) ⊙ da₁"
    values = random_values(E, {"n0": 3, "n1": 4, "n2": 2}, seed=7)
    for wrt in (W1, W2, x):
        assert check_grad(E, wrt, values) < 1e-8
    matrix_value(dW1, values)


# -- P3: the second question, row vectors, single row and batch --------------------------------------


def row_network(batch: bool) -> tuple[ec.Expr, dict[str, ec.Expr]]:
    decl = "X[B,d] W1[d,h] b1[h] W2[h,c] b2[c] Y[B,c]" if batch else "X[d] W1[d,h] b1[h] W2[h,c] b2[c] Y[c]"
    X, W1, b1, W2, b2, Y = ec.tensors(decl, simplex="Y")
    r = ec.let("r", X @ W1 + b1, adjoint="δ1")
    h = ec.let("h", ec.sigmoid(r), adjoint="dh")
    theta = ec.let("θ", h @ W2 + b2, adjoint="δ2")
    J = ec.cross_entropy(theta, Y)
    return J, {"X": X, "W1": W1, "b1": b1, "W2": W2, "b2": b2}


@pytest.mark.parametrize("batch", [False, True])
def test_p3_row_vector_network(batch: bool) -> None:
    J, params = row_network(batch)
    sizes = {"B": 3, "d": 4, "h": 5, "c": 3}
    values = random_values(J, sizes, seed=8)
    grads = {name: ec.grad(J, p) for name, p in params.items()}
    defs = {d.name: d for g in grads.values() for d in definitions(g)}
    first = {name: ec.to_matrix(defs[name].body, rows=True).text.splitlines()[0] for name in ("δ2", "dh", "δ1")}
    assert first["δ2"] == ("softmax_rows(θ) − Y" if batch else "softmax(θ) − Y")
    assert first["dh"] == "δ₂ W₂ᵀ"
    assert first["δ1"] == "h ⊙ (1 − h) ⊙ dh"
    ones = "1 " if batch else ""  # a bias repeated down the rows of a batch
    assert ec.to_matrix(grads["W1"], rows=True).text == (
        f"Xᵀ δ₁\n  where r = X W₁ + {ones}b₁\n  where h = σ(r)\n  where θ = h W₂ + {ones}b₂\n"
        f"  where δ₂ = {first['δ2']}\n  where dh = δ₂ W₂ᵀ\n  where δ₁ = h ⊙ (1 − h) ⊙ dh"
    )
    assert str(grads["W1"]).splitlines()[0] == ("X[i,p] δ1[i,q]" if batch else "X[p] δ1[q]")  # then its where-lines
    assert ec.to_matrix(grads["X"], rows=True).text.splitlines()[0] == "δ₁ W₁ᵀ"
    for name, p in params.items():
        assert check_grad(J, p, values) < 1e-7, name
        matrix_value(grads[name], values)
    # the closed forms of the question
    x, W1, b1, W2, b2, y = (values[k] for k in ("X", "W1", "b1", "W2", "b2", "Y"))
    h = 1 / (1 + np.exp(-(x @ W1 + b1)))
    yhat = kernels.softmax(h @ W2 + b2, -1)
    delta1 = ((yhat - y) @ W2.T) * h * (1 - h)
    np.testing.assert_allclose(ec.evaluate(grads["X"], values), delta1 @ W1.T, atol=1e-12)
    expected_b1 = delta1.sum(axis=0) if batch else delta1
    np.testing.assert_allclose(ec.evaluate(grads["b1"], values), expected_b1, atol=1e-12)
    assert sizes_of(J, values)["d"] == 4


# -- P8: attention ---------------------------------------------------------------------------------


@pytest.mark.parametrize("shape", [(2, 3, 2, 2), (4, 4, 3, 5), (5, 2, 4, 1)])
def test_p8_attention_gradients(shape: tuple[int, int, int, int]) -> None:
    T, S, d, e = shape
    Q, K, V, G = ec.tensors("Q[T,d] K[S,d] V[S,e] G[T,e]")
    P = ec.let("P", ec.softmax(Q @ K.T * (1 / np.sqrt(d)), axis=1))
    L = ec.sum((P @ V) * G)
    dQ, dK, dV = (ec.grad(L, w) for w in (Q, K, V))
    assert "P ⊙ (dP − (dP ⊙ P) 1 1ᵀ)" in ec.to_matrix(dQ).text
    text = ec.to_matrix(dV).text  # P is defined beneath, with the scale 1/√d as a number
    assert text.startswith("Pᵀ G\n  where P = softmax_rows(") and text.endswith(" Q Kᵀ)")
    values = random_values(L, {"T": T, "S": S, "d": d, "e": e}, seed=9)
    for w, g in ((Q, dQ), (K, dK), (V, dV)):
        assert check_grad(L, w, values) < 1e-7
        matrix_value(g, values)


# -- a 3-layer MLP with everything -------------------------------------------------------------------


def mlp() -> tuple[ec.Expr, tuple[ec.Expr, ...]]:
    X, W1, b1, W2, b2, W3, b3, Y = ec.tensors("X[B,d] W1[d,h] b1[h] W2[h,k] b2[k] W3[k,c] b3[c] Y[B,c]", simplex="Y")
    h1 = ec.let("h1", ec.tanh(X @ W1 + b1))
    h2 = ec.let("h2", ec.relu(h1 @ W2 + b2))
    out = ec.sigmoid(h2 @ W3 + b3)
    return ec.cross_entropy(out, Y), (X, W1, b1, W2, b2, W3, b3)


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 2**16), batch=st.integers(1, 4))
def test_three_layer_mlp_against_finite_differences(seed: int, batch: int) -> None:
    loss, params = mlp()
    values = random_values(loss, {"B": batch, "d": 3, "h": 4, "k": 3, "c": 2}, seed=seed)
    for p in params:
        assert check_grad(loss, p, values) < 1e-6


@pytest.mark.parametrize("framework", ["torch", "jax"])
def test_three_layer_mlp_against_autodiff(framework: str) -> None:
    module = pytest.importorskip(framework)
    loss, params = mlp()
    values = random_values(loss, {"B": 4, "d": 3, "h": 4, "k": 3, "c": 2}, seed=11)
    ours = {p.spec.name: np.asarray(ec.evaluate(ec.grad(loss, p), values)) for p in params}  # type: ignore[attr-defined]
    assert set(ours) == {"X", "W1", "b1", "W2", "b2", "W3", "b3"}
    theirs = _autodiff_gradients(module, framework, values)
    for name, value in ours.items():
        np.testing.assert_allclose(value, theirs[name], atol=1e-10)


def _autodiff_gradients(module: object, framework: str, values: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The same MLP loss differentiated by the framework's own autodiff, float64."""
    names = ["X", "W1", "b1", "W2", "b2", "W3", "b3"]

    def loss(xp: Any, sigmoid: Any, relu: Any, log_softmax: Any, labels: Any, *args: Any) -> Any:
        X, W1, b1, W2, b2, W3, b3 = args
        h1 = xp.tanh(X @ W1 + b1)
        h2 = relu(h1 @ W2 + b2)
        return -(labels * log_softmax(sigmoid(h2 @ W3 + b3))).sum()

    if framework == "torch":
        import torch

        params = [torch.tensor(values[n], dtype=torch.float64, requires_grad=True) for n in names]
        labels = torch.tensor(values["Y"], dtype=torch.float64)
        loss(torch, torch.sigmoid, torch.relu, lambda t: torch.log_softmax(t, -1), labels, *params).backward()
        return {n: t.grad.numpy() for n, t in zip(names, params, strict=True)}
    import jax

    jax.config.update("jax_enable_x64", True)

    def f(*args: Any) -> Any:
        return loss(jax.numpy, jax.nn.sigmoid, jax.nn.relu, lambda t: jax.nn.log_softmax(t, -1), values["Y"], *args)

    grads = jax.grad(f, argnums=tuple(range(len(names))))(*(values[n] for n in names))
    return {n: np.asarray(g) for n, g in zip(names, grads, strict=True)}


def test_printed_size_of_deep_chain_gradient_grows_linearly() -> None:
    def printed(depth: int) -> int:
        (x,) = ec.tensors("x[n]")
        weights = ec.tensors(" ".join(f"W{k}[n,n]" for k in range(depth)))
        h: ec.Expr = x
        for k, W in enumerate(weights):
            h = ec.let(f"h{k}", ec.tanh(W @ h), adjoint=f"δ{k}")
        return len(ec.with_definitions(ec.grad(ec.sum(h), weights[0])))

    small, large = printed(5), printed(20)
    assert large < 4.5 * small
