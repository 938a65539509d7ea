"""Reductions and element-wise functions in matrix notation: sums of entries, traces, inner products, norms.

A sum of entries reads ``1ᵀ v`` (``1ᵀ X 1``, ``Xᵀ 1``); of a vector of ones it is
the size ``n``, of squares a squared norm (``‖v‖²``).  A half-integer power of a
squared norm is a power of the norm (``(xᵀ x)^-0.5 → ‖x‖⁻¹``, printed ``x / ‖x‖``);
an element-wise function of a constant is a constant (``σ(s 1) → σ(s) 1``), of
the identity ``f(0) 1 1ᵀ + (f(1) − f(0)) I``.  `require_sized` refuses a
form whose text cannot show the size of a vector of ones it reduces.

>>> from eincalc.matrix.tree import MatMul, Symbol, Transpose
>>> from eincalc.matrix.render import to_text
>>> x = Symbol("x", "col")
>>> to_text(function("pow", -0.5, MatMul((Transpose(x), x))))
'‖x‖⁻¹'
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Iterator

import numpy as np

from ..core.errors import EincalcError, NoMatrixForm, ShapeError
from ..core.expr import Expr
from ..core.functions import apply_array
from ..core.nodes import Tensor
from ..core.traversal import walk
from ..frontend.build import bare
from ..frontend.parse import MAX_LENGTH
from ..frontend.spelling import number
from .algebra import ONE, all_ones, cost, matmul, number_out, oriented, scale, transpose, uniform
from .render import to_text
from .sums import add
from .tree import (
    Broadcast,
    Call,
    Diag,
    DiagPart,
    Function,
    Identity,
    Inner,
    Intermediate,
    Kind,
    MatMul,
    MatrixExpr,
    Norm,
    Number,
    Ones,
    Outer,
    Scale,
    SizeOf,
    Sum,
    Symbol,
    Trace,
    Transpose,
    Zeros,
)


def function(fn: str, param: float | None, child: MatrixExpr) -> MatrixExpr:
    """The element-wise function ``fn`` of ``child``: of a constant a constant (``σ(s 1) → σ(s) 1``), of the
    identity ``f(0) 1 1ᵀ + (f(1) − f(0)) I``; a half-integer power of a squared norm a power of the norm."""
    constant = uniform(child)
    if constant is not None:
        scalar, ones = constant
        return scale(function(fn, param, scalar), ones)
    if isinstance(child, Identity):
        return _of_identity(fn, param, child)
    if isinstance(child, Number):  # log(1) = 0, 2² = 4; σ(1) stays σ(1)
        value = _at(fn, param, child.value)
        if math.isfinite(value) and (fn == "pow" or len(number(value)) <= 4):
            return Number(value)
    squared = _squared_norm(child)
    if squared is not None and (fn == "sqrt" or (fn == "pow" and param is not None and (2 * param) % 2 == 1)):
        return _norm_power(Norm(squared), 1.0 if fn == "sqrt" else 2 * float(param or 0.0))
    if fn == "pow" and isinstance(child, Function) and child.fn == "pow" and isinstance(child.child, Norm):
        return _norm_power(child.child, float(param if param is not None else 1.0) * float(child.param or 1.0))
    return Function(fn, param, child)


def _norm_power(norm: Norm, exponent: float) -> MatrixExpr:
    return norm if exponent == 1.0 else Function("pow", exponent, norm)


def _at(fn: str, param: float | None, x: float) -> float:
    """The value of the element-wise function at the number ``x`` (``inf`` or ``nan`` where it has none)."""
    with np.errstate(all="ignore"):
        return float(apply_array(fn, np.float64(x), param))


def _of_identity(fn: str, param: float | None, identity: Identity) -> MatrixExpr:
    at_zero, at_one = _at(fn, param, 0.0), _at(fn, param, 1.0)
    if not (math.isfinite(at_zero) and math.isfinite(at_one)):
        raise NoMatrixForm(f"{fn} of the identity matrix is not finite off its diagonal; keep the index form")
    on_diagonal = add([Function(fn, param, ONE), scale(Number(-1.0), Function(fn, param, Number(0.0)))], "scalar")
    if at_zero == 0.0:
        return scale(Function(fn, param, ONE), identity)
    ones = Ones(identity.dim, identity.source, "col")
    return add(
        [scale(on_diagonal, identity), scale(Function(fn, param, Number(0.0)), Outer(ones, transpose(ones)))], "matrix"
    )


def _squared_norm(node: MatrixExpr) -> MatrixExpr | None:
    """``v`` when ``node`` is ``vᵀ v`` or ``tr(Vᵀ V)`` (a squared Euclidean or Frobenius norm), else None."""
    if (
        isinstance(node, MatMul)
        and len(node.factors) == 2
        and node.factors[0].kind == "row"
        and transpose(node.factors[0]) == node.factors[1]
    ):
        return node.factors[1]
    if isinstance(node, Inner) and node.left == node.right:
        return node.left
    return None


def sum_vector(vector: MatrixExpr, ones: Ones) -> MatrixExpr:
    """The sum of a vector's entries (``1ᵀ v``); ``ones`` is the column of ones of its size."""
    vector = number_out(vector)
    if isinstance(vector, Transpose):
        return sum_vector(vector.child, ones)
    if isinstance(vector, Scale):
        return scale(vector.factor, sum_vector(vector.child, ones))
    if isinstance(vector, Zeros):
        return Zeros((), "scalar")
    if isinstance(vector, Ones):
        return SizeOf(vector.dim, vector.source)
    if isinstance(vector, DiagPart):
        return trace(vector.child)
    if isinstance(vector, Function) and vector.fn == "pow" and vector.param == 2.0:
        return Function("pow", 2.0, Norm(oriented(vector.child, "col")))
    display = matmul(transpose(ones), vector) if vector.kind == "col" else matmul(vector, ones)
    return Sum(vector, None, display, "scalar")


