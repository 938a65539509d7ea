"""Building expressions: declarations, Einstein products, and NumPy-style operators.

Two styles lower to the same IR:

* **index style** (``W[i, j] * a[j]``): axes are the names you wrote (a name
  written twice in one subscript takes the diagonal); in a product an index on
  two factors is summed (Einstein), on one is free, on three is an error; ``+``
  matches terms by index name and lets a term omit indices (it broadcasts);
  ``/`` and ``**`` are element-wise.
* **matrix style** (``W @ a``, ``W.T``, ``x * y``): bare tensors and the results
  of matrix operations are *positional*: ``*`` and ``+`` are element-wise with
  NumPy broadcasting (trailing axes aligned), ``@`` is the matrix product.
  Their indices are named ``i, j, k, …`` by position, summed ones after.

Mixing styles in one operation (other than with a scalar) is an error.

>>> W, a = tensors("W[m,n] a[n]")
>>> str(W @ a)
'W[i,j] a[j]'
>>> i, j = indices("i j")
>>> str(W[i, j] * a[j])
'W[i,j] a[j]'
"""

from __future__ import annotations

import numbers
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np

from ..core.arguments import describe, is_whole, require_text
from ..core.errors import IndexMismatch, ParseError, ShapeError, UnsupportedError
from ..core.expr import OPERATORS, Expr
from ..core.indices import Index, TensorSpec
from ..core.limits import check_tree_size
from ..core.name_pool import bound_names
from ..core.names import positional_names, rename, with_positional
from ..core.nodes import (
    Add,
    Apply,
    Const,
    Contract,
    Named,
    Tensor,
    Zero,
    check_consistent,
    real_number,
    split_coefficient,
)
from .axes import axis_indices, axis_labels, diagonal_labels, diagonal_of, reduce_over
from .declare import NAME, check_name, read_declarations, record
from .exponents import constant_power, tensor_power
from .styles import apart, broadcast, matrix_style, require_positional, shape_text, tidy, unchained

Operand = Expr | int | float


# -- declarations -----------------------------------------------------------------------


def tensors(
    declarations: str, *, symmetric: str | Iterable[str] = (), simplex: str | Iterable[str] = ()
) -> tuple[Tensor, ...]:
    """Declare tensors from ``"W[m,n] a[n] c"``: a name and its dimension names.

    ``symmetric`` names square matrices with ``S = Sᵀ``; ``simplex`` names
    tensors whose entries sum to one along their last axis: a vector of
    probabilities or a one-hot label, or a batch of them as the rows of a
    matrix (``Y[b,c]``: ``Σ_c Y[b,c] = 1`` for every ``b``).

    >>> W, c = tensors("W[m,n] c")
    >>> W.shape, c.shape
    (('m', 'n'), ())
    """
    specs = read_declarations(declarations, symmetric, simplex)
    record(specs)
    return tuple(bare(spec) for spec in specs)


def bare(spec: TensorSpec) -> Tensor:
    """The positional tensor for ``spec``, indexed ``i, j, …`` by axis."""
    names = positional_names(len(spec.dims))
    return Tensor(spec, tuple(Index(n, d) for n, d in zip(names, spec.dims, strict=True)), positional=True)


def indices(names: str) -> tuple[str, ...]:
    """Index names for index-style building: ``i, j = indices("i j")``."""
    parts = tuple(require_text(names, "the index names given to ec.indices", "'i j'").replace(",", " ").split())
    for part in parts:
        if not NAME.match(part):
            raise ParseError(f"{part!r} is not a valid index name")
    return parts


# -- coercion and style --------------------------------------------------------------------


def as_expr(value: Operand, what: str = "") -> Expr:
    """``value`` as an expression (numbers become constants); ``what`` names the argument in errors.

    Every public function that takes an expression passes it through here.

    >>> as_expr("x[i]", "the expression to evaluate")
    Traceback (most recent call last):
      ...
    eincalc.core.errors.UnsupportedError: the expression to evaluate must be an expression or a number, \
not str 'x[i]'; to read text, use ec.parse(text, *tensors)
    """
    if isinstance(value, Expr):
        return value
    if not (is_whole(value) or isinstance(value, float | np.floating)):
        hint = "; to read text, use ec.parse(text, *tensors)" if isinstance(value, str) else ""
        if what:
            raise UnsupportedError(f"{what} must be an expression or a number, not {describe(value)}{hint}")
        raise UnsupportedError(
            f"cannot use {describe(value)} in an expression; use declared tensors (ec.tensors) and numbers{hint}"
        )
    return Const(real_number(value), positional=True)


