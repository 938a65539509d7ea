"""The matrix view's printed text: parentheses by precedence in text, LaTeX and NumPy, NumPy that runs with
``np`` alone, every axis variant of the softmax family, and checks that run the printed text itself."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import eincalc as ec
from eincalc.core.functions import FUNCTIONS, apply_array
from eincalc.core.nodes import Tensor
from eincalc.matrix import render as matrix_render
from eincalc.matrix import tree as mt
from eincalc.matrix.algebra import transpose
from eincalc.matrix.check import run_numpy
from eincalc.matrix.render import to_latex, to_numpy, to_text
from eincalc.ops.linalg import matrix_call

Values = dict[str, np.ndarray]
Oracle = Callable[[Values], Any]

x, y, z = (mt.Symbol(name, "col") for name in "xyz")
A, B = mt.Symbol("A", "matrix"), mt.Symbol("B", "matrix")
s = mt.Symbol("s", "scalar")


def add(*terms: mt.MatrixExpr) -> mt.Add:
    return mt.Add(terms, terms[0].kind)


def times(c: float, node: mt.MatrixExpr) -> mt.Scale:
    return mt.Scale(mt.Number(c), node)


def power(node: mt.MatrixExpr, k: float) -> mt.Function:
    return mt.Function("pow", k, node)


def values(seed: int = 0) -> Values:
    """Positive vectors (so powers and inverses are defined) and well-conditioned matrices."""
    rng = np.random.default_rng(seed)
    vectors = {name: rng.uniform(0.5, 1.5, 3) for name in "xyz"}
    matrices = {name: rng.uniform(-1, 1, (3, 3)) + 4 * np.eye(3) for name in "ABC"}
    return {**vectors, **matrices, "s": np.array(0.7)}


def python_value(code: str, arrays: Values) -> Any:
    """``code`` run by Python itself after ``import numpy as np`` and nothing else: no builtins, no helpers."""
    return eval(code, {"__builtins__": {}, "np": np, **arrays})  # eincalc's own generated NumPy text


def assert_runs_to(code: str, arrays: Values, expected: Any) -> None:
    """The printed NumPy text, read by eincalc's checker and run by Python, equals ``expected``."""
    np.testing.assert_allclose(run_numpy(code, arrays), expected, rtol=1e-10, atol=1e-12, err_msg=code)
    np.testing.assert_allclose(python_value(code, arrays), expected, rtol=1e-10, atol=1e-12, err_msg=code)


# -- precedence: every operator the renderers emit --------------------------------------------------

