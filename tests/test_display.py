"""What a person sees: repr in a plain REPL, HTML and SVG in Jupyter, the standalone page in a real browser.

The browser tests (marked ``browser``) render the page in headless Chromium, the
Debian package ``chromium``; they are skipped where it is not installed (.ci/run
installs it).  KaTeX is read from Debian's ``libjs-katex`` when the test wants
typeset formulas, since a CDN is not reachable offline.
"""

from __future__ import annotations

import re
import shutil
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import pytest

import eincalc as ec

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
LOCAL_KATEX = Path("/usr/share/javascript/katex")


@pytest.fixture(scope="module")
def derivation() -> ec.Derivation:
    W, a, g = ec.tensors("W[m,n] a[n] g[m]")
    return ec.explain(W @ a, W, upstream=g, name="z")


def sigmoid_gate() -> ec.Graph:
    w0, x0, w1, x1, w2 = ec.tensors("w0 x0 w1 x1 w2")
    point = {"w0": 2.0, "x0": -1.0, "w1": -3.0, "x1": -2.0, "w2": -3.0}
    return ec.graph(ec.sigmoid(w0 * x0 + w1 * x1 + w2), point)


# -- a plain REPL -----------------------------------------------------------------------------------


def test_repr_shows_the_formula_or_a_summary(derivation: ec.Derivation) -> None:
    W, a, g = ec.tensors("W[m,n] a[n] g[m]")
    assert repr(ec.to_matrix(ec.vjp(W @ a, W, g))) == "<MatrixForm g aᵀ>"
    assert repr(derivation) == (
        "<Derivation ∂L/∂W for z[i] = W[i,j] a[j], given the upstream gradient g[i] = "
        "∂L/∂z[i]: g aᵀ (9 steps, check passed)>"
    )
    assert repr(ec.compile(W @ a)) == "<CompiledFunction (W[m,n], a[n]) -> [m]: 3 steps, 1 contractions>"
    gates = sigmoid_gate()
    assert repr(gates) == ("<Graph f = σ(w0 x0 + w1 x1 + w2): 9 nodes, inputs w0, x0, w1, x1, w2; forward values only>")
    assert repr(gates.backward()).endswith("; gradients sent back>")


def test_repr_says_when_the_check_could_not_run() -> None:
    """log(−exp(x)) is undefined at every value: the summary line says the check did not run, never FAILED."""
    (x,) = ec.tensors("x[n]")
    derivation = ec.explain(ec.sum(ec.log(-ec.exp(x))), x)
    assert derivation.check.undefined and "could NOT run" in derivation.text()
    assert repr(derivation).endswith("(8 steps, check could NOT run)>")


def test_an_output_is_never_named_like_one_of_its_tensors() -> None:
    """With a tensor called f the output is g, so no row, title or local gradient reads f for two things; a name
    that is a tensor's, or no name at all, is refused."""
    f, x = ec.tensors("f x")
    gates = ec.graph(ec.sigmoid(f * x), {"f": 2.0, "x": 3.0}).backward()
    assert [row.split()[0] for row in gates.text().splitlines()[1:]] == ["f", "x", "n1", "g"]
    assert gates.facts()[0] == "The output is g = 0.9975."
    assert ec.explain(ec.sigmoid(f * x), f).title.startswith("the gradient ∂g/∂f of g = σ(f x)")
    for name, reason in (("f", "is also a tensor of the expression"), ("a b", "is not a name"), ("", "is not a name")):
        with pytest.raises(ec.ParseError, match=f"name '{name}' {reason}"):
            ec.graph(f * x, {"f": 2.0, "x": 3.0}, name=name)
        with pytest.raises(ec.ParseError, match=f"name '{name}' {reason}"):
            ec.explain(f * x, f, name=name)


def test_no_dataclass_dump_anywhere(derivation: ec.Derivation) -> None:
    for shown in (derivation, derivation.matrix, sigmoid_gate()):
        assert "=" not in repr(shown).split(" ", 1)[0] and "(tree=" not in repr(shown) and "steps=(" not in repr(shown)
        assert len(repr(shown).splitlines()) == 1


# -- Jupyter ----------------------------------------------------------------------------------------


_RICH = {
    "text/html": "_repr_html_",
    "text/markdown": "_repr_markdown_",
    "text/latex": "_repr_latex_",
    "image/svg+xml": "_repr_svg_",
}
"""IPython's display formatters: the method each MIME type is read from (IPython.core.formatters)."""


