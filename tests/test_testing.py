"""The public numeric checks in eincalc.testing: they catch a wrong derivative and say what they lack."""

from __future__ import annotations

import sys

import numpy as np
import pytest

import eincalc as ec
from eincalc.core.indices import Index
from eincalc.testing import check_grad, check_jacobian, check_vjp, numeric_jacobian, random_values

x, W, g = ec.tensors("x[n] W[m,n] g[m]")


def test_a_dimension_no_array_has_comes_from_dims() -> None:
    expr = ec.sum(ec.parse("x[i] x[i] 1[j]", x, Index("j", "m")))  # m sizes only the ones: Σ_j |x|² = m |x|²
    values = {"x": np.array([1.0, 2.0, 3.0])}
    with pytest.raises(ec.ShapeError, match=r"size of dimension 'm' unknown; pass dims=\{'m': ...\}"):
        numeric_jacobian(expr, x, values)
    np.testing.assert_allclose(numeric_jacobian(expr, x, values, dims={"m": 4}), 8 * values["x"], rtol=1e-8)
    assert check_grad(expr, x, values, dims={"m": 4}) < 1e-6
    assert check_jacobian(expr, x, values, dims={"m": 4}) < 1e-6


def test_the_variable_needs_a_value() -> None:
    with pytest.raises(ec.UnknownNameError, match=r"no value given for the variable 'W' \(declared W\[m,n\]\)"):
        check_grad(ec.sum(x), W, {"x": np.ones(3)})


def test_a_wrong_derivative_is_caught() -> None:
    values = random_values(W @ x, {"m": 2, "n": 3}, seed=1)
    wrong = numeric_jacobian(W @ x, x, values) + 1e-3
    right = np.asarray(ec.evaluate(ec.jacobian(W @ x, x), values))
    assert np.max(np.abs(wrong - right)) > 1e-4
    assert check_jacobian(W @ x, x, values) < 1e-8


def test_vjp_check_contracts_the_upstream_gradient() -> None:
    values = random_values(ec.tanh(W @ x) + g, {"m": 2, "n": 3}, seed=2)
    assert check_vjp(ec.tanh(W @ x), W, g, values) < 1e-8


def test_random_values_name_the_missing_size() -> None:
    with pytest.raises(ec.ShapeError, match=r"no size given for dimension m of W; pass sizes=\{'m': \.\.\.\}"):
        random_values(W @ x, {"n": 3})


def test_the_strategies_are_reachable_from_testing_and_name_their_dependency(monkeypatch: pytest.MonkeyPatch) -> None:
    import eincalc.strategies as strategies
    import eincalc.testing as testing

    assert testing.problems is strategies.problems
    monkeypatch.setitem(sys.modules, "hypothesis", None)  # as if hypothesis were not installed
    monkeypatch.delitem(sys.modules, "eincalc.strategies")
    monkeypatch.delitem(sys.modules, "eincalc.testing.strategies")
    monkeypatch.delattr(testing, "strategies")
    monkeypatch.delattr(ec, "strategies")
    with pytest.raises(ModuleNotFoundError, match=r"eincalc.testing.problems needs hypothesis: pip install"):
        testing.problems  # noqa: B018