PRECEDENCE: dict[str, tuple[mt.MatrixExpr, tuple[str, str, str], Oracle]] = {
    "minus a sum": (
        add(x, times(-1, add(y, z))),
        ("x − (y + z)", r"x - \left(y + z\right)", "x - (y + z)"),
        lambda v: v["x"] - (v["y"] + v["z"]),
    ),
    "minus a difference": (
        add(x, times(-1, add(y, times(-1, z)))),
        ("x − (y − z)", r"x - \left(y - z\right)", "x - (y - z)"),
        lambda v: v["x"] - (v["y"] - v["z"]),
    ),
    "minus a negation": (
        add(x, times(-1, times(-1, y))),
        ("x − (−y)", r"x - \left(-y\right)", "x - (-y)"),
        lambda v: v["x"] + v["y"],
    ),
    "minus a product": (
        add(x, times(-1, mt.MatMul((A, y)))),
        ("x − A y", "x - A y", "x - A @ y"),
        lambda v: v["x"] - v["A"] @ v["y"],
    ),
    "negated sum": (
        times(-1, add(x, y)),
        ("−(x + y)", r"-\left(x + y\right)", "-(x + y)"),
        lambda v: -(v["x"] + v["y"]),
    ),
    "negated negation": (times(-1, times(-1, x)), ("−(−x)", r"-\left(-x\right)", "-(-x)"), lambda v: v["x"]),
    "negated power": (times(-1, power(x, 2)), ("−x²", "-x^{2}", "-x ** 2.0"), lambda v: -(v["x"] ** 2)),
    "negative coefficient times a sum": (
        times(-2, add(x, y)),
        ("−2 (x + y)", r"-2 \left(x + y\right)", "-2.0 * (x + y)"),
        lambda v: -2 * (v["x"] + v["y"]),
    ),
    "coefficient times a sum": (
        times(0.5, add(x, y)),
        ("0.5 (x + y)", r"0.5 \left(x + y\right)", "0.5 * (x + y)"),
        lambda v: 0.5 * (v["x"] + v["y"]),
    ),
    "coefficient times a Hadamard product": (
        times(3, mt.Hadamard((x, y))),
        ("3 (x ⊙ y)", r"3 \left(x \odot y\right)", "3.0 * x * y"),
        lambda v: 3 * v["x"] * v["y"],
    ),
    "scalar times a sum": (
        mt.Scale(mt.Trace(A), add(x, y)),
        ("tr(A) (x + y)", r"\operatorname{tr}\left(A\right) \left(x + y\right)", "np.trace(A) * (x + y)"),
        lambda v: np.trace(v["A"]) * (v["x"] + v["y"]),
    ),
    "scalar sum times a vector": (
        mt.Scale(add(s, mt.Number(1.0)), x),
        ("(s + 1) x", r"\left(s + 1\right) x", "(s + 1.0) * x"),
        lambda v: (v["s"] + 1) * v["x"],
    ),
    "Hadamard product of a sum": (
        mt.Hadamard((add(x, y), z)),
        ("(x + y) ⊙ z", r"\left(x + y\right) \odot z", "(x + y) * z"),
        lambda v: (v["x"] + v["y"]) * v["z"],
    ),
    "Hadamard product of a negation": (
        mt.Hadamard((x, times(-1, y))),
        ("x ⊙ (−y)", r"x \odot \left(-y\right)", "x * (-y)"),
        lambda v: v["x"] * -v["y"],
    ),
    "Hadamard product of a matrix product": (
        mt.Hadamard((x, mt.MatMul((A, y)))),
        ("x ⊙ (A y)", r"x \odot \left(A y\right)", "x * (A @ y)"),
        lambda v: v["x"] * (v["A"] @ v["y"]),
    ),
    "matrix product of a Hadamard product": (
        mt.MatMul((A, mt.Hadamard((x, y)))),
        ("A (x ⊙ y)", r"A \left(x \odot y\right)", "A @ (x * y)"),
        lambda v: v["A"] @ (v["x"] * v["y"]),
    ),
    "matrix product of a sum": (
        mt.MatMul((A, add(x, y))),
        ("A (x + y)", r"A \left(x + y\right)", "A @ (x + y)"),
        lambda v: v["A"] @ (v["x"] + v["y"]),
    ),
    "matrix product of a negation": (
        mt.MatMul((times(-1, A), x)),
        ("(−A) x", r"\left(-A\right) x", "(-A) @ x"),
        lambda v: -v["A"] @ v["x"],
    ),
    "power of a sum": (
        power(add(x, y), 2),
        ("(x + y)²", r"\left(x + y\right)^{2}", "(x + y) ** 2.0"),
        lambda v: (v["x"] + v["y"]) ** 2,
    ),
    "power of a negation": (
        power(times(-1, x), 3),
        ("(−x)³", r"\left(-x\right)^{3}", "(-x) ** 3.0"),
        lambda v: (-v["x"]) ** 3,
    ),
    "power of a negative number": (
        power(mt.Number(-3.0), 2),
        ("(−3)²", r"\left(-3\right)^{2}", "(-3.0) ** 2.0"),
        lambda v: 9.0,
    ),
    "negative power of a sum": (
        power(add(x, z), -1),
        ("(x + z)⁻¹", r"\left(x + z\right)^{-1}", "(x + z) ** -1.0"),
        lambda v: 1 / (v["x"] + v["z"]),
    ),
    "power of a power": (
        power(power(x, 2), 3),
        ("(x²)³", r"\left(x^{2}\right)^{3}", "(x ** 2.0) ** 3.0"),
        lambda v: v["x"] ** 6,
    ),
    "power of a function": (
        power(mt.Function("tanh", None, add(x, y)), 2),
        ("tanh(x + y)²", r"\tanh\left(x + y\right)^{2}", "np.tanh(x + y) ** 2.0"),
        lambda v: np.tanh(v["x"] + v["y"]) ** 2,
    ),
    "transpose of a sum": (
        mt.Transpose(add(A, B)),
        ("(A + B)ᵀ", r"\left(A + B\right)^\top", "(A + B).T"),
        lambda v: (v["A"] + v["B"]).T,
    ),
    "transpose of a product": (
        mt.Transpose(mt.MatMul((A, B))),
        ("(A B)ᵀ", r"\left(A B\right)^\top", "(A @ B).T"),
        lambda v: (v["A"] @ v["B"]).T,
    ),
    "transpose of a negation": (
        mt.Transpose(times(-1, A)),
        ("(−A)ᵀ", r"\left(-A\right)^\top", "(-A).T"),
        lambda v: -v["A"].T,
    ),
    "transpose of a power": (
        mt.Transpose(power(A, 2)),
        ("(A∘²)ᵀ", r"\left(A^{\circ 2}\right)^\top", "(A ** 2.0).T"),
        lambda v: (v["A"] ** 2).T,
    ),
    "inverse of a sum": (
        matrix_call("inv", add(A, B)),
        ("(A + B)⁻¹", r"\left(A + B\right)^{-1}", "np.linalg.inv(A + B)"),
        lambda v: np.linalg.inv(v["A"] + v["B"]),
    ),
    "transposed inverse of a product": (
        transpose(matrix_call("inv", mt.MatMul((A, B)))),
        ("(A B)⁻ᵀ", r"\left(A B\right)^{-\top}", "np.linalg.inv(A @ B).T"),
        lambda v: np.linalg.inv(v["A"] @ v["B"]).T,
    ),
    "inverse times a sum": (
        mt.MatMul((matrix_call("inv", A), add(x, y))),
        ("A⁻¹ (x + y)", r"A^{-1} \left(x + y\right)", "np.linalg.inv(A) @ (x + y)"),
        lambda v: np.linalg.inv(v["A"]) @ (v["x"] + v["y"]),
    ),
    "determinant of a sum times a vector": (
        mt.Scale(matrix_call("det", add(A, B)), x),
        ("det(A + B) x", r"\det\left(A + B\right) x", "np.linalg.det(A + B) * x"),
        lambda v: np.linalg.det(v["A"] + v["B"]) * v["x"],
    ),
    "negative power of a function of an integer": (
        power(mt.Function("abs", None, mt.Number(-2.0)), -1),
        ("abs(−2)⁻¹", r"\left|-2\right|^{-1}", "np.abs(-2.0) ** -1.0"),
        lambda v: 0.5,
    ),
    "product of functions of large integers": (
        mt.Hadamard((mt.Function("abs", None, mt.Number(1e10)),) * 2),
        (
            "abs(10000000000) ⊙ abs(10000000000)",
            r"\left|10000000000\right| \odot \left|10000000000\right|",
            "np.abs(10000000000.0) * np.abs(10000000000.0)",
        ),
        lambda v: 1e20,
    ),
    "function of a difference": (
        mt.Function("tanh", None, add(x, times(-1, add(y, z)))),
        ("tanh(x − (y + z))", r"\tanh\left(x - \left(y + z\right)\right)", "np.tanh(x - (y + z))"),
        lambda v: np.tanh(v["x"] - (v["y"] + v["z"])),
    ),
}


