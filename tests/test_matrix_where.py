"""Issue 15, item 3: a matrix form defines the intermediates it names, as where-clauses in its text and LaTeX and as
assignments in its NumPy text, and each reads back (parse_matrix) or runs (run_numpy) to the index form's numbers."""

from __future__ import annotations

import numpy as np
import pytest

import eincalc as ec
from eincalc.core.indices import Index
from eincalc.core.nodes import Add, Const, Contract, Tensor
from eincalc.matrix.check import run_numpy
from eincalc.matrix.readback import reads_back

RNG = np.random.default_rng(15)
VALUES = {
    "W1": RNG.normal(size=(4, 3)),
    "W2": RNG.normal(size=(2, 4)),
    "x": RNG.normal(size=3),
    "y": RNG.normal(size=2),
}


def _named_network() -> tuple[ec.Expr, list[ec.Expr]]:
    """The gradient by W1 of a squared error through a named hidden layer ``a`` (its adjoint is named ``da``)."""
    W1, W2, x, y = ec.tensors("W1[h,n] W2[m,h] x[n] y[m]")
    a = ec.let("a", ec.tanh(W1 @ x))
    return ec.grad(ec.sum((W2 @ a - y) ** 2), W1), [W1, W2, x, y]


def test_every_name_the_text_uses_is_defined_beneath_it() -> None:
    gradient, _ = _named_network()
    form = ec.to_matrix(gradient)
    assert form.text == "((1 − a²) ⊙ da) xᵀ\n  where a = tanh(W₁ x)\n  where da = 2 W₂ᵀ (W₂ a − y)"
    assert form.latex.endswith(
        r",\quad\text{where } a = \tanh\left({W_{1}} x\right),\; "
        r"\mathrm{da} = 2 {W_{2}}^\top \left({W_{2}} a - y\right)"
    )


def test_numpy_text_is_assignments_then_the_expression_and_runs() -> None:
    gradient, _ = _named_network()
    form = ec.to_matrix(gradient)
    assert form.numpy == "a = np.tanh(W1 @ x)\nda = 2.0 * W2.T @ (W2 @ a - y)\nnp.outer((1.0 - a ** 2.0) * da, x)"
    np.testing.assert_allclose(run_numpy(form.numpy, VALUES), ec.evaluate(gradient, VALUES), rtol=1e-12)


def test_text_with_where_clauses_reads_back_from_the_tensors_alone() -> None:
    gradient, tensors = _named_network()
    check = reads_back(ec.to_matrix(gradient), gradient, tensors, VALUES)
    assert check.passed, str(check)
    back = ec.parse_matrix(ec.to_matrix(gradient).text, *tensors)
    np.testing.assert_allclose(ec.evaluate(back, VALUES), ec.evaluate(gradient, VALUES), rtol=1e-12)


def test_a_name_for_ones_times_a_number_is_shown_in_place() -> None:
    """The deep read-back run's counterexample: ``where dh₄ = dh₅ 1`` read the lone ``1`` as the number (nothing in the
    clause says it is a vector), so ``1ᵀ dh₄`` became a row; the body is shown in place, where ``1ᵀ (dh₅ 1)`` is
    ``dh₅ m``."""
    A, B, G = ec.tensors("A B[m] G")
    h4 = ec.let("h4", A + B)
    h6 = ec.let("h6", A * A * ec.let("h5", ec.sum(h4)))
    gradient = ec.grad(ec.let("h7", ec.sigmoid(h6)) * G, A)
    form = ec.to_matrix(gradient, sizes_from=[A])
    assert form.text.splitlines()[0] == "2 A dh₆ h₅ + dh₅ m"
    assert "dh₄" not in form.text and "dh4" not in form.numpy
    values = {"A": np.array(0.3), "B": np.array([-0.5, 0.2, 0.7]), "G": np.array(1.5)}
    check = reads_back(form, gradient, [A], values)
    assert check.passed, str(check)


@pytest.mark.parametrize(
    ("name", "taken"),
    [("I", "the identity I"), ("where", "the word that starts"), ("m", "the size m")],
)
def test_an_intermediate_named_like_what_the_text_shows_has_no_matrix_form(name: str, taken: str) -> None:
    """``where m = tanh(W x)`` would redefine the size m the text shows (and I, where the words it reads):
    refused."""
    W, x = ec.tensors("W[m,n] x[n]")
    z = ec.let(name, ec.tanh(W @ x))
    gradient = ec.grad(ec.sum(z * z) + x @ x + ec.sum(ec.log(ec.softmax(W @ x))), x)
    with pytest.raises(ec.NoMatrixForm, match=f"the intermediate {name} has the name of {taken}"):
        ec.to_matrix(gradient, sizes_from=[x])


