"""Strict matrix types for `eincalc.parse_matrix()`: scalars, column and row vectors, matrices.

A `Shape` is a kind and one dimension per axis (rows first).  A
dimension is a declared name (``n``) or a `Var`, the yet unknown size of
an ``I``, a ``1`` or a ``vector(…)``, which `unify()` fixes from what stands
beside it.  The literals ``0`` and ``1`` are `Flexible`: the zero or
ones of whatever shape a sum or product gives them (``1 − σ(z)``, ``1ᵀ y``),
a plain number where nothing does.

The rules, and the message of each broken one, live here: ``a b`` is the
matrix product (inner dimensions equal) unless one side is a scalar, ``⊙`` and
``+`` need one shape; nothing broadcasts.

>>> n = "n"
>>> product_rule(Shape("row", (n,)), Shape("matrix", (n, "m")))
('matmul', Shape(kind='row', dims=('m',)))
>>> describe(Shape("matrix", ("m", "n"))), describe(Shape("col", ("n",)))
('an m×n matrix', 'an n-vector')
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Kind = Literal["scalar", "col", "row", "matrix"]
FLIP: dict[Kind, Kind] = {"col": "row", "row": "col", "scalar": "scalar", "matrix": "matrix"}


class Var:
    """An unknown dimension; ``origin`` says what it is the size of, ``column`` where that stands."""

    __slots__ = ("column", "origin", "parent")

    def __init__(self, origin: str, column: int) -> None:
        self.origin, self.column = origin, column
        self.parent: Dim | None = None


Dim = str | Var


def find(dim: Dim) -> Dim:
    """What ``dim`` stands for now: a name, or the representative unknown."""
    while isinstance(dim, Var) and dim.parent is not None:
        dim = dim.parent
    return dim


def unify(a: Dim, b: Dim) -> bool:
    """Make ``a`` and ``b`` one dimension; False when they are two different names."""
    a, b = find(a), find(b)
    if a is b or a == b:
        return True
    if isinstance(a, Var):
        a.parent = b
    elif isinstance(b, Var):
        b.parent = a
    else:
        return False
    return True


@dataclass(frozen=True)
class Shape:
    kind: Kind
    dims: tuple[Dim, ...] = ()

    def flipped(self) -> Shape:
        """The transpose's shape."""
        return Shape(FLIP[self.kind], self.dims[::-1])

    def known(self) -> tuple[Dim, ...]:
        return tuple(find(d) for d in self.dims)


SCALAR = Shape("scalar")


def vector(kind: Kind, dim: Dim) -> Shape:
    return Shape(kind, (dim,))


class Flexible:
    """The type of a literal ``0`` or ``1`` until a sum or product settles it (union-find over literals).

    ``written`` says the value is the literal itself, perhaps scaled or summed (``2 1``): what spells the
    ones vector in a product (``1 xᵀ``).  A function of it (``σ(1)``, `derived()`) settles with it but is a
    number in a product.
    """

    __slots__ = ("parent", "target", "written")

    def __init__(self, written: bool = True) -> None:
        self.parent: Flexible | None = None
        self.target: Shape | None = None
        self.written = written

    def derived(self) -> Flexible:
        """A value computed from this literal: the same shape, but not written as a literal."""
        value = Flexible(written=False)
        value.parent = self.root()
        return value

    def root(self) -> Flexible:
        node = self
        while node.parent is not None:
            node = node.parent
        return node

    def settle(self, shape: Shape) -> Shape:
        root = self.root()
        if root.target is None:
            root.target = shape
        return root.target

    def joined(self, *others: Flexible) -> Flexible:
        """This literal settled with ``others`` (one shape, as the terms of a sum): written when every one is
        (``1 + 1``), whatever the literal that the shape is kept on; ``1 − σ(1)`` is a number in a product.

        >>> one = Flexible()
        >>> one.joined(Flexible()).written, one.joined(one.derived()).written
        (True, False)
        """
        value = Flexible(written=self.written and all(other.written for other in others))
        root = self.root()
        for other in others:
            root = root.join(other)
        value.parent = root
        return value

    def join(self, other: Flexible) -> Flexible:
        mine, theirs = self.root(), other.root()
        if mine is not theirs:
            theirs.parent = mine
        return mine