def sum_axis(matrix: MatrixExpr, axis: int, ones: Ones, kind: Kind) -> MatrixExpr:
    """Sum of ``matrix`` over ``axis`` (0: add up the rows), as a vector of ``kind``.

    ``ones`` is the column of ones as long as the summed axis.
    """
    matrix = number_out(matrix)
    if isinstance(matrix, Transpose):
        return sum_axis(matrix.child, 1 - axis, ones, kind)
    if isinstance(matrix, Scale):
        return scale(matrix.factor, sum_axis(matrix.child, axis, ones, kind))
    if isinstance(matrix, Zeros):
        return Zeros(matrix.sources[1 - axis :][:1], kind, matrix.dims[1 - axis :][:1])
    if isinstance(matrix, Identity):
        return Ones(matrix.dim, matrix.source, kind)
    if isinstance(matrix, Diag):
        return oriented(matrix.child, kind)
    along_columns = transpose(matrix) if axis == 0 else matrix  # the summed axis last
    column = matmul(along_columns, ones)
    if isinstance(column, Scale) and all_ones(column.child):  # 1ᵀ (1 1ᵀ) = m 1ᵀ: a number times ones, whose
        return oriented(column, kind)  # number then moves in front of a product (1 m 1ᵀ G read 1 as the number 1)
    return Sum(matrix, axis, oriented(column, kind), kind)


def sum_all(matrix: MatrixExpr, row_ones: Ones, col_ones: Ones) -> MatrixExpr:
    """Sum of every entry of ``matrix`` (``1ᵀ X 1``)."""
    matrix = number_out(matrix)
    if isinstance(matrix, Scale):
        return scale(matrix.factor, sum_all(matrix.child, row_ones, col_ones))
    if isinstance(matrix, Zeros):
        return Zeros((), "scalar")
    if isinstance(matrix, Identity):
        return SizeOf(matrix.dim, matrix.source)
    if isinstance(matrix, Outer) and all_ones(matrix):
        return scale(sum_vector(matrix.left, row_ones), sum_vector(matrix.right, col_ones))
    if isinstance(matrix, Diag):
        return sum_vector(matrix.child, row_ones)
    if isinstance(matrix, Function) and matrix.fn == "pow" and matrix.param == 2.0:
        return Function("pow", 2.0, Norm(matrix.child))
    display = matmul(matmul(transpose(row_ones), matrix), col_ones)
    return Sum(matrix, None, display, "scalar")


def trace(matrix: MatrixExpr) -> MatrixExpr:
    """``tr(M)``: of ``c I`` it is ``c n``."""
    matrix = number_out(matrix)
    if isinstance(matrix, Scale):
        return scale(matrix.factor, trace(matrix.child))
    if isinstance(matrix, Zeros):
        return Zeros((), "scalar")
    if isinstance(matrix, Identity):
        return SizeOf(matrix.dim, matrix.source)
    return Trace(matrix)


