"""Compiled NumPy programs beat hand-written NumPy (issue 17): planned buffers, in-place kernels, symmetric
products, every backend still exact.  Counts of buffers and allocations, never timings."""

# ruff: noqa: N803 - matrices are capitals (W, X), as in the formulas they stand for

from __future__ import annotations

import concurrent.futures
import importlib.util
import itertools
import sys
import tracemalloc
from typing import Any

import numpy as np
import pytest
from numpy.testing import assert_allclose

import eincalc as ec
from eincalc.numeric import elementwise, fastpath, fastplan, fusion
from eincalc.numeric.binding import bind_sizes
from eincalc.numeric.evaluate import CompiledFunction
from eincalc.numeric.lowering import lower
from eincalc.numeric.memory import FRESH, Need, plan_memory
from eincalc.numeric.program import Contraction, Elementwise
from eincalc.strategies import reference_value
from test_compile import mlp, mlp_values


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
    values = {
        "X": rng.standard_normal((rows, cols)),
        "W": rng.standard_normal((cols, outputs)),
        "Y": rng.standard_normal((rows, outputs)),
    }
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


def test_threads_calling_with_more_shapes_than_the_cache_holds_get_right_numbers_and_no_error() -> None:
    outputs, _ = least_squares()
    f = ec.compile(outputs)  # batch sizes 1–40: more signatures than MAX_PLANS, so threads evict each other's

    def calls(seed: int) -> list[str]:
        rng, wrong = np.random.default_rng(seed), []
        for _ in range(150):
            b = int(rng.integers(1, 41))
            loss, grad = f(X=np.ones((b, 2)), W=np.ones((2, 2)), Y=np.zeros((b, 2)))
            if loss != 8 * b or not np.all(grad == 4 * b):
                wrong.append(f"batch {b}: loss {loss}")
        return wrong

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible: the cache's bookkeeping once raised here
    try:
        with concurrent.futures.ThreadPoolExecutor(6) as pool:
            assert [w for wrong in pool.map(calls, range(6)) for w in wrong] == []
    finally:
        sys.setswitchinterval(interval)
    assert len(f._plans) <= CompiledFunction.MAX_PLANS


def test_a_result_never_shares_memory_with_an_input_or_another_result() -> None:
    W, X = ec.tensors("W[i,j] X[i,j]")
    e = ec.tanh(W)
    programs = {
        "a gradient that is an input": [ec.grad(ec.sum(W * X), W)],  # ∂/∂W Σ W ⊙ X = X
        "an input and its transpose": [X, X.T],
        "one value twice": [e, e],
        "a value and its transpose": [e, e.T],
    }
    rng = np.random.default_rng(23)
    values = {"W": rng.standard_normal((3, 3)), "X": rng.standard_normal((3, 3))}
    for name, outputs in programs.items():
        for keep in (True, False):
            results = ec.compile(outputs, keep_buffers=keep)(values)
            arrays = [*values.values(), *results]
            for a, b in itertools.combinations(range(len(arrays)), 2):
                assert not np.shares_memory(arrays[a], arrays[b]), (name, keep, a, b)
    grad = ec.compile(ec.grad(ec.sum(W * X), W))(values)
    grad *= 0.5  # the caller's X stays as it was
    assert_allclose(values["X"], 2 * grad)


def test_memory_plan_donates_only_what_dies_and_never_hands_out_a_kept_buffer() -> None:
    needs = [
        Need("external"),
        Need("buffer", 4),
        Need("buffer", 4, donors=(0,)),
        Need("buffer", 4, donors=(0,)),
        Need("alias", donors=(0,)),
        Need("buffer", 4, scratch=(4,)),
    ]
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
    monkeypatch: pytest.MonkeyPatch, sign: float, axis: int
) -> None:
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
    ((a, b),) = calls
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


