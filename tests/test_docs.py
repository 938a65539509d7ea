"""The documentation: pages exist and carry runnable examples, links resolve, the API page is up to date.

The examples themselves run as doctests (``--doctest-glob="*.md"`` over ``docs/``
and ``README.md``; see ``[tool.pytest.ini_options]``).
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
PAGES = ["getting-started.md", "index-notation.md", "walkthrough-backprop.md", "walkthrough-chain-rule.md",
         "walkthrough-sigmoid-gate.md", "cookbook.md", "matrix-notation.md"]


def test_every_page_has_examples_that_run() -> None:
    for page in PAGES:
        text = (DOCS / page).read_text(encoding="utf-8")
        assert text.count("\n>>> ") >= 3, page
        assert "```pycon\n>>> " in text, page


def test_links_and_pictures_resolve() -> None:
    for page in [ROOT / "README.md", *(DOCS / p for p in PAGES)]:
        for target in re.findall(r"\]\(([^)#]+)\)", page.read_text(encoding="utf-8")):
            if not target.startswith("http"):
                assert (page.parent / target).exists(), f"{page.name} links to missing {target}"


def test_the_api_page_matches_the_docstrings() -> None:
    spec = importlib.util.spec_from_file_location("gen_api", DOCS / "gen_api.py")
    assert spec is not None and spec.loader is not None
    generator = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(generator)
    committed = (DOCS / "api.md").read_text(encoding="utf-8")
    assert committed == generator.render(), "docs/api.md is stale: run python docs/gen_api.py"
    assert "## `ec.explain(expr, wrt, *, upstream=None" in committed
