"""Addressing an expression's axes: choosing them by position or index name (``axis=``) and summing over the
chosen ones, naming them by index labels (``X[i, j]``) with a repeated label taking the diagonal, and the
diagonal of a square matrix.

>>> from eincalc.frontend.build import tensors
>>> X, = tensors("X[m,m]")
>>> axis_index(X, -1), [str(k) for k in axis_labels(X, ("a", "a"))], str(diagonal_of(X))
(Index(name='j', dim='m'), ['a', 'a'], 'X[i,i]')
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from ..core.arguments import require_axes, require_axis
from ..core.errors import IndexMismatch, ShapeError
from ..core.expr import Expr
from ..core.indices import Index
from ..core.names import fresh_indices, rename
from ..core.nodes import Contract, Delta, Tensor
from .declare import NAME
from .styles import shape_text, tidy


def axis_indices(expr: Expr, axis: int | str | Sequence[int | str] | None) -> tuple[Index, ...]:
    """The free indices of ``expr`` that ``axis`` chooses, in the order of ``expr``'s axes: all of them for
    ``None``.  Every reduction (sum, mean, …) reduces exactly these, so what it sums and what it counts
    are one lookup.  A matrix-style expression's axes are named ``i, j, …`` by position.

    >>> from eincalc.frontend.build import tensors
    >>> X, = tensors("X[m,n]")
    >>> [(k.name, k.dim) for k in axis_indices(X, 0)], [k.dim for k in axis_indices(X["a", "b"], ["b", -2])]
    ([('i', 'm')], ['m', 'n'])
    """
    if axis is None:
        return expr.free
    chosen = [axis_index(expr, a) for a in require_axes(axis)]
    twice = [k for k, count in Counter(chosen).items() if count > 1]
    if twice:
        raise IndexMismatch(
            f"axis={axis!r} names axis {expr.free.index(twice[0])} ({twice[0]}) of {expr} twice; name each axis once"
        )
    return tuple(k for k in expr.free if k in chosen)


def reduce_over(expr: Expr, summed: Sequence[Index], weights: Sequence[Expr] = ()) -> Expr:
    """``Σ`` over the free indices ``summed`` of ``expr`` times the scalar ``weights`` (a mean's 1/size);
    a matrix-style result has its remaining axes renamed ``i, j, …`` by position."""
    if not summed and not weights:
        return expr
    out = tuple(k for k in expr.free if k not in summed)
    result = Contract((*weights, expr), out, positional=expr.positional)
    return tidy(result) if expr.positional else result


def axis_index(expr: Expr, axis: int | str) -> Index:
    """The free index of ``expr`` at position ``axis``, or named ``axis``."""
    axis = require_axis(axis)
    if isinstance(axis, str):
        for k in expr.free:
            if k.name == axis:
                return k
        raise IndexMismatch(f"{expr} has no free index {axis!r}; its indices are {[str(k) for k in expr.free]}")
    if not -expr.rank <= axis < expr.rank:
        raise ShapeError(f"axis {axis} is out of range for {expr} of shape {shape_text(expr)}")
    return expr.free[axis]


def axis_labels(expr: Expr, names: Any) -> tuple[Index, ...]:
    """The indices ``names`` gives ``expr``'s axes; a repeated name must label axes of one dimension."""
    raw = names if isinstance(names, tuple) else (names,)
    wanted = [k.name if isinstance(k, Index) else k for k in raw]
    for name in wanted:
        if not isinstance(name, str) or not NAME.match(name):
            raise IndexMismatch(f"index {name!r} of {expr} is not a name; write e.g. W['i', 'j']")
    if len(wanted) != expr.rank:
        raise IndexMismatch(
            f"{expr} has {expr.rank} axes ({', '.join(expr.shape) or 'a scalar'}) "
            f"but {len(wanted)} indices were given: [{', '.join(wanted)}]"
        )
    labels = tuple(Index(name, dim) for name, dim in zip(wanted, expr.shape, strict=True))
    first: dict[str, Index] = {}
    for position, label in enumerate(labels):
        earlier = first.setdefault(label.name, label)
        if earlier.dim != label.dim:
            raise IndexMismatch(
                f"index {label.name} names axis {wanted.index(label.name)} (dimension {earlier.dim}) and axis "
                f"{position} (dimension {label.dim}) of {expr}; a repeated index takes a diagonal, which needs "
                "axes of one dimension"
            )
    return labels


def diagonal_labels(expr: Expr, labels: Sequence[Index]) -> Expr:
    """``expr`` with its free indices renamed to ``labels``; where a label repeats, the diagonal.

    A repeated label is given a temporary name tied to its first occurrence by a Kronecker delta
    that is summed: ``(A @ B)[j,j]`` is ``Σ_k (A @ B)[j,k] δ[j,k]``.
    """
    temporaries = iter(fresh_indices(labels, {k.name for k in expr.free} | {k.name for k in labels}))
    first: dict[str, Index] = {}
    targets: list[Index] = []
    deltas: list[Expr] = []
    for label, temporary in zip(labels, temporaries, strict=True):
        if label.name in first:
            deltas.append(Delta(first[label.name], temporary))
            targets.append(temporary)
        else:
            first[label.name] = label
            targets.append(label)
    renamed = rename(expr, dict(zip(expr.free, targets, strict=True)))
    return Contract((renamed, *deltas), tuple(first.values())) if deltas else renamed


def diagonal_of(expr: Expr) -> Expr:
    """The diagonal of a square matrix expression, as a vector over its first index."""
    if expr.rank != 2 or expr.shape[0] != expr.shape[1]:
        raise ShapeError(f"{expr} has shape {shape_text(expr)}; the diagonal needs a square matrix")
    i, j = expr.free
    if isinstance(expr, Tensor):
        return Tensor(expr.spec, tuple(i if k == j else k for k in expr.indices), positional=expr.positional)
    return Contract((expr, Delta(i, j)), (i,), positional=expr.positional)
