"""Bounded work: what grows with a number or a repetition in the input is counted before it is done.

Each test pins a finding of ``tests/stress_inputs.py`` (short adversarial inputs, each stage under a
2 s watchdog): the input now stops with a :class:`~eincalc.core.errors.ResourceError` that says what, the
numbers and how to raise the limit, or answers within the limits, and the answer is right.  Counts
and messages are asserted here, never timings.
"""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Callable

import numpy as np
import pytest

import eincalc as ec
from eincalc.core.expr import Expr
from eincalc.core.indices import Index
from eincalc.core.intermediates import DEPTH
from eincalc.core.limits import bounded
from eincalc.core.traversal import postorder
from eincalc.numeric.lowering import lower
from eincalc.numeric.program import Contraction, Elementwise

x, y, A = ec.tensors("x[n] y[n] A[n,n]")


def distinct_nodes(expr: Expr) -> int:
    return sum(1 for _ in postorder(expr))


# -- matrix powers -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("k", [100_000, 10**9, -(10**9), 10**400])
def test_a_huge_matrix_power_is_refused_before_any_work(k: int) -> None:
    with pytest.raises(
        ec.ResourceError,
        match=r"matrix_power\(A\[i,j\], .*\) needs max_matrix_power ≥ .* \(it is "
        r"32\).*ec.set_limits\(max_matrix_power=\.\.\.\)",
    ):
        ec.matrix_power(A, k)


def test_the_text_of_a_huge_matrix_power_is_refused_with_the_text_shown() -> None:
    with pytest.raises(ec.ResourceError, match=r"max_matrix_power ≥ 100,000[^\n]*\n  matrix_power\(A, 100000\)"):
        ec.parse("matrix_power(A, 100000)", A)


def test_nested_matrix_powers_count_every_factor() -> None:
    inner = ec.matrix_power(A, 8)
    with pytest.raises(ec.ResourceError, match=r"max_matrix_power ≥ 64 .*8 factor\(s\) each"):
        ec.matrix_power(inner, 8)
    values = {"A": np.eye(3) * 0.9 + 0.01}
    with ec.resource_limits(max_matrix_power=64):
        power = ec.matrix_power(inner, 8)
    np.testing.assert_allclose(ec.evaluate(power, values), np.linalg.matrix_power(values["A"], 64), rtol=1e-12)


def depth(expr: Expr) -> int:
    below: dict[int, int] = {}
    for node in postorder(expr):
        below[id(node)] = 1 + max((below[id(c)] for c in node.children()), default=0)
    return below[id(expr)]


@pytest.mark.parametrize("k", [1, 2, 3, 5, 8, 13, 32, -1, -3, -6])
def test_matrix_powers_are_built_by_repeated_squaring(k: int) -> None:
    power = ec.matrix_power(A, k)
    assert depth(power) <= 2 * abs(k).bit_length() + 1  # a balanced product of squares, not a chain of k
    assert power.tree_size == 2 * abs(k) - 1 + (abs(k) if k < 0 else 0)  # written out: |k| factors
    products = [op for op in lower([power]).ops if isinstance(op, Contraction | Elementwise)]
    assert len(products) <= abs(k).bit_length() + bin(abs(k)).count("1")  # each square computed once
    values = {"A": np.array([[1.1, 0.2, 0.0], [0.1, 0.9, 0.3], [0.0, 0.2, 1.0]])}
    base = values["A"] if k > 0 else np.linalg.inv(values["A"])
    np.testing.assert_allclose(ec.evaluate(power, values), np.linalg.matrix_power(base, abs(k)), rtol=1e-10)


@pytest.mark.parametrize("k", [3, 4, 7, -2])
def test_the_derivative_of_a_squared_power_is_right(k: int) -> None:
    values = {"A": np.array([[1.1, 0.2, 0.0], [0.1, 0.9, 0.3], [0.0, 0.2, 1.0]]), "x": np.array([0.3, -0.5, 0.8])}
    assert ec.check_grad(ec.trace(ec.matrix_power(A, k)), A, values) < 1e-6
    assert ec.check_grad(x @ ec.matrix_power(A, k) @ x, x, values) < 1e-6


