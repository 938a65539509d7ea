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

from eincalc.walkthroughs import WALKTHROUGHS, backprop, chain_rule, sigmoid_gate

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
    assert "∂E/∂W1 = x δ₁ᵀ" in text and "da1 = W₂ δ₂" in text and "δ1 = a₁ ⊙ (1 − a₁) ⊙ da₁" in text
    assert "The Jacobian has rank 3 (n2 × n1 × n2)" in text and "mostly zeros" in text
    assert "matrix form: a₁ δ₂ᵀ" in text and "the Hadamard product ⊙" in text


def test_chain_rule_answers_the_question() -> None:
    text = chain_rule()
    assert "DISAGREE" not in text
    assert "∂J/∂x = (h ⊙ (1 − h) ⊙ ((−y + softmax(θ)) W₂ᵀ)) W₁ᵀ" in text
    for form in ("−y + softmax(θ)", "hᵀ δ₂", "δ₂ W₂ᵀ", "xᵀ δ₁", "δ₁ W₁ᵀ"):
        assert f"matrix form: {form}\n" in text, form
    assert "simplex-sum: Labels declared to sum to one" in text


def test_sigmoid_gate_answers_the_question() -> None:
    text = sigmoid_gate()
    assert "DISAGREE" not in text
    assert "The output is f = 0.731." in text
    assert "passes its gradient 0.197 unchanged to n1, n2, w2" in text
    assert "The multiply gate n1 swaps its inputs: ∂n1/∂w0 = -1 is the value of x0" in text
    assert "∂f/∂x = [0.393, -0.590] and ∂f/∂w = [-0.197, -0.393, 0.197]" in text
    assert "digraph eincalc {" in text


def test_markdown_versions() -> None:
    for name, walkthrough in WALKTHROUGHS.items():
        text = walkthrough("markdown")
        assert text.startswith("# ") and "\n## " in text and "$$" in text and "DISAGREE" not in text, name
