"""Index notation under hostile input: numbers Python cannot read, division by a literal 0, and the readings
that must agree with `numpy.einsum` and with the matrix reader (a silent misreading is the worst bug)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

import eincalc as ec

x, y, A, B, T3, s, c = ec.tensors("x[n] y[n] A[n,n] B[n,n] T3[n,n,n] s c")
DECLARED = (x, y, A, B, T3, s, c)
RNG = np.random.default_rng(7)
VALUES = {
    "x": RNG.uniform(0.5, 2, 3),
    "y": RNG.uniform(0.5, 2, 3),
    "A": RNG.uniform(0.5, 2, (3, 3)),
    "B": RNG.uniform(0.5, 2, (3, 3)),
    "T3": RNG.uniform(0.5, 2, (3, 3, 3)),
    "s": np.array(1.3),
    "c": np.array(1.7),
}


def value(expr: ec.Expr) -> np.ndarray:
    return np.asarray(ec.evaluate(expr, VALUES), dtype=float)


@pytest.mark.parametrize(
    ("text", "column"), [("s * 1" + "0" * 5000, 4), ("1" + "_0" * 4400, 0), ("2 + 9" + "9" * 4400 + " s", 4)]
)
def test_an_integer_longer_than_python_reads_is_too_large(text: str, column: int) -> None:
    with pytest.raises(ec.ParseError, match="number is too large for a float") as caught:
        ec.parse(text, *DECLARED)
    caret = str(caught.value).splitlines()[-1]
    assert caret == "  " + " " * column + "^"  # under the number, not at the end of the text


@pytest.mark.parametrize("text", ["s/0", "1/0", "x/0", "0/0", "x[i]/0[i:n]", "s/(0)"])
def test_division_by_a_literal_zero_is_refused(text: str) -> None:
    with pytest.raises(ec.UnsupportedError, match="by the constant 0"):
        ec.parse(text, *DECLARED)


@pytest.mark.parametrize("text", ["0**-1", "0**-2 * s", "(0)**-0.5", "0[i:n]**-1"])
def test_zero_to_a_negative_power_is_refused(text: str) -> None:
    with pytest.raises(ec.UnsupportedError, match="is not a finite real number"):
        ec.parse(text, *DECLARED)


def test_the_matrix_reader_refuses_a_division_by_zero_too() -> None:
    with pytest.raises(ec.UnsupportedError):
        ec.parse_matrix("c/0", *DECLARED)


@pytest.mark.parametrize(("text", "expected"), [("0**2 + s", 1.3), ("0**0 * s", 1.3), ("0 * s", 0.0)])
def test_zero_to_a_positive_power_still_reads(text: str, expected: float) -> None:
    assert value(ec.parse(text, *DECLARED)) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("text", "equation", "operands"),
    [
        ("A[i,i]", "ii->i", "A"),
        ("A[i,i] x[i]", "ii,i->", "A x"),
        ("T3[i,i,i]", "iii->i", "T3"),
        ("T3[i,j,i] x[j]", "iji,j->i", "T3 x"),
        ("T3[i,j,i] x[i]", "iji,i->j", "T3 x"),
        ("T3[j,i,i]", "jii->ji", "T3"),
        ("(T3[i,j,k])[k,i]", "ijk->ki", "T3"),
        ("x[j] y[i]", "j,i->ji", "x y"),
        ("(x[i] y[j])[j,i]", "i,j->ji", "x y"),
        ("A[x,y] x[y]", "ij,j->i", "A x"),  # indices named like tensors are indices
        ("(δ[i,j] x[j])[j]", "j->j", "x"),
        ("A[i,j] B[j,k] + B[i,k]", None, None),
    ],
)
def test_index_text_matches_numpy_einsum(text: str, equation: str | None, operands: str | None) -> None:
    got = value(ec.parse(text, *DECLARED))
    if equation is None:
        expected = VALUES["A"] @ VALUES["B"] + VALUES["B"]
    else:
        assert operands is not None
        expected = np.einsum(equation, *(VALUES[name] for name in operands.split()))
    assert got.shape == expected.shape
    assert np.allclose(got, expected)


@pytest.mark.parametrize(
    "text",
    ["c**2**3", "-c**2", "2**-1", "2**-1*c", "c**-2**2", "-2**2*c", "2**3**2", "c**0.5**2", "-c**-c", "c/2/3", "c-1-2"],
)
def test_index_and_matrix_readers_agree(text: str) -> None:
    index_value = value(ec.parse(text, *DECLARED))
    assert index_value == pytest.approx(value(ec.parse_matrix(text, *DECLARED)))
    assert index_value == pytest.approx(eval(text, {}, {"c": 1.7}))  # the test's own oracle: Python's reading


def _doubling(clauses: int) -> str:
    """``t1 = x``, then each automatic name the sum of the one before twice: 2**(clauses - 1) terms written out."""
    steps = [f"where t{k}[i] = t{k - 1}[i] + t{k - 1}[i]" for k in range(2, clauses + 1)]
    return "\n".join([f"t{clauses}[i]", "where t1[i] = x[i]", *steps])


def test_a_text_whose_sum_doubles_per_clause_is_refused_before_it_is_built() -> None:
    with ec.resource_limits(max_tree_nodes=100), pytest.raises(ec.ResourceError, match="a sum of 128 terms"):
        ec.parse(_doubling(10), *DECLARED)  # 512 terms: refused at the first sum above the limit
    with pytest.raises(ec.ResourceError, match="max_tree_nodes"):
        ec.parse(_doubling(200), *DECLARED)  # 2**199 terms: it hung, building them


def test_a_doubling_sum_of_operators_is_refused_and_a_named_one_is_not() -> None:
    h = x
    with ec.resource_limits(max_tree_nodes=100), pytest.raises(ec.ResourceError, match=r"ec\.let"):
        for _ in range(10):
            h = h + h
    named = x
    for k in range(40):
        named = ec.let(f"h{k}", named + named)
    assert value(ec.sum(named)) == pytest.approx(2.0**40 * VALUES["x"].sum())


def test_a_sum_within_the_limit_reads_as_before() -> None:
    assert value(ec.parse(_doubling(6), *DECLARED)) == pytest.approx(32 * VALUES["x"])


def test_a_broadcasting_error_shows_the_operands_as_written() -> None:
    W, A = ec.tensors("W[m,n] A[n,n]")
    with pytest.raises(ec.ShapeError) as caught:
        ec.parse("W + A", W, A)
    assert str(caught.value).splitlines()[0] == (
        "cannot add W[i,j] of shape (m, n) and A[i,j] of shape (n, n): dimension m meets n "
        "(NumPy broadcasting aligns trailing axes)"
    )  # it showed A[A,B]: the indices renamed apart, like the tensor's own name


@pytest.mark.parametrize("read", [ec.parse, ec.parse_matrix])
@pytest.mark.parametrize("text", ["1e-400*s", "s + 2e-324", "0.00001e-320 * s"])
def test_a_nonzero_number_too_small_for_a_float_is_refused_not_read_as_zero(
    read: Callable[..., ec.Expr], text: str
) -> None:
    with pytest.raises(ec.ParseError, match=r"too small for a float: it would read as 0.*write 0 if zero is meant"):
        read(text, s)


@pytest.mark.parametrize("read", [ec.parse, ec.parse_matrix])
def test_the_smallest_floats_and_written_zeros_still_read(read: Callable[..., ec.Expr]) -> None:
    assert float(ec.evaluate(read("5e-324 * s", s), {"s": 1.0})) == 5e-324
    assert float(ec.evaluate(read("s + 0e-400", s), {"s": 2.0})) == 2.0


def test_an_exponent_written_with_a_unicode_minus_reads_alike_in_both_parsers() -> None:
    """``1e−3`` (U+2212) is 0.001 to ec.parse (which reads − as -); the matrix reader read it as 1·e − 3 when a tensor
    e was declared."""
    (e,) = ec.tensors("e")
    values = {"s": 2.0, "e": 5.0}
    for read in (ec.parse, ec.parse_matrix):
        assert float(ec.evaluate(read("1e−3 * s", s, e), values)) == pytest.approx(0.002)
