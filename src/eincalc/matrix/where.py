"""Where-clauses of a matrix form: each named intermediate its text uses, defined once beneath it.

The text and LaTeX show the expression with its intermediates by name, then their
definitions (``where a = tanh(W₁ x)``), each after the ones it uses, as
`eincalc.parse_matrix` reads them back; the NumPy text is a sequence of
assignments ending in the expression, as `eincalc.matrix.check.run_numpy` runs it.

>>> from eincalc.matrix.tree import Function, Intermediate, MatMul, Symbol
>>> z = Intermediate("z", MatMul((Symbol("W", "matrix"), Symbol("x", "col"))))
>>> h = Intermediate("h", Function("tanh", None, z))
>>> tree = MatMul((Symbol("V", "matrix"), h))
>>> print(where_text(tree))
V h
  where z = W x
  where h = tanh(z)
>>> print(where_numpy(tree))
z = W @ x
h = np.tanh(z)
V @ h
"""

from __future__ import annotations

from ..core.errors import NoMatrixForm
from ..frontend.matrix_checker import key
from .reductions import printed_children, printed_nodes
from .render import to_latex, to_numpy, to_text
from .tree import Add, Hadamard, Identity, Intermediate, MatMul, MatrixExpr, Outer, Scale, SizeOf, Symbol


def definitions(tree: MatrixExpr) -> tuple[Intermediate, ...]:
    """The intermediates ``tree`` shows by name, and those their bodies show, each after the ones it uses
    (found with a stack, so a chain of names of any length is no recursion).

    >>> from eincalc.matrix.tree import Intermediate, Symbol, Transpose
    >>> z = Intermediate("z", Symbol("x", "col"))
    >>> [d.name for d in definitions(Transpose(Intermediate("h", Transpose(z))))]
    ['z', 'h']
    """
    done: dict[str, Intermediate] = {}
    stack: list[tuple[Intermediate, bool]] = [(node, False) for node in reversed(_named_in(tree))]
    while stack:
        node, ready = stack.pop()
        if node.name in done:
            continue
        if ready:
            done[node.name] = node
        else:
            stack.append((node, True))
            stack.extend((used, False) for used in reversed(_named_in(node.body)) if used.name not in done)
    return tuple(done.values())


def shows_its_kind(body: MatrixExpr) -> bool:
    """Whether the text of ``body`` alone says what it is, as the matrix reader reads a where-clause: a scalar, or a
    vector or matrix whose type its tensors, names or ``I`` fix.  A body of ones and numbers (``c 1``, ``(1ᵀ x) 1``)
    does not: the reader takes such a ``1`` for a number where nothing beside it says otherwise, so the view shows
    that body in place, where the algebra of ones reads it (``1ᵀ (c 1)`` is ``n c``).

    >>> from eincalc.matrix.tree import Axis, MatMul, Ones, Scale, Symbol, Transpose
    >>> c, x, ones = Symbol("c", "scalar"), Symbol("x", "col"), Ones("n", Axis("x", 0), "col")
    >>> shows_its_kind(Scale(c, ones)), shows_its_kind(Scale(MatMul((Transpose(ones), x)), ones))
    (False, False)
    >>> shows_its_kind(Scale(c, x))
    True
    """
    typed: dict[int, bool] = {}
    for node in printed_nodes(body):
        typed[id(node)] = _typed(node, [(typed[id(c)], c.kind) for c in printed_children(node)])
    return body.kind == "scalar" or typed[id(body)]


def _typed(node: MatrixExpr, children: list[tuple[bool, str]]) -> bool:
    """Whether the reader gives ``node`` a type of its own rather than the flexible type of a literal ``0`` or ``1``
    (erring on the side of no: such a body is only shown in place), from its printed ``children``'s (typed, kind)."""
    if isinstance(node, Symbol | Intermediate | Identity | SizeOf):
        return True
    if isinstance(node, Add):
        return any(typed for typed, _ in children)
    if isinstance(node, MatMul | Outer | Hadamard | Scale):  # a non-scalar factor settles the literals beside it
        return any(typed and kind != "scalar" for typed, kind in children) or all(typed for typed, _ in children)
    return bool(children) and all(typed for typed, _ in children)  # a literal, or a function of its argument


def shown_trees(tree: MatrixExpr) -> tuple[MatrixExpr, ...]:
    """``tree`` and the body of each intermediate it defines: every tree its text prints."""
    return (tree, *(d.body for d in definitions(tree)))


def require_unshadowed_sizes(trees: tuple[MatrixExpr, ...]) -> None:
    """Raise `NoMatrixForm` when ``trees`` (a form and its clauses' bodies, `shown_trees`) print a size (``n``) that a
    where-clause names: the reader would take the size for the intermediate.

    >>> from eincalc.matrix.tree import Axis, Intermediate, Scale, SizeOf, Symbol
    >>> n = Intermediate("n", Symbol("x", "col"))
    >>> require_unshadowed_sizes((Scale(SizeOf("n", Axis("x", 0)), n), n.body))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    eincalc.core.errors.NoMatrixForm: the intermediate n has the name of the size n, which the text shows; ...
    """
    defined = {key(d.name) for d in definitions(trees[0])}
    for tree in trees:
        for node in printed_nodes(tree):
            if isinstance(node, SizeOf) and key(node.dim) in defined:
                raise NoMatrixForm(
                    f"the intermediate {node.dim} has the name of the size {node.dim}, which the text shows; "
                    "rename the intermediate (ec.let, or its adjoint=)"
                )


def _named_in(tree: MatrixExpr) -> list[Intermediate]:
    """The intermediates the text of ``tree`` shows by name, once each, left to right."""
    found: dict[str, Intermediate] = {}
    for node in printed_nodes(tree):
        if isinstance(node, Intermediate):
            found.setdefault(node.name, node)
    return list(found.values())


def where_text(tree: MatrixExpr) -> str:
    """The text of ``tree`` and one ``where`` line per intermediate."""
    return to_text(tree) + "".join(f"\n  where {to_text(d)} = {to_text(d.body)}" for d in definitions(tree))


def where_latex(tree: MatrixExpr) -> str:
    r"""The LaTeX of ``tree``, then ``,\quad\text{where } a = …,\; b = …``.

    >>> from eincalc.matrix.tree import Intermediate, Symbol, Transpose
    >>> where_latex(Transpose(Intermediate("z", Symbol("x", "col"))))
    'z^\\top,\\quad\\text{where } z = x'
    """
    clauses = [f"{to_latex(d)} = {to_latex(d.body)}" for d in definitions(tree)]
    return to_latex(tree) + (r",\quad\text{where } " + r",\; ".join(clauses) if clauses else "")


def where_numpy(tree: MatrixExpr) -> str:
    """One NumPy assignment per intermediate, then the expression of ``tree`` in their names."""
    return "".join(f"{d.name} = {to_numpy(d.body)}\n" for d in definitions(tree)) + to_numpy(tree)
