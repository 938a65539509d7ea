"""Render a `Derivation` as Unicode text, Markdown with LaTeX, LaTeX, or NumPy code.

All three document renderers walk the same steps and show the same things:
the reason, the expression (``lhs = after``, or ``before = after`` for a
rewrite; only the rewritten part when the change sits inside a named
intermediate), the definitions of named intermediates whenever they change,
the matrix form, a table (the computational graph) and the notes.

>>> import eincalc as ec
>>> W, a, g = ec.tensors("W[m,n] a[n] g[m]")
>>> d = ec.explain(W @ a, a, upstream=g, name="z")
>>> print(render_numpy(d))
W.T @ g
"""

from __future__ import annotations

import html
import textwrap
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from ..core.errors import NoMatrixForm
from ..core.expr import Expr
from ..core.nodes import Tensor
from ..frontend.printing import definitions, latex_line, line, line_latex, line_text, named_definitions, to_einsum
from .reasons import entry
from .steps import entry_latex

if TYPE_CHECKING:
    from ..matrix.view import MatrixForm
    from .derivation import Derivation, Step

WIDTH = 100
"""Text lines are wrapped at this many characters."""


def _definition_lines(
    expr: Expr, show: Callable[[Expr], str], head: Callable[[str, Expr], str], earlier: tuple[Expr, ...]
) -> list[str]:
    return [f"{head(d.name, d.body)} = {show(d.body)}" for d in named_definitions(expr, earlier)]


def _text_head(name: str, body: Expr) -> str:
    return entry(name, body.free)


def _latex_head(name: str, body: Expr) -> str:
    return entry_latex(name, body.free)


def _definitions_of(
    step: Step, derivation: Derivation, show: Callable[[Expr], str], head: Callable[[str, Expr], str]
) -> list[str]:
    """The definitions to show under a step: those of a whole expression, not of a part or of a definition;
    named as first used in the step's lines (its ``before`` is printed above its ``after``)."""
    if step.after is None or step.part is not None or (step.rule == "matrix-form" and step.after != derivation.result):
        return []
    return _definition_lines(step.after, show, head, () if step.before is None else (step.before,))


def _shows_numpy(step: Step, derivation: Derivation) -> bool:
    """NumPy code goes with the result's own matrix form, when no intermediate has to be inlined into it."""
    return step.rule == "matrix-form" and step.after == derivation.result and not definitions(derivation.result)


class _Shown:
    """Remembers which definitions were shown last, so each set is shown once."""

    def __init__(self) -> None:
        self.last: list[str] = []

    def new(self, lines: list[str]) -> list[str]:
        if not lines or lines == self.last:
            return []
        self.last = lines
        return lines


def _expression_lines(step: Step, show: Callable[[Expr], str], latex: bool = False) -> list[tuple[str, str]]:
    """``(left, right)`` pairs: ``left = right`` lines for the step's formula (an empty left continues)."""
    if step.after is None:
        return []
    if step.before is not None and step.before_lhs is not None:
        before = step.before_lhs.latex if latex else step.before_lhs.text
        return [(before, show(step.before)), (step.lhs_latex if latex else step.lhs, show(step.after))]
    if step.shows_part and step.part is not None:
        where = f"in {step.within}" if step.within else "in part"
        return [(where, show(step.part[0])), ("", show(step.part[1]))]
    if step.before is not None:
        return [(step.lhs, show(step.before)), ("", show(step.after))]
    return [(step.lhs, show(step.after))]


# -- text ---------------------------------------------------------------------------------------


