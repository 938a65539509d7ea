"""Automatic named intermediates: every printer shows a shared sub-expression once, and the text reads back.

Counts and texts, never timings (the benchmark `benchmarks/deep.py` times the same networks).
"""

from __future__ import annotations

import re

import numpy as np
import pytest
from hypothesis import given

import eincalc as ec
from eincalc.core.expr import Expr
from eincalc.core.indices import Index
from eincalc.core.intermediates import DEPTH, SMALL, display, is_automatic
from eincalc.core.names import rename
from eincalc.core.nodes import Apply, Const, Contract, Named, Size, Tensor
from eincalc.frontend.where import split
from eincalc.strategies import Problem, problems
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
        "  where t1[p] = tanh(W1[p,i] x[i])\n"
        "  where t2[i] = tanh(W2[i,j] t1[j])\n"
        "  where t3[j] = tanh(W3[j,i] t2[i])"
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
    assert latex.count(r"\tanh") == 2 and r"\text{where } {t_{1}}_{p} = \tanh" in latex


def test_a_definition_may_name_a_dimension_given_only_by_an_index() -> None:
    """``size(m)`` inside a where-clause knows the dimensions of the indices given to the reader."""
    (a,) = ec.tensors("A[]")
    shared = ec.sigmoid(Size("m")) + a
    expr = a * (shared * shared)
    text = str(expr)
    assert "where t1 = σ(size(m)) + A" in text
    assert ec.parse(text, a, ec.Index("k", "m")) == expr


def test_a_definition_takes_the_index_names_of_its_first_use() -> None:
    """``σ(W[i,j] a[i])`` used at ``j`` is defined at ``j`` with ``i`` summed, as in the line above it, never
    relabelled to ``σ(W[j,i] a[j])``, which reads as a transpose; text and LaTeX alike, and it reads back."""
    W, a = ec.tensors("W[m,n] a[m]")
    gate = ec.parse("(σ(W[i,j] a[i]) (1 - σ(W[i,j] a[i])))[j]", W, a)
    assert str(gate) == "(t1[j] (1 - t1[j]))[j]\n  where t1[j] = σ(W[i,j] a[i])"
    assert gate.latex().endswith(r"\text{where } {t_{1}}_{j} = \sigma\left(\sum_{i} W_{ij} a_{i}\right)")
    assert ec.parse(str(gate), W, a, *gate.free) is gate


@pytest.mark.parametrize(
    ("text", "definition"),
    [
        ("(exp(σ(W[i,q] a[i]) σ(W[i,p] a[i])) σ(W[i,q] a[i]))[q,p]", "where t1[q] = σ(W[i,q] a[i])"),
        ("(exp(σ(W[i,p] a[i]) σ(W[i,q] a[i])) σ(W[i,q] a[i]))[q,p]", "where t1[p] = σ(W[i,p] a[i])"),
    ],
)
def test_an_intermediate_used_at_several_names_is_defined_at_its_first(text: str, definition: str) -> None:
    W, a = ec.tensors("W[m,n] a[m]")
    expr = ec.parse(text, W, a)
    assert str(expr).splitlines()[1:] == [f"  {definition}"]
    assert ec.parse(str(expr), W, a, *expr.free) is expr


def test_an_intermediate_used_only_by_definitions_is_named_as_in_the_first_printed() -> None:
    """``t1`` is used only inside ``t2``'s definition, first at ``j``: it is defined at ``j``."""
    x, y, W = ec.tensors("x[n] y[n] W[n,n]")
    h1 = ec.tanh(W @ x + y)
    h2 = ec.exp(W.T @ h1 + h1)
    expr = ec.sum(h2 * h2)
    assert str(expr).splitlines()[1:] == [
        "  where t1[j] = tanh(W[j,i] x[i] + y[j])",
        "  where t2[i] = exp((W[j,i])[i,j] t1[j] + t1[i])",
    ]
    assert str(ec.parse(str(expr), x, y, W)) == str(expr)


