"""Matrix functions: inverse, determinant and log-determinant, with every rule they need.

One node kind, `MatrixFunction`, covers the three.  Its ``body`` is a
square matrix expression whose two free indices are always named ``i, j``
(a scope of its own, like a named intermediate); ``indices`` label the axes of
the result at this reference, so renaming never reaches into the body.  A
repeated label (``inv(X)[a,a]``) reads the diagonal, as ``X[a,a]`` does.

Derivative rules, in index form (``Y = X⁻¹``):

* ``∂Y[a,b] = −Y[a,c] ∂X[c,d] Y[d,b]``              (``dX⁻¹ = −X⁻¹ dX X⁻¹``);
* ``∂det X = det X · Y[d,c] ∂X[c,d]``              (``∂det X/∂X = det(X) X⁻ᵀ``);
* ``∂logdet X = Y[d,c] ∂X[c,d]``                    (``∂logdet X/∂X = X⁻ᵀ``).

``logdet X`` is ``log |det X|``: it equals ``log det X`` wherever that is
defined (SPD matrices, say) and has the gradient ``X⁻ᵀ`` at every invertible X.

Symmetric arguments (``ec.tensors("S[n,n]", symmetric="S")``) follow the
convention of `eincalc.calculus.diff`: the gradient with respect to ``S`` is the
symmetric matrix ``sym(G) = (G + Gᵀ)/2``, where ``G`` is the gradient that
treats all n² entries as independent.  It is the gradient in the Frobenius
inner product restricted to symmetric matrices (``f(S + V) ≈ f(S) + ⟨∇f, V⟩``
for every symmetric ``V``), it does not depend on how ``f`` is written (``S[i,j]``
or ``S[j,i]``), so the simplifier may use ``Sᵀ = S``, and a gradient step keeps
``S`` symmetric.  The derivative with respect to the n(n+1)/2 independent
entries ``S[i,j], i ≤ j`` is ``2∇f − diag(∇f)`` (off-diagonal entries occur
twice).  So ``∂ logdet S/∂S = S⁻¹``.

>>> import eincalc as ec
>>> X = ec.tensors("X[n,n]")[0]
>>> print(ec.grad(logdet(X), X), "=", ec.to_matrix(ec.grad(logdet(X), X)).text)
(inv(X[q,p]))[p,q] = X⁻ᵀ
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any, ClassVar

import numpy as np
import opt_einsum

from ..calculus.diff import Forward, register_jacobian, register_vjp
from ..calculus.simplify import Rule, register_rule
from ..core.errors import DomainError, IndexMismatch, ShapeError, UnsupportedError
from ..core.expr import Expr
from ..core.indices import Index
from ..core.names import fresh_indices, index_names, rename
from ..core.nodes import Add, Apply, Const, Contract, Delta, Tensor, node, positional_flag
from ..frontend.build import Operand, as_expr
from ..frontend.node_builders import NODE_BUILDERS
from ..frontend.parse import fixed_arity, register_parse_function
from ..frontend.printing import LatexPrinter, TextPrinter, register_latex, register_text
from ..matrix.tree import Call, DiagPart, MatrixExpr, Symbol
from ..matrix.view import Converter, Term, register_matrix_rule
from ..numeric.evaluate import EvalContext, register_evaluator

MATRIX_FUNCTIONS = {"inv": 2, "det": 0, "logdet": 0}
"""Each matrix function and the rank of its result."""

BODY_NAMES = ("i", "j")
"""Names of the body's two free indices (never drawn as fresh derivative indices)."""