def render_text(derivation: Derivation) -> str:
    """Plain Unicode text."""
    lines = [
        _wrap(derivation.title[0].upper() + derivation.title[1:], ""),
        _wrap(f"Layout: {derivation.layout}", ""),
        "",
    ]
    shown = _Shown()
    for number, step in enumerate(derivation.steps, 1):
        lines.append(_wrap(f"{number:>2}. {step.rule}: {step.reason}", "    "))
        lines += [f"      {line}" for line in text_formula(step, derivation, shown)]
        if step.matrix is not None:
            first, *clauses = step.matrix.text.splitlines()  # its where-clauses beneath, under the form
            lines += [f"      matrix form: {first}", *(f"                   {clause}" for clause in clauses)]
            if _shows_numpy(step, derivation):
                lines.append(f"      numpy:       {step.matrix.numpy}")
        if step.table is not None:
            lines += [f"      {row}" for row in step.table.splitlines()]
        lines += [_wrap(f"      · {note}", "        ") for note in step.notes]
    return "\n".join(lines)


def text_formula(step: Step, derivation: Derivation, shown: _Shown) -> list[str]:
    """The step's formula as Unicode lines (``lhs = after``, aligned at ``=``), then the new definitions."""
    pairs = _expression_lines(step, line)
    labels = [_text_label(left) for left, _ in pairs]
    width = max(map(len, labels), default=0)
    lines = [f"{label:>{width}} {right}" for label, (_, right) in zip(labels, pairs, strict=True)]
    clauses = shown.new(_definitions_of(step, derivation, line_text, _text_head))
    return lines + [f"  where {clause}" for clause in clauses]


def _text_label(left: str) -> str:
    if left.startswith("in "):
        return f"{left}:"
    return f"{left} =" if left else "="


def _wrap(text: str, indent: str) -> str:
    return textwrap.fill(text, WIDTH, subsequent_indent=indent, break_long_words=False, break_on_hyphens=False)


# -- Markdown -------------------------------------------------------------------------------------


def render_markdown(derivation: Derivation) -> str:
    """Markdown; formulas in LaTeX between ``$$`` (display) and ``$`` (inline)."""
    lines = [f"**{derivation.title[0].upper() + derivation.title[1:]}.** Layout: {derivation.layout}", ""]
    shown = _Shown()
    for number, step in enumerate(derivation.steps, 1):
        lines += [f"{number}. **{step.rule}.** {step.reason}", ""]
        for formula in _latex_formulas(step, derivation, shown):
            lines += [f"   $${formula}$$", ""]
        if step.matrix is not None:
            code = f" (`{step.matrix.numpy}`)" if _shows_numpy(step, derivation) else ""
            lines += [f"   Matrix form: ${step.matrix.latex}${code}", ""]
        if step.table is not None:
            lines += ["   ```text", *(f"   {row}" for row in step.table.splitlines()), "   ```", ""]
        if step.notes:
            lines += [f"   - {note}" for note in step.notes] + [""]
    return "\n".join(lines).rstrip() + "\n"


def _latex_formulas(step: Step, derivation: Derivation, shown: _Shown) -> Iterator[str]:
    pairs = _expression_lines(step, latex_line, latex=True)
    if step.before_lhs is not None:
        heads = [left for left, _ in pairs]
    elif step.shows_part:
        heads = [_math_text(f"{pairs[0][0]}:"), ""]
    else:
        heads = [step.lhs_latex] + [""] * (len(pairs) - 1)
    if len(pairs) == 1:
        yield f"{heads[0]} = {pairs[0][1]}" if heads[0] else pairs[0][1]
    elif pairs:
        first = "\\quad &" if step.shows_part else " &="
        rows = " \\\\ ".join(
            f"{head}{first if n == 0 else ' &='} {right}"
            for n, (head, (_, right)) in enumerate(zip(heads, pairs, strict=True))
        )
        yield rf"\begin{{aligned}}{rows}\end{{aligned}}"
    for clause in shown.new(_definitions_of(step, derivation, line_latex, _latex_head)):
        yield rf"\text{{where }} {clause}"


def _math_text(label: str) -> str:
    return rf"\text{{{escape(label)}}}" if label else ""


# -- LaTeX ----------------------------------------------------------------------------------------

