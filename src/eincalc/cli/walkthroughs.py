"""The three worked answers, rendered from their text in the documentation: backprop, chain-rule, sigmoid-gate.

A walk-through's words live with the documentation, in ``docs/walkthroughs/NAME.md``:
headings, sentences, and the commands a learner types.  This module only renders
them: each ```` ```console ```` block holding ``$ eincalc explain …`` is run and
followed by what it prints, and a ``{name}`` in a plain code block is filled in
with a fact computed from those derivations (the named gradients, the graph's
numbers, its Graphviz DOT), so every formula and number shown is computed.  The
wheel carries the pages as package data (``eincalc/walkthrough_texts``, see
``pyproject.toml``); a source checkout reads them from ``docs/walkthroughs``.
``eincalc walkthrough NAME`` prints them, and the test suite compares them with
stored snapshots, so a change of wording shows up as a diff.

>>> from eincalc.cli import walkthroughs
>>> sorted(walkthroughs.WALKTHROUGHS)
['backprop', 'chain-rule', 'sigmoid-gate']
>>> walkthroughs.commands("sigmoid-gate")[0][:3]
['σ(s)', '--tensors', 'w0 x0 w1 x1 w2']
"""

from __future__ import annotations

import functools
import math
import re
import shlex
import textwrap
from collections.abc import Callable, Sequence
from importlib import resources
from pathlib import Path
from typing import Literal

from ..explain.derivation import Derivation
from .commands import explanation

Format = Literal["text", "markdown"]

PACKAGED = "walkthrough_texts"
"""The folder inside the installed package that holds the pages (a copy of ``docs/walkthroughs``)."""
CHECKOUT = Path(__file__).resolve().parents[3] / "docs" / "walkthroughs"
"""Where the pages are in a source checkout (an editable install)."""

_RUN = "$ eincalc explain "
_FILL = re.compile(r"\{(\w+)\}")
_BLOCK = re.compile(r"^```(\w*)\n(.*?)\n```$", re.S)


def source(name: str) -> str:
    """The Markdown text of the walk-through ``name``: from the installed package, else from the checkout."""
    packaged = resources.files("eincalc").joinpath(PACKAGED, f"{name}.md")
    if packaged.is_file():
        return packaged.read_text(encoding="utf-8")
    return (CHECKOUT / f"{name}.md").read_text(encoding="utf-8")


def _blocks(text: str) -> list[str]:
    """Headings, paragraphs and fenced code blocks, in order (a fence keeps its blank lines)."""
    blocks: list[list[str]] = [[]]
    fenced = False
    for line in text.strip().splitlines():
        fenced ^= line.startswith("```")
        if line or fenced:
            blocks[-1].append(line)
        elif blocks[-1]:
            blocks.append([])
    return ["\n".join(block) for block in blocks if block]


def commands(name: str) -> list[list[str]]:
    """The arguments of each ``eincalc explain`` the walk-through ``name`` runs, in order."""
    found = []
    for block in _blocks(source(name)):
        fence = _BLOCK.match(block)
        if fence and fence.group(1) == "console":
            found.append(shlex.split(fence.group(2).removeprefix(_RUN)))
    return found


class _Page:
    """The page's blocks rendered as text or Markdown, with the commands run and the facts filled in."""

    def __init__(self, fmt: Format) -> None:
        self.fmt = fmt
        self.parts: list[str] = []

    def heading(self, block: str) -> None:
        level, title = block.split(" ", 1)
        if self.fmt == "markdown":
            self.parts.append(block)
        else:
            self.parts.append(f"{title}\n{('=' if level == '#' else '-') * len(title)}")

    def code(self, text: str) -> None:
        self.parts.append(f"```\n{text}\n```" if self.fmt == "markdown" else textwrap.indent(text, "    "))

    def run(self, line: str) -> Derivation:
        """Show the command, then what it prints."""
        self.code(line)
        derivation = explanation(shlex.split(line.removeprefix(_RUN)))
        self.parts.append(derivation.markdown() if self.fmt == "markdown" else derivation.text())
        return derivation

    def render(self) -> str:
        return "\n\n".join(part.rstrip() for part in self.parts) + "\n"


Facts = Callable[[list[Derivation]], dict[str, str]]


def render(name: str, facts: Facts, fmt: Format = "text") -> str:
    """The walk-through ``name``: its page with each command's output and the ``facts`` its derivations give."""
    page, derivations = _Page(fmt), []
    for block in _blocks(source(name)):
        fence = _BLOCK.match(block)
        if block.startswith("#"):
            page.heading(block)
        elif fence and fence.group(1) == "console":
            derivations.append(page.run(fence.group(2)))
        elif fence:
            page.code(_filled(fence.group(2), facts, derivations))
        else:
            page.parts.append(_filled(block, facts, derivations))
    return page.render()


def _filled(text: str, facts: Facts, derivations: list[Derivation]) -> str:
    """``text`` with each ``{name}`` replaced by the fact of that name."""
    if not _FILL.search(text):
        return text
    known = facts(derivations)
    return _FILL.sub(lambda match: known[match.group(1)], text)


def _notes(derivation: Derivation, rule: str) -> tuple[str, ...]:
    return next((step.notes for step in derivation.steps if step.rule == rule), ())


def _backprop_facts(derivations: Sequence[Derivation]) -> dict[str, str]:
    """The named gradients of the whole network, and the first weights' gradient in matrix form."""
    whole = derivations[-1]
    return {"layer_gradients": "\n".join((*_notes(whole, "assemble")[:-1], f"∂E/∂W1 = {whole.matrix}"))}


def _chain_rule_facts(derivations: Sequence[Derivation]) -> dict[str, str]:
    """The gradient with every named gradient substituted."""
    return {"closed_form": _notes(derivations[-1], "assemble")[-1].removeprefix("Substituting them: ")}


def _sigmoid_gate_facts(derivations: Sequence[Derivation]) -> dict[str, str]:
    """What the question's code computes at the point, σ there, and the graph's DOT."""
    gates = derivations[-1].graph
    assert gates is not None  # the page's command passes --values
    product = float(gates.node("s").value)
    return {
        "written": f"{1 / 1 + math.exp(-product):.3f}",
        "sigma": f"{float(gates.output.value):.3f}",
        "dot": gates.dot(),
    }


WALKTHROUGHS: dict[str, Callable[..., str]] = {
    "backprop": functools.partial(render, "backprop", _backprop_facts),
    "chain-rule": functools.partial(render, "chain-rule", _chain_rule_facts),
    "sigmoid-gate": functools.partial(render, "sigmoid-gate", _sigmoid_gate_facts),
}
"""The walk-throughs by the name the command line uses: ``WALKTHROUGHS[name](fmt)`` is the rendered page."""