Type = Shape | Flexible


def final(kind: Type) -> Shape:
    """The shape a type ends as (a literal nothing settled is a number)."""
    return kind if isinstance(kind, Shape) else kind.settle(SCALAR)


def same(a: Shape, b: Shape) -> bool:
    """Unify ``a`` and ``b`` axis by axis; False when kinds or a pair of named dimensions differ."""
    return a.kind == b.kind and all([unify(x, y) for x, y in zip(a.dims, b.dims, strict=True)])


def square(shape: Shape) -> bool:
    return shape.kind == "matrix" and unify(*shape.dims)


# -- words ---------------------------------------------------------------------------------------


def dim_name(dim: Dim) -> str:
    dim = find(dim)
    return dim if isinstance(dim, str) else "?"


def describe(shape: Shape) -> str:
    """``a scalar``, ``an n-vector`` (a column), ``a row n-vector``, ``an m×n matrix``."""
    if shape.kind == "scalar":
        return "a scalar"
    names = [dim_name(d) for d in shape.dims]
    if "?" in names:  # a size still unknown (of an I, a 1)
        square = shape.kind == "matrix" and find(shape.dims[0]) is find(shape.dims[1])
        words = {"matrix": "a square matrix" if square else "a matrix", "row": "a row vector"}
        return words.get(shape.kind, "a vector")
    if shape.kind == "matrix":
        return f"{_article(names[0])} {names[0]}×{names[1]} matrix"
    if shape.kind == "row":
        return f"a row {names[0]}-vector"
    return f"{_article(names[0])} {names[0]}-vector"


def _article(word: str) -> str:
    vowel_sound = word[:1] in "aeiou" if len(word) > 1 else word in "aefhilmnorsx"
    return "an" if vowel_sound else "a"


def grouped(text: str) -> str:
    """``text`` as one operand: in parentheses unless it is a name, a number or already grouped."""
    simple = " " not in text and not any(op in text for op in "+−-*/⊙⊘")
    return text if simple or (text.startswith("(") and text.endswith(")")) else f"({text})"


def transposed(text: str) -> str:
    """The spelling of ``text``'s transpose: ``x → xᵀ``, ``xᵀ → x``, ``A x → (A x)ᵀ``."""
    for mark in ("ᵀ", "'"):
        if text.endswith(mark) and grouped(text[: -len(mark)]) == text[: -len(mark)]:
            return text[: -len(mark)]
    return grouped(text) + "ᵀ"


# -- products --------------------------------------------------------------------------------------


def product_rule(left: Shape, right: Shape) -> tuple[str, Shape] | None:
    """How ``left right`` multiplies (``matmul``, ``outer`` or ``scale``) and its shape; None if it does not."""
    if left.kind == "scalar" or right.kind == "scalar":
        return "scale", right if left.kind == "scalar" else left
    if left.kind == "col" and right.kind == "row":
        return "outer", Shape("matrix", (left.dims[0], right.dims[0]))
    inner_left = left.dims[-1] if left.kind in ("row", "matrix") else None
    inner_right = right.dims[0] if right.kind in ("col", "matrix") else None
    if inner_left is None or inner_right is None or not unify(inner_left, inner_right):
        return None
    rest = left.dims[:-1] + right.dims[1:]
    kind: Kind = {0: "scalar", 1: "col" if left.kind == "matrix" else "row", 2: "matrix"}[len(rest)]
    return "matmul", Shape(kind, rest)


