"""Matrix-calculus builders that need no node kind of their own: norms, diagonals, Kronecker
products and matrix powers, each an einsum (with functions) whose derivatives follow from
the core rules.

* ``norm(x) = sqrt(xᵀx)`` (the 2-norm of a vector; ``∂‖x‖/∂x = x/‖x‖``);
* ``frobenius(X) = sqrt(tr(XᵀX))`` (``∂‖X‖_F/∂X = X/‖X‖_F``);
* ``diag(v)[i,j] = v[i] δ[i,j]`` and ``diagonal(X)[i] = X[i,i]``;
* ``kron(A, B)[i,k,j,l] = A[i,j] B[k,l]``: the Kronecker product with its axes
  kept apart (rows of A, rows of B, columns of A, columns of B), so that
  reshaping the value to ``(m·p, n·q)`` gives ``np.kron(A, B)``;
* ``matrix_power(X, k) = X @ … @ X`` (``X⁰ = I``, negative ``k`` powers ``X⁻¹``).

All take matrix-style operands (bare tensors and expressions built with ``@``).

>>> import eincalc as ec
>>> x = ec.tensors("x[n]")[0]
>>> print(norm(x), "|", ec.to_matrix(ec.grad(norm(x), x)).text)
sqrt(x[i] x[i]) | (xᵀ x)^-0.5 x
"""

from __future__ import annotations

import functools

from .build import Operand, as_expr, diagonal_of, matmul, tidy
from .errors import IndexMismatch, ShapeError, UnsupportedError
from .expr import Apply, Const, Contract, Delta, Expr
from .linalg import inv
from .names import fresh_indices, index_names, rename
from .parse import Call as ParseCall
from .parse import _fixed, register_parse_function


def _matrix_style(op: str, expr: Expr, ranks: tuple[int, ...], hint: str = "") -> Expr:
    if expr.free and not expr.positional:
        raise IndexMismatch(f"{op} takes matrix-style operands; {expr} is index-style (drop its indices)")
    if expr.rank not in ranks:
        wanted = " or ".join(("a scalar", "a vector", "a matrix")[r] for r in ranks)
        raise ShapeError(f"{op} takes {wanted}; {expr} has shape ({', '.join(expr.shape)}){hint}")
    return expr


def _sum_of_squares(op: str, value: Operand, rank: int, hint: str = "") -> Expr:
    expr = _matrix_style(op, as_expr(value), (rank,), hint)
    return Apply("sqrt", Contract((expr, expr), ()), positional=True)


def norm(x: Operand) -> Expr:
    """The Euclidean (2-)norm ``‖x‖ = sqrt(xᵀx)`` of a vector; for a matrix use :func:`frobenius`."""
    return _sum_of_squares("norm", x, 1, "; for a matrix use ec.frobenius (the spectral norm has no rule)")


def frobenius(x: Operand) -> Expr:
    """The Frobenius norm ``‖X‖_F = sqrt(Σ X[i,j]²)`` of a matrix."""
    return _sum_of_squares("frobenius", x, 2)


def diag(v: Operand) -> Expr:
    """The diagonal matrix with ``v`` on its diagonal (``diag(v)[i,j] = v[i] δ[i,j]``)."""
    vector = _matrix_style("diag", as_expr(v), (1,))
    (i,) = vector.free
    (j,) = fresh_indices((i,), index_names(vector))
    return tidy(Contract((vector, Delta(i, j)), (i, j)))


def diagonal(x: Operand) -> Expr:
    """The diagonal of a square matrix as a vector (``X[i,i]``)."""
    return tidy(diagonal_of(_matrix_style("diagonal", as_expr(x), (2,))))


def kron(a: Operand, b: Operand) -> Expr:
    """Kronecker product of two vectors (a matrix, axes ``[i,k]``) or two matrices (axes ``[i,k,j,l]``)."""
    left, right = as_expr(a), as_expr(b)
    _matrix_style("kron", left, (1, 2))
    _matrix_style("kron", right, (left.rank,))
    apart = fresh_indices(right.free, index_names(left) | index_names(right), pool="ABCDEFGHIJKLMNOP")
    right = rename(right, dict(zip(right.free, apart, strict=True)))
    out = tuple(k for pair in zip(left.free, right.free, strict=True) for k in pair)
    return tidy(Contract((left, right), out))


def matrix_power(x: Operand, k: int) -> Expr:
    """``X`` multiplied by itself ``k`` times (``k = 0``: the identity; ``k < 0``: powers of ``X⁻¹``)."""
    expr = _matrix_style("matrix_power", as_expr(x), (2,))
    if expr.shape[0] != expr.shape[1]:
        raise ShapeError(f"matrix_power needs a square matrix; {expr} has shape ({', '.join(expr.shape)})")
    if isinstance(k, bool) or not isinstance(k, int):
        raise UnsupportedError(f"matrix_power takes an integer power, not {k!r}")
    if k == 0:
        row, column = expr.free
        return tidy(Delta(row, column))
    base = expr if k > 0 else inv(expr)
    return functools.reduce(matmul, [base] * abs(k))


def _parse_power(call: ParseCall) -> Expr:
    call.arity(2)
    power = call.expr(1)
    if not isinstance(power, Const) or not float(power.value).is_integer():
        raise UnsupportedError(f"matrix_power takes an integer power, like matrix_power(X, 3), not {power}")
    return matrix_power(call.expr(0), int(power.value))


for _name, _builder in {
    "norm": _fixed(norm, 1), "frobenius": _fixed(frobenius, 1), "diag": _fixed(diag, 1),
    "diagonal": _fixed(diagonal, 1), "kron": _fixed(kron, 2), "matrix_power": _parse_power,
}.items():
    register_parse_function(_name, _builder)
