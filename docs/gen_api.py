"""Write the API reference, docs/api.md, from the docstrings of ``eincalc``'s public names.

Run ``python docs/gen_api.py`` after changing a public docstring or signature;
``tests/test_docs.py`` fails while the committed page differs from what this
script writes.  The examples in the docstrings are run as doctests of their
modules, so the page itself is not executed again (``--ignore`` in pyproject.toml).
"""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

import eincalc

PAGE = Path(__file__).resolve().parent / "api.md"


def signature(obj: Any) -> str:
    """Parameters with their defaults (annotations left out: the docstrings say what is expected)."""
    try:
        parameters = inspect.signature(obj).parameters.values()
    except (TypeError, ValueError):
        return "(…)"
    parts: list[str] = []
    keyword_only = False
    for parameter in parameters:
        if parameter.kind is parameter.KEYWORD_ONLY and not keyword_only:
            parts.append("*")
            keyword_only = True
        kind = parameter.kind
        prefix = "*" if kind is parameter.VAR_POSITIONAL else "**" if kind is parameter.VAR_KEYWORD else ""
        if prefix == "*":
            keyword_only = True
        default = "" if parameter.default is parameter.empty else f"={_default(parameter.default)}"
        parts.append(f"{prefix}{parameter.name}{default}")
    return f"({', '.join(parts)})"


def _default(value: Any) -> str:
    text = repr(value)
    return "…" if " at 0x" in text else text


def docstring(obj: Any) -> list[str]:
    """The docstring as Markdown: doctest examples go into fenced blocks."""
    lines: list[str] = []
    in_example = False
    for line in (inspect.getdoc(obj) or "(no docstring)").splitlines():
        if line.startswith(">>>") and not in_example:
            lines.append("```pycon")
            in_example = True
        elif in_example and not line.strip():
            lines.append("```")
            in_example = False
        lines.append(line)
    if in_example:
        lines.append("```")
    return lines


def render() -> str:
    """The whole page."""
    lines = ["# API reference", "",
             "Every public name of `import eincalc as ec`, generated from the docstrings by `python docs/gen_api.py`.",
             "Do not edit this page by hand.", ""]
    for name in sorted(eincalc.__all__, key=str.lower):
        obj = getattr(eincalc, name)
        if inspect.isclass(obj):
            heading = f"class ec.{name}"
        elif callable(obj):
            heading = f"ec.{name}{signature(obj)}"
        else:
            heading = f"ec.{name}"
        lines += [f"## `{heading}`", ""]
        own = getattr(obj, "__name__", name)
        if own != name and not inspect.isclass(obj):
            lines += [f"Also available as `ec.{own}`." if hasattr(eincalc, own) else f"(`{own}` in its module.)", ""]
        lines += [*docstring(obj), ""]
    return "\n".join(lines).rstrip() + "\n"


if __name__ == "__main__":
    PAGE.write_text(render(), encoding="utf-8")
