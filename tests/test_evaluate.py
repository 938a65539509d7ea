"""Evaluation of the index-form IR, checked against hand-written ``numpy.einsum``."""

from __future__ import annotations

import importlib
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose

import eincalc as ec
from custom_nodes import opaque_node
from eincalc.core import functions
from eincalc.core.errors import EincalcError, ShapeError, UnknownNameError, UnsupportedError
from eincalc.core.expr import Expr
from eincalc.core.indices import Index, TensorSpec
from eincalc.core.nodes import Add, Apply, Const, Contract, Delta, Named, One, Size, Tensor, Zero
from eincalc.numeric.evaluate import CompiledFunction, EvalContext, compile, evaluate, register_evaluator

i, j, k, b = Index("i", "m"), Index("j", "n"), Index("k", "n"), Index("b", "batch")
i2 = Index("i2", "m")


def tensor(name: str, *indices: Index, dims: tuple[str, ...] | None = None) -> Tensor:
    return Tensor(TensorSpec(name, dims if dims is not None else tuple(x.dim for x in indices)), indices)


W = tensor("W", i, j)
a = tensor("a", j)
rng = np.random.default_rng(0)
VALUES = {
    "W": rng.standard_normal((3, 4)),
    "a": rng.standard_normal(4),
    "A": rng.standard_normal((3, 3)),
    "X": rng.standard_normal((5, 4)),
    "c": rng.standard_normal(4),
    "T": rng.standard_normal((3, 4, 3)),
}


def test_matvec() -> None:
    assert_allclose(evaluate(Contract((W, a), (i,)), VALUES), np.einsum("ij,j->i", VALUES["W"], VALUES["a"]))


def test_matmul_and_transpose_by_output_order() -> None:
    v = tensor("V", j, k, dims=("n", "n"))
    values = VALUES | {"V": rng.standard_normal((4, 4))}
    expected = np.einsum("ij,jk->ik", values["W"], values["V"])
    assert_allclose(evaluate(Contract((W, v), (i, k)), values), expected)
    assert_allclose(evaluate(Contract((W, v), (k, i)), values), expected.T)
    assert_allclose(evaluate(Contract((W,), (j, i)), values), values["W"].T)


def test_relabelled_tensor_keeps_its_array_axes() -> None:
    relabelled = Tensor(TensorSpec("W", ("n", "m")), (j, i))
    values = {"W": VALUES["W"].T}
    assert_allclose(evaluate(relabelled, values), VALUES["W"].T)
    assert_allclose(evaluate(Contract((relabelled,), (i, j)), values), VALUES["W"])
    value = evaluate(W, VALUES)  # the input's numbers in an array of the caller's own
    assert_allclose(value, VALUES["W"], rtol=0)
    assert not np.shares_memory(value, VALUES["W"])


def test_trace_and_diagonal_from_repeated_index() -> None:
    a_ii = tensor("A", i, i)
    assert evaluate(a_ii, VALUES).shape == (3,) * len(a_ii.free)
    assert_allclose(evaluate(Contract((a_ii,), (i,)), VALUES), np.diag(VALUES["A"]))
    assert_allclose(evaluate(Contract((a_ii,), ()), VALUES), np.trace(VALUES["A"]))
    t3 = tensor("T", i, j, i)
    assert_allclose(evaluate(Contract((t3,), (i, j)), VALUES), np.einsum("iji->ij", VALUES["T"]))
    assert_allclose(evaluate(Contract((t3, a), ()), VALUES), np.einsum("iji,j->", VALUES["T"], VALUES["a"]))


def test_outer_product() -> None:
    u = tensor("u", i)
    values = VALUES | {"u": rng.standard_normal(3)}
    assert_allclose(evaluate(Contract((u, a), (i, j)), values), np.einsum("i,j->ij", values["u"], values["a"]))


def test_add_broadcasts_by_index_name() -> None:
    x, c = tensor("X", b, j), tensor("c", j)
    assert_allclose(evaluate(Add((x, c), (b, j)), VALUES), VALUES["X"] + VALUES["c"])
    # the same sum with the output axes the other way round
    assert_allclose(evaluate(Add((x, c), (j, b)), VALUES), (VALUES["X"] + VALUES["c"]).T)
    # a term whose axes are in another order than the output
    transposed = Contract((x,), (j, b))
    assert_allclose(evaluate(Add((transposed, x), (b, j)), VALUES), 2 * VALUES["X"])


