"""Compiled evaluation: one shared program for many outputs, GEMMs as GEMMs, fused kernels, array backends."""

# ruff: noqa: N803 - matrices are capitals (W, X), as in the formulas they stand for

from __future__ import annotations

import concurrent.futures
import importlib
import importlib.util
import itertools
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
from eincalc import elementwise, fastpath, runtime
from eincalc.evaluate import CompiledFunction, bind_sizes
from eincalc.lowering import lower
from eincalc.memory import FRESH, Need, plan_memory
from eincalc.program import Contraction, Custom, Elementwise, Fill
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
    module = importlib.import_module("eincalc.evaluate")
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
    assert_allclose(got, expected, rtol=1e-5, atol=1e-6)


def test_dask_arrays_go_in_and_come_out_chunked() -> None:
    da = pytest.importorskip("dask.array")
    loss, grads, _ = mlp()
    values = mlp_values(5, batch=40)
    chunked = {k: da.from_array(v, chunks=(10, *v.shape[1:])) if k in "XY" else da.from_array(v)
               for k, v in values.items()}
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


# -- issue 17: planned buffers, in-place kernels, every backend ---------------------------------------


def attention(T: int = 24, d: int = 5) -> tuple[list[ec.Expr], dict[str, np.ndarray]]:
    """B4's gradients of Σ softmax(Q Kᵀ/√d) V ⊙ G for Q, K and V."""
    Q, K, V, G = ec.tensors("Q[t,d] K[s,d] V[s,e] G[t,e]")
    S = ec.let("S", ec.softmax(Q @ K.T * (1 / np.sqrt(d)), axis=1))
    loss = ec.sum(S @ V * G)
    rng = np.random.default_rng(17)
    return list(ec.grad(loss, [Q, K, V])), {name: rng.standard_normal((T, d)) for name in "QKVG"}


def least_squares(rows: int = 40, cols: int = 6, outputs: int = 3) -> tuple[list[ec.Expr], dict[str, np.ndarray]]:
    """‖X W − Y‖² and its gradient, sharing the residual."""
    X, W, Y = ec.tensors("X[b,n] W[n,m] Y[b,m]")
    loss = ec.sum((X @ W - Y) ** 2)
    rng = np.random.default_rng(18)
    values = {"X": rng.standard_normal((rows, cols)), "W": rng.standard_normal((cols, outputs)),
              "Y": rng.standard_normal((rows, outputs))}
    return [loss, ec.grad(loss, W)], values


def _programs() -> dict[str, tuple[list[ec.Expr], dict[str, np.ndarray]]]:
    loss, grads, _ = mlp()
    return {"mlp": ([loss, *grads], mlp_values(7, batch=9)), "attention": attention(), "least squares": least_squares()}


