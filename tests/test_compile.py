"""Compiled evaluation: one shared program for many outputs, GEMMs as GEMMs, fused kernels, array backends."""

# ruff: noqa: N803 - matrices are capitals (W, X), as in the formulas they stand for

from __future__ import annotations

import importlib
import importlib.util
import subprocess
import sys
import tracemalloc
from typing import Any

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose

import eincalc as ec
from eincalc.numeric import fastpath, runtime
from eincalc.numeric.evaluate import CompiledFunction
from eincalc.numeric.lowering import lower
from eincalc.numeric.program import Contraction, Custom, Elementwise, Fill
from eincalc.strategies import Problem, problems, reference_value


def mlp() -> tuple[ec.Expr, list[ec.Expr], tuple[ec.Expr, ...]]:
    """B1's network, small: two sigmoid layers and a softmax cross-entropy, gradients for every parameter."""
    X, Y, W1, b1, W2, b2, W3, b3 = ec.tensors("X[B,D] Y[B,C] W1[D,H] b1[H] W2[H,K] b2[K] W3[K,C] b3[C]", simplex="Y")
    h1 = ec.let("h1", ec.sigmoid(X @ W1 + b1))
    h2 = ec.let("h2", ec.sigmoid(h1 @ W2 + b2))
    loss = ec.cross_entropy(h2 @ W3 + b3, Y)
    params = (W1, b1, W2, b2, W3, b3)
    return loss, [ec.grad(loss, w) for w in params], params


def mlp_values(seed: int = 0, batch: int = 6) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    shapes = {"X": (batch, 7), "W1": (7, 5), "b1": (5,), "W2": (5, 4), "b2": (4,), "W3": (4, 3), "b3": (3,)}
    values = {name: rng.standard_normal(shape) for name, shape in shapes.items()}
    values["Y"] = np.eye(3)[rng.integers(0, 3, batch)]
    return values


def backprop(X: Any, Y: Any, W1: Any, b1: Any, W2: Any, b2: Any, W3: Any, b3: Any) -> tuple[Any, ...]:
    """The textbook NumPy backward pass: the oracle for the compiled gradients."""
    h1 = 1 / (1 + np.exp(-(X @ W1 + b1)))
    h2 = 1 / (1 + np.exp(-(h1 @ W2 + b2)))
    z = h2 @ W3 + b3
    z = z - z.max(axis=1, keepdims=True)
    p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    loss = -(Y * np.log(p)).sum()
    d3 = p - Y
    d2 = (d3 @ W3.T) * h2 * (1 - h2)
    d1 = (d2 @ W2.T) * h1 * (1 - h1)
    return loss, X.T @ d1, d1.sum(0), h1.T @ d2, d2.sum(0), h2.T @ d3, d3.sum(0)


def test_loss_and_all_gradients_match_hand_written_backprop() -> None:
    loss, grads, _ = mlp()
    values = mlp_values()
    for got, want in zip(ec.compile([loss, *grads])(values), backprop(**values), strict=True):
        assert_allclose(got, want, rtol=1e-10, atol=1e-12)


def test_forward_intermediates_are_computed_once_for_all_outputs() -> None:
    loss, grads, _ = mlp()
    program = lower([loss, *grads])
    kernels = [op for op in program.ops if isinstance(op, Elementwise)]
    sigmoids = sum(repr(op.tree).count("'sigmoid'") for op in kernels)
    assert sigmoids == 2  # h1 and h2, shared by the loss and all six gradients
    custom = sorted(op.node.fn for op in program.ops if isinstance(op, Custom))
    assert custom == ["log_softmax", "softmax"]  # ŷ once, though three gradients use it
    products = [op for op in program.ops if isinstance(op, Contraction) and len(op.args) == 2]
    assert len(products) == 3 + 2 + 3 + 1  # forward, back through W3 and W2, weight gradients, Σ Y ⊙ log ŷ


def test_equal_values_under_different_index_names_share_one_slot() -> None:
    x, y = ec.tensors("x[n] y[n]")
    i, p = ec.indices("i p")
    first = ec.tanh(x[i]) * y[i]
    second = ec.tanh(x[p]) * y[p]
    assert first is second  # a summed index is named by its node alone: one interned node
    f = ec.compile([first, second])
    assert len({r.slot for r in f.program.outputs}) == 1


