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
import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np

from ..core.arguments import describe, is_whole, require_axes, require_axis, require_text
from ..core.errors import DomainError, IndexMismatch, ParseError, ShapeError, UnsupportedError
from ..core.expr import (
    OPERATORS,
    Add,
    Apply,
    Const,
    Contract,
    Delta,
    Expr,
    Index,
    Named,
    Tensor,
    TensorSpec,
    bound_names,
    check_consistent,
    real_number,
    split_coefficient,
)
from ..core.names import fresh_indices, positional_names, rename, with_positional
from ..core.registry import Registry

Operand = Expr | int | float


NODE_BUILDERS: Registry[str, Callable[..., Expr]] = Registry(
    "builder of a node kind",
    "the ops/ plugins (eincalc.ops.linalg, linalg_build, nn, powers) register theirs when imported (import eincalc "
    "does); a new node kind registers its own (docs/extending.md)",
)
"""The node kinds of the ops/ plugins that this layer's readers and operators build, by name (``tensor power``,
``inv``, ``softmax``, …): each plugin registers its builders, so the layer below never imports it."""

_DECL = re.compile(r"[\s,]*([^\W\d]\w*)\s*(?:\[([^\]]*)\])?[\s,]*")
_NAME = re.compile(r"[^\W\d]\w*$")


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
    declarations = require_text(declarations, "the declarations given to ec.tensors", "'W[m,n] a[n] c'")
    symmetric_names, simplex_names = set(_words(symmetric, "symmetric")), set(_words(simplex, "simplex"))
    specs: list[TensorSpec] = []
    position = 0
    while position < len(declarations):
        match = _DECL.match(declarations, position)
        if match is None:
            raise ParseError(
                f"cannot read a tensor declaration at column {position} of {declarations!r}; "
                "write declarations like 'W[m,n] a[n] c'"
            )
        name, dims_text = match.group(1), match.group(2)
        dims = tuple(d.strip() for d in dims_text.split(",")) if dims_text and dims_text.strip() else ()
        for dim in dims:
            if not _NAME.match(dim):
                raise ParseError(f"dimension {dim!r} of {name} is not a name (write e.g. W[m,n])")
        if name in symmetric_names and (len(dims) != 2 or dims[0] != dims[1]):
            raise ShapeError(
                f"{name} is declared symmetric but has dimensions {dims}; "
                "a symmetric tensor must be square, like S[n,n]"
            )
        if name in simplex_names and not dims:
            raise ShapeError(
                f"{name} is declared on the simplex but is a number; the simplex is a tensor whose entries sum to "
                "one along its last axis, like y[c] or Y[b,c]"
            )
        specs.append(TensorSpec(name, dims, name in symmetric_names, name in simplex_names))
        position = match.end()
    names = [s.name for s in specs]
    unknown = (symmetric_names | simplex_names) - set(names)
    if unknown:
        raise ParseError(f"{', '.join(sorted(unknown))} marked but not declared in {declarations!r}")
    duplicated = [n for n, c in Counter(names).items() if c > 1]
    if duplicated:
        raise ParseError(f"tensor {duplicated[0]} is declared twice in {declarations!r}")
    for spec in specs:
        _DECLARED.setdefault(spec.name, set()).add(spec.dims)
    return tuple(bare(spec) for spec in specs)


_DECLARED: dict[str, set[tuple[str, ...]]] = {}
"""The dimensions each name was declared with by `tensors()` (every distinct declaration)."""


def declarations(name: str) -> list[TensorSpec]:
    """Every distinct declaration of tensor ``name`` made with `tensors()` (by dimensions), in a fixed order.

    >>> _ = tensors("Ω[m,n]")
    >>> declarations("Ω")
    [TensorSpec(name='Ω', dims=('m', 'n'), symmetric=False, simplex=False)]
    """
    return [TensorSpec(name, dims) for dims in sorted(_DECLARED.get(name, ()))]