@node
class MatrixFunction(Expr):
    """``inv``, ``det`` or ``logdet`` of the square matrix ``body`` (free indices ``i, j``).

    ``indices`` label the result's axes (two for ``inv``, none otherwise).
    """

    holds_diagonal: ClassVar[bool] = True
    opens_scope: ClassVar[bool] = True
    fn: str
    body: Expr
    indices: tuple[Index, ...] = ()
    positional: bool = positional_flag()

    def __post_init__(self) -> None:
        if self.fn not in MATRIX_FUNCTIONS:
            raise UnsupportedError(f"unknown matrix function {self.fn!r}; known: {', '.join(MATRIX_FUNCTIONS)}")
        names = tuple(k.name for k in self.body.free)
        if names != BODY_NAMES or len(set(self.body.shape)) != 1:
            raise IndexMismatch(
                f"the body of {self.fn} must be a square matrix over (i, j), not {self.body} "
                f"over ({', '.join(names)}); build it with ec.{self.fn}"
            )
        if len(self.indices) != MATRIX_FUNCTIONS[self.fn] or any(k.dim != self.body.shape[0] for k in self.indices):
            raise IndexMismatch(f"{self.fn}({self.body}) cannot be labelled [{', '.join(map(str, self.indices))}]")

    def args(self) -> tuple[Any, ...]:
        return (self.fn, self.body, self.indices)

    def children(self) -> tuple[Expr, ...]:
        return (self.body,)

    def map_children(self, fn: Callable[[Expr], Expr]) -> Expr:
        return replace(self, body=fn(self.body))

    def rename_with(self, mapping: Mapping[Index, Index]) -> Expr:
        """Relabel the result's axes; the body keeps its own names."""
        return replace(self, indices=tuple(mapping.get(k, k) for k in self.indices))

    def _compute_free(self) -> tuple[Index, ...]:
        return tuple(dict.fromkeys(self.indices))

    def shown_body(self) -> Expr:
        """The body as the text shows it: over the result's labels (``inv(X)[p,q]`` prints ``inv(X[p,q])``), a
        diagonal's second label a partner named from the first (``a, a_``); ``det`` and ``logdet`` keep ``i, j``.

        >>> import eincalc as ec
        >>> A = ec.tensors("A[m,m]")[0]
        >>> ec.inv(A)["p", "q"].shown_body()
        <Tensor A[p,q]>
        """
        if not self.indices:
            return self.body
        first, second = self.indices
        if first == second:
            partner = f"{first.name}_"
            (second,) = (
                (Index(partner, first.dim),)
                if partner not in index_names(self.body)
                else fresh_indices((first,), index_names(self.body) | {first.name})
            )
        return _relabel_body(self.body, first, second)

    def shown_children(self) -> tuple[Expr, ...]:
        return (self.shown_body(),)


@register_text(MatrixFunction)
def _matrix_function_text(node: MatrixFunction, inner: TextPrinter) -> str:
    body = node.shown_body()
    if not node.indices:
        return f"{node.fn}({inner.scope(body)})"
    first, second = node.indices
    if first != second:
        return f"inv({inner.scope(body)})"
    # the diagonal: a partner name made from the label, so that it has the label's dimension wherever it is read
    return f"(inv({inner.scope(body)}) {inner(Delta(first, body.free[1]))})[{first}]"


@register_latex(MatrixFunction)
def _matrix_function_latex(node: MatrixFunction, inner: LatexPrinter) -> str:
    body = inner(node.body)
    if node.fn != "inv":
        return _SPELLING[node.fn][1].format(body)
    labels = "".join(k.name for k in node.indices)
    return rf"\left[\left({body}\right)^{{-1}}\right]_{{{labels}}}"


def _relabel_body(body: Expr, first: Index, second: Index) -> Expr:
    i, j = body.free
    return rename(body, {i: first, j: second})


# -- building ------------------------------------------------------------------------------------


def _square(expr: Expr, fn: str) -> None:
    if expr.rank != 2 or expr.shape[0] != expr.shape[1]:
        raise ShapeError(f"{fn} needs a square matrix; {expr} has shape ({', '.join(expr.shape)})")


def matrix_function(fn: str, value: Operand) -> Expr:
    """``fn`` (``inv``, ``det`` or ``logdet``) of a square matrix, in matrix or index style."""
    expr = as_expr(value)
    _square(expr, fn)
    dim = expr.shape[0]
    temporary = fresh_indices(expr.free, index_names(expr) | set(BODY_NAMES), pool="ABCDEFGH")
    staged = rename(expr, dict(zip(expr.free, temporary, strict=True)))
    body = rename(staged, {t: Index(name, dim) for t, name in zip(temporary, BODY_NAMES, strict=True)})
    labels = expr.free if MATRIX_FUNCTIONS[fn] else ()
    return MatrixFunction(fn, body, labels, positional=expr.positional)


def inv(value: Operand) -> Expr:
    """The inverse ``X⁻¹`` of a square matrix (``inv(X)[i,j]`` in index style)."""
    return matrix_function("inv", value)


def det(value: Operand) -> Expr:
    """The determinant of a square matrix."""
    return matrix_function("det", value)


def logdet(value: Operand) -> Expr:
    """``log |det X|`` of a square matrix (``log det X`` wherever ``det X > 0``)."""
    return matrix_function("logdet", value)


# -- derivative rules -----------------------------------------------------------------------------


def _pair(node: MatrixFunction, *avoid: Expr, taken: Sequence[Index] = ()) -> tuple[Index, Index]:
    """Two fresh indices of the body's dimension, unused by ``avoid``, ``taken`` and the body."""
    used = set().union(*(index_names(e) for e in avoid)) | {k.name for k in taken} | set(BODY_NAMES)
    c, d = fresh_indices(node.body.free, used)
    return c, d


def _inverse(node: MatrixFunction, first: Index, second: Index) -> MatrixFunction:
    return MatrixFunction("inv", node.body, (first, second))


