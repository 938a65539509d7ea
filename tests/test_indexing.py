"""What ``expr[i, j]`` means for every kind of expression, and what every reduction along ``axis=`` reduces.

The rule (docs/index-notation.md): indexing names axes and never sums; a name written twice takes the
diagonal; a factor carries each of its free indices once, so in a product an index on two factors is summed.
Every case is checked against NumPy's einsum and against the same thing built from a declared tensor.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import eincalc as ec
from eincalc.testing import check_grad

A, B, v, w, y, x, c = ec.tensors("A[n,n] B[n,n] v[n] w[n] y[n] x[m] c")
(M,) = ec.tensors("M[n,n]")  # a declared stand-in holding the value of each expression below
X, Y, G, gamma, beta = ec.tensors("X[b,f] Y[b,f] G[b,f] γ[f] β[f]")  # a batch of b examples with f features
TENSORS = (A, B, v, w, y, x, c, M, X, Y, G, gamma, beta)

SQUARE: dict[str, Callable[[], ec.Expr]] = {
    "declared tensor": lambda: A,
    "transpose": lambda: A.T,
    "transpose of a transpose": lambda: A.T.T,
    "matrix product": lambda: A @ B,
    "sum": lambda: A + 2 * B,
    "difference with a product": lambda: A - B @ A.T,
    "Hadamard product": lambda: A * B,
    "function": lambda: ec.tanh(A),
    "softmax along rows": lambda: ec.softmax(A, axis=1),
    "softmax along columns": lambda: ec.softmax(A, axis=0),
    "named intermediate": lambda: ec.let("Z", A @ B),
    "diag of a vector": lambda: ec.diag(v),
    "outer product": lambda: ec.outer(v, w),
    "inverse": lambda: ec.inv(A),
    "einsum": lambda: ec.einsum("ij,kj->ik", A, B),
    "index style": lambda: (A["a", "b"] * B["b", "d"])["a", "d"],
    "index-style transpose": lambda: A["b", "a"],
    "diagonal already taken": lambda: A["a", "a"] * v["b"],
}

VECTOR: dict[str, Callable[[], ec.Expr]] = {
    "declared tensor": lambda: v,
    "diagonal": lambda: ec.diagonal(A),
    "diagonal of a product": lambda: ec.diagonal(A @ B),
    "matrix-vector product": lambda: A @ v,
    "function": lambda: ec.sigmoid(v),
    "softmax": lambda: ec.softmax(v),
    "sum over an axis": lambda: ec.sum(A, axis=0),
    "mean over an axis": lambda: ec.mean(A, axis=1),
    "named intermediate": lambda: ec.let("z", A.T @ v),
    "index-style diagonal": lambda: A["q", "q"],
}


def arrays(seed: int, n: int = 3, m: int = 2) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    sizes = {"n": n, "m": m}
    values = {t.spec.name: rng.uniform(-1, 1, [sizes[d] for d in t.spec.dims]) for t in (A, B, v, w, y, x, c)}
    values["A"] = values["A"] + 2 * n * np.eye(n)  # diagonally dominant: the inverse is well conditioned
    return values


def value(expr: ec.Expr, values: dict[str, np.ndarray]) -> np.ndarray:
    return np.asarray(ec.evaluate(expr, values))


def reads_back(expr: ec.Expr, values: dict[str, np.ndarray]) -> None:
    """The printed text, read back given the tensors and the free indices, has the same value."""
    if any(isinstance(node, ec.core.nodes.Named) for node in ec.core.traversal.walk(expr)):
        return  # a named intermediate prints as its name; its text reads back only with a definition
    back = ec.parse(str(expr), *TENSORS, *expr.free)
    np.testing.assert_allclose(value(back, values), value(expr, values), rtol=1e-12, atol=1e-12, err_msg=str(expr))


# -- indexing: one rule for every kind of expression -------------------------------------------------------


def random_arrays(test: Callable[..., None]) -> Callable[..., None]:
    """Run ``test`` on a few random arrays (``seed``) of a few sizes (``n``, 1 included)."""
    return settings(max_examples=8, deadline=None)(given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 4))(test))


@pytest.mark.parametrize("kind", SQUARE)
@random_arrays
def test_a_repeated_index_takes_the_diagonal_of_every_kind_of_matrix(kind: str, seed: int, n: int) -> None:
    expr = SQUARE[kind]()
    values = arrays(seed, n)
    values["M"] = value(expr, values)  # the same matrix, as a declared tensor
    j, k = "j", "k"
    cases = {
        "X[j,j]": (expr[j, j], M[j, j], np.einsum("jj->j", values["M"])),
        "c X[j,j]": (c * expr[j, j], c * M[j, j], values["c"] * np.einsum("jj->j", values["M"])),
        "X[j,j] c": (expr[j, j] * c, M[j, j] * c, values["c"] * np.einsum("jj->j", values["M"])),
        "2 X[j,j]": (2 * expr[j, j], 2 * M[j, j], 2 * np.einsum("jj->j", values["M"])),
        "X[j,j] y[j]": (expr[j, j] * y[j], M[j, j] * y[j], np.einsum("jj,j->", values["M"], values["y"])),
        "X[j,j] x[k]": (expr[j, j] * x[k], M[j, j] * x[k], np.einsum("jj,k->jk", values["M"], values["x"])),
        "Σ X[j,j]": (ec.sum(expr[j, j]), ec.sum(M[j, j]), np.trace(values["M"])),
        "X[j,k] y[k]": (expr[j, k] * y[k], M[j, k] * y[k], values["M"] @ values["y"]),
        "X[k,j] y[k]": (expr[k, j] * y[k], M[k, j] * y[k], values["M"].T @ values["y"]),
        "X[j,j] - c X[j,j]": (
            expr[j, j] - c * expr[j, j],
            M[j, j] - c * M[j, j],
            (1 - values["c"]) * np.einsum("jj->j", values["M"]),
        ),
    }
    for name, (built, declared, expected) in cases.items():
        assert built.shape == declared.shape and built.rank == np.ndim(expected), f"{kind}: {name}"
        np.testing.assert_allclose(value(built, values), expected, rtol=1e-10, atol=1e-12, err_msg=f"{kind}: {name}")
        np.testing.assert_allclose(value(declared, values), expected, rtol=1e-10, atol=1e-12, err_msg=name)
        reads_back(built, values)
    if expr.positional:  # the matrix-style diagonal and trace agree with indexing
        diagonal = value(c * ec.diagonal(expr)[j], values)
        np.testing.assert_allclose(diagonal, value(c * expr[j, j], values), rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(value(ec.trace(expr), values), np.trace(values["M"]), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("kind", VECTOR)
@random_arrays
def test_an_indexed_vector_is_one_factor_of_every_kind(kind: str, seed: int, n: int) -> None:
    expr = VECTOR[kind]()
    values = arrays(seed, n)
    u = value(expr, values)
    cases = {
        "X[i] y[i]": (expr["i"] * y["i"], u @ values["y"]),
        "c X[i]": (c * expr["i"], values["c"] * u),
        "X[i] x[k]": (expr["i"] * x["k"], np.outer(u, values["x"])),
        "X[i] X[i]": (expr["i"] * expr["i"], u @ u),
    }
    for name, (built, expected) in cases.items():
        assert built.rank == np.ndim(expected), f"{kind}: {name}"
        np.testing.assert_allclose(value(built, values), expected, rtol=1e-10, atol=1e-12, err_msg=f"{kind}: {name}")
        reads_back(built, values)


def test_text_reads_a_repeated_index_as_python_builds_it() -> None:
    """``ec.parse`` and Python's operators give ``A[j,j]`` one meaning: the diagonal, one factor."""
    values = arrays(0)
    pairs = {
        "c A[j,j]": c * A["j", "j"],
        "A[j,j] y[j]": A["j", "j"] * y["j"],
        "A[j,j] x[k]": A["j", "j"] * x["k"],
        "Σ(A[j,j])": ec.sum(A["j", "j"]),
        "c (A @ B)[j,j]": c * (A @ B)["j", "j"],
        "(A.T)[j,j] y[j]": A.T["j", "j"] * y["j"],
    }
    for text, built in pairs.items():
        parsed = ec.parse(text, *TENSORS)
        assert parsed.shape == built.shape, text
        np.testing.assert_allclose(value(parsed, values), value(built, values), rtol=1e-12, err_msg=text)


