"""The command line: derive (the README's command), explain, walkthrough, and errors with a caret."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from eincalc.cli import main
from eincalc.walkthroughs import WALKTHROUGHS

README = Path(__file__).resolve().parent.parent / "README.md"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def test_the_readme_command(capsys: pytest.CaptureFixture[str]) -> None:
    first = README.read_text(encoding="utf-8").split("```bash\n", 1)[1].splitlines()[0]
    command = shlex.split(first.split("&& eincalc ", 1)[1])
    status, out, _ = run(capsys, *command)
    assert status == 0
    assert out.splitlines() == [
        "expression    W[i,j] a[j]    (m)",
        "Jacobian      δ[i,p] a[q]    (rank 3: m × m × n)",
        "contracted    g[p] a[q]    (m × n)",
        "matrix form   g aᵀ",
        "numpy         np.outer(g, a)",
    ]


def test_explain_in_every_format(capsys: pytest.CaptureFixture[str]) -> None:
    base = ("explain", "W @ a", "--tensors", "W[m,n] a[n] g[m]", "--wrt", "a", "--upstream", "g", "--name", "z")
    status, text, _ = run(capsys, *base)
    assert status == 0 and text.startswith("∂L/∂a for z[i] = W[i,j] a[j]") and "matrix form: Wᵀ g" in text
    assert run(capsys, *base, "--format", "numpy")[1] == "W.T @ g\n"
    assert "$$" in run(capsys, *base, "--format", "markdown")[1]
    assert run(capsys, *base, "--format", "latex")[1].startswith(r"\paragraph{")
    assert "matrix form: g Wᵀ" not in text and "g W" in run(capsys, *base, "--rows")[1]


def test_explain_options(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "explain", "x @ A @ x", "--tensors", "x[n] A[n,n]", "--wrt", "x", "--kind", "hessian")
    assert status == 0 and "matrix form: A + Aᵀ" in out
    status, out, _ = run(capsys, "explain", "x @ S @ x", "--tensors", "x[n] S[n,n]", "--symmetric", "S", "--wrt", "x")
    assert status == 0 and "The gradient ∂f/∂x" in out
    status, out, _ = run(capsys, "explain", "-Σ(y[i] log_softmax(θ[i], i))", "--tensors", "θ[c] y[c]",
                         "--simplex", "y", "--wrt", "θ")
    assert status == 0 and "simplex-sum" in out and "matrix form: −y + softmax(θ)\n" in out


@pytest.mark.parametrize("name", sorted(WALKTHROUGHS))
def test_walkthrough(capsys: pytest.CaptureFixture[str], name: str) -> None:
    status, out, _ = run(capsys, "walkthrough", name)
    measured = re.compile(r"\d\.\de[-+]\d\d")
    assert status == 0 and measured.sub("", out) == measured.sub("", WALKTHROUGHS[name]("text"))
    assert run(capsys, "walkthrough", name, "--format", "markdown")[1].startswith("# ")


@pytest.mark.parametrize(("argv", "message", "caret_under"), [
    (("explain", "W @ b", "--tensors", "W[m,n] a[n]", "--wrt", "a"), "unknown name 'b'", "b"),
    (("explain", "W @ a", "--tensors", "W[m,n] a[n 3]", "--wrt", "a"), "is not a name", "n 3"),
    (("explain", "W @ a", "--tensors", "W[m,n] 3a[n]", "--wrt", "a"), "cannot read a tensor declaration", "3a"),
    (("derive", "W[i,j] a[k", "--tensors", "W[m,m] a[n]", "--grad", "a"), "'[' was never closed", "[k"),
    (("derive", "W @ a", "--tensors", "W[m,m] a[n]", "--grad", "a"), "do not chain", "W @ a"),
])
def test_bad_input_shows_a_caret_and_exits_2(capsys: pytest.CaptureFixture[str], argv: tuple[str, ...],
                                             message: str, caret_under: str) -> None:
    status, out, err = run(capsys, *argv)
    assert status == 2 and out == ""
    lines = err.rstrip("\n").splitlines()
    assert lines[0].startswith("eincalc: error: ") and message in lines[0]
    text, caret = lines[-2], lines[-1]
    assert caret.strip() == "^" and text[caret.index("^"):].startswith(caret_under)


def test_errors_without_a_position(capsys: pytest.CaptureFixture[str]) -> None:
    status, _, err = run(capsys, "explain", "W @ a", "--tensors", "W[m,n] a[n]", "--wrt", "Q")
    assert status == 2 and err == "eincalc: error: variable 'Q' is not declared; declared tensors: W, a\n"
    status, _, err = run(capsys, "explain", "W @ a", "--tensors", "W[m,n] a[n]", "--wrt", "W", "--kind", "grad")
    assert status == 2 and "a grad needs a scalar expression" in err
    with pytest.raises(SystemExit) as exit_info:
        main(["walkthrough", "nope"])
    assert exit_info.value.code == 2


def test_derive_format_numpy_prints_standalone_source(capsys: pytest.CaptureFixture[str]) -> None:
    code, source, _ = run(capsys, "derive", "sum(sigmoid(W @ a))", "--tensors", "W[m,n] a[n]", "--grad", "W",
                          "--format", "numpy")
    assert code == 0
    namespace: dict[str, Any] = {}
    exec(compile(source, "generated", "exec"), namespace)  # our own generated code, run in a test
    W, a = np.arange(6.0).reshape(2, 3) / 10, np.array([0.5, -1.0, 2.0])
    s = 1 / (1 + np.exp(-(W @ a)))
    np.testing.assert_allclose(namespace["d_W"](W, a), np.outer(s * (1 - s), a))
