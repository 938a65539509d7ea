"""A softmax of a contraction skips its shift when a Cauchy–Schwarz bound on the contraction says ``exp`` cannot
overflow or lose precision (`eincalc.numeric.bounds`): the bound holds, the limit is exact, the compiled program
takes the short path only when the bound allows, and its numbers stay those of the index form either way."""

# ruff: noqa: N803 - matrices are capitals (Q, K), as in the formulas they stand for

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from numpy.testing import assert_allclose

import eincalc as ec
from eincalc.numeric import kernels
from eincalc.numeric.binding import bind_sizes
from eincalc.numeric.bounds import contraction_bound, shift_free
from eincalc.numeric.evaluate import EvalContext
from eincalc.strategies import reference_value

FORMS = {
    "a matrix times a transpose": ("ab,cb->ac", [(8, 3), (9, 3)]),
    "a matrix product": ("ab,bc->ac", [(6, 3), (3, 7)]),
    "two summed indices": ("abc,dbc->ad", [(9, 2, 2), (10, 2, 2)]),
    "a batch index": ("zab,zcb->zac", [(2, 8, 3), (2, 9, 3)]),
    "an outer product": ("a,b->ab", [(5,), (6,)]),
}


@pytest.mark.parametrize("name", sorted(FORMS))
@pytest.mark.parametrize("scale", [1e-3, 1.0, 1e3])
def test_the_bound_is_at_least_every_entry_of_the_contraction(name: str, scale: float) -> None:
    equation, shapes = FORMS[name]
    inputs, output = equation.split("->")
    rng = np.random.default_rng(5)
    for coefficient in (0.125, -2.0):
        bound = contraction_bound(tuple(inputs.split(",")), output, coefficient, shapes)
        assert bound is not None
        for _ in range(20):
            a, b = (scale * rng.standard_normal(shape) for shape in shapes)
            largest = float(np.abs(coefficient * np.einsum(equation, a, b)).max())
            assert largest <= bound(a, b) * (1 + 1e-12)


def test_the_bound_is_tight_for_a_row_against_itself() -> None:
    bound = contraction_bound(("ab", "cb"), "ac", 1.0, [(8, 3), (8, 3)])
    assert bound is not None
    a = np.random.default_rng(6).standard_normal((8, 3))
    assert bound(a, a) == pytest.approx(float(np.max(np.einsum("ab,ab->a", a, a))), rel=1e-12)


@pytest.mark.parametrize(
    ("inputs", "output", "shapes"),
    [
        (("aa", "ab"), "ab", [(4, 4), (4, 4)]),  # a repeated index
        (("ab", "cd"), "ac", [(4, 4), (4, 4)]),  # b and d each summed in one operand only
        (("ab", "cb"), "ac", [(4, 100), (4, 100)]),  # operands larger than the result: the bound costs more
        (("ab", "bc", "cd"), "ad", [(4, 4)] * 3),  # three operands
    ],
)
def test_no_bound_where_cauchy_schwarz_does_not_apply_or_does_not_pay(
    inputs: tuple[str, ...], output: str, shapes: list[tuple[int, ...]]
) -> None:
    assert contraction_bound(inputs, output, 1.0, shapes) is None


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_at_the_shift_free_limit_every_exponential_is_normal_and_the_softmax_exact(dtype: Any) -> None:
    count = 512
    limit = next(x for x in np.linspace(800.0, 0.0, 160001) if shift_free(float(x), dtype, count))
    assert not shift_free(limit + 0.01, dtype, count)
    x = np.linspace(-limit, limit, count).astype(dtype)[None, :]
    x[0, -8:] = limit  # eight entries at the top: their exponentials sum near the largest finite number
    e = np.exp(x)
    assert e.min() >= np.finfo(dtype).tiny and np.isfinite(e.sum())
    unshifted = kernels.softmax_into(x, 1, np.empty_like(x), bound=limit)
    shifted = kernels.softmax_into(x, 1, np.empty_like(x))
    tiny = np.finfo(dtype).tiny  # results below it are subnormal (or 0) either way
    assert_allclose(unshifted, shifted, rtol=1e-12 if dtype == np.float64 else 1e-5, atol=tiny)


class _CountsMax(np.ndarray):
    """An array that counts calls of its ``max`` (the shift's pass)."""

    calls = 0

    def max(self, *args: Any, **kwargs: Any) -> Any:
        _CountsMax.calls += 1
        return super().max(*args, **kwargs)


@pytest.mark.parametrize(("bound", "passes"), [(math.inf, 1), (float("nan"), 1), (800.0, 1), (3.0, 0)])
def test_the_softmax_shifts_unless_the_bound_allows_otherwise(bound: float, passes: int) -> None:
    x = np.random.default_rng(7).standard_normal((4, 6)).view(_CountsMax)
    _CountsMax.calls = 0
    got = kernels.softmax_into(x, 1, np.empty((4, 6)), bound=bound)
    assert _CountsMax.calls == passes
    e = np.exp(np.asarray(x) - np.asarray(x).max(axis=1, keepdims=True))
    assert_allclose(got, e / e.sum(axis=1, keepdims=True), rtol=1e-13)


def _attention(T: int, d: int, axis: int = 1) -> list[ec.Expr]:
    Q, K, V, G = ec.tensors("Q[t,d] K[s,d] V[s,e] G[t,e]")
    S = ec.let("S", ec.softmax(Q @ K.T * (1 / np.sqrt(d)), axis=axis))
    return list(ec.grad(ec.sum(S @ V * G), [Q, K, V]))


