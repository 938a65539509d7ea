"""Declared names: a tensor or intermediate name is one every printed form shows and reads back as itself.

Names Python reads as another (NFKC normalisation: 𝑥 is x, x₁ is x1, Aᵀ is AT), keywords, function names and
the printed forms' own words are refused at declaration; an automatic adjoint name (``dh``) never takes the name
of a tensor in use.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import numpy as np
import pytest

import eincalc as ec
from eincalc.cli import main
from eincalc.testing import random_values

SIZES = {"m": 3, "n": 4}


def test_two_names_python_reads_as_one_are_refused_naming_both() -> None:
    with pytest.raises(ec.EincalcError, match=r"𝑥 and x .*both read as x.*rename one"):
        ec.tensors("𝑥[n] x[n]")


def test_parse_refuses_two_tensors_given_names_read_as_one() -> None:
    x, y = ec.tensors("x[n] y[n]")
    with pytest.raises(ec.EincalcError, match="x and ｘ are both read as x"):
        ec.parse("x[i] - ｘ[i]", x, **{"ｘ": y})


def test_the_cli_refuses_lookalike_names_instead_of_a_zero_jacobian(capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["derive", "𝑥[i] - x[i]", "--tensors", "𝑥[n] x[n]", "--wrt", "x"])
    out, err = capsys.readouterr()
    assert status != 0 and "both read as x" in err and "0" not in out


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("x₁", "'₁' (U+2081) reads as '1'"),
        ("W₁₀", "name it W10"),
        ("Aᵀ", "'ᵀ' (U+1D40) reads as 'T'"),
        ("ℓ", "name it l"),
        ("µ", "name it μ"),
        ("ﬁ", "name it fi"),
        ("Ａ", "name it A"),
        ("lambda", "a Python keyword"),
        ("None", "a Python keyword"),
        ("True", "a Python keyword"),
        ("if", "a Python keyword"),
        ("exp", "the function exp"),
        ("tanh", "the function tanh"),
        ("σ", "the function σ"),
        ("Σ", "the function Σ"),
        ("δ", "the word δ"),
        ("np", "the word np"),
    ],
)
def test_a_name_no_printed_form_reads_back_is_refused(name: str, problem: str) -> None:
    """Refused alike by ec.tensors, ec.let and a where-clause of index text (which said "unknown name 'l'" for ℓ
    and took exp and np)."""
    with pytest.raises(ec.EincalcError, match=re.escape(problem)):
        ec.tensors(f"{name}[n] x[n]")
    (x,) = ec.tensors("x[n]")
    with pytest.raises(ec.EincalcError, match=re.escape(problem)):
        ec.let(name, ec.tanh(x))
    with pytest.raises(ec.ParseError, match=re.escape(problem)):
        ec.parse(f"q[i] where {name}[i] = x[i]", x)


@pytest.mark.parametrize("name", ["x1", "W10", "AT", "l", "μ", "lambda_", "exp_", "δ_", "ŷ"])
def test_the_names_suggested_read_back_in_every_printed_form(name: str) -> None:
    u, v = ec.tensors(f"{name}[n] v[n]")
    expr = u + ec.exp(u) * v
    values = random_values(expr, SIZES, seed=0)
    expected = ec.evaluate(expr, values)
    np.testing.assert_allclose(ec.evaluate(ec.parse(str(expr), u, v), values), expected)
    form = ec.to_matrix(expr)
    np.testing.assert_allclose(ec.evaluate(ec.parse_matrix(form.text, u, v, shape=expr.shape), values), expected)


def test_generated_code_names_an_argument_as_python_reads_it(tmp_path: Path) -> None:
    """An adjoint named ``dh₁`` is Python's ``dh1``: the code keeps one spelling, and runs."""
    W, x = ec.tensors("W[m,n] x[n]")
    h = ec.let("h", ec.tanh(W @ x), adjoint="dh₁")
    gradient = ec.grad(ec.sum(h * h), x)
    path = tmp_path / "generated.py"
    path.write_text(ec.codegen(gradient))
    spec = importlib.util.spec_from_file_location("generated", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    values = random_values(gradient, SIZES, seed=1)
    np.testing.assert_allclose(module.compute(values["W"], values["x"]), ec.evaluate(gradient, values))


def test_an_automatic_adjoint_name_never_takes_a_tensors_name() -> None:
    dh, W, x = ec.tensors("dh[m] W[m,n] x[n]")
    h = ec.let("h", ec.tanh(W @ x))
    loss = ec.sum(h * h) + ec.sum(dh * h)
    gradient = ec.grad(loss, x)
    assert "where dh[i] =" not in str(gradient)
    values = random_values(loss, SIZES, seed=2)
    plain = ec.grad(ec.sum(ec.tanh(W @ x) ** 2) + ec.sum(dh * ec.tanh(W @ x)), x)
    np.testing.assert_allclose(ec.evaluate(ec.parse(str(gradient), dh, W, x), values), ec.evaluate(plain, values))
    assert "DISAGREE" not in ec.explain(loss, x).check.sentence()


@pytest.mark.parametrize(
    ("first", "second", "shown"),
    [("h[n]", "h[m]", r"h\[n\] and h\[m\]"), ("S[n,n]", "S[n,n]", r"S\[n,n\], symmetric and S\[n,n\]\)")],
)
def test_one_expression_reading_two_tensors_of_one_name_declared_differently_is_refused(
    first: str, second: str, shown: str
) -> None:
    """A name binds one array: evaluating, compiling or printing an expression that reads two different declarations
    of it says so (the second declaration was dropped, its array taken from the first's)."""
    (one,) = ec.tensors(first, symmetric="S" if first.startswith("S") else "")
    (other,) = ec.tensors(second)
    expr = ec.sum(one) * ec.sum(other)
    values = {"h": np.ones(4), "S": np.eye(4)}
    message = rf"two tensors named \w are declared differently \({shown}.*declare \w once, or rename one"
    for attempt in (lambda: ec.evaluate(expr, values, dims=SIZES), lambda: ec.compile(expr)):
        with pytest.raises(ec.UnsupportedError, match=message):
            attempt()
    with pytest.raises(ec.NoMatrixForm, match=message):
        ec.to_matrix(expr)


def test_one_declaration_made_twice_is_one_tensor() -> None:
    (first,) = ec.tensors("h[n]")
    (again,) = ec.tensors("h[n]")
    expr = ec.sum(first) * ec.sum(again)
    assert float(ec.evaluate(expr, {"h": np.arange(4.0)})) == 36.0
    assert float(ec.compile(expr)({"h": np.arange(4.0)})) == 36.0
    assert ec.to_matrix(expr).text == "(1ᵀ h) 1ᵀ h"