_LATEX_TEXT = {
    "δ": r"$\delta$",
    "Σ": r"$\Sigma$",
    "∂": r"$\partial$",
    "⊙": r"$\odot$",
    "ᵀ": r"$^\top$",
    "×": r"$\times$",
    "²": r"$^2$",
    "σ": r"$\sigma$",
    "θ": r"$\theta$",
    "·": r"$\cdot$",
    "−": "-",
    "—": "---",
    "ŷ": r"$\hat{y}$",
    "→": r"$\to$",
    "′": "'",
    "|": r"$|$",
    "≤": r"$\le$",
    "∘": r"$\circ$",
    **{chr(0x2080 + digit): f"$_{digit}$" for digit in range(10)},  # ₀ … ₉
}
_ESCAPES = {
    "\\": r"\textbackslash{}",
    "_": r"\_",
    "&": r"\&",
    "%": r"\%",
    "#": r"\#",
    "{": r"\{",
    "}": r"\}",
    "^": r"\^{}",
    "~": r"\~{}",
    "$": r"\$",
}


def escape(text: str) -> str:
    """Text for LaTeX's text mode: special characters escaped, the notation's symbols as math."""
    return "".join(_ESCAPES.get(c, _LATEX_TEXT.get(c, c)) for c in text)


def render_latex(derivation: Derivation) -> str:
    """A LaTeX fragment: a paragraph and an ``enumerate`` list (needs ``amsmath``)."""
    title = derivation.title[0].upper() + derivation.title[1:]
    lines = [rf"\paragraph{{{escape(title)}.}} Layout: {escape(derivation.layout)}", r"\begin{enumerate}"]
    shown = _Shown()
    for step in derivation.steps:
        lines.append(rf"\item \textbf{{{escape(step.rule)}.}} {escape(step.reason)}")
        lines += [rf"\[ {formula} \]" for formula in _latex_formulas(step, derivation, shown)]
        if step.matrix is not None:
            lines.append(rf"Matrix form: ${step.matrix.latex}$.")
        if step.table is not None:
            rows = [escape(row).replace(" ", "~") for row in step.table.splitlines()]
            lines += [r"\par{\ttfamily\small", " \\\\\n".join(rows), "}"]
        if step.notes:
            lines += [r"\begin{itemize}", *(rf"\item {escape(n)}" for n in step.notes), r"\end{itemize}"]
    lines.append(r"\end{enumerate}")
    return "\n".join(lines)


# -- HTML -----------------------------------------------------------------------------------------

KATEX = "https://cdn.jsdelivr.net/npm/katex@0.16.11/dist"
"""Where a standalone page loads KaTeX from by default (a folder with ``katex.min.js``, ``katex.min.css`` and
``contrib/auto-render.js``; Debian's ``libjs-katex`` installs one at ``/usr/share/javascript/katex``)."""

_FRAGMENT_STYLE = ".eincalc-derivation .unicode { display: none; }"
"""In a notebook the frontend typesets the LaTeX (``\\[ … \\]``), so the Unicode copy stays hidden."""

_PAGE_STYLE = """\
body { font-family: system-ui, sans-serif; line-height: 1.5; max-width: 64rem; margin: 2rem auto; padding: 0 1rem; }
pre { background: #f5f6f8; padding: 0.4rem 0.6rem; overflow-x: auto; }
pre.unicode { background: none; padding: 0 0 0 1rem; font-size: 1.05rem; }
.eincalc-derivation .tex { display: none; }
.katex-ready .eincalc-derivation .tex { display: block; }
.katex-ready .eincalc-derivation span.tex { display: inline; }
.katex-ready .eincalc-derivation .unicode { display: none; }
footer { color: #666; font-size: 0.85rem; margin-top: 2rem; }"""

_PAGE_SCRIPT = """\
document.addEventListener("DOMContentLoaded", function () {
  if (!window.renderMathInElement) return;  // KaTeX did not load (offline): the Unicode text stays
  renderMathInElement(document.body, {throwOnError: false, delimiters: [
    {left: "\\\\[", right: "\\\\]", display: true}, {left: "\\\\(", right: "\\\\)", display: false}]});
  document.body.classList.add("katex-ready");
});"""


