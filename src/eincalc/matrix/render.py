"""Spell a `MatrixExpr` as Unicode text, LaTeX or NumPy code.

Text and LaTeX share one renderer table driven by a `Style` (the two
differ only in tokens, `eincalc.matrix.notation`); NumPy has its own table.
Every renderer returns the code with its *category* (atom, product, Hadamard,
sum…), and a parent puts parentheses around a child whose category it does not
accept, so precedence is decided in one place (`eincalc.matrix.precedence`).
Matrix products and Hadamard products never share a level: ``σ(z) ⊙ (Wᵀ g)``,
``Wᵀ (a ⊙ b)``.

Conventions: ``1`` is the column of ones, so ``1ᵀ X`` sums the rows of ``X``;
an element-wise power of a matrix is written ``X∘²`` (never ``X²``, which would
read as ``X X``); a vector added to a matrix along its trailing axis is written
plainly, as NumPy broadcasts it (``X W + b``).

>>> from eincalc.matrix.tree import MatMul, Symbol, Transpose
>>> W, g = Symbol("W1", "matrix"), Symbol("g", "col")
>>> product = MatMul((Transpose(W), g))
>>> to_text(product), to_latex(product), to_numpy(product)
('W₁ᵀ g', '{W_{1}}^\\\\top g', 'W1.T @ g')
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

from ..core.functions import lookup
from .notation import LATEX, TEXT, Style
from .precedence import (
    ADD,
    ATOM,
    HAD,
    MATH_ACCEPTS,
    MATMUL,
    MUL,
    NEG,
    NUMPY_ACCEPTS,
    POSTFIX,
    POW,
    PROD,
    numpy_template,
    template_pieces,
)
from .tree import (
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
    Norm,
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

Code = tuple[str, str]  # (code, category)


def _split_sign(term: MatrixExpr) -> tuple[bool, MatrixExpr]:
    """``(True, t)`` when ``term`` is ``−t`` with a negative number in front, else ``(False, term)``."""
    if isinstance(term, Number) and term.value < 0:
        return True, Number(-term.value)
    if isinstance(term, Scale) and isinstance(term.factor, Number) and term.factor.value < 0:
        positive = -term.factor.value
        return True, term.child if positive == 1.0 else Scale(Number(positive), term.child)
    return False, term


_OPENERS = ("(", "[", "{", "|", ",")
_CLOSERS = (")", "]", "}", "|", ",", "\\right")


def to_text(node: MatrixExpr) -> str:
    """Unicode matrix notation (``Wᵀ g``)."""
    return _math(node, TEXT)[0]


def to_latex(node: MatrixExpr) -> str:
    """LaTeX matrix notation (``W^\\top g``)."""
    return _math(node, LATEX)[0]


def _math(node: MatrixExpr, style: Style) -> Code:
    return _MATH[type(node)](node, style)


def _operand(node: MatrixExpr, style: Style, position: str) -> str:
    code, category = _math(node, style)
    return code if category in MATH_ACCEPTS[position] else f"{style.left}{code}{style.right}"


def _call(name: str, node: MatrixExpr, style: Style) -> Code:
    return f"{name}{style.left}{_math(node, style)[0]}{style.right}", ATOM


def _scale(node: Scale, s: Style) -> Code:
    if not isinstance(node.factor, Number):
        denominator = _denominator(node.factor)
        if denominator is not None:
            return f"{_operand(node.child, s, 'scaled')} / {_operand(denominator, s, 'denominator')}", PROD
        position = "scaled by a name" if _led_by_ones(node.child) else "scaled"
        return f"{_operand(node.factor, s, 'coefficient')} {_operand(node.child, s, position)}", PROD
    value = node.factor.value
    if value == -1.0:
        return f"{s.minus}{_operand(node.child, s, 'negated')}", NEG
    # 0 (1ᵀ x), never 0 1ᵀ x: a literal 0 before a product can be read as a zero vector (0 1ᵀ an outer product)
    child = _operand(node.child, s, "scaled by a name" if value == 0.0 else "scaled")
    if value < 0:
        return f"{s.minus}{s.number(-value)} {child}", NEG
    return f"{s.number(value)} {child}", PROD


def _denominator(factor: MatrixExpr) -> MatrixExpr | None:
    """``d`` when the scalar ``factor`` is a negative power ``d⁻ᵏ`` (written as a division by ``dᵏ``), else None."""
    if isinstance(factor, Function) and factor.fn == "pow" and factor.param is not None and factor.param < 0:
        return factor.child if factor.param == -1.0 else Function("pow", -factor.param, factor.child)
    return None


def _led_by_ones(node: MatrixExpr) -> bool:
    """Whether the text of ``node`` is a product that starts with the column of ones (``1 xᵀ``, ``1 1ᵀ A``):
    after a scalar that is not a number, it is bracketed, or ``s 1 xᵀ`` would read as ``s xᵀ``."""
    while isinstance(node, MatMul | Outer | Broadcast | Sum):
        node = node.factors[0] if isinstance(node, MatMul) else node.left if isinstance(node, Outer) else node.display
    return isinstance(node, Ones) and node.kind == "col"


def _norm(node: Norm, s: Style) -> Code:
    """``‖x‖``, or ``‖X‖_F`` for a matrix."""
    frobenius = "_F" if node.child.kind == "matrix" else ""
    return f"{s.norm[0]}{_math(node.child, s)[0]}{s.norm[1]}{frobenius}", ATOM


def _add(node: Add, s: Style) -> Code:
    parts = [_operand(node.terms[0], s, "first term")]
    for term in node.terms[1:]:
        negative, positive = _split_sign(term)
        parts.append(f"{s.minus if negative else '+'} {_operand(positive, s, 'term')}")
    return " ".join(parts), ADD


def _math_template(
    template: str, args: Mapping[str, MatrixExpr], literals: Mapping[str, str], s: Style, category: str | None = None
) -> Code:
    """``template`` with each field filled: a rendered argument of ``args`` or a literal of ``literals``.

    An argument enclosed by the template's own brackets (``tanh({x})``) goes in bare; one the
    template does not enclose (``{0}⁻¹``) needs parentheses unless it is an atom.  The result is
    an atom unless ``category`` says otherwise, or the template holds spaces (a loose operator).
    """
    pieces = template_pieces(template)
    parts: list[str] = []
    for n, (literal, field) in enumerate(pieces):
        parts.append(literal)
        if field is None:
            continue
        if field in literals:
            parts.append(literals[field])
            continue
        following = pieces[n + 1][0] if n + 1 < len(pieces) else ""
        enclosed = literal.rstrip().endswith(_OPENERS) and following.lstrip().startswith(_CLOSERS)
        parts.append(_operand(args[field], s, "argument" if enclosed else "postfix"))
    loose = any(char.isspace() for literal, _ in pieces for char in literal)
    return "".join(parts), category or (ADD if loose else ATOM)


def _function(node: Function, s: Style) -> Code:
    if node.fn == "pow":
        base = _operand(node.child, s, "postfix")
        return s.power(base, node.param if node.param is not None else 1.0, node.kind == "matrix"), POSTFIX
    template: str = getattr(lookup(node.fn), s.template)
    return _math_template(template, {"x": node.child}, {"k": s.number(node.param or 0.0)}, s)


def _call_node(node: Call, s: Style) -> Code:
    template: str = getattr(node, s.template)
    args = {str(n): arg for n, arg in enumerate(node.args)}
    return _math_template(template, args, {}, s, POSTFIX if node.postfix else None)


def _number(node: Number, s: Style) -> Code:
    if node.value < 0:
        return f"{s.minus}{s.number(-node.value)}", NEG
    code = s.number(node.value)
    # LaTeX's 10^{-300} takes no power or transpose after it, 2.5 \times 10^{-7} is a product
    return code, PROD if r"\times" in code else POSTFIX if "^" in code else ATOM


_MATH: dict[type, Callable[[Any, Style], Code]] = {
    Symbol: lambda n, s: (s.name(n.name), ATOM),
    Number: _number,
    SizeOf: lambda n, s: (s.name(n.dim), ATOM),
    Ones: lambda n, s: (s.ones + (s.transpose if n.kind == "row" else ""), ATOM),
    Identity: lambda n, s: ("I", ATOM),
    Zeros: lambda n, s: ("0", ATOM),
    Transpose: lambda n, s: (_operand(n.child, s, "postfix") + s.transpose, POSTFIX),
    MatMul: lambda n, s: (" ".join(_operand(f, s, "factor") for f in n.factors), PROD),
    Outer: lambda n, s: (f"{_operand(n.left, s, 'factor')} {_operand(n.right, s, 'factor')}", PROD),
    Hadamard: lambda n, s: (s.hadamard.join(_operand(f, s, "hadamard") for f in n.factors), HAD),
    Scale: _scale,
    Add: _add,
    Broadcast: lambda n, s: _math(n.display, s),
    Function: _function,
    Diag: lambda n, s: _call(s.diag, n.child, s),
    DiagPart: lambda n, s: _call(s.diag, n.child, s),
    Trace: lambda n, s: _call(s.trace, n.child, s),
    Norm: _norm,
    Sum: lambda n, s: _math(n.display, s),
    Inner: lambda n, s: _call(s.trace, n.display, s),
    Intermediate: lambda n, s: (s.name(n.name), ATOM),
    Call: _call_node,
}

# -- NumPy ----------------------------------------------------------------------------------
#
# Python's precedence, as `NUMPY_ACCEPTS` states it; a function's spelling is read by `numpy_template`.


def to_numpy(node: MatrixExpr) -> str:
    """A NumPy expression in the tensor names (``W.T @ g``); vectors are 1-D arrays."""
    return _np(node)[0]


def _np(node: MatrixExpr) -> Code:
    return _NUMPY[type(node)](node)


def _np_code(node: MatrixExpr, position: str) -> Code:
    """``node``'s code for ``position``, parenthesised (and then an atom) if the position does not take it bare."""
    code, category = _np(node)
    return (code, category) if category in NUMPY_ACCEPTS[position] else (f"({code})", ATOM)


