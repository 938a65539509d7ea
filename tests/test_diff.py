"""Differentiation: reference problems in index form, and every rule against finite differences."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import eincalc as ec
from eincalc.calculus.diff import jacobian_raw, vjp_raw
from eincalc.core.indices import Index
from eincalc.core.nodes import Apply, Const, Contract, Named, Tensor
from eincalc.numeric.evaluate import evaluate
from eincalc.testing import check_grad, check_jacobian, check_vjp, numeric_jacobian, random_values


def test_p1_jacobian_is_rank_three_delta_times_a() -> None:
    W, a = ec.tensors("W[m,n] a[n]")
    J = ec.jacobian(W @ a, W)
    assert str(J) == "δ[i,p] a[q]"
    assert J.shape == ("m", "m", "n")
    assert [k.name for k in J.free] == ["i", "p", "q"]


def test_p1_vjp_eliminates_the_delta() -> None:
    W, a, g = ec.tensors("W[m,n] a[n] g[m]")
    assert str(ec.vjp(W @ a, W, g)) == "g[p] a[q]"
    assert str(ec.vjp(W @ a, a, g)) == "W[i,p] g[i]"
    values = random_values(W @ a, {"m": 3, "n": 4}, seed=1) | {"g": np.arange(3.0)}
    assert check_vjp(W @ a, W, g, values) < 1e-8
    assert check_vjp(W @ a, a, g, values) < 1e-8
    np.testing.assert_allclose(evaluate(ec.vjp(W @ a, W, g), values), np.outer(values["g"], values["a"]))
    np.testing.assert_allclose(evaluate(ec.vjp(W @ a, a, g), values), values["W"].T @ values["g"])


def test_elementwise_jacobian_is_diagonal() -> None:
    (z,) = ec.tensors("z[n]")
    J = ec.jacobian(ec.sigmoid(z), z)
    assert str(J) == "(σ(z[i]) (1 - σ(z[i])) δ[i,p])[i,p]"
    values = random_values(J, {"n": 5}, seed=2)
    matrix = np.asarray(evaluate(J, values))
    assert np.count_nonzero(matrix - np.diag(np.diag(matrix))) == 0
    assert check_jacobian(ec.sigmoid(z), z, values) < 1e-8


def test_p4_sigmoid_gate_numbers() -> None:
    w, x, b = ec.tensors("w[n] x[n] b")
    f = ec.sigmoid(ec.dot(w, x) + b)
    values = {"w": np.array([2.0, -3.0]), "x": np.array([-1.0, -2.0]), "b": -3.0}
    assert float(evaluate(f, values)) == pytest.approx(0.7311, abs=1e-4)
    np.testing.assert_allclose(evaluate(ec.grad(f, x), values), [0.393, -0.590], atol=1e-3)
    np.testing.assert_allclose(evaluate(ec.grad(f, w), values), [-0.197, -0.393], atol=1e-3)
    assert float(evaluate(ec.grad(f, b), values)) == pytest.approx(0.197, abs=1e-3)
    # the bias weight's local gradient is 1: its gradient is σ'(s) itself, the gate's output named once
    assert str(ec.grad(f, b)) == "t1 (1 - t1)\n  where t1 = σ(w[i] x[i] + b)"


def test_a_summed_index_that_vanishes_counts_its_size_even_when_another_takes_its_name() -> None:
    """Σ_{k,i,j} δ[k,i] T[p,j] = size(m) Σ_j T[p,j]: the delta sums away an index no other factor has (a factor
    size(m)) while the product names its remaining summed index afresh, with the name the vanished one had."""
    (T,) = ec.tensors("T[n,m]")
    expr = ec.parse("(δ[k:m,i:m] T[p,j])[p]", T, Index("p", "n"))
    assert str(ec.simplify(expr)) == "(T[p,i] size(m))[p]"
    np.testing.assert_allclose(evaluate(ec.simplify(expr), {"T": np.ones((1, 3))}), [9.0])


def test_p5_least_squares() -> None:
    X, W, Y = ec.tensors("X[B,N] W[N,M] Y[B,M]")
    r = X @ W - Y
    L = ec.sum(r * r)
    values = random_values(L, {"B": 5, "N": 3, "M": 2}, seed=3)
    expected = 2 * values["X"].T @ (values["X"] @ values["W"] - values["Y"])
    np.testing.assert_allclose(evaluate(ec.grad(L, W), values), expected)
    assert check_grad(L, W, values) < 1e-6


def test_p7_trace_identities() -> None:
    A, X, B = ec.tensors("A[k,n] X[n,m] B[m,k]")
    values = random_values(ec.trace(A @ X @ B), {"k": 2, "n": 3, "m": 4}, seed=4)
    grad_axb = ec.grad(ec.trace(A @ X @ B), X)
    np.testing.assert_allclose(evaluate(grad_axb, values), values["A"].T @ values["B"].T)
    grad_xtx = ec.grad(ec.trace(X.T @ X), X)
    assert str(grad_xtx) == "2 X[p,q]"
    np.testing.assert_allclose(evaluate(grad_xtx, values), 2 * values["X"])


def test_quadratic_form_and_bilinear_form() -> None:
    x, A, a, b, X = ec.tensors("x[n] A[n,n] a[n] b[m] X[n,m]")
    values = random_values(x @ A @ x + a @ X @ b, {"n": 4, "m": 3}, seed=5)
    np.testing.assert_allclose(evaluate(ec.grad(x @ A @ x, x), values), (values["A"] + values["A"].T) @ values["x"])
    assert str(ec.grad(a @ X @ b, X)) == "a[p] b[q]"
    np.testing.assert_allclose(evaluate(ec.grad(a @ X @ b, X), values), np.outer(values["a"], values["b"]))


def test_gradient_of_a_sum_over_a_broadcast_counts_the_dimension() -> None:
    x, c = ec.tensors("x[n] c")
    assert str(ec.grad(ec.sum(x + c), c)) == "size(n)"
    assert float(evaluate(ec.grad(ec.sum(x + c), c), {}, dims={"n": 7})) == 7.0


def test_hessian_by_jacobian_of_gradient() -> None:
    x, A = ec.tensors("x[n] A[n,n]")
    H = ec.jacobian(ec.grad(x @ A @ x, x), x)
    values = random_values(H, {"n": 3}, seed=6)
    np.testing.assert_allclose(evaluate(H, values), values["A"] + values["A"].T)


def test_grad_requires_a_scalar() -> None:
    W, a = ec.tensors("W[m,n] a[n]")
    with pytest.raises(ec.IndexMismatch, match="grad needs a scalar"):
        ec.grad(W @ a, W)


def test_upstream_shape_is_checked() -> None:
    W, a = ec.tensors("W[m,n] a[n]")
    with pytest.raises(ec.ShapeError, match="upstream gradient"):
        ec.vjp(W @ a, W, a)


def test_wrt_must_be_a_declared_tensor() -> None:
    W, a = ec.tensors("W[m,n] a[n]")
    with pytest.raises(ec.UnsupportedError, match="declared tensor"):
        ec.grad(ec.sum(W @ a), W @ a)


def test_forward_and_reverse_agree_symbolically_after_contraction() -> None:
    W, a, g = ec.tensors("W[m,n] a[n] g[m]")
    z = ec.tanh(W @ ec.sigmoid(a)) * (W @ a)
    values = random_values(z + g, {"m": 3, "n": 2}, seed=7)
    reverse = evaluate(vjp_raw(z, a, g), values)
    forward = np.tensordot(values["g"], evaluate(jacobian_raw(z, a), values), axes=1)
    np.testing.assert_allclose(reverse, forward)


# -- every element-wise rule against finite differences ------------------------------------

FUNCTIONS = ["sigmoid", "tanh", "exp", "log", "relu", "sqrt", "abs", "softplus", "sin", "cos", "tan"]


@pytest.mark.parametrize("name", FUNCTIONS)
def test_each_function_derivative_matches_finite_differences(name: str) -> None:
    (x,) = ec.tensors("x[n]")
    f = getattr(ec, name)
    values = {"x": np.array([0.3, 0.7, 1.9, 2.6])}  # positive and away from kinks
    assert check_jacobian(f(x), x, values) < 1e-7


@pytest.mark.parametrize("exponent", [2, 3, -1, 0.5, -2.5, 1])
def test_power_rule(exponent: float) -> None:
    (x,) = ec.tensors("x[n]")
    assert check_jacobian(x**exponent, x, {"x": np.array([0.4, 1.3, 2.2])}) < 1e-6


def test_tan_has_the_derivative_one_plus_tan_squared_and_prints_in_every_view() -> None:
    (x,) = ec.tensors("x[n]")
    assert str(ec.jacobian(ec.tan(x), x)) == "((1 + tan(x[i])**2) δ[i,p])[i,p]"
    form = ec.to_matrix(ec.grad(ec.sum(ec.tan(x)), x))
    assert (form.text, form.latex, form.numpy) == (
        "1 + tan(x)²",
        r"1 + \tan\left(x\right)^{2}",
        "1.0 + np.tan(x) ** 2.0",
    )
    assert ec.tan(x).latex() == r"\tan\left(x_{i}\right)" and ec.parse("tan(x[i])", x) == ec.tan(x)
    values = {"x": np.array([-1.2, 0.3, 1.4])}  # both sides of 0, and near (not at) the pole at π/2
    np.testing.assert_allclose(ec.evaluate(ec.tan(x), values), np.tan(values["x"]))
    np.testing.assert_allclose(form.evaluate(values), 1 / np.cos(values["x"]) ** 2)
    assert check_jacobian(ec.grad(ec.sum(ec.tan(x)), x), x, values) < 1e-6  # the second derivative too


def test_square_and_division() -> None:
    x, y = ec.tensors("x[n] y[n]")
    values = {"x": np.array([0.5, -1.5]), "y": np.array([1.5, 2.0])}
    assert check_jacobian(ec.square(x), x, values) < 1e-7
    assert check_jacobian(x / y, y, values) < 1e-7


# -- random shapes ----------------------------------------------------------------------------

sizes = st.fixed_dictionaries({"m": st.integers(1, 4), "n": st.integers(1, 4), "k": st.integers(1, 3)})


@settings(max_examples=25, deadline=None)
@given(sizes=sizes, seed=st.integers(0, 2**16))
def test_random_shapes_mlp_layer(sizes: dict[str, int], seed: int) -> None:
    W, a, b, g, V = ec.tensors("W[m,n] a[n] b[m] g[k] V[k,m]")
    out = V @ ec.tanh(W @ a + b)
    values = random_values(out + g, sizes, seed=seed)
    for wrt in (W, a, b, V):
        assert check_vjp(out, wrt, g, values) < 1e-6
        assert check_jacobian(out, wrt, values) < 1e-6


@settings(max_examples=25, deadline=None)
@given(sizes=sizes, seed=st.integers(0, 2**16))
def test_random_shapes_matrix_products(sizes: dict[str, int], seed: int) -> None:
    A, B, C = ec.tensors("A[m,n] B[n,k] C[k,m]")
    L = ec.trace(A @ B @ C) + ec.sum((A @ B) * (C.T)) + ec.sum(ec.exp(A) @ B)
    values = random_values(L, sizes, seed=seed)
    for wrt in (A, B, C):
        assert check_grad(L, wrt, values) < 1e-6


def test_numeric_jacobian_shape() -> None:
    W, a = ec.tensors("W[m,n] a[n]")
    values = random_values(W @ a, {"m": 2, "n": 3}, seed=0)
    assert numeric_jacobian(W @ a, W, values).shape == (2, 2, 3)


def test_many_variables_come_from_one_reverse_pass_in_order() -> None:
    x, y, W1, b1, W2 = ec.tensors("x[n] y[m] W1[k,n] b1[k] W2[m,k]")
    loss = ec.sum((W2 @ ec.tanh(W1 @ x + b1) - y) ** 2)
    together = ec.grad(loss, [W1, b1, W2])
    assert isinstance(together, list) and together == [ec.grad(loss, v) for v in (W1, b1, W2)]
    (upstream,) = ec.tensors("g[m]")
    z = W2 @ ec.tanh(W1 @ x)
    assert ec.vjp(z, (x, W1), upstream) == [ec.vjp(z, x, upstream), ec.vjp(z, W1, upstream)]


# -- powers whose exponent is an expression -----------------------------------------------------------

X, T, t, u = ec.tensors("X[m,n] T[m,n] t[n] u[n]")
TENSOR_POWERS = {
    "x ** t": u**t,
    "matrix ** vector (broadcast)": X**t,
    "vector ** matrix (broadcast)": u**T,
    "x[i] ** t[j] (outer)": u["i"] ** t["j"],
    "2 ** t": 2**t,
    "(W @ a) ** t": (X.T @ ec.sigmoid(X @ u)) ** t,
    "x ** (t u)": u ** (t * u + 1),
    "a tower": u ** (u**t),
}


@pytest.mark.parametrize("name", TENSOR_POWERS)
def test_tensor_exponent_rules_match_finite_differences(name: str) -> None:
    """∂(xᵗ)/∂x = t x^(t−1) and ∂(xᵗ)/∂t = log(x) xᵗ, through broadcasting, and their second derivatives."""
    power = TENSOR_POWERS[name]
    values = random_values(power, {"m": 2, "n": 3}, seed=3, positive=("u", "X"))
    scalar = ec.sum(ec.sin(power))
    for wrt in (X, T, t, u):
        if wrt.spec.name in values:
            assert check_jacobian(power, wrt, values) < 1e-6, wrt
            assert check_grad(scalar, wrt, values) < 1e-6, wrt
            assert check_jacobian(ec.grad(scalar, wrt), wrt, values) < 1e-5, wrt


def test_a_tensor_exponent_prints_as_a_power_and_reads_back() -> None:
    values = random_values(u**t + X**t, {"m": 2, "n": 3}, seed=4, positive=("u", "X"))
    assert (str(u**t), (u**t).latex()) == ("u[i]**t[i]", "u_{i}^{t_{i}}")
    assert str(ec.grad(ec.sum(u**t), t)) == "(log(u[p]) u[p]**t[p])[p]"
    assert str(ec.grad(ec.sum(u**t), u)) == "(t[p] u[p]**(t[p] - 1))[p]"
    for expr in TENSOR_POWERS.values():
        for shown in (expr, ec.grad(ec.sum(expr), t)):
            back = ec.parse(str(shown), X, T, t, u, *shown.free)
            assert back == shown, str(shown)
    form = ec.to_matrix(ec.grad(ec.sum(u**t), u))
    assert (form.text, form.numpy) == ("t ⊙ u^(t − 1)", "t * np.power(u, t - 1.0)")
    np.testing.assert_allclose(form.evaluate(values), values["t"] * values["u"] ** (values["t"] - 1))
    np.testing.assert_allclose(ec.to_matrix(X**T).evaluate(values | {"T": values["X"]}), values["X"] ** values["X"])
    namespace: dict[str, object] = {}
    exec(ec.codegen(X**t), namespace)  # eincalc's own generated source, run as a user would
    np.testing.assert_allclose(
        namespace["compute"](t=values["t"], X=values["X"]),  # type: ignore[operator]
        values["X"] ** values["t"],
    )


def test_a_tensor_exponent_needs_a_positive_base() -> None:
    with pytest.raises(ec.DomainError, match=r"\(-2\) \*\* t\[i\]: .* needs a positive base"):
        (-2) ** t
    with pytest.raises(ec.DomainError, match="positive base"):
        0**t
    with np.errstate(invalid="ignore"):  # where the base is negative the value is NumPy's: nan, as log gives
        value = ec.evaluate(u**t, {"u": np.array([-2.0, 2.0, 0.0]), "t": np.array([0.5, 0.5, 2.0])})
    np.testing.assert_allclose(value, [np.nan, np.sqrt(2.0), 0.0])


def test_an_exponent_that_simplifies_to_a_number_is_the_power_function() -> None:
    assert str(ec.simplify(u ** (t - t + 3))) == "u[i]**3"


def test_a_reciprocal_under_a_summed_index_is_not_renamed_into_capture() -> None:
    """``h4[a] = Σ_i h2[i,a] A[i,i,a]`` with ``h2 = (−A[i,i,a])⁻¹``: the reciprocal's base found inside h4 carries the
    summed i, so it cannot cancel with a factor outside (renaming it to h4's indices gave A[i,i,i]: IndexMismatch)."""
    (A,) = ec.tensors("A[m,m,n]")
    i, a = Index("i", "m"), Index("a", "n")
    diagonal = Tensor(A.spec, (i, i, a))
    h2 = Named("h2", Apply("pow", Contract((Const(-1.0), diagonal), (i, a)), -1.0), (i, a), "dh2")
    h4 = Named("h4", Contract((h2, diagonal), (a,)), (a,), "dh4")
    values = {"A": np.random.default_rng(0).uniform(0.5, 1.5, (2, 2, 3))}
    assert ec.check_grad(ec.sum(h4), A, values) < 1e-6
