"""Traversal of an expression's DAG without recursion: each distinct node once, however deep the expression.

>>> from eincalc.core.indices import Index, TensorSpec
>>> from eincalc.core.nodes import Add, Apply, Tensor
>>> i = Index("i", "n")
>>> x = Tensor(TensorSpec("x", ("n",)), (i,))
>>> z = Add((Apply("exp", x), x), (i,))
>>> [type(node).__name__ for node in postorder(z)]
['Tensor', 'Apply', 'Add']
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .expr import Expr


def fill_bottom_up(root: Expr, known: Callable[[Expr], bool], fill: Callable[[Expr], None]) -> None:
    """Call ``fill`` on ``root`` and every descendant not yet ``known``, children before parents.

    Iterative on purpose: hashes, free indices and cached facts of a chain
    thousands of nodes deep are computed without recursion, each node once.
    """
    stack = [root]
    while stack:
        node = stack[-1]
        missing = [c for c in node.children() if not known(c)]
        if missing:
            stack.extend(missing)
            continue
        stack.pop()
        if not known(node):
            fill(node)


def walk(expr: Expr, enter: Callable[[Expr], bool] = lambda node: True, shown: bool = False) -> Iterator[Expr]:
    """Every distinct sub-expression of ``expr`` (shared nodes once), parents first; the children of a node
    only where ``enter(node)``; ``shown``: the children as printed (`Expr.shown_children()`)."""
    seen: set[int] = set()
    stack = [expr]
    while stack:
        current = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        if enter(current):
            stack.extend(reversed(current.shown_children() if shown else current.children()))


def postorder(expr: Expr) -> Iterator[Expr]:
    """Every distinct sub-expression of ``expr`` (shared nodes once), each after all its children."""
    seen: set[int] = set()
    stack: list[tuple[Expr, bool]] = [(expr, False)]
    while stack:
        current, expanded = stack.pop()
        if expanded:
            yield current
            continue
        if id(current) in seen:
            continue
        seen.add(id(current))
        stack.append((current, True))
        stack.extend((c, False) for c in reversed(current.children()) if id(c) not in seen)