def test_add_of_scalars_only_still_has_full_shape() -> None:
    result = evaluate(Add((Const(1.0), Const(2.0)), (i, j)), {}, dims={"m": 3, "n": 4})
    assert_allclose(result, np.full((3, 4), 3.0))


def test_delta_one_zero_size() -> None:
    assert_allclose(evaluate(Add((W, Delta(i, i2)), (i, j, i2)), VALUES), VALUES["W"][:, :, None] + np.eye(3)[:, None])
    assert_allclose(evaluate(Contract((Delta(i, i2), W), (i2, j)), VALUES), VALUES["W"])
    assert_allclose(evaluate(Contract((Delta(i, i), W), (i, j)), VALUES), VALUES["W"])
    assert_allclose(evaluate(Contract((One(b), a), (b, j)), VALUES, dims={"batch": 5}), np.ones((5, 1)) * VALUES["a"])
    assert_allclose(evaluate(Contract((W, Zero((j,))), (i,)), VALUES), np.zeros(3))
    assert float(evaluate(Contract((Size("n"), Const(0.5), a), ()), VALUES)) == pytest.approx(2 * VALUES["a"].sum())
    assert float(evaluate(Size("m"), {}, dims={"m": 7})) == 7.0


def test_named_intermediate_is_its_body_relabelled() -> None:
    body = Contract((W, a), (i,))
    p = Index("p", "m")
    z = Named("z", body, (p,))
    assert_allclose(evaluate(Contract((z, z), ()), VALUES), np.sum((VALUES["W"] @ VALUES["a"]) ** 2))


def test_constant_only_results_are_arrays() -> None:
    result = evaluate(Contract((Const(2.0), Const(3.0)), ()), {})
    assert result.shape == () and float(result) == 6.0


@pytest.mark.parametrize("name", sorted(functions.FUNCTIONS))
def test_apply_every_function(name: str) -> None:
    x = np.array([-1.7, -0.3, 0.0, 0.4, 2.2])
    if name in ("log", "sqrt"):
        x = np.abs(x) + 0.5
    oracle = {
        "sigmoid": lambda v: 1 / (1 + np.exp(-v)),
        "tanh": np.tanh,
        "exp": np.exp,
        "log": np.log,
        "relu": lambda v: np.where(v > 0, v, 0.0),
        "step": lambda v: (v > 0).astype(float),
        "sqrt": np.sqrt,
        "pow": lambda v: v**3,
        "abs": np.abs,
        "sign": np.sign,
        "softplus": lambda v: np.log(1 + np.exp(v)),
        "sin": np.sin,
        "cos": np.cos,
        "tan": np.tan,
    }
    applied = Apply(name, tensor("x", j), 3.0 if name == "pow" else None)
    assert_allclose(evaluate(applied, {"x": x}), oracle[name](x), rtol=1e-12, atol=1e-15)


def test_shape_error_names_tensor_axis_dimension_and_both_sizes() -> None:
    with pytest.raises(ShapeError) as err:
        evaluate(Contract((W, a), (i,)), {"W": np.zeros((3, 4)), "a": np.zeros(5)})
    assert str(err.value) == "a: axis 0 (dimension n) has size 5, but n = 4 from W axis 1"
    with pytest.raises(ShapeError, match="n = 3 from dims"):
        evaluate(a, {"a": np.zeros(4)}, dims={"n": 3})
    with pytest.raises(ShapeError, match=r"declared as W\[m,n\] but its value has shape \(3,\)"):
        evaluate(W, {"W": np.zeros(3)})


def test_unknown_dimension_and_missing_tensor() -> None:
    with pytest.raises(ShapeError, match=r"size of dimension 'batch' unknown; pass dims=\{'batch': ...\}"):
        evaluate(One(b), {})
    with pytest.raises(UnknownNameError, match=r"no value given for tensor 'W' \(declared W\[m,n\]\)"):
        evaluate(Contract((W, a), (i,)), {"a": np.zeros(4)})


def test_bad_values_raise_eincalc_errors() -> None:
    with pytest.raises(EincalcError):
        evaluate(a, {"a": [[1.0, 2.0], [3.0]]})
    with pytest.raises(EincalcError):
        evaluate(a, {"a": ["x", "y"]})


def test_plain_values_become_float64_and_scalars_accept_floats() -> None:
    s = tensor("s")
    result = evaluate(Contract((s, a), (j,)), {"s": 2, "a": [1, 2, 3]})
    assert result.dtype == np.float64
    assert_allclose(result, [2.0, 4.0, 6.0])


