"""The matrix text means what it was printed from: explain reads it back, names never change meaning, and what the
printer writes (variable exponents) the reader reads.

Found by an adversarial review: explain certified matrix text it never read back (``I + I`` for ``δ + I`` with a
tensor named ``I``; ``n 1 / n`` with a scalar tensor named like the dimension ``n``), and the reader refused the
element-wise powers the printer writes (``x^t``, ``t x^(t − 1)``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

import eincalc as ec
from eincalc.core.indices import Index, TensorSpec
from eincalc.core.nodes import Tensor
from eincalc.explain.check import Check, numeric_check
from eincalc.matrix.readback import reads_back

RNG = np.random.default_rng(7)
x, y, t, s, A, B, W = ec.tensors("x[n] y[n] t s A[n,n] B[n,n] W[m,n]")
TENSORS = [x, y, t, s, A, B, W]
VALUES = {
    "x": RNG.uniform(0.5, 1.5, 3),
    "y": RNG.normal(size=3),
    "t": 0.7,
    "s": 1.3,
    "A": RNG.uniform(0.5, 1.5, (3, 3)),
    "B": RNG.normal(size=(3, 3)),
    "W": RNG.normal(size=(2, 3)),
}


def _unwrapped(text: str) -> str:
    """``text`` with its line wrapping undone."""
    return " ".join(text.split())


@dataclass(frozen=True)
class _Printed:
    """A matrix form as explain's check sees it: its text, its NumPy text and its orientation."""

    text: str
    numpy: str
    rows: bool = False


def _check_of(printed: _Printed) -> Check:
    square = ec.sum(x * x)
    return numeric_check(square, x, ec.grad(square, x), kind="grad", form=printed)  # type: ignore[arg-type]


def test_the_check_reads_the_matrix_text_back_not_only_its_numpy_text() -> None:
    check = _check_of(_Printed(text="3 x", numpy="2 * x"))
    assert not check.passed
    assert check.matrix_text_error is not None and check.matrix_text_error > 0.1
    assert "the matrix form, read back, gives DIFFERENT numbers" in check.sentence()


def test_matrix_text_that_does_not_read_back_is_never_certified() -> None:
    check = _check_of(_Printed(text="2 x where", numpy="2 * x"))
    assert not check.passed and check.matrix_text_problem is not None
    assert "the matrix form does NOT read back: ParseError" in check.sentence()
    assert "gives the same numbers" not in check.sentence()


def test_matrix_text_that_reads_back_is_certified_with_its_difference() -> None:
    check = _check_of(_Printed(text="2 x", numpy="2 * x"))
    assert check.passed and check.matrix_text_error == 0.0
    assert "the matrix form gives the same numbers as the index form" in check.sentence()


def test_a_tensor_named_i_upper_is_never_shown_as_the_identity() -> None:
    identity_named, square = ec.tensors("I[n,n] A[n,n]")
    derivation = ec.explain(ec.trace(square) + ec.sum(identity_named * square), square)
    text = _unwrapped(derivation.text())
    assert derivation.matrix is None and derivation.check.passed
    assert "the tensor I has the name of the identity I" in text and "rename the tensor" in text
    assert "matrix form: I + I" not in text
    with pytest.raises(ec.NoMatrixForm, match="the tensor I has the name of the identity I"):
        ec.to_matrix(derivation.result, sizes_from=[square])


def test_a_tensor_named_i_upper_still_prints_where_no_identity_is_shown() -> None:
    identity_named, square = ec.tensors("I[n,n] A[n,n]")
    form = ec.to_matrix(identity_named @ square)
    values = {"I": RNG.normal(size=(3, 3)), "A": RNG.normal(size=(3, 3))}
    assert form.text == "I A"
    assert reads_back(form, identity_named @ square, [identity_named, square], values).passed


def test_a_scalar_tensor_named_like_a_dimension_is_never_read_as_its_size() -> None:
    n, v = ec.tensors("n x[n]")
    with pytest.raises(ec.NoMatrixForm, match="the tensor n has the name of the dimension n"):
        ec.to_matrix(ec.mean(v) * n)
    derivation = ec.explain(ec.mean(v) * n, v)
    assert derivation.matrix is None and derivation.check.passed
    text = _unwrapped(derivation.text())
    assert "the tensor n has the name of the dimension n" in text and "matrix form: n 1 / n" not in text


