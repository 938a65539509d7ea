"""Matrix functions (inverse, determinant, log-determinant), norms, diagonals, Kronecker products,
matrix powers, and the convention for symmetric matrices."""

from __future__ import annotations

import numpy as np
import pytest

import eincalc as ec
from eincalc.core.expr import Expr
from eincalc.core.indices import Index
from eincalc.core.names import canonical
from eincalc.core.nodes import Tensor
from eincalc.core.traversal import walk
from eincalc.ops.linalg import MatrixFunction
from eincalc.testing import check_grad, check_jacobian, check_vjp, random_values

SIZES = {"n": 4, "m": 3}


def conditioned(expr: Expr, seed: int = 0, spd: tuple[str, ...] = ()) -> dict[str, np.ndarray]:
    """Random values with every square matrix pushed away from singular (SPD for the names in ``spd``)."""
    values = random_values(expr, SIZES, seed=seed)
    for name, value in values.items():
        if value.ndim == 2 and value.shape[0] == value.shape[1]:
            value = value @ value.T if name in spd else value
            values[name] = value + value.shape[0] * np.eye(value.shape[0])
    return values


X, A, B, x, g = ec.tensors("X[n,n] A[n,n] B[n,n] x[n] g[n]")


@pytest.mark.parametrize(
    "expr",
    [ec.inv(X), ec.inv(X @ A), ec.inv(X).T, A @ ec.inv(X) @ B, ec.inv(ec.inv(X) + A)],
    ids=str,
)
def test_inverse_jacobian_and_vjp_match_finite_differences(expr: Expr) -> None:
    upstream = ec.tensors("G[n,n]")[0]
    values = conditioned(expr, seed=1) | {"G": np.random.default_rng(2).standard_normal((4, 4))}
    assert check_jacobian(expr, X, values) < 1e-6
    assert check_vjp(expr, X, upstream, values) < 1e-6


@pytest.mark.parametrize(
    "scalar",
    [
        ec.det(X),
        ec.logdet(X),
        ec.det(A @ X @ B),
        ec.logdet(X @ X),
        ec.trace(ec.inv(X)),
        ec.det(ec.inv(X)),
        ec.exp(ec.logdet(X)),
        ec.log(ec.det(X)),
        x @ ec.inv(X) @ x,
        ec.logdet(X) * ec.det(X),
    ],
    ids=str,
)
def test_scalar_matrix_functions_gradient_and_jacobian(scalar: Expr) -> None:
    values = conditioned(scalar, seed=3)
    assert check_grad(scalar, X, values) < 1e-5 * max(1.0, abs(float(ec.evaluate(scalar, values))))
    assert check_jacobian(scalar, X, values) < 1e-5 * max(1.0, abs(float(ec.evaluate(scalar, values))))


def test_logdet_gradient_is_the_inverse_transpose_not_zero() -> None:
    gradient = ec.grad(ec.logdet(X), X)
    values = conditioned(gradient, seed=4)
    assert ec.to_matrix(gradient).text == "X⁻ᵀ"
    np.testing.assert_allclose(ec.evaluate(gradient, values), np.linalg.inv(values["X"]).T, atol=1e-12)
    assert np.abs(ec.evaluate(gradient, values)).max() > 0.01


def test_log_of_det_simplifies_to_the_same_gradient() -> None:
    assert canonical(ec.grad(ec.log(ec.det(X)), X)) == canonical(ec.grad(ec.logdet(X), X))


def test_powers_of_one_scalar_merge_only_where_that_is_exact() -> None:
    u = ec.tensors("a[n]")[0] @ x
    values = {"a": -np.ones(4), "x": np.ones(4)}  # u = −4
    assert str(ec.simplify(ec.sqrt(u) * u**-1.5)) == "(a[i] x[i])**(-1)"
    sign = ec.simplify(ec.sqrt(u**2) * u**-1)  # |u| / u: not 1
    assert float(ec.evaluate(sign, values)) == -1.0
    assert float(ec.evaluate(ec.simplify(ec.sqrt(u) ** 4 * u**-2), values)) == 1.0


def test_logdet_is_log_of_absolute_determinant() -> None:
    values = {"X": np.diag([-2.0, 1.0, 1.0, 1.0])}
    assert float(ec.evaluate(ec.logdet(X), values)) == pytest.approx(np.log(2.0))
    assert float(ec.evaluate(ec.det(X), values)) == pytest.approx(-2.0)


