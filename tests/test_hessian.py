"""Hessians, Hessian-vector products and third derivatives, checked against finite differences of
the gradient (and against PyTorch or JAX when installed)."""

from __future__ import annotations

import numpy as np
import pytest

import eincalc as ec
from eincalc.calculus.hessian import describe
from eincalc.core.expr import Expr
from eincalc.core.nodes import Tensor
from eincalc.core.traversal import walk
from eincalc.testing import numeric_jacobian, random_values

x, v, a, A = ec.tensors("x[n] v[n] a[n] A[n,n]")
X, y, w, Y, W, V = ec.tensors("X[b,n] y[b] w[n] Y[b,m] W[n,m] V[n,m]")
M, U = ec.tensors("M[n,n] U[n,n]")
SIZES = {"n": 3, "b": 5, "m": 2}


def _values(expr: Expr, seed: int = 0) -> dict[str, np.ndarray]:
    values = random_values(expr, SIZES, seed=seed)
    if "M" in values:
        values["M"] = values["M"] + 3 * np.eye(3)
    return values


def _assert_hessian_matches_gradient_differences(f: Expr, wrt: Tensor, seed: int = 0) -> np.ndarray:
    values = _values(f, seed)
    symbolic = ec.evaluate(ec.hessian(f, wrt), values, dims=SIZES)
    numeric = numeric_jacobian(ec.grad(f, wrt), wrt, values)
    assert symbolic.shape == numeric.shape == tuple(SIZES[d] for d in wrt.spec.dims * 2)
    np.testing.assert_allclose(symbolic, numeric, atol=1e-6 * max(1.0, np.abs(numeric).max()))
    return symbolic


LOGISTIC = ec.sum(ec.softplus(-(y * (X @ w))))  # Σ_b log(1 + exp(−y_b x_b·w))


@pytest.mark.parametrize(
    ("f", "wrt"),
    [
        (x @ A @ x, x),
        (ec.sum((X @ w - y) ** 2), w),
        (LOGISTIC, w),
        (ec.binary_cross_entropy(X @ w, y), w),
        (ec.norm(x), x),
        (ec.exp(a @ x) + ec.sum(ec.tanh(A @ x)), x),
        (ec.logsumexp(A @ x), x),
        (ec.sum((X @ W - Y) ** 2), W),
        (ec.trace(M.T @ M), M),
        (ec.logdet(M), M),
        (ec.det(M), M),
        (ec.trace(ec.inv(M) @ U), M),
        (ec.frobenius(M @ U), M),
    ],
    ids=lambda p: str(p) if isinstance(p, Expr) and p.rank == 0 else "",
)
def test_hessian_matches_finite_differences_of_the_gradient(f: Expr, wrt: Tensor) -> None:
    hess = _assert_hessian_matches_gradient_differences(f, wrt)
    size = int(np.prod(hess.shape[: wrt.rank]))
    flat = hess.reshape(size, size)
    np.testing.assert_allclose(flat, flat.T, atol=1e-9)  # second derivatives commute


def test_quadratic_form_hessian_is_a_plus_a_transpose() -> None:
    hess = ec.hessian(x @ A @ x, x)
    form = ec.to_matrix(hess)
    values = _values(hess)
    assert form.text == "A + Aᵀ"
    np.testing.assert_allclose(form.evaluate(values), values["A"] + values["A"].T)


def test_least_squares_hessian_is_two_x_transpose_x() -> None:
    hess = ec.hessian(ec.sum((X @ w - y) ** 2), w)
    assert ec.to_matrix(hess).text == "2 Xᵀ X"
    values = _values(hess)
    np.testing.assert_allclose(ec.evaluate(hess, values), 2 * values["X"].T @ values["X"])


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-z))


def test_p6_logistic_hessian_is_x_transpose_diag_x_without_forming_diag() -> None:
    hess = ec.hessian(LOGISTIC, w)
    form = ec.to_matrix(hess)
    assert form.text == "Xᵀ diag(y ⊙ σ(−y ⊙ (X w)) ⊙ (1 − σ(−y ⊙ (X w))) ⊙ y) X"
    assert "np.diag" not in form.numpy and form.numpy.endswith(") @ X")
    values = _values(hess, seed=3)
    values["y"] = np.sign(values["y"])  # labels ±1, so y ⊙ y = 1 and σ(−t)(1 − σ(−t)) = p(1 − p)
    p = _sigmoid(values["y"] * (values["X"] @ values["w"]))
    expected = values["X"].T @ np.diag(p * (1 - p)) @ values["X"]
    np.testing.assert_allclose(form.evaluate(values), expected, atol=1e-12)
    np.testing.assert_allclose(ec.evaluate(hess, values), expected, atol=1e-12)


def test_logistic_hessian_with_zero_one_labels_is_the_textbook_form() -> None:
    hess = ec.hessian(ec.binary_cross_entropy(X @ w, y), w)
    assert ec.to_matrix(hess).text == "Xᵀ diag(σ(X w) ⊙ (1 − σ(X w))) X"