@pytest.mark.parametrize("name", PRECEDENCE)
def test_every_operator_parenthesises_by_precedence(name: str) -> None:
    tree, (text, latex, code), oracle = PRECEDENCE[name]
    assert (to_text(tree), to_latex(tree), to_numpy(tree)) == (text, latex, code)
    arrays = values()
    assert_runs_to(code, arrays, oracle(arrays))


@pytest.mark.parametrize("fn", sorted(FUNCTIONS))
def test_every_function_takes_a_difference_of_sums_as_its_argument(fn: str) -> None:
    """Whatever its template looks like, each function's argument keeps the parentheses after a minus."""
    param = 2.0 if fn == "pow" else None
    argument = add(x, times(-1, add(y, z)))
    tree = mt.Function(fn, param, argument)
    arrays = {"x": np.array([3.0, 4.0, 5.0]), "y": np.array([0.5, 0.75, 1.0]), "z": np.array([0.25, 0.5, 1.5])}
    assert_runs_to(to_numpy(tree), arrays, apply_array(fn, arrays["x"] - (arrays["y"] + arrays["z"]), param))
    assert "(y + z)" in to_text(tree) and r"\left(y + z\right)" in to_latex(tree)


@st.composite
def square_trees(draw: st.DrawFn, depth: int = 3) -> tuple[mt.MatrixExpr, Oracle]:
    """A random tree over the 3×3 matrices A, B, C and what it means, computed directly with NumPy."""
    kinds = ["symbol"] + (
        ["sum", "hadamard", "product", "negate", "scale", "transpose", "power", "tanh"] if depth else []
    )
    kind = draw(st.sampled_from(kinds))
    if kind == "symbol":
        name = draw(st.sampled_from("ABC"))
        return mt.Symbol(name, "matrix"), lambda v: v[name]
    if kind in ("sum", "hadamard", "product"):
        parts = draw(st.lists(square_trees(depth - 1), min_size=2, max_size=3))
        nodes, oracles = tuple(p[0] for p in parts), [p[1] for p in parts]
        combine = {"sum": np.add, "hadamard": np.multiply, "product": np.matmul}[kind]
        node = {
            "sum": lambda: mt.Add(nodes, "matrix"),
            "hadamard": lambda: mt.Hadamard(nodes),
            "product": lambda: mt.MatMul(nodes),
        }[kind]()
        return node, lambda v: functools.reduce(combine, (o(v) for o in oracles))
    child, oracle = draw(square_trees(depth - 1))
    if kind == "negate":
        c = draw(st.sampled_from([-1.0, -2.0, 0.5]))
        return times(c, child), lambda v: c * oracle(v)
    if kind == "scale":
        inner, inner_oracle = draw(square_trees(depth - 1))
        shift = draw(st.sampled_from([0.0, -1.0]))
        factor = mt.Trace(inner) if shift == 0.0 else add(mt.Trace(inner), mt.Number(shift))
        return mt.Scale(factor, child), lambda v: (np.trace(inner_oracle(v)) + shift) * oracle(v)
    if kind == "transpose":
        return mt.Transpose(child), lambda v: oracle(v).T
    if kind == "power":
        k = draw(st.sampled_from([2.0, 3.0]))
        return power(child, k), lambda v: oracle(v) ** k
    return mt.Function("tanh", None, child), lambda v: np.tanh(oracle(v))