def test_matrix_views_of_matrix_functions() -> None:
    views = {
        ec.grad(ec.det(X), X): "det(X) X⁻ᵀ",
        ec.grad(x @ ec.inv(X) @ g, X): "−X⁻ᵀ x gᵀ X⁻ᵀ",
        ec.grad(ec.trace(A @ ec.inv(X) @ B), X): "−X⁻ᵀ Aᵀ Bᵀ X⁻ᵀ",
        ec.inv(X) @ x: "X⁻¹ x",
    }
    for expr, text in views.items():
        form = ec.to_matrix(expr)
        assert form.text == text
        values = conditioned(expr, seed=5)
        np.testing.assert_allclose(form.evaluate(values), ec.evaluate(expr, values), atol=1e-10)
        assert "np.linalg.inv" in form.numpy


def test_latex_of_matrix_functions() -> None:
    assert ec.to_matrix(ec.grad(ec.logdet(X), X)).latex == r"X^{-\top}"
    assert ec.logdet(X).latex() == r"\log\left|\det\left(X_{ij}\right)\right|"
    assert ec.inv(X)["p", "q"].latex() == r"\left[\left(X_{ij}\right)^{-1}\right]_{pq}"


@pytest.mark.parametrize(
    "expr",
    [
        ec.inv(X),
        ec.det(X @ A),
        ec.logdet(X),
        ec.trace(ec.inv(X)),
        ec.inv(X) @ x,
        ec.inv(X)["p", "q"],
        ec.grad(ec.trace(ec.inv(X)), X),
    ],
    ids=str,
)
def test_text_parses_back(expr: Expr) -> None:
    back = ec.parse(str(expr), X, A, x, Index("i", "n"))
    assert canonical(ec.simplify(back)) == canonical(ec.simplify(expr))


def test_diagonal_of_an_inverse_is_read_and_evaluated() -> None:
    trace = ec.simplify(ec.trace(ec.inv(X)))
    values = conditioned(trace)
    assert any(isinstance(sub, MatrixFunction) and len(sub.free) == 1 for sub in walk(trace))
    assert float(ec.evaluate(trace, values)) == pytest.approx(np.trace(np.linalg.inv(values["X"])))
    assert ec.to_matrix(trace).text == "tr(X⁻¹)"


def test_diagonal_of_an_inverse_differentiates_both_ways() -> None:
    diagonal = ec.simplify(ec.diagonal(ec.inv(X)))
    values = conditioned(diagonal, seed=2) | {"g": np.arange(4.0)}
    assert check_jacobian(diagonal, X, values) < 1e-6
    assert check_vjp(diagonal, X, g, values) < 1e-6
    assert check_grad(ec.simplify(ec.trace(ec.inv(X))), X, values) < 1e-6


def test_bad_operands_are_reported() -> None:
    with pytest.raises(ec.ShapeError, match="square matrix"):
        ec.inv(ec.tensors("W[m,n]")[0])
    with pytest.raises(ec.ShapeError, match="square matrix"):
        ec.det(x)
    with pytest.raises(ec.ShapeError, match="frobenius"):
        ec.norm(X)
    with pytest.raises(ec.IndexMismatch, match="matrix-style"):
        ec.diag(x["i"])
    with pytest.raises(ec.UnsupportedError, match="integer"):
        ec.matrix_power(X, 1.5)  # type: ignore[arg-type]
    with pytest.raises(ec.EincalcError, match="invertible"):
        ec.evaluate(ec.inv(X), {"X": np.zeros((3, 3))})
    with pytest.raises(ec.UnsupportedError, match="integer"):
        ec.parse("matrix_power(X, 0.5)", X)


# -- norms, diagonals, Kronecker products, powers, division, scalar functions -------------------