def test_a_tensor_named_like_a_dimension_prints_where_no_size_is_shown() -> None:
    n, v = ec.tensors("n x[n]")
    form = ec.to_matrix(v * n)
    assert reads_back(form, v * n, [n, v], {"n": 5.0, "x": np.array([1.0, 2.0, 3.0])}).passed


def test_a_vector_tensor_named_like_its_dimension_is_never_read_as_its_size() -> None:
    n, v = ec.tensors("n[n] x[n]")
    with pytest.raises(ec.NoMatrixForm, match="rename the tensor"):
        ec.to_matrix(ec.mean(v) * n)


@pytest.mark.parametrize("reserved", ["where", "np"])
def test_a_tensor_node_named_like_a_reserved_word_has_no_matrix_form(reserved: str) -> None:
    """ec.tensors refuses these names; a node built directly gets no matrix text that would misread it."""
    named = Tensor(TensorSpec(reserved, ("n",)), (Index("i", "n"),))
    with pytest.raises(ec.NoMatrixForm, match=f"the tensor {reserved} has the name of"):
        ec.to_matrix(named)


VARIABLE_POWERS = {
    "x^t": lambda: x**t,
    "2^x": lambda: 2.0**x,
    "2^(−x)": lambda: 2.0 ** (-x),
    "exp(x)^(t + s)": lambda: ec.exp(x) ** (t + s),
    "exp(x)^(−t)": lambda: ec.exp(x) ** (-t),
    "x^y": lambda: x**y,
    "s^t": lambda: s**t,
    "s^x": lambda: s**x,
    "A^∘t": lambda: A**t,
    "A^∘B": lambda: A**B,
    "exp(A)^∘(Aᵀ)": lambda: ec.exp(A) ** A.T,
    "exp(x)^(t^s)": lambda: ec.exp(x) ** (t**s),
    "(exp(x)^t)^s": lambda: (ec.exp(x) ** t) ** s,
    "exp(x)^(Wᵀ W x)": lambda: ec.exp(x) ** (W.T @ W @ x),
    "A^∘t A": lambda: (A**t) @ A,
    "grad Σ x^t by x": lambda: ec.grad(ec.sum(x**t), x),
    "grad Σ x^y by x": lambda: ec.grad(ec.sum(x**y), x),
    "grad Σ x^t by t": lambda: ec.grad(ec.sum(x**t), t),
}


@pytest.mark.parametrize("rows", [False, True])
@pytest.mark.parametrize("case", VARIABLE_POWERS)
def test_a_variable_exponent_reads_back_to_the_same_numbers(case: str, rows: bool) -> None:
    expr = VARIABLE_POWERS[case]()
    form = ec.to_matrix(expr, rows=rows, sizes_from=TENSORS)
    check = reads_back(form, expr, TENSORS, VALUES)
    assert check.passed, str(check)


def test_explain_certifies_a_variable_exponent_it_reads_back() -> None:
    derivation = ec.explain(ec.sum(x**t), x)
    assert derivation.matrix is not None and derivation.matrix.text == "t x^(t − 1)"
    assert derivation.check.passed and derivation.check.matrix_text_error is not None


def test_a_matrix_raised_to_a_variable_exponent_must_say_element_wise() -> None:
    with pytest.raises(ec.UnsupportedError, match="for the element-wise power write A\\^∘t"):
        ec.parse_matrix("A^t", A, t)


def test_a_variable_exponent_of_another_shape_is_a_shape_error() -> None:
    with pytest.raises(ec.ShapeError):
        ec.parse_matrix("x^W", x, W)


@pytest.mark.parametrize("text", ["1.5.5 x", "x.5", "1e5.5 x", "1..5 x"])
def test_a_malformed_number_is_a_parse_error(text: str) -> None:
    with pytest.raises(ec.ParseError, match="malformed number"):
        ec.parse_matrix(text, x)


@pytest.mark.parametrize(("text", "factor"), [("2.*x", 2.0), ("1.5 x", 1.5), (".5 x", 0.5), ("x ./ 2", 0.5)])
def test_well_formed_numbers_still_read(text: str, factor: float) -> None:
    value = ec.evaluate(ec.parse_matrix(text, x), {"x": VALUES["x"]})
    np.testing.assert_allclose(value, factor * VALUES["x"])