# -- expressions that double when written out --------------------------------------------------------------


def doubling(steps: int, name: bool = False) -> Expr:
    h: Expr = x
    for step in range(steps):
        h = h * 0.5 + h * 0.5
        if name:
            h = ec.let(f"h{step}", h)
    return h


def test_tree_size_counts_each_use_and_a_named_intermediate_once() -> None:
    assert x.tree_size == 1 and (x @ x).tree_size == 3
    assert [doubling(steps).tree_size for steps in range(4)] == [1, 7, 19, 43]  # 3 nodes per step, tree doubles
    assert distinct_nodes(ec.let("h", doubling(3))) < ec.let("h", doubling(3)).tree_size
    assert ec.tanh(ec.let("h", doubling(3))).tree_size == 2


def test_a_doubling_chain_is_never_refused_and_prints_once_per_step() -> None:
    """``h = h*0.5 + h*0.5`` doubles when written out, but each step is a few nodes of a DAG: built, derived,
    printed (each step defined once) and evaluated within the default limits."""
    h = doubling(30)
    assert h.tree_size > 2**30 and distinct_nodes(h) == 2 * 30 + 2  # x, 0.5, and 0.5 h, h + h per step
    text = str(h)
    assert text.count("\n  where ") == 30 - 1 and len(text) < 60 * 30
    assert ec.parse(text, x, *h.free) == h
    gradient = ec.grad(ec.sum(h), x)
    np.testing.assert_allclose(ec.evaluate(h, {"x": np.array([0.5, -2.0])}, dims={"n": 2}), [0.5, -2.0])
    np.testing.assert_allclose(ec.evaluate(gradient, {"x": np.array([0.5, -2.0])}, dims={"n": 2}), [1.0, 1.0])


def test_naming_the_shared_sub_expression_keeps_the_chain_small_and_right() -> None:
    h = doubling(16, name=True)
    assert h.tree_size == doubling(1, name=True).tree_size == 8  # each step refers to the last by name
    gradient = ec.grad(ec.sum(h), x)
    np.testing.assert_allclose(ec.evaluate(gradient, {"x": np.array([0.5, -2.0])}, dims={"n": 2}), [1.0, 1.0])


def test_a_deep_unnamed_chain_derives_within_the_default_limits() -> None:
    """Written out, the gradient of 300 unnamed layers repeats the chain at every layer; as a DAG it is linear."""
    (v,) = ec.tensors("v[n]")
    chain: Expr = v
    for _ in range(300):
        chain = ec.tanh(chain)
    gradient = ec.grad(ec.sum(chain), v)
    assert gradient.tree_size > 10**4 and distinct_nodes(gradient) < 10 * 300
    inputs = list(itertools.accumulate(range(299), lambda h, _: np.tanh(h), initial=0.1))  # each layer's input
    expected = np.prod([1 - np.tanh(value) ** 2 for value in inputs])
    np.testing.assert_allclose(ec.evaluate(gradient, {"v": np.array([0.1])}, dims={"n": 1}), [expected])


# -- numbers too large for a float -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "build",
    [
        lambda: x * 10**400,
        lambda: 10**400 - x,
        lambda: x / 10**400,
        lambda: x**10**400,
        lambda: ec.sum(x) + 10**5000,
        lambda: x * float("inf"),
        lambda: x + float("nan"),
    ],
    ids=["times", "minus", "divide", "power", "a 5000-digit integer", "inf", "nan"],
)
def test_a_number_that_is_not_a_finite_float_is_refused(build: Callable[[], Expr]) -> None:
    with pytest.raises(ec.UnsupportedError, match=r"is not a finite float .*rescale it"):
        build()


@pytest.mark.parametrize(
    "build",
    [
        lambda: 1e308 * x * 10,
        lambda: ec.simplify((x * 1e200) * 1e200),
        lambda: ec.grad(ec.sum(1e300 * x**1e300), x),
    ],
    ids=["coefficient", "folded by simplify", "in a derivative"],
)
def test_constants_that_overflow_while_combined_are_refused(build: Callable[[], Expr]) -> None:
    with pytest.raises(ec.UnsupportedError, match=r"a constant is -?inf, not a finite number: a product or power"):
        build()


