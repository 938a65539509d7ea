"""parse: text → Expr, read back exactly what the printer writes, errors with a caret, never a crash."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from eincalc.core.errors import EincalcError, IndexMismatch, ParseError, ShapeError, UnknownNameError, UnsupportedError
from eincalc.core.expr import Expr
from eincalc.core.indices import Index
from eincalc.core.names import canonical
from eincalc.core.nodes import Add, Const, Contract, Delta, One, Size, Zero
from eincalc.frontend import build
from eincalc.frontend.parse import CALLS, Call, parse, register_parse_function
from eincalc.frontend.printing import to_text
from eincalc.numeric.evaluate import evaluate
from eincalc.ops.nn import Softmax
from fuzz_parser import TOKENS  # the fuzzer's vocabulary: names, operators, and text that must not run as code

x, y, z, W, A, c = build.tensors("x[n] y[n] z[n] W[m,n] A[n,n] c")
T = (x, y, z, W, A, c)
i, j, k = (Index(name, "n") for name in "ijk")


# -- reading --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("W[i,j] x[j]", W["i", "j"] * x["j"]),
        ("W[i,j] * x[j]", W["i", "j"] * x["j"]),
        ("x[i] y[i] z[j]", build.einstein_product([x["i"], y["i"], z["j"]])),
        ("(x[i] y[i])[i]", Contract((x["i"], y["i"]), (i,))),
        ("(x[i] y[j])[j,i]", Contract((x["i"], y["j"]), (j, i))),
        ("(x[i] + y[j])[i,j]", Add((x["i"], y["j"]), (i, j))),
        ("((A[i,j] + A[j,i]))[j,i]", Contract((A["i", "j"] + A["j", "i"],), (j, i))),
        ("((x[i] + y[i]))[i]", x["i"] + y["i"]),
        ("(2 x[i])[i]", 2 * x["i"]),
        ("Σ(2)", Const(2.0)),
        ("(W[j,i])[i,j]", Contract((W["j", "i"],), (Index("i", "n"), Index("j", "m")))),
        ("Σ(x[i])", Contract((x["i"],), ())),
        ("sum(x[i] y[j])", Contract((x["i"], y["j"]), ())),
        ("Σ((x[i] y[j]))", Contract((x["i"] * y["j"],), ())),
        ("(x[i] y[i]) z[i]", build.einstein_product([x["i"] * y["i"], z["i"]])),
        ("x[i] (y[i] z[j])", build.einstein_product([x["i"], y["i"] * z["j"]])),
        ("-2 x[i]", build.scale(x["i"], -2)),
        ("-x[i] y[i]", build.scale(x["i"] * y["i"], -1)),
        ("-(2 x[i])", Contract((Const(-1.0), 2 * x["i"]), (i,))),  # parentheses keep a product one factor
        ("2 (-x[i])", Contract((Const(2.0), -x["i"]), (i,))),
        ("2 Σ(A[i,i])", Contract((Const(2.0), A["i", "i"]), ())),  # a coefficient joins a lone product
        ("2 (Σ(A[i,i]))", Contract((Const(2.0), Contract((A["i", "i"],), ())), ())),
        ("x[i] - 2 y[i]", build.sum_terms([x["i"], build.scale(y["i"], -2)])),
        ("x[i] - (2 y[i])", build.sum_terms([x["i"], Contract((Const(-1.0), 2 * y["i"]), (i,))])),
        ("x[i] − y[i]", x["i"] - y["i"]),
        ("c + x[i]", build.sum_terms([c, x["i"]])),
        ("x[i]**2 y[i]", x["i"] ** 2 * y["i"]),
        ("x[i]**(-1)", x["i"] ** -1),
        ("-x[i]**2", -(x["i"] ** 2)),
        ("x[i] / y[j]", x["i"] / y["j"]),
        ("σ(W[i,j] x[j])", build.sigmoid(W["i", "j"] * x["j"])),
        ("sigmoid(x[i]) tanh(y[i])", build.sigmoid(x["i"]) * build.tanh(y["i"])),
        ("square(x[i])", x["i"] ** 2),
        ("δ[i,j] x[j]", Contract((Delta(i, j), x["j"]), (i,))),
        ("delta[i,j] x[j]", Contract((Delta(i, j), x["j"]), (i,))),
        ("A[i,i]", A["i", "i"]),
        ("(W @ x)[a]", (W @ x)["a"]),
        ("(x y)[i]", (x * y)["i"]),
        ("size(n) c", build.einstein_product([Size("n"), c])),
        ("0", Zero(())),
        ("2.5", Const(2.5)),
        ("2 ** 3", Const(8.0)),
        ("x[i] + 0[i]", build.sum_terms([x["i"], Zero((i,))])),
        ("x[i] + 1[i]", build.sum_terms([x["i"], One(i)])),
        ("Σ(1[q:m])", Contract((One(Index("q", "m")),), ())),  # an index with its dimension written
        ("δ[r,q:m] W[q,i]", Contract((Delta(Index("r", "m"), Index("q", "m")), W["q", "i"]), (Index("r", "m"), i))),
        ("0[q:n,r:m]", Zero((Index("q", "n"), Index("r", "m")))),
        ("x[i] 1[q:batch]", Contract((x["i"], One(Index("q", "batch"))), (i, Index("q", "batch")))),
    ],
)
def test_index_style(text: str, expected: Expr) -> None:
    result = parse(text, *T)
    assert result == expected
    assert not result.free or not result.positional


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("W @ x", W @ x),
        ("W.T", W.T),
        ("(W @ x).T @ W", (W @ x).T @ W),
        ("x ⊙ y", x * y),
        ("x * y * z", x * y * z),
        ("2 W", 2 * W),
        ("W - 1", W - 1),
        ("x + y - z", x + y - z),
        ("x / y", x / y),
        ("σ(W @ x + 1)", build.sigmoid(W @ x + 1)),
        ("sum(W)", build.total(W)),
        ("Σ(W)", build.total(W)),
        ("sum(W, axis=0)", build.total(W, 0)),
        ("sum(W, axis=-1)", build.total(W, -1)),
        ("trace(A @ A)", build.trace(A @ A)),
        ("outer(x, y)", build.outer(x, y)),
        ("dot(x, y)", build.dot(x, y)),
        ("c", c),
    ],
)
def test_matrix_style(text: str, expected: Expr) -> None:
    result = parse(text, *T)
    assert result == expected
    assert result.positional


def test_juxtaposition_multiplies_but_calls_stay_calls() -> None:
    assert parse("W[i,j] x[j]", *T) == parse("W[i,j]*x[j]", *T)
    assert parse("2 (x[i] + y[i])", *T) == parse("2*(x[i] + y[i])", *T)
    assert parse("Σ(x[i]) y[j]", *T) == parse("Σ(x[i]) * y[j]", *T)
    assert parse("σ (x[i])", *T) == build.sigmoid(x["i"])
    assert parse("  x[i]\n  + y[i]\t", *T) == x["i"] + y["i"]


def test_declarations() -> None:
    assert parse("v[i]", v=x) == x["i"]
    assert parse("x[i]", x["k"]) == x["i"]  # any tensor of the spec declares it
    assert parse("δ[i,j]", Index("i", "n"), Index("j", "n")) == Delta(i, j)
    assert parse("δ[i,p] x[p]", x) == Contract((Delta(i, Index("p", "n")), x["p"]), (i,))  # i via the δ
    with pytest.raises(UnsupportedError):
        parse("x", 3)
    with pytest.raises(IndexMismatch):
        parse("δ[i,i]", Index("i", "n"), Index("i", "m"))
    with pytest.raises(ParseError):
        parse(42)


def test_results_are_cached() -> None:
    assert parse("A[i,j] x[j] + y[i]", *T) is parse("A[i,j] x[j] + y[i]", *reversed(T))


@pytest.fixture
def restore_calls() -> Iterator[None]:
    saved = dict(CALLS)
    yield
    CALLS.clear()
    CALLS.update(saved)


@pytest.mark.usefixtures("restore_calls")
def test_registered_functions() -> None:
    def double(call: Call) -> Expr:
        call.arity(1)
        return build.scale(call.expr(0), 2)

    def axis_sum(call: Call) -> Expr:
        call.arity(2)
        return build.total(call.expr(0), call.identifier(1))

    with pytest.raises(UnknownNameError, match="unknown function 'double'"):
        parse("double(x[i])", *T)
    register_parse_function("double", double)
    register_parse_function("axis_sum", axis_sum)
    assert parse("double(x[i])", *T) == build.scale(x["i"], 2)
    assert parse("axis_sum(W[i,j], j)", *T) == build.total(W["i", "j"], "j")
    with pytest.raises(ParseError, match="argument 2 of axis_sum must be a name"):
        parse("axis_sum(W[i,j], 1)", *T)


# -- errors ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "error", "message", "column"),
    [
        ("x[i] y[i] z[i]", IndexMismatch, "index i appears 3 times", 12),
        ("x[i] x[j] y[j] y[i] z[i]", IndexMismatch, "index i appears 3 times", 22),
        ("foo(x)", UnknownNameError, "unknown function 'foo'; known functions: abs, binary_cross_entropy, cos", 0),
        ("x[i] + q", UnknownNameError, "unknown name 'q'; declared tensors: A[n,n], W[m,n], c, x[n]", 7),
        ("σ + x", UnknownNameError, "σ is a function", 0),
        ("2 W[i]", IndexMismatch, "W has 2 axes (m, n) but 1 indices were given", 2),
        ("W[i,j,k]", IndexMismatch, "W has 2 axes (m, n) but 3 indices were given", 6),
        ("W[i,j] A[i,j]", IndexMismatch, "index i stands for dimension m in W[i,j] and n in A[i,j]", 9),
        ("x[i] + y[i] + z[i] + W[i,j]", IndexMismatch, "index i stands for dimension n in x[i] and m in W[i,j]", 23),
        ("δ[i,j] + 1", IndexMismatch, "cannot infer the dimension of index i", 2),
        ("δ[q,r] + 1", IndexMismatch, "write it, like 1[q:n], or pass Index(name, dim) to parse", 2),
        ("δ[q:m,r:n]", IndexMismatch, "the indices of a δ share one dimension, but q stands for m and r for n", 6),
        ("1[q:]", ParseError, "indices must be names, like W[i,j], or with a dimension, like 1[j:n]", 2),
        ("x[i:n]", ParseError, "indices must be names, like W[i,j]", 2),
        ("x[i] + 1[i:m]", IndexMismatch, "index i stands for dimension n in x[i] and m in 1[i]", 7),
        ("x[i] + W", IndexMismatch, "cannot combine matrix-style W[i,j] (shape (m, n)) with index-style x[i]", 7),
        ("W x[j]", IndexMismatch, "cannot combine matrix-style", 2),
        ("x[i] + y[j]", IndexMismatch, "free indices of a sum must agree", 7),
        ("(x[i])[j]", IndexMismatch, "output index j occurs in no factor", 7),
        ("(x[i] y[j])[i,i]", IndexMismatch, "output index i is repeated", 14),
        ("x @ W", ShapeError, "inner dimensions n and m differ", 0),
        ("x[i] ** 'a'", ParseError, "a string is not supported in eincalc expressions", 8),
        ("x[i] == y[i]", ParseError, "a comparison is not supported in eincalc expressions", 0),
        ("x[i] if c else y[i]", ParseError, "'… if … else …' is not supported", 0),
        ("lambda: x", ParseError, "lambda is not supported", 0),
        ("[x for x in y]", ParseError, "a comprehension is not supported", 0),
        ("x + 'a'", ParseError, "a string is not supported", 4),
        ("x + True", ParseError, "True is not supported", 4),
        ("x[i:j]", ParseError, "indices must be names", 2),
        ("x[1]", ParseError, "indices must be names", 2),
        ("x.shape", ParseError, "attribute access other than .T", 0),
        ("x // y", ParseError, "the operator '//' is not supported", 0),
        ("not x", ParseError, "'not' or '~' is not supported", 0),
        ("x + f'{y}'", ParseError, "an f-string is not supported", 4),
        ("σ(x, y)", ParseError, "σ takes 1 argument, not 2", 0),
        ("σ(*x)", ParseError, "* and ** arguments are not supported", 2),
        ("sum(x, keepdims=1)", ParseError, "sum takes no keyword keepdims=", 7),
        ("sum(x[i], axis=0)", ParseError, "axis= needs a matrix-style argument", 0),
        ("size(q)", UnknownNameError, "q is not a dimension of a declared tensor; dimensions: m, n", 0),
        ("2[i]", ParseError, "the numbers that take indices are 1[i] and 0[i,…]", 0),
        ("x[i] + (", ParseError, "cannot read the expression: '(' was never closed", 7),
        ("x[i] +", ParseError, "cannot read the expression: it ends too soon, after '+'", 5),
        ("1e999 x[i]", ParseError, "number is too large for a float", 0),
        ("2**1e308", ParseError, "a constant overflows or divides by zero", 0),
        ("0.0**-1", ParseError, "a constant overflows or divides by zero", 0),
        ("(-8)**0.5", ParseError, "is not a finite real number", 0),
        ("1e308 1e308 x[i]", ParseError, "a constant overflows", 0),
        ("", ParseError, "expression is empty", 0),
        ("x\0", ParseError, "null character", 1),
        ("x[i] # y[i]", ParseError, "comments (#) are not supported", 5),
    ],
)
def test_errors_point_at_the_column(text: str, error: type[EincalcError], message: str, column: int) -> None:
    with pytest.raises(error) as info:
        parse(text, *T)
    lines = str(info.value).splitlines()
    assert message in lines[0]
    assert lines[1] == "  " + "".join(" " if ch.isspace() else ch for ch in text)
    assert lines[2] == "  " + " " * column + "^"


@pytest.mark.parametrize(
    "text",
    [
        "(" * 1000 + "x" + ")" * 1000,
        "σ(" * 300 + "x" + ")" * 300,
        "x" + "[i]" * 500,
        "x" + ".T" * 2000,
        "-" * 5000 + "x",
        "x @ " * 2000 + "x",
        "9" * 5000,
        "0x" + "f" * 5000,
        "x[i]" + " y[i]" * 1999,
        "x" * 10_001,
    ],
)
def test_pathological_input_gives_a_clean_error(text: str) -> None:
    with pytest.raises(EincalcError):
        parse(text, *T)


def test_huge_exponents_stay_symbolic() -> None:
    assert parse("x[i]**1e308", *T) == build.power(x["i"], 1e308)
    assert parse("x[i]**(-1e308)", *T) == build.power(x["i"], -1e308)


def parses_or_fails_cleanly(text: str) -> None:
    try:
        result = parse(text, *T)
    except EincalcError:
        return
    assert isinstance(result, Expr)
    to_text(result)


@settings(max_examples=600, deadline=None)
@given(st.text(max_size=60) | st.lists(st.sampled_from(TOKENS), max_size=30).map("".join))
def test_fuzz_only_eincalc_errors(text: str) -> None:
    parses_or_fails_cleanly(text)


VALID = [
    "σ(W[i,j] x[j] + y[i])",
    "(x[i] y[i])[i] - 2 Σ(x[j] A[j,k] z[k])",
    "W @ x + 1",
    "((A[j,i] + A[i,j]))[i,j]",
    "x[i]**(-1) δ[i,j] y[j]",
    "sum(W, axis=0) ⊙ x",
    "size(n) c − tanh(x[i] y[i])",
]


@settings(max_examples=600, deadline=None)
@given(
    st.sampled_from(VALID),
    st.lists(st.tuples(st.integers(0, 60), st.integers(0, 3), st.sampled_from(TOKENS)), min_size=1, max_size=4),
)
def test_fuzz_mutated_expressions(text: str, edits: list[tuple[int, int, str]]) -> None:
    for position, removed, inserted in edits:
        position %= len(text) + 1
        text = text[:position] + inserted + text[position + removed :]
    parses_or_fails_cleanly(text)


# -- round trips ------------------------------------------------------------------------------

N, M = "ijk", "ab"
LEAVES = st.one_of(
    st.sampled_from(N).map(lambda n: x[n]),
    st.sampled_from(N).map(lambda n: y[n]),
    st.tuples(st.sampled_from(M), st.sampled_from(N)).map(lambda p: W[p]),
    st.permutations(N).map(lambda p: A[p[0], p[1]]),
    st.just(c),
)


def attempt(make: Callable[[], Expr]) -> Expr | None:
    try:
        return make()
    except EincalcError:
        return None


def compose(children: st.SearchStrategy[Expr]) -> st.SearchStrategy[Expr]:
    """Index-style expressions built with build.py (an operation that raises is skipped)."""
    pairs = st.tuples(children, children)
    made = st.one_of(
        pairs.map(lambda p: attempt(lambda: build.einstein_product(p))),
        pairs.map(lambda p: attempt(lambda: build.sum_terms(p))),
        pairs.map(lambda p: attempt(lambda: build.elementwise_product(p))),
        pairs.map(lambda p: attempt(lambda: build.divide(*p))),
        st.tuples(children, st.sampled_from([-1.0, 2.0, -0.5])).map(lambda p: build.scale(*p)),
        st.tuples(children, st.sampled_from([2, -1, 0.5])).map(lambda p: build.power(*p)),
        st.tuples(children, st.sampled_from(["sigmoid", "exp", "tanh", "softplus"])).map(
            lambda p: build.apply(p[1], p[0])
        ),
        children.filter(lambda e: e.rank > 0).map(lambda e: Contract((e,), ())),
        children.filter(lambda e: e.rank > 1).map(lambda e: Contract((e,), tuple(reversed(e.free)))),
    )
    return made.filter(lambda e: e is not None)


EXPRESSIONS = st.recursive(LEAVES, compose, max_leaves=8)


def same_value(left: Expr, right: Expr, seed: int) -> None:
    rng = np.random.default_rng(seed)
    values = {
        "x": rng.uniform(0.5, 1.5, 3),
        "y": rng.uniform(0.5, 1.5, 3),
        "W": rng.uniform(0.5, 1.5, (2, 3)),
        "A": rng.uniform(0.5, 1.5, (3, 3)),
        "c": 1.25,
    }
    with np.errstate(all="ignore"):
        np.testing.assert_allclose(evaluate(left, values), evaluate(right, values), rtol=1e-9)


LARGE_REPR = pytest.mark.filterwarnings("ignore:Generating overly large repr")  # hypothesis, on big expressions


@LARGE_REPR
@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(EXPRESSIONS)
def test_round_trip_is_exact(expr: Expr) -> None:
    text = to_text(expr)
    back = parse(text, *T)
    assert canonical(back) == canonical(expr), text
    assert to_text(back) == text


@LARGE_REPR
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(EXPRESSIONS, st.integers(0, 2**32 - 1))
def test_round_trip_keeps_the_value(expr: Expr, seed: int) -> None:
    back = parse(to_text(expr), *T)
    assert back.free == expr.free
    same_value(back, expr, seed)


def test_a_sum_constant_along_an_output_index_reads_back() -> None:
    """An `Add` may have an output index no term has (a gradient drops a ``0[w]`` term): its text lists the
    index, with its dimension where nothing else tells it, and reads back to the very tree."""
    u, v = build.tensors("u[m] v[m]")
    p, w = Index("p", "m"), Index("w", "r")
    constant_along_w = Add((build.index_expr(u, ("p",)), build.index_expr(v, ("p",))), (p, w))
    assert to_text(constant_along_w) == "(u[p] + v[p])[p,w]"
    assert parse(to_text(constant_along_w), u, v, p, w) is constant_along_w
    summed = Contract((Softmax("softmax", constant_along_w, w),), (p,))  # no tensor tells the dimension of w
    assert to_text(summed) == "(softmax((u[p] + v[p])[p,i:r], i))[p]"
    assert parse(to_text(summed), u, v, p) is summed
    with pytest.raises(IndexMismatch, match="output index w occurs in no factor"):
        parse("(u[p] v[p])[p,w:r]", u, v)