def test_rank_four_hessians_keep_index_form_and_state_their_shape() -> None:
    hess = ec.hessian(ec.sum((X @ W - Y) ** 2), W)
    assert hess.shape == ("n", "m", "n", "m")
    assert describe(hess) == f"{hess}: rank 4, shape n × m × n × m (no matrix form; ec.hvp gives H·V without forming H)"
    with pytest.raises(ec.NoMatrixForm):
        ec.to_matrix(hess)
    assert str(ec.hessian(ec.logdet(M), M)) == "-(inv(M[q,r]) inv(M[s,p]))[p,q,r,s]"
    # Evaluation contracts the factors directly: no sub-expression is larger than the result.
    assert max(sub.rank for sub in walk(hess)) <= 4


def _largest_rank(expr: Expr) -> int:
    return max(sub.rank for sub in walk(expr))


@pytest.mark.parametrize(
    ("f", "wrt", "direction"),
    [
        (x @ A @ x, x, v),
        (LOGISTIC, w, v),
        (ec.logdet(M), M, U),
        (ec.sum((X @ W - Y) ** 2), W, V),
        (ec.trace(ec.inv(M) @ U), M, U),
    ],
    ids=lambda p: str(p) if isinstance(p, Expr) and p.rank == 0 else "",
)
def test_hvp_equals_hessian_times_direction_without_forming_it(f: Expr, wrt: Tensor, direction: Tensor) -> None:
    product = ec.hvp(f, wrt, direction)
    values = _values(f + 0 * ec.sum(direction), seed=5)
    hess = ec.evaluate(ec.hessian(f, wrt), values, dims=SIZES)
    expected = np.tensordot(hess, values[direction.spec.name], axes=wrt.rank)
    np.testing.assert_allclose(ec.evaluate(product, values), expected, atol=1e-9)
    assert product.shape == wrt.shape
    assert _largest_rank(product) <= 2  # the Hessian (rank 2·rank(x)) never appears
    if wrt.rank == 2:
        assert _largest_rank(ec.hessian(f, wrt)) == 4


def test_hvp_of_logdet_in_matrix_form() -> None:
    assert ec.to_matrix(ec.hvp(ec.logdet(M), M, U)).text == "−M⁻ᵀ Uᵀ M⁻ᵀ"


@pytest.mark.parametrize(
    ("f", "wrt"),
    [(ec.sum(x**3), x), (ec.logdet(M), M), ((a @ x) * (x @ A @ x), x), (ec.sum(ec.tanh(A @ x)), x)],
    ids=lambda p: str(p) if isinstance(p, Expr) and p.rank == 0 else "",
)
def test_third_derivatives_are_jacobians_of_hessians(f: Expr, wrt: Tensor) -> None:
    third = ec.jacobian(ec.hessian(f, wrt), wrt)
    values = _values(f, seed=7)
    symbolic = ec.evaluate(third, values, dims=SIZES)
    numeric = numeric_jacobian(ec.hessian(f, wrt), wrt, values)
    assert third.rank == 3 * wrt.rank
    np.testing.assert_allclose(symbolic, numeric, atol=1e-5 * max(1.0, np.abs(numeric).max()))


def test_sum_of_cubes_third_derivative_is_six_on_the_diagonal() -> None:
    third = ec.evaluate(ec.jacobian(ec.hessian(ec.sum(x**3), x), x), {"x": np.ones(3)}, dims=SIZES)
    expected = np.zeros((3, 3, 3))
    for k in range(3):
        expected[k, k, k] = 6.0
    np.testing.assert_allclose(third, expected)


def test_bad_requests_are_reported() -> None:
    with pytest.raises(ec.IndexMismatch, match="scalar"):
        ec.hessian(A @ x, x)
    with pytest.raises(ec.ShapeError, match="shaped like the variable"):
        ec.hvp(x @ A @ x, x, ec.tensors("z[m]")[0])
    with pytest.raises(ec.UnsupportedError, match="declared tensor"):
        ec.hessian(x @ A @ x, A @ x)


# -- differential tests against autodiff frameworks (skipped when none is installed) ------------


def test_hessians_agree_with_pytorch() -> None:
    torch = pytest.importorskip("torch")
    f = LOGISTIC
    values = _values(f, seed=11)
    tensors = {k: torch.tensor(val, dtype=torch.float64) for k, val in values.items()}

    def loss(weights: object) -> object:
        return torch.nn.functional.softplus(-(tensors["y"] * (tensors["X"] @ weights))).sum()

    expected = torch.autograd.functional.hessian(loss, tensors["w"]).numpy()
    np.testing.assert_allclose(ec.evaluate(ec.hessian(f, w), values), expected, atol=1e-10)
    inverse = torch.autograd.functional.hessian(
        lambda m: torch.linalg.slogdet(m)[1], torch.tensor(_values(ec.logdet(M))["M"])
    ).numpy()
    np.testing.assert_allclose(ec.evaluate(ec.hessian(ec.logdet(M), M), _values(ec.logdet(M))), inverse, atol=1e-10)


def test_hessians_agree_with_jax() -> None:
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    jnp = jax.numpy
    f = x @ A @ x + ec.sum(ec.tanh(A @ x))
    values = _values(f, seed=12)
    matrix = jnp.asarray(values["A"])
    expected = jax.hessian(lambda t: t @ matrix @ t + jnp.sum(jnp.tanh(matrix @ t)))(jnp.asarray(values["x"]))
    np.testing.assert_allclose(ec.evaluate(ec.hessian(f, x), values), np.asarray(expected), atol=1e-10)