def _np_operand(node: MatrixExpr, position: str) -> str:
    return _np_code(node, position)[0]


def _size(source: Axis) -> str:
    return f"{source.tensor}.shape[{source.axis}]"


def _np_number(value: float) -> Code:
    """A float literal (``2.0``, ``-1.0``, ``np.inf``): the text computes in float64 like the index form, so no
    NumPy integer can wrap around or refuse a negative power (``np.abs(-1) ** -1``)."""
    if not math.isfinite(value):
        code = "np.nan" if math.isnan(value) else f"{'-' if value < 0 else ''}np.inf"
        return code, NEG if value < 0 else ATOM
    return repr(float(value)), NEG if value < 0 else ATOM


def _np_fill(template: str, args: Mapping[str, MatrixExpr], literals: Mapping[str, str]) -> Code:
    """``template`` with each field filled: a rendered argument of ``args``, parenthesised as its position asks,
    or a literal of ``literals``."""
    positions, category = numpy_template(template)
    fields = iter(positions)
    parts: list[str] = []
    for literal, field in template_pieces(template):
        parts.append(literal)
        if field is not None:
            _, position = next(fields)
            parts.append(literals[field] if field in literals else _np_operand(args[field], position))
    return "".join(parts), category


def _np_zeros(node: Zeros) -> Code:
    sizes = [_size(s) for s in node.sources]
    if not sizes:
        return "0.0", ATOM
    shape = sizes[0] if len(sizes) == 1 else f"({', '.join(sizes)})"
    return f"np.zeros({shape})", ATOM


