"""Which dimension each index name of one scope of a text has: from the tensors that carry it, through δs.

>>> import ast
>>> from eincalc.frontend.build import tensors
>>> (W,) = tensors("W[m,n]")
>>> tree = ast.parse("W[i,j] * δ[j,k] * 1[p:q]", mode="eval")
>>> sorted(index_dims({"W": W.spec}, [tree], {}, scoped=()).items())
[('i', {'m'}), ('j', {'n'}), ('k', {'n'}), ('p', {'q'})]
"""

from __future__ import annotations

import ast
from collections.abc import Collection, Iterable, Iterator, Mapping

from ..core.indices import TensorSpec
from .parse_nodes import index_elements, index_name, is_atom, written_dimension


def infer_dimensions(
    pinned: dict[str, set[str]], deltas: list[list[str]], given: Mapping[str, str]
) -> dict[str, set[str]]:
    """The dimensions a reader gives each index name of one scope: those ``pinned`` by tensors (or written,
    ``1[j:n]``), else a δ partner's (``deltas``: the name pairs), else the ``given`` one, else again a δ
    partner's.  The printer calls it too, to write a dimension wherever this inference would miss it."""

    def through_deltas() -> None:
        for _ in deltas:  # enough passes for any chain of deltas
            for pair in deltas:
                known = set().union(*(pinned.get(n, set()) for n in pair))
                pinned.update({n: known for n in pair if known and n not in pinned})

    through_deltas()
    for name, dim in given.items():
        pinned.setdefault(name, {dim})
    through_deltas()
    return pinned


def _scope(roots: Iterable[ast.AST], scoped: Collection[str]) -> Iterator[ast.AST]:
    """The nodes under ``roots``, except those inside the arguments of a call of a ``scoped`` function (a scope
    of their own)."""
    stack = list(roots)
    while stack:
        node = stack.pop()
        yield node
        if not (isinstance(node, ast.Call) and getattr(node.func, "id", None) in scoped):
            stack.extend(ast.iter_child_nodes(node))


def index_dims(
    tensors: Mapping[str, TensorSpec], roots: Iterable[ast.AST], given: dict[str, str], *, scoped: Collection[str]
) -> dict[str, set[str]]:
    """The dimensions each index name has on declared tensors in the scope of ``roots`` (the arguments of a
    ``scoped`` function are not in it), else through a δ beside one, else as ``given``."""
    dims: dict[str, set[str]] = {}
    deltas = []
    for node in _scope(roots, scoped):
        if not isinstance(node, ast.Subscript):
            continue
        elements = index_elements(node.slice)
        names = [index_name(e) for e in elements]
        spec = tensors.get(node.value.id) if isinstance(node.value, ast.Name) else None
        if spec is not None and len(names) == len(spec.dims):
            for name, dim in zip(names, spec.dims, strict=True):
                dims.setdefault(name, set()).add(dim)
        elif spec is None:  # a δ, 1, 0 or a sum's output list may write dimensions
            for element in elements:
                written = written_dimension(element)
                if written is not None:
                    dims.setdefault(index_name(element), set()).add(written)
            if isinstance(node.value, ast.Name) and is_atom(node.value):
                deltas.append(names)
    return infer_dimensions(dims, deltas, given)