@pytest.mark.parametrize(
    ("text", "column"), [("A[i,i] y[i] v[i]", 14), ("y[i] A[i,i] v[i]", 14), ("y[i] v[i] A[i,i]", 12)]
)
def test_a_diagonal_is_one_factor_when_text_is_read(text: str, column: int) -> None:
    """The third factor carrying ``i`` is the error, and the caret is under its ``i``."""
    with pytest.raises(ec.IndexMismatch, match="index i appears 3 times") as info:
        ec.parse(text, *TENSORS)
    assert str(info.value).splitlines()[2] == "  " + " " * column + "^"


def test_a_repeated_index_over_axes_of_different_sizes_is_refused() -> None:
    (W,) = ec.tensors("W[m,n]")
    for expr in (W, W @ B, W.T.T):
        with pytest.raises(ec.IndexMismatch, match=r"index j names axis 0 \(dimension m\) and axis 1 \(dimension n\)"):
            expr["j", "j"]


def test_a_repeated_index_on_three_axes_takes_the_full_diagonal() -> None:
    (T,) = ec.tensors("T[n,n,n]")
    values = {"T": np.arange(27.0).reshape(3, 3, 3)}
    for expr in (T, ec.tanh(T)):
        got = value(expr["j", "j", "j"], values)
        expected = np.einsum("jjj->j", value(expr, values))
        np.testing.assert_allclose(got, expected)
    np.testing.assert_allclose(value(T["j", "k", "j"], values), np.einsum("jkj->jk", values["T"]))


