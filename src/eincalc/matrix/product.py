"""Read one ``Contract`` (a product) as matrix notation, combining its factors two at a time.

Each step is an exact identity, tried in this order of preference:

1. numbers, sizes and other scalars join one scalar multiple;
2. a ones vector sharing its index with another factor is dropped; an index
   summed in one factor only is a sum along that axis (``1ᵀ v``, ``Xᵀ 1``,
   ``tr(A)`` for ``A[i,i]``);
3. two factors over the same indices multiply element-wise (``a ⊙ b``), or
   give an inner product (``aᵀ b``, ``tr(Aᵀ B)``) when those indices are
   summed there and nowhere else;
4. two factors sharing exactly one index, summed there and nowhere else, are a
   matrix product, oriented to read best in the output order (``Aᵀ Bᵀ``);
5. a vector sharing an index with a matrix otherwise scales its rows or
   columns (``Xᵀ diag(s) X``), a matrix that absorbs the diagonal first
   (``diag(s) (I − 1 sᵀ) = diag(s) − s sᵀ``);
6. two vectors over different free indices make an outer product (``g aᵀ``).

When no step applies, some index is shared by three or more factors in a way
no matrix product expresses, and `NoMatrixForm` says so.

>>> from eincalc.core.indices import Index, TensorSpec
>>> from eincalc.core.nodes import Tensor, Contract
>>> from eincalc.matrix.view import Converter
>>> from eincalc.matrix.render import to_text
>>> i, j = Index("i", "n"), Index("j", "n")
>>> x = Tensor(TensorSpec("x", ("n",)), (i,))
>>> A = Tensor(TensorSpec("A", ("n", "n")), (i, j))
>>> y = Tensor(TensorSpec("x", ("n",)), (j,))
>>> quadratic = Contract((x, A, y), ())
>>> to_text(read_product(quadratic, Converter(quadratic, rows=False)).matrix)
'xᵀ A x'
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..core.errors import NoMatrixForm
from ..core.indices import Index
from ..core.nodes import Contract
from .algebra import cost, hadamard, matmul, oriented, scale, transpose
from .reductions import inner, sum_all, sum_axis, sum_vector
from .sums import absorbs, scale_columns, scale_rows
from .tree import Kind, MatrixExpr, Number, Ones, Scale, Term, Zeros

if TYPE_CHECKING:
    from .view import Converter


def read_product(node: Contract, convert: Converter) -> Term:
    """The matrix reading of ``node``, its axes in a readable order (``convert`` reads the factors)."""
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
        self.zero = any(isinstance(f, Zeros) for f in [*self.scalars, *(t.matrix for t in self.terms)])

    def _scalar(self, factor: MatrixExpr) -> None:
        if isinstance(factor, Scale):
            self._scalar(factor.factor)
            self._scalar(factor.child)
        elif isinstance(factor, Number):
            self.coefficient *= factor.value
        else:
            self.scalars.append(factor)

    def read(self) -> Term:
        if self.zero:
            labels = self._order(self.out)
            kind: Kind = ("scalar", self.convert.vector, "matrix")[len(labels)]
            axes = tuple(self.convert.axis(k.dim) for k in labels)
            return self.convert.orient(Term(Zeros(axes, kind, tuple(k.dim for k in labels)), labels), labels)
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
        return NoMatrixForm(
            f"index {k} is shared by {count} factors with no matrix reading (matrix products "
            "pair two factors at a time); keep the index form"
        )

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
            ones = [self.convert.ones(k) for k in lonely]
            if len(term.labels) == 1:
                self._scalar(sum_vector(term.matrix, ones[0]))
            elif len(lonely) == 2:
                self._scalar(sum_all(term.matrix, *ones))
            else:
                axis = term.labels.index(lonely[0])
                summed = sum_axis(term.matrix, axis, ones[0], self.convert.vector)
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
        pairs = [
            (n, m)
            for n, vector in enumerate(self.terms)
            for m, matrix in enumerate(self.terms)
            if len(vector.labels) == 1 and len(matrix.labels) == 2 and vector.labels[0] in matrix.labels
        ]
        if not pairs:  # no vector and matrix share the vector's index
            return False
        n, m = min(pairs, key=lambda pair: not self._absorbs(*self._scaled(*pair)))
        target, side = self._scaled(n, m)
        vector = oriented(self.terms[n].matrix, self.convert.vector)
        product = scale_rows(vector, target.matrix) if side == 0 else scale_columns(target.matrix, vector)
        self.terms[m] = Term(product, target.labels)
        del self.terms[n]
        return True

    def _scaled(self, n: int, m: int) -> tuple[Term, int]:
        """Matrix ``m`` oriented to absorb vector ``n``'s diagonal if either way does (else as preferred), and the
        side (0: rows, −1: columns) the vector scales."""
        preferred = self._prefer(self.terms[m])
        turned = Term(transpose(preferred.matrix), preferred.labels[::-1])
        sides = [(target, 0 if target.labels[0] == self.terms[n].labels[0] else -1) for target in (preferred, turned)]
        return next((option for option in sides if self._absorbs(*option)), sides[0])

    @staticmethod
    def _absorbs(target: Term, side: int) -> bool:
        return absorbs(target.matrix, side)

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