@pytest.mark.parametrize(
    ("formula", "symmetric"),
    [
        ("A[i,j] + A[j,i]", True),
        ("A[i,j] - A[j,i]", False),
        ("tanh((A[i,j] A[j,i])[i,j]) + v[i] v[j]", True),
        ("A[i,j] + B[j,i]", False),
        ("(v[i] + v[j])[i,j]", True),
        ("v[i] w[j]", False),
    ],
)
def test_symmetric_kernels_are_recognised_by_their_form(formula: str, symmetric: bool) -> None:
    tensors = ec.tensors("A[n,n] B[n,n] v[n] w[n]")
    expr = ec.parse(formula, *tensors)
    kernel = lower([expr]).ops[-1]
    assert isinstance(kernel, Elementwise) and elementwise.symmetric(kernel.tree, (4, 4)) == symmetric
    n = elementwise.SYMMETRIC_FROM + 1
    rng = np.random.default_rng(21)
    values = {
        "A": rng.standard_normal((n, n)),
        "B": rng.standard_normal((n, n)),
        "v": rng.standard_normal(n),
        "w": rng.standard_normal(n),
    }
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
                assert_allclose(
                    plan.run([a, b], buffer),
                    np.einsum(f"{la},{lb}->{out}", a, b),
                    rtol=1e-12,
                    err_msg=f"{la},{lb}->{out}",
                )


# -- planning is linear in the program's size ------------------------------------------------------------------


def tanh_chain_gradient(layers: int) -> tuple[ec.Expr, ec.Expr]:
    """``∂ Σ tanh(tanh(… x)) / ∂x``: its backward pass is a product of ``1 − tᵢ²``, fused into wide kernels."""
    (x,) = ec.tensors("x[n]")
    h: ec.Expr = x
    for _ in range(layers):
        h = ec.tanh(h)
    return ec.grad(ec.sum(h), x), x