@settings(max_examples=300, deadline=None)
@given(square_trees(), st.integers(0, 2**16))
def test_random_trees_print_numpy_that_computes_them(drawn: tuple[mt.MatrixExpr, Oracle], seed: int) -> None:
    tree, oracle = drawn
    arrays = {name: np.random.default_rng(seed).uniform(-1, 1, (3, 3)) for name in "ABC"}
    expected = oracle(arrays)
    scale = 1.0 + float(np.max(np.abs(expected)))
    code = to_numpy(tree)
    np.testing.assert_allclose(
        run_numpy(code, arrays), expected, rtol=1e-9, atol=1e-9 * scale, err_msg=f"{to_text(tree)}: {code}"
    )
    assert to_latex(tree)


# -- the examples of issue 12 -------------------------------------------------------------------------

ISSUE_VALUES = {"x": np.array([1.0, 2.0, 3.0]), "y": np.array([100.0, 200.0, 300.0]), "z": np.array([10.0, 20.0, 30.0])}


def test_minus_before_a_sum_keeps_its_parentheses_in_every_view() -> None:
    vx, vy, vz = ec.tensors("x[n] y[n] z[n]")
    form = ec.to_matrix(vx - (vy + vz))
    assert (form.text, form.numpy, form.latex) == ("x − (y + z)", "x - (y + z)", r"x - \left(y + z\right)")
    np.testing.assert_array_equal(ec.evaluate(vx - (vy + vz), ISSUE_VALUES), [-109.0, -218.0, -327.0])
    np.testing.assert_array_equal(form.evaluate(ISSUE_VALUES), [-109.0, -218.0, -327.0])
    np.testing.assert_array_equal(python_value(form.numpy, ISSUE_VALUES), [-109.0, -218.0, -327.0])


def tanh_layer() -> tuple[ec.Expr, Tensor]:
    W, vx, vy, b = ec.tensors("W[m,n] x[n] y[m] b[m]")
    return ec.sum(ec.tanh(W @ vx - (vy + b))), W


