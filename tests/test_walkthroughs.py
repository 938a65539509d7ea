"""The three worked answers: their facts, and their full text against stored snapshots.

Measured errors vary in the last digits between machines, so the snapshots store
them masked.  After an intended change of wording, regenerate the snapshots with
``EINCALC_UPDATE_SNAPSHOTS=1 python -m pytest tests/test_walkthroughs.py`` and
review the diff.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from eincalc.walkthroughs import (
    P2_COMMAND,
    P3_COMMAND,
    P4_COMMAND,
    WALKTHROUGHS,
    backprop,
    chain_rule,
    command,
    sigmoid_gate,
)

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
        f"walk-through {name!r} changed; if intended, regenerate with EINCALC_UPDATE_SNAPSHOTS=1 and review the diff")


def test_backprop_answers_the_question() -> None:
    text = backprop()
    assert "DISAGREE" not in text
    assert "dz2 = a₂ ⊙ (1 − a₂) ⊙ da₂\n    da1 = W₂ dz₂\n    dz1 = a₁ ⊙ (1 − a₁) ⊙ da₁" in text
    assert "∂E/∂W1 = x dz₁ᵀ" in text and "The Jacobian ∂z1/∂W1 has rank 3 (n1 × n0 × n1)" in text
    assert "the Hadamard product ⊙" in text and "so J enters transposed" in text


def test_chain_rule_answers_the_question() -> None:
    text = chain_rule()
    assert "DISAGREE" not in text
    assert "    ∂J/∂x = (h ⊙ (1 − h) ⊙ ((−y + softmax(θ)) W₂ᵀ)) W₁ᵀ\n" in text and "this is ŷ − y" in text
    for form in ("−y + softmax(θ)", "dθ W₂ᵀ", "h ⊙ (1 − h) ⊙ dh", "dr W₁ᵀ"):
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
    for name, arguments in (("backprop", P2_COMMAND), ("chain-rule", P3_COMMAND), ("sigmoid-gate", P4_COMMAND)):
        assert f"$ {command(arguments)}" in WALKTHROUGHS[name]("text"), name


def test_markdown_versions() -> None:
    for name, walkthrough in WALKTHROUGHS.items():
        text = walkthrough("markdown")
        assert text.startswith("# ") and "\n## " in text and "$$" in text and "DISAGREE" not in text, name