@register_jacobian(MatrixFunction)
def _matrix_function_jacobian(node: Expr, d: Forward) -> Expr:
    assert isinstance(node, MatrixFunction)
    inner = d(node.body)
    c, e = _pair(node, inner, taken=node.indices + d.fresh)
    i, j = node.body.free
    change = rename(inner, {i: c, j: e})  # ∂X[c,e]/∂θ[P]
    out = node.free + d.fresh
    if node.fn == "inv":
        a, b = node.indices
        return Contract((Const(-1.0), _inverse(node, a, c), change, _inverse(node, e, b)), out)
    factors: tuple[Expr, ...] = (_inverse(node, e, c), change)
    return Contract((node, *factors) if node.fn == "det" else factors, out)


@register_vjp(MatrixFunction)
def _matrix_function_vjp(node: Expr, ct: Expr) -> list[tuple[Expr, Expr]]:
    assert isinstance(node, MatrixFunction)
    i, j = node.body.free
    if node.fn != "inv":  # ct is a scalar
        factors: tuple[Expr, ...] = (ct, _inverse(node, j, i))
        return [(node.body, Contract((node, *factors) if node.fn == "det" else factors, (i, j)))]
    a, b = node.indices
    apart_a, apart_b = _pair(node, ct)
    if a == b:
        apart_b = apart_a
    moved = rename(ct, {a: apart_a, b: apart_b})  # ct away from the body's names
    factors = (Const(-1.0), _inverse(node, apart_a, i), moved, _inverse(node, j, apart_b))
    return [(node.body, Contract(factors, (i, j)))]


# -- simplification: symmetric matrices, powers, inverses ----------------------------------------------


def _symmetric_order(labels: tuple[Index, ...], out: tuple[Index, ...]) -> tuple[Index, ...]:
    """The canonical order of a symmetric matrix's two indices: output indices first, then by name."""

    def key(k: Index) -> tuple[int, str]:
        return (out.index(k), "") if k in out else (len(out), k.name)

    return tuple(sorted(labels, key=key))


def _symmetric_factor(part: Expr, out: tuple[Index, ...]) -> Expr:
    if isinstance(part, Tensor) and part.spec.symmetric and len(set(part.indices)) == 2:
        return replace(part, indices=_symmetric_order(part.indices, out))
    if isinstance(part, MatrixFunction) and part.fn == "inv" and _symmetric_body(part) and len(part.free) == 2:
        return replace(part, indices=_symmetric_order(part.indices, out))
    return part


def _symmetric_body(part: MatrixFunction) -> bool:
    body = part.body
    return isinstance(body, Tensor) and body.spec.symmetric


def _canonical_symmetric(expr: Expr) -> Expr | None:
    """``S[j,i] → S[i,j]`` (and ``S⁻¹``) inside a product or a sum, where axes match by name."""
    assert isinstance(expr, Contract | Add)
    parts = expr.factors if isinstance(expr, Contract) else expr.terms
    ordered = tuple(_symmetric_factor(p, expr.out) for p in parts)
    if ordered == parts:
        return None
    kind = Contract if isinstance(expr, Contract) else Add
    return kind(ordered, expr.out, positional=expr.positional)


def _power_of(factor: Expr) -> tuple[Expr, float]:
    """``factor`` as ``base ** exponent``: ``sqrt(u) = u ** 0.5`` and ``(u ** a) ** k = u ** (a k)``.

    Only an integer outer power is pushed inside: ``sqrt(u ** 2)`` is ``|u|``, not ``u``.
    """
    if isinstance(factor, Apply) and factor.fn in ("pow", "sqrt"):
        exponent = 0.5 if factor.fn == "sqrt" else float(factor.param if factor.param is not None else 1.0)
        base, inner = _power_of(factor.arg) if exponent.is_integer() else (factor.arg, 1.0)
        return base, inner * exponent
    return factor, 1.0


def _merge_powers(expr: Expr) -> Expr | None:
    """``u**a u**b = u**(a+b)`` for scalar factors with one base (they agree wherever both sides are defined)."""
    assert isinstance(expr, Contract)
    groups: dict[Expr, list[tuple[Expr, float]]] = {}
    for factor in expr.factors:
        if not factor.free and not isinstance(factor, Const):
            base, exponent = _power_of(factor)
            groups.setdefault(base, []).append((factor, exponent))
    for base, members in groups.items():
        if len(members) > 1:
            merged = [f for f in expr.factors if f not in {m for m, _ in members}]
            total = sum(exponent for _, exponent in members)
            power: list[Expr] = [] if total == 0.0 else [base if total == 1.0 else Apply("pow", base, total)]
            return Contract((Const(1.0), *power, *merged), expr.out, positional=expr.positional)
    return None


