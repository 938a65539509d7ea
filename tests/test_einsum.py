"""einsum: NumPy's equations build expressions that evaluate exactly like numpy.einsum."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from eincalc.core.errors import EincalcError, IndexMismatch, ParseError, UnsupportedError
from eincalc.frontend.build import tensors
from eincalc.frontend.einsum import einsum
from eincalc.numeric.evaluate import evaluate

W, a, A, B, x, c = tensors("W[m,n] a[n] A[n,n] B[n,p] x[m] c")
RNG = np.random.default_rng(0)
VALUES: dict[str, Any] = {
    "W": RNG.normal(size=(2, 3)),
    "a": RNG.normal(size=3),
    "A": RNG.normal(size=(3, 3)),
    "B": RNG.normal(size=(3, 4)),
    "x": RNG.normal(size=2),
    "c": 1.5,
}


def arrays(*operands: object) -> list[Any]:
    return [VALUES[o.spec.name] if hasattr(o, "spec") else o for o in operands]


@pytest.mark.parametrize(
    ("equation", "operands"),
    [
        ("ij,j->i", (W, a)),
        ("ij,jk", (W, B)),
        ("ii->", (A,)),
        ("ii", (A,)),
        ("ii->i", (A,)),
        ("i,j->ij", (x, a)),
        ("ij,jk,kl->il", (W, A, B)),
        (",i->i", (2.0, a)),
        (",->", (c, 3)),
        ("ij->ji", (W,)),
        ("ji", (W,)),
        ("ij->", (W,)),
        ("ij,ij->ij", (W, W)),
        ("ii,i->i", (A, a)),
        ("ij,ij", (A, A)),
        ("Ba", (W,)),
        (" ij , j -> i ", (W, a)),
    ],
)
def test_matches_numpy(equation: str, operands: tuple[object, ...]) -> None:
    result = einsum(equation, *operands)
    expected = np.einsum(equation, *arrays(*operands))
    assert result.positional
    np.testing.assert_allclose(evaluate(result, VALUES), expected)


def test_same_expression_as_matrix_style_building() -> None:
    assert einsum("ij,j->i", W, a) == W @ a
    assert einsum("ij->ji", W) == W.T
    assert einsum("i,j->ij", x, a) == einsum("i,j", x, a)
    assert str(einsum("ij,j->i", W, a)) == "W[i,j] a[j]"


def test_operands_of_any_style_are_relabelled() -> None:
    # index-style operands, and an operand whose summed index (j) clashes with a letter
    z = einsum("ij,j->i", W["p", "q"], a["q"])
    assert z == W @ a
    inner = W @ a  # W[i,j] a[j], j summed inside
    e = einsum("j,j->", inner, x)
    np.testing.assert_allclose(evaluate(e, VALUES), (VALUES["W"] @ VALUES["a"]) @ VALUES["x"])


def test_result_is_matrix_style() -> None:
    e = einsum("ij,jk->ik", W, B)
    assert e.shape == ("m", "p")
    np.testing.assert_allclose(evaluate(e.T, VALUES), (VALUES["W"] @ VALUES["B"]).T)


@st.composite
def random_einsum(draw: st.DrawFn) -> tuple[str, list[str], dict[str, int]]:
    letters = "ijkl"
    terms = draw(st.lists(st.lists(st.sampled_from(letters), max_size=3).map("".join), min_size=1, max_size=3))
    used = sorted({ch for term in terms for ch in term})
    equation = ",".join(terms)
    if draw(st.booleans()):
        order = draw(st.permutations(used))
        equation += "->" + "".join(order[: draw(st.integers(0, len(order)))])
    sizes = {ch.upper(): draw(st.integers(1, 3)) for ch in letters}
    return equation, terms, sizes


@settings(max_examples=150, deadline=None)
@given(random_einsum(), st.integers(0, 2**32 - 1))
def test_random_equations_match_numpy(case: tuple[str, list[str], dict[str, int]], seed: int) -> None:
    equation, terms, sizes = case
    declared = " ".join(f"T{k}[{','.join(ch.upper() for ch in t)}]" if t else f"T{k}" for k, t in enumerate(terms))
    operands = tensors(declared)
    rng = np.random.default_rng(seed)
    values = {f"T{k}": rng.normal(size=tuple(sizes[ch.upper()] for ch in t)) for k, t in enumerate(terms)}
    result = evaluate(einsum(equation, *operands), values)
    expected = np.einsum(equation, *(values[f"T{k}"] for k in range(len(terms))))
    np.testing.assert_allclose(result, expected, atol=1e-12)


@pytest.mark.parametrize(
    ("equation", "operands", "error", "message", "column"),
    [
        ("ij,j->i", (W,), IndexMismatch, "the equation has 2 terms but got 1 operand", None),
        ("ij,jk->ik", (W, a), IndexMismatch, "operand 1 (a, shape (n)) has 1 axis but term 'jk' has 2 letters", 3),
        ("ij,ij->i", (W, A), IndexMismatch, "letter i is dimension m in operand 0 but n in operand 1", 3),
        ("ii", (W,), IndexMismatch, "letter i is dimension m and n in operand 0", 1),
        ("ij->k", (W,), IndexMismatch, "output letter k appears in no input term", 4),
        ("ij->ii", (W,), IndexMismatch, "output letter i is repeated", 5),
        ("i1->i", (W,), ParseError, "invalid character '1'", 1),
        ("i->j->k", (a,), ParseError, "at most one '->'", 4),
        ("...ij->ij", (W,), UnsupportedError, "ellipsis", 0),
        ("ij,k", (W, "x"), UnsupportedError, "operand 1: cannot use str", None),
    ],
)
def test_errors_name_the_operand_and_letter(
    equation: str, operands: tuple[object, ...], error: type[EincalcError], message: str, column: int | None
) -> None:
    with pytest.raises(error) as info:
        einsum(equation, *operands)
    lines = str(info.value).splitlines()
    assert message in lines[0]
    assert lines[1] == f"  {equation}"
    if column is None:
        assert len(lines) == 2
    else:
        assert lines[2] == "  " + " " * column + "^"


def test_equation_must_be_a_string() -> None:
    with pytest.raises(ParseError):
        einsum(3, W)
