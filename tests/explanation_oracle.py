"""Checks on an explanation that read only what it prints, sharing no code with the sentences they check.

* A note that calls a matrix transposed names it (``W₂ᵀ: …``), and the printed matrix form shows that ``ᵀ`` on it
  outside the arguments of functions (``σ(Wᵀ a)`` says nothing about a ``W`` outside the ``σ``).
* A note about a Hadamard product goes with a printed ``⊙``, a note about ``diag(·)`` with a printed ``diag(``.
* No step shows the same expression before and after, in text or in LaTeX.

``tests/conftest.py`` runs them on every explanation the test suite makes.
"""

from __future__ import annotations

import re

from eincalc.explain.derivation import Derivation
from eincalc.frontend.printing import to_latex, to_text

_CALL = re.compile(r"[^\W\d][\w₀-₉]*\(")


def surface(text: str) -> str:
    """``text`` with the arguments of every function call cut out: ``W (σ(Wᵀ a) ⊙ g)`` → ``W ( ⊙ g)``."""
    out, depth, position = [], 0, 0
    while position < len(text):
        call = _CALL.match(text, position) if depth == 0 else None
        if call:
            depth, position = 1, call.end()
            continue
        char = text[position]
        if depth:
            depth += {"(": 1, ")": -1}.get(char, 0)
        else:
            out.append(char)
        position += 1
    return "".join(out)


def false_notes(derivation: Derivation) -> list[str]:
    """Every note that claims what its printed matrix form does not show, and every step that changes nothing."""
    problems = []
    for step in derivation.steps:
        printed = step.matrix.text if step.matrix is not None else ""
        for note in step.notes:
            claim = re.match(r"(\S+)ᵀ: ", note)
            if printed and "transpose" in note and (claim is None or f"{claim.group(1)}ᵀ" not in surface(printed)):
                problems.append(f"{step.rule}: {note!r} but the matrix form is {printed!r}")
            if "Hadamard product ⊙" in note and "⊙" not in printed:
                problems.append(f"{step.rule}: {note!r} but the matrix form is {printed!r}")
            if "diag(·)" in note and "diag(" not in printed:
                problems.append(f"{step.rule}: {note!r} but the matrix form is {printed!r}")
        shown = step.part if step.part is not None and step.shows_part else (step.before, step.after)
        if (
            step.before_lhs is None
            and shown[0] is not None
            and shown[1] is not None
            and (to_text(shown[0]) == to_text(shown[1]) or to_latex(shown[0]) == to_latex(shown[1]))
        ):
            problems.append(f"{step.rule}: before and after print the same: {to_text(shown[1])}")
    return problems