def _inverse_of_inverse(expr: Expr) -> Expr | None:
    """``(X⁻¹)⁻¹ = X``."""
    assert isinstance(expr, MatrixFunction)
    inner = expr.body
    if expr.fn == "inv" and isinstance(inner, MatrixFunction) and inner.fn == "inv" and len(expr.free) == 2:
        return _relabel_body(inner.body, *expr.indices)
    return None


register_rule(
    Rule("symmetric", "A symmetric matrix equals its transpose: S[j,i] = S[i,j].", Contract, _canonical_symmetric)
)
register_rule(
    Rule("symmetric-sum", "A symmetric matrix equals its transpose: S[j,i] = S[i,j].", Add, _canonical_symmetric)
)
register_rule(
    Rule(
        "merge-powers", "Powers of one scalar multiply by adding exponents: u^a u^b = u^(a+b).", Contract, _merge_powers
    )
)
register_rule(
    Rule("inverse-of-inverse", "The inverse of an inverse is the matrix itself.", MatrixFunction, _inverse_of_inverse)
)


# -- evaluation, matrix view, parsing -------------------------------------------------------------


def _value(fn: str, matrix: Any, xp: Any) -> Any:
    if fn == "det":
        return xp.linalg.det(matrix)
    if fn == "logdet":
        return xp.linalg.slogdet(matrix)[1]
    return _inverse_value(matrix, xp)


def _inverse_value(matrix: Any, xp: Any) -> Any:
    """``matrix⁻¹``, all NaN where ``matrix`` has a NaN: every entry of an inverse depends on every entry of the
    matrix, but LAPACK's elimination leaves rows that never met the NaN finite (``[[nan, 1], [1, 2]]`` gave a
    second row ``(−1, 1)``, as ``np.linalg.inv`` does)."""
    inverse = xp.linalg.inv(matrix)
    return xp.where(xp.any(xp.isnan(matrix)), xp.full_like(inverse, float("nan")), inverse)


_LAPACK_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))
"""The floating dtypes NumPy's linalg computes in (float16 and long double raised a bare TypeError)."""


@register_evaluator(MatrixFunction)
def _evaluate(node: MatrixFunction, children: Sequence[Any], ctx: EvalContext) -> Any:
    matrix = children[0]
    if isinstance(matrix, np.ndarray) and matrix.dtype not in _LAPACK_DTYPES:
        raise UnsupportedError(
            f"{node.fn}({node.body}) of a {matrix.dtype} matrix: NumPy's linalg computes in float32 and float64 "
            "only; convert the arrays first (for example with .astype(np.float64))"
        )
    try:
        value = _value(node.fn, matrix, ctx.xp)
    except np.linalg.LinAlgError as err:
        raise DomainError(f"{node.fn}({node.body}): {err}; the matrix must be invertible") from None
    if len(node.free) < len(node.indices):
        return opt_einsum.contract("ii->i", value)
    return value


_SPELLING = {
    "inv": ("{0}⁻¹", "{0}^{{-1}}", "np.linalg.inv({0})"),
    "det": ("det({0})", r"\det\left({0}\right)", "np.linalg.det({0})"),
    "logdet": ("log|det({0})|", r"\log\left|\det\left({0}\right)\right|", "np.linalg.slogdet({0})[1]"),
}


_TRANSPOSED = ("{0}⁻ᵀ", "{0}^{{-\\top}}", "np.linalg.inv({0}).T")


def matrix_call(fn: str, matrix: MatrixExpr) -> Call:
    """The matrix-notation node for ``fn`` of ``matrix`` (``X⁻¹``, ``det(X)``); ``S⁻¹`` is symmetric with ``S``."""
    text, latex, code = _SPELLING[fn]
    if fn != "inv":
        return Call(fn, (matrix,), "scalar", text, latex, code)
    symmetric = isinstance(matrix, Symbol) and matrix.symmetric
    transposed = _SPELLING[fn] if symmetric else _TRANSPOSED
    return Call(fn, (matrix,), "matrix", text, latex, code, postfix=True, transposed=transposed)


@register_matrix_rule(MatrixFunction)
def _matrix_view(node: MatrixFunction, convert: Converter) -> Term:
    body = convert.orient(convert(node.body), node.body.free)
    call = matrix_call(node.fn, body.matrix)
    if not node.indices:
        return Term(call, ())
    if len(node.free) < len(node.indices):
        return Term(DiagPart(call, convert.vector), node.free)
    return Term(call, node.indices)


for _fn in MATRIX_FUNCTIONS:
    register_parse_function(_fn, fixed_arity(functools.partial(matrix_function, _fn), 1), scoped=True)
NODE_BUILDERS.update({"inv": inv, "det": det, "logdet": logdet})