def test_an_intermediate_named_like_a_tensor_is_shown_under_a_name_of_its_own() -> None:
    """``ec.let("x", tanh(W x))`` beside the tensor x: the text defines x₂, not a second x, and reads back."""
    W, x = ec.tensors("W[m,n] x[n]")
    z = ec.let("x", ec.tanh(W @ x))
    gradient = ec.grad(ec.sum(z * z) + x @ x, x)
    form = ec.to_matrix(gradient, sizes_from=[x])
    assert "where x₂ = tanh(W x)" in form.text and "where x =" not in form.text
    values = {"W": np.arange(6.0).reshape(2, 3) / 10, "x": np.array([0.3, -0.2, 0.5])}
    check = reads_back(form, gradient, [W, x], values)
    assert check.passed, str(check)


def test_an_intermediate_named_like_a_size_the_text_does_not_show_is_printed() -> None:
    W, x = ec.tensors("W[m,n] x[n]")
    z = ec.let("n", ec.tanh(W @ x))
    gradient = ec.grad(ec.sum(z * z), x)
    form = ec.to_matrix(gradient, sizes_from=[x])
    assert form.text == "Wᵀ ((1 − n²) ⊙ dn)\n  where n = tanh(W x)\n  where dn = 2 n"
    values = {"W": RNG.normal(size=(2, 3)), "x": RNG.normal(size=3)}
    assert reads_back(form, gradient, [W, x], values).passed


def test_a_name_for_ones_times_a_sum_of_entries_is_shown_in_place() -> None:
    """The deep read-back run's counterexample: ``where dh₅ = A³ (1ᵀ dh₉) 1`` names a tensor only inside the sum of
    entries, which leaves the ``1`` a number to the reader; that body too is shown in place."""
    A, B, G = ec.tensors("A B[m,m] G[m]")
    h5 = ec.let("h5", ec.parse("A + B[a,a]", A, B, ec.Index("a", "m")))
    h10 = ec.let("h10", ec.sigmoid(ec.let("h9", A * A * A * ec.sum(h5) * ec.parse("1[i:m]"))))
    gradient = ec.grad(Contract((h10, Tensor(G.spec, h10.free)), ()), A)
    form = ec.to_matrix(gradient, sizes_from=[A])
    assert form.text.splitlines()[0] == "(1ᵀ dh₉) (3 A² 1ᵀ h₅ + A³ m)"
    assert "where h₉ =" not in form.text and "where h₁₀ =" not in form.text
    values = {"A": np.array(0.3), "B": RNG.normal(size=(3, 3)), "G": RNG.normal(size=3)}
    check = reads_back(form, gradient, [A], values)
    assert check.passed, str(check)


def test_numbers_in_a_vector_sum_that_fold_to_one_number_spell_their_ones() -> None:
    """The deep read-back run's counterexample: the body of ``h₆ = A + (−1)³ − 1`` printed ``A − 2`` (each ``1``
    was left bare, as a lone ``1`` may be, and the two folded into ``2``, a scalar); it is ``A − 2 1``."""
    (A,) = ec.tensors("A[m]")
    h6 = ec.let("h6", ec.parse("A[i] + (-1)**3 - 1", A, ec.Index("i", "m")))
    form = ec.to_matrix(h6)
    assert form.text == "h₆\n  where h₆ = A − 2 1"
    assert reads_back(form, h6, [A], {"A": np.arange(3.0)}).passed
    assert ec.to_matrix(ec.parse("A[i] - 1", A, ec.Index("i", "m"))).text == "A − 1"
    i = ec.Index("i", "m")
    nested = ec.let("h6", Add((Add((Tensor(A.spec, (i,)), Const(-1.0)), (i,)), Const(-1.0)), (i,)))
    form = ec.to_matrix(nested)  # each sum keeps its lone 1, and the two are not added into a scalar 2
    assert form.text == "h₆\n  where h₆ = A − 1 − 1"
    assert reads_back(form, nested, [A], {"A": np.arange(3.0)}).passed


