"""The worked answers, rendered from their pages in the documentation.

A walk-through lives with the documentation, whole, in ``docs/walkthroughs/NAME.md``:
headings, sentences, the commands a learner types, and where each computed fact
goes.  This module only renders a page, and knows nothing of any one page: each
```` ```console ```` block holding ``$ eincalc explain …`` is run and followed by
what it prints, and a ``{fact}`` in the text after it is filled in from that
command's derivation (see `FACTS`), so every formula and number shown is
computed; a new page is a new file, with no code.  The wheel carries the pages
as package data (``eincalc/walkthrough_texts``, see ``pyproject.toml``); a
source checkout reads them from ``docs/walkthroughs``.  ``eincalc walkthrough
NAME`` prints them, and the test suite compares them with stored snapshots, so a
change of wording shows up as a diff.

>>> from eincalc.cli import walkthroughs
>>> sorted(walkthroughs.WALKTHROUGHS)
['backprop', 'chain-rule', 'sigmoid-gate']
>>> walkthroughs.commands("sigmoid-gate")[0][:3]
['σ(s)', '--tensors', 'w0 x0 w1 x1 w2']
"""

from __future__ import annotations

import functools
import re
import shlex
import textwrap
from collections.abc import Callable, Sequence
from importlib import resources
from pathlib import Path
from typing import Literal

from ..core.errors import UnknownNameError, UnsupportedError
from ..explain.derivation import Derivation
from ..explain.graph import Graph
from ..frontend.build import tensors as declare
from ..frontend.parse import parse
from ..numeric.evaluate import evaluate
from .commands import _parser, explanation
from .input import read_values

Format = Literal["text", "markdown"]

PACKAGED = "walkthrough_texts"
"""The folder inside the installed package that holds the pages (a copy of ``docs/walkthroughs``)."""
CHECKOUT = Path(__file__).resolve().parents[3] / "docs" / "walkthroughs"
"""Where the pages are in a source checkout (an editable install)."""

_RUN = "$ eincalc explain "
_FILL = re.compile(r"\{(\w+)(?::\s*([^{}]+))?\}")
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

    def run(self, line: str) -> Run:
        """Show the command, then what it prints."""
        self.code(line)
        arguments = shlex.split(line.removeprefix(_RUN))
        derivation = explanation(arguments)
        self.parts.append(derivation.markdown() if self.fmt == "markdown" else derivation.text())
        return arguments, derivation

    def render(self) -> str:
        return "\n\n".join(part.rstrip() for part in self.parts) + "\n"


Run = tuple[list[str], Derivation]
"""A command a page ran: its arguments and the derivation it printed."""


def render(name: str, fmt: Format = "text") -> str:
    """The walk-through ``name``: its page with each command's output and the facts read from it filled in."""
    page, runs = _Page(fmt), []
    for block in _blocks(source(name)):
        fence = _BLOCK.match(block)
        if block.startswith("#"):
            page.heading(block)
        elif fence and fence.group(1) == "console":
            runs.append(page.run(fence.group(2)))
        elif fence:
            page.code(_filled(fence.group(2), runs))
        else:
            page.parts.append(_filled(block, runs))
    return page.render()


def _filled(text: str, runs: Sequence[Run]) -> str:
    """``text`` with each ``{fact}`` replaced by that fact of the last command run before it."""
    return _FILL.sub(lambda match: _fact(match.group(1), match.group(2), runs), text)


def _fact(name: str, expression: str | None, runs: Sequence[Run]) -> str:
    if not runs:
        raise UnknownNameError(f"{{{name}}} stands before any command; a fact is read from the command above it")
    arguments, derivation = runs[-1]
    if name == "value" and expression is not None:
        return f"{_value(expression, arguments):.3f}"
    if name not in FACTS or expression is not None:
        raise UnknownNameError(
            f"no fact {{{name}}}; the facts are {', '.join(sorted(FACTS))} and {{value: EXPRESSION}}"
        )
    return FACTS[name](derivation)


def _value(expression: str, arguments: Sequence[str]) -> float:
    """``expression`` over the command's declared tensors, evaluated at its ``--values``."""
    args = _parser().parse_args(["explain", *arguments])
    declared = {tensor.spec.name: tensor for tensor in declare(args.tensors)}
    return float(evaluate(parse(expression, *declared.values()), read_values(args.values, declared)))


def _notes(derivation: Derivation, rule: str) -> tuple[str, ...]:
    return next((step.notes for step in derivation.steps if step.rule == rule), ())


def _graph(derivation: Derivation) -> Graph:
    if derivation.graph is None:
        raise UnsupportedError("a fact of the graph needs a command with --values")
    return derivation.graph


def _matrix(derivation: Derivation) -> str:
    if derivation.matrix is None:
        raise UnsupportedError("the result has no matrix form")
    return derivation.matrix.text


FACTS: dict[str, Callable[[Derivation], str]] = {
    "matrix": _matrix,
    "named_gradients": lambda derivation: "\n".join(_notes(derivation, "assemble")[:-1]),
    "substituted": lambda derivation: _notes(derivation, "assemble")[-1].removeprefix("Substituting them: "),
    "output": lambda derivation: f"{float(_graph(derivation).output.value):.3f}",
    "dot": lambda derivation: _graph(derivation).dot(),
}
"""What a page may show of the derivation its last command printed, by the name it writes in braces:
its matrix form, the gradients the assembly named (one a line), the result with them substituted, and, with
``--values``, the graph's output (3 decimals) and its Graphviz DOT.  ``{value: EXPRESSION}`` is
``EXPRESSION`` over the command's declared tensors evaluated at its ``--values`` (3 decimals)."""


def names() -> list[str]:
    """The walk-throughs there are: one a page, by the page's file name."""
    packaged = resources.files("eincalc").joinpath(PACKAGED)
    pages = packaged.iterdir() if packaged.is_dir() else CHECKOUT.iterdir()
    return sorted(page.name.removesuffix(".md") for page in pages if page.name.endswith(".md"))


WALKTHROUGHS: dict[str, Callable[..., str]] = {name: functools.partial(render, name) for name in names()}
"""The walk-throughs by the name the command line uses: ``WALKTHROUGHS[name](fmt)`` is the rendered page."""