# -- issue 12, item 2: the three reported cases --------------------------------------------------------------


def test_issue12_scalar_times_diagonal_is_a_vector() -> None:
    values = {"A": np.arange(9.0).reshape(3, 3), "c": 2.0}
    result = c * ec.diagonal(A)["j"]
    assert result.shape == ("n",)
    np.testing.assert_allclose(value(result, values), [0.0, 8.0, 16.0])


def test_issue12_declared_and_transposed_twice_index_alike() -> None:
    values = {"A": np.arange(9.0).reshape(3, 3), "c": 2.0}
    declared, transposed = c * A["j", "j"], c * (A.T.T)["j", "j"]
    assert declared.shape == transposed.shape == ("n",)
    np.testing.assert_allclose(value(declared, values), value(transposed, values))
    np.testing.assert_allclose(value(declared, values), [0.0, 8.0, 16.0])


def test_issue12_diagonal_times_vector_is_their_inner_product() -> None:
    values = {"A": np.arange(9.0).reshape(3, 3), "y": np.array([1.0, 2.0, 3.0])}
    result = ec.diagonal(A)["i"] * y["i"]
    assert result.free == ()
    assert float(value(result, values)) == 0 * 1 + 4 * 2 + 8 * 3


# -- reductions along axis= -----------------------------------------------------------------------------------

AXES: list[int | str | tuple[int, ...] | None] = [0, 1, -1, -2, None, (0, 1), (1, -2)]
NAMES = {"matrix style": ("i", "j"), "index style": ("s", "t")}


def _style(style: str) -> tuple[ec.Expr, ec.Expr]:
    if style == "matrix style":
        return X, Y
    return X["s", "t"], Y["s", "t"]


def _numpy_axis(axis: int | str | tuple[int, ...] | None, style: str) -> int | tuple[int, ...] | None:
    return NAMES[style].index(axis) if isinstance(axis, str) else axis


def _softmax(a: np.ndarray, axis: int | None) -> np.ndarray:
    """Along ``axis``; ``None`` is the last axis, as for ``ec.softmax``."""
    axis = -1 if axis is None else axis
    shifted = np.exp(a - a.max(axis=axis, keepdims=True))
    return shifted / shifted.sum(axis=axis, keepdims=True)


def _logsumexp(a: np.ndarray, axis: int | None) -> np.ndarray:
    axis = -1 if axis is None else axis
    top = a.max(axis=axis, keepdims=True)
    return np.squeeze(top, axis) + np.log(np.exp(a - top).sum(axis=axis))


REDUCTIONS: dict[str, tuple[Callable[..., ec.Expr], Callable[..., np.ndarray], bool]] = {
    # name: (eincalc of (scores, labels, axis), NumPy of the same, whether several axes at once are accepted)
    "sum": (lambda e, _, a: ec.sum(e, axis=a), lambda v, _, a: v.sum(axis=a), True),
    "mean": (lambda e, _, a: ec.mean(e, axis=a), lambda v, _, a: v.mean(axis=a), True),
    "softmax": (lambda e, _, a: ec.softmax(e, axis=a), lambda v, _, a: _softmax(v, a), False),
    "log_softmax": (lambda e, _, a: ec.log_softmax(e, axis=a), lambda v, _, a: np.log(_softmax(v, a)), False),
    "logsumexp": (lambda e, _, a: ec.logsumexp(e, axis=a), lambda v, _, a: _logsumexp(v, a), False),
    "cross_entropy": (
        lambda e, t, a: ec.cross_entropy(e, t, axis=a),
        lambda v, t, a: -np.sum(t * np.log(_softmax(v, a))),
        False,
    ),
}


