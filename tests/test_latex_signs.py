"""LaTeX keeps a negated factor bracketed, writes constants as powers of ten, and gives the body of
``\\det(…)`` index names that no sum around it uses.

A factor led by a sign, juxtaposed in a product, reads as a difference (``s -t`` is ``s − t``);
Python's e-notation (``1e-300``) renders as ``1e − 300``.  The index text keeps its own
spelling (it reads back through `eincalc.parse`).
"""

from __future__ import annotations

import re

import pytest

import eincalc as ec
from eincalc.frontend.spelling import latex_number

s, t, u = ec.tensors("s t u")
x, y = ec.tensors("x[n] y[n]")
A, v = ec.tensors("A[m,n] v[n]")
M, N = ec.tensors("M[n,n] N[n,n]")

_SIGN_AFTER_FACTOR = re.compile(r"\S -\S")  # "s -t": a minus joined to the factor after it, after a factor
_E_NOTATION = re.compile(r"\de[-+]?\d")

NEGATED_FACTORS = {
    "s*(-t)": (s * (-t), r"s \left(-t\right)", "s (-t)"),
    "(-s)*(-t)": ((-s) * (-t), r"\left(-s\right) \left(-t\right)", "(-s) (-t)"),
    "x@(-y)": (x @ (-y), r"\sum_{i} x_{i} \left(-y_{i}\right)", "x[i] (-y[i])"),
    "-(s*t)": (-(s * t), "-s t", "-s t"),
    "s*(-2*t)": (s * (-2 * t), r"s \left(-2 t\right)", "s (-2 t)"),
    "(s-t)*(-u)": ((s - t) * (-u), r"\left(s - t\right) \left(-u\right)", "(s - t) (-u)"),
    "3*(s*(2*t))": (3 * (s * (2 * t)), r"3 s \left(2 t\right)", "3 s (2 t)"),
}


@pytest.mark.parametrize("name", NEGATED_FACTORS)
def test_a_negated_factor_is_bracketed_in_latex(name: str) -> None:
    expr, latex, text = NEGATED_FACTORS[name]
    assert expr.latex() == latex
    assert not _SIGN_AFTER_FACTOR.search(expr.latex())
    assert str(expr) == text


@pytest.mark.parametrize("name", NEGATED_FACTORS)
def test_the_index_text_of_a_negated_factor_reads_back_to_its_value(name: str) -> None:
    expr = NEGATED_FACTORS[name][0]
    values = {"s": 1.5, "t": -0.75, "u": 2.25, "x": [1.0, -2.0, 3.0], "y": [0.5, 4.0, -1.5]}
    back = ec.parse(str(expr), s, t, u, x, y)
    assert ec.evaluate(back, values) == pytest.approx(ec.evaluate(expr, values))


def test_explanations_bracket_a_negated_factor() -> None:
    explained = ec.explain(s * (-t) * u, u)
    for shown in (explained.latex(), explained.markdown()):
        assert r"s \left(-t\right) u" in shown
        assert "s -t" not in shown


def test_a_negative_constant_factor_stays_a_coefficient() -> None:
    assert (s * (-2.5)).latex() == "-2.5 s"
    assert (s * ec.exp(-t)).latex() == r"s \exp\left(-t\right)"


@pytest.mark.parametrize(
    ("value", "latex"),
    [
        (2.0, "2"),
        (-0.5, "-0.5"),
        (1e-300, "10^{-300}"),
        (-1e-300, "-10^{-300}"),
        (1e15, "10^{15}"),
        (1e20, "10^{20}"),
        (-2.5e-7, r"-2.5 \times 10^{-7}"),
        (1.25e300, r"1.25 \times 10^{300}"),
        (float("inf"), r"\infty"),
        (float("-inf"), r"-\infty"),
    ],
)
def test_latex_numbers_write_powers_of_ten(value: float, latex: str) -> None:
    assert latex_number(value) == latex


def test_latex_constants_have_no_e_notation_and_the_text_keeps_it() -> None:
    assert (1e-300 * s).latex() == "10^{-300} s"
    assert (1e15 * s).latex() == "10^{15} s"
    assert (s - 1e-300).latex() == "s - 10^{-300}"
    assert (s**1e-300).latex() == "s^{10^{-300}}"
    assert str(1e-300 * s) == "1e-300 s"
    assert ec.evaluate(ec.parse(str(1e-300 * s), s), {"s": 2.0}) == pytest.approx(2e-300)


def test_the_matrix_latex_writes_powers_of_ten_and_its_text_keeps_e_notation() -> None:
    scaled = ec.to_matrix(-2.5e-7 * (A @ v))
    assert scaled.latex == r"-2.5 \times 10^{-7} A v"
    assert scaled.text == "−2.5e-07 A v"
    assert ec.to_matrix(1e20 * s + t).latex == "10^{20} s + t"
    assert ec.to_matrix(s - 1e-300).latex == "s - 10^{-300}"
    for expr in (1e-300 * s, (1e-300 * s) ** 2, s * 1e300 - t):
        assert not _E_NOTATION.search(ec.to_matrix(expr).latex)
        assert not _E_NOTATION.search(expr.latex())


def test_a_matrix_function_body_takes_names_no_sum_around_it_uses() -> None:
    assert (ec.sum(y) * ec.logdet(M)).latex() == r"\sum_{i} y_{i} \log\left|\det\left(M_{kj}\right)\right|"
    gradient = ec.grad(ec.logdet(M) + ec.trace(ec.inv(M) @ N), M)
    assert gradient.latex() == (
        r"\left[\left(M_{kl}\right)^{-1}\right]_{qp} - \sum_{i,j} \left[\left(M_{kl}\right)^{-1}\right]_{ip} N_{ji} "
        r"\left[\left(M_{kl}\right)^{-1}\right]_{qj}"
    )


def test_a_matrix_function_alone_keeps_its_body_names_in_latex() -> None:
    assert ec.logdet(M).latex() == r"\log\left|\det\left(M_{ij}\right)\right|"
    assert ec.det(ec.inv(M) @ N).latex() == (
        r"\det\left(\sum_{k} \left[\left(M_{lm}\right)^{-1}\right]_{ik} N_{kj}\right)"
    )
