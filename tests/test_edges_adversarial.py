"""Numbers at the edges, from an adversarial review: what eincalc computes where a silent wrong number could hide."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose

import eincalc as ec
from eincalc.testing import check_grad, numeric_jacobian, random_values

# -- arrays that break what their tensor is declared to be -------------------------------------------------------


@pytest.mark.parametrize("run", ["evaluate", "compile"])
def test_a_symmetric_tensor_given_an_asymmetric_array_is_refused_not_read_as_symmetric(run: str) -> None:
    (S,) = ec.tensors("S[n,n]", symmetric="S")
    difference = ec.sum(S - S.T)  # the simplifier may use Sᵀ = S: it was 0 here, NumPy says 2
    asymmetric = np.array([[1.0, 2.0], [0.0, 1.0]])
    with pytest.raises(ec.DomainError, match=r"S is declared symmetric but \|S − Sᵀ\| reaches 2"):
        ec.evaluate(difference, {"S": asymmetric}) if run == "evaluate" else ec.compile(difference)(S=asymmetric)


@pytest.mark.parametrize("run", ["evaluate", "compile"])
def test_labels_declared_on_the_simplex_that_do_not_sum_to_one_are_refused(run: str) -> None:
    theta, y = ec.tensors("θ[c] y[c]", simplex="y")
    gradient = ec.grad(ec.cross_entropy(theta, y), theta)  # softmax(θ) − y holds only where Σ y = 1
    values = {"θ": np.array([1.0, 2.0, 3.0]), "y": np.array([1.0, 1.0, 0.0])}
    with pytest.raises(ec.DomainError, match="y is declared on the simplex but its entries sum to 2, not 1"):
        ec.evaluate(gradient, values) if run == "evaluate" else ec.compile(gradient)(values)


def test_a_batch_of_labels_is_checked_row_by_row() -> None:
    theta, Y = ec.tensors("Θ[b,c] Y[b,c]", simplex="Y")
    loss = ec.cross_entropy(theta, Y, axis=1)
    labels = np.array([[0.0, 1.0], [0.5, 0.25]])
    with pytest.raises(ec.DomainError, match=r"sum to 0\.75, not 1"):
        ec.evaluate(loss, {"Θ": np.zeros((2, 2)), "Y": labels})


def test_arrays_that_keep_the_declaration_within_rounding_are_accepted_in_any_precision() -> None:
    (S,) = ec.tensors("S[n,n]", symmetric="S")
    theta, Y = ec.tensors("Θ[b,c] Y[b,c]", simplex="Y")
    rng = np.random.default_rng(0)
    X, d = rng.standard_normal((50, 6)), rng.uniform(0.5, 2.0, 50)
    gram = X.T @ (d[:, None] * X)  # symmetric up to rounding only
    assert ec.evaluate(ec.logdet(S), {"S": gram}) == pytest.approx(np.linalg.slogdet(gram)[1])
    labels = rng.uniform(0.0, 1.0, (4, 1000)).astype(np.float32)
    labels /= labels.sum(axis=1, keepdims=True)  # float32 sums off by an ulp or so
    loss = ec.cross_entropy(theta, Y, axis=1)
    assert np.isfinite(ec.compile(loss)({"Θ": np.zeros((4, 1000), np.float32), "Y": labels}))


# -- finite differences keep what the variable is declared to be -------------------------------------------------


def test_finite_differences_for_a_symmetric_matrix_move_along_symmetric_matrices() -> None:
    (S,) = ec.tensors("S[n,n]", symmetric="S")
    (C,) = ec.tensors("C[n,n]")
    values = random_values(ec.sum(S * C), {"n": 3}, seed=1)
    numeric = numeric_jacobian(ec.sum(S * C), S, values)  # evaluated at symmetric points only
    assert np.allclose(numeric, (values["C"] + values["C"].T) / 2, atol=1e-8)
    assert check_grad(ec.logdet(S @ S), S, {"S": values["S"] + 3 * np.eye(3)}) < 1e-6


def test_a_gradient_with_respect_to_simplex_labels_is_checked_on_the_simplex() -> None:
    theta, y = ec.tensors("θ[c] y[c]", simplex="y")
    loss = ec.sum(y) * ec.sum(theta * y)  # Σ y = 1 simplifies the gradient to θ, which is right on the simplex
    values = random_values(loss, {"c": 4}, seed=2)
    assert check_grad(loss, y, values) < 1e-6
    step = ec.explain(loss, y).steps[-1]
    assert "agree" in step.reason


# -- every path computes a function the same way ----------------------------------------------------------------


def test_sigmoid_keeps_its_relative_precision_far_below_zero_on_every_path() -> None:
    (x,) = ec.tensors("x[n]")
    (c,) = ec.tensors("c")
    points = np.array([-700.0, -100.0, -40.0, -30.0, 0.0, 30.0, np.inf, -np.inf])
    with np.errstate(over="ignore"):
        expected = np.exp(np.minimum(points, 0)) / (1 + np.exp(-np.abs(points)))
    namespace: dict[str, object] = {}
    exec(ec.codegen(ec.sigmoid(x)), namespace)  # the generated NumPy text runs with NumPy alone
    with np.errstate(over="ignore"):
        generated = namespace["compute"](points)  # type: ignore[operator]
    compiled = ec.evaluate(ec.sigmoid(x), {"x": points})  # one float dtype: NumPy's in-place kernels
    general = ec.evaluate(c * ec.sigmoid(x), {"x": points, "c": np.float32(1)})  # mixed dtypes: the general path
    for value in (compiled, general, generated):
        assert_allclose(value, expected, rtol=1e-15, atol=0)
    log_sigmoid = c * ec.log(ec.sigmoid(x))  # 0.5 (1 + tanh(x/2)) rounded σ(−40) to 0, so this was −inf
    assert_allclose(ec.evaluate(log_sigmoid, {"x": np.array([-40.0]), "c": np.float32(1)}), [-40.0], rtol=1e-15)


# -- matrix functions at the edges ------------------------------------------------------------------------------


@pytest.mark.parametrize("where", [(0, 0), (1, 1)])
def test_the_inverse_of_a_matrix_with_a_nan_entry_is_nan_everywhere(where: tuple[int, int]) -> None:
    (A,) = ec.tensors("A[n,n]")
    matrix = np.array([[1.0, 1.0], [1.0, 2.0]])
    matrix[where] = np.nan  # LAPACK left the row that never met the NaN finite: (−1, 1) for (0, 0)
    for derived in (ec.inv(A), ec.grad(ec.logdet(A), A), ec.trace(ec.inv(A) @ A)):
        assert np.isnan(ec.evaluate(derived, {"A": matrix})).all()
        assert np.isnan(ec.compile(derived)(A=matrix)).all()


@pytest.mark.parametrize("dtype", [np.float16, np.longdouble])
def test_a_matrix_function_of_a_dtype_numpy_linalg_refuses_is_an_eincalc_error(dtype: type) -> None:
    (A,) = ec.tensors("A[n,n]")
    matrix = np.array([[2.0, 1.0], [1.0, 3.0]], dtype=dtype)
    for derived in (ec.inv(A), ec.det(A), ec.logdet(A), ec.grad(ec.logdet(A), A)):
        with pytest.raises(ec.UnsupportedError, match="linalg computes in float32 and float64 only"):
            ec.evaluate(derived, {"A": matrix})  # was NumPy's bare TypeError
        with pytest.raises(ec.UnsupportedError, match="convert the arrays first"):
            ec.compile(derived)(A=matrix)


# -- structured functions at infinity ---------------------------------------------------------------------------


def test_logsumexp_of_infinite_rows_is_what_logaddexp_says_not_nan() -> None:
    (X,) = ec.tensors("X[b,n]")
    rows = np.array([[-np.inf, -np.inf], [np.inf, 0.0], [np.inf, np.inf], [-np.inf, 1.0]])
    expected = np.logaddexp.reduce(rows, axis=1)  # −inf, inf, inf, 1: the shift by the row's maximum made NaN
    with np.errstate(divide="ignore"):  # log 0 for the row of −inf, as NumPy warns
        assert_allclose(ec.evaluate(ec.logsumexp(X, axis=1), {"X": rows}), expected)
        assert_allclose(ec.compile(ec.logsumexp(X, axis=1))(X=rows), expected)