def test_a_large_whole_exponent_is_a_number_not_work() -> None:
    assert str(x**10**9) == "x[i]**1000000000"
    assert str(x ** np.int64(3)) == "x[i]**3"
    np.testing.assert_allclose(ec.evaluate(x**10**9, {"x": np.array([1.0, -1.0])}), [1.0, 1.0])


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("x[i]**10**400", ec.ParseError),
        ("2**1e308", ec.ParseError),
        ("x[i] / 1e-320", ec.UnsupportedError),
        ("matrix_power(A, 1e300)", ec.ResourceError),
    ],
)
def test_huge_numbers_in_text_are_refused_with_the_text_shown(text: str, error: type[ec.EincalcError]) -> None:
    with pytest.raises(error, match=f"\n  {re.escape(text)}"):
        ec.parse(text, x, A)


# -- recursion: a clear ResourceError at the public boundary ---------------------------------------------


def unnamed_chain(depth: int) -> Expr:
    h: Expr = x
    for _ in range(depth):
        h = ec.tanh(h)
    return h


def test_a_chain_deeper_than_the_recursion_limit_prints_and_derives() -> None:
    """Printers see pieces at most `DEPTH` levels deep: the chain prints as definitions of that depth."""
    text = str(unnamed_chain(2000))
    assert max(line.count("tanh(") for line in text.splitlines()) <= DEPTH + 1
    assert ec.parse(text, x, *x.free) == unnamed_chain(2000)
    assert ec.grad(ec.sum(unnamed_chain(2000)), x).free == (Index("p", "n"),)


def test_a_derivative_that_is_the_number_one_does_not_make_later_gradients_second_order() -> None:
    """`grad(c, c)` is the shared node ``1``, which is also every gradient's upstream: a later first
    derivative of a 2,000-layer chain is still allowed 16 times its input's nodes."""
    (c,) = ec.tensors("c[]")
    one = ec.grad(c, c)
    assert str(one) == "1"
    assert ec.grad(ec.sum(unnamed_chain(2000)), x).free == (Index("p", "n"),)
    assert one is ec.grad(c, c)


def test_every_public_function_and_expression_method_is_guarded() -> None:
    functions = [getattr(ec, name) for name in ec.__all__ if type(getattr(ec, name)).__name__ == "function"]
    assert functions and all(hasattr(f, "__wrapped__") for f in functions)
    for method in ("__str__", "__add__", "__matmul__", "__pow__", "__rpow__", "latex", "to_matrix"):
        assert hasattr(getattr(ec.Expr, method), "__wrapped__"), method
    assert hasattr(ec.Expr.T.fget, "__wrapped__") and hasattr(ec.MatrixForm.numpy.fget, "__wrapped__")


def test_the_guard_turns_recursion_and_memory_errors_into_resource_errors() -> None:
    def deep(n: int) -> int:
        return deep(n + 1)

    def hungry() -> None:
        raise MemoryError

    with pytest.raises(ec.ResourceError, match=r"ec\.let"):
        bounded(deep)(0)
    with pytest.raises(ec.ResourceError, match=r"out of memory in .*hungry"):
        bounded(hungry)()
    assert bounded(functools.partial(int, "7"))() == 7


# -- many indices ----------------------------------------------------------------------------------------


def test_a_tensor_of_any_rank_has_positional_names() -> None:
    (T,) = ec.tensors("T[" + ",".join(["n"] * 30) + "]")  # more axes than letters i … h
    assert [k.name for k in T.free][-5:] == ["h", "i1", "j1", "k1", "l1"]
    assert str(2 * T).endswith("h,i1,j1,k1,l1]") and (T * T).rank == 30
    assert ec.jacobian(ec.exp(T), T).rank == 60
    with pytest.raises(ec.ResourceError, match="max_elements"):
        ec.evaluate(ec.jacobian(ec.exp(T), T), {"T": np.ones([2] * 30)})
