"""ec.parse_matrix: matrix notation (the view's own and matrixcalculus.org's ASCII) read with strict matrix typing,
and every printed matrix form read back to the numbers of the index form it came from."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import eincalc as ec
from eincalc.cli import main
from eincalc.core.expr import Expr
from eincalc.core.nodes import Add, Contract, One, Tensor, Zero
from eincalc.frontend.parse import MAX_DEPTH, MAX_LENGTH
from eincalc.matrix.check import run_numpy
from eincalc.matrix.readback import ReadBack, reads_back
from eincalc.strategies import Problem, problems

W, W1, a, g, x, y, p = ec.tensors("W[m,n] W1[m,n] a[n] g[m] x[n] y[n] p[n]")
A, B, C, X, c = ec.tensors("A[n,n] B[n,n] C[n,n] X[n,n] c")
T3, S = ec.tensors("T[m,n,n] S[n,n]", symmetric="S")
DECLARED = (W, W1, a, g, x, y, p, A, B, C, X, c, T3, S)
SIZES = {"m": 3, "n": 4}


def _values() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(7)
    values = {t.spec.name: rng.uniform(-1, 1, [SIZES[d] for d in t.spec.dims]) for t in DECLARED}
    values["p"] = rng.uniform(0.5, 1.5, SIZES["n"])  # log, sqrt
    values["X"] = values["X"] + 4 * np.eye(SIZES["n"])  # invertible, det > 0
    values["S"] = values["S"] + values["S"].T
    return values


V = _values()


def sigmoid(v: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-v))


def softmax(v: np.ndarray, axis: int = -1) -> np.ndarray:
    e = np.exp(v - v.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def logsumexp(v: np.ndarray, axis: int | None = None) -> Any:
    return np.log(np.sum(np.exp(v), axis=axis))


inv, det = np.linalg.inv, np.linalg.det

# (text, NumPy reference) — every construct the matrix view prints, and matrixcalculus.org's ASCII syntax
VIEW: dict[str, Callable[[dict[str, Any]], Any]] = {
    "g aᵀ": lambda v: np.outer(v["g"], v["a"]),
    "Wᵀ g": lambda v: v["W"].T @ v["g"],
    "diag(x) − x xᵀ": lambda v: np.diag(v["x"]) - np.outer(v["x"], v["x"]),
    "X⁻ᵀ": lambda v: inv(v["X"]).T,
    "X⁻¹": lambda v: inv(v["X"]),
    "A ⊙ B": lambda v: v["A"] * v["B"],
    "A ⊘ X": lambda v: v["A"] / v["X"],
    "tr(A X B)": lambda v: np.trace(v["A"] @ v["X"] @ v["B"]),
    "tr(Aᵀ B)": lambda v: np.sum(v["A"] * v["B"]),
    "‖X‖_F": lambda v: np.linalg.norm(v["X"]),
    "‖x‖": lambda v: np.linalg.norm(v["x"]),
    "‖x‖₂": lambda v: np.linalg.norm(v["x"]),
    "‖x‖_1": lambda v: np.abs(v["x"]).sum(),
    "1ᵀ y": lambda v: v["y"].sum(),
    "1ᵀ W 1": lambda v: v["W"].sum(),
    "Wᵀ 1": lambda v: v["W"].sum(axis=0),
    "W − 1 xᵀ": lambda v: v["W"] - v["x"][None, :],
    "W − g 1ᵀ": lambda v: v["W"] - v["g"][:, None],
    "I − A": lambda v: np.eye(4) - v["A"],
    "2 c 1 xᵀ + W": lambda v: 2 * v["c"] * np.outer(np.ones(3), v["x"]) + v["W"],
    "σ(1) 1 + x − |0|": lambda v: sigmoid(1.0) + v["x"],
    "(1ᵀ y) σ(1) + (xᵀ 1) c": lambda v: v["y"].sum() * sigmoid(1.0) + v["x"].sum() * v["c"],
    "A I": lambda v: v["A"],
    "W₁ᵀ g − W_1ᵀ g + W1ᵀ g": lambda v: v["W1"].T @ v["g"],
    "−x": lambda v: -v["x"],
    "− − x": lambda v: v["x"],
    "x − y": lambda v: v["x"] - v["y"],
    "2 x − 0.5 y": lambda v: 2 * v["x"] - 0.5 * v["y"],
    "−2 A x": lambda v: -2 * v["A"] @ v["x"],
    "c x": lambda v: v["c"] * v["x"],
    "0.5 n W": lambda v: 2.0 * v["W"],
    "x / n": lambda v: v["x"] / 4,
    "x²": lambda v: v["x"] ** 2,
    "X∘²": lambda v: v["X"] ** 2,
    "X²": lambda v: v["X"] @ v["X"],
    "X⁻²": lambda v: inv(v["X"] @ v["X"]),
    "(p pᵀ)^∘0.5": lambda v: np.sqrt(np.outer(v["p"], v["p"])),
    "(xᵀ x)^-0.5 x": lambda v: v["x"] / np.linalg.norm(v["x"]),
    "X / ‖X‖_F": lambda v: v["X"] / np.linalg.norm(v["X"]),
    "tr(Xᵀ X)^-0.5 X": lambda v: v["X"] / np.linalg.norm(v["X"]),
    "σ(W x)": lambda v: sigmoid(v["W"] @ v["x"]),
    "σ(x) ⊙ (1 − σ(x))": lambda v: sigmoid(v["x"]) * (1 - sigmoid(v["x"])),
    "tanh(x) ⊙ exp(y) ⊙ relu(x) ⊙ abs(y)": lambda v: (
        np.tanh(v["x"]) * np.exp(v["y"]) * np.maximum(v["x"], 0) * np.abs(v["y"])
    ),
    "log(p) + sqrt(p) + softplus(x) + sin(x) + cos(x)": lambda v: (
        np.log(v["p"]) + np.sqrt(v["p"]) + np.logaddexp(0, v["x"]) + np.sin(v["x"]) + np.cos(v["x"])
    ),
    "(1 − tanh(A x)²) ⊙ step(x) ⊙ sign(y)": lambda v: (
        (1 - np.tanh(v["A"] @ v["x"]) ** 2) * (v["x"] > 0) * np.sign(v["y"])
    ),
    "softmax(x) − log_softmax(y)": lambda v: softmax(v["x"]) - np.log(softmax(v["y"])),
    "logsumexp(A x)": lambda v: logsumexp(v["A"] @ v["x"]),
    "softmax_rows(W) + softmax_cols(W) + log_softmax_rows(W)": lambda v: (
        softmax(v["W"], 1) + softmax(v["W"], 0) + np.log(softmax(v["W"], 1))
    ),
    "logsumexp_rows(W)": lambda v: logsumexp(v["W"], 1),
    "logsumexp_cols(W)": lambda v: logsumexp(v["W"], 0),
    "diag(softmax(x)) − softmax(x) softmax(x)ᵀ": lambda v: (
        np.diag(softmax(v["x"])) - np.outer(softmax(v["x"]), softmax(v["x"]))
    ),
    "det(X) X⁻ᵀ": lambda v: det(v["X"]) * inv(v["X"]).T,
    "log|det(X)|": lambda v: np.log(abs(det(v["X"]))),
    "−X⁻ᵀ Aᵀ X⁻ᵀ": lambda v: -inv(v["X"]).T @ v["A"].T @ inv(v["X"]).T,
    "diag(A) ⊙ x": lambda v: np.diag(v["A"]) * v["x"],
    "W diag(0) + diag(1) W": lambda v: v["W"],
    "Xᵀ diag(σ(X x) ⊙ (1 − σ(X x))) X": lambda v: (
        v["X"].T @ np.diag(sigmoid(v["X"] @ v["x"]) * (1 - sigmoid(v["X"] @ v["x"]))) @ v["X"]
    ),
    "S x + Sᵀ x": lambda v: 2 * v["S"] @ v["x"],
    "0 + x − 0": lambda v: v["x"],
    "a ⊙ h where h = σ(z), z = A x": lambda v: v["a"] * sigmoid(v["A"] @ v["x"]),
    "k + k where k = Wᵀ h₂; h₂ = g": lambda v: 2 * v["W"].T @ v["g"],
    "h\n  where h = Wᵀ h₂\n  where h₂ = σ(g)": lambda v: v["W"].T @ sigmoid(v["g"]),
    # matrixcalculus.org
    "x'*A*x": lambda v: v["x"] @ v["A"] @ v["x"],
    "0.5*x'*A*x": lambda v: 0.5 * v["x"] @ v["A"] @ v["x"],
    "A*exp(x)": lambda v: v["A"] @ np.exp(v["x"]),
    "(y.*x)'*a": lambda v: (v["y"] * v["x"]) @ v["a"],
    "norm2(A*x-y)^2": lambda v: np.sum((v["A"] @ v["x"] - v["y"]) ** 2),
    "norm1(A*x-y) + norm2(W) + norm1(W)": lambda v: (
        np.abs(v["A"] @ v["x"] - v["y"]).sum() + np.linalg.norm(v["W"]) + np.abs(v["W"]).sum()
    ),
    "sum(log(exp(-y.*(A*x)) + vector(1)))": lambda v: np.sum(np.log(np.exp(-v["y"] * (v["A"] @ v["x"])) + 1)),
    "tr(A*X'*B*X*C)": lambda v: np.trace(v["A"] @ v["X"].T @ v["B"] @ v["X"] @ v["C"]),
    "log(det(inv(X)))": lambda v: np.log(det(inv(v["X"]))),
    "logdet(X) + det(X)": lambda v: np.log(det(v["X"])) + det(v["X"]),
    "A.*B - A./X": lambda v: v["A"] * v["B"] - v["A"] / v["X"],
    "x.^3 + x.^2": lambda v: v["x"] ** 3 + v["x"] ** 2,
    "X^2 - X^-1 + X^0": lambda v: v["X"] @ v["X"] - inv(v["X"]) + np.eye(4),
    "sum(x) + sum(W) + trace(A)": lambda v: v["x"].sum() + v["W"].sum() + np.trace(v["A"]),
    "vector(3)'*x": lambda v: 3 * v["x"].sum(),
    "matrix(2) + A": lambda v: 2 + v["A"],
    "inv(X)*x": lambda v: inv(v["X"]) @ v["x"],
    "diag(x)*A - A*diag(x)": lambda v: np.diag(v["x"]) @ v["A"] - v["A"] @ np.diag(v["x"]),
    "x ⊙ y ./ p": lambda v: v["x"] * v["y"] / v["p"],
    "2.*x + 3./p + (x'*x) x + 1.5e-1 y": lambda v: 2 * v["x"] + 3 / v["p"] + (v["x"] @ v["x"]) * v["x"] + 0.15 * v["y"],
    "exp(x) ∘ y": lambda v: np.exp(v["x"]) * v["y"],
    "W @ x * 2 · 3": lambda v: 6 * v["W"] @ v["x"],
    "x**2": lambda v: v["x"] ** 2,
}


@pytest.mark.parametrize("text", VIEW)
def test_each_construct_reads_to_its_value(text: str) -> None:
    expr = ec.parse_matrix(text, *DECLARED)
    expected = np.asarray(VIEW[text](V), dtype=float)
    actual = np.asarray(ec.evaluate(expr, V), dtype=float)
    assert actual.shape == expected.shape, (text, str(expr))
    np.testing.assert_allclose(actual, expected, rtol=1e-10, atol=1e-12, err_msg=f"{text} read as {expr}")


ROWS = {
    "g W": lambda v: v["g"] @ v["W"],
    "x Aᵀ + y": lambda v: v["x"] @ v["A"].T + v["y"],
    "xᵀ y": lambda v: np.outer(v["x"], v["y"]),
    "x yᵀ": lambda v: v["x"] @ v["y"],
    "(σ(x) ⊙ (1 − σ(x))) W₁ᵀ": lambda v: (sigmoid(v["x"]) * (1 - sigmoid(v["x"]))) @ v["W1"].T,
    "1 − σ(g W)": lambda v: 1 - sigmoid(v["g"] @ v["W"]),
    "logsumexp_rows(W) + g": lambda v: logsumexp(v["W"], 1) + v["g"],
}


@pytest.mark.parametrize("text", ROWS)
def test_rows_read_vectors_as_rows(text: str) -> None:
    expr = ec.parse_matrix(text, *DECLARED, rows=True)
    np.testing.assert_allclose(ec.evaluate(expr, V), ROWS[text](V), rtol=1e-10, atol=1e-12)


def test_the_issue_example_and_its_gradient() -> None:
    xx, AA = ec.tensors("x[n] A[n,n]")
    f = ec.parse_matrix("x'*A*x", xx, AA)
    values = {"x": V["x"], "A": V["A"]}
    assert f.shape == ()
    np.testing.assert_allclose(ec.evaluate(f, values), V["x"] @ V["A"] @ V["x"])
    gradient = ec.grad(f, xx)
    np.testing.assert_allclose(ec.evaluate(gradient, values), (V["A"] + V["A"].T) @ V["x"])
    assert reads_back(ec.to_matrix(gradient), gradient, [xx, AA], values).passed


def test_the_result_is_an_ordinary_expression() -> None:
    """It equals what the builders make from the same operations."""
    assert ec.parse_matrix("Wᵀ g", *DECLARED) == W.T @ g
    assert ec.parse_matrix("σ(W x) ⊙ g", *DECLARED) == ec.sigmoid(W @ x) * g
    assert ec.parse_matrix("g aᵀ", *DECLARED) == ec.outer(g, a)


def test_named_intermediates_are_read_by_name() -> None:
    z = ec.let("z", W @ x)
    expr = ec.parse_matrix("σ(z) ⊙ g", z, *DECLARED)
    assert expr == ec.sigmoid(z) * g
    np.testing.assert_allclose(ec.evaluate(expr, V), sigmoid(V["W"] @ V["x"]) * V["g"])
    defined = ec.parse_matrix("σ(z) ⊙ g where z = W x", *DECLARED)
    assert defined == expr


def test_shape_fixes_a_lone_identity_or_ones() -> None:
    assert ec.evaluate(ec.parse_matrix("I", *DECLARED, shape=("n", "n")), V, dims=SIZES).shape == (4, 4)
    np.testing.assert_allclose(
        ec.evaluate(ec.parse_matrix("1 xᵀ", *DECLARED, shape=("m", "n")), V, dims=SIZES), np.outer(np.ones(3), V["x"])
    )
    assert ec.evaluate(ec.parse_matrix("0", *DECLARED, shape=("m",)), V, dims=SIZES).shape == (3,)
    constant = ec.parse_matrix("exp((c + 1) 1) 1", *DECLARED, shape=("n",))  # literals multiply element-wise
    np.testing.assert_allclose(ec.evaluate(constant, V, dims=SIZES), np.full(4, np.exp(V["c"] + 1)))
    with pytest.raises(ec.UnsupportedError, match=r"shape= takes dimension names, like \('m', 'n'\), not float"):
        ec.parse_matrix("I", *DECLARED, shape=2.0)


# -- errors ------------------------------------------------------------------------------------------------

ERRORS: dict[str, tuple[str, type[ec.EincalcError], str]] = {
    "matrix minus a vector": (
        "A − x",
        ec.ShapeError,
        "an n×n matrix minus an n-vector: the terms of a sum must have one shape (strict matrix typing never "
        "broadcasts); to repeat the vector, write x 1ᵀ (a copy in every column) or 1 xᵀ (a copy in every row)\n"
        "  A − x\n"
        "      ^",
    ),
    "matrix plus a vector of its row length": (
        "W + x",
        ec.ShapeError,
        "an m×n matrix plus an n-vector: the terms of a sum must have one shape (strict matrix typing never "
        "broadcasts); to repeat the vector, write 1 xᵀ (a copy in every row)\n"
        "  W + x\n"
        "      ^",
    ),
    "vector plus a scalar": (
        "x + c",
        ec.ShapeError,
        "an n-vector plus a scalar: the terms of a sum must have one shape (strict matrix typing never broadcasts); "
        "to repeat the scalar, write c 1\n"
        "  x + c\n"
        "      ^",
    ),
    "row plus column": (
        "xᵀ + y",
        ec.ShapeError,
        "a row n-vector plus an n-vector: the terms of a sum must have one shape (strict matrix typing never "
        "broadcasts); transpose one of them, like yᵀ\n"
        "  xᵀ + y\n"
        "       ^",
    ),
    "matrix plus its transpose's shape": (
        "W + Wᵀ",
        ec.ShapeError,
        "an m×n matrix plus an n×m matrix: the terms of a sum must have one shape (strict matrix typing never "
        "broadcasts); did you mean W?\n"
        "  W + Wᵀ\n"
        "      ^",
    ),
    "inner dimensions differ": (
        "Wᵀ x",
        ec.ShapeError,
        "the matrix product of an n×m matrix and an n-vector: inner dimensions m and n differ; did you mean W x?\n"
        "  Wᵀ x\n"
        "     ^",
    ),
    "two column vectors": (
        "x y",
        ec.ShapeError,
        "the matrix product of an n-vector and an n-vector is not defined; write xᵀ y for the inner product, x yᵀ "
        "for the outer product, or x ⊙ y element-wise\n"
        "  x y\n"
        "    ^",
    ),
    "column vector times a matrix": (
        "x A",
        ec.ShapeError,
        "the matrix product of an n-vector and an n×n matrix: a column vector can only be followed by a row vector "
        "or a scalar; did you mean xᵀ A?\n"
        "  x A\n"
        "    ^",
    ),
    "element-wise product of two shapes": (
        "W ⊙ A",
        ec.ShapeError,
        "an m×n matrix ⊙ an n×n matrix: element-wise operations need operands of one shape\n  W ⊙ A\n      ^",
    ),
    "⊙ beside a matrix product": (
        "x ⊙ y aᵀ",
        ec.ParseError,
        "⊙ and a matrix product side by side read differently in different conventions (MATLAB reads them from the "
        "left, others read ⊙ first); add parentheses, like (A ⊙ B) C or A ⊙ (B C)\n"
        "  x ⊙ y aᵀ\n"
        "        ^",
    ),
    "division by a vector": (
        "x / y",
        ec.ShapeError,
        "division by an n-vector: / divides by a scalar only; write x ./ y to divide element-wise\n  x / y\n      ^",
    ),
    "unknown name": ("b x", ec.UnknownNameError, "unknown name 'b'; declared tensors: A[n,n], x[n]\n  b x\n  ^"),
    "unknown function": ("foo(x)", ec.UnknownNameError, "unknown function 'foo'; known functions: "),
    "rank-3 tensor": (
        "T x",
        ec.UnsupportedError,
        "T has rank 3 (m, n, n): matrix notation stops at rank 2; write the expression in index notation with "
        "ec.parse\n"
        "  T x\n"
        "  ^",
    ),
    "trace of a non-square matrix": (
        "tr(W)",
        ec.ShapeError,
        "tr needs a square matrix; W is an m×n matrix\n  tr(W)\n     ^",
    ),
    "softmax of a matrix": (
        "softmax(A)",
        ec.ShapeError,
        "softmax takes a vector; A is an n×n matrix; say which way it normalises: softmax_rows(…) or softmax_cols(…)\n"
        "  softmax(A)\n"
        "          ^",
    ),
    "spectral norm": (
        "‖A‖",
        ec.UnsupportedError,
        "‖A‖ of a matrix is an induced norm, which has no rule; write ‖A‖_F for the Frobenius norm\n  ‖A‖\n  ^",
    ),
    "non-integer matrix power": (
        "A^0.5",
        ec.UnsupportedError,
        "a matrix power (A^0.5): a matrix power needs an integer exponent; for the element-wise power write A.^0.5\n"
        "  A^0.5\n"
        "  ^",
    ),
    "matrix power with a variable exponent": (
        "A^c",
        ec.UnsupportedError,
        "a matrix power needs a number exponent, not c; for the element-wise power write A^∘c\n  A^c\n  ^",
    ),
    "identity of no size": (
        "I",
        ec.ShapeError,
        "nothing beside I fixes its size; write it beside a tensor of the size meant, or pass the result's shape= to "
        "parse_matrix\n"
        "  I\n"
        "  ^",
    ),
    "bracket never closed": ("(x + y", ec.ParseError, "'(' was never closed\n  (x + y\n  ^"),
    "text that ends too soon": (
        "x +",
        ec.ParseError,
        "the expression ends too soon, after '+'; an operand must follow\n  x +\n    ^",
    ),
    "unknown character": ("x $ y", ec.ParseError, "unexpected character '$' in matrix notation\n  x $ y\n    ^"),
    "definitions in a cycle": (
        "z where z = w, w = z",
        ec.ParseError,
        "the definitions of z, w refer to each other\n  z where z = w, w = z\n          ^",
    ),
    "definition of a declared name": (
        "x where x = y",
        ec.ParseError,
        "x is already declared; name the intermediate differently\n  x where x = y\n          ^",
    ),
    "wrong number of arguments": ("tr(A, A)", ec.ParseError, "tr takes 1 argument, not 2\n  tr(A, A)\n  ^"),
    "a chain of ^": (
        "c^2^3",
        ec.ParseError,
        "a power of a power written ^ then ^ reads two ways (MATLAB groups a^b^c from the left, mathematics and "
        "Python's ** from the right): write (a^b)^c or a^(b^c)\n"
        "  c^2^3\n"
        "     ^",
    ),
    "a superscript power raised again": (
        "c²^3",
        ec.ParseError,
        "a power of a power written without parentheses reads two ways (MATLAB groups a^b^c from the left, "
        "mathematics from the right): write (a^b)^c or a^(b^c)\n"
        "  c²^3\n"
        "    ^",
    ),
}


@pytest.mark.parametrize("case", ERRORS)
def test_error_message(case: str) -> None:
    text, kind, message = ERRORS[case]
    declared = (A, x) if case == "unknown name" else DECLARED
    with pytest.raises(kind) as info:
        ec.parse_matrix(text, *declared)
    assert str(info.value).startswith(message) if case == "unknown function" else str(info.value) == message


POWER_CHAINS: dict[str, Callable[[float], float]] = {
    "c**2**3": lambda c: c**2**3,
    "2**3**2": lambda c: 2**3**2,
    "c**-2**2": lambda c: c ** -(2**2),
    "c**2**c": lambda c: c**2**c,
    "c**c**2": lambda c: c**c**2,
    "c**(2**3)**2": lambda c: c ** (2**3) ** 2,
    "c**2**c**2": lambda c: c**2**c**2,
    "c**0.5**2": lambda c: c**0.5**2,
    "(c^2)^3": lambda c: (c**2) ** 3,
    "c^(2^3)": lambda c: c ** (2**3),
    "(c²)³": lambda c: (c**2) ** 3,
    "(c^c)^2": lambda c: (c**c) ** 2,
    "c^(c^2)": lambda c: c ** (c**2),
}


@pytest.mark.parametrize("text", POWER_CHAINS)
def test_a_power_of_a_power_reads_as_python_does(text: str) -> None:
    """A chain of ``**`` groups from the right, as in Python (the reader grouped from the left: c**2**3 was c⁶, not
    c⁸); powers of powers in parentheses read as written."""
    read = ec.evaluate(ec.parse_matrix(text, c), {"c": 1.3})
    assert float(read) == pytest.approx(POWER_CHAINS[text](1.3), rel=1e-12)


# text that read silently one way, though a common convention reads it another: each is refused; each reading,
# written unambiguously, reads to its own numbers
TWO_READINGS: dict[str, dict[str, Callable[[dict[str, Any]], Any]]] = {
    "x'*y.*p": {"(x'*y).*p": lambda v: (v["x"] @ v["y"]) * v["p"], "x'*(y.*p)": lambda v: v["x"] @ (v["y"] * v["p"])},
    "xᵀ y ⊙ p": {
        "(xᵀ y) ⊙ p": lambda v: (v["x"] @ v["y"]) * v["p"],
        "xᵀ (y ⊙ p)": lambda v: v["x"] @ (v["y"] * v["p"]),
    },
    "x' * y ./ p": {
        "(x'*y) ./ p": lambda v: (v["x"] @ v["y"]) / v["p"],
        "x'*(y./p)": lambda v: v["x"] @ (v["y"] / v["p"]),
    },
    "A*c.*B": {"(A*c).*B": lambda v: v["c"] * v["A"] * v["B"], "A*(c.*B)": lambda v: v["c"] * v["A"] @ v["B"]},
    "1/2c": {"(1/2) c": lambda v: v["c"] / 2, "1/(2c)": lambda v: 1 / (2 * v["c"])},
    "x ⊘ y c": {"(x ⊘ y) c": lambda v: v["x"] / v["y"] * v["c"], "x ⊘ (y c)": lambda v: v["x"] / (v["y"] * v["c"])},
    "X**2": {"X^2": lambda v: v["X"] @ v["X"], "X.^2": lambda v: v["X"] ** 2},
    "|X|": {"det(X)": lambda v: det(v["X"]), "abs(X)": lambda v: np.abs(v["X"])},
    "||x||": {"‖x‖": lambda v: np.linalg.norm(v["x"]), "abs(x)": lambda v: np.abs(v["x"])},
    "log|X|": {"log(det(X))": lambda v: np.log(det(v["X"])), "log(abs(X))": lambda v: np.log(np.abs(v["X"]))},
    "1 000 c": {"1000 c": lambda v: 1000 * v["c"], "1*000*c": lambda v: 0 * v["c"]},
    "A @ B * C": {"A @ B @ C": lambda v: v["A"] @ v["B"] @ v["C"], "(A @ B) .* C": lambda v: v["A"] @ v["B"] * v["C"]},
}


@pytest.mark.parametrize("text", TWO_READINGS)
def test_a_text_that_reads_two_ways_is_refused(text: str) -> None:
    """MATLAB reads ``x'*y.*p`` from the left, others read ``.*`` first; ``1/2c`` is ``c/2`` left to right and
    ``1/(2c)`` in physics texts; NumPy's ``X**2`` squares each entry, SymPy's multiplies; ``|X|`` is often the
    determinant and ``||x||`` the norm, where the reader took the element-wise absolute value; beside ``@``, ``*`` is
    Python's element-wise product."""
    with pytest.raises(ec.ParseError, match=r"reads two ways|read differently"):
        ec.parse_matrix(text, *DECLARED)
    for reading, reference in TWO_READINGS[text].items():
        np.testing.assert_allclose(ec.evaluate(ec.parse_matrix(reading, *DECLARED), V), reference(V), rtol=1e-10)