@pytest.mark.parametrize("style", NAMES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("axis", [*AXES, "first name", "last name"], ids=repr)
@pytest.mark.parametrize("shape", [(5, 3), (3, 5), (1, 4), (4, 4)])
def test_every_reduction_matches_numpy_on_rectangular_matrices(
    style: str, reduction: str, axis: int | str | tuple[int, ...] | None, shape: tuple[int, int]
) -> None:
    build, reference, several = REDUCTIONS[reduction]
    if isinstance(axis, str):
        axis = NAMES[style][0 if axis == "first name" else 1]
    if isinstance(axis, tuple) and not several:
        with pytest.raises(ec.EincalcError):
            build(*_style(style), axis)
        return
    rng = np.random.default_rng(sum(shape))
    values = {"X": rng.normal(size=shape), "Y": rng.uniform(size=shape)}
    expr = build(*_style(style), axis)
    expected = reference(values["X"], values["Y"], _numpy_axis(axis, style))
    np.testing.assert_allclose(value(expr, values), expected, rtol=1e-10, atol=1e-12, err_msg=str(expr))
    assert expr.positional == (style == "matrix style") or not expr.free
    reads_back(expr, values)


@pytest.mark.parametrize("reduction", ["sum", "mean"])
@pytest.mark.parametrize("style", NAMES)
@pytest.mark.parametrize("axis", [0, 1, -1, None])
def test_reductions_have_the_right_gradient(reduction: str, style: str, axis: int | None) -> None:
    build = REDUCTIONS[reduction][0]
    reduced = build(_style(style)[0], None, axis)
    loss = ec.sum(ec.square(reduced))
    values = {"X": np.random.default_rng(1).normal(size=(5, 3))}
    assert check_grad(loss, X, values) < 1e-7


def test_a_reduction_names_each_axis_once() -> None:
    for axis in [(0, 0), (0, -2), ("i", 0)]:
        with pytest.raises(ec.IndexMismatch, match="twice"):
            ec.mean(X, axis=axis)
    with pytest.raises(ec.ShapeError, match="axis 2 is out of range"):
        ec.sum(X, axis=2)
    with pytest.raises(ec.IndexMismatch, match="no free index 'q'"):
        ec.mean(X["s", "t"], axis="q")


def test_issue12_mean_of_a_rectangular_matrix_divides_by_the_axis_size() -> None:
    values = {"X": np.arange(15.0).reshape(5, 3)}
    np.testing.assert_allclose(value(ec.mean(X, axis=0), values), values["X"].mean(axis=0))  # by 5, not by 15
    np.testing.assert_allclose(value(ec.mean(X, axis=1), values), values["X"].mean(axis=1))


@pytest.mark.parametrize("style", NAMES)
def test_batch_norm_built_on_mean_matches_numpy(style: str) -> None:
    """``(X − μ) / sqrt(σ² + ε) ⊙ γ + β`` over a batch of 5 examples with 3 features, and its gradient."""
    eps = 1e-3
    if style == "matrix style":
        centred = X - ec.mean(X, axis=0)
        variance = ec.mean(ec.square(centred), axis=0)
        normalised = centred / ec.sqrt(variance + eps) * gamma + beta
    else:
        centred = X["s", "t"] - ec.mean(X["s", "t"], axis="s")
        variance = ec.mean(ec.square(centred), axis="s")
        normalised = centred / (ec.sqrt(variance + eps) / gamma["t"]) + beta["t"]  # * would sum t (Einstein)
    rng = np.random.default_rng(7)
    values = {
        "X": rng.normal(size=(5, 3)) * 3 + 1,
        "γ": rng.uniform(0.5, 2, 3),
        "β": rng.normal(size=3),
        "G": rng.normal(size=(5, 3)),
    }
    Xv = values["X"]
    expected = (Xv - Xv.mean(axis=0)) / np.sqrt(Xv.var(axis=0) + eps) * values["γ"] + values["β"]
    np.testing.assert_allclose(value(normalised, values), expected, rtol=1e-10, atol=1e-12)
    loss = ec.sum(normalised * (G if style == "matrix style" else G["s", "t"]))
    assert check_grad(loss, X, values) < 1e-6
    assert check_grad(loss, gamma, values) < 1e-7
