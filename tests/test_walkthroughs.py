"""The three worked answers: their facts, and their full text against stored snapshots.

Measured errors vary in the last digits between machines, so the snapshots store
them masked.  After an intended change of wording, regenerate the snapshots with
``EINCALC_UPDATE_SNAPSHOTS=1 python -m pytest tests/test_walkthroughs.py`` and
review the diff.
"""

from __future__ import annotations

import ast
import os
import re
import shlex
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from eincalc.cli import walkthroughs
from eincalc.cli.walkthroughs import CHECKOUT, WALKTHROUGHS, commands
from eincalc.core.errors import UnknownNameError

backprop, chain_rule, sigmoid_gate = WALKTHROUGHS["backprop"], WALKTHROUGHS["chain-rule"], WALKTHROUGHS["sigmoid-gate"]

SNAPSHOTS = Path(__file__).parent / "snapshots"
MEASURED = re.compile(r"\d\.\de[-+]\d\d")


def masked(text: str) -> str:
    return MEASURED.sub("<measured>", text)


@pytest.mark.parametrize("name", sorted(WALKTHROUGHS))
def test_walkthrough_matches_its_snapshot(name: str) -> None:
    text = masked(WALKTHROUGHS[name]("text"))
    path = SNAPSHOTS / f"{name}.txt"
    if os.environ.get("EINCALC_UPDATE_SNAPSHOTS") == "1":
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"no snapshot {path.name}; create it with EINCALC_UPDATE_SNAPSHOTS=1"
    assert text == path.read_text(encoding="utf-8"), (
        f"walk-through {name!r} changed; if intended, regenerate with EINCALC_UPDATE_SNAPSHOTS=1 and review the diff"
    )


def test_backprop_answers_the_question() -> None:
    text = backprop()
    assert "DISAGREE" not in text
    assert "dz2 = a₂ ⊙ (1 − a₂) ⊙ da₂\n    da1 = W₂ dz₂\n    dz1 = a₁ ⊙ (1 − a₁) ⊙ da₁" in text
    assert "∂E/∂W1 = x dz₁ᵀ" in text and "The Jacobian ∂z1/∂W1 has rank 3 (n1 × n0 × n1)" in text
    assert "the Hadamard product ⊙" in text and "so J enters transposed" in text


def test_chain_rule_answers_the_question() -> None:
    text = chain_rule()
    assert "DISAGREE" not in text
    assert "    ∂J/∂x = (h ⊙ (1 − h) ⊙ ((softmax(θ) − y) W₂ᵀ)) W₁ᵀ\n" in text and "this is ŷ − y" in text
    for form in ("softmax(θ) − y", "dθ W₂ᵀ", "h ⊙ (1 − h) ⊙ dh", "dr W₁ᵀ"):
        assert f"matrix form: {form}\n" in text, form
    assert "simplex-sum: y is declared to sum to one" in text


def test_sigmoid_gate_answers_the_question() -> None:
    text = sigmoid_gate()
    assert "DISAGREE" not in text
    assert "The output is f = 0.7311." in text and "the add gate passes the upstream gradient through" in text
    assert "n1, n2 and w2 each receive its gradient 0.197 unchanged" in text
    assert "∂f/∂w0 = -0.197, ∂f/∂x0 = 0.393, ∂f/∂w1 = -0.393, ∂f/∂x1 =\n        -0.59, ∂f/∂w2 = 0.197" in text
    assert "1 + e^(−product) = 1.368" in text and "digraph eincalc {" in text


def test_the_pages_run_the_commands_they_show() -> None:
    for name in WALKTHROUGHS:
        shown = commands(name)
        assert shown and shown[-1][shown[-1].index("--wrt") + 1] in {"W1", "x", "w2"}, name
        for arguments in shown:
            assert f"$ {shlex.join(('eincalc', 'explain', *arguments))}" in WALKTHROUGHS[name]("text"), name