def _words(names: str | Iterable[str], what: str) -> list[str]:
    """Tensor names given as ``"S T"``, ``"S, T"`` or ``["S", "T"]``."""
    if isinstance(names, str):
        return names.replace(",", " ").split()
    if isinstance(names, bytes) or not isinstance(names, Iterable):
        raise ParseError(f"{what}= takes tensor names like 'S T' or ['S', 'T'], not {describe(names)}")
    return [require_text(name, f"each name in {what}=", "'S'") for name in names]


def bare(spec: TensorSpec) -> Tensor:
    """The positional tensor for ``spec``, indexed ``i, j, …`` by axis."""
    names = positional_names(len(spec.dims))
    return Tensor(spec, tuple(Index(n, d) for n, d in zip(names, spec.dims, strict=True)), positional=True)


def indices(names: str) -> tuple[str, ...]:
    """Index names for index-style building: ``i, j = indices("i j")``."""
    parts = tuple(require_text(names, "the index names given to ec.indices", "'i j'").replace(",", " ").split())
    for part in parts:
        if not _NAME.match(part):
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


def _style(*operands: Expr) -> bool:
    """True when the operation is matrix style; raise if styles are mixed."""
    ranked = [e for e in operands if e.free]
    if all(e.positional for e in ranked):
        return True
    if not any(e.positional for e in ranked):
        return False
    positional = next(e for e in ranked if e.positional)
    indexed = next(e for e in ranked if not e.positional)
    raise IndexMismatch(
        f"cannot combine matrix-style {positional} (shape {_dims(positional)}) with index-style "
        f"{indexed}; index both (e.g. W[i, j]) or neither"
    )


def _dims(expr: Expr) -> str:
    return "(" + ", ".join(expr.shape) + ")"


def tidy(expr: Expr) -> Expr:
    """Name a matrix-style result's indices ``i, j, …`` by position (its summed ones follow, by construction).

    One renaming of the free indices: the operands are never re-canonicalised, nodes are canonical already.
    """
    final = tuple(Index(name, k.dim) for name, k in zip(positional_names(expr.rank), expr.free, strict=True))
    return with_positional(rename(expr, dict(zip(expr.free, final, strict=True))), True)


def _apart(left: Expr, right: Expr) -> tuple[Expr, Expr]:
    """Rename ``right``'s free indices so that they share no name with ``left``'s (renaming never captures)."""
    used = {k.name for k in left.free} | {k.name for k in right.free}
    new = fresh_indices(right.free, used, pool="ABCDEFGHIJKLMNOPQRSTUVWXYZ")
    return left, rename(right, dict(zip(right.free, new, strict=True)))


def _broadcast(left: Expr, right: Expr, op: str) -> tuple[Expr, Expr, tuple[Index, ...]]:
    """Align two positional operands NumPy-style: trailing axes identified."""
    left, right = _apart(left, right)
    longer, shorter = (left, right) if left.rank >= right.rank else (right, left)
    offset = longer.rank - shorter.rank
    mapping: dict[Index, Index] = {}
    for position, k in enumerate(shorter.free):
        target = longer.free[offset + position]
        if k.dim != target.dim:
            raise ShapeError(
                f"cannot {op} {left} of shape {_dims(left)} and {right} of shape {_dims(right)}: "
                f"dimension {target.dim} meets {k.dim} (NumPy broadcasting aligns trailing axes)"
            )
        mapping[k] = target
    shorter = rename(shorter, mapping)
    pair = (longer, shorter) if longer is left else (shorter, longer)
    return pair[0], pair[1], longer.free


# -- operators -----------------------------------------------------------------------------