def render_html(derivation: Derivation) -> str:
    """An HTML fragment: every formula twice, as LaTeX between ``\\[ \\]`` (KaTeX or MathJax typesets it) and
    as the Unicode text of ``Derivation.text()``, so it reads well with or without a typesetter."""
    return f"<style>{_FRAGMENT_STYLE}</style>\n{_html_body(derivation)}"


def render_page(derivation: Derivation, katex: str = KATEX) -> str:
    """A standalone HTML page: the Unicode text by default, typeset by KaTeX (loaded from ``katex``) when it loads."""
    title = html.escape(_sentence(derivation.title))
    return "\n".join(
        [
            "<!DOCTYPE html>",
            '<html lang="en">',
            "<head>",
            '<meta charset="utf-8">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>{title}</title>",
            f'<link rel="stylesheet" href="{html.escape(katex)}/katex.min.css">',
            f"<style>\n{_PAGE_STYLE}\n</style>",
            f'<script defer src="{html.escape(katex)}/katex.min.js"></script>',
            f'<script defer src="{html.escape(katex)}/contrib/auto-render.js"></script>',
            f"<script>\n{_PAGE_SCRIPT}\n</script>",
            "</head>",
            "<body>",
            _html_body(derivation),
            "<footer>Written by eincalc. Formulas are typeset by KaTeX when it loads; without it they show as text."
            "</footer>",
            "</body>",
            "</html>",
            "",
        ]
    )


def _html_body(derivation: Derivation) -> str:
    lines = [
        '<div class="eincalc-derivation">',
        f"<p><strong>{html.escape(_sentence(derivation.title))}.</strong> Layout: {html.escape(derivation.layout)}</p>",
        "<ol>",
    ]
    shown_text, shown_latex = _Shown(), _Shown()
    for step in derivation.steps:
        lines.append(f"<li><p><strong>{html.escape(step.rule)}.</strong> {html.escape(step.reason)}</p>")
        text = text_formula(step, derivation, shown_text)
        formulas = list(_latex_formulas(step, derivation, shown_latex))
        if text or formulas:
            unicode = html.escape("\n".join(text))
            lines.append(f'<pre class="unicode">{unicode}</pre>')
            lines += [f'<div class="tex">\\[{html.escape(formula)}\\]</div>' for formula in formulas]
        if step.matrix is not None:
            lines.append(_html_matrix(step.matrix, _shows_numpy(step, derivation)))
        if step.table is not None:
            lines.append(f'<pre class="table">{html.escape(step.table)}</pre>')
        if step.notes:
            lines += ["<ul>", *(f"<li>{html.escape(note)}</li>" for note in step.notes), "</ul>"]
        lines.append("</li>")
    return "\n".join([*lines, "</ol>", "</div>"])


def _html_matrix(form: MatrixForm, with_numpy: bool) -> str:
    code = f" (<code>{html.escape(form.numpy)}</code>)" if with_numpy else ""
    return (
        f'<p>Matrix form: <span class="unicode">{html.escape(form.text)}</span>'
        f'<span class="tex">\\({html.escape(form.latex)}\\)</span>{code}</p>'
    )


def _sentence(title: str) -> str:
    return title[0].upper() + title[1:]


# -- NumPy ----------------------------------------------------------------------------------------


def render_numpy(derivation: Derivation) -> str:
    """NumPy code for the result: the matrix form's, else ``np.einsum`` over its tensors."""
    form = derivation.matrix
    if form is not None:
        return form.numpy
    equation, operands = to_einsum(derivation.result)
    if not all(isinstance(o, Tensor) for o in operands):
        raise NoMatrixForm(
            f"{derivation.result} has no matrix form and is not one einsum over tensors, "
            "so there is no NumPy one-liner for it"
        )
    arguments = ", ".join(o.spec.name for o in operands if isinstance(o, Tensor))
    return f"np.einsum({equation!r}, {arguments})"