def _np_scale(node: Scale) -> Code:
    """``2 * x``, ``np.trace(A) * x``, or ``-x`` for a factor of −1 (``-X.T @ g`` reads ``(-X.T) @ g``)."""
    negated = isinstance(node.factor, Number) and node.factor.value == -1.0
    child, category = _np_code(node.child, "negated" if negated else "scaled")
    top = category if category in (MUL, MATMUL) else NEG if negated else MUL
    return (f"-{child}" if negated else f"{_np_operand(node.factor, 'coefficient')} * {child}"), top


def _np_add(node: Add) -> Code:
    """A sum; a vector broadcast over a matrix term is left to NumPy's broadcasting (``X @ W + c``,
    ``A - c[:, None]``) where another term has the matrix's full shape."""
    sized = any(not isinstance(_split_sign(t)[1], Broadcast) for t in node.terms)
    parts = [_np_term(node.terms[0], "first term", sized)]
    for term in node.terms[1:]:
        negative, positive = _split_sign(term)
        parts.append(f"{'-' if negative else '+'} {_np_term(positive, 'term', sized)}")
    return " ".join(parts), ADD


def _np_term(term: MatrixExpr, position: str, sized: bool) -> str:
    if sized and isinstance(term, Broadcast):
        return f"{_np_operand(term.child, 'base')}[:, None]" if term.axis == 0 else _np_operand(term.child, position)
    return _np_operand(term, position)