def as_exprs(value: Expr | Iterable[Expr], what: str) -> tuple[tuple[Expr, ...], bool]:
    """One expression or several (a list sharing intermediates), and whether it was one.

    >>> x, = tensors("x[n]")
    >>> as_exprs([x, 2], "the expression to compile")
    ((<Tensor x[i]>, <Const 2>), False)
    """
    if isinstance(value, Expr | str) or not isinstance(value, Iterable):
        return (as_expr(value, what),), True
    return tuple(as_expr(e, f"{what} (item {n})") for n, e in enumerate(value)), False


# -- operators -----------------------------------------------------------------------------


def add(left: Operand, right: Operand) -> Expr:
    """``left + right``: by index name (index style) or NumPy broadcasting (matrix style)."""
    a, b = as_expr(left), as_expr(right)
    if matrix_style(a, b):
        a, b, out = broadcast(a, b, "add")
        return tidy(_flat_sum((a, b), out))
    return sum_terms([a, b])


def sum_terms(terms: Sequence[Expr]) -> Expr:
    """Sum of index-style terms; every term's indices must be among the widest term's."""
    check_consistent(terms)
    widest = max(terms, key=lambda t: len(t.free))
    allowed = set(widest.free)
    for term in terms:
        if not set(term.free) <= allowed:
            every = ",".join(dict.fromkeys(k.name for t in terms for k in t.free))
            raise IndexMismatch(
                f"free indices of a sum must agree: {widest} has ({', '.join(map(str, widest.free))}) "
                f"but {term} has ({', '.join(map(str, term.free))}); to broadcast, write the sum's output "
                f"indices in ec.parse: ({' + '.join(map(str, terms))})[{every}]"
            )
    return _flat_sum(terms, widest.free)


def _flat_sum(terms: Sequence[Expr], out: tuple[Index, ...]) -> Expr:
    """One `Add` over ``out`` of ``terms``, a term that is a sum giving its terms (`addends`); refused above
    ``max_tree_nodes`` terms, before they are built."""
    size = sum(len(addends(term)) for term in terms)
    check_tree_size(size, lambda: f"a sum of {size:,} terms", _FLATTENED)
    return Add(tuple(t for term in terms for t in addends(term)), out)


_FLATTENED = (
    "a sum whose terms are sums is one sum of all their terms, so a chain like h = h + h doubles the terms at "
    "every step (in text too: where t2[i] = t1[i] + t1[i], where t3[i] = t2[i] + t2[i], …). Name the repeated "
    "sum with ec.let (h = ec.let(f'h{k}', h + h)) so it stays one term, or build smaller pieces."
)


def addends(expr: Expr) -> tuple[Expr, ...]:
    """The terms of a sum, or ``(expr,)`` for anything else: what flattens into an enclosing sum."""
    return expr.terms if isinstance(expr, Add) and set(expr.out) == set(expr.free) else (expr,)


def scale(value: Operand, factor: float) -> Expr:
    """``factor * value`` for a number ``factor``."""
    expr = as_expr(value)
    if isinstance(expr, Const):
        return Const(expr.value * factor, positional=expr.positional)
    if factor == 1.0:
        return expr
    if isinstance(expr, Contract):  # the coefficient joins the product: 2 Σ(A[i,i]) is Σ(2 A[i,i])
        inner, rest = split_coefficient(expr)
        coefficient = factor * inner
        if coefficient == 1.0 and len(rest) == 1 and rest[0].free == expr.out:
            return rest[0]  # -(-x) is x
        if not rest:
            return Const(coefficient, positional=expr.positional)
        factors = (*([Const(coefficient)] if coefficient != 1.0 else []), *rest)
        return Contract(factors, expr.out, positional=expr.positional)
    return Contract((Const(factor), expr), expr.free, positional=expr.positional)


def multiply(left: Operand, right: Operand) -> Expr:
    """``left * right``: Einstein product (index style) or element-wise (matrix style)."""
    a, b = as_expr(left), as_expr(right)
    if isinstance(a, Const):
        return scale(b, a.value)
    if isinstance(b, Const):
        return scale(a, b.value)
    if matrix_style(a, b):
        a, b, out = broadcast(a, b, "multiply")
        return tidy(Contract((a, b), out))
    return einstein_product([a, b])


