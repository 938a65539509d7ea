"""Precedence of the matrix renderers, decided in one place: code categories and the positions operands sit in.

Every renderer (`eincalc.matrix.render`) returns its code with a *category*: the loosest operator at the
code's top level.  A parent asks for each operand in a *position*, and a table says which categories a
position takes bare; any other gets parentheses.  `MATH_ACCEPTS` serves text and LaTeX, `NUMPY_ACCEPTS`
Python; `numpy_template` reads the positions in a function's NumPy spelling with Python's own parser.

>>> sorted(MATH_ACCEPTS["postfix"]), "neg" in NUMPY_ACCEPTS["term"]
(['atom'], False)
"""

from __future__ import annotations

import ast
import functools
import string

ATOM, POSTFIX, PROD, HAD, NEG, ADD = "atom", "postfix", "prod", "had", "neg", "add"
_ANY = frozenset({ATOM, POSTFIX, PROD, HAD, NEG, ADD})
_TERM = frozenset({ATOM, POSTFIX, PROD, HAD})
_PRODUCT = frozenset({ATOM, POSTFIX, PROD})

MATH_ACCEPTS: dict[str, frozenset[str]] = {
    "argument": _ANY,  # inside a function's own brackets: tanh(W x − (y + b))
    "first term": _ANY,  # a sum's first term: −a + b
    "term": _TERM,  # after + or −: x − (y + z), x + (−y)
    "negated": _TERM,  # after a leading minus: −(a + b), −a ⊙ b
    "coefficient": frozenset({ATOM, POSTFIX}),  # a scalar in front: (xᵀ y) z
    "scaled": _PRODUCT,  # after a coefficient: 2 (a + b), 2 (a ⊙ b)
    "scaled by a name": frozenset({ATOM, POSTFIX}),  # a product led by 1 after a scalar that is no number: s (1 xᵀ)
    "denominator": frozenset({ATOM, POSTFIX}),  # after /: x / ‖x‖³, X / (1ᵀ X 1)
    "factor": _PRODUCT,  # of a matrix or outer product: A (B + C); ⊙ and products never share a level
    "hadamard": frozenset({ATOM, POSTFIX, HAD}),  # σ(z) ⊙ (Wᵀ g)
    "postfix": frozenset({ATOM}),  # before ᵀ, ⁻¹ or a power: (A B)ᵀ, (Aᵀ)², (A⁻¹)ᵀ
}
"""Matrix notation (text and LaTeX): the categories each operand position takes without parentheses."""

# -- NumPy ----------------------------------------------------------------------------------
#
# Python's own precedence, loosest first: comparisons (LOOSE) < + − < * @ < unary − < ** < calls,
# attributes, subscripts and names.  A position takes every category from some level up; the
# operands of ``*`` and ``@`` ask for more than Python does, so the two never mix unparenthesised.

LOOSE, POW, MUL, MATMUL = "loose", "pow", "mul", "matmul"
_LEVEL = {LOOSE: 0, ADD: 1, MUL: 2, MATMUL: 2, NEG: 3, POW: 4, ATOM: 5}


def _from(level: int, *without: str) -> frozenset[str]:
    return frozenset(c for c, n in _LEVEL.items() if n >= level and c not in without)


NUMPY_ACCEPTS: dict[str, frozenset[str]] = {
    "argument": _from(0),  # a call's argument: np.tanh(W @ x - (y + b))
    "first term": _from(1),  # left of + or −, a compared operand
    "term": _from(2, NEG),  # right of + or −: x - (y + z), x - (-y)
    "left of *": _from(2),  # Python reads a * b * c as (a * b) * c
    "right of *": _from(3),  # a * (b * c), a / (b * c)
    "scaled": _from(2),  # after a scalar's *: 2 * X.T @ g is (2 * X.T) @ g, the same value
    "coefficient": _from(3),  # a scalar before *: -2 * x, np.trace(A) * x
    "negated": _from(2, NEG),  # -X.T @ g is (-X.T) @ g, the same value; -(a + b), -(-a)
    "unary": _from(3),  # the operand of a template's unary minus
    "factor": _from(4),  # of a chain of @ or of element-wise *: A @ (B + C), a * (b @ c)
    "exponent": _from(3),  # right of **: x ** -1
    "base": _from(5),  # left of **, before .T, .sum(…) or [:, None]: (x + y) ** 2, (A @ B).T
}
"""NumPy: the categories each operand position takes without parentheses."""


def template_pieces(template: str) -> list[tuple[str, str | None]]:
    """``template`` as (literal text, field name or None) pairs, with ``{{``/``}}`` read as braces."""
    return [(literal, field) for literal, field, _, _ in string.Formatter().parse(template)]


_PLACEHOLDER = "_field_"


@functools.lru_cache(maxsize=256)
def numpy_template(template: str) -> tuple[tuple[tuple[str, str], ...], str]:
    """The position each field of the NumPy format string ``template`` sits in, and the category of the whole.

    Both are read from the template itself with Python's parser, so a new function's spelling
    gets exactly the parentheses it needs:

    >>> numpy_template("np.exp({0} - np.logaddexp.reduce({0}))")
    ((('0', 'first term'), ('0', 'argument')), 'atom')
    >>> numpy_template("{x} ** {k}")[1], numpy_template("(0.5 * np.tanh({x}))")[1]
    ('pow', 'atom')
    """
    source = "".join(
        literal + ("" if field is None else _PLACEHOLDER + field) for literal, field in template_pieces(template)
    )
    body = ast.parse(source, mode="eval").body
    found = []
    for parent in ast.walk(body):
        for child in ast.iter_child_nodes(parent):
            if isinstance(child, ast.Name) and child.id.startswith(_PLACEHOLDER):
                position = "argument" if _parenthesised(source, child) else _position(parent, child)
                found.append((child.col_offset, child.id[len(_PLACEHOLDER) :], position))
    positions = tuple((field, position) for _, field, position in sorted(found))
    if isinstance(body, ast.Name) and body.id.startswith(_PLACEHOLDER):
        return positions, LOOSE
    return positions, ATOM if _parenthesised(source, body) else _category(body)


def _parenthesised(source: str, node: ast.expr) -> bool:
    before, after = source[: node.col_offset], source[node.end_col_offset :]
    return before.rstrip().endswith("(") and after.lstrip().startswith(")")


def _position(parent: ast.AST, child: ast.expr) -> str:
    """The operand position of ``child`` in ``parent``, in Python's precedence."""
    if isinstance(parent, ast.BinOp):
        left = child is parent.left
        if isinstance(parent.op, ast.Add | ast.Sub):
            return "first term" if left else "term"
        if isinstance(parent.op, ast.Pow):
            return "base" if left else "exponent"
        return "left of *" if left else "right of *"
    if isinstance(parent, ast.UnaryOp):
        return "unary"
    if isinstance(parent, ast.Attribute) or (isinstance(parent, ast.Subscript) and child is parent.value):
        return "base"
    if isinstance(parent, ast.Compare):
        return "first term"
    return "argument"  # a call's argument, a subscript, a tuple's element


def _category(node: ast.expr) -> str:
    if isinstance(node, ast.BinOp):
        op = type(node.op)
        return {ast.Add: ADD, ast.Sub: ADD, ast.Pow: POW, ast.MatMult: MATMUL}.get(op, MUL)
    if isinstance(node, ast.UnaryOp):
        return NEG
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float) and node.value < 0:
        return NEG
    return ATOM if isinstance(node, ast.Name | ast.Constant | ast.Call | ast.Attribute | ast.Subscript) else LOOSE