def _backends() -> dict[str, Any]:
    """Array makers for every backend installed (NumPy always, at two precisions)."""
    makers: dict[str, Any] = {"numpy float64": lambda x: x, "numpy float32": lambda x: x.astype(np.float32)}
    if importlib.util.find_spec("dask") is not None:
        import dask.array as da

        makers["dask"] = lambda x: da.from_array(x, chunks=tuple(max(1, n // 2) for n in x.shape))
    if importlib.util.find_spec("torch") is not None:
        import torch

        makers["torch"] = torch.from_numpy
    if importlib.util.find_spec("jax") is not None:
        import jax

        jax.config.update("jax_enable_x64", True)
        makers["jax"] = jax.numpy.asarray
    return makers


@pytest.mark.parametrize("backend", sorted(_backends()))
@pytest.mark.parametrize("name", ["mlp", "attention", "least squares"])
def test_compiled_programs_match_the_index_form_on_every_backend(name: str, backend: str) -> None:
    outputs, values = _programs()[name]
    make = _backends()[backend]
    f = ec.compile(outputs)
    sizes = bind_sizes(list(f.program.specs.values()), values, {})
    for _ in range(2):  # the second call runs on the buffers the first one left
        results = f({k: make(v) for k, v in values.items()})
        for expr, got in zip(outputs, results, strict=True):
            value = np.asarray(got.compute() if hasattr(got, "compute") else got)
            tolerance = 1e-4 if "32" in backend else 1e-9
            assert_allclose(value, reference_value(expr, values, sizes), rtol=tolerance, atol=tolerance)


def _plan(f: CompiledFunction) -> Any:
    return next(iter(f._plans.values()))[1]


def _warm_peak(f: CompiledFunction, values: dict[str, np.ndarray]) -> int:
    """Peak bytes traced during a call after the first (plans and buffers exist already)."""
    f(values)
    tracemalloc.start()
    try:
        f(values)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_attention_backward_keeps_two_t_by_t_buffers_and_allocates_none() -> None:
    T, d = 300, 4
    outputs, values = attention(T, d)
    program = lower(outputs)
    rowsums = [op for op in program.ops if isinstance(op, Contraction) and op.inputs == ("ab", "ab")]
    assert len(rowsums) == 1 and rowsums[0].output == "a"  # Σ_s P ⊙ dP as dot products, no T×T product
    f = ec.compile(outputs)
    peak = _warm_peak(f, values)
    plan = _plan(f)
    assert sorted(size for size in plan.memory.sizes if size >= T * T) == [T * T, T * T]  # P and dP (then dS)
    assert peak < T * T * 8 // 2  # a warm call allocates its T×d outputs, nothing T×T


def test_least_squares_loss_and_gradient_share_one_residual_buffer() -> None:
    rows, cols, outputs_ = 5000, 4, 3
    outputs, values = least_squares(rows, cols, outputs_)
    program = lower(outputs)
    assert [op.inputs for op in program.ops if isinstance(op, Contraction) and not op.dims] == [("ab", "ab")]
    f = ec.compile(outputs)
    peak = _warm_peak(f, values)
    assert _plan(f).memory.sizes == [rows * outputs_]  # X W, then X W − Y over it: Σ r² and 2 Xᵀ r read it
    assert peak < rows * outputs_ * 8 // 2


def test_mlp_intermediates_live_in_kept_buffers() -> None:
    _, grads, _ = mlp()
    values = mlp_values(8, batch=20_000)
    f = ec.compile(grads)
    peak = _warm_peak(f, values)
    assert peak < 20_000 * 5 * 8  # no batch × feature array is new (the softmax's row maxima and sums are)
    # h1, h2, ŷ − Y (over z₃), dh2, δ2, dh1, δ1: each is read by a GEMM after the next one is made
    assert sorted(_plan(f).memory.sizes) == sorted([20_000 * n for n in (5, 4, 3, 4, 4, 5, 5)])


def test_a_kept_buffer_never_reaches_the_caller() -> None:
    outputs, values = attention()
    f = ec.compile(outputs)
    first = f(values)
    kept = [np.array(r, copy=True) for r in first]
    f({k: v + 1.0 for k, v in values.items()})
    for a, b in zip(first, kept, strict=True):
        assert_allclose(a, b, rtol=0, atol=0)


def test_concurrent_calls_use_their_own_buffers() -> None:
    outputs, values = least_squares(400, 5, 3)
    f = ec.compile(outputs)
    inputs = [{k: v * (n + 1) for k, v in values.items()} for n in range(4)]
    expected = [f(v) for v in inputs]
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        for _ in range(5):
            for got, want in zip(pool.map(f, inputs), expected, strict=True):
                assert_allclose(got[0], want[0], rtol=1e-12)
                assert_allclose(got[1], want[1], rtol=1e-12)


def test_memory_plan_donates_only_what_dies_and_never_hands_out_a_kept_buffer() -> None:
    needs = [Need("external"), Need("buffer", 4), Need("buffer", 4, donors=(0,)), Need("buffer", 4, donors=(0,)),
             Need("alias", donors=(0,)), Need("buffer", 4, scratch=(4,))]
    args = [(), (0,), (1,), (2,), (3,), (1,)]
    plan = plan_memory(needs, args, outputs={4, 5})
    outs = [(p.out, p.donor) for p in plan.placements]
    assert outs[1] == (0, None) and outs[2] == (FRESH, None)  # slot 1 is read again by step 5: not donated
    assert outs[3] == (FRESH, 0)  # written over slot 2, and a view of it is an output: so slot 2 is a new array
    assert outs[5] == (FRESH, None) and plan.placements[5].scratch == (1,)
    assert plan.sizes == [4, 4] and plan.release[5] == [1]


@pytest.mark.parametrize("sign", [1.0, -1.0])
@pytest.mark.parametrize("axis", [0, 1])
def test_x_transpose_diag_v_x_runs_as_a_symmetric_update_when_v_is_not_negative(
        monkeypatch: pytest.MonkeyPatch, sign: float, axis: int) -> None:
    X, v = ec.tensors("X[b,n] v[b]") if axis == 0 else ec.tensors("X[n,b] v[b]")
    gram = ec.einsum("bi,bj,b->ij" if axis == 0 else "ib,jb,b->ij", X, X, v)
    rng = np.random.default_rng(19)
    x = rng.standard_normal((50, 4) if axis == 0 else (4, 50))
    weights = rng.random(50) * sign
    weights[3] = 0.0
    calls: list[tuple[Any, Any]] = []
    matmul = np.matmul
    monkeypatch.setattr(fastpath.np, "matmul", lambda a, b, **kw: calls.append((a, b)) or matmul(a, b, **kw))
    got = ec.compile(gram)(X=x, v=weights)
    want = np.einsum("bi,bj,b->ij" if axis == 0 else "ib,jb,b->ij", x, x, weights)
    assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    (a, b), = calls
    assert (a.base is b.base and a.ctypes.data == b.ctypes.data) == (sign > 0)  # Yᵀ Y: one buffer, BLAS syrk


def test_float32_inputs_give_float32_constants_buffers_and_results() -> None:
    (x,) = ec.tensors("x[n]")
    jacobian = ec.jacobian(ec.tanh(x) * 2, x)  # 2 (1 − tanh²) δ: a constant identity, made in the inputs' dtype
    f = ec.compile(jacobian)
    for _ in range(2):
        got = f(x=np.linspace(-1, 1, 3, dtype=np.float32))
        assert got.dtype == np.float32
        assert_allclose(got, np.diag(2 / np.cosh(np.linspace(-1, 1, 3)) ** 2), rtol=1e-6)


def test_keep_buffers_false_lets_every_call_take_its_own_buffers() -> None:
    outputs, values = least_squares()
    f = ec.compile(outputs, keep_buffers=False)
    g = ec.compile(outputs)
    for got, want in zip(f(values), g(values), strict=True):
        assert_allclose(got, want, rtol=0, atol=0)
    assert not _plan(f)._kept and _plan(g)._kept
    with pytest.raises(ec.EincalcError, match=r"keep_buffers of ec\.compile must be True or False"):
        ec.compile(outputs, keep_buffers="yes")  # type: ignore[arg-type]


def test_a_large_symmetric_kernel_is_computed_in_mirrored_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    x, A = ec.tensors("x[n] A[n,n]")
    hessian = ec.hessian(x @ A @ x, x)  # A + Aᵀ
    blocked: list[int] = []
    run = elementwise.SymmetricKernel.run
    monkeypatch.setattr(elementwise.SymmetricKernel, "run", lambda self, *args: blocked.append(1) or run(self, *args))
    f = ec.compile(hessian)
    a = np.random.default_rng(20).standard_normal((5, 5))
    assert np.array_equal(f(x=np.ones(5), A=a), a + a.T) and not blocked  # small: one pass
    n = elementwise.SYMMETRIC_FROM + 77  # a ragged last block
    a = np.random.default_rng(20).standard_normal((n, n))
    assert np.array_equal(f(x=np.ones(n), A=a), a + a.T) and blocked


@pytest.mark.parametrize(("formula", "symmetric"), [
    ("A[i,j] + A[j,i]", True), ("A[i,j] - A[j,i]", False), ("tanh((A[i,j] A[j,i])[i,j]) + v[i] v[j]", True),
    ("A[i,j] + B[j,i]", False), ("(v[i] + v[j])[i,j]", True), ("v[i] w[j]", False)])
def test_symmetric_kernels_are_recognised_by_their_form(formula: str, symmetric: bool) -> None:
    tensors = ec.tensors("A[n,n] B[n,n] v[n] w[n]")
    expr = ec.parse(formula, *tensors)
    kernel = lower([expr]).ops[-1]
    assert isinstance(kernel, Elementwise) and elementwise.symmetric(kernel.tree, (4, 4)) == symmetric
    n = elementwise.SYMMETRIC_FROM + 1
    rng = np.random.default_rng(21)
    values = {"A": rng.standard_normal((n, n)), "B": rng.standard_normal((n, n)), "v": rng.standard_normal(n),
              "w": rng.standard_normal(n)}
    assert_allclose(ec.compile(expr)(values), reference_value(expr, values, {"n": n}), rtol=1e-12, atol=1e-12)


def test_every_pairwise_step_matches_einsum_with_and_without_a_buffer() -> None:
    words = ["a", "ab", "ba", "bc", "ca", "abc", "cab", "abd", "dcb"]
    sizes = {"a": 2, "b": 3, "c": 4, "d": 5}
    rng = np.random.default_rng(22)
    for la, lb in itertools.product(words, words):
        a = rng.standard_normal([sizes[c] for c in la])
        b = rng.standard_normal([sizes[c] for c in lb])
        letters = sorted(set(la + lb))
        for out in ("".join(p) for r in range(len(letters) + 1) for p in itertools.permutations(letters, r)):
            plan = fastpath.numpy_contraction((la, lb), out, [a.shape, b.shape])
            for buffer in (None, np.full(200, np.nan)):  # ab,abc->c once multiplied a 2×3 matrix as if 1×6
                assert_allclose(plan.run([a, b], buffer), np.einsum(f"{la},{lb}->{out}", a, b), rtol=1e-12,
                                 err_msg=f"{la},{lb}->{out}")