def test_a_matrix_product_runs_as_one_gemm_without_einsum(monkeypatch: pytest.MonkeyPatch) -> None:
    X, W, Y = ec.tensors("X[b,n] W[n,m] Y[b,m]")
    gradient = ec.grad(ec.sum((X @ W - Y) ** 2), W)  # 2 Xᵀ (X W − Y)
    rng = np.random.default_rng(1)
    values = {"X": rng.standard_normal((9, 4)), "W": rng.standard_normal((4, 3)), "Y": rng.standard_normal((9, 3))}
    f = ec.compile(gradient)

    def forbidden(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("a matrix product went through einsum")

    monkeypatch.setattr(np, "einsum", forbidden)
    monkeypatch.setattr(runtime.opt_einsum, "contract", forbidden)
    expected = 2 * values["X"].T @ (values["X"] @ values["W"] - values["Y"])
    assert_allclose(f(values), expected, rtol=1e-12)


@pytest.mark.parametrize("order", ["C", "F"])
@pytest.mark.parametrize(("m", "k", "n"), [(3, 5, 4), (40, 300, 2), (2, 300, 40), (1, 7, 1)])
def test_either_gemm_orientation_gives_the_product(order: str, m: int, k: int, n: int) -> None:
    rng = np.random.default_rng(m * k * n)
    a = np.asarray(rng.standard_normal((m, k)), order=order)
    b = np.asarray(rng.standard_normal((k, n)), order=order)
    for output in ("ac", "ca"):
        for out in (None, np.full(m * n + 3, np.nan)):  # a new array, or the start of a planned buffer
            value = fastpath.numpy_contraction(("ab", "bc"), output, [a.shape, b.shape]).run([a, b], out)
            assert_allclose(value if output == "ac" else value.T, a @ b, rtol=1e-12)


def test_gemm_orientation_puts_the_small_dimension_first_for_long_thin_products() -> None:
    tall, thin = np.ones((10_000, 500)), np.ones((10_000, 10))
    assert runtime.gemm_swaps(500, 10_000, 10, tall.T, thin)  # Xᵀ R computed as (Rᵀ X)ᵀ
    assert not runtime.gemm_swaps(10, 10_000, 500, thin.T, tall)
    square = np.ones((64, 64))
    assert not runtime.gemm_swaps(64, 64, 64, square, square)
    assert runtime.gemm_swaps(64, 64, 64, square.T, square.T)  # Aᵀ Bᵀ = (B A)ᵀ: both operands as stored
    assert runtime.gemm_swaps(64, 64, 64, square.T, square.T, wanted=False)  # even where the direct one is wanted
    assert runtime.gemm_swaps(64, 64, 64, square, square, wanted=True)
    X, R = np.ones((256, 784)), np.ones((256, 512))
    assert runtime.gemm_swaps(784, 256, 512, X.T, R)  # Xᵀ R as (Rᵀ X)ᵀ: the smaller side leads
    assert not runtime.gemm_swaps(512, 256, 784, R.T, X)


def test_logistic_hessian_never_builds_the_diagonal_matrix() -> None:
    X, y, w = ec.tensors("X[b,n] y[b] w[n]")
    hessian = ec.hessian(ec.sum(ec.softplus(X @ w) - y * (X @ w)), w)  # Xᵀ diag(σ'(Xw)) X
    program = lower([hessian])
    assert not any(isinstance(op, Fill) for op in program.ops)
    assert all(op.dims.count("b") <= 1 for op in program.ops)  # nothing b × b
    rng = np.random.default_rng(2)
    values = {"X": rng.standard_normal((3000, 5)), "y": rng.integers(0, 2, 3000) * 1.0, "w": rng.standard_normal(5)}
    p = 1 / (1 + np.exp(-values["X"] @ values["w"]))
    f = ec.compile(hessian)
    f(values)
    tracemalloc.start()
    got = f(values)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert_allclose(got, values["X"].T @ (values["X"] * (p * (1 - p))[:, None]), rtol=1e-10)
    assert peak < 3000 * 5 * 8 * 4  # a few copies of X at most, never 3000²


def test_kernels_fuse_and_write_into_the_gemm_result() -> None:
    X, W, b = ec.tensors("X[b,n] W[n,m] b[m]")
    program = lower([ec.sigmoid(X @ W + b)])
    assert sum(isinstance(op, Elementwise) for op in program.ops) == 1
    values = {"X": np.ones((200, 30)), "W": np.full((30, 100), 0.01), "b": np.zeros(100)}
    f = ec.compile(ec.sigmoid(X @ W + b))
    f(values)
    plan = next(iter(f._plans.values()))[1]
    assert plan.memory.placements[-1].donor == 0  # σ(· + b) in place on the new array of X @ W
    assert plan.memory.sizes == []
    tracemalloc.start()
    f(values)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 2.5 * 200 * 100 * 8  # the GEMM result, reused; not one array per operation


def test_inputs_are_never_overwritten_and_calls_are_independent() -> None:
    loss, grads, _ = mlp()
    values = mlp_values(3)
    before = {k: v.copy() for k, v in values.items()}
    f = ec.compile([loss, *grads])
    first = [np.array(r, copy=True) for r in f(values)]
    kept = f(values)
    f(mlp_values(4))
    for name in values:
        assert_allclose(values[name], before[name], rtol=0, atol=0)
    for a, b in zip(first, kept, strict=True):
        assert_allclose(a, b, rtol=0, atol=0)


def test_plans_are_cached_per_shape_signature_and_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    module = importlib.import_module("eincalc.numeric.evaluate")
    planned: list[int] = []
    original = module._numpy_plan
    monkeypatch.setattr(module, "_numpy_plan", lambda *args: planned.append(1) or original(*args))
    x, A = ec.tensors("x[n] A[n,n]")
    f = ec.compile(ec.grad(x @ A @ x, x))
    for _ in range(3):
        f(x=np.ones(3), A=np.eye(3))
    assert len(planned) == 1
    for n in range(1, 2 * CompiledFunction.MAX_PLANS):
        f(x=np.ones(n), A=np.eye(n))
    assert len(f._plans) == CompiledFunction.MAX_PLANS


@settings(max_examples=60, deadline=None)
@given(problems(max_depth=3))
def test_compiled_values_match_an_independent_einsum_walk(problem: Problem) -> None:
    expected = reference_value(problem.expr, problem.values, problem.sizes)
    f = ec.compile(problem.expr, dims=problem.sizes)
    for _ in range(2):  # the second call reuses the buffers the first one planned and left
        assert_allclose(f(problem.values), expected, rtol=1e-9, atol=1e-12)


@settings(max_examples=30, deadline=None)
@given(problems(max_depth=2), st.data())
def test_an_expression_and_its_gradients_compiled_together_match_each_alone(problem: Problem, data: Any) -> None:
    tensors = sorted({t.spec.name: t for t in ec.testing.declared(problem.expr).values()}.items())
    assume(tensors)
    _, wrt = data.draw(st.sampled_from(tensors))
    loss = ec.sum(problem.expr) if problem.expr.free else problem.expr
    outputs = [loss, ec.grad(loss, ec.tensors(f"{wrt.spec.name}[{','.join(wrt.spec.dims)}]")[0])]
    together = ec.compile(outputs, dims=problem.sizes)(problem.values)
    for expr, value in zip(outputs, together, strict=True):
        assert_allclose(value, reference_value(expr, problem.values, problem.sizes), rtol=1e-9, atol=1e-12)


@settings(max_examples=30, deadline=None)
@given(problems(max_depth=3))
def test_the_general_path_agrees_with_the_numpy_fast_path(problem: Problem) -> None:
    assume(problem.values)
    mixed = dict(problem.values)
    first = sorted(mixed)[0]
    mixed[first] = mixed[first].astype(np.float32)  # two dtypes: no fast path, every operation non-mutating
    expected = reference_value(problem.expr, mixed, problem.sizes)
    got = ec.compile(problem.expr, dims=problem.sizes)(mixed)
    # what involves only the float32 tensor is computed in float32 (all of it, when that is the only tensor): its
    # rounding scales with the values' size (seed 336: 2.8e-6 off on entries up to 8)
    scale = 1.0 + float(np.max(np.abs(expected), initial=0.0))
    assert_allclose(got, expected, rtol=1e-4, atol=1e-5 * scale)


def test_dask_arrays_go_in_and_come_out_chunked() -> None:
    da = pytest.importorskip("dask.array")
    loss, grads, _ = mlp()
    values = mlp_values(5, batch=40)
    chunked = {
        k: da.from_array(v, chunks=(10, *v.shape[1:])) if k in "XY" else da.from_array(v) for k, v in values.items()
    }
    results = ec.compile([loss, *grads])(chunked)
    assert all(isinstance(r, da.Array) for r in results)
    for got, want in zip(results, backprop(**values), strict=True):
        assert_allclose(got.compute(), want, rtol=1e-10, atol=1e-12)


def test_torch_gradients_flow_through_a_compiled_program() -> None:
    torch = pytest.importorskip("torch")
    W, x = ec.tensors("W[m,n] x[n]")
    f = ec.compile(ec.sum(ec.tanh(W @ x) ** 2))
    w = torch.randn(3, 4, dtype=torch.float64, requires_grad=True)
    v = torch.randn(4, dtype=torch.float64)
    value = f(W=w, x=v)
    assert isinstance(value, torch.Tensor)
    value.backward()
    assert w.grad is not None
    symbolic = ec.compile(ec.grad(ec.sum(ec.tanh(W @ x) ** 2), W))(W=w.detach().numpy(), x=v.numpy())
    assert_allclose(w.grad.numpy(), symbolic, rtol=1e-10)


def test_jax_arrays_stay_jax_and_differentiate() -> None:
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    W, x = ec.tensors("W[m,n] x[n]")
    f = ec.compile(ec.sum(ec.tanh(W @ x) ** 2))
    w, v = np.random.default_rng(6).standard_normal((3, 4)), np.ones(4)
    gradient = jax.grad(lambda w_: f(W=w_, x=jax.numpy.asarray(v)))(jax.numpy.asarray(w))
    symbolic = ec.compile(ec.grad(ec.sum(ec.tanh(W @ x) ** 2), W))(W=w, x=v)
    assert_allclose(np.asarray(gradient), symbolic, rtol=1e-10)


def test_eincalc_imports_no_array_framework() -> None:
    script = (
        "import sys, numpy as np, eincalc as ec\n"
        "W, a = ec.tensors('W[m,n] a[n]')\n"
        "ec.compile(ec.grad(ec.sum(ec.tanh(W @ a)), W))(W=np.ones((2, 3)), a=np.ones(3))\n"
        "print(sorted(m for m in ('torch', 'jax', 'cupy', 'dask', 'tensorflow') if m in sys.modules))\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
