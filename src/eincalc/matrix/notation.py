"""The tokens of matrix notation: one `Style` each for Unicode text and LaTeX.

The text and LaTeX renderers (`eincalc.matrix.render`) share one table; a `Style` holds all
that differs between the two: operator tokens, brackets, and how a name or a power is spelled.

>>> TEXT.name("W1"), LATEX.name("W1")
('W₁', '{W_{1}}')
>>> TEXT.power("X", 2.0, True), LATEX.power("X", 2.0, True)
('X∘²', 'X^{\\\\circ 2}')
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..frontend.spelling import latex_name, latex_number, number

_SUBSCRIPT = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")
_SUPERSCRIPT = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")


def _split_name(name: str) -> tuple[str, str]:
    head, underscore, tail = name.partition("_")
    if underscore:
        return head, tail
    stem = name.rstrip("0123456789")
    return (stem, name[len(stem) :]) if stem else (name, "")


def _text_name(name: str) -> str:
    head, sub = _split_name(name)
    return head + sub.translate(_SUBSCRIPT) if sub.isdigit() else name


def _text_power(base: str, k: float, hadamard: bool) -> str:
    mark = "∘" if hadamard else ""
    exponent = number(k)
    if float(k).is_integer():
        return f"{base}{mark}{exponent.translate(_SUPERSCRIPT)}"
    return f"{base}^{mark}{exponent}"


def _latex_power(base: str, k: float, hadamard: bool) -> str:
    mark = r"\circ " if hadamard else ""
    return f"{base}^{{{mark}{latex_number(k)}}}"


@dataclass(frozen=True)
class Style:
    """The tokens of one mathematical notation."""

    transpose: str
    hadamard: str
    minus: str
    left: str
    right: str
    ones: str
    diag: str
    trace: str
    norm: tuple[str, str]  # the bars around a norm
    name: Callable[[str], str]
    power: Callable[[str, float, bool], str]
    number: Callable[[float], str]  # a constant: ``1e-300`` in text, ``10^{-300}`` in LaTeX
    template: str  # which format-string attribute of a Function or Call to use


TEXT = Style(
    transpose="ᵀ", hadamard=" ⊙ ", minus="−", left="(", right=")", ones="1", diag="diag", trace="tr",
    norm=("‖", "‖"), name=_text_name, power=_text_power, number=number, template="text",
)  # fmt: skip
LATEX = Style(
    transpose=r"^\top", hadamard=r" \odot ", minus="-", left=r"\left(", right=r"\right)", ones=r"\mathbf{1}",
    diag=r"\operatorname{diag}", trace=r"\operatorname{tr}", norm=(r"\left\lVert ", r"\right\rVert"),
    name=latex_name, power=_latex_power, number=latex_number, template="latex",
)  # fmt: skip
