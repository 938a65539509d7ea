"""Read an index-form expression as matrix notation: :func:`to_matrix`.

Every node is turned into a :class:`Term`: a matrix-notation tree plus the
indices its axes stand for (rows first).  A product (``Contract``) is read by
combining its factors' terms two at a time, each step an exact identity:

1. scalars (constants, sizes, rank-0 factors) become one scalar multiple;
2. an index summed in one term only is a sum along that axis (``1ᵀ v``,
   ``Xᵀ 1``, ``tr(A)`` for ``A[i,i]``); a ones vector sharing an index with
   another term is dropped;
3. two terms over the same indices multiply element-wise (``a ⊙ b``), or give
   an inner product (``aᵀ b``, ``tr(Aᵀ B)``) when those indices are summed
   there and nowhere else;
4. two terms sharing exactly one index, summed there and nowhere else, are a
   matrix product, oriented to match the output order (``Aᵀ Bᵀ``, ``Wᵀ g``);
5. a vector sharing an index with a matrix otherwise scales its rows or
   columns (``Xᵀ diag(s) X``);
6. two vectors over different free indices give an outer product (``g aᵀ``).

What none of these reads raises :class:`~eincalc.errors.NoMatrixForm` with the
reason; nothing is guessed and einsum is never the answer.  Column vectors are
the default; ``rows=True`` reads free vectors as rows (``x W₁ + b₁``).

Node kinds added by other modules plug in with :func:`register_matrix_rule`.

>>> from eincalc.expr import Index, TensorSpec, Tensor, Contract
>>> i, q = Index("i", "m"), Index("q", "n")
>>> W = Tensor(TensorSpec("W", ("m", "n")), (i, q))
>>> g = Tensor(TensorSpec("g", ("m",)), (i,))
>>> form = to_matrix(Contract((W, g), (q,)))
>>> form.text, form.numpy, to_matrix(Contract((W, g), (q,)), rows=True).text
('Wᵀ g', 'W.T @ g', 'g W')
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np

from .errors import NoMatrixForm
from .expr import Add, Apply, Const, Contract, Delta, Expr, Index, Named, One, Size, Tensor, Zero, walk
from .matrix_algebra import (
    add,
    broadcast,
    cost,
    hadamard,
    inner,
    matmul,
    oriented,
    scale,
    sum_all,
    sum_axis,
    sum_vector,
    transpose,
)
from .matrix_render import to_latex, to_numpy, to_text
from .matrix_tree import (
    Axis,
    Diag,
    DiagPart,
    Function,
    Identity,
    Intermediate,
    Kind,
    MatrixExpr,
    Number,
    Ones,
    Outer,
    Scale,
    SizeOf,
    Symbol,
    Zeros,
    evaluate,
)

_KIND_RANK = {"scalar": 0, "col": 1, "row": 1, "matrix": 2}


@dataclass(frozen=True, slots=True)
class Term:
    """A matrix-notation tree and the indices of its axes: rows first, one for a vector."""

    matrix: MatrixExpr
    labels: tuple[Index, ...]

    def __post_init__(self) -> None:
        if len(set(self.labels)) != len(self.labels) or _KIND_RANK[self.matrix.kind] != len(self.labels):
            raise TypeError(f"a {self.matrix.kind} cannot carry indices ({_names(self.labels)})")


@dataclass(frozen=True)
class MatrixForm:
    """The matrix reading of an index expression.

    ``indices`` are the result's free indices in order: its array axes, exactly
    as in the index form.  ``evaluate`` walks the tree with NumPy (no code is
    executed); ``numpy`` is the same computation as source text.
    """

    tree: MatrixExpr
    indices: tuple[Index, ...]
    rows: bool = False

    @property
    def text(self) -> str:
        return to_text(self.tree)

    @property
    def latex(self) -> str:
        return to_latex(self.tree)

    @property
    def numpy(self) -> str:
        return to_numpy(self.tree)

    def evaluate(self, values: Mapping[str, Any]) -> np.ndarray:
        """The value for the tensor arrays ``values`` (by tensor name), axes in ``indices`` order."""
        return np.asarray(evaluate(self.tree, values))

    def __str__(self) -> str:
        return self.text

    def _repr_latex_(self) -> str:
        return f"${self.latex}$"

    def _repr_markdown_(self) -> str:
        return f"${self.latex}$"


def to_matrix(expr: Expr, *, rows: bool = False) -> MatrixForm:
    """The matrix form of ``expr``; :class:`NoMatrixForm` says why there is none."""
    convert = Converter(expr, rows)
    term = convert.orient(convert(expr), expr.free)
    return MatrixForm(term.matrix, expr.free, rows)


# -- the rule registry ----------------------------------------------------------------------

Rule = Callable[[Any, "Converter"], Term]
_RULES: dict[type, Rule] = {}
_R = TypeVar("_R", bound=Rule)


def register_matrix_rule(node_type: type) -> Callable[[_R], _R]:
    """Register ``rule(node, convert) -> Term`` as the matrix reading of ``node_type``.

    ``convert(child)`` reads a sub-expression; ``convert.axis(dim)`` locates a
    dimension's size.  The returned term must carry exactly the node's free
    indices.  Raise :class:`NoMatrixForm` for instances with no reading.
    """

    def decorate(rule: _R) -> _R:
        _RULES[node_type] = rule
        return rule

    return decorate


class Converter:
    """Reads nodes of one expression into :class:`Term` objects (see :func:`register_matrix_rule`)."""

    def __init__(self, root: Expr, rows: bool) -> None:
        self.root = root
        self.vector: Kind = "row" if rows else "col"
        self._axes: dict[str, Axis] = {}
        for sub in walk(root):
            if isinstance(sub, Tensor):
                for position, dim in enumerate(sub.spec.dims):
                    self._axes.setdefault(dim, Axis(sub.spec.name, position))

    def __call__(self, node: Expr) -> Term:
        if node.rank > 2:
            what = "result" if node is self.root else _factor(node) if isinstance(node, Tensor) else "a sub-expression"
            raise NoMatrixForm(f"{what} has rank {node.rank} ({_names(node.free)}): no matrix reading")
        rule = next((_RULES[cls] for cls in type(node).__mro__ if cls in _RULES), None)
        if rule is None:
            raise NoMatrixForm(f"no matrix reading for {type(node).__name__} nodes")
        term = rule(node, self)
        if set(term.labels) != set(node.free):
            raise TypeError(f"matrix rule for {type(node).__name__} returned indices ({_names(term.labels)})")
        return term

    def axis(self, dim: str) -> Axis:
        """A tensor axis of dimension ``dim``, to read its size from."""
        try:
            return self._axes[dim]
        except KeyError:
            raise NoMatrixForm(f"no tensor in the expression has dimension {dim} to take its size from") from None

    def ones(self, index: Index) -> Ones:
        """The column of ones along ``index``."""
        return Ones(index.dim, self.axis(index.dim), "col")

    def orient(self, term: Term, order: tuple[Index, ...]) -> Term:
        """``term`` with its axes in ``order`` (a vector in this reading's orientation)."""
        if len(term.labels) == 1:
            return Term(oriented(term.matrix, self.vector), term.labels)
        wanted = tuple(k for k in order if k in term.labels)
        if len(term.labels) == 2 and term.labels != wanted:
            return Term(transpose(term.matrix), wanted)
        return term


def _names(indices: tuple[Index, ...]) -> str:
    return ", ".join(k.name for k in indices)


def _factor(tensor: Tensor) -> str:
    return f"factor {tensor.spec.name}[{','.join(k.name for k in tensor.indices)}]"


# -- rules for the core nodes ---------------------------------------------------------------


@register_matrix_rule(Tensor)
def _tensor(node: Tensor, convert: Converter) -> Term:
    spec = node.spec
    if len(spec.dims) > 2:  # a diagonal such as T[i,i,j]
        raise NoMatrixForm(f"{_factor(node)} has rank {len(spec.dims)}: no matrix reading")
    if len(spec.dims) < 2:
        return Term(Symbol(spec.name, convert.vector if spec.dims else "scalar"), node.indices)
    matrix = Symbol(spec.name, "matrix", spec.symmetric)
    i, j = node.indices
    return Term(DiagPart(matrix, convert.vector), (i,)) if i == j else Term(matrix, (i, j))


@register_matrix_rule(Delta)
def _delta(node: Delta, convert: Converter) -> Term:
    if node.i == node.j:
        return Term(convert.ones(node.i), (node.i,))
    return Term(Identity(node.i.dim, convert.axis(node.i.dim)), (node.i, node.j))


@register_matrix_rule(One)
def _one(node: One, convert: Converter) -> Term:
    return Term(convert.ones(node.i), (node.i,))


@register_matrix_rule(Zero)
def _zero(node: Zero, convert: Converter) -> Term:
    labels = tuple(dict.fromkeys(node.indices))
    kind: Kind = ("scalar", convert.vector, "matrix")[len(labels)]
    return Term(Zeros(tuple(convert.axis(k.dim) for k in labels), kind), labels)


@register_matrix_rule(Const)
def _const(node: Const, convert: Converter) -> Term:
    return Term(Number(float(node.value)), ())


@register_matrix_rule(Size)
def _size(node: Size, convert: Converter) -> Term:
    return Term(SizeOf(node.dim, convert.axis(node.dim)), ())


@register_matrix_rule(Apply)
def _apply(node: Apply, convert: Converter) -> Term:
    arg = convert(node.arg)
    return Term(Function(node.fn, node.param, arg.matrix), arg.labels)


@register_matrix_rule(Named)
def _named(node: Named, convert: Converter) -> Term:
    body = convert.orient(convert(node.body), node.body.free)
    return Term(Intermediate(node.name, body.matrix), node.indices)


@register_matrix_rule(Add)
def _add(node: Add, convert: Converter) -> Term:
    out = node.out
    terms = [convert(t) for t in node.terms]
    if all(len(t.labels) < len(out) for t in terms):
        terms[0] = _fill(terms[0], out, convert)
    parts: list[MatrixExpr] = []
    for term in terms:
        if len(term.labels) in (0, len(out)):
            parts.append(convert.orient(term, out).matrix)
        else:  # a vector in a matrix sum
            (k,) = term.labels
            other = out[1 - out.index(k)]
            parts.append(broadcast(oriented(term.matrix, convert.vector), out.index(k), convert.ones(other)))
    kind: Kind = ("scalar", convert.vector, "matrix")[len(out)]
    return Term(add(parts, kind), out)


def _fill(term: Term, out: tuple[Index, ...], convert: Converter) -> Term:
    """``term`` spelled out over every index of ``out`` with ones vectors."""
    factor = Number(1.0) if term.labels else term.matrix
    pieces = [term.matrix if term.labels == (k,) else convert.ones(k) for k in out]
    if len(out) == 1:
        return Term(scale(factor, oriented(pieces[0], convert.vector)), out)
    return Term(scale(factor, Outer(oriented(pieces[0], "col"), oriented(pieces[1], "row"))), out)


@register_matrix_rule(Contract)
def _contract(node: Contract, convert: Converter) -> Term:
    return _Product(node, convert).read()


_COUNTS = ("no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")


class _Product:
    """The factors of one ``Contract`` being combined, two at a time, into one term."""

    def __init__(self, node: Contract, convert: Converter) -> None:
        self.convert = convert
        self.out = node.out
        self.coefficient = 1.0
        self.scalars: list[MatrixExpr] = []
        self.terms: list[Term] = []
        for factor in node.factors:
            term = convert(factor)
            if not term.labels:
                self._scalar(term.matrix)
                continue
            matrix = term.matrix
            while isinstance(matrix, Scale):  # its scalar joins the others
                self._scalar(matrix.factor)
                matrix = matrix.child
            self.terms.append(Term(matrix, term.labels))
        seen = dict.fromkeys(node.out + tuple(k for t in self.terms for k in t.labels))
        self.rank = {k: n for n, k in enumerate(seen)}

    def _scalar(self, factor: MatrixExpr) -> None:
        if isinstance(factor, Scale):
            self._scalar(factor.factor)
            self._scalar(factor.child)
        elif isinstance(factor, Number):
            self.coefficient *= factor.value
        else:
            self.scalars.append(factor)

    def read(self) -> Term:
        steps = (self._drop_ones, self._sum_out, self._elementwise, self._matmul, self._diag_scale, self._outer)
        while any(step() for step in steps):
            pass
        if len(self.terms) > 1 or any(k not in self.out for t in self.terms for k in t.labels):
            raise self._stuck()
        body = self.terms[0].matrix if self.terms else None
        for factor in reversed(self.scalars):
            body = factor if body is None else scale(factor, body)
        number = Number(self.coefficient)
        body = number if body is None else scale(number, body)
        return self._prefer(Term(body, self.terms[0].labels if self.terms else ()))

    # -- bookkeeping ------------------------------------------------------------------------
    def _uses(self, k: Index) -> int:
        return sum(k in t.labels for t in self.terms)

    def _private(self, k: Index, count: int) -> bool:
        """``k`` is summed here and used by exactly ``count`` terms."""
        return k not in self.out and self._uses(k) == count

    def _order(self, labels: tuple[Index, ...]) -> tuple[Index, ...]:
        return tuple(sorted(labels, key=self.rank.__getitem__))

    def _prefer(self, term: Term) -> Term:
        return self.convert.orient(term, self._order(term.labels))

    def _pairs(self) -> list[tuple[int, int]]:
        n = len(self.terms)
        return [(a, b) for a in range(n) for b in range(a + 1, n)]

    def _merge(self, a: int, b: int, term: Term) -> bool:
        self.terms[a] = term
        del self.terms[b]
        return True

    def _stuck(self) -> NoMatrixForm:
        uses = {k: self._uses(k) for t in self.terms for k in t.labels}
        k = max(uses, key=uses.__getitem__)
        count = _COUNTS[uses[k]] if uses[k] < len(_COUNTS) else str(uses[k])
        return NoMatrixForm(f"index {k} is shared by {count} factors with no matrix reading")

    # -- the steps, in order of preference ----------------------------------------------------
    def _drop_ones(self) -> bool:
        for n, term in enumerate(self.terms):
            if isinstance(term.matrix, Ones) and self._uses(term.labels[0]) > 1:
                del self.terms[n]
                return True
        return False

    def _sum_out(self) -> bool:
        for n, term in enumerate(self.terms):
            lonely = [k for k in term.labels if self._private(k, 1)]
            if not lonely:
                continue
            del self.terms[n]
            ones = [self.convert.ones(k) for k in term.labels]
            if len(term.labels) == 1:
                self._scalar(sum_vector(term.matrix, ones[0]))
            elif len(lonely) == 2:
                self._scalar(sum_all(term.matrix, ones[0], ones[1]))
            else:
                axis = term.labels.index(lonely[0])
                summed = sum_axis(term.matrix, axis, ones[axis], self.convert.vector)
                self.terms.insert(n, Term(summed, (term.labels[1 - axis],)))
            return True
        return False

    def _elementwise(self) -> bool:
        for a, b in self._pairs():
            first, second = self.terms[a], self.terms[b]
            if set(first.labels) != set(second.labels):
                continue
            if all(self._private(k, 2) for k in first.labels):
                self._scalar(self._inner(first, second))
                del self.terms[b], self.terms[a]
                return True
            order = self._order(first.labels)
            left, right = self.convert.orient(first, order), self.convert.orient(second, order)
            return self._merge(a, b, Term(hadamard(left.matrix, right.matrix), order))
        return False

    def _inner(self, first: Term, second: Term) -> MatrixExpr:
        if len(first.labels) == 2:
            aligned = second.matrix if second.labels == first.labels else transpose(second.matrix)
            return inner(first.matrix, aligned)
        candidates = [
            matmul(oriented(x.matrix, "row"), oriented(y.matrix, "col")) for x, y in ((first, second), (second, first))
        ]
        return min(candidates, key=cost)

    def _matmul(self) -> bool:
        for a, b in self._pairs():
            first, second = self.terms[a], self.terms[b]
            shared = set(first.labels) & set(second.labels)
            if len(shared) != 1 or not self._private(k := shared.pop(), 2):
                continue
            candidates = [self._product(first, second, k), self._product(second, first, k)]
            return self._merge(a, b, min(candidates, key=lambda t: cost(t.matrix)))
        return False

    def _product(self, left: Term, right: Term, k: Index) -> Term:
        """``left right`` summed over ``k``: ``k`` becomes the column of ``left``, the row of ``right``."""
        lm = _with_axis(left, k, "row", 1)
        rm = _with_axis(right, k, "col", 0)
        labels = tuple(x for x in left.labels + right.labels if x != k)
        return self._prefer(Term(matmul(lm, rm), labels))

    def _diag_scale(self) -> bool:
        for n, vector in enumerate(self.terms):
            for m, matrix in enumerate(self.terms):
                if len(vector.labels) != 1 or len(matrix.labels) != 2 or vector.labels[0] not in matrix.labels:
                    continue
                target = self._prefer(matrix)
                diag = Diag(oriented(vector.matrix, self.convert.vector))
                first = target.labels[0] == vector.labels[0]
                product = matmul(diag, target.matrix) if first else matmul(target.matrix, diag)
                self.terms[m] = Term(product, target.labels)
                del self.terms[n]
                return True
        return False

    def _outer(self) -> bool:
        vectors = [n for n, t in enumerate(self.terms) if len(t.labels) == 1 and t.labels[0] in self.out]
        if len(vectors) < 2:
            return False
        a, b = vectors[:2]
        first, second = sorted((self.terms[a], self.terms[b]), key=lambda t: self.rank[t.labels[0]])
        product = matmul(oriented(first.matrix, "col"), oriented(second.matrix, "row"))
        return self._merge(a, b, Term(product, first.labels + second.labels))


def _with_axis(term: Term, k: Index, vector_kind: Kind, position: int) -> MatrixExpr:
    """``term``'s tree with index ``k`` at ``position`` (a vector as ``vector_kind``)."""
    if len(term.labels) == 1:
        return oriented(term.matrix, vector_kind)
    return term.matrix if term.labels[position] == k else transpose(term.matrix)