@pytest.mark.parametrize(
    ("scalar", "wrt", "closed_form"),
    [
        (ec.norm(x), x, lambda v: v["x"] / np.linalg.norm(v["x"])),
        (ec.frobenius(X), X, lambda v: v["X"] / np.linalg.norm(v["X"])),
        (ec.sum(ec.diag(x) @ A), x, lambda v: v["A"].sum(axis=1)),
        (ec.diagonal(A @ X) @ g, X, lambda v: v["A"].T * v["g"]),
        (ec.trace(ec.matrix_power(X, 3)), X, lambda v: 3 * np.linalg.matrix_power(v["X"], 2).T),
        (ec.trace(ec.matrix_power(X, 4)), X, lambda v: 4 * np.linalg.matrix_power(v["X"], 3).T),  # X² X², squared
        (ec.trace(ec.matrix_power(X, -1)), X, lambda v: -np.linalg.matrix_power(np.linalg.inv(v["X"]), 2).T),
        (ec.sum(x / g), g, lambda v: -v["x"] / v["g"] ** 2),
        (ec.exp(ec.norm(x)), x, lambda v: np.exp(np.linalg.norm(v["x"])) * v["x"] / np.linalg.norm(v["x"])),
        (
            ec.sin(x @ g) * ec.sqrt(ec.det(X)),
            x,
            lambda v: np.cos(v["x"] @ v["g"]) * np.sqrt(np.linalg.det(v["X"])) * v["g"],
        ),
    ],
    ids=lambda p: str(p) if isinstance(p, Expr) else "",
)
def test_builders_differentiate_to_their_closed_forms(scalar: Expr, wrt: Tensor, closed_form: object) -> None:
    values = conditioned(scalar, seed=6)
    values["g"] = np.abs(values.get("g", np.ones(4))) + 0.5
    gradient = ec.grad(scalar, wrt)
    assert callable(closed_form)
    np.testing.assert_allclose(ec.evaluate(gradient, values), closed_form(values), rtol=1e-9, atol=1e-9)
    assert check_grad(scalar, wrt, values) < 1e-5


P, Q, u, v = ec.tensors("P[m,n] Q[k,l] u[m] v[n]")
s, M = ec.tensors("s[m] M[m,n]")


def test_kron_matches_numpy_after_reshaping() -> None:
    sizes = {"m": 2, "n": 3, "k": 4, "l": 5}
    values = random_values(ec.kron(P, Q), sizes, seed=0) | random_values(ec.kron(u, v), sizes, seed=1)
    assert ec.kron(P, Q).shape == ("m", "k", "n", "l")
    np.testing.assert_allclose(ec.evaluate(ec.kron(P, Q), values).reshape(8, 15), np.kron(values["P"], values["Q"]))
    np.testing.assert_allclose(ec.evaluate(ec.kron(u, v), values).reshape(6), np.kron(values["u"], values["v"]))
    assert ec.to_matrix(ec.kron(u, v)).text == "u vᵀ"


def test_matrix_power_zero_is_the_identity() -> None:
    values = {"X": np.arange(16.0).reshape(4, 4)}
    np.testing.assert_allclose(ec.evaluate(ec.matrix_power(X, 0), values, dims={"n": 4}), np.eye(4))
    np.testing.assert_allclose(ec.evaluate(ec.matrix_power(X, 2), values), values["X"] @ values["X"])


def test_diag_is_read_as_diag_and_never_formed_in_numpy_code() -> None:
    product = M.T @ ec.diag(s) @ M
    form = ec.to_matrix(product)
    values = random_values(product, SIZES, seed=0)
    assert form.text == "Mᵀ diag(s) M"
    assert "np.diag" not in form.numpy
    expected = values["M"].T @ np.diag(values["s"]) @ values["M"]
    np.testing.assert_allclose(form.evaluate(values), expected, atol=1e-12)
    np.testing.assert_allclose(ec.evaluate(product, values), expected, atol=1e-12)


# -- symmetric matrices -------------------------------------------------------------------------

S, C, y = ec.tensors("S[n,n] C[n,n] y[n]", symmetric="S")


def _symmetric_direction(seed: int) -> np.ndarray:
    v = np.random.default_rng(seed).standard_normal((4, 4))
    return v + v.T