def inner(left: MatrixExpr, right: MatrixExpr) -> MatrixExpr:
    """Frobenius inner product ``Σ L ⊙ R`` of aligned matrices, written as a trace."""
    left, right = number_out(left), number_out(right)
    if isinstance(left, Scale):
        return scale(left.factor, inner(left.child, right))
    if isinstance(right, Scale):
        return scale(right.factor, inner(left, right.child))
    if isinstance(left, Identity):
        return trace(right)
    if isinstance(right, Identity):
        return trace(left)
    display = min(matmul(transpose(left), right), matmul(left, transpose(right)), key=cost)
    return Inner(left, right, display)


def require_sized(tree: MatrixExpr) -> None:
    """Raise `NoMatrixForm` where a scalar or a matrix function (``softmax_cols``, ``inv``) is made from vectors and
    matrices that are all constant (``1ᵀ (I + 1 1ᵀ) 1``, ``softmax_cols(0)``): nothing in the text would say their
    size."""
    constant: dict[int, bool] = {}
    for node in printed_nodes(tree):
        children = printed_children(node)
        anchor = isinstance(node, Symbol | Intermediate) and node.kind != "scalar"
        constant[id(node)] = not anchor and all(constant[id(c)] for c in children)
        shaped = [c for c in children if c.kind != "scalar"]
        if shaped and all(constant[id(c)] for c in shaped) and (node.kind == "scalar" or isinstance(node, Call)):
            raise NoMatrixForm(
                f"{to_text(node)} reduces a constant vector or matrix whose size nothing in the "
                "text shows; keep the index form"
            )


def printed_children(node: MatrixExpr) -> tuple[MatrixExpr, ...]:
    """The sub-trees the text of ``node`` shows (a sum shows its display, a name none)."""
    if isinstance(node, Broadcast | Sum | Inner):
        return (node.display,)
    if isinstance(node, Intermediate):
        return ()
    found: list[MatrixExpr] = []
    for item in dataclasses.fields(node):  # type: ignore[arg-type]
        value = getattr(node, item.name)
        found.extend(v for v in (value if isinstance(value, tuple) else (value,)) if isinstance(v, MatrixExpr))
    return tuple(found)


def printed_nodes(tree: MatrixExpr) -> Iterator[MatrixExpr]:
    """Every node of ``tree`` that its text shows, children first and left to right, with a stack."""
    stack: list[tuple[MatrixExpr, bool]] = [(tree, False)]
    while stack:
        node, ready = stack.pop()
        if ready:
            yield node
        else:
            stack.append((node, True))
            stack.extend((c, False) for c in reversed(printed_children(node)))


def require_readable(
    trees: Iterable[MatrixExpr], text: str, expr: Expr, sizes_from: Iterable[Tensor], rows: bool
) -> None:
    """Raise `NoMatrixForm` when the matrix reader could not read ``text`` (the text of ``trees``: a matrix form of
    ``expr`` and the bodies of its where-clauses) back: it is longer than the reader reads, or it has a ``1`` or
    ``I`` whose size nothing in it shows (``softmax_rows(B 1 1ᵀ)``: the last ``1`` is as long as the columns, which
    nothing shows).

    The sizes are found by reading the printed text as `eincalc.parse_matrix` does; any other reading problem is
    left to the read-back check (`eincalc.matrix.readback.reads_back`), which compares numbers too.
    """
    if len(text) > MAX_LENGTH:
        raise NoMatrixForm(
            f"the matrix form has {len(text)} characters, more than the matrix reader reads "
            f"({MAX_LENGTH}); name intermediates (ec.let) or keep the index form"
        )
    if not any(isinstance(node, Ones | Identity) for tree in trees for node in printed_nodes(tree)):
        return
    declared = {t.spec.name: bare(t.spec) for t in [*walk(expr), *sizes_from] if isinstance(t, Tensor)}
    key = f"matrix text read: {text} {rows} {sorted(str(t.spec) for t in declared.values())}"
    if key not in expr.memo():  # read once per expression and reading
        _read_sizes(text, expr, declared, rows)
        expr.memo()[key] = True


def _read_sizes(text: str, expr: Expr, declared: dict[str, Tensor], rows: bool) -> None:
    from ..frontend.parse_matrix import parse_matrix  # the reader builds with modules that import this one

    try:  # the text defines its intermediates (where …)
        parse_matrix(text, *declared.values(), rows=rows, shape=expr.shape)
    except ShapeError as error:
        if "fixes its size" in str(error).splitlines()[0]:
            raise NoMatrixForm(
                f"{text} has a 1 or I whose size nothing in the text shows; keep the index form"
            ) from None
    except EincalcError:
        return
