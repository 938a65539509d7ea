"""The command line: derive (the README's command), explain, walkthrough, and errors with a caret."""

from __future__ import annotations

import argparse
import re
import shlex
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import eincalc
from eincalc.cli import _parser, main
from eincalc.cli.walkthroughs import WALKTHROUGHS

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
    status, out, _ = run(
        capsys, "explain", "-Σ(y[i] log_softmax(θ[i], i))", "--tensors", "θ[c] y[c]", "--simplex", "y", "--wrt", "θ"
    )
    assert status == 0 and "simplex-sum" in out and "matrix form: softmax(θ) − y\n" in out


@pytest.mark.parametrize("name", sorted(WALKTHROUGHS))
def test_walkthrough(capsys: pytest.CaptureFixture[str], name: str) -> None:
    status, out, _ = run(capsys, "walkthrough", name)
    measured = re.compile(r"\d\.\de[-+]\d\d")
    assert status == 0 and measured.sub("", out) == measured.sub("", WALKTHROUGHS[name]("text"))
    assert run(capsys, "walkthrough", name, "--format", "markdown")[1].startswith("# ")


@pytest.mark.parametrize(
    ("argv", "message", "caret_under"),
    [
        (("explain", "W @ b", "--tensors", "W[m,n] a[n]", "--wrt", "a"), "unknown name 'b'", "b"),
        (("explain", "W @ a", "--tensors", "W[m,n] a[n 3]", "--wrt", "a"), "is not a name", "n 3"),
        (("explain", "W @ a", "--tensors", "W[m,n] 3a[n]", "--wrt", "a"), "cannot read a tensor declaration", "3a"),
        (("derive", "W[i,j] a[k", "--tensors", "W[m,m] a[n]", "--wrt", "a"), "'[' was never closed", "[k"),
        (("derive", "W @ a", "--tensors", "W[m,m] a[n]", "--wrt", "a"), "do not chain", "W @ a"),
    ],
)
def test_bad_input_shows_a_caret_and_exits_1(
    capsys: pytest.CaptureFixture[str], argv: tuple[str, ...], message: str, caret_under: str
) -> None:
    status, out, err = run(capsys, *argv)
    assert status == 1 and out == ""
    lines = err.rstrip("\n").splitlines()
    assert lines[0].startswith("eincalc: error: ") and message in lines[0]
    text, caret = lines[-2], lines[-1]
    assert caret.strip() == "^" and text[caret.index("^") :].startswith(caret_under)


def test_errors_without_a_position(capsys: pytest.CaptureFixture[str]) -> None:
    status, _, err = run(capsys, "explain", "W @ a", "--tensors", "W[m,n] a[n]", "--wrt", "Q")
    assert status == 1 and err == "eincalc: error: variable 'Q' is not declared; declared tensors: W, a\n"
    status, _, err = run(capsys, "explain", "W @ a", "--tensors", "W[m,n] a[n]", "--wrt", "W", "--kind", "grad")
    assert status == 1 and "a grad needs a scalar expression" in err
    status, _, err = run(capsys, "derive", "W @ a", "--tensors", "W[m,n] a[n]", "--wrt", "W", "--kind", "vjp")
    assert status == 1 and "kind vjp needs an upstream gradient (upstream= in Python, --upstream on the command" in err
    with pytest.raises(SystemExit) as exit_info:
        main(["walkthrough", "nope"])
    assert exit_info.value.code == 2


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (
        ["derive", "W @ a", "--tensors", "W[m,n] a[n]"],
        ["explain", "W @ a", "--wrt", "a"],
        ["derive", "W @ a", "--tensors", "W[m,n] a[n]", "--wrt", "a", "--kind", "hvp"],
        ["frobnicate"],
    ):
        with pytest.raises(SystemExit) as exit_info:
            main(argv)
        assert exit_info.value.code == 2, argv
        assert capsys.readouterr().err.startswith("usage: eincalc"), argv


