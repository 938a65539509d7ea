"""Matrix view: each recognised form's spelling, and its value against np.einsum of the index form."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import eincalc as ec
from eincalc.core.errors import NoMatrixForm
from eincalc.core.expr import Expr
from eincalc.core.indices import Index, TensorSpec
from eincalc.core.nodes import Add, Apply, Const, Contract, Delta, Named, One, Size, Tensor, node
from eincalc.matrix.check import run_numpy
from eincalc.matrix.tree import Call
from eincalc.matrix.view import Converter, MatrixForm, Term, register_matrix_rule, to_matrix

SIZES = {"m": 3, "n": 4, "B": 5}
i, j, k = Index("i", "m"), Index("j", "n"), Index("k", "n")
p, q, b, r = Index("p", "m"), Index("q", "n"), Index("b", "B"), Index("r", "B")


def declare(name: str, *indices: Index, symmetric: bool = False) -> Tensor:
    """Tensor ``name`` over ``indices`` (a repeated index declares one axis per use)."""
    return Tensor(TensorSpec(name, tuple(x.dim for x in indices), symmetric=symmetric), indices)


def minus(expr: Expr) -> Contract:
    return Contract((Const(-1.0), expr), expr.free)


def random_values(expr: Expr, sizes: dict[str, int], seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    values: dict[str, np.ndarray] = {}
    stack = [expr]
    while stack:
        sub = stack.pop()
        stack.extend(sub.children())
        if isinstance(sub, Tensor) and sub.spec.name not in values:
            array = rng.normal(size=tuple(sizes[d] for d in sub.spec.dims))
            values[sub.spec.name] = array + array.T if sub.spec.symmetric else array
    return values


def check(form: MatrixForm, values: dict[str, np.ndarray], expected: Any) -> None:
    """The printed NumPy text, run with only ``np`` and the arrays, equals ``expected``."""
    expected = np.asarray(expected)
    code_value = run_numpy(form.numpy, values)
    assert code_value.shape == expected.shape, (form.text, form.numpy, code_value.shape, expected.shape)
    np.testing.assert_allclose(code_value, expected, rtol=1e-10, atol=1e-12, err_msg=f"{form.text}: {form.numpy}")


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


Case = tuple[Expr, bool, str, str | None, Callable[[dict[str, np.ndarray]], Any]]

CASES: dict[str, Case] = {
    "transpose": (Contract((declare("W", i, j),), (j, i)), False, "Wᵀ", "W.T", lambda v: v["W"].T),
    "p1_outer": (
        Contract((declare("g", p), declare("a", q)), (p, q)),
        False,
        "g aᵀ",
        "np.outer(g, a)",
        lambda v: np.einsum("p,q->pq", v["g"], v["a"]),
    ),
    "p1_outer_rows": (
        Contract((declare("g", p), declare("a", q)), (p, q)),
        True,
        "gᵀ a",
        "np.outer(g, a)",
        lambda v: np.einsum("p,q->pq", v["g"], v["a"]),
    ),
    "p1_matvec": (
        Contract((declare("W", i, q), declare("g", i)), (q,)),
        False,
        "Wᵀ g",
        "W.T @ g",
        lambda v: np.einsum("iq,i->q", v["W"], v["g"]),
    ),
    "p1_matvec_rows": (
        Contract((declare("W", i, q), declare("g", i)), (q,)),
        True,
        "g W",
        "g @ W",
        lambda v: np.einsum("iq,i->q", v["W"], v["g"]),
    ),
    "matvec": (
        Contract((declare("W", q, i), declare("g", i)), (q,)),
        False,
        "W g",
        "W @ g",
        lambda v: np.einsum("qi,i->q", v["W"], v["g"]),
    ),
    "matvec_rows": (
        Contract((declare("W", q, i), declare("g", i)), (q,)),
        True,
        "g Wᵀ",
        "g @ W.T",
        lambda v: np.einsum("qi,i->q", v["W"], v["g"]),
    ),
    "p7_trace_gradient": (
        Contract((declare("A", i, p), declare("B", q, i)), (p, q)),
        False,
        "Aᵀ Bᵀ",
        "A.T @ B.T",
        lambda v: np.einsum("ip,qi->pq", v["A"], v["B"]),
    ),
    "p7_other_order": (
        Contract((declare("A", i, p), declare("B", q, i)), (q, p)),
        False,
        "B A",
        "B @ A",
        lambda v: np.einsum("ip,qi->qp", v["A"], v["B"]),
    ),
    "p5_least_squares": (
        Contract(
            (
                Const(2.0),
                declare("X", b, j),
                Add((Contract((declare("X", b, k), declare("W", k, q)), (b, q)), minus(declare("Y", b, q))), (b, q)),
            ),
            (j, q),
        ),
        False,
        "2 Xᵀ (X W − Y)",
        "2.0 * X.T @ (X @ W - Y)",
        lambda v: 2 * np.einsum("bj,bq->jq", v["X"], v["X"] @ v["W"] - v["Y"]),
    ),
    "quadratic_form": (
        Contract((declare("x", i), declare("A", i, p), declare("x", p)), ()),
        False,
        "xᵀ A x",
        "x @ A @ x",
        lambda v: np.einsum("i,ip,p->", v["x"], v["A"], v["x"]),
    ),
    "dot": (
        Contract((declare("a", i), declare("b", i)), ()),
        False,
        "aᵀ b",
        "a @ b",
        lambda v: np.einsum("i,i->", v["a"], v["b"]),
    ),
    "gradient_of_aXb": (
        Contract((declare("a", p), declare("b", q)), (p, q)),
        False,
        "a bᵀ",
        "np.outer(a, b)",
        lambda v: np.einsum("p,q->pq", v["a"], v["b"]),
    ),
    "diag_part": (
        Contract((declare("A", i, i),), (i,)),
        False,
        "diag(A)",
        "np.diagonal(A)",
        lambda v: np.einsum("ii->i", v["A"]),
    ),
    "trace": (Contract((declare("A", i, i),), ()), False, "tr(A)", "np.trace(A)", lambda v: np.einsum("ii->", v["A"])),
    "diag_matrix": (
        Contract((declare("v", i), Delta(i, p)), (i, p)),
        False,
        "diag(v)",
        "np.diag(v)",
        lambda v: np.diag(v["v"]),
    ),
    "identity": (
        Add((Delta(i, p), declare("M", i, p)), (i, p)),
        False,
        "I + M",
        "np.eye(M.shape[0]) + M",
        lambda v: np.eye(3) + v["M"],
    ),
    "frobenius": (
        Contract((declare("A", i, j), declare("B", i, j)), ()),
        False,
        "tr(Aᵀ B)",
        "np.sum(A * B)",
        lambda v: np.einsum("ij,ij->", v["A"], v["B"]),
    ),
    "trace_of_product": (
        Contract((declare("A", i, j), declare("B", j, p), declare("C", p, i)), ()),
        False,
        "tr(A B C)",
        "np.sum((A @ B) * C.T)",
        lambda v: np.einsum("ij,jp,pi->", v["A"], v["B"], v["C"]),
    ),
    "bias_broadcast": (
        Add((Contract((declare("X", b, j), declare("W", j, q)), (b, q)), declare("c", q)), (b, q)),
        False,
        "X W + 1 cᵀ",
        "X @ W + c",
        lambda v: np.einsum("bj,jq->bq", v["X"], v["W"]) + v["c"][None, :],
    ),
    "leading_broadcast": (
        Add((Contract((declare("X", b, j), declare("W", j, q)), (b, q)), minus(declare("d", b))), (b, q)),
        False,
        "X W − d 1ᵀ",
        "X @ W - d[:, None]",
        lambda v: np.einsum("bj,jq->bq", v["X"], v["W"]) - v["d"][:, None],
    ),
    "transposed_broadcast": (
        Contract(
            (Add((Contract((declare("A", q, b),), (b, q)), minus(declare("c", q))), (b, q)), declare("x", b)), (q,)
        ),
        False,
        "(A − c 1ᵀ) x",
        "(A - c[:, None]) @ x",
        lambda v: (v["A"] - v["c"][:, None]) @ v["x"],
    ),
    "row_layer": (
        Add((Contract((declare("x", i), declare("W1", i, q)), (q,)), declare("b1", q)), (q,)),
        True,
        "x W₁ + b₁",
        "x @ W1 + b1",
        lambda v: v["x"] @ v["W1"] + v["b1"],
    ),
    "bias_gradient": (Contract((declare("G", b, j),), (j,)), False, "Gᵀ 1", "G.sum(axis=0)", lambda v: v["G"].sum(0)),
    "bias_gradient_rows": (
        Contract((declare("G", b, j),), (j,)),
        True,
        "1ᵀ G",
        "G.sum(axis=0)",
        lambda v: v["G"].sum(0),
    ),
    "bias_gradient_with_ones": (
        Contract((declare("G", b, j), One(b)), (j,)),
        False,
        "Gᵀ 1",
        "G.sum(axis=0)",
        lambda v: v["G"].sum(0),
    ),
    "row_sums": (Contract((declare("G", b, j),), (b,)), False, "G 1", "G.sum(axis=1)", lambda v: v["G"].sum(1)),
    "vector_sum": (Contract((declare("v", i),), ()), False, "1ᵀ v", "np.sum(v)", lambda v: v["v"].sum()),
    "total_sum": (Contract((declare("G", b, j),), ()), False, "1ᵀ G 1", "np.sum(G)", lambda v: v["G"].sum()),
    "size_factor": (
        Contract((Size("n"), Const(0.5), declare("W", i, j)), (i, j)),
        False,
        "0.5 n W",
        "0.5 * W.shape[1] * W",
        lambda v: 2.0 * v["W"],
    ),
    "logistic_hessian": (
        Contract(
            (
                declare("X", b, i),
                Apply("sigmoid", declare("u", b)),
                Add((Const(1.0), minus(Apply("sigmoid", declare("u", b)))), (b,)),
                declare("X", b, p),
            ),
            (i, p),
        ),
        False,
        "Xᵀ diag(σ(u) ⊙ (1 − σ(u))) X",
        None,
        lambda v: np.einsum("bi,b,bp->ip", v["X"], sigmoid(v["u"]) * (1 - sigmoid(v["u"])), v["X"]),
    ),
    "hadamard_chain": (
        Contract(
            (
                Apply("sigmoid", declare("z", i)),
                Add((Const(1.0), minus(Apply("sigmoid", declare("z", i)))), (i,)),
                declare("g", i),
            ),
            (i,),
        ),
        False,
        "σ(z) ⊙ (1 − σ(z)) ⊙ g",
        None,
        lambda v: sigmoid(v["z"]) * (1 - sigmoid(v["z"])) * v["g"],
    ),
    "p2_delta": (
        Contract(
            (
                Apply("sigmoid", declare("z", i)),
                Add((Const(1.0), minus(Apply("sigmoid", declare("z", i)))), (i,)),
                Contract((declare("W", i, q), declare("g", q)), (i,)),
            ),
            (i,),
        ),
        False,
        "σ(z) ⊙ (1 − σ(z)) ⊙ (W g)",
        None,
        lambda v: sigmoid(v["z"]) * (1 - sigmoid(v["z"])) * (v["W"] @ v["g"]),
    ),
    "p3_input_gradient_rows": (
        Contract(
            (
                declare("W1", p, j),
                Contract((declare("W2", j, k), Add((declare("ŷ", k), minus(declare("y", k))), (k,))), (j,)),
                declare("h", j),
                Add((Const(1.0), minus(declare("h", j))), (j,)),
            ),
            (p,),
        ),
        True,
        "(((ŷ − y) W₂ᵀ) ⊙ h ⊙ (1 − h)) W₁ᵀ",
        "(((ŷ - y) @ W2.T) * h * (1.0 - h)) @ W1.T",
        lambda v: (((v["ŷ"] - v["y"]) @ v["W2"].T) * v["h"] * (1 - v["h"])) @ v["W1"].T,
    ),
    "square": (
        Apply("pow", Contract((declare("X", b, j), declare("W", j, q)), (b, q)), 2.0),
        False,
        "(X W)∘²",
        "(X @ W) ** 2.0",
        lambda v: (v["X"] @ v["W"]) ** 2,
    ),
    "vector_square": (Apply("pow", declare("x", i), 2.0), False, "x²", "x ** 2.0", lambda v: v["x"] ** 2),
    "symmetric": (
        Contract((declare("S", i, p, symmetric=True), declare("x", i)), (p,)),
        False,
        "S x",
        "S @ x",
        lambda v: v["S"] @ v["x"],
    ),
    "scalar_times_matrix": (
        Contract((declare("a", i), declare("b", i), declare("W", p, q)), (p, q)),
        False,
        "(aᵀ b) W",
        "(a @ b) * W",
        lambda v: (v["a"] @ v["b"]) * v["W"],
    ),
    "hadamard_then_sum": (
        Contract((declare("A", i, j), declare("B", i, j)), (i,)),
        False,
        "(A ⊙ B) 1",
        "(A * B).sum(axis=1)",
        lambda v: np.einsum("ij,ij->i", v["A"], v["B"]),
    ),
    "named_vector": (
        Contract((declare("a", p), Named("δ2", Contract((declare("W", i, q), declare("g", i)), (q,)), (k,))), (p, k)),
        False,
        "a δ₂ᵀ\n  where δ₂ = Wᵀ g",
        "δ2 = W.T @ g\nnp.outer(a, δ2)",
        lambda v: np.outer(v["a"], v["W"].T @ v["g"]),
    ),
    "named_matrix": (
        Contract((Named("Z1", Contract((declare("X", b, j), declare("W", j, q)), (b, q)), (r, k)),), (k, r)),
        False,
        "Z₁ᵀ\n  where Z₁ = X W",
        "Z1 = X @ W\nZ1.T",
        lambda v: (v["X"] @ v["W"]).T,
    ),
    "ones_outer": (
        Add((declare("G", b, q), Contract((One(b), declare("c", q)), (b, q))), (b, q)),
        False,
        "G + 1 cᵀ",
        "G + np.outer(np.ones(G.shape[0]), c)",
        lambda v: v["G"] + np.ones((5, 1)) * v["c"],
    ),
    "p6_quadratic_hessian": (
        Add((declare("A", p, i), Contract((declare("A", i, p),), (p, i))), (p, i)),
        False,
        "A + Aᵀ",
        "A + A.T",
        lambda v: v["A"] + v["A"].T,
    ),
    "one_minus_vector": (
        Add((Const(1.0), minus(declare("x", i))), (i,)),
        False,
        "1 − x",
        "1.0 - x",
        lambda v: 1 - v["x"],
    ),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_matrix_form(name: str) -> None:
    expr, rows, text, numpy_code, reference = CASES[name]
    form = to_matrix(expr, rows=rows)
    assert form.text == text
    if numpy_code is not None:
        assert form.numpy == numpy_code
    assert form.indices == expr.free
    values = random_values(expr, SIZES, seed=len(name))
    check(form, values, reference(values))


def test_latex_and_display_hooks() -> None:
    form = to_matrix(CASES["p1_outer"][0])
    assert form.latex == r"g a^\top"
    assert str(form) == "g aᵀ"
    assert form._repr_latex_() == r"$g a^\top$"
    assert form._repr_markdown_() == r"$g a^\top$"
    chain = to_matrix(CASES["p2_delta"][0])
    assert chain.latex == r"\sigma\left(z\right) \odot \left(1 - \sigma\left(z\right)\right) \odot \left(W g\right)"
    assert to_matrix(CASES["row_layer"][0], rows=True).latex == r"x {W_{1}} + {b_{1}}"
    assert to_matrix(CASES["p5_least_squares"][0]).latex == r"2 X^\top \left(X W - Y\right)"


def test_expr_method_gives_the_same_form() -> None:
    expr = CASES["p1_matvec"][0]
    assert expr.to_matrix().text == to_matrix(expr).text == "Wᵀ g"
    assert expr.to_matrix(rows=True).text == "g W"


def test_rank_three_result_has_no_matrix_form() -> None:
    jacobian = Contract((Delta(i, p), declare("a", q)), (i, p, q))
    with pytest.raises(NoMatrixForm, match=r"result has rank 3 \(i, p, q\): no matrix reading"):
        to_matrix(jacobian)


def test_rank_three_factor_has_no_matrix_form() -> None:
    expr = Contract((declare("T", i, j, k), declare("x", k)), (i, j))
    with pytest.raises(NoMatrixForm, match=r"factor T\[i,j,k\] has rank 3"):
        to_matrix(expr)


def test_index_shared_three_ways_with_no_reading() -> None:
    u, w = Index("u", "m"), Index("w", "m")
    ring = (
        declare("A", i, p),
        declare("B", i, u),
        declare("C", i, w),
        declare("D", p, u),
        declare("E", p, w),
        declare("F", u, w),
    )
    with pytest.raises(NoMatrixForm, match="index i is shared by three factors with no matrix reading"):
        to_matrix(Contract(ring, ()))


@node
class Inverse(Expr):
    """A matrix inverse, standing in for the node other modules add."""

    arg: Expr
    positional: bool = False

    def args(self) -> tuple[Any, ...]:
        return (self.arg,)

    def children(self) -> tuple[Expr, ...]:
        return (self.arg,)

    def _compute_free(self) -> tuple[Index, ...]:
        return self.arg.free[::-1]


@node
class Mystery(Expr):
    positional: bool = False

    def args(self) -> tuple[Any, ...]:
        return ()

    def _compute_free(self) -> tuple[Index, ...]:
        return ()


def test_registered_rule_reads_a_new_node() -> None:
    @register_matrix_rule(Inverse)
    def _inverse(node: Inverse, convert: Converter) -> Term:
        arg = convert(node.arg)
        spelling = ("{0}⁻¹", "{0}^{{-1}}", "np.linalg.inv({0})")
        transposed = ("{0}⁻ᵀ", r"{0}^{{-\top}}", "np.linalg.inv({0}).T")
        call = Call("inv", (arg.matrix,), "matrix", *spelling, postfix=True, transposed=transposed)
        return Term(call, arg.labels[::-1])

    expr = Contract((Inverse(declare("A", i, p)), declare("x", i)), (p,))  # inv(A)[p,i] x[i]
    form = to_matrix(expr)
    assert (form.text, form.latex, form.numpy) == ("A⁻¹ x", "A^{-1} x", "np.linalg.inv(A) @ x")
    values = random_values(expr, SIZES) | {"A": np.eye(3) * 2 + 0.1}
    check(form, values, np.linalg.inv(values["A"]) @ values["x"])
    product = to_matrix(Inverse(Contract((declare("A", i, j), declare("B", j, p)), (i, p))))
    assert product.text == "(A B)⁻¹"
    inverse_transpose = to_matrix(Contract((Inverse(declare("A", i, p)),), (i, p)))
    assert (inverse_transpose.text, inverse_transpose.latex) == ("A⁻ᵀ", r"A^{-\top}")
    assert inverse_transpose.numpy == "np.linalg.inv(A).T"
    check(inverse_transpose, values, np.linalg.inv(values["A"]).T)


def test_unknown_node_names_its_type() -> None:
    with pytest.raises(NoMatrixForm, match="no matrix reading for Mystery nodes"):
        to_matrix(Contract((Mystery(), declare("x", i)), (i,)))


# -- property tests -----------------------------------------------------------------------------

FORMS = ["p1_outer", "p1_matvec", "p7_trace_gradient", "p5_least_squares", "logistic_hessian", "bias_broadcast"]


@settings(max_examples=40, deadline=None)
@given(
    name=st.sampled_from(FORMS),
    rows=st.booleans(),
    sizes=st.fixed_dictionaries({d: st.integers(1, 5) for d in SIZES}),
    seed=st.integers(0, 2**16),
)
def test_forms_on_random_shapes(name: str, rows: bool, sizes: dict[str, int], seed: int) -> None:
    expr, _, _, _, reference = CASES[name]
    values = random_values(expr, sizes, seed)
    check(to_matrix(expr, rows=rows), values, reference(values))


POOL = (Index("i", "a"), Index("j", "b"), Index("k", "c"), Index("l", "a"))
POOL_SIZES = {"a": 2, "b": 3, "c": 4}


def index_value(expr: Expr, values: dict[str, np.ndarray]) -> np.ndarray:
    """An independent oracle: the index form evaluated with np.einsum, axes in ``expr.free`` order."""
    free = "".join(dict.fromkeys(x.name for x in expr.free))
    if isinstance(expr, Tensor):
        return np.einsum(f"{''.join(x.name for x in expr.indices)}->{free}", values[expr.spec.name])
    if isinstance(expr, Delta):
        size = POOL_SIZES[expr.i.dim]
        return np.ones(size) if expr.i == expr.j else np.eye(size)
    if isinstance(expr, One):
        return np.ones(POOL_SIZES[expr.i.dim])
    if isinstance(expr, Const):
        return np.asarray(expr.value)
    if isinstance(expr, Apply):
        assert expr.fn == "tanh"
        return np.tanh(index_value(expr.arg, values))
    if isinstance(expr, Contract):
        subscripts = ",".join("".join(dict.fromkeys(x.name for x in f.free)) for f in expr.factors)
        return np.einsum(f"{subscripts}->{free}", *(index_value(f, values) for f in expr.factors))
    assert isinstance(expr, Add)
    total = np.zeros(tuple(POOL_SIZES[x.dim] for x in expr.out))
    for term in expr.terms:
        part = index_value(term, values)
        # put the term's axes in output order, then give it a unit axis for each index it lacks
        part = np.einsum(
            f"{''.join(x.name for x in term.free)}->{''.join(x.name for x in expr.out if x in term.free)}", part
        )
        total = total + part.reshape(tuple(POOL_SIZES[x.dim] if x in term.free else 1 for x in expr.out))
    return total


def _within(free: tuple[Index, ...]) -> Callable[[Expr], bool]:
    return lambda expr: set(expr.free) <= set(free)


@st.composite
def products(draw: st.DrawFn, depth: int = 1) -> Contract:
    """A random product of rank ≤ 2 factors: tensors, diagonals, δ, ones, tanh, sub-products, sums."""
    kinds = ["tensor", "tensor", "tensor", "delta", "one", "tanh"] + (["product", "sum"] if depth else [])
    factors: list[Expr] = [Const(draw(st.sampled_from([1.0, -1.0, 2.0])))]
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(kinds))
        if kind == "delta":
            factors.append(Delta(POOL[0], POOL[3]))
        elif kind == "one":
            factors.append(One(draw(st.sampled_from(POOL))))
        elif kind == "product":
            factors.append(draw(products(depth - 1)))
        elif kind == "sum":
            first = draw(products(depth - 1))
            second = draw(products(depth - 1).filter(_within(first.free)))
            factors.append(Add((first, minus(second)), first.free))
        else:
            indices = draw(st.lists(st.sampled_from(POOL), max_size=2))
            name = draw(st.sampled_from("ABC")) + "".join(x.dim for x in indices)  # one name, one shape
            tensor = declare(name, *indices)
            factors.append(Apply("tanh", tensor) if kind == "tanh" else tensor)
    present = list(dict.fromkeys(x for f in factors for x in f.free))
    out = tuple(draw(st.permutations(present))[: draw(st.integers(0, min(2, len(present))))])
    return Contract(tuple(factors), out)


@settings(max_examples=400, deadline=None)
@given(expr=products(), rows=st.booleans(), seed=st.integers(0, 2**16))
def test_random_products_are_read_exactly_or_refused(expr: Contract, rows: bool, seed: int) -> None:
    values = random_values(expr, POOL_SIZES, seed)
    try:
        form = to_matrix(expr, rows=rows)
    except NoMatrixForm:
        return
    check(form, values, index_value(expr, values))


def test_diagonal_of_rank_three_factor_has_no_matrix_form() -> None:
    with pytest.raises(NoMatrixForm, match=r"factor T\[i,i,j\] has rank 3"):
        to_matrix(Contract((declare("T", i, i, j),), (i, j)))


def test_size_with_no_tensor_to_read_it_from() -> None:
    with pytest.raises(NoMatrixForm, match="no tensor in the expression has dimension B"):
        to_matrix(Contract((One(b), declare("c", q)), (b, q)))


def test_a_vector_sum_whose_terms_fold_into_a_number_is_a_ones_vector() -> None:
    """``A − A + 1``: the cancelling terms drop and the rest folds into the number 1, which the sum's shape spreads
    into the ones vector (it raised a bare TypeError, "a scalar cannot carry indices")."""
    (A,) = ec.tensors("A[m]")
    form = ec.to_matrix(A - A + 1)
    assert (form.text, form.numpy) == ("1", "np.ones(A.shape[0])")
    values = {"A": np.arange(3.0)}
    assert np.array_equal(run_numpy(form.numpy, values), ec.evaluate(A - A + 1, values))