def test_equal_subtrees_are_evaluated_once(monkeypatch: pytest.MonkeyPatch) -> None:
    from eincalc.numeric import runtime

    calls: list[str] = []

    def counting(name: str, rule: Any) -> Any:
        return lambda x, out: calls.append(name) or rule(x, out)

    monkeypatch.setattr(runtime, "IN_PLACE", {name: counting(name, rule) for name, rule in runtime.IN_PLACE.items()})
    first = Apply("tanh", Contract((W, a), (i,)))
    second = Apply("tanh", Contract((tensor("W", i, j), tensor("a", j)), (i,)))  # built twice: one node
    assert first is second
    expected = 2 * np.tanh(VALUES["W"] @ VALUES["a"])
    assert_allclose(evaluate(Add((first, second), (i,)), VALUES), expected)
    assert calls == ["tanh"]
    calls.clear()
    f = compile([first, Apply("exp", second), second])
    out = f(VALUES)
    assert calls == ["tanh", "exp"]
    assert_allclose(out[1], np.exp(out[0]))
    assert_allclose(out[2], out[0])  # computed once, returned twice: the second a copy, the caller's to change
    assert not np.shares_memory(out[0], out[2])


def test_compile_list_of_outputs_and_keyword_call() -> None:
    z = Contract((W, a), (i,))
    f = compile([z, Apply("sigmoid", z), Contract((z, z), ())])
    assert isinstance(f, CompiledFunction)
    z_val = VALUES["W"] @ VALUES["a"]
    for got in (f(VALUES), f(W=VALUES["W"], a=VALUES["a"])):
        assert isinstance(got, tuple) and len(got) == 3
        assert_allclose(got[0], z_val)
        assert_allclose(got[1], 1 / (1 + np.exp(-z_val)))
        assert_allclose(got[2], z_val @ z_val)
    assert repr(f) == "<CompiledFunction (W[m,n], a[n]) -> [m], [m], []: 5 steps, 2 contractions>"


def test_compile_binds_shapes_once_per_signature(monkeypatch: pytest.MonkeyPatch) -> None:
    module = importlib.import_module("eincalc.numeric.evaluate")

    binds: list[int] = []
    original = module.bind_sizes
    monkeypatch.setattr(module, "bind_sizes", lambda *args: binds.append(1) or original(*args))
    f = compile(Contract((W, a), (i,)))
    for _ in range(3):
        assert_allclose(f(VALUES), VALUES["W"] @ VALUES["a"])
    assert len(binds) == 1
    assert_allclose(f(W=np.ones((2, 3)), a=np.ones(3)), [3.0, 3.0])
    assert len(binds) == 2
    with pytest.raises(ShapeError):
        f(W=np.ones((2, 3)), a=np.ones(4))
    plans: list[int] = []
    planner = module._Plan
    monkeypatch.setattr(module, "_Plan", lambda *args: plans.append(1) or planner(*args))
    f(VALUES)
    f(VALUES)
    assert len(plans) <= 1  # planned at most once more for a signature seen before, never per call


def sin_chain(depth: int) -> Expr:
    x: Expr = tensor("x", j)
    for _ in range(depth):
        x = Apply("sin", x)
    return x


def test_deep_chain_does_not_recurse() -> None:
    value = np.linspace(-1, 1, 4)
    expected = value.copy()
    for _ in range(1000):
        expected = np.sin(expected)
    assert_allclose(evaluate(sin_chain(1000), {"x": value}), expected)
    # two equal but distinct deep chains share one program
    f = compile([sin_chain(1000), sin_chain(1000)])
    assert repr(f).split(": ")[1] == repr(compile(sin_chain(1000))).split(": ")[1]
    first, second = f(x=value)
    assert_allclose(first, second)
    assert not np.shares_memory(first, second)