def _np_broadcast(node: Broadcast) -> Code:
    """The matrix a vector broadcast makes, written as the text shows it (``1 Aᵀ``: ``np.outer(…, A)``); only a
    sum with a full-shaped term leaves it to NumPy's broadcasting (`_np_add`): in ``σ(1 Aᵀ)`` assigned to a
    where-clause's name, or transposed, a bare ``A`` is a vector of the wrong shape (found by the deep explain
    run)."""
    return _np(node.display)


def _np_function(node: Function) -> Code:
    if node.fn == "pow":
        exponent = _np_number(1.0 if node.param is None else node.param)[0]
        return f"{_np_operand(node.child, 'base')} ** {exponent}", POW
    template = lookup(node.fn).numpy
    return _np_fill(template, {"x": node.child}, {"k": _np_number(node.param or 0.0)[0]})


def _np_call(node: Call) -> Code:
    return _np_fill(node.numpy, {str(n): arg for n, arg in enumerate(node.args)}, {})


def _np_matmul(node: MatMul) -> Code:
    """``A @ B``; a ``diag(v)`` factor scales its neighbour instead (``(X.T * s) @ X``) and is never formed."""
    code: str | None = None
    rows: str | None = None  # diagonal factors waiting to scale the rows of the next operand
    for factor in node.factors:
        if isinstance(factor, Diag):
            vector = _np_operand(factor.child, "base")
            if code is not None:
                code = f"({code} * {vector})"
            else:
                rows = vector if rows is None else f"({rows} * {vector})"
            continue
        operand = _np_operand(factor, "factor")
        if rows is not None:
            operand, rows = f"({rows}{'[:, None]' if factor.kind == 'matrix' else ''} * {operand})", None
        code = operand if code is None else f"{code} @ {operand}"
    return (f"np.diag({rows})", ATOM) if code is None else (code, MATMUL)


def _np_sum(node: Sum) -> Code:
    if node.axis is None:
        return f"np.sum({_np(node.child)[0]})", ATOM
    return f"{_np_operand(node.child, 'base')}.sum(axis={node.axis})", ATOM


def _np_transpose(node: Transpose) -> Code:
    if node.kind != "matrix":  # a 1-D array is its own transpose
        return _np(node.child)
    return f"{_np_operand(node.child, 'base')}.T", ATOM


_NUMPY: dict[type, Callable[[Any], Code]] = {
    Symbol: lambda n: (n.name, ATOM),
    Number: lambda n: _np_number(n.value),
    SizeOf: lambda n: (_size(n.source), ATOM),
    Ones: lambda n: (f"np.ones({_size(n.source)})", ATOM),
    Identity: lambda n: (f"np.eye({_size(n.source)})", ATOM),
    Zeros: _np_zeros,
    Transpose: _np_transpose,
    MatMul: _np_matmul,
    Outer: lambda n: (f"np.outer({_np(n.left)[0]}, {_np(n.right)[0]})", ATOM),
    Hadamard: lambda n: (" * ".join(_np_operand(f, "factor") for f in n.factors), MUL),
    Scale: _np_scale,
    Add: _np_add,
    Broadcast: _np_broadcast,
    Function: _np_function,
    Diag: lambda n: (f"np.diag({_np(n.child)[0]})", ATOM),
    DiagPart: lambda n: (f"np.diagonal({_np(n.child)[0]})", ATOM),
    Trace: lambda n: (f"np.trace({_np(n.child)[0]})", ATOM),
    Norm: lambda n: (f"np.linalg.norm({_np(n.child)[0]})", ATOM),
    Sum: _np_sum,
    Inner: lambda n: (f"np.sum({_np_operand(n.left, 'factor')} * {_np_operand(n.right, 'factor')})", ATOM),
    Intermediate: lambda n: (n.name, ATOM),
    Call: _np_call,
}