def add(left: Operand, right: Operand) -> Expr:
    """``left + right``: by index name (index style) or NumPy broadcasting (matrix style)."""
    a, b = as_expr(left), as_expr(right)
    if _style(a, b):
        a, b, out = _broadcast(a, b, "add")
        return tidy(Add(addends(a) + addends(b), out))
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
    return Add(tuple(t for term in terms for t in addends(term)), widest.free)


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
    if _style(a, b):
        a, b, out = _broadcast(a, b, "multiply")
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
    if isinstance(b, Const):
        if b.value == 0:
            raise UnsupportedError(f"division of {a} by the constant 0")
        return scale(a, 1.0 / b.value)
    reciprocal: Expr = Apply("pow", b, -1.0, positional=b.positional)
    if isinstance(a, Const):
        return scale(reciprocal, a.value)
    if _style(a, b):
        a, reciprocal, out = _broadcast(a, reciprocal, "divide")
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
        return _tensor_power(expr, exponent)
    if isinstance(exponent, Const):
        exponent = exponent.value
    if isinstance(exponent, bool) or not isinstance(exponent, numbers.Real):
        raise UnsupportedError(f"exponent of {expr} must be a number or an expression, not {exponent!r}")
    k = real_number(exponent)
    if k == 1:
        return expr
    if isinstance(expr, Const):
        return Const(constant_power(expr.value, k), positional=expr.positional)
    return Apply("pow", expr, k, positional=expr.positional)


def _tensor_power(base: Expr, exponent: Expr) -> Expr:
    power_node = NODE_BUILDERS.find("tensor power")  # the node kind lives with its rules, in ops.powers
    if isinstance(base, Const) and base.value <= 0:
        raise DomainError(
            f"({base.value:g}) ** {exponent}: a power with an expression as exponent needs "
            "a positive base (it is exp(t log x)); for a whole exponent write a number, like x ** 3"
        )
    if not _style(base, exponent):
        return power_node(base, exponent)
    left, right, out = _broadcast(base, exponent, "raise")
    result = power_node(left, right, positional=True)
    return tidy(result if result.free == out else Contract((result,), out))


def constant_power(base: float, exponent: float) -> float:
    """``base ** exponent`` for constants, or `UnsupportedError` when it is not a finite real."""
    try:
        value = base**exponent
    except (ZeroDivisionError, OverflowError):
        value = float("nan")
    if not isinstance(value, float) or value != value or value in (float("inf"), float("-inf")):
        raise UnsupportedError(f"the constant {base} ** {exponent} is not a finite real number")
    return value


def apply(name: str, arg: Operand) -> Expr:
    """Element-wise function ``name`` of ``arg`` (see `eincalc.core.functions`)."""
    from ..core.functions import lookup

    function = lookup(name)
    expr = as_expr(arg)
    return Apply(function.name, expr, positional=expr.positional)


def _require_positional(op: str, *operands: Expr) -> None:
    for e in operands:
        if e.free and not e.positional:
            raise IndexMismatch(f"{op} takes matrix-style operands; {e} is index-style (drop its indices)")


def matmul(left: Operand, right: Operand) -> Expr:
    """Matrix product ``left @ right`` of vectors and matrices."""
    a, b = as_expr(left), as_expr(right)
    _require_positional("@", a, b)
    if a.rank not in (1, 2) or b.rank not in (1, 2):
        raise ShapeError(f"@ needs vectors or matrices; got shapes {_dims(a)} and {_dims(b)}")
    if a.free[-1].dim != b.free[0].dim:
        raise ShapeError(_unchained(a, b))
    # each operand renamed once, straight to the names of the result (i, j by position; the summed
    # index the first name after them), so the product is canonical as built: no operand renamed again
    names = positional_names(a.rank + b.rank - 2)
    inner = bound_names(1, set(names))[0]
    a_names = [*names[: a.rank - 1], inner]
    b_names = [inner, *names[a.rank - 1 :]]
    a = rename(a, {k: Index(n, k.dim) for k, n in zip(a.free, a_names, strict=True)})
    b = rename(b, {k: Index(n, k.dim) for k, n in zip(b.free, b_names, strict=True)})
    return Contract((a, b), a.free[:-1] + b.free[1:], positional=True)


def _unchained(a: Expr, b: Expr) -> str:
    """Why ``a @ b`` has no meaning, and the transpose that gives it one, if any."""
    left, right = (e.spec.name if isinstance(e, Tensor) and e.positional else f"({e})" for e in (a, b))
    message = (
        f"{left} @ {right}: shapes {_dims(a)} and {_dims(b)} do not chain; inner dimensions "
        f"{a.free[-1].dim} and {b.free[0].dim} differ (the last axis of {left} must be the first of {right})"
    )
    if b.rank == 2 and b.free[1].dim == a.free[-1].dim:
        return f"{message}; did you mean {left} @ {right}.T?"
    if a.rank == 2 and a.free[0].dim == b.free[0].dim:
        return f"{message}; did you mean {left}.T @ {right}?"
    return message