ONE_READING: dict[str, Callable[[dict[str, Any]], Any]] = {
    "2 x ⊙ y": lambda v: 2 * v["x"] * v["y"],
    "c x ⊙ y 3": lambda v: 3 * v["c"] * v["x"] * v["y"],
    "x / c ⊙ y": lambda v: v["x"] / v["c"] * v["y"],
    "x ⊙ y / c": lambda v: v["x"] * v["y"] / v["c"],
    "x / c * 2": lambda v: v["x"] / v["c"] * 2,
}


@pytest.mark.parametrize("text", ONE_READING)
def test_a_scalar_beside_an_elementwise_product_or_a_division_reads_one_way(text: str) -> None:
    """Where at most one run between ``*``/juxtapositions holds a vector, both groupings agree and the text reads;
    an explicit ``*`` after a division multiplies the quotient, as in every programming language."""
    np.testing.assert_allclose(ec.evaluate(ec.parse_matrix(text, *DECLARED), V), ONE_READING[text](V), rtol=1e-12)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("x^T A x", "^T would raise to the power T (a size or tensor so named); write ᵀ or ' for the transpose"),
        ("x^-T", "^T would raise to the power T (a size or tensor so named); write ᵀ or ' for the transpose"),
        ("log det(X)", "log is a function: its argument goes in parentheses, like log(x)"),
    ],
)
def test_a_transpose_or_call_written_another_way_says_how_to_write_it(text: str, message: str) -> None:
    """``x^T`` read ``T`` as a name (with a dimension named T, a power by its size); ``log det(X)`` said only that
    the name log is unknown."""
    size_named_t, square = ec.tensors("x[T] X[T,T]")
    with pytest.raises(ec.ParseError) as info:
        ec.parse_matrix(text, size_named_t, square)
    assert str(info.value).startswith(message)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ((3,), 'the text given to ec.parse_matrix must be a string like "x\'*A*x", not int 3'),
        (
            ("x", [x]),
            "parse_matrix takes declared tensors (ec.tensors) and named intermediates (ec.let), not list "
            "[<Tensor x[i]>]; unpack a list with *: ec.parse_matrix(text, *tensors)",
        ),
    ],
)
def test_bad_arguments(arguments: tuple[Any, ...], message: str) -> None:
    with pytest.raises(ec.EincalcError) as info:
        ec.parse_matrix(*arguments)
    assert str(info.value) == message


