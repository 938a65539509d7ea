"""Spell a :class:`~eincalc.matrix_tree.MatrixExpr` as Unicode text, LaTeX or NumPy code.

Text and LaTeX share one renderer table driven by a :class:`Style` (the two
differ only in tokens); NumPy has its own table.  Every renderer returns the
code with its *category* (atom, product, Hadamard, sum…), and a parent puts
parentheses around a child whose category it does not accept, so precedence is
decided in one place.  Matrix products and Hadamard products never share a
level: ``σ(z) ⊙ (Wᵀ g)``, ``Wᵀ (a ⊙ b)``.

Conventions: ``1`` is the column of ones, so ``1ᵀ X`` sums the rows of ``X``;
an element-wise power of a matrix is written ``X∘²`` (never ``X²``, which would
read as ``X X``); a vector added to a matrix along its trailing axis is written
plainly, as NumPy broadcasts it (``X W + b``).

>>> from eincalc.matrix_tree import MatMul, Symbol, Transpose
>>> W, g = Symbol("W1", "matrix"), Symbol("g", "col")
>>> product = MatMul((Transpose(W), g))
>>> to_text(product), to_latex(product), to_numpy(product)
('W₁ᵀ g', '{W_{1}}^\\\\top g', 'W1.T @ g')
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .functions import lookup
from .matrix_tree import (
    Add,
    Axis,
    Broadcast,
    Call,
    Diag,
    DiagPart,
    Function,
    Hadamard,
    Identity,
    Inner,
    Intermediate,
    MatMul,
    MatrixExpr,
    Number,
    Ones,
    Outer,
    Scale,
    SizeOf,
    Sum,
    Symbol,
    Trace,
    Transpose,
    Zeros,
)
from .printing import latex_name, number

Code = tuple[str, str]  # (code, category)

_SUBSCRIPT = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")
_SUPERSCRIPT = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")


def _split_sign(term: MatrixExpr) -> tuple[bool, MatrixExpr]:
    """``(True, t)`` when ``term`` is ``−t`` with a negative number in front, else ``(False, term)``."""
    if isinstance(term, Number) and term.value < 0:
        return True, Number(-term.value)
    if isinstance(term, Scale) and isinstance(term.factor, Number) and term.factor.value < 0:
        positive = -term.factor.value
        return True, term.child if positive == 1.0 else Scale(Number(positive), term.child)
    return False, term


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
    return f"{base}^{{{mark}{number(k)}}}"


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
    name: Callable[[str], str]
    power: Callable[[str, float, bool], str]
    template: str  # which format-string attribute of a Function or Call to use


TEXT = Style(
    transpose="ᵀ", hadamard=" ⊙ ", minus="−", left="(", right=")", ones="1", diag="diag", trace="tr",
    name=_text_name, power=_text_power, template="text",
)  # fmt: skip
LATEX = Style(
    transpose=r"^\top", hadamard=r" \odot ", minus="-", left=r"\left(", right=r"\right)", ones=r"\mathbf{1}",
    diag=r"\operatorname{diag}", trace=r"\operatorname{tr}", name=latex_name, power=_latex_power, template="latex",
)  # fmt: skip

ATOM, POSTFIX, PROD, HAD, NEG, ADD = "atom", "postfix", "prod", "had", "neg", "add"
_OPERAND = {ATOM, POSTFIX}
_IN_PRODUCT = {ATOM, POSTFIX, PROD}
_IN_HADAMARD = {ATOM, POSTFIX, HAD}
_SCALED = {ATOM, POSTFIX, PROD, HAD}


def to_text(node: MatrixExpr) -> str:
    """Unicode matrix notation (``Wᵀ g``)."""
    return _math(node, TEXT)[0]


def to_latex(node: MatrixExpr) -> str:
    """LaTeX matrix notation (``W^\\top g``)."""
    return _math(node, LATEX)[0]


def _math(node: MatrixExpr, style: Style) -> Code:
    return _MATH[type(node)](node, style)


def _wrap(node: MatrixExpr, style: Style, allowed: set[str]) -> str:
    code, category = _math(node, style)
    return code if category in allowed else f"{style.left}{code}{style.right}"


def _call(name: str, node: MatrixExpr, style: Style) -> Code:
    return f"{name}{style.left}{_math(node, style)[0]}{style.right}", ATOM


def _scale(node: Scale, s: Style) -> Code:
    child = _wrap(node.child, s, _SCALED)
    if not isinstance(node.factor, Number):
        return f"{_wrap(node.factor, s, _OPERAND)} {child}", PROD
    value = node.factor.value
    if value == -1.0:
        return f"{s.minus}{child}", NEG
    if value < 0:
        return f"{s.minus}{number(-value)} {child}", NEG
    return f"{number(value)} {child}", PROD


def _add(node: Add, s: Style) -> Code:
    parts = [_math(node.terms[0], s)[0]]
    for term in node.terms[1:]:
        negative, positive = _split_sign(term)
        parts.append(f"{s.minus if negative else '+'} {_math(positive, s)[0]}")
    return " ".join(parts), ADD


def _function(node: Function, s: Style) -> Code:
    if node.fn == "pow":
        base = _wrap(node.child, s, {ATOM})
        return s.power(base, node.param if node.param is not None else 1.0, node.kind == "matrix"), POSTFIX
    template: str = getattr(lookup(node.fn), s.template)
    return template.format(x=_math(node.child, s)[0], k=number(node.param or 0.0)), ATOM


def _call_node(node: Call, s: Style) -> Code:
    allowed = {ATOM} if node.postfix else {ATOM, POSTFIX, PROD, HAD, NEG, ADD}
    args = [_wrap(arg, s, allowed) for arg in node.args]
    return getattr(node, s.template).format(*args), POSTFIX if node.postfix else ATOM


def _number(node: Number, s: Style) -> Code:
    return (f"{s.minus}{number(-node.value)}", NEG) if node.value < 0 else (number(node.value), ATOM)


_MATH: dict[type, Callable[[Any, Style], Code]] = {
    Symbol: lambda n, s: (s.name(n.name), ATOM),
    Number: _number,
    SizeOf: lambda n, s: (s.name(n.dim), ATOM),
    Ones: lambda n, s: (s.ones + (s.transpose if n.kind == "row" else ""), ATOM),
    Identity: lambda n, s: ("I", ATOM),
    Zeros: lambda n, s: ("0", ATOM),
    Transpose: lambda n, s: (_wrap(n.child, s, {ATOM}) + s.transpose, POSTFIX),
    MatMul: lambda n, s: (" ".join(_wrap(f, s, _IN_PRODUCT) for f in n.factors), PROD),
    Outer: lambda n, s: (f"{_wrap(n.left, s, _IN_PRODUCT)} {_wrap(n.right, s, _IN_PRODUCT)}", PROD),
    Hadamard: lambda n, s: (s.hadamard.join(_wrap(f, s, _IN_HADAMARD) for f in n.factors), HAD),
    Scale: _scale,
    Add: _add,
    Broadcast: lambda n, s: _math(n.display, s),
    Function: _function,
    Diag: lambda n, s: _call(s.diag, n.child, s),
    DiagPart: lambda n, s: _call(s.diag, n.child, s),
    Trace: lambda n, s: _call(s.trace, n.child, s),
    Sum: lambda n, s: _math(n.display, s),
    Inner: lambda n, s: _call(s.trace, n.display, s),
    Intermediate: lambda n, s: (s.name(n.name), ATOM),
    Call: _call_node,
}


# -- NumPy ----------------------------------------------------------------------------------

POW, MUL, MATMUL = "pow", "mul", "matmul"
_NP_FACTOR = {ATOM, POW}
_NP_SCALED = {ATOM, POW, MUL, MATMUL}


def to_numpy(node: MatrixExpr) -> str:
    """A NumPy expression in the tensor names (``W.T @ g``); vectors are 1-D arrays."""
    return _np(node)[0]


def _np(node: MatrixExpr) -> Code:
    return _NUMPY[type(node)](node)


def _np_wrap(node: MatrixExpr, allowed: set[str]) -> str:
    code, category = _np(node)
    return code if category in allowed else f"({code})"


def _size(source: Axis) -> str:
    return f"{source.tensor}.shape[{source.axis}]"


def _grouped(code: str) -> bool:
    """Whether ``code`` is one call or one parenthesised group, so it binds tightest.

    >>> _grouped("np.tanh({x})"), _grouped("(a) + (b)"), _grouped("x ** 2")
    (True, False, False)
    """
    start = code.find("(")
    if start < 0 or not code.endswith(")") or not re.fullmatch(r"[\w.]*", code[:start]):
        return False
    depth = 0
    for position, char in enumerate(code[start:], start):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth == 0:
            return position == len(code) - 1
    return False


def _np_zeros(node: Zeros) -> Code:
    sizes = [_size(s) for s in node.sources]
    if not sizes:
        return "0.0", ATOM
    shape = sizes[0] if len(sizes) == 1 else f"({', '.join(sizes)})"
    return f"np.zeros({shape})", ATOM


def _np_scale(node: Scale) -> Code:
    child = _np_wrap(node.child, _NP_SCALED)
    if isinstance(node.factor, Number) and node.factor.value == -1.0:
        return f"-{child}", NEG
    return f"{_np_wrap(node.factor, {ATOM, POW, NEG})} * {child}", MUL


def _np_add(node: Add) -> Code:
    parts = [_np(node.terms[0])[0]]
    for term in node.terms[1:]:
        negative, positive = _split_sign(term)
        parts.append(f"{'-' if negative else '+'} {_np(positive)[0]}")
    return " ".join(parts), ADD


def _np_broadcast(node: Broadcast) -> Code:
    return (f"{_np_wrap(node.child, {ATOM})}[:, None]", ATOM) if node.axis == 0 else _np(node.child)


def _np_function(node: Function) -> Code:
    if node.fn == "pow":
        return f"{_np_wrap(node.child, {ATOM})} ** {number(node.param or 1.0)}", POW
    template = lookup(node.fn).numpy
    code = template.format(x=_np(node.child)[0], k=number(node.param or 0.0))
    return code, ATOM if _grouped(template) else ADD


def _np_call(node: Call) -> Code:
    allowed = {ATOM} if node.postfix else {ATOM, POW, NEG, MUL, MATMUL, ADD}
    code = node.numpy.format(*(_np_wrap(arg, allowed) for arg in node.args))
    return code, ATOM if _grouped(code) else ADD


def _np_matmul(node: MatMul) -> Code:
    """``A @ B``; a ``diag(v)`` factor scales its neighbour instead (``(X.T * s) @ X``) and is never formed."""
    code: str | None = None
    rows: str | None = None  # diagonal factors waiting to scale the rows of the next operand
    for factor in node.factors:
        if isinstance(factor, Diag):
            vector = _np_wrap(factor.child, {ATOM})
            if code is not None:
                code = f"({code} * {vector})"
            else:
                rows = vector if rows is None else f"({rows} * {vector})"
            continue
        operand = _np_wrap(factor, _NP_FACTOR)
        if rows is not None:
            operand, rows = f"({rows}{'[:, None]' if factor.kind == 'matrix' else ''} * {operand})", None
        code = operand if code is None else f"{code} @ {operand}"
    return (f"np.diag({rows})", ATOM) if code is None else (code, MATMUL)


def _np_sum(node: Sum) -> Code:
    if node.axis is None:
        return f"np.sum({_np(node.child)[0]})", ATOM
    return f"{_np_wrap(node.child, {ATOM})}.sum(axis={node.axis})", ATOM


def _np_transpose(node: Transpose) -> Code:
    if node.kind != "matrix":  # a 1-D array is its own transpose
        return _np(node.child)
    return f"{_np_wrap(node.child, {ATOM})}.T", ATOM


_NUMPY: dict[type, Callable[[Any], Code]] = {
    Symbol: lambda n: (n.name, ATOM),
    Number: lambda n: (number(n.value), NEG if n.value < 0 else ATOM),
    SizeOf: lambda n: (_size(n.source), ATOM),
    Ones: lambda n: (f"np.ones({_size(n.source)})", ATOM),
    Identity: lambda n: (f"np.eye({_size(n.source)})", ATOM),
    Zeros: _np_zeros,
    Transpose: _np_transpose,
    MatMul: _np_matmul,
    Outer: lambda n: (f"np.outer({_np(n.left)[0]}, {_np(n.right)[0]})", ATOM),
    Hadamard: lambda n: (" * ".join(_np_wrap(f, _NP_FACTOR) for f in n.factors), MUL),
    Scale: _np_scale,
    Add: _np_add,
    Broadcast: _np_broadcast,
    Function: _np_function,
    Diag: lambda n: (f"np.diag({_np(n.child)[0]})", ATOM),
    DiagPart: lambda n: (f"np.diagonal({_np(n.child)[0]})", ATOM),
    Trace: lambda n: (f"np.trace({_np(n.child)[0]})", ATOM),
    Sum: _np_sum,
    Inner: lambda n: (f"np.sum({_np_wrap(n.left, _NP_FACTOR)} * {_np_wrap(n.right, _NP_FACTOR)})", ATOM),
    Intermediate: lambda n: _np(n.body),
    Call: _np_call,
}