def test_gradient_through_a_difference_of_sums_prints_its_parentheses() -> None:
    loss, W = tanh_layer()
    gradient = ec.grad(loss, W)
    form = ec.to_matrix(gradient)
    assert form.text == "(1 − tanh(W x − (y + b))²) xᵀ"
    assert form.numpy == "np.outer(1.0 - np.tanh(W @ x - (y + b)) ** 2.0, x)"
    assert form.latex == r"\left(1 - \tanh\left(W x - \left(y + b\right)\right)^{2}\right) x^\top"
    rng = np.random.default_rng(1)
    arrays = {"W": rng.normal(size=(2, 3)), "x": rng.normal(size=3), "y": rng.normal(size=2), "b": rng.normal(size=2)}
    np.testing.assert_allclose(form.evaluate(arrays), ec.evaluate(gradient, arrays), rtol=1e-12)
    np.testing.assert_allclose(python_value(form.numpy, arrays), ec.evaluate(gradient, arrays), rtol=1e-12)


def test_explain_certifies_the_printed_numpy_text(monkeypatch: pytest.MonkeyPatch) -> None:
    loss, W = tanh_layer()
    derivation = ec.explain(loss, W)
    assert derivation.matrix is not None and derivation.matrix.text == "(1 − tanh(W x − (y + b))²) xᵀ"
    assert derivation.check.passed and derivation.check.matrix_error is not None
    assert derivation.check.matrix_error < 1e-12
    # put the old bug back (no parentheses after a minus): the check must now see the printed text disagree
    monkeypatch.setitem(matrix_render.NUMPY_ACCEPTS, "term", matrix_render.NUMPY_ACCEPTS["argument"])
    broken = ec.explain(loss, W)
    assert broken.matrix is not None and "W @ x - y + b" in broken.matrix.numpy
    assert not broken.check.passed
    assert "gives DIFFERENT numbers from the index form" in broken.check.sentence()


@pytest.mark.parametrize(
    ("code", "problem"),
    [
        ("undefined_helper(x)", "UnknownNameError: the NumPy text uses 'undefined_helper'"),
        ("x", r"it gives shape \(3,\), the index form \(2, 3\)"),
    ],
)
def test_a_numpy_text_that_does_not_run_fails_the_check(
    monkeypatch: pytest.MonkeyPatch, code: str, problem: str
) -> None:
    loss, W = tanh_layer()
    monkeypatch.setattr(ec.MatrixForm, "numpy", property(lambda form: code))
    check = ec.explain(loss, W).check
    assert check.matrix_error == float("inf") and not check.passed
    assert re.search(f"the printed NumPy text of the matrix form could NOT be checked: {problem}", check.sentence())


# -- the softmax family: runnable NumPy, every axis, every renderer -------------------------------

X, V = ec.tensors("X[m,n] v[n]")
FAMILY = {"softmax": ec.softmax, "log_softmax": ec.log_softmax, "logsumexp": ec.logsumexp}
ALONG = {"vector": (V, None), "cols": (X, 0), "rows": (X, 1)}
"""A vector, a matrix down its columns (axis 0) and a matrix along its rows (axis 1)."""
NUMPY = {
    ("softmax", "vector"): "np.exp(v - np.logaddexp.reduce(v))",
    ("softmax", "cols"): "np.exp(X - np.logaddexp.reduce(X, axis=0, keepdims=True))",
    ("softmax", "rows"): "np.exp(X - np.logaddexp.reduce(X, axis=1, keepdims=True))",
    ("log_softmax", "vector"): "v - np.logaddexp.reduce(v)",
    ("log_softmax", "cols"): "X - np.logaddexp.reduce(X, axis=0, keepdims=True)",
    ("log_softmax", "rows"): "X - np.logaddexp.reduce(X, axis=1, keepdims=True)",
    ("logsumexp", "vector"): "np.logaddexp.reduce(v)",
    ("logsumexp", "cols"): "np.logaddexp.reduce(X, axis=0)",
    ("logsumexp", "rows"): "np.logaddexp.reduce(X, axis=1)",
}
AXIS_VARIANTS = [f"{fn} {along}" for fn, along in NUMPY]


