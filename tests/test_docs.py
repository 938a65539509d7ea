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
import tomllib
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
SPHINX_ROLE = re.compile(r":(func|meth|class|attr|mod|data|exc|obj|ref|doc|math|term):`")
RST_MARKUP = re.compile(r"^\s*\.\. [\w-]+::|^\s*:(param|type|returns?|rtype|raises)\b[^:]*:")
"""Sphinx roles, reST directives and field lists: MkDocs shows them as raw text."""


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


def _markup_lines(text: str) -> list[int]:
    """The numbers of the lines of ``text`` that hold Sphinx or reST markup."""
    lines = text.splitlines()
    return [number for number, line in enumerate(lines, 1) if SPHINX_ROLE.search(line) or RST_MARKUP.search(line)]


def test_docstrings_and_pages_are_markdown() -> None:
    """The site renders docstrings and pages as Markdown: no Sphinx roles such as :func:`x` (write `x()`), no reST
    directives (``.. note::``) or field lists (``:param x:``), in the library, the docs or the README."""
    sources = [*(ROOT / "src" / "eincalc").rglob("*.py"), *DOCS.rglob("*.md"), ROOT / "README.md"]
    found = [
        f"{path.relative_to(ROOT)}:{number}"
        for path in sorted(sources)
        for number in _markup_lines(path.read_text(encoding="utf-8"))
    ]
    assert not found, found


def test_markup_check_sees_roles_directives_and_fields() -> None:
    assert _markup_lines("Use :func:`grad`.\n\n.. note::\n\n:param x: a value\nplain `grad()` text") == [1, 3, 5]


def test_the_site_says_why_its_tools_and_how_to_build_it() -> None:
    """docs/index.md gives the reason for MkDocs Material over Sphinx; the README and it say how to build and serve
    the site with the ``docs`` extra, which installs those tools; CI builds it with warnings as errors."""
    why = (DOCS / "index.md").read_text(encoding="utf-8").split("## How this site is made\n", 1)[1].split("\n## ")[0]
    for named in ("MkDocs", "Material", "mkdocstrings", "Sphinx", "myst-nb", "We chose it over"):
        assert named in why, named
    for page in (ROOT / "README.md", DOCS / "index.md"):
        commands = "\n".join(re.findall(r"```bash\n(.*?)```", page.read_text(encoding="utf-8"), re.S))
        for command in ('pip install -e ".[docs]"', "mkdocs serve", "mkdocs build --strict"):
            assert command in commands, (page.name, command)
    docs_extra = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert {"mkdocs", "mkdocs-material", "mkdocstrings[python]"} <= {
        re.split(r"[<>=]", requirement)[0] for requirement in docs_extra["optional-dependencies"]["docs"]
    }
    config = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    assert "\ntheme:\n  name: material\n" in config and "\n  - mkdocstrings:\n" in config
    assert "mkdocs build --strict" in (ROOT / ".ci" / "run").read_text(encoding="utf-8")


def _table_rows() -> list[tuple[str, list[str]]]:
    """The reference index's table: each page it links, with the names it lists for that page."""
    index = (DOCS / "reference" / "index.md").read_text(encoding="utf-8")
    return [
        (page, re.findall(r"`(\w+)`", names))
        for page, names in re.findall(r"^\| \[[^]]+\]\(([\w-]+\.md)\) \| (.+) \|$", index, re.M)
    ]


def test_the_reference_index_lists_what_its_pages_render() -> None:
    """The index's table of names is the one hand-made part of the reference: each name it lists under a page is
    rendered there, from its docstring, and every reference page is in it."""
    rows = _table_rows()
    assert sorted(page for page, _ in rows) == sorted(p.name for p in DOCS.glob("reference/*.md") if p.stem != "index")
    for page, names in rows:
        text = (DOCS / "reference" / page).read_text(encoding="utf-8")
        rendered = [inspect.unwrap(_resolve(path)) for path in re.findall(r"^::: (\S+)$", text, re.M)]
        for name in names:
            if name in eincalc.__all__:
                public = inspect.unwrap(getattr(eincalc, name))
                assert any(public is found for found in rendered), f"{page} does not render ec.{name}"