def _bounds_taken(f: Any, values: dict[str, np.ndarray]) -> list[float]:
    """The bounds the NumPy plan of ``f`` (called once on ``values``) computes on ``values``."""
    plan = next(iter(f._plans.values()))[1]
    sizes = bind_sizes(list(f.program.specs.values()), values, {})
    slots = plan.run(EvalContext(values, sizes, np, np.dtype(np.float64)), np.dtype(np.float64), keep=False)
    return [slots[s] for s in plan._bound_slots.values()]


@pytest.mark.parametrize("axis", [1, 0])
@pytest.mark.parametrize(("scale", "shifts"), [(1.0, False), (400.0, True), (math.nan, True)])
def test_compiled_attention_skips_the_shift_only_when_its_bound_allows(axis: int, scale: float, shifts: bool) -> None:
    T, d = 40, 3
    outputs = _attention(T, d, axis)
    rng = np.random.default_rng(8)
    values = {name: rng.standard_normal((T, d)) for name in "QKVG"}
    values["Q"] = values["Q"] * scale  # 400: scores in the thousands, beyond exp's range
    f = ec.compile(outputs)
    got = f(values)
    (bound,) = _bounds_taken(f, values)
    assert shift_free(bound, np.float64, T) is not shifts
    if math.isnan(scale):
        assert all(np.isnan(g).any() for g in got[:2])
        return
    sizes = bind_sizes(list(f.program.specs.values()), values, {})
    for expr, value in zip(outputs, got, strict=True):
        assert np.isfinite(value).all()
        assert_allclose(value, reference_value(expr, values, sizes), rtol=1e-9, atol=1e-9)


def test_a_softmax_of_logits_with_a_long_summed_index_keeps_its_shift() -> None:
    X, W = ec.tensors("X[n,k] W[k,c]")
    f = ec.compile(ec.softmax(X @ W, axis=1))
    rng = np.random.default_rng(9)
    values = {"X": rng.standard_normal((8, 300)), "W": rng.standard_normal((300, 4))}
    assert_allclose(f(values).sum(axis=1), 1.0, rtol=1e-12)
    assert _bounds_taken(f, values) == []


@pytest.mark.parametrize(("dtype", "tolerance"), [(np.float16, 1e-2), (np.longdouble, 1e-14)])
def test_a_compiled_softmax_of_a_product_in_half_or_long_double_precision_matches_float64(
    dtype: Any, tolerance: float
) -> None:
    Q, K = ec.tensors("Q[t,d] K[s,d]")
    f = ec.compile(ec.softmax(Q @ K.T, axis=1))
    rng = np.random.default_rng(10)
    q, k = 0.5 * rng.standard_normal((40, 3)), 0.5 * rng.standard_normal((40, 3))
    got = f(Q=q.astype(dtype), K=k.astype(dtype))  # long double: its limit's logs overflowed float64 once
    assert got.dtype == dtype and shift_free(1.0, dtype, 40)
    e = np.exp(q @ k.T - (q @ k.T).max(axis=1, keepdims=True))
    assert_allclose(got.astype(np.float64), e / e.sum(axis=1, keepdims=True), rtol=tolerance, atol=tolerance)


@pytest.mark.parametrize(
    ("dtype", "coefficient", "q", "k"),
    [
        (np.float64, 1e300, 1e-170, 1e-100),  # q² underflows to 0: the bound would be 0 against scores of 1e30
        (np.float32, 1e30, 1e-25, 1e-2),
        (np.longdouble, 1e300, 1e-162, 1e-100),  # below float64's range: a float() of the squares was 0
        (np.float16, 1e4, 5e-5, 50.0),
        (np.float16, 140.0, 2.99e-4, 250.0),  # q² = 8.94e-8 is subnormal in float16, and rounds to 5.96e-8
    ],
)
def test_the_bound_holds_when_the_operands_squares_underflow(
    dtype: Any, coefficient: float, q: float, k: float
) -> None:
    Q, K = ec.tensors("Q[t,d] K[s,d]")
    f = ec.compile(ec.softmax(Q @ K.T * coefficient, axis=1))  # a large constant: a softmax temperature
    keys = (k * np.array([[1, 0], [2, 0], [0, 0], [-1, 0]])).astype(dtype)  # scores c·q·k·(1, 2, 0, −1) per row
    got = f(Q=np.full((4, 2), q, dtype), K=keys)
    assert_allclose(got.astype(np.float64), np.tile([0.0, 1.0, 0.0, 0.0], (4, 1)), atol=1e-3)
    bound = contraction_bound(("ab", "cb"), "ac", coefficient, [(4, 2), (4, 2)])
    assert bound is not None
    assert bound(np.full((4, 2), q, dtype), keys) >= abs(coefficient) * 2 * q * k


def test_a_float32_softmax_of_wide_flat_rows_is_as_accurate_as_numpys() -> None:
    Q, K = ec.tensors("Q[t,d] K[s,d]")
    f = ec.compile(ec.softmax(Q @ K.T, axis=1))
    width = 4096  # equal entries: a sum accumulated one by one drifts by 7.7e-6 here, a pairwise one by 2.4e-7
    got = f(Q=np.full((4, 1), 0.1, np.float32), K=np.full((width, 1), 0.1, np.float32))
    assert_allclose(got, 1 / width, rtol=1e-6)