def axis_variant(name: str) -> tuple[ec.Expr, str, str, str]:
    """The expression of ``name`` with its expected text, LaTeX and NumPy."""
    fn, along = name.split()
    arg, axis = ALONG[along]
    mark = "" if axis is None else f"_{along}"
    latex_mark = "" if axis is None else rf"_{{\text{{{along}}}}}"
    operator = fn.replace("_", r"\_")
    text = f"{fn}{mark}({arg.spec.name})"
    latex = rf"\operatorname{{{operator}}}{latex_mark}\left({arg.spec.name}\right)"
    return FAMILY[fn](arg, axis=axis), text, latex, NUMPY[fn, along]


@pytest.mark.parametrize("rows", [False, True], ids=["columns", "rows"])
@pytest.mark.parametrize("name", AXIS_VARIANTS)
def test_every_axis_variant_prints_in_every_renderer(name: str, rows: bool) -> None:
    expr, text, latex, code = axis_variant(name)
    form = ec.to_matrix(expr, rows=rows)
    assert (form.text, form.latex, form.numpy) == (text, latex, code)
    rng = np.random.default_rng(2)
    arrays = {"X": rng.normal(size=(2, 3)), "v": rng.normal(size=3)}
    assert_runs_to(form.numpy, arrays, ec.evaluate(expr, arrays))


@pytest.mark.parametrize("name", AXIS_VARIANTS)
def test_the_printed_softmax_family_is_stable_for_large_entries(name: str) -> None:
    expr, _, _, code = axis_variant(name)
    arrays = {"X": np.full((2, 3), 1000.0) + np.arange(3.0), "v": np.array([1000.0, 1000.0, -1000.0])}
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        assert_runs_to(code, arrays, ec.evaluate(expr, arrays))


@pytest.mark.parametrize("axis", [0, 1])
def test_a_derivation_through_a_softmax_along_an_axis_renders_everywhere(axis: int) -> None:
    (Y,) = ec.tensors("Y[m,n]")
    derivation = ec.explain(ec.sum(Y * ec.log_softmax(X, axis=axis)), X)
    along = ("cols", "rows")[axis]
    assert derivation.check.passed
    assert rf"\operatorname{{softmax}}_{{\text{{{along}}}}}" in derivation.latex()
    assert rf"\operatorname{{softmax}}_{{\text{{{along}}}}}" in derivation.markdown()
    assert f"softmax_{along}(X)" in derivation.text()
    assert "np.logaddexp.reduce" in derivation.numpy()


def test_a_call_template_with_a_stray_field_is_refused_when_made() -> None:
    with pytest.raises(TypeError, match=r"fields \{f, rows\} that are not arguments"):
        mt.Call("f", (A,), "matrix", "f({0})", r"\operatorname{f}_{rows}\left({0}\right)", "np.exp({0})")
    with pytest.raises(TypeError, match=r"fields \{1\}"):
        mt.Call("f", (A,), "matrix", "f({0}, {1})", "f", "f")


# -- the reader of printed NumPy ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "error", "message"),
    [
        ("softmax(x)", ec.UnknownNameError, "'softmax', which is neither np nor a given array"),
        ("x.__class__", ec.UnsupportedError, "attribute '__class__'"),
        ("x.tofile", ec.UnsupportedError, "attribute 'tofile'"),
        ("np.add.at", ec.UnsupportedError, "attribute 'at'"),
        ("np.load('file')", ec.UnsupportedError, "the constant 'file'"),
        ("(lambda: 0)()", ec.UnsupportedError, "a Lambda is not part of the NumPy"),
        ("[x for x in x]", ec.UnsupportedError, "a ListComp"),
        ("x if x else x", ec.UnsupportedError, "a IfExp"),
        ("np.sum(**x)", ec.UnsupportedError, "\\*\\* arguments"),
        ("x // 2", ec.UnsupportedError, "FloorDiv"),
        ("x +", ec.UnsupportedError, "does not parse"),
        ("x @ x.T @ np.ones(4)", ec.ShapeError, "running x @ x.T @ np.ones\\(4\\) on x \\(3,\\)"),
        ("np.linalg.inv(np.zeros((2, 2)))", ec.DomainError, "Singular matrix"),
    ],
)
def test_the_reader_runs_only_the_numpy_the_matrix_view_prints(code: str, error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        run_numpy(code, {"x": np.ones(3)})


def test_a_tensor_named_np_is_refused() -> None:
    with pytest.raises(ec.UnknownNameError, match="a tensor named 'np' hides NumPy"):
        run_numpy("np", {"np": np.ones(2)})