def test_long_input_is_read_by_loops_and_deep_nesting_is_refused() -> None:
    """Signs, sums and products are read by loops at any length; nesting stops at the limit with a message."""
    assert ec.parse_matrix("−" * 4001 + "x", x) == ec.parse_matrix("−x", x)
    long_sum = ec.parse_matrix(" + ".join(["x"] * 1000), x)
    np.testing.assert_allclose(ec.evaluate(long_sum, V), 1000 * V["x"])
    long_product = ec.parse_matrix(" ".join(["A"] * 300), A)  # multiplied pairwise: a shallow expression
    np.testing.assert_allclose(ec.evaluate(long_product, V), np.linalg.matrix_power(V["A"], 300), rtol=1e-8)
    for deep in (
        "(" * (MAX_DEPTH + 1) + "x" + ")" * (MAX_DEPTH + 1),
        "A" + "ᵀ" * (MAX_DEPTH + 1),
        "σ(" * (MAX_DEPTH + 1) + "x" + ")" * (MAX_DEPTH + 1),
    ):
        with pytest.raises(ec.ParseError, match=f"nests deeper than {MAX_DEPTH} levels"):
            ec.parse_matrix(deep, x, A)
    with pytest.raises(ec.ParseError, match=f"the limit is {MAX_LENGTH}"):
        ec.parse_matrix("x" + " " * MAX_LENGTH, x)