def test_version_and_python_dash_m() -> None:
    found = subprocess.run([sys.executable, "-m", "eincalc", "--version"], capture_output=True, text=True, check=False)
    assert found.returncode == 0 and found.stdout == f"eincalc {eincalc.__version__}\n"
    assert eincalc.__version__ == metadata.version("eincalc")
    refused = subprocess.run(
        [sys.executable, "-m", "eincalc", "derive", "W @ b", "--tensors", "W[m,n] a[n]", "--wrt", "a"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert refused.returncode == 1 and refused.stderr.startswith("eincalc: error: unknown name 'b'")


def _flags(command: str) -> dict[str, argparse.Action]:
    """The options of ``eincalc COMMAND`` by flag name, as argparse defines them."""
    parser = _parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices[command]
    return {option: action for action in sub._actions for option in action.option_strings}


def _definition(action: argparse.Action) -> dict[str, Any]:
    """Everything argparse knows about an option: its kind, destination, arguments, choices, default and help."""
    return {"kind": type(action), **{key: value for key, value in vars(action).items() if key != "container"}}


def test_derive_and_explain_take_the_same_flags() -> None:
    derive, explain = _flags("derive"), _flags("explain")
    assert set(explain) - set(derive) == {"--detail"}  # explain's own: how much to show
    assert set(derive) <= set(explain)
    assert {"--wrt", "--upstream", "--kind", "--let", "--values", "--rows", "--name", "--format"} <= set(derive)
    for flag in set(derive) - {"--format"}:
        assert _definition(derive[flag]) == _definition(explain[flag]), flag
    formats = derive["--format"], explain["--format"]  # derive prints text or code; explain renders documents too
    assert formats[0].default == formats[1].default == "text"
    assert formats[0].choices is not None and formats[1].choices is not None
    assert set(formats[0].choices) < set(formats[1].choices)


def _command(expression: str = "W @ a", tensors: str = "W[m,n] a[n]", *more: str, wrt: str = "W") -> tuple[str, ...]:
    """The arguments of ``derive`` or ``explain``: ``W @ a`` over ``W[m,n] a[n]`` with respect to W, unless told."""
    return (expression, "--tensors", tensors, "--wrt", wrt, *more)


_OK = _command("W @ a", "W[m,n] a[n] g[m]", "--upstream", "g")
_REFUSED = {
    "unclosed declaration": _command(tensors="W[m,n] a[n"),
    "declared twice": _command(tensors="W[m,n] a[n] W[m]"),
    "not a declaration": _command(tensors="W[m,n] 3a[n]"),
    "symmetric but not square": _command("W @ a", "W[m,n] a[n]", "--symmetric", "W"),
    "marked but not declared": _command("W @ a", "W[m,n] a[n]", "--simplex", "q"),
    "empty expression": _command(""),
    "unfinished expression": _command("W @"),
    "unknown name": _command("W @ b"),
    "no code runs": _command("__import__('os')"),
    "shapes do not chain": _command(tensors="W[m,m] a[n]"),
    "matrix shapes": _command("W*a", "W[m,n] a[m]", "--syntax", "matrix"),
    "upstream of another shape": _command("W @ a", "W[m,n] a[n] g[n]", "--upstream", "g"),
    "variable not declared": _command(wrt="x"),
    "a hessian of a vector": _command("W @ a", "W[m,n] a[n]", "--kind", "hessian", wrt="a"),
    "output name not a name": _command("W @ a", "W[m,n] a[n]", "--name", "a b"),
    "output name empty": _command("W @ a", "W[m,n] a[n]", "--name", ""),
    "output named like a tensor": _command("W @ a", "W[m,n] a[n]", "--name", "W"),
}
_USAGE = {
    "no --tensors": ("W @ a", "--wrt", "W"),
    "no --wrt": ("W @ a", "--tensors", "W[m,n] a[n]"),
    "no expression": ("--tensors", "W[m,n] a[n]", "--wrt", "W"),
    "unknown flag": (*_OK, "--colour"),
    "unknown kind": (*_OK, "--kind", "hvp"),
    "unknown format": (*_OK, "--format", "pdf"),
    "unknown syntax": (*_OK, "--syntax", "latex"),
}


@pytest.mark.parametrize("command", ["derive", "explain"])
def test_exit_status_0_when_done(capsys: pytest.CaptureFixture[str], command: str) -> None:
    status, out, err = run(capsys, command, *_OK)
    assert status == 0 and "g aᵀ" in out and err == ""


@pytest.mark.parametrize("case", sorted(_REFUSED))
def test_exit_status_1_for_input_eincalc_refuses(capsys: pytest.CaptureFixture[str], case: str) -> None:
    """Both commands read their input the same way, so they refuse it with the same one error."""
    derived, explained = run(capsys, "derive", *_REFUSED[case]), run(capsys, "explain", *_REFUSED[case])
    assert derived == explained
    status, out, err = derived
    assert status == 1 and out == "" and err.startswith("eincalc: error: ") and "Traceback" not in err


@pytest.mark.parametrize("case", sorted(_USAGE))
@pytest.mark.parametrize("command", ["derive", "explain"])
def test_exit_status_2_for_usage_errors(capsys: pytest.CaptureFixture[str], command: str, case: str) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main([command, *_USAGE[case]])
    out, err = capsys.readouterr()
    assert exit_info.value.code == 2 and out == "" and err.startswith("usage: eincalc")
    assert err.splitlines()[-1].startswith(f"eincalc{'' if case == 'unknown flag' else ' ' + command}: error: ")


@pytest.mark.parametrize(
    ("argv", "status"),
    [
        (("derive", *_OK), 0),
        (("explain", *_REFUSED["unclosed declaration"]), 1),
        (("explain", *_USAGE["unknown flag"]), 2),
        (("--version",), 0),
        ((), 2),
    ],
)
def test_the_installed_script_and_python_dash_m_exit_alike(argv: tuple[str, ...], status: int) -> None:
    """``eincalc`` (the console script pip installs) and ``python -m eincalc`` give the same status and output."""
    script = Path(sys.executable).with_name("eincalc")
    assert script.exists(), "eincalc's console script is not installed next to this Python"
    by_script = subprocess.run([script, *argv], capture_output=True, text=True, check=False)
    by_module = subprocess.run([sys.executable, "-m", "eincalc", *argv], capture_output=True, text=True, check=False)
    assert by_script.returncode == by_module.returncode == status
    assert by_script.stdout == by_module.stdout and by_script.stderr == by_module.stderr


@pytest.mark.parametrize(
    ("kind", "lines"),
    [
        ("jacobian", ["Jacobian      A[p,i] x[i] + x[i] A[i,p]    (rank 1: n)"]),
        ("grad", ["gradient      A[p,i] x[i] + x[i] A[i,p]    (n)"]),
        ("hessian", ["Hessian       A[p,q] + (A[q,p])[p,q]    (n × n)", "matrix form   A + Aᵀ"]),
    ],
)
def test_derive_every_kind(capsys: pytest.CaptureFixture[str], kind: str, lines: list[str]) -> None:
    status, out, _ = run(capsys, "derive", "x @ A @ x", "--tensors", "x[n] A[n,n]", "--wrt", "x", "--kind", kind)
    assert status == 0 and out.count("\nmatrix form   ") == 1
    for line in lines:
        assert line in out.splitlines(), line


def test_derive_format_numpy_prints_standalone_source(capsys: pytest.CaptureFixture[str]) -> None:
    code, source, _ = run(
        capsys, "derive", "sum(sigmoid(W @ a))", "--tensors", "W[m,n] a[n]", "--wrt", "W", "--format", "numpy"
    )
    assert code == 0
    namespace: dict[str, Any] = {}
    exec(compile(source, "generated", "exec"), namespace)  # our own generated code, run in a test
    W, a = np.arange(6.0).reshape(2, 3) / 10, np.array([0.5, -1.0, 2.0])
    s = 1 / (1 + np.exp(-(W @ a)))
    np.testing.assert_allclose(namespace["d_W"](W, a), np.outer(s * (1 - s), a))


# -- the three questions, typed in as a learner would -------------------------------------------------


def joined(text: str) -> str:
    """The printed text with its wrapped lines joined, so a sentence can be looked for whole."""
    return re.sub(r"\n +(?![·\d])", " ", text)


def test_rubric_p2_backprop_with_w_of_shape_n_in_by_n_out(capsys: pytest.CaptureFixture[str]) -> None:
    """The first question, both the one layer and the whole two-layer network, from the command line."""
    status, layer, _ = run(
        capsys,
        "explain",
        "sigmoid(z)",
        "--tensors",
        "W[nin,nout] a[nin] g[nout]",
        "--let",
        "z=W[i,j] a[i]",
        "--wrt",
        "a",
        "--upstream",
        "g",
    )
    layer = joined(layer)
    assert status == 0
    assert "f[i] = σ(z[i])" in layer and "where z[j] = W[i,j] a[i]" in layer  # (a) one entry in index form
    assert (
        "The Jacobian ∂f/∂z has rank 2 (nout × nout)" in layer and "The Jacobian ∂z/∂a has rank 2 (nout × nin)" in layer
    )  # (b)
    assert (
        "∂L/∂a[p] = Σ_j ∂L/∂z[j] ∂z[j]/∂a[p], the upstream gradient dz[j] contracted with the Jacobian over "
        "z's index j" in layer
    )  # (c)
    assert "δ[i,p] meets the sum over i: only the term i = p survives" in layer  # (d)
    assert "matrix form: W dz\n" in layer and "· Wᵀ: in" not in layer  # (e) no transpose, and none claimed
    assert "∂L/∂a = Jᵀ dz with the Jacobian J = Wᵀ" in layer and "so it stands on the left" in layer
    assert "the Hadamard product ⊙" in layer
    assert "the matrix form gives the same numbers as the index form" in layer and "DISAGREE" not in layer  # (f)
    status, whole, _ = run(
        capsys,
        "explain",
        "0.5 * sum(square(a2 - y))",
        "--tensors",
        "W1[n0,n1] W2[n1,n2] x[n0] y[n2]",
        "--let",
        "z1=W1[i,j] x[i]",
        "--let",
        "a1=sigmoid(z1)",
        "--let",
        "z2=W2[j,k] a1[j]",
        "--let",
        "a2=sigmoid(z2)",
        "--wrt",
        "W1",
        "--name",
        "E",
    )
    whole = joined(whole)
    assert status == 0 and "E = 0.5 Σ((a2[i] - y[i])**2)" in whole
    for jacobian in (
        "∂E/∂a2 has rank 1 (n2)",
        "∂a2/∂z2 has rank 2 (n2 × n2)",
        "∂z2/∂a1 has rank 2 (n2 × n1)",
        "∂a1/∂z1 has rank 2 (n1 × n1)",
        "∂z1/∂W1 has rank 3 (n1 × n0 × n1)",
    ):
        assert f"The Jacobian {jacobian}" in whole, jacobian
    assert "matrix form: a₂ ⊙ (1 − a₂) ⊙ da₂" in whole and "matrix form: W₂ dz₂" in whole
    assert "matrix form: x dz₁ᵀ" in whole and "with the factor carrying the row index p on the left" in whole
    assert "σ(z2[i]) is a2[i], this layer's own output" in whole


def test_rubric_p3_softmax_cross_entropy_in_row_form(capsys: pytest.CaptureFixture[str]) -> None:
    """The second question: explain honours --simplex, agrees with derive, names every layer and says ŷ − y."""
    network = (
        "cross_entropy(θ, y)",
        "--tensors",
        "x[d] W1[d,k] b1[k] W2[k,c] b2[c] y[c]",
        "--simplex",
        "y",
        "--let",
        "r=x @ W1 + b1",
        "--let",
        "h=sigmoid(r)",
        "--let",
        "θ=h @ W2 + b2",
        "--rows",
    )
    status, out, _ = run(capsys, "explain", *network, "--wrt", "x", "--name", "J")
    out = joined(out)
    assert status == 0 and "J = -Σ((y[i] log_softmax(θ[i], i))[i])" in out  # (a)
    for jacobian in (
        "∂J/∂θ has rank 1 (c)",
        "∂θ/∂h has rank 2 (c × k)",
        "∂h/∂r has rank 2 (k × k)",
        "∂r/∂x has rank 2 (k × d)",
    ):
        assert f"The Jacobian {jacobian}" in out, jacobian  # (b)
    assert "∂J/∂h[p] = Σ_i ∂J/∂θ[i] ∂θ[i]/∂h[p]" in out and "∂J/∂r[p] = Σ_i ∂J/∂h[i] ∂h[i]/∂r[p]" in out  # (c)
    assert "δ[i,p] meets the sum over i: only the term i = p survives" in out  # (d)
    assert "y is declared to sum to one (labels): Σ_i y[i] = 1." in out and "this is ŷ − y" in out
    assert "W₂ᵀ: in W2[p,i]" in out and "so it stands on the right" in out and "Hadamard product ⊙" in out  # (e)
    assert "Substituting them: ∂J/∂x = (h ⊙ (1 − h) ⊙ ((softmax(θ) − y) W₂ᵀ)) W₁ᵀ" in out
    assert "the matrix form gives the same numbers as the index form" in out and "DISAGREE" not in out  # (f)
    status, derived, _ = run(capsys, "derive", *network, "--wrt", "x")
    assert status == 0 and "matrix form   dr W₁ᵀ\n" in derived and "matrix form: dr W₁ᵀ\n" in out


def test_explain_honours_simplex_without_intermediates_and_agrees_with_derive(
    capsys: pytest.CaptureFixture[str],
) -> None:
    network = (
        "-sum(y[c] log_softmax(sigmoid(x[d] W1[d,k] + b1[k])[k] W2[k,c] + b2[c], c))",
        "--tensors",
        "x[d] W1[d,k] b1[k] W2[k,c] b2[c] y[c]",
        "--simplex",
        "y",
        "--rows",
    )
    explained = run(capsys, "explain", *network, "--wrt", "x")[1]
    derived = run(capsys, "derive", *network, "--wrt", "x")[1]
    form = re.search(r"matrix form   (.*)\n", derived)
    assert form is not None and f"matrix form: {form.group(1)}\n" in explained
    assert form.group(1).endswith("((softmax(σ(x W₁ + b₁) W₂ + b₂) − y) W₂ᵀ)) W₁ᵀ")


def test_rubric_p4_sigmoid_gate_with_numbers(capsys: pytest.CaptureFixture[str]) -> None:
    """The third question: the graph at w = [2, −3, −3], x = [−1, −2], and the bias's 1 explained."""
    status, out, _ = run(
        capsys,
        "explain",
        "σ(s)",
        "--tensors",
        "w0 x0 w1 x1 w2",
        "--let",
        "s=w0 x0 + w1 x1 + w2",
        "--wrt",
        "w2",
        "--values",
        "w0=2",
        "x0=-1",
        "w1=-3",
        "x1=-2",
        "w2=-3",
    )
    assert "      f     σ(·)   s           0.731  1         ∂f/∂s = f (1 − f) = 0.197" in out  # (g) the graph
    assert "      n3    +      n1, n2, w2  1      0.197     ∂n3/∂n1 = 1, ∂n3/∂n2 = 1, ∂n3/∂w2 = 1" in out
    out = joined(out)
    assert status == 0 and "f = σ(s)" in out and "where s = w0 x0 + w1 x1 + w2" in out  # (a)
    assert "The Jacobian ∂f/∂s has rank 0 (a scalar)" in out and "The Jacobian ∂s/∂w2 has rank 0" in out  # (b)
    assert "∂f/∂w2 = ∂f/∂s ∂s/∂w2, the upstream gradient ds times the Jacobian" in out  # (c)
    assert (
        "w2 is an addend of w0 x0 + w1 x1 + w2, and the add gate passes the upstream gradient through: local "
        "gradient 1." in out
    )  # (g) the bias's 1
    assert "Here ∂s/∂w2 is 1: the add gate passes the upstream gradient through: local gradient 1." in out
    assert "Substituting them: ∂f/∂w2 = σ(s) (1 − σ(s))" in out  # (e)
    assert "the matrix form gives the same numbers as the index form" in out  # (f)
    assert "The output is f = 0.7311." in out
    assert "∂f/∂w0 = -0.197, ∂f/∂x0 = 0.393, ∂f/∂w1 = -0.393, ∂f/∂x1 = -0.59, ∂f/∂w2 = 0.197." in out
    assert "The symbolic result at these values: ∂f/∂w2 = 0.197, the same as the graph's." in out


def test_the_bias_without_a_name_still_gets_its_1_explained(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "explain", "σ(w0 x0 + w1 x1 + w2)", "--tensors", "w0 x0 w1 x1 w2", "--wrt", "w2")
    assert status == 0 and "A sum of one term" not in out
    assert (
        "Of the addends of w0 x0 + w1 x1 + w2 only w2 depends on the variable, and the add gate passes the "
        "upstream gradient through: local gradient 1." in joined(out)
    )


# -- --let, --values, --detail and the losses in text ------------------------------------------------


def test_let_names_intermediates_in_order(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(
        capsys,
        "derive",
        "sum(a)",
        "--tensors",
        "W[m,n] x[n]",
        "--let",
        "z=W[i,j] x[j]",
        "--let",
        "a=tanh(z)",
        "--wrt",
        "x",
    )
    assert status == 0 and "expression    Σ(a[i])    (scalar)" in out and "matrix form   Wᵀ dz" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (("--let", "z W[i,j] x[j]"), "write NAME=…"),
        (("--let", "W=x"), "W is already a tensor"),
        (("--let", "z=x", "--let", "z=x"), "z is already defined"),
        (("--let", "u=x"), "the expression never uses u"),
        (("--values", "q=1"), "q is not declared"),
        (("--values", "x=[1,"), "not a number or a JSON array"),
        (("--values", 'x=["a"]'), "only numbers and arrays of numbers"),
        (("--values", "x=[[1],[1,2]]"), "the rows have different lengths"),
        (("--values", "x=" + "[" * 100_000 + "]" * 100_000), "nested too deeply"),
        (("--values", "x=[1,2,3]", "W=[[1,2]]"), "ShapeError"),
    ],
)
def test_bad_lets_and_values(capsys: pytest.CaptureFixture[str], argv: tuple[str, ...], message: str) -> None:
    status, out, err = run(capsys, "derive", "sum(W @ x)", "--tensors", "W[m,n] x[n]", "--wrt", "x", *argv)
    assert status == 1 and out == "" and err.startswith("eincalc: error: ")
    if message != "ShapeError":
        assert message in err


def test_values_print_the_graph_for_any_expression(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(
        capsys,
        "derive",
        "sum(W @ x)",
        "--tensors",
        "W[m,n] x[n] g[m]",
        "--wrt",
        "x",
        "--values",
        "W=[[1, 2], [3, 4]]",
        "x=[1, -1]",
    )
    assert status == 0 and "graph at the given values" in out
    assert "derivative    [4., 6.]    (∂/∂x at these values)" in out
    status, out, _ = run(
        capsys,
        "derive",
        "W @ x",
        "--tensors",
        "W[m,n] x[n] g[m]",
        "--wrt",
        "x",
        "--upstream",
        "g",
        "--values",
        "W=[[1, 2], [3, 4]]",
        "x=[1, -1]",
        "g=[1, 0]",
    )
    assert status == 0 and "derivative    [1., 2.]" in out
    with pytest.raises(SystemExit) as exit_info:  # flags that do not go together: a usage error
        main(
            ["derive", "W @ x", "--tensors", "W[m,n] x[n]", "--wrt", "x", "--format", "numpy", "--values", "x=[1, -1]"]
        )
    assert exit_info.value.code == 2 and "--values goes with --format text" in capsys.readouterr().err


def test_detail_and_losses_in_text(capsys: pytest.CaptureFixture[str]) -> None:
    base = ("explain", "mse(W @ x, y)", "--tensors", "W[m,n] x[n] y[m]", "--wrt", "W")
    short, full = run(capsys, *base, "--detail", "result")[1], run(capsys, *base, "--detail", "full")[1]
    assert " 2. matrix-form:" in short and "flatten-product" in full and len(full) > len(short)
    for text in ("binary_cross_entropy(W @ x, y)", "cross_entropy(W @ x, y)"):
        status, out, _ = run(capsys, "derive", text, "--tensors", "W[m,n] x[n] y[m]", "--simplex", "y", "--wrt", "W")
        assert status == 0 and "matrix form" in out, text