def transpose(value: Operand) -> Expr:
    """Reverse the axes (a vector or scalar is its own transpose)."""
    expr = as_expr(value)
    _require_positional(".T", expr)
    if expr.rank < 2:
        return expr
    return tidy(Contract((expr,), tuple(reversed(expr.free))))


def outer(left: Operand, right: Operand) -> Expr:
    """Outer product: ``outer(g, a)[i, j] = g[i] a[j]`` (``g aᵀ`` for vectors)."""
    a, b = as_expr(left), as_expr(right)
    _require_positional("outer", a, b)
    a, b = _apart(a, b)
    return tidy(Contract((a, b), a.free + b.free))


def dot(left: Operand, right: Operand) -> Expr:
    """Inner product of two vectors."""
    a, b = as_expr(left), as_expr(right)
    if a.rank != 1 or b.rank != 1:
        raise ShapeError(f"dot takes two vectors; got shapes {_dims(a)} and {_dims(b)}")
    return matmul(a, b)


def diagonal_of(expr: Expr) -> Expr:
    """The diagonal of a square matrix expression, as a vector over its first index."""
    if expr.rank != 2 or expr.shape[0] != expr.shape[1]:
        raise ShapeError(f"{expr} has shape {_dims(expr)}; the diagonal needs a square matrix")
    i, j = expr.free
    if isinstance(expr, Tensor):
        return Tensor(expr.spec, tuple(i if k == j else k for k in expr.indices), positional=expr.positional)
    return Contract((expr, Delta(i, j)), (i,), positional=expr.positional)


def trace(value: Operand) -> Expr:
    """Trace of a square matrix."""
    expr = as_expr(value)
    _require_positional("trace", expr)
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


def axis_indices(expr: Expr, axis: int | str | Sequence[int | str] | None) -> tuple[Index, ...]:
    """The free indices of ``expr`` that ``axis`` chooses, in the order of ``expr``'s axes: all of them for
    ``None``.  Every reduction (sum, mean, …) reduces exactly these, so what it sums and what it counts
    are one lookup.  A matrix-style expression's axes are named ``i, j, …`` by position.

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
        raise ShapeError(f"axis {axis} is out of range for {expr} of shape {_dims(expr)}")
    return expr.free[axis]


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
    labels = _axis_labels(expr, names)
    if isinstance(expr, Tensor):  # a tensor holds its diagonal itself: A[j,j]
        relabel = dict(zip(expr.free, labels, strict=True))
        return Tensor(expr.spec, tuple(relabel[k] for k in expr.indices))
    return with_positional(diagonal_labels(expr, labels), False)


def _axis_labels(expr: Expr, names: Any) -> tuple[Index, ...]:
    """The indices ``names`` gives ``expr``'s axes; a repeated name must label axes of one dimension."""
    raw = names if isinstance(names, tuple) else (names,)
    wanted = [k.name if isinstance(k, Index) else k for k in raw]
    for name in wanted:
        if not isinstance(name, str) or not _NAME.match(name):
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


def let(name: str, value: Operand, *, adjoint: str | None = None) -> Expr:
    """Name an intermediate: it prints as ``name[…]`` and derivatives flowing back through it
    are named ``adjoint`` (default ``d`` + name), so results stay short instead of re-expanding.

    >>> W, x = tensors("W[m,n] x[n]")
    >>> z = let("z", W @ x, adjoint="δ")
    >>> print(sigmoid(z))
    σ(z[i])
      where z[i] = W[i,j] x[j]
    """
    if not _NAME.match(require_text(name, "the name of an intermediate", "'z'")):
        raise ParseError(f"{name!r} is not a valid name for an intermediate")
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