def test_unknown_node_type_and_registering_a_rule() -> None:
    Double = opaque_node("Double")
    with pytest.raises(UnsupportedError, match="Double"):
        evaluate(Double(a), VALUES)

    @register_evaluator(Double)
    def _double(n: Any, args: tuple[Any, ...], ctx: EvalContext) -> Any:
        return 2 * args[0]

    assert_allclose(evaluate(Double(a), VALUES), 2 * VALUES["a"])


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(1, 4), min_size=2, max_size=6), st.integers(0, 2**32 - 1))
def test_matmul_chain_matches_numpy(sizes: list[int], seed: int) -> None:
    gen = np.random.default_rng(seed)
    idx = [Index(f"i{n}", f"d{n}") for n in range(len(sizes))]
    mats = [tensor(f"M{n}", idx[n], idx[n + 1]) for n in range(len(sizes) - 1)]
    values = {f"M{n}": gen.standard_normal((sizes[n], sizes[n + 1])) for n in range(len(sizes) - 1)}
    expected = values["M0"]
    for n in range(1, len(mats)):
        expected = expected @ values[f"M{n}"]
    result = evaluate(Contract(tuple(mats), (idx[0], idx[-1])), values)
    assert_allclose(result, expected, rtol=1e-10, atol=1e-12)


# -- sizes from every array given, and only real numbers in -----------------------------------

# Names of their own: sizes come from declarations by name, and other test modules declare W and a differently.
Wsize, asize, Xsize = ec.tensors("Wsize[m,n] asize[n] Xsize[n,n]")


def test_sizes_come_from_arrays_of_declared_tensors_the_expression_no_longer_reads() -> None:
    X_value = np.arange(9.0).reshape(3, 3)
    assert_allclose(ec.evaluate(ec.grad(ec.trace(Xsize), Xsize), {"Xsize": X_value}), np.eye(3))
    W_value, a_value = np.ones((2, 3)), np.arange(3.0)
    jacobian = ec.jacobian(Wsize @ asize, Wsize)  # δ[i,p] asize[q]: nothing it reads has dimension m
    assert "Wsize" not in str(jacobian)
    expected = np.einsum("ip,q->ipq", np.eye(2), a_value)
    assert_allclose(ec.evaluate(jacobian, {"Wsize": W_value, "asize": a_value}), expected)
    f = ec.compile(jacobian)  # the size of W is part of the shape signature: a new W is a new plan
    assert f({"Wsize": W_value, "asize": a_value}).shape == (2, 2, 3)
    assert f({"Wsize": np.ones((5, 3)), "asize": a_value}).shape == (5, 5, 3)
    assert ec.check_grad(ec.trace(Xsize), Xsize, {"Xsize": X_value}) < 1e-8


def test_an_array_giving_a_size_must_agree_with_the_others() -> None:
    jacobian = ec.jacobian(Wsize @ asize, Wsize)
    with pytest.raises(ShapeError, match=r"^Wsize: axis 1 \(dimension n\) has size 4, but n = 3 from asize axis 0$"):
        ec.evaluate(jacobian, {"Wsize": np.ones((2, 4)), "asize": np.ones(3)})
    with pytest.raises(ShapeError, match=r"^asize: axis 0 \(dimension n\) has size 4, but n = 3 from Wsize axis 1$"):
        ec.check_grad(ec.sum(Wsize @ asize), asize, {"Wsize": np.ones((2, 3)), "asize": np.ones(4)})


def test_a_name_declared_two_ways_gives_no_sizes_and_the_error_says_why() -> None:
    first, twice = ec.tensors("Vtwice[m,n] btwice[n]")
    ec.tensors("Vtwice[n,m]")
    jacobian = ec.jacobian(first @ twice, first)
    with pytest.raises(ShapeError, match=r"Vtwice was declared several ways, Vtwice\[m,n\], Vtwice\[n,m\]"):
        ec.evaluate(jacobian, {"Vtwice": np.ones((2, 3)), "btwice": np.ones(3)})
    assert ec.evaluate(jacobian, {"Vtwice": np.ones((2, 3)), "btwice": np.ones(3)}, dims={"m": 2}).shape == (2, 2, 3)


def test_a_tensor_the_expression_reads_is_bound_by_its_own_declaration_however_else_its_name_was_declared() -> None:
    (read,) = ec.tensors("xread[n]")
    ec.tensors("xread[m]")
    total = ec.sum(ec.parse("xread[i] 1[j]", read, ec.Index("j", "m")))
    with pytest.raises(ShapeError) as error:
        ec.evaluate(total, {"xread": np.ones(3)})
    assert str(error.value) == (
        "size of dimension 'm' unknown; pass dims={'m': ...}, or the array of a tensor declared with an axis m"
    )
    assert ec.evaluate(total, {"xread": np.ones(3)}, dims={"m": 2}) == 6.0


def test_arrays_of_tensors_that_give_no_needed_size_are_not_consulted() -> None:
    """Extra entries never change or break a result whose sizes are all known (a values dict with everything)."""
    assert_allclose(
        ec.evaluate(Wsize @ asize, {"Wsize": np.ones((2, 3)), "asize": np.ones(3), "Xsize": "unused"}), [3.0, 3.0]
    )


