"""The exact message of each kind of error: what is wrong, where (a caret under the offending
token or index), the shapes involved, and the fix when there is an obvious one.

A change to any of these messages should be deliberate: this file pins them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import eincalc as ec
from custom_nodes import opaque_node

W, a, x, y, A, c = ec.tensors("W[m,n] a[n] x[n] y[n] A[n,n] c")
Opaque = opaque_node()
T = (W, a, x, y, A, c)


def raised(action: Callable[[], Any]) -> tuple[type[ec.EincalcError], str]:
    with pytest.raises(ec.EincalcError) as info:
        action()
    return type(info.value), str(info.value)


CASES: dict[str, tuple[Callable[[], Any], type[ec.EincalcError], str]] = {
    "parse error with a caret": (
        lambda: ec.parse("W[i,j] a[j] $ 2", *T),
        ec.ParseError,
        "cannot read the expression: invalid syntax\n  W[i,j] a[j] $ 2\n              ^",
    ),
    "bracket never closed": (
        lambda: ec.parse("σ(W[i,j] a[j]", *T),
        ec.ParseError,
        "cannot read the expression: '(' was never closed\n  σ(W[i,j] a[j]\n   ^",
    ),
    "index written three times": (
        lambda: ec.parse("x[i] y[i] a[i]", *T),
        ec.IndexMismatch,
        "index i appears 3 times in one product; an index may appear at most twice (twice means summed). "
        "Rename one occurrence, or write the sum explicitly with ec.einsum\n"
        "  x[i] y[i] a[i]\n"
        "              ^",
    ),
    "free indices of a sum differ": (
        lambda: ec.parse("W[i,j] + a[k]", *T),
        ec.IndexMismatch,
        "free indices of a sum must agree: W[i,j] has (i, j) but a[k] has (k); to broadcast, write the sum's "
        "output indices in ec.parse: (W[i,j] + a[k])[i,j,k]\n"
        "  W[i,j] + a[k]\n"
        "           ^",
    ),
    "free indices of a sum differ (operators)": (
        lambda: W["i", "j"] + a["k"],
        ec.IndexMismatch,
        "free indices of a sum must agree: W[i,j] has (i, j) but a[k] has (k); to broadcast, write the sum's "
        "output indices in ec.parse: (W[i,j] + a[k])[i,j,k]",
    ),
    "text that ends too soon": (
        lambda: ec.parse("W[i,j] a[j] +", *T),
        ec.ParseError,
        "cannot read the expression: it ends too soon, after '+'; an operand must follow\n"
        "  W[i,j] a[j] +\n"
        "              ^",
    ),
    "unknown tensor": (
        lambda: ec.parse("W[i,j] b[j]", *T),
        ec.UnknownNameError,
        "unknown name 'b'; declared tensors: A[n,n], W[m,n], a[n], c, x[n], y[n]\n  W[i,j] b[j]\n         ^",
    ),
    "too many indices": (
        lambda: ec.parse("W[i,j,k] a[k]", *T),
        ec.IndexMismatch,
        "W has 2 axes (m, n) but 3 indices were given: [i, j, k]\n  W[i,j,k] a[k]\n        ^",
    ),
    "one index name for two dimensions": (
        lambda: ec.parse("W[i,j] A[i,j]", *T),
        ec.IndexMismatch,
        "index i stands for dimension m in W[i,j] and n in A[i,j]; use a different index name for one of them\n"
        "  W[i,j] A[i,j]\n"
        "           ^",
    ),
    "matrix product that does not chain": (
        lambda: a @ W,
        ec.ShapeError,
        "a @ W: shapes (n) and (m, n) do not chain; inner dimensions n and m differ "
        "(the last axis of a must be the first of W); did you mean a @ W.T?",
    ),
    "matrix product that does not chain, in text": (
        lambda: ec.parse("W @ x @ A", *T),
        ec.ShapeError,
        "(W[i,j] x[j]) @ A: shapes (m) and (n, n) do not chain; inner dimensions m and n differ "
        "(the last axis of (W[i,j] x[j]) must be the first of A)\n"
        "  W @ x @ A\n"
        "  ^",
    ),
    "evaluate: an axis of the wrong size": (
        lambda: ec.evaluate(W @ a, {"W": np.ones((2, 3)), "a": np.ones(4)}),
        ec.ShapeError,
        "a: axis 0 (dimension n) has size 4, but n = 3 from W axis 1",
    ),
    "evaluate: the wrong number of axes": (
        lambda: ec.evaluate(W @ a, {"W": np.ones((2, 3)), "a": np.ones((3, 1))}),
        ec.ShapeError,
        "a is declared as a[n] but its value has shape (3, 1)",
    ),
    "evaluate: no array for a tensor": (
        lambda: ec.evaluate(W @ a, {"W": np.ones((2, 3))}),
        ec.UnknownNameError,
        "no value given for tensor 'a' (declared a[n])",
    ),
    "einsum: a letter with two dimensions": (
        lambda: ec.einsum("ij,i->j", W, a),
        ec.IndexMismatch,
        "letter i is dimension m in operand 0 but n in operand 1\n  ij,i->j\n     ^",
    ),
    "einsum: a term with too many letters": (
        lambda: ec.einsum("ijk,j->i", W, a),
        ec.IndexMismatch,
        "operand 0 (W, shape (m, n)) has 2 axes but term 'ijk' has 3 letters\n  ijk,j->i\n  ^",
    ),
    "einsum: an operand that is not an expression": (
        lambda: ec.einsum("ij,j->i", W, "a"),
        ec.UnsupportedError,
        "operand 1: cannot use str 'a' in an expression; use declared tensors (ec.tensors) and numbers; to read "
        "text, use ec.parse(text, *tensors)\n"
        "  ij,j->i",
    ),
    "no matrix form": (
        lambda: ec.to_matrix(ec.jacobian(W @ a, W)),
        ec.NoMatrixForm,
        "result has rank 3 (i, p, q): no matrix reading (matrix notation stops at rank 2); keep the index form, "
        "or contract it with an upstream gradient (ec.vjp)\n"
        "  δ[i,p] a[q]",
    ),
    "no size for an identity": (
        lambda: ec.to_matrix(ec.grad(ec.trace(A), A)),
        ec.NoMatrixForm,
        "no tensor in the expression has dimension n to take its size from; pass one that has, like "
        "to_matrix(expr, sizes_from=[X]) for X with an axis n\n"
        "  δ[p,q]",
    ),
    "differentiating by something that is not a tensor": (
        lambda: ec.grad(ec.sum(W @ a), W @ a),
        ec.UnsupportedError,
        "can only differentiate with respect to a declared tensor, not W[i,j] a[j]; "
        "declare it with ec.tensors and pass the tensor itself",
    ),
    "the gradient of a non-scalar": (
        lambda: ec.grad(W @ a, a),
        ec.IndexMismatch,
        "grad needs a scalar expression, but W[i,j] a[j] has free indices (i); "
        "use jacobian, or vjp with an upstream gradient",
    ),
    "an operand that is not an expression": (
        lambda: W + "a",
        ec.UnsupportedError,
        "cannot use str 'a' in an expression; use declared tensors (ec.tensors) and numbers; to read text, use "
        "ec.parse(text, *tensors)",
    ),
    "evaluate: text instead of an expression": (
        lambda: ec.evaluate("x[i]", {"x": np.ones(3)}),
        ec.UnsupportedError,
        "the expression to evaluate must be an expression or a number, not str 'x[i]'; to read text, use "
        "ec.parse(text, *tensors)",
    ),
    "evaluate: values that are not a mapping": (
        lambda: ec.evaluate(x, [1.0, 2.0]),
        ec.UnsupportedError,
        "values must be a mapping from tensor names to arrays, like {'W': W_value}, not list [1.0, 2.0]",
    ),
    "evaluate: a tensor as a key of the values": (
        lambda: ec.evaluate(x, {x: np.ones(3)}),
        ec.UnsupportedError,
        "values maps tensor names to arrays; its key the expression x[i] is not a name; use its name 'x'",
    ),
    "evaluate: a size that is not a whole number": (
        lambda: ec.evaluate(x, {"x": np.ones(3)}, dims={"n": 2.5}),
        ec.ShapeError,
        "dims['n'] must be a whole number of at least 1, not float 2.5",
    ),
    "evaluate: a negative size": (
        lambda: ec.evaluate(x, {"x": np.ones(3)}, dims={"n": -1}),
        ec.ShapeError,
        "dims['n'] is -1; a dimension has at least 1 entry (eincalc has no empty axes)",
    ),
    "evaluate: an empty axis": (
        lambda: ec.evaluate(ec.softmax(x), {"x": np.ones(0)}),
        ec.ShapeError,
        "x: axis 0 (dimension n) is empty; a dimension has at least 1 entry (eincalc has no empty axes)",
    ),
    "evaluate: complex numbers": (
        lambda: ec.evaluate(x, {"x": np.array([1j, 2.0, 3.0])}),
        ec.UnsupportedError,
        "value for x has dtype complex128 (complex numbers); eincalc computes with real numbers",
    ),
    "evaluate: strings": (
        lambda: ec.evaluate(x, {"x": np.array(["a", "b", "c"])}),
        ec.UnsupportedError,
        "value for x has dtype <U1 (not numbers); eincalc computes with real numbers",
    ),
    "evaluate: a size nothing gives": (
        lambda: ec.evaluate(ec.grad(ec.trace(A), A), {}),
        ec.ShapeError,
        "size of dimension 'n' unknown; pass dims={'n': ...}, or the array of a tensor declared with an axis n",
    ),
    "tensors: no declaration text": (
        lambda: ec.tensors(None),
        ec.ParseError,  # type: ignore[arg-type]
        "the declarations given to ec.tensors must be a string like 'W[m,n] a[n] c', not NoneType None",
    ),
    "tensors: a list of names": (
        lambda: ec.tensors(["W[m,n]"]),
        ec.ParseError,  # type: ignore[arg-type]
        "the declarations given to ec.tensors must be a string like 'W[m,n] a[n] c', not list ['W[m,n]']",
    ),
    "tensors: symmetric names that are not strings": (
        lambda: ec.tensors("S[n,n]", symmetric=[1]),
        ec.ParseError,  # type: ignore[list-item]
        "each name in symmetric= must be a string like 'S', not int 1",
    ),
    "grad: text instead of an expression": (
        lambda: ec.grad("sum(x)", x),
        ec.UnsupportedError,
        "the expression to differentiate must be an expression or a number, not str 'sum(x)'; to read text, use "
        "ec.parse(text, *tensors)",
    ),
    "grad: a name instead of the variable": (
        lambda: ec.grad(ec.sum(x), "x"),
        ec.UnsupportedError,
        "can only differentiate with respect to a declared tensor, not str 'x'; declare it with ec.tensors and "
        "pass the tensor itself",
    ),
    "softmax: an axis that is not a position or a name": (
        lambda: ec.softmax(W, axis=0.5),
        ec.UnsupportedError,
        "axis must be an integer position or an index name, not float 0.5",
    ),
    "to_matrix: a flag that is not a bool": (
        lambda: ec.to_matrix(W @ a, rows="yes"),
        ec.UnsupportedError,
        "rows must be True or False, not str 'yes'",
    ),
    "let: an expression instead of a name": (
        lambda: ec.let(W @ a, a),
        ec.ParseError,  # type: ignore[arg-type]
        "the name of an intermediate must be a string like 'z', not the expression W[i,j] a[j]",
    ),
    "evaluate: a singular matrix": (
        lambda: ec.evaluate(ec.inv(A), {"A": np.zeros((2, 2))}),
        ec.DomainError,
        "inv(A[i,j]): Singular matrix; the matrix must be invertible",
    ),
    "a node kind with no derivative rule": (
        lambda: ec.grad(ec.sum(Opaque(a["i"])), a),
        ec.UnsupportedError,
        "no derivative rule for Opaque node opaque(a[i]); register one with "
        "eincalc.calculus.diff.register_jacobian(Opaque) and register_vjp(Opaque)",
    ),
    "a node kind with no evaluation rule": (
        lambda: ec.evaluate(Opaque(a["i"]), {"a": np.ones(3)}),
        ec.UnsupportedError,
        "no evaluation rule for Opaque nodes; register one with register_evaluator(Opaque) "
        "from eincalc.numeric.evaluate",
    ),
    "an unknown limit": (
        lambda: ec.set_limits(max_nodez=3),
        ec.UnsupportedError,
        "unknown limit 'max_nodez'; the limits are max_nodes, max_tree_nodes, max_matrix_power, max_elements",
    ),
}


@pytest.mark.parametrize("case", CASES)
def test_message(case: str) -> None:
    action, kind, expected = CASES[case]
    assert raised(action) == (kind, expected)


def test_unknown_function_lists_the_known_ones_under_a_caret() -> None:
    kind, message = raised(lambda: ec.parse("sigmoidd(a[i])", *T))
    first, *rest = message.split("\n")
    assert kind is ec.UnknownNameError
    assert first.startswith("unknown function 'sigmoidd'; known functions: abs, ")
    assert {"sigmoid", "softmax", "tanh", "σ"} <= set(first.split(": ", 1)[1].split(", "))
    assert rest == ["  sigmoidd(a[i])", "  ^"]


def test_an_intermediate_above_the_size_limit_is_named_with_its_shape() -> None:
    values = {"W": np.ones((40, 30)), "a": np.ones(30)}
    with ec.resource_limits(max_elements=1000):
        kind, message = raised(lambda: ec.evaluate(ec.outer(W @ a, a), values))
    assert (kind, message) == (
        ec.ResourceError,
        "evaluating (W[i,k] a[k]) a[j] would build an array of shape (m=40, n=30): 1,200 elements (9.6 kB as "
        "float64); the limit is max_elements=1,000. Raise it with ec.set_limits(max_elements=...) or for one "
        "block with `with ec.resource_limits(max_elements=...):`",
    )
    assert ec.evaluate(ec.outer(W @ a, a), values).shape == (40, 30)  # the default limit is far larger


def test_a_derivative_above_the_size_limit_stops_before_simplification(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ec.core.limits, "GROWTH", 1)  # the limit is max_nodes, not the growth over the input's nodes
    net = ec.tanh(W @ ec.tanh(W.T @ ec.tanh(W @ a)))
    with ec.resource_limits(max_nodes=20):
        kind, message = raised(lambda: ec.jacobian(net, a))
    assert (kind, message) == (
        ec.ResourceError,
        "jacobian produced an expression of more than 20 distinct sub-expressions (max_nodes=20); each order of "
        "differentiation multiplies the size, so this is usually a derivative of a derivative taken once too "
        "often. Name intermediates with ec.let to keep derivatives small. Raise it with "
        "ec.set_limits(max_nodes=...) or for one block with `with ec.resource_limits(max_nodes=...):`",
    )
    with ec.resource_limits(max_nodes=20):
        assert raised(lambda: ec.vjp(net, a, ec.tensors("g[m]")[0]))[1].startswith("vjp produced an expression")
    assert ec.jacobian(net, a).shape == ("m", "n")


def test_a_sixth_derivative_of_a_deep_network_stops_with_a_message() -> None:
    """Each order multiplies the expression; the default limit stops the climb long before memory runs out."""
    (v,) = ec.tensors("v[n]")
    weights = ec.tensors(" ".join(f"V{k}[n,n]" for k in range(12)))
    derivative: ec.Expr = v
    for weight in weights:
        derivative = ec.tanh(weight @ derivative)
    derivative = ec.sum(derivative)
    with pytest.raises(ec.ResourceError, match=r"max_nodes=5,000"):
        for _ in range(6):
            derivative = ec.jacobian(derivative, v)
    assert derivative.rank < 6


def test_limits_are_scoped_and_validated() -> None:
    before = ec.get_limits()
    with ec.resource_limits(max_elements=10, max_nodes=None) as inner:
        assert ec.get_limits() == inner == ec.Limits(max_nodes=None, max_elements=10)
    assert ec.get_limits() == before
    for bad in (0, -1, 2.5, True, "10"):
        with pytest.raises(ec.UnsupportedError, match="must be a positive integer or None"):
            ec.set_limits(max_elements=bad)  # type: ignore[arg-type]
    assert ec.get_limits() == before