def einstein_product(factors: Sequence[Expr]) -> Expr:
    """Einstein's product: an index carried by two factors is summed, by one factor is free, and by
    three is an error.  A factor carries each of its free indices once: the diagonal ``A[i,i]`` carries ``i``
    once, like any vector (see `index_expr()`).

    >>> x, y, A = tensors("x[n] y[n] A[n,n]")
    >>> str(einstein_product([x["i"], y["i"]]))
    'x[i] y[i]'
    >>> einstein_product([x["i"], y["i"]]).free, einstein_product([A["i", "i"], y["i"]]).free
    ((), ())
    """
    counts = Counter(k for f in factors for k in f.free)
    for k, count in counts.items():
        if count > 2:
            raise IndexMismatch(
                f"index {k} appears {count} times in one product; an index may appear at most twice "
                f"(twice means summed). Rename one occurrence, or write the sum explicitly with ec.einsum"
            )
    out = tuple(k for k in counts if counts[k] == 1)
    return Contract(tuple(factors), out)


def divide(left: Operand, right: Operand) -> Expr:
    """Element-wise ``left / right`` (never a contraction)."""
    a, b = as_expr(left), as_expr(right)
    if isinstance(b, Zero) or (isinstance(b, Const) and b.value == 0):  # a 0 read from text is a Zero
        raise UnsupportedError(f"division of {a} by the constant 0")
    if isinstance(b, Const):
        return scale(a, 1.0 / b.value)
    reciprocal: Expr = Apply("pow", b, -1.0, positional=b.positional)
    if isinstance(a, Const):
        return scale(reciprocal, a.value)
    if matrix_style(a, b):
        a, reciprocal, out = broadcast(a, reciprocal, "divide")
        return tidy(Contract((a, reciprocal), out))
    return elementwise_product([a, reciprocal])


def elementwise_product(factors: Sequence[Expr]) -> Expr:
    """Index-style product with no summation: every index stays free (Hadamard)."""
    return Contract(tuple(factors), tuple(dict.fromkeys(k for f in factors for k in f.free)))


def power(base: Operand, exponent: Any) -> Expr:
    """Element-wise ``base ** exponent``: for a number ``exponent`` the power function, for an expression
    ``exponent`` a `Power` (defined for a positive base).

    >>> x, t = tensors("x[n] t[n]")
    >>> str(power(x, 3)), str(power(x, t)), str(power(2, t))
    ('x[i]**3', 'x[i]**t[i]', '2**t[i]')
    """
    expr = as_expr(base)
    if isinstance(exponent, Expr) and not isinstance(exponent, Const):
        return tensor_power(expr, exponent)
    if isinstance(exponent, Const):
        exponent = exponent.value
    if isinstance(exponent, bool) or not isinstance(exponent, numbers.Real):
        raise UnsupportedError(f"exponent of {expr} must be a number or an expression, not {exponent!r}")
    k = real_number(exponent)
    if k == 1:
        return expr
    if isinstance(expr, Const):
        return Const(constant_power(expr.value, k), positional=expr.positional)
    if isinstance(expr, Zero) and k < 0:
        constant_power(0.0, k)  # raises: 0 to a negative power is no number
    return Apply("pow", expr, k, positional=expr.positional)


def apply(name: str, arg: Operand) -> Expr:
    """Element-wise function ``name`` of ``arg`` (see `eincalc.core.functions`)."""
    from ..core.functions import lookup

    function = lookup(name)
    expr = as_expr(arg)
    return Apply(function.name, expr, positional=expr.positional)


def matmul(left: Operand, right: Operand) -> Expr:
    """Matrix product ``left @ right`` of vectors and matrices."""
    a, b = as_expr(left), as_expr(right)
    require_positional("@", a, b)
    if a.rank not in (1, 2) or b.rank not in (1, 2):
        raise ShapeError(f"@ needs vectors or matrices; got shapes {shape_text(a)} and {shape_text(b)}")
    if a.free[-1].dim != b.free[0].dim:
        raise ShapeError(unchained(a, b))
    # each operand renamed once, straight to the names of the result (i, j by position; the summed
    # index the first name after them), so the product is canonical as built: no operand renamed again
    names = positional_names(a.rank + b.rank - 2)
    inner = bound_names(1, set(names))[0]
    a_names = [*names[: a.rank - 1], inner]
    b_names = [inner, *names[a.rank - 1 :]]
    a = rename(a, {k: Index(n, k.dim) for k, n in zip(a.free, a_names, strict=True)})
    b = rename(b, {k: Index(n, k.dim) for k, n in zip(b.free, b_names, strict=True)})
    return Contract((a, b), a.free[:-1] + b.free[1:], positional=True)


