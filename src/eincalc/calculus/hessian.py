"""Second and higher derivatives: Hessians, Hessian-vector products, their shapes.

The Hessian of a scalar ``f`` with respect to ``x`` is the Jacobian of its
gradient: ``H[P,Q] = ∂(∂f/∂x[P])/∂x[Q]``, with the gradient's indices ``P``
first, then fresh ones ``Q`` for ``x``'s axes.  For a vector ``x`` it is a
matrix (``xᵀAx → A + Aᵀ``); for a matrix ``x`` it is a rank-4 tensor, which has
no matrix form: it stays in index form, where evaluation contracts its factors
directly (``2 δ[p,r] δ[q,s]`` costs one pass over the result, never more).
Applying ``jacobian`` again gives third derivatives.

`hvp()` multiplies the Hessian by a direction ``v`` without forming it:
it differentiates the scalar ``⟨∇f, v⟩`` once more, so every intermediate
keeps the size of ``x``.

>>> import eincalc as ec
>>> x, A = ec.tensors("x[n] A[n,n]")
>>> H = hessian(x @ A @ x, x)
>>> print(H, "=", ec.to_matrix(H).text)
A[p,q] + (A[q,p])[p,q] = A + Aᵀ
>>> X = ec.tensors("X[m,n]")[0]
>>> print(describe(hessian(ec.trace(X.T @ X), X)))
2 (δ[p,r] δ[q,s])[p,q,r,s]: rank 4, shape m × n × m × n (no matrix form; ec.hvp gives H·V without forming H)
"""

from __future__ import annotations

from ..core.errors import NoMatrixForm, ShapeError
from ..core.expr import Expr
from ..core.names import fresh_indices, index_names, rename
from ..core.nodes import Contract
from ..frontend.build import as_expr
from ..matrix.view import to_matrix
from .diff import grad, jacobian


def hessian(f: Expr, x: Expr) -> Expr:
    """``∂²f/∂x∂x`` for a scalar ``f``: a matrix for a vector ``x``, rank 4 for a matrix ``x``."""
    return jacobian(grad(f, x), x)


def hvp(f: Expr, x: Expr, v: Expr) -> Expr:
    """The Hessian of the scalar ``f`` applied to the direction ``v`` (shaped like ``x``), never forming it.

    >>> import eincalc as ec
    >>> x, A, v = ec.tensors("x[n] A[n,n] v[n]")
    >>> print(ec.to_matrix(hvp(x @ A @ x, x, v)).text)
    (A + Aᵀ) v
    """
    gradient, v = grad(f, x), as_expr(v, "the direction v")
    if v.shape != gradient.shape:
        raise ShapeError(
            f"direction {v} has shape ({', '.join(v.shape)}) but {x} has shape "
            f"({', '.join(gradient.shape)}); v must be shaped like the variable"
        )
    apart = fresh_indices(v.free, index_names(v) | index_names(gradient), pool="ABCDEFGHIJKLMNOP")
    aligned = rename(rename(v, dict(zip(v.free, apart, strict=True))), dict(zip(apart, gradient.free, strict=True)))
    return grad(Contract((gradient, aligned), ()), x)


def describe(h: Expr) -> str:
    """The matrix form of a Hessian (or any derivative) when it has one, else its index form and shape."""
    try:
        return to_matrix(h).text
    except NoMatrixForm:
        shape = " × ".join(h.shape)
        hint = "; ec.hvp gives H·V without forming H" if h.rank == 4 else ""
        return f"{h}: rank {h.rank}, shape {shape} (no matrix form{hint})"