def jupyter_bundle(shown: object) -> dict[str, str]:
    """What Jupyter receives for ``shown``, computed the way IPython's DisplayFormatter does: ``_repr_mimebundle_``
    if there is one, then each ``_repr_*_`` that gives something, and ``repr`` as text."""
    bundle = dict(getattr(shown, "_repr_mimebundle_", dict)())
    for mime, method in _RICH.items():
        data = getattr(shown, method, lambda: None)()
        if data is not None:
            bundle.setdefault(mime, data)
    bundle.setdefault("text/plain", repr(shown))
    return bundle


def test_jupyter_shows_each_object_richly(derivation: ec.Derivation) -> None:
    W, a = ec.tensors("W[m,n] a[n]")
    assert derivation.matrix is not None
    form = jupyter_bundle(derivation.matrix)
    assert form == {"text/markdown": r"$g a^\top$", "text/latex": r"$g a^\top$", "text/plain": "<MatrixForm g aᵀ>"}
    page = jupyter_bundle(derivation)
    assert page["text/html"] == derivation._repr_html_() and page["text/markdown"] == derivation.markdown()
    assert page["text/latex"] == derivation.latex() and page["text/plain"] == repr(derivation)
    assert jupyter_bundle(ec.compile(W @ a)) == {"text/plain": repr(ec.compile(W @ a))}  # a summary line only
    gates = jupyter_bundle(sigmoid_gate())
    assert gates["text/plain"].startswith("node  gate") and ("image/svg+xml" in gates) == (
        shutil.which("dot") is not None
    )


def test_derivation_html_is_katex_ready(derivation: ec.Derivation) -> None:
    fragment = derivation._repr_html_()
    assert "<script" not in fragment  # a notebook typesets the delimited LaTeX itself
    assert r"\[\frac{\partial L}{\partial W_{pq}} = g_{p} a_{q}\]" in fragment
    assert r'<span class="tex">\(g a^\top\)</span>' in fragment
    assert '<pre class="unicode">∂L/∂W[p,q] = g[p] a[q]</pre>' in fragment  # the same formula, as text
    assert "&amp;=" in fragment  # LaTeX's & escaped for HTML; the typesetter reads it back as &


def test_html_escapes_what_the_user_typed() -> None:
    """The loss's name is free text (an output's name must be a name): the page shows it, escaped."""
    x, g = ec.tensors("x[n] g[n]")
    page = ec.explain(x, x, upstream=g, loss="<b>L</b>").html()
    assert "<b>L</b>" not in page and "&lt;b&gt;L&lt;/b&gt;" in page


def test_html_writes_a_standalone_page(derivation: ec.Derivation, tmp_path: Path) -> None:
    path = tmp_path / "derivation.html"
    page = derivation.html(path)
    assert path.read_text(encoding="utf-8") == page
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    assert 'src="https://cdn.jsdelivr.net/npm/katex@' in page and "renderMathInElement" in page
    assert 'href="file:///opt/katex/katex.min.css"' in derivation.html(katex="file:///opt/katex")
    with pytest.raises(ec.ParseError, match="katex must be a string like 'file:///usr/share/javascript/katex'"):
        derivation.html(katex=3)  # type: ignore[arg-type]


def test_html_refuses_a_path_it_cannot_write(derivation: ec.Derivation, tmp_path: Path) -> None:
    """A missing folder, a folder, or no path at all: an UnsupportedError naming the path, never an OSError."""
    missing = tmp_path / "missing" / "derivation.html"
    with pytest.raises(ec.UnsupportedError, match=r"cannot write the page to '.*missing/derivation.html': No such"):
        derivation.html(missing)
    with pytest.raises(ec.UnsupportedError, match=r"cannot write the page to '.*': Is a directory"):
        derivation.html(tmp_path)
    with pytest.raises(ec.UnsupportedError, match=r"path must be a file path like 'derivation\.html', not int 3"):
        derivation.html(3)  # type: ignore[arg-type]


def test_graph_shows_a_picture_or_says_how_to_get_one(monkeypatch: pytest.MonkeyPatch) -> None:
    gates = sigmoid_gate().backward()
    monkeypatch.setattr(sys.modules["eincalc.explain.graph"].shutil, "which", lambda name: None)
    assert gates._repr_svg_() is None
    bundle = gates._repr_mimebundle_()
    assert set(bundle) == {"text/plain"} and bundle["text/plain"].startswith(gates.text())
    assert bundle["text/plain"].endswith(
        "(no picture: drawing the graph needs the Graphviz program 'dot', which is "
        "not installed: install it with 'apt install graphviz', 'brew install "
        "graphviz' or 'conda install graphviz' (Graph.dot() gives the DOT text "
        "without it))"
    )