# -- the command line ----------------------------------------------------------------------------------------


def test_command_line_reads_matrix_syntax(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["derive", "--syntax", "matrix", "x'*A*x", "--tensors", "x[n] A[n,n]", "--wrt", "x"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "expression    (x[j] A[j,i]) x[i]    (scalar)"
    assert lines[-2].startswith("matrix form   ")
    assert main(["explain", "--syntax", "matrix", "Wᵀ g", "--tensors", "W[m,n] g[m]", "--wrt", "W"]) == 0
    assert capsys.readouterr().out.startswith("The Jacobian ∂f/∂W of f[i] = (W[j,i])[i,j] g[j]")


def test_command_line_reports_a_typing_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["derive", "--syntax", "matrix", "A - x", "--tensors", "x[n] A[n,n]", "--wrt", "x"]) == 1
    assert capsys.readouterr().err.startswith("eincalc: error: an n×n matrix minus an n-vector")


# -- every printed matrix form reads back --------------------------------------------------------------------


def _readme_and_cookbook() -> Iterator[tuple[str, Expr, list[Tensor], bool]]:
    """The derivations of the README, the cookbook and the back-propagation walk-through."""
    xx, aa, bb, AA = ec.tensors("x[n] a[n] b[n] A[n,n]")
    XX, BB, CC, WW, YY, QQ = ec.tensors("X[m,n] B[n,k] C[k,m] W[n,k] Y[m,k] Q[n,n]")
    yy, ww = ec.tensors("y[m] w[n]")
    Wr, ar, gr = ec.tensors("W[m,n] a[n] g[m]")
    gradients = [
        (aa @ xx, xx),
        (xx @ xx, xx),
        (xx @ AA @ xx, xx),
        (ec.sum(ec.square(xx - bb)), xx),
        (ec.trace(XX @ BB @ CC), BB),
        (ec.trace(XX.T @ XX), XX),
        (ec.sum(ec.square(XX @ WW - YY)), WW),
        (ec.logdet(QQ), QQ),
        (ec.det(QQ), QQ),
        (ec.trace(ec.inv(QQ) @ AA), QQ),
    ]
    for f, wrt in gradients:
        yield f"∇ {f}", ec.grad(f, wrt), [wrt], False
    yield "Hessian of xᵀAx", ec.hessian(xx @ AA @ xx, xx), [xx], False
    yield "logistic Hessian", ec.hessian(ec.binary_cross_entropy(XX @ ww, yy), ww), [ww], False
    yield "README vjp by W", ec.vjp(Wr @ ar, Wr, gr), [Wr], False
    yield "README vjp by a", ec.vjp(Wr @ ar, ar, gr), [ar], False
    V1, V2, xi, t = ec.tensors("W1[n0,n1] W2[n1,n2] x[n0] y[n2]")
    a1 = ec.let("a1", ec.sigmoid(ec.let("z1", xi @ V1)))
    a2 = ec.let("a2", ec.sigmoid(ec.let("z2", a1 @ V2)))
    loss = 0.5 * ec.sum(ec.square(a2 - t))
    for wrt in (V1, V2):
        for rows in (False, True):
            yield f"back-propagation by {wrt.spec.name}, rows={rows}", ec.grad(loss, wrt), [wrt], rows


ROUND_TRIPS = {name: (expr, wrt, rows) for name, expr, wrt, rows in _readme_and_cookbook()}


@pytest.mark.parametrize("name", ROUND_TRIPS)
def test_documented_forms_read_back(name: str) -> None:
    expr, wrt, rows = ROUND_TRIPS[name]
    form = ec.to_matrix(expr, rows=rows, sizes_from=wrt)
    values = ec.testing.random_values(expr, {d: 2 + n for n, d in enumerate(sorted(_dims(expr, wrt)))}, seed=1)
    values.update(ec.testing.random_values(wrt[0], {d: 2 + n for n, d in enumerate(sorted(_dims(expr, wrt)))}))
    check = reads_back(form, expr, wrt, values)
    assert check.passed, str(check)


def _dims(expr: Expr, wrt: list[Tensor]) -> set[str]:
    from eincalc.core.traversal import walk

    return {d for node in [*walk(expr), *wrt] if isinstance(node, Tensor) for d in node.spec.dims}


def matrix_forms(problem: Problem, rows: bool) -> Iterator[tuple[str, Any, Expr, list[Tensor], dict[str, Any]]]:
    """The problem's expression, its gradients and Hessians, each with the matrix form the view prints for it."""
    upstream, array = problem.upstream()
    loss = Contract((problem.expr, Tensor(upstream.spec, problem.expr.free)), ())
    values = {**problem.values, upstream.spec.name: array}
    derived: list[tuple[str, Expr, list[Tensor]]] = [("expression", problem.expr, [])]
    for wrt in problem.tensors:
        if len(wrt.spec.dims) <= 2:
            derived.append((f"gradient by {wrt.spec.name}", ec.grad(loss, wrt), [wrt]))
        if len(wrt.spec.dims) <= 1:
            derived.append((f"Hessian by {wrt.spec.name}", ec.hessian(loss, wrt), [wrt]))
    for what, expr, wrt in derived:
        try:
            form = ec.to_matrix(expr, rows=rows, sizes_from=wrt)
        except ec.NoMatrixForm:
            continue
        yield what, form, expr, wrt, values


@given(problems(named=True), st.booleans())
def test_every_matrix_form_reads_back(problem: Problem, rows: bool) -> None:
    """Issue 15, item 2: every form the view prints for an expression, its gradients and its Hessians reads back under
    strict typing to the index form's numbers (or the view says there is no matrix form)."""
    for what, form, expr, wrt, values in matrix_forms(problem, rows):
        check = reads_back(form, expr, wrt, values)
        assert check.passed, f"{what} of {problem.expr}: {check}"


def _former_defects() -> dict[str, tuple[Expr, list[Tensor], str]]:
    """Forms the view once printed ill-typed, right only under NumPy broadcasting, with what it prints now."""
    theta, gg, xx, AA, XX, WW, cc, ww = ec.tensors("θ[n] g[n] x[n] A[n,n] X[b,n] W[n,m] c[m] w[n]")
    (s,) = ec.tensors("s")
    return {
        "softmax Jacobian diag(s) (I − s)": (
            ec.jacobian(ec.softmax(theta), theta),
            [theta],
            "diag(softmax(θ)) − softmax(θ) softmax(θ)ᵀ",
        ),
        "logsumexp Hessian Aᵀ diag(s) (A − Aᵀ s)": (
            ec.hessian(ec.logsumexp(AA @ xx), xx),
            [xx],
            "Aᵀ (diag(softmax(A x)) − softmax(A x) softmax(A x)ᵀ) A",
        ),
        "bias added to a batch X W + c": (XX @ WW + cc, [], "X W + 1 cᵀ"),
        "softmax VJP s ⊙ (g − gᵀ s)": (
            ec.vjp(ec.softmax(theta), theta, gg),
            [theta],
            "softmax(θ) ⊙ (g − (gᵀ softmax(θ)) 1)",
        ),
        "scalar bias σ(X w + s)": (ec.sigmoid(XX @ ww + s), [], "σ(X w + s 1)"),
        "ones plus a scalar exp(1 + s)": (ec.parse("(exp(1[i:n] + s))[i]", s, AA), [AA], "exp(1 + s) 1"),
        "ones plus a scalar, read well typed with other numbers (exp(s + 1)ᵀ g) 1 1ᵀ": (
            ec.parse("(Σ(exp(s + 1[i]) g[i]) 1[j:n] 1[k:n])[j,k]", s, gg),
            [gg],
            "exp(s + 1) (1ᵀ g) (1 1ᵀ)",
        ),
        "a function of ones (1ᵀ σ(1)) x": (ec.parse("Σ(σ(1[i:n])) x[j]", xx), [xx], "σ(1) n x"),
    }


FORMER_DEFECTS = _former_defects()


@pytest.mark.parametrize("name", FORMER_DEFECTS)
def test_former_view_defects_print_well_typed_and_read_back(name: str) -> None:
    expr, wrt, printed = FORMER_DEFECTS[name]
    check, form = _read_back(expr, wrt)
    assert form.text == printed
    assert check.passed, str(check)


@pytest.mark.parametrize(
    ("expr", "message"),
    [
        (ec.parse("Σ(exp(δ[i:n,j:n]))", A), "reduces a constant vector or matrix whose size nothing in the text shows"),
    ],
)
def test_a_form_the_text_cannot_show_has_no_matrix_form(expr: Expr, message: str) -> None:
    with pytest.raises(ec.NoMatrixForm, match=re.escape(message)):
        ec.to_matrix(expr, sizes_from=[A])


def test_intermediates_named_alike_print_one_name_per_definition_and_read_back() -> None:
    """``ec.let("h", …)`` in a loop: each definition shows under a name of its own (h, h₂, h₃, skipping a tensor's
    name), in the matrix form and in the index text, and both read back."""
    (h2,) = ec.tensors("h2[n]")
    h: Expr = x
    for _ in range(3):
        h = ec.let("h", ec.tanh(A @ h))
    expr = h + h2 + ec.let("h", x)  # h = x is a fourth definition of h
    form = ec.to_matrix(expr)
    assert (
        form.text
        == "h₄ + h₂ + h₅\n  where h = tanh(A x)\n  where h₃ = tanh(A h)\n  where h₄ = tanh(A h₃)\n  where h₅ = x"
    )
    check = reads_back(form, expr, [x, A, h2], {**V, "h2": np.arange(4.0)})
    assert check.passed, str(check)
    text = str(expr)
    assert [line.split("=")[0].strip() for line in text.splitlines()[1:]] == [
        "where h[i]",
        "where h3[i]",
        "where h4[i]",
        "where h5[i]",
    ]
    read = ec.parse(text, x, A, h2)
    values = {**V, "h2": np.arange(4.0)}
    np.testing.assert_allclose(ec.evaluate(read, values), ec.evaluate(expr, values))
    assert "h4 = np.tanh(A @ h3)" in form.numpy  # the NumPy text names them alike, and runs to the same numbers
    np.testing.assert_allclose(run_numpy(form.numpy, values), ec.evaluate(expr, values))


def _read_back(expr: Expr, wrt: list[Tensor]) -> tuple[ReadBack, ec.MatrixForm]:
    dims = _dims(expr, wrt)
    sizes = {d: 2 + n for n, d in enumerate(sorted(dims))}
    values = ec.testing.random_values(expr, sizes, seed=3)
    for tensor in wrt:
        values.update(ec.testing.random_values(tensor, sizes, seed=4))
    form = ec.to_matrix(expr, sizes_from=wrt)
    return reads_back(form, expr, wrt, values), form


def test_a_zero_before_a_product_is_bracketed_so_it_reads_as_a_number() -> None:
    """The deep read-back run's counterexample: ``0 1ᵀ dh₆`` read the literal 0 as a zero column (``0 1ᵀ`` a matrix)."""
    A, B, u = ec.tensors("A[m] B u[m]")
    gradient = ec.grad(ec.let("h6", B * ec.relu(ec.parse("-1")) + A) @ u, B)
    form = ec.to_matrix(gradient, sizes_from=[B])
    assert form.text == "0 (1ᵀ dh₆)\n  where dh₆ = u"
    values = {"A": np.ones(3), "B": np.array(2.0), "u": np.arange(3.0)}
    check = reads_back(form, gradient, [B], values)
    assert check.passed, str(check)


def test_literals_typed_one_way_and_built_another_raise_a_shape_error() -> None:
    """``2 1 0`` types left to right but builds pairwise: a clear ShapeError, never a bare AssertionError (found by
    the fuzzer through ``ec.to_matrix``, which reads its own text back)."""
    with pytest.raises(ec.ShapeError, match="cannot multiply"):
        ec.parse_matrix("2 1 0 − 0.5 W", W)
    expr = ec.parse("0[i] - W[b,i] / 2 + 0[i]", W, ec.Index("b", "m"), ec.Index("i", "n"))
    values = {"W": np.arange(6.0).reshape(2, 3)}
    assert np.allclose(run_numpy(ec.to_matrix(expr).numpy, values), ec.evaluate(expr, values))


def test_a_zero_scalar_spread_over_a_vector_sum_is_the_zero_vector() -> None:
    """``Σ_i (C[i] + Σ_j C[j] 0 A) A``: the zero scalar term spread over the sum's vector is the zero vector, never
    ``0 1ᵀ``, which the reader takes for a zero column times a row (found by the deep read-back run)."""
    A, C = ec.tensors("A C[m]")
    i, j = ec.Index("i", "m"), ec.Index("j", "m")
    zero_term = Contract((Tensor(C.spec, (j,)), Zero(()), A), ())
    expr = Contract((Add((Tensor(C.spec, (i,)), zero_term), (i,)), A), ())
    values = {"A": np.array(0.5), "C": np.array([1.0, -2.0, 4.0])}
    for rows in (True, False):
        form = ec.to_matrix(expr, rows=rows)
        assert "0" not in form.text, form.text
        assert reads_back(form, expr, (A, C), values).passed


def test_a_product_of_functions_of_literals_is_a_number_before_a_row_of_ones() -> None:
    """The read-back run's counterexamples: in ``((A σ(1)) σ(A² σ(1))) 1ᵀ G`` the product of two functions of ``1``
    (and in ``(1 − σ(…)) σ(1) 1ᵀ G`` a sum with one) took the written flag of the literal its shape is kept on, so it
    read as a column of ones before ``1ᵀ`` (an outer product); it is a number, and the whole a scalar."""
    A, G = ec.tensors("A G[m]")
    values = {"A": np.array(0.3), "G": np.array([0.5, -1.0, 2.0])}
    sig = 1 / (1 + np.exp(-1.0))
    for text in ["((A σ(1)) σ(A² σ(1))) 1ᵀ G", "(σ(1) + σ(1)) A 1ᵀ G", "2 A σ(A² σ(1)) (1 − σ(A² σ(1))) σ(1) 1ᵀ G"]:
        back = ec.parse_matrix(text, A, G)
        assert back.shape == ()
    expected = 0.3 * sig / (1 + np.exp(-0.09 * sig)) * values["G"].sum()
    assert np.isclose(ec.evaluate(ec.parse_matrix("((A σ(1)) σ(A² σ(1))) 1ᵀ G", A, G), values), expected)
    i = ec.Index("i", "m")
    h5 = ec.let("h5", A + ec.let("h3", ec.sigmoid(One(i))) - A)
    h8 = ec.let("h8", ec.sigmoid(ec.let("h7", A * h5 * A)))
    loss = Contract((h8, Tensor(G.spec, (i,))), ())
    for derived in (ec.grad(loss, A), ec.hessian(loss, A)):  # 2 A σ(A² σ(1)) (1 − σ(A² σ(1))) σ(1) 1ᵀ dh₈, …
        check = reads_back(ec.to_matrix(derived, sizes_from=[A]), derived, [A], values)
        assert check.passed, str(check)


def test_a_zero_row_broadcast_down_a_column_is_the_zero_matrix() -> None:
    """The deep read-back run's counterexample: a zero row repeated down the rows (``1 0ᵀ``), times ``h₃``, printed
    ``2 h₃ 0``, which the reader takes for a vector times the number 0; it is the zero matrix, ``0``."""
    (B,) = ec.tensors("B[m]")
    k = ec.Index("k", "m")
    h1, h3 = ec.let("h1", ec.log(ec.parse("1[k:m]", k))), ec.let("h3", ec.softmax(B))
    hessian = ec.hessian(ec.let("h6", ec.let("h5", ec.let("h4", Contract((h1, h3), ())))), B)
    form = ec.to_matrix(hessian, sizes_from=[B])
    assert form.text == "0"
    check = reads_back(form, hessian, [B], {"B": np.array([0.1, 0.5, -0.3])})
    assert check.passed, str(check)


def test_a_function_of_one_beside_a_one_is_a_number_times_ones() -> None:
    """The deep read-back run's counterexample: in ``dh₄ σ(1) 1`` the two literals were joined into one shape, so
    both became columns (``cannot multiply a col by a col``); ``σ(1)`` is a number beside the ones."""
    A, G = ec.tensors("A[m] G")
    h4 = ec.let("h4", ec.parse("A[i] σ(1[i])", A, ec.Index("i", "m")))
    gradient = ec.grad(ec.let("h5", h4) * G, A)
    form = ec.to_matrix(gradient, sizes_from=[A])
    assert form.text.splitlines()[0] == "dh₄ σ(1) 1"
    values = {"A": np.array([0.5, -1.0, 2.0]), "G": np.array(1.5)}
    check = reads_back(form, gradient, [A], values)
    assert check.passed, str(check)
    assert ec.parse_matrix("σ(1) σ(2) 1", A, shape=("m",)).shape == ("m",)