def transpose(value: Operand) -> Expr:
    """Reverse the axes (a vector or scalar is its own transpose)."""
    expr = as_expr(value)
    require_positional(".T", expr)
    if expr.rank < 2:
        return expr
    return tidy(Contract((expr,), tuple(reversed(expr.free))))


def outer(left: Operand, right: Operand) -> Expr:
    """Outer product: ``outer(g, a)[i, j] = g[i] a[j]`` (``g aᵀ`` for vectors)."""
    a, b = as_expr(left), as_expr(right)
    require_positional("outer", a, b)
    a, b = apart(a, b)
    return tidy(Contract((a, b), a.free + b.free))


def dot(left: Operand, right: Operand) -> Expr:
    """Inner product of two vectors."""
    a, b = as_expr(left), as_expr(right)
    if a.rank != 1 or b.rank != 1:
        raise ShapeError(f"dot takes two vectors; got shapes {shape_text(a)} and {shape_text(b)}")
    return matmul(a, b)


def trace(value: Operand) -> Expr:
    """Trace of a square matrix."""
    expr = as_expr(value)
    require_positional("trace", expr)
    return tidy(Contract((diagonal_of(expr),), ()))


def total(value: Operand, axis: int | str | Sequence[int | str] | None = None) -> Expr:
    """Sum over all axes, or over ``axis``: a position (negative counts from the end), an index name, or
    several of them.  A matrix-style expression's axes are named ``i, j, …`` by position.

    >>> X, = tensors("X[m,n]")
    >>> total(X, axis=0).shape, total(X["a", "b"], axis="a").shape, total(X).shape
    (('n',), ('n',), ())
    """
    expr = as_expr(value)
    return reduce_over(expr, axis_indices(expr, axis))


def index_expr(expr: Expr, names: Any) -> Expr:
    """``expr[i, j]``: name the axes of ``expr``, in order, making it index style.

    One rule for every kind of expression: indexing names axes and never sums.  A name
    written twice takes the diagonal, so ``X[j,j]`` is the vector of ``X``'s diagonal
    along ``j``; in a product it is one factor carrying ``j`` once (see
    `einstein_product()`), whether ``X`` is a declared tensor or anything else.

    >>> A, = tensors("A[n,n]")
    >>> str(A["j", "j"]), [k.name for k in A["j", "j"].free], [k.name for k in (A @ A)["j", "j"].free]
    ('A[j,j]', ['j'], ['j'])
    """
    labels = axis_labels(expr, names)
    if isinstance(expr, Tensor):  # a tensor holds its diagonal itself: A[j,j]
        relabel = dict(zip(expr.free, labels, strict=True))
        return Tensor(expr.spec, tuple(relabel[k] for k in expr.indices))
    return with_positional(diagonal_labels(expr, labels), False)


def let(name: str, value: Operand, *, adjoint: str | None = None) -> Expr:
    """Name an intermediate: it prints as ``name[…]`` and derivatives flowing back through it
    are named ``adjoint`` (default ``d`` + name), so results stay short instead of re-expanding.

    >>> W, x = tensors("W[m,n] x[n]")
    >>> z = let("z", W @ x, adjoint="δ")
    >>> print(sigmoid(z))
    σ(z[i])
      where z[i] = W[i,j] x[j]
    """
    check_name(require_text(name, "the name of an intermediate", "'z'"), "intermediate")
    if adjoint is not None:
        require_text(adjoint, "the name of its adjoint", "'dz'")
    expr = as_expr(value)
    return Named(name, expr, expr.free, adjoint or f"d{name}", positional=expr.positional)


def _elementwise(name: str) -> Callable[[Operand], Expr]:
    def function(x: Operand) -> Expr:
        return apply(name, x)

    function.__name__ = function.__qualname__ = name
    function.__doc__ = f"Element-wise ``{name}`` (see `eincalc.core.functions`)."
    return function


sigmoid = _elementwise("sigmoid")
tanh = _elementwise("tanh")
exp = _elementwise("exp")
log = _elementwise("log")
relu = _elementwise("relu")
sqrt = _elementwise("sqrt")
softplus = _elementwise("softplus")
sin = _elementwise("sin")
cos = _elementwise("cos")
tan = _elementwise("tan")
absolute = _elementwise("abs")


def square(x: Operand) -> Expr:
    """Element-wise square, ``x ** 2``."""
    return power(x, 2)


OPERATORS.update(
    {
        "index": index_expr,
        "add": add,
        "scale": scale,
        "multiply": multiply,
        "divide": divide,
        "power": power,
        "matmul": matmul,
        "transpose": transpose,
    }
)