def test_a_trivial_sub_expression_is_never_named_however_often_it_is_used() -> None:
    """``-y``, ``2 y``, a transposed tensor: inlined at every use, even where their tree is big enough to be named
    (``-1 y 0.5``, as the reverse pass builds it); a user's name for one is kept."""
    y, x, W = ec.tensors("y[r,k] x[r,k] W[k,k]")
    scaled = Contract((Const(-1.0), y, Const(0.5)), y.free, positional=True)
    assert scaled.tree_size >= SMALL
    for trivial in (-y, 2.0 * y, -(2.0 * y), W.T, scaled):
        other = ec.exp(x) if trivial.shape == x.shape else ec.exp(W)
        text = str(ec.sum(trivial * other) + ec.sum(trivial * ec.exp(trivial)) + ec.sum(trivial * ec.sin(trivial)))
        assert "where" not in text, text
    named = ec.let("ny", -y)
    assert str(ec.sum(named * ec.exp(x))).endswith("where ny[i,j] = -y[i,j]")


def shared_twice(expr: Expr) -> Expr:
    """``expr`` used at its own indices and at fresh ones (an outer product with ``sin`` of it): a sub-expression
    used twice, at two sets of index names."""
    fresh = tuple(Index(f"{k.name}_", k.dim) for k in expr.free)
    return Contract((expr, Apply("sin", rename(expr, dict(zip(expr.free, fresh, strict=True))))), expr.free + fresh)


@given(problems())
def test_printed_text_reads_back_and_each_definition_has_the_names_of_its_first_use(problem: Problem) -> None:
    """The text of a random expression that uses a sub-expression at two sets of names reads back to the same
    numbers, and every automatic definition's indices are those of its first use, read from the text."""
    expr = shared_twice(problem.expr)
    text = str(expr)
    back = ec.parse(text, *problem.declarations(), *expr.free)
    np.testing.assert_allclose(problem.evaluate(back), problem.evaluate(expr), rtol=1e-9, atol=1e-12)
    assert_definitions_take_their_first_uses_names(text)


def assert_definitions_take_their_first_uses_names(text: str) -> None:
    """Every automatic definition in ``text`` has the indices of its first use, read from the text."""
    line, clauses = split(text)
    for at, clause in enumerate(clauses):
        if is_automatic(clause.name):
            uses = (line, *(later.body for later in clauses[at + 1 :]))
            first = next(m for piece in uses for m in re.finditer(rf"(?<!\w){clause.name}(?:\[([^\]]*)\])?", piece))
            assert clause.indices == tuple(filter(None, (first.group(1) or "").split(","))), text


def test_a_definition_first_used_in_a_matrix_inverse_takes_the_names_the_inverse_prints() -> None:
    # inv(X)[p,q] prints its body over p, q: inv(t1[p,q]); the definition of t1 follows that text
    A = ec.tensors("A[m,m]")[0]
    body = ec.parse("(A[i,i]) 1[j] + 2 δ[i,j]", A)
    inverse = ec.inv(body)
    for expr in (inverse["p", "q"] * ec.det(body), ec.sum(inverse["a", "a"]) * ec.det(body)):
        text = str(shared_twice(expr))
        assert_definitions_take_their_first_uses_names(text)
        assert "where t1[p,q]" in text or "inv(t1[i,j])" in text, text


def test_an_explanation_defines_an_intermediate_as_its_lines_first_use_it() -> None:
    """Under ``∂f[j]/∂a[p] = … t1[j] … W[i,j] …`` the definition is ``t1[j] = σ(W[i,j] a[i])``; a rewrite
    ``before = after`` is named from its first line, so a rewrite that only renames the uses of ``t1`` does not
    define it again; the result's own block defines it as that block uses it."""
    W, a, g = ec.tensors("W[nin,nout] a[nin] g[nout]")
    text = ec.explain(ec.parse("σ(W[i,j] a[i])", W, a), a, upstream=g).text()
    clauses = [line.strip() for line in text.splitlines() if line.strip().startswith("where t1")]
    assert clauses == ["where t1[j] = σ(W[i,j] a[i])", "where t1[i] = σ(W[j,i] a[j])"]
    assert "∂f[j]/∂a[p] = ((t1[j] (1 - t1[j]))[j] (W[i,j] (δ[i,p])))[j,p]\n        where t1[j] =" in text
    assert "∂L/∂a[p] = (W[p,i] t1[i] (1 - t1[i]) g[i])[p]\n        where t1[i] =" in text