@pytest.mark.skipif(shutil.which("dot") is None, reason="the Graphviz program 'dot' is not installed")
def test_graph_svg_inline_with_graphviz() -> None:
    gates = sigmoid_gate().backward()
    picture = gates._repr_svg_()
    assert picture is not None and "<svg" in picture and "0.197" in picture
    assert gates._repr_mimebundle_() == {"image/svg+xml": picture, "text/plain": gates.text()}


def test_display_methods_report_a_too_deep_expression_like_the_rest() -> None:
    for cls in (ec.MatrixForm, ec.Derivation, ec.Graph):
        for name in ("__repr__", "_repr_html_", "_repr_svg_", "_repr_mimebundle_", "html"):
            method = getattr(cls, name, None)
            if method is not None and name in vars(cls):
                assert hasattr(method, "__wrapped__"), f"{cls.__name__}.{name} is not guarded"


# -- a real browser ---------------------------------------------------------------------------------

_PROBE = """<script>
window.addEventListener("load", function () {
  var shown = Array.from(document.querySelectorAll("pre.unicode, div.tex"))
    .filter(function (e) { return e.offsetParent !== null; }).map(function (e) { return e.className; });
  document.body.setAttribute("data-visible", Array.from(new Set(shown)).sort().join(" "));
});
</script>
</body>"""
"""Appended to the page under test: records which copy of the formulas the browser actually shows."""


def _render(page: str, tmp_path: Path, name: str) -> tuple[str, Path]:
    """The page's DOM after Chromium ran its scripts, and a screenshot of it."""
    assert CHROMIUM is not None
    path = tmp_path / f"{name}.html"
    path.write_text(page.replace("</body>", _PROBE), encoding="utf-8")
    flags = [
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--hide-scrollbars",
        "--allow-file-access-from-files",
        "--virtual-time-budget=5000",
        "--window-size=1100,1400",
    ]
    dom = subprocess.run(
        [*flags, "--dump-dom", path.as_uri()], capture_output=True, text=True, timeout=120, check=True
    ).stdout
    shot = tmp_path / f"{name}.png"
    subprocess.run([*flags, f"--screenshot={shot}", path.as_uri()], capture_output=True, timeout=120, check=True)
    return dom, shot


def _png_pixels(path: Path) -> tuple[int, int, bytes]:
    """Width, height and the filtered scanlines of a PNG (enough to tell a blank picture from one with text)."""
    data = path.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    width, height = struct.unpack(">II", data[16:24])
    chunks, at = [], 8
    while at < len(data):
        length, kind = struct.unpack(">I4s", data[at : at + 8])
        if kind == b"IDAT":
            chunks.append(data[at + 8 : at + 8 + length])
        at += 12 + length
    return width, height, zlib.decompress(b"".join(chunks))


def _visible(dom: str) -> str:
    found = re.search(r'<body[^>]*data-visible="([^"]*)"', dom)
    assert found is not None, "the probe did not run"
    return found.group(1)


@pytest.mark.browser
@pytest.mark.skipif(CHROMIUM is None, reason="headless Chromium is not installed (apt-get install chromium)")
def test_the_page_reads_well_offline_in_chromium(derivation: ec.Derivation, tmp_path: Path) -> None:
    """KaTeX cannot load: the browser shows the Unicode text of every formula, and no raw LaTeX."""
    dom, shot = _render(derivation.html(katex=(tmp_path / "no-katex-here").as_uri()), tmp_path, "offline")
    assert _visible(dom) == "unicode" and 'class="katex-ready"' not in dom
    width, height, pixels = _png_pixels(shot)
    assert (width, height) == (1100, 1400) and len(set(pixels)) > 64  # text, not a blank page


@pytest.mark.browser
@pytest.mark.skipif(CHROMIUM is None, reason="headless Chromium is not installed (apt-get install chromium)")
@pytest.mark.skipif(not LOCAL_KATEX.is_dir(), reason="KaTeX is not installed locally (apt-get install libjs-katex)")
def test_the_page_is_typeset_by_katex_in_chromium(derivation: ec.Derivation, tmp_path: Path) -> None:
    """KaTeX loads: every formula is typeset, and the Unicode copies are hidden."""
    dom, shot = _render(derivation.html(katex=LOCAL_KATEX.as_uri()), tmp_path, "katex")
    assert _visible(dom) == "tex" and 'class="katex-ready"' in dom
    assert dom.count('class="katex-display"') == dom.count('<div class="tex">') > 5
    assert "katex-error" not in dom
    assert len(set(_png_pixels(shot)[2])) > 64
