"""The documentation: pages exist, carry runnable examples and are in the site's nav; links resolve; the API
reference renders every public name from its docstring.

The examples themselves run as doctests (``--doctest-glob="*.md"`` over ``docs/``
and ``README.md``; see ``[tool.pytest.ini_options]``).  CI builds the site with
``mkdocs build --strict`` (see mkdocs.yml), which fails on a broken link or reference.
"""

from __future__ import annotations

import importlib
import inspect
import re
from pathlib import Path
from typing import Any

import eincalc

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
PAGES = [
    "getting-started.md",
    "index-notation.md",
    "walkthrough-backprop.md",
    "walkthrough-chain-rule.md",
    "walkthrough-sigmoid-gate.md",
    "cookbook.md",
    "matrix-notation.md",
]
SPHINX_ROLE = re.compile(r":(func|meth|class|attr|mod|data|exc|obj):`")


def test_every_page_has_examples_that_run() -> None:
    for page in PAGES:
        text = (DOCS / page).read_text(encoding="utf-8")
        assert text.count("\n>>> ") >= 3, page
        assert "```pycon\n>>> " in text, page


def test_links_and_pictures_resolve() -> None:
    for page in [ROOT / "README.md", *DOCS.glob("*.md"), *DOCS.glob("reference/*.md")]:
        for target in re.findall(r"\]\(([^)#]+)\)", page.read_text(encoding="utf-8")):
            if not target.startswith("http"):
                assert (page.parent / target).exists(), f"{page.name} links to missing {target}"


def test_every_page_is_in_the_site() -> None:
    """Each Markdown page under docs/ (the walk-throughs' source text aside) is in mkdocs.yml's nav."""
    nav = set(re.findall(r"^\s+- (?:[^:\n]+: )?(\S+\.md)$", (ROOT / "mkdocs.yml").read_text(encoding="utf-8"), re.M))
    pages = {str(p.relative_to(DOCS)) for p in DOCS.rglob("*.md") if p.parent.name != "walkthroughs"}
    assert nav == pages


def _resolve(path: str) -> Any:
    """The object a ``::: path`` directive renders: the longest importable module, then attributes."""
    parts = path.split(".")
    for split in range(len(parts), 0, -1):
        try:
            found: Any = importlib.import_module(".".join(parts[:split]))
        except ModuleNotFoundError:
            continue
        for name in parts[split:]:
            found = getattr(found, name)
        return found
    raise AssertionError(f"nothing to render at {path}")


def test_the_reference_renders_every_public_name() -> None:
    rendered = [
        path
        for page in DOCS.glob("reference/*.md")
        for path in re.findall(r"^::: (\S+)$", page.read_text(encoding="utf-8"), re.M)
    ]
    objects = [inspect.unwrap(_resolve(path)) for path in rendered]
    assert len(rendered) == len(set(rendered))
    for name in eincalc.__all__:
        public = inspect.unwrap(getattr(eincalc, name))
        assert any(public is found for found in objects), f"ec.{name} is on no reference page"
    assert not any(
        inspect.ismodule(found) and found.__name__ not in ("eincalc.testing", "eincalc.testing.strategies")
        for found in objects
    ), "a directive renders a whole module (a name shadowed by its module?)"


def test_docstrings_are_markdown() -> None:
    """The reference renders docstrings as Markdown: no Sphinx roles such as :func:`x` (write `x()`)."""
    for module in sorted((ROOT / "src" / "eincalc").rglob("*.py")):
        for number, line in enumerate(module.read_text(encoding="utf-8").splitlines(), 1):
            assert not SPHINX_ROLE.search(line), f"{module.name}:{number}: {line.strip()}"