def test_symmetric_gradient_is_the_frobenius_gradient_on_symmetric_matrices() -> None:
    f = ec.trace(C @ S) + ec.logdet(S) + y @ S @ S @ y
    gradient = ec.grad(f, S)
    values = conditioned(f, seed=7, spd=("S",))
    nabla = ec.evaluate(gradient, values)
    np.testing.assert_allclose(nabla, nabla.T, atol=1e-12)  # the gradient is symmetric
    for seed in range(3):  # f(S + εV) − f(S − εV) ≈ 2ε ⟨∇f, V⟩ for every symmetric V
        direction, eps = _symmetric_direction(seed), 1e-6
        plus = dict(values, S=values["S"] + eps * direction)
        minus = dict(values, S=values["S"] - eps * direction)
        slope = (float(ec.evaluate(f, plus)) - float(ec.evaluate(f, minus))) / (2 * eps)
        assert slope == pytest.approx(float(np.sum(nabla * direction)), rel=1e-6)
    # Unconstrained gradient of tr(CS) would be Cᵀ; on symmetric matrices it is sym(C).
    trace_gradient = ec.evaluate(ec.grad(ec.trace(C @ S), S), values)
    np.testing.assert_allclose(trace_gradient, (values["C"] + values["C"].T) / 2, atol=1e-12)


def test_derivative_with_respect_to_independent_entries_is_two_grad_minus_diag() -> None:
    f = ec.logdet(S) + y @ S @ y
    values = conditioned(f, seed=8, spd=("S",))
    nabla = ec.evaluate(ec.grad(f, S), values)
    eps, upper = 1e-6, np.zeros((4, 4))
    for i, j in zip(*np.triu_indices(4), strict=True):
        bump = np.zeros((4, 4))
        bump[i, j] = bump[j, i] = eps  # moving the independent entry S[i,j] moves both copies
        plus, minus = dict(values, S=values["S"] + bump), dict(values, S=values["S"] - bump)
        upper[i, j] = (float(ec.evaluate(f, plus)) - float(ec.evaluate(f, minus))) / (2 * eps)
    np.testing.assert_allclose(upper, np.triu(2 * nabla - np.diag(np.diag(nabla))), atol=1e-5)


def test_simplification_uses_symmetry() -> None:
    assert ec.to_matrix(ec.grad(y @ S @ y, y)).text == "2 S y"
    assert ec.to_matrix(ec.grad(ec.logdet(S), S)).text == "S⁻¹"
    assert ec.to_matrix(ec.grad(ec.trace(S @ S), S)).text == "2 S"
    i, j = ec.indices("i j")
    assert canonical(ec.simplify(S[i, j] * y[i] - S[j, i] * y[i])) == canonical(ec.simplify(0 * S[i, j] * y[i]))


def test_hessian_with_respect_to_a_symmetric_matrix_acts_on_symmetric_directions() -> None:
    f = ec.logdet(S)
    values = conditioned(f, seed=9, spd=("S",))
    hess = ec.evaluate(ec.hessian(f, S), values)
    inverse = np.linalg.inv(values["S"])
    left, right = _symmetric_direction(1), _symmetric_direction(2)
    second = -np.trace(inverse @ left @ inverse @ right)  # d² logdet S [V, W] = −tr(S⁻¹ V S⁻¹ W)
    assert np.einsum("pq,pqrs,rs->", left, hess, right) == pytest.approx(second)


def test_matrix_functions_evaluate_natively_on_pytorch_tensors() -> None:
    torch = pytest.importorskip("torch")
    gradient = ec.grad(ec.logdet(X) + x @ ec.inv(X) @ x + ec.det(X), X)
    values = conditioned(gradient, seed=10)
    result = ec.evaluate(gradient, {name: torch.tensor(value) for name, value in values.items()})
    assert isinstance(result, torch.Tensor)
    np.testing.assert_allclose(result.numpy(), ec.evaluate(gradient, values), atol=1e-12)


def test_a_swapped_inverse_keeps_its_inner_sum_apart_from_the_body_indices() -> None:
    """Relabelling a matrix function's body for printing must not re-canonicalise the display tree's sums."""
    from eincalc.core.indices import Index, TensorSpec
    from eincalc.core.nodes import Add, Apply, Const, Contract, Delta, One, Tensor, Zero
    from eincalc.ops.linalg import MatrixFunction

    C = TensorSpec("C", ("m",))
    i, j, summed = Index("i", "m"), Index("j", "m"), Index("j", "n")
    inner = Contract((Tensor(C, (i,)), Apply("sigmoid", Zero((i, summed)))), (i,))
    body = Add((Contract((inner, One(j)), (i, j)), Contract((Const(1.5), Delta(i, j)), (i, j))), (i, j))
    text = str(MatrixFunction("inv", body, (j, i)))
    assert text == "inv((C[j] σ(0[j,k:n]))[j] 1[i] + 1.5 δ[j,i])"  # k, not the i that is free here