def planning_work(layers: int, monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """Calls of the per-node steps of fusing and planning the chain gradient's program (shapes, leaf rewrites)."""
    gradient, _ = tanh_chain_gradient(layers)
    counts = dict.fromkeys(("shape", "map_leaves", "compile"), 0)

    def counted(name: str, function: Any) -> Any:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            counts[name] += 1
            return function(*args, **kwargs)

        return wrapper

    with monkeypatch.context() as patch:
        patch.setattr(elementwise._Compiler, "shape_of", counted("shape", elementwise._Compiler.shape_of))
        patch.setattr(fusion, "map_leaves", counted("map_leaves", fusion.map_leaves))
        patch.setattr(fastplan, "compile_kernel", counted("compile", fastplan.compile_kernel))
        ec.evaluate(gradient, {"x": np.full(3, 0.1)})
    return counts


def test_planning_a_chain_gradient_does_the_same_work_per_layer(monkeypatch: pytest.MonkeyPatch) -> None:
    """The 1,000-layer chain's gradient took 33 s to evaluate: each kernel's compile recomputed every
    sub-tree's shape from its leaves at every node, was repeated for each of its hundreds of arguments as a
    donor, and fusion rebuilt a kernel once per producer it absorbed."""
    small, large = planning_work(300, monkeypatch), planning_work(600, monkeypatch)
    for name in small:
        assert large[name] <= 2.2 * small[name], (name, small, large)
    assert small["shape"] <= 200 * 300, small  # was 10 million: 34,000 a layer


def test_a_kernel_compile_computes_each_sub_trees_shape_once(monkeypatch: pytest.MonkeyPatch) -> None:
    leaves = [("arg", k, (0,)) for k in range(200)]
    tree = (
        "mul",
        tuple(("add", (("mul", (("apply", "pow", 2.0, leaf), ("num", -1.0))), ("num", 1.0))) for leaf in leaves),
    )
    shapes = []
    original = elementwise._Compiler._shape
    monkeypatch.setattr(elementwise._Compiler, "_shape", lambda self, t: shapes.append(t) or original(self, t))
    kernel = elementwise.compile_kernel(tree, [(3,)] * 200, (3,), donor=7)
    assert len(shapes) == len({id(t) for t in shapes}) <= 1 + 200 * 5
    values = [np.full(3, 0.1 * (k % 5)) for k in range(200)]
    out = np.empty(3)
    expected = np.prod([1 - v**2 for v in values], axis=0)
    assert_allclose(kernel.run(values, out, [np.empty(3) for _ in range(kernel.scratch)]), expected)


def test_a_chain_deeper_than_the_recursion_limit_compiles_and_matches_numpy() -> None:
    layers = 1500
    assert layers > sys.getrecursionlimit()
    gradient, _ = tanh_chain_gradient(layers)
    x = np.array([0.3, -0.2, 0.9])
    hs = [x]
    for _ in range(layers):
        hs.append(np.tanh(hs[-1]))
    expected = np.ones_like(x)
    for h in reversed(hs[1:]):
        expected = expected * (1 - h**2)
    assert_allclose(ec.compile(gradient)(x=x), expected, rtol=1e-12)
    assert_allclose(ec.evaluate(gradient, {"x": x}), expected, rtol=1e-12)


# -- row blocks (eincalc.numeric.blocking) -----------------------------------------------------------------------


def _row_groups(f: CompiledFunction) -> list[list[int]]:
    return [[m.n for m in entry[1].members] for entry in _plan(f).schedule if isinstance(entry[1], fastplan.RowBlocks)]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_the_softmax_backward_runs_in_row_blocks_with_two_t_by_t_buffers(dtype: Any) -> None:
    T, d = 400, 3  # T×T arrays of 1.2 MiB: blocked, 163 rows a block, the last one shorter
    outputs, values = attention(T, d)
    f = ec.compile(outputs)
    program = f.program
    sizes = bind_sizes(list(program.specs.values()), values, {})
    tolerance = 1e-9 if dtype == np.float64 else 1e-4
    for _ in range(2):
        for expr, got in zip(outputs, f({k: v.astype(dtype) for k, v in values.items()}), strict=True):
            assert got.dtype == dtype
            assert_allclose(got, reference_value(expr, values, sizes), rtol=tolerance, atol=tolerance)
    ((softmax, rowsum, kernel),) = _row_groups(f)  # P = softmax(Z), Σ_s P ⊙ dP, P ⊙ (dP − r): the GEMM of dP first
    assert type(program.ops[softmax]).__name__ == "Custom" and isinstance(program.ops[kernel], Elementwise)
    assert program.ops[rowsum].inputs == ("ab", "ab")
    assert sorted(size for size in _plan(f).memory.sizes if size >= T * T) == [T * T, T * T]
    assert _warm_peak(f, values) < T * T * 8 // 2


def _blocked_forms() -> dict[str, Any]:
    A, B = ec.tensors("A[n,n] B[n,n]")
    rows = ec.let("P", ec.softmax(A, axis=1))
    return {
        "a member read transposed": rows * B + rows.T,
        "softmax down the columns": ec.softmax(A, axis=0) * B,
        "a row sum broadcast back": ec.softmax(A * B, axis=1)["i", "j"] * ec.sum(rows * B, axis=1)["i"] + B["i", "j"],
        "row sums of two members": ec.sum(rows * ec.sigmoid(A + B), axis=1),
        "a member times a number computed before": ec.sigmoid(rows * B * ec.sum(A * B)) * rows,
        "a bias along the columns": ec.tanh(rows * B + ec.sum(A, axis=0)) * rows,
    }


def _vector_read_whole_and_by_rows() -> dict[str, Any]:
    """Groups where one step reads a computed vector whole (broadcast along the rows) and a later step of the group
    reads it row by row as its last reader: written over in place, its first block would change the next ones."""
    M, v = ec.tensors("M[n,n] v[n]")
    x = ec.let("x", ec.exp(v))
    return {
        "a matrix-vector product after": ec.tanh(ec.einsum("ij,j->ij", M, x)) @ ec.sigmoid(x),
        "two outputs": [ec.tanh(ec.einsum("ij,j->ij", M, x)), x * 2.0 + 1.0],
    }


@pytest.mark.parametrize("name", sorted(_blocked_forms()))
def test_row_blocks_compute_what_the_index_form_says(name: str) -> None:
    expr = _blocked_forms()[name]
    rng = np.random.default_rng(20)
    n = 401  # 1.2 MiB arrays, so their row-wise steps are grouped
    values = {"A": rng.standard_normal((n, n)), "B": rng.standard_normal((n, n))}
    f = ec.compile(expr)
    sizes = bind_sizes(list(f.program.specs.values()), values, {})
    for _ in range(2):
        assert_allclose(f(values), reference_value(expr, values, sizes), rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("name", sorted(_vector_read_whole_and_by_rows()))
@pytest.mark.parametrize("n", [362, 363, 400])  # 362: below the blocking threshold; 363 and 400 run in blocks
def test_a_vector_a_row_block_group_reads_whole_is_never_written_over_inside_the_group(name: str, n: int) -> None:
    exprs = _vector_read_whole_and_by_rows()[name]
    rng = np.random.default_rng(21)
    values = {"M": rng.standard_normal((n, n)), "v": rng.standard_normal(n)}
    f = ec.compile(exprs)
    sizes = bind_sizes(list(f.program.specs.values()), values, {})
    got = f(values)
    pairs = zip(exprs, got, strict=True) if isinstance(exprs, list) else [(exprs, got)]
    for expr, value in pairs:
        assert_allclose(value, reference_value(expr, values, sizes), rtol=1e-9, atol=1e-9)


def test_a_softmax_in_a_row_block_group_does_not_write_over_a_matrix_the_group_reads_whole() -> None:
    T, Y = ec.tensors("T[n,n,m] Y[n,m]")
    Z = ec.let("Z", ec.tanh(Y))
    exprs = [ec.tanh(ec.einsum("abc,bc->abc", T, Z)), ec.softmax(Z, axis=1)]
    rng = np.random.default_rng(22)
    values = {"T": rng.standard_normal((70, 70, 32)), "Y": rng.standard_normal((70, 32))}  # 1.2 MiB: blocked
    f = ec.compile(exprs)
    sizes = bind_sizes(list(f.program.specs.values()), values, {})
    for expr, value in zip(exprs, f(values), strict=True):
        assert_allclose(value, reference_value(expr, values, sizes), rtol=1e-9, atol=1e-9)


def test_memory_plan_never_donates_to_a_group_step_what_its_group_reads_whole() -> None:
    needs = [Need("external"), Need("buffer", 8), Need("buffer", 8, donors=(0,)), Need("buffer", 8, donors=(0,))]
    args = [(), (0,), (1,), (1,)]  # step 2 reads slot 1 whole, step 3 by rows and last
    blocked = [[2, 3]]
    assert plan_memory(needs, args, {2, 3}, blocked=blocked).placements[3].donor == 0
    assert plan_memory(needs, args, {2, 3}, blocked=blocked, read_whole=[{1}]).placements[3].donor is None


# -- results written over once let go (eincalc.numeric.returned) ---------------------------------------------


def _addresses(results: Any) -> list[int]:
    return [r.__array_interface__["data"][0] for r in results]


def test_a_warm_call_whose_last_results_were_let_go_allocates_nothing() -> None:
    T, d = 300, 4
    outputs, values = attention(T, d)
    f = ec.compile(outputs)
    first = _addresses(f(values))  # the results are dropped at once, as a loop dropping each step's gradients
    assert _warm_peak(f, values) < T * d * 8  # not even the three T×d results are new
    assert _addresses(f(values)) == first


def test_a_loop_holding_the_previous_results_during_each_call_cycles_through_two_sets_of_arrays() -> None:
    outputs, values = attention(40, 3)
    f = ec.compile(outputs)
    sizes = bind_sizes(list(f.program.specs.values()), values, {})
    grads = f(values)
    seen = []
    for step in range(6):
        held, copies = _addresses(grads), [np.array(g, copy=True) for g in grads]
        scaled = {k: v * (1 + step / 10) for k, v in values.items()}
        grads_before, grads = grads, f(scaled)  # the old results are alive while this call runs
        assert not set(_addresses(grads)) & set(held)
        for old, copy in zip(grads_before, copies, strict=True):
            assert_allclose(old, copy, rtol=0, atol=0)
        for got, expr in zip(grads, outputs, strict=True):
            assert_allclose(got, reference_value(expr, scaled, sizes), rtol=1e-9, atol=1e-12)
        del grads_before, old, got  # the loops' variables hold results too
        seen.append(tuple(_addresses(grads)))
    assert len(set(seen)) == 2 and seen[2:] == seen[:-2]  # two sets of arrays, alternating


def test_a_result_still_held_is_never_written_over() -> None:
    outputs, values = attention(40, 3)
    f = ec.compile(outputs)
    held = f(values)  # held whole
    row = f(values)[0][1]  # held through a view of one row
    memory = memoryview(f(values)[2])  # held through a buffer export
    in_a_list = [f(values)[1]]
    copies = [np.array(x, copy=True) for x in (*held, row, np.asarray(memory), in_a_list[0])]
    shifted = {k: v + 1.0 for k, v in values.items()}
    for _ in range(3):
        fresh = f(shifted)
        assert not set(_addresses(fresh)) & set(_addresses([*held, row, np.asarray(memory), in_a_list[0]]))
    for got, want in zip((*held, row, np.asarray(memory), in_a_list[0]), copies, strict=True):
        assert_allclose(got, want, rtol=0, atol=0)


@pytest.mark.parametrize("name", ["mlp", "attention", "least squares"])
def test_results_held_in_any_way_keep_their_values_through_random_calls(name: str) -> None:
    outputs, values = _programs()[name]
    f = ec.compile(outputs)
    rng = np.random.default_rng(22)
    ways = [
        lambda r: list(r),  # every result
        lambda r: [r[int(rng.integers(len(r)))]],  # one result
        lambda r: [next(x for x in r if x.ndim)[..., ::2]],  # a strided view of one
        lambda r: [memoryview(r[-1])],  # a buffer export
    ]
    held: list[tuple[list[Any], list[np.ndarray]]] = []  # what the test holds, and copies made when it got them
    for _ in range(40):
        # the MLP's labels Y are declared on the simplex: they keep summing to one
        results = f({k: v if k == "Y" else v * rng.uniform(0.5, 1.5) for k, v in values.items()})
        if rng.random() < 0.5:
            things = ways[int(rng.integers(len(ways)))](results)
            held.append((things, [np.array(x, copy=True) for x in things]))
        if held and rng.random() < 0.3:
            held.pop(int(rng.integers(len(held))))
        del results
    assert held
    for things, copies in held:
        for got, want in zip(things, copies, strict=True):
            assert_allclose(np.asarray(got), want, rtol=0, atol=0)


def test_a_result_passed_back_as_an_input_is_read_not_written_over() -> None:
    (x,) = ec.tensors("x[n]")
    f = ec.compile(ec.tanh(x) * 0.5 + x)
    value = np.linspace(-1, 1, 5)
    want = value.copy()
    for _ in range(4):
        value = f(x=value)  # the previous result is the input: held by the call while it runs
        want = np.tanh(want) * 0.5 + want
    assert_allclose(value, want, rtol=1e-15)


def test_keep_buffers_false_returns_new_arrays_every_call() -> None:
    outputs, values = least_squares(400, 5, 3)
    f = ec.compile(outputs, keep_buffers=False)
    assert _warm_peak(f, values) >= 5 * 3 * 8  # the gradient is a new 5×3 array
    assert not _plan(f)._returned._arrays


# -- row broadcasts (runtime.along_rows) ----------------------------------------------------------------------


@pytest.mark.parametrize(("shape", "shortened"), [((6, 512), True), ((512, 6), False), ((6, 100), False)])
def test_a_kernel_reading_a_column_broadcast_along_long_rows_shortens_the_ufunc_buffer_for_that_call(
    monkeypatch: pytest.MonkeyPatch, shape: tuple[int, int], shortened: bool
) -> None:
    # (x − m[:, None]) ⊙ y: NumPy 2.4 copies m into its buffer on every fill unless the buffer is one row long
    tree = ("mul", (("add", (("arg", 0, (0, 1)), ("mul", (("arg", 1, (0, None)), ("num", -1.0))))), ("arg", 2, (0, 1))))
    rng = np.random.default_rng(21)
    x, m, y = rng.standard_normal(shape), rng.standard_normal(shape[0]), rng.standard_normal(shape)
    sizes: list[int] = []
    setbufsize = np.setbufsize
    monkeypatch.setattr(np, "setbufsize", lambda size: sizes.append(size) or setbufsize(size))
    kernel = elementwise.compile_kernel(tree, [shape, (shape[0],), shape], shape)
    got = kernel.run([x, m, y], np.empty(shape), [])
    assert_allclose(got, (x - m[:, None]) * y, rtol=1e-15)
    assert sizes == ([shape[1] - shape[1] % 16, np.getbufsize()] if shortened else [])
    assert np.getbufsize() == 8192
