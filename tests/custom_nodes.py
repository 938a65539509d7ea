"""A node kind eincalc has no rules for, made afresh for each test that registers rules on it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from eincalc.core.expr import Expr
from eincalc.core.indices import Index
from eincalc.core.nodes import node, positional_flag
from eincalc.frontend.printing import register_text


def opaque_node(name: str = "Opaque") -> Any:
    """A new node type ``name(arg)`` that keeps its argument's indices and prints as ``name.lower()(…)``.

    It has no derivative, evaluation, matrix or NumPy rule until a test registers one, and a
    fresh type per call keeps one test's registrations out of the others.
    """

    def args(self: Any) -> tuple[Any, ...]:
        return (self.arg,)

    def children(self: Any) -> tuple[Expr, ...]:
        return (self.arg,)

    def compute_free(self: Any) -> tuple[Index, ...]:
        return tuple(self.arg.free)

    namespace = {
        "__annotations__": {"arg": Expr, "positional": bool},
        "positional": positional_flag(),
        "args": args,
        "children": children,
        "_compute_free": compute_free,
    }
    kind: Any = node(type(name, (Expr,), namespace))

    @register_text(kind)
    def text(expr: Any, inner: Callable[[Expr], str]) -> str:
        return f"{name.lower()}({inner(expr.arg)})"

    return kind
