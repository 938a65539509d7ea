"""The two building styles apart: which style an operation is in (matrix style: positional axes; index style:
named ones), matrix-style operands aligned NumPy-style, a matrix-style result's indices named by position, and
the shape messages when operands do not fit.

>>> from eincalc.frontend.build import tensors
>>> W, a = tensors("W[m,n] a[n]")
>>> matrix_style(W, a), matrix_style(W["i", "j"], a["j"]), shape_text(W)
(True, False, '(m, n)')
"""

from __future__ import annotations

from ..core.errors import IndexMismatch, ShapeError
from ..core.expr import Expr
from ..core.indices import Index
from ..core.names import fresh_indices, positional_names, rename, with_positional
from ..core.nodes import Tensor


def matrix_style(*operands: Expr) -> bool:
    """True when the operation is matrix style; raise if styles are mixed."""
    ranked = [e for e in operands if e.free]
    if all(e.positional for e in ranked):
        return True
    if not any(e.positional for e in ranked):
        return False
    positional = next(e for e in ranked if e.positional)
    indexed = next(e for e in ranked if not e.positional)
    raise IndexMismatch(
        f"cannot combine matrix-style {positional} (shape {shape_text(positional)}) with index-style "
        f"{indexed}; index both (e.g. W[i, j]) or neither"
    )


def require_positional(op: str, *operands: Expr) -> None:
    """Raise unless every operand with axes is matrix style: ``op`` takes no index-style operand."""
    for e in operands:
        if e.free and not e.positional:
            raise IndexMismatch(f"{op} takes matrix-style operands; {e} is index-style (drop its indices)")


def shape_text(expr: Expr) -> str:
    """The shape of ``expr`` as messages print it: ``(m, n)``."""
    return "(" + ", ".join(expr.shape) + ")"


def tidy(expr: Expr) -> Expr:
    """Name a matrix-style result's indices ``i, j, …`` by position (its summed ones follow, by construction).

    One renaming of the free indices: the operands are never re-canonicalised, nodes are canonical already.
    """
    final = tuple(Index(name, k.dim) for name, k in zip(positional_names(expr.rank), expr.free, strict=True))
    return with_positional(rename(expr, dict(zip(expr.free, final, strict=True))), True)


def apart(left: Expr, right: Expr) -> tuple[Expr, Expr]:
    """Rename ``right``'s free indices so that they share no name with ``left``'s (renaming never captures)."""
    used = {k.name for k in left.free} | {k.name for k in right.free}
    new = fresh_indices(right.free, used, pool="ABCDEFGHIJKLMNOPQRSTUVWXYZ")
    return left, rename(right, dict(zip(right.free, new, strict=True)))


def broadcast(left: Expr, right: Expr, op: str) -> tuple[Expr, Expr, tuple[Index, ...]]:
    """Align two positional operands NumPy-style: trailing axes identified."""
    written = f"{left} of shape {shape_text(left)} and {right} of shape {shape_text(right)}"  # before renaming
    left, right = apart(left, right)
    longer, shorter = (left, right) if left.rank >= right.rank else (right, left)
    offset = longer.rank - shorter.rank
    mapping: dict[Index, Index] = {}
    for position, k in enumerate(shorter.free):
        target = longer.free[offset + position]
        if k.dim != target.dim:
            raise ShapeError(
                f"cannot {op} {written}: dimension {target.dim} meets {k.dim} (NumPy broadcasting aligns trailing axes)"
            )
        mapping[k] = target
    shorter = rename(shorter, mapping)
    pair = (longer, shorter) if longer is left else (shorter, longer)
    return pair[0], pair[1], longer.free


def unchained(a: Expr, b: Expr) -> str:
    """Why ``a @ b`` has no meaning, and the transpose that gives it one, if any."""
    left, right = (e.spec.name if isinstance(e, Tensor) and e.positional else f"({e})" for e in (a, b))
    message = (
        f"{left} @ {right}: shapes {shape_text(a)} and {shape_text(b)} do not chain; inner dimensions "
        f"{a.free[-1].dim} and {b.free[0].dim} differ (the last axis of {left} must be the first of {right})"
    )
    if b.rank == 2 and b.free[1].dim == a.free[-1].dim:
        return f"{message}; did you mean {left} @ {right}.T?"
    if a.rank == 2 and a.free[0].dim == b.free[0].dim:
        return f"{message}; did you mean {left}.T @ {right}?"
    return message