def product_problem(left: Shape, right: Shape, left_text: str, right_text: str) -> str:
    """Why ``left right`` is no matrix product, and the spelling that is one."""
    what = f"the matrix product of {describe(left)} and {describe(right)}"
    a, b, at, bt = grouped(left_text), grouped(right_text), transposed(left_text), transposed(right_text)
    if left.kind == right.kind and left.kind in ("col", "row"):
        inner, outer = (f"{at} {b}", f"{a} {bt}") if left.kind == "col" else (f"{a} {bt}", f"{at} {b}")
        return (
            f"{what} is not defined; write {inner} for the inner product, {outer} for the outer product, "
            f"or {a} ⊙ {b} element-wise"
        )
    sides = (left.dims[-1] if left.kind != "col" else None, right.dims[0] if right.kind != "row" else None)
    inner_dims = [d for d in sides if d is not None]
    why = (
        f"inner dimensions {dim_name(inner_dims[0])} and {dim_name(inner_dims[1])} differ"
        if len(inner_dims) == 2
        else "a column vector can only be followed by a row vector or a scalar"
        if left.kind == "col"
        else "a row vector can only follow a column vector or a scalar"
    )
    candidates = ((at, b, left.flipped(), right), (a, bt, left, right.flipped()))
    fixes = [f"{x} {y}" for x, y, new_left, new_right in candidates if _fits(new_left, new_right)]
    return f"{what}: {why}" + (f"; did you mean {fixes[0]}?" if fixes else "")


def _fits(left: Shape, right: Shape) -> bool:
    """Whether ``left right`` multiplies, judged on named dimensions only (nothing is unified)."""
    if left.kind == "col" and right.kind == "row":
        return True
    if left.kind not in ("row", "matrix") or right.kind not in ("col", "matrix"):
        return False
    return _may_equal(left.dims[-1], right.dims[0])


# -- sums and element-wise operations ---------------------------------------------------------------


def mismatch(first: Shape, other: Shape, first_text: str, other_text: str, operation: str) -> str:
    """Why two operands of a sum (``operation`` "plus" or "minus") or of ``⊙``/``⊘`` do not match, and a fix."""
    summed = operation in ("plus", "minus")
    rule = (
        "the terms of a sum must have one shape (strict matrix typing never broadcasts)"
        if summed
        else "element-wise operations need operands of one shape"
    )
    fix = _spread(first, other, first_text, other_text) or _spread(other, first, other_text, first_text)
    if fix is None and first.kind == other.kind == "matrix" and _same_names(first, Shape("matrix", other.dims[::-1])):
        fix = f"did you mean {transposed(other_text)}?"
    if fix is None and {first.kind, other.kind} == {"col", "row"}:
        fix = f"transpose one of them, like {transposed(other_text)}"
    return f"{describe(first)} {operation} {describe(other)}: {rule}" + (f"; {fix}" if fix else "")


def _same_names(a: Shape, b: Shape) -> bool:
    return a.kind == b.kind and all(find(x) == find(y) for x, y in zip(a.dims, b.dims, strict=True))


def _spread(big: Shape, small: Shape, big_text: str, small_text: str) -> str | None:
    """The spelling that repeats the smaller operand ``small`` to ``big``'s shape, if any."""
    s = grouped(small_text)
    if small.kind == "scalar" and big.kind in ("col", "row"):
        return f"to repeat the scalar, write {s} 1{'ᵀ' if big.kind == 'row' else ''}"
    if small.kind == "scalar" and big.kind == "matrix":
        return f"to repeat the scalar, write {s} 1 1ᵀ"
    if big.kind != "matrix" or small.kind not in ("col", "row"):
        return None
    rows, cols = big.dims
    length = small.dims[0]
    column = s if small.kind == "col" else f"{s}ᵀ"
    row = f"{s}ᵀ" if small.kind == "col" else s
    options = ([f"{column} 1ᵀ (a copy in every column)"] if _may_equal(length, rows) else []) + (
        [f"1 {row} (a copy in every row)"] if _may_equal(length, cols) else []
    )
    return "to repeat the vector, write " + " or ".join(options) if options else None


def _may_equal(a: Dim, b: Dim) -> bool:
    """Whether ``a`` and ``b`` can be one dimension (equal names, or one still unknown)."""
    a, b = find(a), find(b)
    return a == b or isinstance(a, Var) or isinstance(b, Var)
