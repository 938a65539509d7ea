"""What a node of Python's syntax tree is, read as index notation: pure predicates and names over `ast` nodes.

A product, a number, a sign, parentheses of its own, an index written ``j`` or ``j:n``, the δ, 0 or 1 that
takes indices, and the words that name a node the language does not support.

>>> import ast
>>> node = ast.parse("-x[i:n, j]", mode="eval").body
>>> is_product(node), sign_of(node), [index_name(e) for e in index_elements(node.operand.slice)]
(True, -1.0, ['i', 'j'])
"""

from __future__ import annotations

import ast

DELTAS = ("δ", "delta")
_SIGNS: dict[type, float] = {ast.USub: -1.0, ast.UAdd: 1.0}


def is_product(node: ast.expr) -> bool:
    """Whether ``node`` reads as a product: ``a * b``, a signed operand, or a number."""
    return isinstance(node, ast.Constant) or isinstance(getattr(node, "op", None), ast.Mult) or bool(sign_of(node))


def is_number(node: ast.expr) -> bool:
    """Whether ``node`` is a number literal, possibly signed (``2``, ``-0.5``)."""
    while sign_of(node):
        node = getattr(node, "operand", node)
    return isinstance(node, ast.Constant) and not isinstance(node.value, bool) and isinstance(node.value, int | float)


def sign_of(node: ast.expr) -> float:
    """-1 for ``-operand``, 1 for ``+operand``, 0 for anything else."""
    return _SIGNS.get(type(getattr(node, "op", None)), 0.0)


def is_zero(node: ast.expr) -> bool:
    """Whether ``node`` is the literal ``0``, which reads as `Zero` (``0.0`` is a number)."""
    return isinstance(node, ast.Constant) and type(node.value) is int and node.value == 0


def wrapped(child: ast.expr, parent: ast.AST | None) -> bool:
    """Whether ``child``, an operand of ``parent``, has parentheses of its own."""
    return (
        parent is not None
        and child.col_offset != getattr(parent, "col_offset", None)
        and (child.end_col_offset != getattr(parent, "end_col_offset", None))
    )


def is_atom(node: ast.expr) -> bool:
    """Whether ``node`` is the δ, 0 or 1 of a subscript like ``δ[i,j]``, ``0[i]``, ``1[i]``."""
    if isinstance(node, ast.Name):
        return node.id in DELTAS
    return isinstance(node, ast.Constant) and type(node.value) is int and node.value in (0, 1)


def written_dimension(node: ast.expr) -> str | None:
    """The dimension of an index written with it (``j:n``); ``None`` for anything else."""
    if isinstance(node, ast.Slice) and isinstance(node.lower, ast.Name) and isinstance(node.upper, ast.Name):
        return node.upper.id if node.step is None else None
    return None


def index_name(node: ast.expr) -> str:
    """The name of an index written ``j`` or ``j:n``."""
    if isinstance(node, ast.Slice) and isinstance(node.lower, ast.Name):
        return node.lower.id
    return getattr(node, "id", "")


def index_elements(index: ast.expr) -> list[ast.expr]:
    """The indices of a subscript's ``[…]``: ``[i, j]`` gives two, ``[i]`` one."""
    return list(index.elts) if isinstance(index, ast.Tuple) else [index]


_WORDS: dict[type, str] = {
    ast.Compare: "a comparison",
    ast.BoolOp: "'and'/'or'",
    ast.Lambda: "lambda",
    ast.IfExp: "'… if … else …'",
    ast.ListComp: "a comprehension",
    ast.SetComp: "a comprehension",
    ast.DictComp: "a comprehension",
    ast.GeneratorExp: "a comprehension",
    ast.Tuple: "a tuple",
    ast.List: "a list",
    ast.Dict: "a dict",
    ast.Set: "a set",
    ast.JoinedStr: "an f-string",
    ast.Starred: "'*'",
    ast.Slice: "a slice",
    ast.NamedExpr: "':='",
    ast.Attribute: "attribute access other than .T",
    ast.UnaryOp: "'not' or '~'",
    ast.FloorDiv: "'//'",
    ast.Mod: "'%'",
    ast.LShift: "'<<'",
    ast.RShift: "'>>'",
    ast.BitOr: "'|'",
    ast.BitXor: "'^'",
    ast.BitAnd: "'&'",
}


def describe_node(node: ast.AST) -> str:
    """``node`` in the words of an error: ``'a comparison'``, ``"the operator '//'"``, a number's repr."""
    if isinstance(node, ast.Constant):
        return "a string" if isinstance(node.value, str | bytes) else repr(node.value)
    if isinstance(node, ast.BinOp):
        return f"the operator {_WORDS.get(type(node.op), type(node.op).__name__)}"
    return _WORDS.get(type(node), type(node).__name__)
