"""Automatic named intermediates: every printer shows a shared sub-expression once, and the text reads back.

Counts and texts, never timings (the benchmark `benchmarks/deep.py` times the same networks).
"""

from __future__ import annotations

import numpy as np
import pytest

import eincalc as ec
from eincalc.core.expr import Expr, Named, Size, Tensor
from eincalc.core.intermediates import DEPTH, display, is_automatic
from fuzz_parser import parse_error_problem


def plain_mlp(depth: int, dim: str = "n") -> tuple[Expr, list[Tensor], Tensor, Tensor]:
    """The natural loop ``h = tanh(W @ h)``, no names, and a squared error."""
    x, y = ec.tensors(f"x[{dim}] y[{dim}]")
    weights = list(ec.tensors(" ".join(f"W{layer}[{dim},{dim}]" for layer in range(1, depth + 1))))
    h: Expr = x
    for W in weights:
        h = ec.tanh(W @ h)
    return 0.5 * ec.sum((h - y) ** 2), weights, x, y


def test_each_layer_output_of_a_plain_network_is_named_once() -> None:
    loss, weights, x, y = plain_mlp(3)
    gradient = ec.grad(loss, weights[0])
    assert str(gradient) == (
        "((1 - t1[p]**2) W2[i,p] (1 - t2[i]**2) W3[j,i] (1 - t3[j]**2) (t3[j] - y[j]) x[q])[p,q]\n"
        "  where t1[i] = tanh(W1[i,j] x[j])\n"
        "  where t2[i] = tanh(W2[i,j] t1[j])\n"
        "  where t3[i] = tanh(W3[i,j] t2[j])"
    )
    assert ec.parse(str(gradient), x, y, *weights, *gradient.free) == gradient  # the very expression


def test_printed_size_grows_linearly_with_depth() -> None:
    sizes = {
        depth: len(str(ec.grad(plain_mlp(depth, f"d{depth}")[0], plain_mlp(depth, f"d{depth}")[1][0])))
        for depth in (10, 20, 40)
    }
    assert sizes[40] - sizes[20] == pytest.approx(2 * (sizes[20] - sizes[10]), rel=0.1)
    assert sizes[40] < 12 * sizes[10] / 2.5


def test_a_small_shared_sub_expression_prints_inline() -> None:
    x, y = ec.tensors("x[n] y[n]")
    product = ec.dot(x, y)
    assert str(product * product) == "(x[i] y[i]) (x[j] y[j])"  # 3 nodes: below SMALL
    assert str(ec.sigmoid(x) * (1 - ec.sigmoid(x))) == "(σ(x[i]) (1 - σ(x[i])))[i]"


def test_names_skip_the_names_of_tensors_and_of_the_users_intermediates() -> None:
    t1, t2 = ec.tensors("t1[n] t2[n]")
    h = ec.exp(t1 + t2)
    z = ec.let("t3", t1 * t2)
    text = str(ec.sum(h * h * z) + ec.sum(h))
    assert "where t3[i] = (t1[i] t2[i])[i]" in text and "where t4[i] = exp(t1[i] + t2[i])" in text
    back = ec.parse(text, t1, t2)
    values = {"t1": np.array([0.1, 0.2]), "t2": np.array([-0.3, 0.5])}
    np.testing.assert_allclose(ec.evaluate(back, values), ec.evaluate(ec.sum(h * h * z) + ec.sum(h), values))


def test_a_users_name_reads_back_as_a_named_intermediate() -> None:
    W, x = ec.tensors("W[m,n] x[n]")
    f = ec.sigmoid(ec.let("z", W @ x))
    back = ec.parse(str(f), W, x, *f.free)
    assert back == f and isinstance(back.arg, Named) and back.arg.adjoint == "dz"


def test_where_clauses_read_on_one_line_and_in_any_index_order() -> None:
    A, x = ec.tensors("A[n,n] x[n]")
    back = ec.parse("t1[i,j] x[j] where t1[j,i] = A[i,j] + A[j,i]", A, x)
    values = {"A": np.array([[1.0, 2.0], [3.0, 5.0]]), "x": np.array([1.0, -1.0])}
    np.testing.assert_allclose(ec.evaluate(back, values), (values["A"] + values["A"].T) @ values["x"])


