"""A griffe extension for the API reference: docstrings read as they do in ``help()``.

* Docstring examples (``>>>`` lines) become ``pycon`` code blocks.  The
  docstrings are written for ``help()`` and doctest, so an example is a run of
  lines from ``>>>`` to a blank line; Markdown would read ``>>>`` as nested quotes.
* A module attribute bound to a function made at import time (``sigmoid =
  _elementwise("sigmoid")``, ``abs = absolute``) shows as that function, with the
  signature and docstring it has when imported: griffe reads the source, which
  only shows an assignment.

It needs griffe (the ``docs`` extra), so pytest does not collect it (``--ignore``
in pyproject.toml).
"""

from __future__ import annotations

import importlib
import inspect
from typing import Any

import griffe


def fenced(text: str) -> str:
    """``text`` with every run of doctest lines (from ``>>>`` to the next blank line) in a ``pycon`` block."""
    lines: list[str] = []
    indent: str | None = None
    for line in text.splitlines():
        stripped = line.lstrip()
        if indent is None and stripped.startswith(">>>"):
            indent = line[: len(line) - len(stripped)]
            lines.append(f"{indent}```pycon")
        elif indent is not None and not stripped:
            lines.append(f"{indent}```")
            indent = None
        lines.append(line)
    if indent is not None:
        lines.append(f"{indent}```")
    return "\n".join(lines)


def _parameters(function: Any) -> griffe.Parameters:
    return griffe.Parameters(
        *(
            griffe.Parameter(
                p.name,
                kind=griffe.ParameterKind(p.kind.description),
                default=None if p.default is p.empty else repr(p.default),
            )
            for p in inspect.signature(function).parameters.values()
        )
    )


class DoctestBlocks(griffe.Extension):
    """Fences the examples of every docstring, and shows functions bound as attributes as functions."""

    def on_object(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = fenced(obj.docstring.value)

    def on_module_members(self, *, mod: griffe.Module, **kwargs: Any) -> None:
        live = importlib.import_module(mod.path)
        for name, member in list(mod.members.items()):
            value = getattr(live, name, None)
            if member.is_alias or not member.is_attribute or not inspect.isfunction(value):
                continue
            function = griffe.Function(
                name, lineno=member.lineno, endlineno=member.endlineno, parameters=_parameters(value)
            )
            function.docstring = griffe.Docstring(fenced(inspect.getdoc(value) or ""), parent=function)
            mod.set_member(name, function)
