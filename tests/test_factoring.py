"""Sums of contractions sharing factors are lowered factored (issue 14, item 7): one pass over the shared data.

The oracle evaluates each term of the sum on its own (a lone contraction, which nothing factors) and adds them.
"""

# ruff: noqa: N803 - matrices are capitals (X), as in the formulas they stand for

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, event, given
from hypothesis import strategies as st

import eincalc as ec
from eincalc.core.expr import Expr
from eincalc.core.indices import Index, TensorSpec
from eincalc.core.nodes import Add, Const, Contract, Tensor
from eincalc.frontend.parse import parse
from eincalc.numeric.factoring import factor_shared
from eincalc.numeric.lowering import lower
from eincalc.numeric.program import Contraction, Load, Program
from eincalc.testing.strategies import Problem, problems, reference_value

SIZES = {"m": 4, "n": 3, "r": 5, "s": 6}
DECLARED = "A[m,n] B[n,r] C[m,n] D[n,r] u[m] v[m] X[s,n] a[s] b[s] c[r]"


def _values(seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    specs = [t.spec for t in ec.tensors(DECLARED)]
    return {spec.name: rng.standard_normal([SIZES[d] for d in spec.dims]) for spec in specs}


def _read(text: str) -> Expr:
    return parse(text, *ec.tensors(DECLARED))


def _aligned(value: np.ndarray, free: tuple[Index, ...], out: tuple[Index, ...]) -> np.ndarray:
    return np.transpose(value, [free.index(k) for k in out])


def _term_by_term(expr: Add, values: dict[str, np.ndarray]) -> np.ndarray:
    return sum(_aligned(np.asarray(ec.evaluate(t, values)), t.free, expr.out) for t in expr.terms)


def _contractions(program: Program) -> int:
    return sum(isinstance(op, Contraction) for op in program.ops)


FACTORED = [
    "A[i,j] B[j,k] + C[i,j] B[j,k]",  # the shared factor on the right
    "2 A[i,j] B[j,k] - 3 A[i,j] D[j,k]",  # on the left, with coefficients
    "A[j,i] u[j] + v[j] A[j,i] - 0.5 A[j,i] sigmoid(u[j])",  # transposed, three terms
    "u[i] A[i,j] B[j,k] + B[j,k] A[i,j] v[i]",  # two shared factors, summed indices named apart
    "A[i,j] A[k,j] + A[i,j] C[k,j]",  # a factor shared with itself
]


@pytest.mark.parametrize("text", FACTORED)
def test_a_sum_of_contractions_sharing_factors_lowers_to_one_contraction(text: str) -> None:
    expr = _read(text)
    assert isinstance(expr, Add) and _contractions(lower(list(expr.terms))) >= len(expr.terms)
    assert _contractions(lower([expr])) == 1
    values = _values()
    np.testing.assert_allclose(ec.evaluate(expr, values), _term_by_term(expr, values), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(
    "text",
    [
        "X[i,p] a[i] + X[i,p] b[i] c[q]",  # factored, the rest b[i] c[q] would be an outer product over X's rows
        "A[i,j] B[j,k] u[i] - A[i,j] D[j,k] v[i] c[k]",  # a rest of two factors over indices
        "X[i,p] a[i] + 2 X[i,p]",  # the second term varies along i, the first is constant along it
    ],
)
def test_sums_where_factoring_could_cost_more_are_left_as_they_are(text: str) -> None:
    expr = _read(text)
    assert factor_shared([expr]) == [expr]


def test_a_term_read_elsewhere_too_is_not_factored_away() -> None:
    """``Xᵀa`` is an output of its own: factoring ``Xᵀa + Xᵀb`` would add a contraction, not save one."""
    alone, total = _read("X[i,p] a[i]"), _read("X[i,p] a[i] + X[i,p] b[i]")
    assert factor_shared([alone, total]) == [alone, total]
    assert str(factor_shared([total])[0]) == "X[i,p] (a[i] + b[i])"


def _against_two_upstreams(problem: Problem) -> tuple[Expr, dict[str, np.ndarray]]:
    """``Σ expr ⊙ U − Σ expr ⊙ V`` for random ``U`` and ``V``: the adjoint of ``expr`` is a sum, which the
    simplifier distributes over a contraction with the variable (as in the logistic gradient)."""
    free = problem.expr.free
    rng = np.random.default_rng(problem.seed)
    U, V = (Tensor(TensorSpec(name, problem.expr.shape), free) for name in ("U", "V"))
    loss = Add((Contract((problem.expr, U), ()), Contract((Const(-1.0), problem.expr, V), ())), ())
    arrays = {name: rng.uniform(-1, 1, [problem.sizes[d] for d in problem.expr.shape]) for name in ("U", "V")}
    return loss, {**problem.values, **arrays}


@given(problems(max_depth=3), st.data())
def test_factoring_random_gradients_keeps_their_values(problem: Problem, data: st.DataObject) -> None:
    """Gradients are where distributed sums come from; the factored form against a plain einsum walk."""
    tensors = sorted({t.spec.name: t for t in ec.testing.declared(problem.expr).values()}.items())
    assume(tensors)
    _, wrt = data.draw(st.sampled_from(tensors))
    loss, values = _against_two_upstreams(problem)
    gradient = ec.grad(loss, ec.tensors(f"{wrt.spec.name}[{','.join(wrt.spec.dims)}]")[0])
    (factored,) = factor_shared([gradient])
    event("factored" if factored is not gradient else "left as it was")
    want = reference_value(gradient, values, problem.sizes)
    np.testing.assert_allclose(reference_value(factored, values, problem.sizes), want, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(ec.compile(gradient, dims=problem.sizes)(values), want, rtol=1e-9, atol=1e-12)


def _logistic() -> Expr:
    X, y, w = ec.tensors("X[b,n] y[b] w[n]")
    return ec.grad(ec.binary_cross_entropy(X @ w, y), w)


def _passes_over_rows(program: Program, name: str) -> int:
    """Contractions that sum a loaded tensor ``name`` over its first axis (its rows)."""
    loads = {n for n, op in enumerate(program.ops) if isinstance(op, Load) and op.name == name}
    return sum(
        1
        for op in program.ops
        if isinstance(op, Contraction)
        for slot, letters in zip(op.args, op.inputs, strict=True)
        if slot in loads and letters[0] not in op.output
    )


def _logistic_values(rows: int = 40, cols: int = 3) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(1)
    return {"X": rng.standard_normal((rows, cols)), "y": rng.integers(0, 2, rows) * 1.0, "w": rng.standard_normal(cols)}


def _closed_form(X: np.ndarray, y: np.ndarray, w: np.ndarray) -> np.ndarray:
    return X.T @ (1 / (1 + np.exp(-(X @ w))) - y)


def test_the_logistic_gradient_contracts_x_over_its_rows_once() -> None:
    gradient = _logistic()
    assert str(gradient) == "X[i,p] σ(X[i,j] w[j]) - y[i] X[i,p]"  # the printed form is the simplifier's, as before
    program = ec.compile(gradient).program
    assert _passes_over_rows(program, "X") == 1
    assert _contractions(program) == 2  # X w forward, Xᵀ(σ(X w) − y) back
    values = _logistic_values()
    np.testing.assert_allclose(ec.compile(gradient)(values), _closed_form(**values), rtol=1e-12)
    np.testing.assert_allclose(ec.compile(gradient)(values), _term_by_term(gradient, values), rtol=1e-12)


def test_the_logistic_gradient_on_dask_reads_x_in_as_many_layers_as_the_hand_written_one() -> None:
    da = pytest.importorskip("dask.array")
    gradient = _logistic()
    values = _logistic_values()
    X = da.from_array(values["X"], chunks=(10, 3))
    got = ec.compile(gradient)(X=X, y=da.from_array(values["y"], chunks=10), w=values["w"])
    hand = X.T @ (1 / (1 + da.exp(-(X @ values["w"]))) - values["y"])

    def layers_reading_x(array: object) -> int:
        graph = array.__dask_graph__()  # type: ignore[attr-defined]
        return sum(X.name in deps for deps in graph.dependencies.values())

    assert isinstance(got, da.Array)
    assert layers_reading_x(got) == layers_reading_x(hand) == 2
    np.testing.assert_allclose(got.compute(), _closed_form(**values), rtol=1e-12)