@pytest.mark.parametrize(
    ("text", "written_in"),
    [
        ("t1 (A - t1)\n  where t1 = -(A)", "(-(A)) (A - (-(A)))"),  # -(-A) folds as the reader folds it
        ("x[p] - t1[p] + 2 t1[p]\n  where t1[i] = -(W[i,j] a[j])", "x[p] - (-(W[p,j] a[j])) + 2 (-(W[p,j] a[j]))"),
    ],
)
def test_an_automatic_name_reads_as_its_definition_written_in_parentheses(text: str, written_in: str) -> None:
    """The reading of a use is the reading of its body in parentheses at that place, so the first
    reading of printed text is already a fixed point (its signs and coefficients fold alike)."""
    tensors = ec.tensors("A W[m,n] a[n] x[m]")
    back = ec.parse(text, *tensors)
    assert back is ec.parse(written_in, *tensors)
    assert ec.parse(str(back), *tensors) is back


@pytest.mark.parametrize(
    ("text", "error", "message"),
    [
        ("x[i] where x[i] = 2 x[i]", ec.ParseError, "x is already a tensor or defined above"),
        ("t1[i] where t1[j] = x[i]", ec.IndexMismatch, "the indices on the left must be the free indices"),
        ("t1[i,i] where t1[i,j] = x[i] x[j]", ec.IndexMismatch, "repeats an index"),
        ("t2[i] where t1[i] = x[i] where t2[i] = t3[i]", ec.UnknownNameError, "unknown name 't3'"),
    ],
)
def test_a_bad_where_clause_says_what_and_where(text: str, error: type[ec.EincalcError], message: str) -> None:
    (x,) = ec.tensors("x[n]")
    with pytest.raises(error, match=message):
        ec.parse(text, x)


@pytest.mark.parametrize(
    ("text", "under"),
    [
        ("t1[p]\n  where t1[i] = x[i,i]", "i]"),  # the body's error, at its second index
        ("t1[i] where t1[j] = x[i]", "t1[j]"),  # the definition's error, at its name
        ("t2[p] where t1[i] = x[i] where t2[i] = (t1[i]", "(t1[i]"),  # a syntax error in a later body
    ],
)
def test_an_error_in_a_where_clause_shows_the_whole_text_with_the_caret_in_it(text: str, under: str) -> None:
    (x,) = ec.tensors("x[n]")
    with pytest.raises(ec.EincalcError) as raised:
        ec.parse(text, x)
    assert parse_error_problem(text, raised.value) is None, str(raised.value)
    assert str(raised.value).split("\n")[2].index("^") - 2 == text.rindex(under)


def test_every_piece_is_shallow_and_the_display_is_kept_on_the_node() -> None:
    (x,) = ec.tensors("x[n]")
    h: Expr = x
    for _ in range(10 * DEPTH):
        h = ec.sin(h)
    lines = str(h).splitlines()
    assert len(lines) > 5 and max(line.count("sin(") for line in lines) <= DEPTH + 1
    assert display(h) is display(h)
    assert all(is_automatic(line.split()[1].split("[")[0]) for line in lines[1:])


def test_latex_shows_each_intermediate_once() -> None:
    loss, weights, _, _ = plain_mlp(2)
    latex = ec.grad(loss, weights[0]).latex()
    assert latex.count(r"\tanh") == 2 and r"\text{where } {t_{1}}_{i} = \tanh" in latex


def test_a_definition_may_name_a_dimension_given_only_by_an_index() -> None:
    """``size(m)`` inside a where-clause knows the dimensions of the indices given to the reader."""
    (a,) = ec.tensors("A[]")
    shared = ec.sigmoid(Size("m")) + a
    expr = a * (shared * shared)
    text = str(expr)
    assert "where t1 = σ(size(m)) + A" in text
    assert ec.parse(text, a, ec.Index("k", "m")) == expr
