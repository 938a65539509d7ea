"""Matrix-calculus builders that need no node kind of their own: norms, diagonals, Kronecker
products and matrix powers, each an einsum (with functions) whose derivatives follow from
the core rules.

* ``norm(x) = sqrt(xᵀx)`` (the 2-norm of a vector; ``∂‖x‖/∂x = x/‖x‖``);
* ``frobenius(X) = sqrt(tr(XᵀX))`` (``∂‖X‖_F/∂X = X/‖X‖_F``);
* ``diag(v)[i,j] = v[i] δ[i,j]`` and ``diagonal(X)[i] = X[i,i]``;
* ``kron(A, B)[i,k,j,l] = A[i,j] B[k,l]``: the Kronecker product with its axes
  kept apart (rows of A, rows of B, columns of A, columns of B), so that
  reshaping the value to ``(m·p, n·q)`` gives ``np.kron(A, B)``;
* ``matrix_power(X, k) = X @ … @ X`` (``X⁰ = I``, negative ``k`` powers ``X⁻¹``), by repeated squaring.

All take matrix-style operands (bare tensors and expressions built with ``@``).

>>> import eincalc as ec
>>> x = ec.tensors("x[n]")[0]
>>> print(norm(x), "|", ec.to_matrix(ec.grad(norm(x), x)).text)
sqrt(x[i] x[i]) | x / ‖x‖
"""

from __future__ import annotations

import numbers

from ..core.errors import IndexMismatch, ShapeError, UnsupportedError, count
from ..core.expr import Expr
from ..core.limits import check_count, check_tree_size, describe
from ..core.names import fresh_indices, index_names, rename
from ..core.nodes import Apply, Const, Contract, Delta
from ..core.traversal import postorder
from ..frontend.axes import diagonal_of
from ..frontend.build import Operand, as_expr, matmul
from ..frontend.node_builders import NODE_BUILDERS
from ..frontend.parse import Call as ParseCall
from ..frontend.parse import fixed_arity, register_parse_function
from ..frontend.styles import tidy
from .linalg import inv


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
    """The Euclidean (2-)norm ``‖x‖ = sqrt(xᵀx)`` of a vector; for a matrix use `frobenius()`."""
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
    """``X`` multiplied by itself ``k`` times (``k = 0``: the identity; ``k < 0``: powers of ``X⁻¹``).

    Built by repeated squaring (``X¹³ = X X⁴ X⁸``, ``X⁸ = X⁴ X⁴``): a balanced product of depth
    O(log k), built with O(log k) products, whose evaluation computes each square once, O(log k)
    matrix products (evaluation shares operations that are equal up to index names).  Each square
    is renamed apart where it is used twice, so written out ``Xᵏ`` is still ``k`` factors, and
    simplification flattens its derivative ``Σⱼ Xʲ dX Xᵏ⁻¹⁻ʲ`` into ``k`` terms of ``k − 1`` factors:
    so ``|k|`` times the factors of ``X`` is checked against ``max_matrix_power`` and the written-out
    size against ``max_tree_nodes`` before anything is built (see `eincalc.core.limits`).

    >>> import eincalc as ec
    >>> A, = ec.tensors("A[n,n]")
    >>> print(ec.to_matrix(matrix_power(A, 3)).text, "|", ec.to_matrix(ec.grad(ec.trace(matrix_power(A, 3)), A)).text)
    A A A | 3 Aᵀ Aᵀ
    """
    expr = _matrix_style("matrix_power", as_expr(x), (2,))
    if expr.shape[0] != expr.shape[1]:
        raise ShapeError(f"matrix_power needs a square matrix; {expr} has shape ({', '.join(expr.shape)})")
    if isinstance(k, bool) or not isinstance(k, numbers.Integral):
        raise UnsupportedError(f"matrix_power takes an integer power, not {k!r}")
    if k == 0:
        row, column = expr.free
        return tidy(Delta(row, column))
    factors = _leaves(expr)

    def call() -> str:
        return f"matrix_power({describe(expr)}, {count(int(k))})"

    why = (
        f"X^k is k copies of X ({factors} factor(s) each), and its derivative k terms of as many factors, "
        "that simplifying and printing walk; for a large power of a matrix of numbers use np.linalg.matrix_power."
    )
    check_count("max_matrix_power", abs(int(k)) * factors, call, why)
    base = expr if k > 0 else inv(expr)
    check_tree_size(abs(int(k)) * (base.tree_size + 1), call, why)
    return _by_squaring(base, abs(int(k)))


def _leaves(expr: Expr) -> int:
    """How many tensors, deltas and other leaves ``expr`` has when written out (``A @ B``: 2)."""
    leaves: dict[int, int] = {}
    for node in postorder(expr):
        leaves[id(node)] = sum(leaves[id(c)] for c in node.children()) if node.children() else 1
    return leaves[id(expr)]


def _by_squaring(base: Expr, k: int) -> Expr:
    """``base`` to the whole power ``k ≥ 1`` as a product of the squares ``base^(2^j)`` that ``k``'s bits select."""
    result: Expr | None = None
    square = base
    while True:
        if k & 1:
            result = square if result is None else matmul(result, square)
        k >>= 1
        if not k:
            assert result is not None
            return result
        square = matmul(square, square)


def _parse_power(call: ParseCall) -> Expr:
    call.arity(2)
    power = call.expr(1)
    if not isinstance(power, Const) or not float(power.value).is_integer():
        raise UnsupportedError(f"matrix_power takes an integer power, like matrix_power(X, 3), not {power}")
    return matrix_power(call.expr(0), int(power.value))


for _name, _builder in {
    "norm": fixed_arity(norm, 1),
    "frobenius": fixed_arity(frobenius, 1),
    "diag": fixed_arity(diag, 1),
    "diagonal": fixed_arity(diagonal, 1),
    "kron": fixed_arity(kron, 2),
    "matrix_power": _parse_power,
}.items():
    register_parse_function(_name, _builder)
NODE_BUILDERS.update(
    {
        "norm": norm,
        "frobenius": frobenius,
        "diag": diag,
        "diagonal": diagonal,
        "matrix_power": matrix_power,
    }
)