@pytest.mark.parametrize("size", [2.5, 3.0, "3", True, None, -1, 0])
def test_a_size_is_a_whole_number_of_at_least_one(size: Any) -> None:
    with pytest.raises(ShapeError, match=r"dims\['n'\] (must be a whole number of at least 1|is -?\d)"):
        evaluate(a, {"a": np.ones(3)}, dims={"n": size})
    with pytest.raises(ShapeError, match=r"dims\['n'\]"):
        compile(a, dims={"n": size})


def test_a_numpy_integer_is_a_size() -> None:
    assert evaluate(One(j), {}, dims={"n": np.int64(3)}).shape == (3,)


def test_integer_and_boolean_inputs_are_computed_in_float64() -> None:
    x = np.array([100, 100, 100], dtype=np.int8)
    dot = Contract((a, a), ())
    assert evaluate(dot, {"a": x}) == 30000.0  # int8 arithmetic would wrap around to 48
    assert evaluate(dot, {"a": np.array([True, False, True])}) == 2.0
    assert compile(a)({"a": np.arange(3, dtype=np.uint8)}).dtype == np.float64
    (v,) = ec.tensors("vint[k]")
    assert ec.to_matrix(ec.dot(v, v)).evaluate({"vint": x}) == 30000.0  # the printed NumPy text, run the same way


def test_a_graph_sends_back_only_real_numbers() -> None:
    (v,) = ec.tensors("vgraph[k]")
    drawn = ec.graph(ec.sum(ec.exp(v)), {"vgraph": np.zeros(2)})
    assert drawn.backward(np.int8(2)).node("vgraph").gradient.tolist() == [2.0, 2.0]
    with pytest.raises(UnsupportedError, match="value for upstream has dtype <U1"):
        drawn.backward("x")


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (np.array([1j, 2, 3]), r"dtype complex128 \(complex numbers\)"),
        (np.array([1, "a", None], dtype=object), r"dtype object \(not numbers\)"),
        (np.array(["a", "b", "c"]), r"dtype <U1 \(not numbers\)"),
        (np.array([1, 2, 3], dtype="datetime64[s]"), r"dtype datetime64\[s\] \(not numbers\)"),
        (np.ma.array([1.0, 2.0, 3.0], mask=[0, 1, 0]), "masked array"),
    ],
)
def test_values_that_are_not_real_numbers_are_refused(value: Any, message: str) -> None:
    with pytest.raises(UnsupportedError, match=message):
        evaluate(a, {"a": value})


@pytest.mark.parametrize("values", [[np.ones(3)], "a", 3.0, {("a",): np.ones(3)}])
def test_values_are_a_mapping_from_names(values: Any) -> None:
    with pytest.raises(UnsupportedError, match=r"values (must be a mapping|maps tensor names)"):
        evaluate(a, values)
    with pytest.raises(UnsupportedError, match=r"values (must be a mapping|maps tensor names)"):
        compile(a)(values)


@pytest.mark.parametrize("fn", ["softmax", "logsumexp", "log_softmax"])
def test_an_empty_axis_is_refused_before_any_function_sees_it(fn: str) -> None:
    (v,) = ec.tensors("vempty[k]")
    with pytest.raises(ShapeError, match="axis 0 \\(dimension k\\) is empty"):
        ec.evaluate(getattr(ec, fn)(v), {"vempty": np.ones(0)})
    with pytest.raises(ShapeError, match="dims\\['k'\\] is 0"):
        ec.evaluate(getattr(ec, fn)(ec.parse("1[i:k]")), {}, dims={"k": 0})


class _Native:
    """A stand-in for an array of another library: a shape, a dtype and its namespace (the Array API's mark of an
    array, which array-api-compat looks for), no NumPy conversion wanted."""

    def __init__(self, dtype: Any) -> None:
        self.shape, self.dtype = (3,), dtype

    def __array_namespace__(self, api_version: Any = None) -> Any:
        return np


@pytest.mark.parametrize("dtype", [np.dtype("int64"), np.dtype("bool"), np.dtype("complex64")])
def test_arrays_of_other_libraries_must_be_floating_point_already(dtype: Any) -> None:
    with pytest.raises(UnsupportedError, match=f"value for a has dtype {dtype}; eincalc computes with real floating"):
        evaluate(a, {"a": _Native(dtype)})