def _code_of(module: Path) -> str:
    """The module's source without its docstrings (which show the pages' names in their examples)."""
    tree = ast.parse(module.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if (
            isinstance(body, list)
            and body
            and isinstance(body[0], ast.Expr)
            and isinstance(body[0].value, ast.Constant)
        ):
            body[0] = ast.Pass()
    return ast.unparse(tree)


def test_the_words_live_with_the_docs() -> None:
    """Every page is a file under docs/walkthroughs; the library module holds no sentence, name or number of them."""
    assert sorted(path.stem for path in CHECKOUT.glob("*.md")) == sorted(WALKTHROUGHS)
    code = _code_of(Path(walkthroughs.__file__))
    for name in WALKTHROUGHS:
        page = (CHECKOUT / f"{name}.md").read_text(encoding="utf-8")
        assert name not in code, name
        for heading in re.findall(r"^#+ (.+)$", page, re.M):
            assert heading not in code, heading
        networks = [argument for command in commands(name) for argument in command if set(argument) & set(" [(=")]
        assert networks and not any(network in code for network in networks), networks


NEW_PAGE = """# A new page

## The neuron

```console
$ eincalc explain 'tanh(w x)' --tensors 'w x' --wrt w --values w=0.5 x=2
```

At this point tanh is {output}, and 1 + x² = {value: 1 + x x}; the gradient's matrix form:

```
∂f/∂w = {matrix}
```
"""


def test_a_new_page_needs_no_code(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A page dropped into the folder is a walk-through: its command runs and its facts are filled in."""
    (tmp_path / "new-page.md").write_text(NEW_PAGE, encoding="utf-8")
    monkeypatch.setattr(walkthroughs, "CHECKOUT", tmp_path)
    assert walkthroughs.names() == ["new-page"]
    text = walkthroughs.render("new-page")
    assert text.startswith("A new page\n==========\n\nThe neuron\n----------\n\n    $ eincalc explain 'tanh(w x)'")
    assert "At this point tanh is 0.762, and 1 + x² = 5.000; the gradient's matrix form:" in text
    assert "    ∂f/∂w = (1 − tanh(w x)²) x\n" in text
    (tmp_path / "new-page.md").write_text(NEW_PAGE.replace("{output}", "{outptu}"), encoding="utf-8")
    with pytest.raises(UnknownNameError, match=r"no fact \{outptu\}; the facts are dot, matrix, "):
        walkthroughs.render("new-page")
    (tmp_path / "new-page.md").write_text("Before any command: {output}", encoding="utf-8")
    with pytest.raises(UnknownNameError, match="stands before any command"):
        walkthroughs.render("new-page")


def test_an_installed_wheel_prints_the_walkthroughs(tmp_path: Path) -> None:
    """The wheel carries the pages as package data, so `eincalc walkthrough` works away from the checkout."""
    root = CHECKOUT.parent.parent
    subprocess.run(
        [sys.executable, "-m", "hatchling", "build", "-t", "wheel", "-d", str(tmp_path)],
        cwd=root,
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("eincalc-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        packed = {n for n in archive.namelist() if n.startswith("eincalc/walkthrough_texts/")}
        assert packed == {f"eincalc/walkthrough_texts/{name}.md" for name in WALKTHROUGHS}
        archive.extractall(tmp_path / "site")
    environment = {**os.environ, "PYTHONPATH": str(tmp_path / "site")}
    found = subprocess.run(
        [
            sys.executable,
            "-c",
            "import eincalc, sys; print(eincalc.__file__); "
            "from eincalc.cli import main; sys.exit(main(['walkthrough', 'sigmoid-gate']))",
        ],
        cwd=tmp_path,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )
    assert found.returncode == 0, found.stderr
    where, text = found.stdout.split("\n", 1)
    assert where.startswith(str(tmp_path / "site"))
    assert masked(text) == masked(sigmoid_gate("text"))


def test_markdown_versions() -> None:
    for name, walkthrough in WALKTHROUGHS.items():
        text = walkthrough("markdown")
        assert text.startswith("# ") and "\n## " in text and "$$" in text and "DISAGREE" not in text, name
