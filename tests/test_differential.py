"""Randomized differential tests: every random expression against oracles that share no code with eincalc.

Expressions come from :func:`eincalc.strategies.problems`.  The CI profile runs 100
examples per property; ``--hypothesis-profile=deep`` runs 20,000 (see conftest.py).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import event, given
from hypothesis import strategies as st

import eincalc as ec
from eincalc.calculus.diff import jacobian_raw, vjp_raw
from eincalc.core.expr import Expr
from eincalc.core.indices import Index
from eincalc.core.names import canonical
from eincalc.core.nodes import Add, Const, Contract, One, Tensor, Zero
from eincalc.frontend.parse import parse
from eincalc.frontend.printing import to_einsum, to_latex, to_text
from eincalc.matrix.check import run_numpy
from eincalc.strategies import (
    Problem,
    central_differences,
    finite_difference_jacobian,
    jax_jacobian,
    problems,
    reference_value,
    torch_jacobian,
)

(ABSENT,) = ec.tensors("Z[m,n]")
"""A variable that no drawn expression mentions: every derivative with respect to it is zero."""


@pytest.fixture(scope="module")
def jax() -> Any:
    return pytest.importorskip("jax")


@pytest.fixture(scope="module")
def torch() -> Any:
    return pytest.importorskip("torch")


def assert_close(actual: Any, expected: Any, scale: float = 0.0, what: str = "") -> None:
    """Equal shapes, and entries within 1e-6 of each other relative to the magnitudes involved."""
    actual, expected = np.asarray(actual, dtype=float), np.asarray(expected, dtype=float)
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} != {expected.shape}"
    tolerance = 1e-6 * (1.0 + scale + np.max(np.abs(expected), initial=0.0))
    error = np.max(np.abs(actual - expected), initial=0.0)
    assert error <= tolerance, f"{what}: max error {error:.3g} > {tolerance:.3g}\n{actual}\n!=\n{expected}"


def with_variable(problem: Problem, data: st.DataObject) -> tuple[Problem, Tensor]:
    """A variable to differentiate by (sometimes one the expression does not mention), with its values."""
    wrt = data.draw(st.sampled_from([*problem.tensors, ABSENT]), label="wrt")
    if wrt is ABSENT:
        array = np.random.default_rng(problem.seed).uniform(-1, 1, [problem.sizes[d] for d in ABSENT.spec.dims])
        problem = Problem(problem.expr, problem.sizes, {**problem.values, "Z": array}, problem.positive, problem.seed)
    return problem, wrt


def scalar_loss(problem: Problem) -> tuple[Expr, dict[str, np.ndarray]]:
    """``Σ expr ⊙ G`` for a random upstream ``G``, and the values including ``G``."""
    upstream, g = problem.upstream()
    aligned = Tensor(upstream.spec, problem.expr.free)
    return Contract((problem.expr, aligned), ()), {**problem.values, upstream.spec.name: g}


@given(problems(named=True))
def test_value_matches_the_einsum_reference(problem: Problem) -> None:
    expected = reference_value(problem.expr, problem.values, problem.sizes)
    assert_close(problem.evaluate(), expected, what=str(problem.expr))


@given(problems(named=True))
def test_printed_einsum_computes_the_value(problem: Problem) -> None:
    equation, operands = to_einsum(problem.expr)
    values, sizes = problem.values, problem.sizes  # a tensor operand keeps its own indices: A[i,i] is the array A
    arrays = [values[o.spec.name] if isinstance(o, Tensor) else reference_value(o, values, sizes) for o in operands]
    assert_close(np.einsum(equation, *arrays), problem.evaluate(), what=f"{equation} of {problem.expr}")


@given(problems())
def test_text_reads_back_to_the_same_expression(problem: Problem) -> None:
    """Text reads back with the same value, and ``parse(to_text(e)) == e`` for every ``e`` that ``parse``
    makes, up to the names of summed indices (which the printer may choose afresh).

    An arbitrary tree can hold structure that text does not distinguish (a one-factor product
    around its factor, a sum nested in a sum, ``Zero`` or a ``Const`` of 0), so its first reading
    may regroup; from then on the tree and its text stay the same.  The reader is given only the
    tensors and the expression's free indices.
    """
    declarations = problem.declarations()
    text = to_text(problem.expr)
    back = parse(text, *declarations)
    assert_close(problem.evaluate(back), problem.evaluate(), what=text)
    again = parse(to_text(back), *declarations)
    assert canonical(again) == canonical(back), f"{text} → {to_text(back)} → {to_text(again)}"
    assert to_text(parse(to_text(again), *declarations)) == to_text(again)
    assert to_latex(problem.expr)


@pytest.mark.parametrize("number", [Zero(()), Contract((Contract((Const(2.0),), ()),), ())], ids=["0", "((2))"])
def test_a_factor_that_prints_as_a_number_reads_back_as_a_factor(number: Expr) -> None:
    (tensor,) = ec.tensors("A[n,n,m]")
    i, a = Index("i", "n"), Index("a", "m")
    expr = Contract((Tensor(tensor.spec, (i, i, a)), number), (a,))  # Σ_i A[i,i,a] · number, over a
    back = parse(to_text(expr), tensor)
    values = {"A": np.arange(12.0).reshape(2, 2, 3)}
    assert back.free == expr.free
    assert_close(ec.evaluate(back, values), ec.evaluate(expr, values), what=to_text(expr))


def test_a_subtracted_zero_reads_back_as_the_same_zero() -> None:
    """``a - 0`` subtracts the structural Zero (a lone ``0`` is Zero), so its text is read and printed alike."""
    (tensor,) = ec.tensors("A[m]")
    i = Index("i", "m")
    expr = Add((Tensor(tensor.spec, (i,)), Contract((Const(-1.0), Contract((Zero(()),), ())), ())), (i,))
    back = parse(to_text(expr), tensor, i)
    assert to_text(expr) == "A[i] - (0)"
    assert to_text(back) == to_text(parse(to_text(back), tensor, i)) == "A[i] - 0"
    assert canonical(parse(to_text(back), tensor, i)) == canonical(back)


def test_sibling_sums_over_different_dimensions_print_with_different_names() -> None:
    """``1[i]`` takes its dimension from the other uses of ``i``, so one name never stands for two."""
    (x,) = ec.tensors("x[r]")
    expr = Contract((Tensor(x.spec, (Index("i", "r"),)),), ()) + Contract((One(Index("i", "m")),), ())
    assert to_text(expr) == "Σ(x[i]) + Σ(1[j:m])"  # and j carries its dimension: no tensor tells it
    back = parse(to_text(expr), x)
    values, dims = {"x": np.ones(2)}, {"m": 5}
    assert ec.evaluate(back, values, dims=dims) == ec.evaluate(expr, values, dims=dims) == 7.0


@given(problems(named=True))
def test_simplify_is_idempotent_and_keeps_the_value(problem: Problem) -> None:
    simplified = ec.simplify(problem.expr)
    assert ec.simplify(simplified) == simplified, f"{problem.expr} → {simplified} → {ec.simplify(simplified)}"
    assert_close(problem.evaluate(simplified), problem.evaluate(), what=f"{problem.expr} → {simplified}")


@pytest.mark.parametrize("rows", [False, True])
@given(problem=problems(named=True))
def test_matrix_form_has_the_value_of_the_index_form(problem: Problem, rows: bool) -> None:
    try:
        form = ec.to_matrix(problem.expr, rows=rows)
    except ec.NoMatrixForm as reason:
        assert str(reason)
        return
    assert_close(form.evaluate(problem.values), problem.evaluate(), what=f"{problem.expr} = {form.text}")


def assert_printed_numpy_computes(
    expr: Expr, values: dict[str, Any], sizes: Any, rows: bool, sizes_from: tuple[Tensor, ...] = ()
) -> None:
    """The printed ``.numpy`` of ``to_matrix(expr)``, run with only ``np`` and the arrays, equals the index form.

    An expression with no matrix form must say why; those are counted (``--hypothesis-show-statistics``).
    """
    try:
        form = ec.to_matrix(expr, rows=rows, sizes_from=sizes_from)
    except ec.NoMatrixForm as reason:
        assert str(reason)
        event("no matrix form (NoMatrixForm)")
        return
    event("matrix form")
    expected = ec.evaluate(expr, values, dims=sizes)
    assert_close(run_numpy(form.numpy, values), expected, what=f"{expr} = {form.text}\n  numpy: {form.numpy}")


@given(problems(named=True), st.booleans())
def test_printed_numpy_of_the_matrix_form_computes_the_value(problem: Problem, rows: bool) -> None:
    assert_printed_numpy_computes(problem.expr, dict(problem.values), problem.sizes, rows)


@given(problems(named=True), st.booleans(), st.data())
def test_printed_numpy_of_the_gradient_computes_the_gradient(problem: Problem, rows: bool, data: st.DataObject) -> None:
    problem, wrt = with_variable(problem, data)
    loss, values = scalar_loss(problem)
    assert_printed_numpy_computes(ec.grad(loss, wrt), values, problem.sizes, rows, (wrt,))


@given(problems(max_depth=2, max_size=2, named=True), st.booleans(), st.data())
def test_printed_numpy_of_the_hessian_computes_the_hessian(problem: Problem, rows: bool, data: st.DataObject) -> None:
    """Hessians by vectors and scalars (of rank 2 at most, so that a matrix form can exist)."""
    candidates = [t for t in problem.tensors if t.rank <= 1]
    if candidates:
        wrt = data.draw(st.sampled_from(candidates), label="wrt")
    else:
        problem, wrt = with_variable(problem, data)
    loss, values = scalar_loss(problem)
    assert_printed_numpy_computes(ec.hessian(loss, wrt), values, problem.sizes, rows, (wrt,))


@given(problems(named=True), st.data())
def test_derivatives_match_finite_differences(problem: Problem, data: st.DataObject) -> None:
    problem, wrt = with_variable(problem, data)
    expr, scale = problem.expr, float(np.max(np.abs(problem.evaluate()), initial=0.0))
    numeric = finite_difference_jacobian(problem, expr, wrt)
    for jacobian in (ec.jacobian(expr, wrt), jacobian_raw(expr, wrt)):
        assert_close(problem.evaluate(jacobian), numeric, scale, f"∂({expr})/∂{wrt.spec.name} = {jacobian}")
    upstream, g = problem.upstream()
    expected = np.tensordot(g, numeric, axes=g.ndim)
    values = {**problem.values, upstream.spec.name: g}
    for vjp in (ec.vjp(expr, wrt, upstream), vjp_raw(expr, wrt, upstream)):
        assert_close(problem.evaluate(vjp, values), expected, scale, f"vjp of {expr} by {wrt.spec.name} = {vjp}")
    loss, values = scalar_loss(problem)
    gradient = ec.grad(loss, wrt)
    assert_close(problem.evaluate(gradient, values), expected, scale, f"∇ of {loss} by {wrt.spec.name} = {gradient}")


@given(problems(max_depth=2, max_size=2, named=True), st.data())
def test_hessian_matches_finite_differences_of_the_gradient(problem: Problem, data: st.DataObject) -> None:
    problem, wrt = with_variable(problem, data)
    loss, values = scalar_loss(problem)
    gradient = ec.grad(loss, wrt)
    point = values[wrt.spec.name]
    numeric = central_differences(lambda x: problem.evaluate(gradient, {**values, wrt.spec.name: x}), point)
    hessian = ec.hessian(loss, wrt)
    assert_close(problem.evaluate(hessian, values), numeric, what=f"Hessian of {loss} by {wrt.spec.name} = {hessian}")
    direction = ec.tensors(f"V[{','.join(wrt.spec.dims)}]")[0]
    v = np.random.default_rng(problem.seed + 2).uniform(-1, 1, np.shape(values[wrt.spec.name]))
    expected = np.tensordot(numeric, v, axes=v.ndim)
    assert_close(problem.evaluate(ec.hvp(loss, wrt, direction), {**values, "V": v}), expected, what=f"hvp of {loss}")


@given(problems(), st.data())
def test_jacobian_matches_jax_autodiff(jax: Any, problem: Problem, data: st.DataObject) -> None:
    problem, wrt = with_variable(problem, data)
    expected = jax_jacobian(problem, problem.expr, wrt)
    assert_close(problem.evaluate(ec.jacobian(problem.expr, wrt)), expected, what=f"∂({problem.expr})/∂{wrt.spec.name}")


TORCH_CASES: dict[str, Any] = {
    "sigmoid": ec.sigmoid,
    "relu": ec.relu,
    "softplus": ec.softplus,
    "exp of a number": lambda x: ec.exp(2) * x,
}


@pytest.mark.parametrize("case", TORCH_CASES)
def test_torch_tensors_go_through_every_elementwise_function(torch: Any, case: str) -> None:
    (x,) = ec.tensors("x[n]")
    argument = torch.tensor([0.5, -1.0], dtype=torch.float64, requires_grad=True)
    value = ec.evaluate(TORCH_CASES[case](x), {"x": argument})
    assert isinstance(value, torch.Tensor) and value.requires_grad


@given(problems(), st.data())
def test_jacobian_matches_torch_autograd(torch: Any, problem: Problem, data: st.DataObject) -> None:
    problem, wrt = with_variable(problem, data)
    expected = torch_jacobian(problem, problem.expr, wrt)
    assert_close(problem.evaluate(ec.jacobian(problem.expr, wrt)), expected, what=f"∂({problem.expr})/∂{wrt.spec.name}")
