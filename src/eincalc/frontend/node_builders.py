"""The registry of the node kinds that the ops/ plugins define and this layer builds (``x ** t``, ``inv(X)``,
``softmax``, …): each plugin registers its builders when imported, so this layer never imports the plugins.

>>> import eincalc
>>> NODE_BUILDERS.find("inv").__name__
'inv'
"""

from __future__ import annotations

from collections.abc import Callable

from ..core.expr import Expr
from ..core.registry import Registry

NODE_BUILDERS: Registry[str, Callable[..., Expr]] = Registry(
    "builder of a node kind",
    "the ops/ plugins (eincalc.ops.linalg, linalg_build, nn, powers) register theirs when imported (import eincalc "
    "does); a new node kind registers its own (docs/extending.md)",
)
"""The node kinds of the ops/ plugins that this layer's readers and operators build, by name (``tensor power``,
``inv``, ``softmax``, …): each plugin registers its builders, so the layer below never imports it."""