def test_a_scalar_sum_that_cancels_is_zero() -> None:
    """The deep read-back run's counterexample: a scalar ``1 − 1`` was kept as written, and before ``1ᵀ dh₆`` the
    reader took it for a column of ones; a scalar sum that cancels is 0."""
    A, G = ec.tensors("A G[m]")
    h2 = ec.let("h2", ec.sqrt(ec.parse("1[i:m]", ec.Index("i", "m"))))
    h6 = ec.let("h6", ec.tanh(ec.let("h5", ec.let("h3", A * h2) - A)))
    hessian = ec.hessian(Contract((h6, Tensor(G.spec, h6.free)), ()), A)
    form = ec.to_matrix(hessian, sizes_from=[A])
    assert "1 − 1" not in form.text
    check = reads_back(form, hessian, [A], {"A": np.array(0.3), "G": RNG.normal(size=3)})
    assert check.passed, str(check)


def test_a_broadcast_body_is_assigned_at_its_full_shape() -> None:
    """``where h = 1 Aᵀ``: inside a sum NumPy broadcasts A along the rows, but assigned on its own h must be the
    matrix (it was ``h = A``, a vector; found by the differential suite)."""
    A = ec.tensors("A[m]")[0]
    expr = ec.sigmoid(ec.let("h", ec.parse("(A[j] + 0[i:m])[i,j]", A)))
    form = ec.to_matrix(expr)
    values = {"A": np.array([1.0, -2.0, 0.5])}
    assert form.text.endswith("where h = 1 Aᵀ")
    assert run_numpy(form.numpy, values).shape == (3, 3)
    assert np.allclose(run_numpy(form.numpy, values), ec.evaluate(expr, values))


def test_a_vector_times_a_zero_vector_reads_back_or_has_no_matrix_form() -> None:
    """``(x − x)`` broadcast beside ``A 1ᵀ`` printed ``0 xᵀ + A 1ᵀ`` (and, transposed, ``A 0``): a number times a
    vector, which the reader cannot add to a matrix (found by the deep read-back run)."""
    A, x = ec.tensors("A[m] x[m]")
    values = {"A": np.array([1.0, -2.0, 0.5]), "x": np.array([0.3, 0.2, -1.0])}
    for text in ("(x[i] - x[i] + A[j])[j,i]", "(x[i] - x[i] + A[j])[i,j]"):
        expr = ec.sigmoid(ec.let("h", ec.parse(text, A, x)))
        try:
            form = ec.to_matrix(expr)
        except ec.NoMatrixForm:
            continue
        assert reads_back(form, expr, [A, x], values).passed, form.text


def test_a_column_sum_of_ones_is_a_number_times_ones() -> None:
    """Σ over the rows of 1 1ᵀ is m 1ᵀ, a Scale whose number a product moves in front: kept as a sum shown as
    m 1ᵀ, the body ``1 m 1ᵀ dh₁₇ᵀ`` of a where-clause read its leading 1 as the number 1, a row instead of a
    matrix (found by the deep read-back run)."""
    from eincalc.matrix.algebra import matmul
    from eincalc.matrix.reductions import sum_axis
    from eincalc.matrix.render import to_text
    from eincalc.matrix.tree import Axis, Ones, Outer, Scale, Symbol

    column, row = Ones("m", Axis("B", 0), "col"), Ones("r", Axis("B", 1), "row")
    summed = sum_axis(Outer(column, row), 0, column, "row")
    assert isinstance(summed, Scale) and to_text(summed) == "m 1ᵀ"
    product = matmul(column, matmul(summed, Symbol("G", "matrix")))
    assert not to_text(product).startswith("1 m"), to_text(product)


def test_a_broadcast_inside_a_function_is_the_matrix_in_numpy_too() -> None:
    """``where h₆ = σ(1 Aᵀ)`` was assigned ``h6 = σ(A)``, a vector, which ``h6.T * G`` then broadcast along the
    wrong axis (found by the deep explain run): a broadcast is written as the matrix it shows."""
    A, G = ec.tensors("A[m] G[m,m]")
    h = ec.let("h", ec.sigmoid(ec.parse("(A[j] + 0[i:m])[i,j]", A)))
    i, j = Index("i", "m"), Index("j", "m")
    expr = Contract((h["j", "i"], G["i", "j"]), (i, j))  # hᵀ ⊙ G
    form = ec.to_matrix(expr)
    values = {"A": np.array([0.1, -0.2, 0.7]), "G": np.arange(9.0).reshape(3, 3)}
    assert np.allclose(run_numpy(form.numpy, values), ec.evaluate(expr, values)), form.numpy
