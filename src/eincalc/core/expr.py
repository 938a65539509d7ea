"""The index-form IR: frozen expression nodes whose axes are named indices.

Every expression is an einsum with functions.  Nodes are immutable, compare
structurally and cache their hash and free indices.  Axes are `Index`
objects (a name plus a dimension name), never positions, so a transpose can
never be lost.

The design (issue 13): every node is built through an intern table
(hash-consing), so a node equal to a live one *is* that one, wherever and at
whatever depth it occurs, and equality of interned nodes is an identity check.
A binding node (`Contract`, `Add`) names its summed indices from the node alone
(``i, j, …`` by first appearance, skipping its own output names), never from the
scope it is used in, so equal sub-expressions are spelled alike everywhere;
clashes with an enclosing scope are resolved only when printing.  Every derived
fact (free indices, size written out, canonical and simplified forms,
derivatives) is kept on the node (`Expr.memo()`, `Expr.cached()`), computed
children first with an explicit stack: work is once per distinct node and
nothing recurses with the depth of an expression.

Node kinds:

==============  ===========================================================
``Tensor``      a declared tensor with an index per axis (``W[i,j]``; a
                repeated index such as ``A[i,i]`` reads the diagonal)
``Delta``       Kronecker delta ``δ[i,j]``
``One``         the all-ones vector ``1[i]`` (broadcasts along ``i``)
``Zero``        the zero tensor over some indices
``Const``       a real scalar
``Size``        the size of a dimension (what ``Σ_i 1`` and ``δ[i,i]`` become)
``Contract``    einsum: product of factors, summed over every index not in ``out``
``Add``         sum of terms; a term may lack some of ``out`` (it broadcasts)
``Apply``       an element-wise function of one argument (``σ(z)[i]``)
==============  ===========================================================

Further node kinds (structured and matrix functions) subclass `Expr` in
their own modules and implement the same small protocol: ``args``, ``free``,
``map_children``.

A node's Python operators and views (``W @ a``, ``x[i]``, ``str``, `Expr.latex()`,
`Expr.to_matrix()`) call what the layers above register in `OPERATORS` and
`VIEWS` when they are imported: this module imports nothing above it.

>>> from eincalc.core.expr import Index, TensorSpec, Tensor, Contract
>>> i, j = Index("i", "m"), Index("j", "n")
>>> W = Tensor(TensorSpec("W", ("m", "n")), (i, j))
>>> a = Tensor(TensorSpec("a", ("n",)), (j,))
>>> z = Contract((W, a), (i,))
>>> [k.name for k in z.free], z.shape
(['i'], ('m',))
"""

from __future__ import annotations

import contextlib
import itertools
import math
import weakref
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar, TypeVar, dataclass_transform

from .errors import IndexMismatch, UnsupportedError, count
from .registry import Registry

OPERATORS: Registry[str, Callable[..., Expr]] = Registry(
    "expression operator", "eincalc.frontend.build registers the operators when imported (import eincalc does)"
)
"""What a node's Python operators call, by name (``add``, ``scale``, ``multiply``, ``divide``, ``power``,
``matmul``, ``transpose``, ``index``): the builder sits a layer above and registers them, so a node never imports it."""

RENAMING: Registry[str, Callable[[Any, Any], Any]] = Registry(
    "index renaming", "eincalc.core.names registers it when imported (importing eincalc.core does)"
)
"""Capture-avoiding renaming (`eincalc.core.names.rename()`), which a `Contract` needs to name its summed indices
from itself: it is written over these nodes, so it registers here instead of being imported by them."""

VIEWS: Registry[str, Callable[..., Any]] = Registry(
    "view of expressions",
    "eincalc.frontend.printing registers text, latex and einsum, eincalc.matrix.view registers matrix, when imported "
    "(import eincalc does)",
)
"""What ``str(node)``, `Expr.latex()`, `Expr.to_einsum()` and `Expr.to_matrix()` call: registered by the printer
and the matrix view, layers above."""


@dataclass(frozen=True, slots=True, order=True)
class Index:
    """A named axis: ``name`` is what prints, ``dim`` names its size (``m``, ``batch``)."""

    name: str
    dim: str
    _hash: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_hash", hash((self.name, self.dim)))  # every dict of the core is keyed by indices

    def __hash__(self) -> int:
        return self._hash

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True, slots=True)
class TensorSpec:
    """A declared tensor: its name, one dimension name per axis, and known properties.

    ``symmetric`` declares ``S[i,j] = S[j,i]`` (square matrices only); ``simplex``
    declares a vector whose entries sum to one (a one-hot label or a probability
    vector) along its last axis.
    """

    name: str
    dims: tuple[str, ...]
    symmetric: bool = False
    simplex: bool = False

    def __str__(self) -> str:
        """The declaration, as `eincalc.tensors()` reads it: ``W[m,n]``, or ``c (a scalar)``."""
        return f"{self.name}[{','.join(self.dims)}]" if self.dims else f"{self.name} (a scalar)"


_TABLE: weakref.WeakValueDictionary[tuple[Any, ...], Expr] = weakref.WeakValueDictionary()
"""The intern table: (node type, ``args()``, ``positional``) → the one node with that structure."""

_RAW = [0]


@contextlib.contextmanager
def raw_nodes() -> Iterator[None]:
    """Build nodes as written, neither canonical nor interned (the printers' display trees).

    A display tree names bound indices for a reader (no sum reuses a name of an enclosing
    scope); nodes built here keep those names and compare structurally.
    """
    _RAW[0] += 1
    try:
        yield
    finally:
        _RAW[0] -= 1


def raw_mode() -> bool:
    """Whether nodes are being built as written (inside `raw_nodes()`)."""
    return _RAW[0] > 0


class _Interning(type):
    """Metaclass of `Expr`: every node built is made canonical and interned (hash-consing)."""

    def __call__(cls, *args: Any, **kwargs: Any) -> Any:
        built = cls.__new__(cls)  # type: ignore[call-overload]
        object.__setattr__(built, "_rep", None)  # raw until interned (a check may print it while it is built)
        built.__init__(*args, **kwargs)
        return built if _RAW[0] else built._intern()


class Expr(metaclass=_Interning):
    """Base of every IR node.  Subclasses are frozen dataclasses, built through the intern table.

    Nodes are hash-consed: building a node equal to a live one returns that one, so
    equal sub-expressions are one object wherever they occur and every per-node cache
    (`memo()`, `cached()`) is shared by all their uses.  Equality is identity
    of the interned representative.  A binding node names its bound (summed) indices
    from the node alone (`_canonical()`), never from the scope it is used in, so
    equality modulo renaming of bound indices is equality.

    ``positional`` marks expressions built in matrix style (``W @ a``, a bare
    tensor): for those ``*`` is element-wise and ``+`` broadcasts by position,
    as in NumPy.  Indexed expressions (``W[i, j]``) follow Einstein's
    convention instead.  The flag never takes part in equality: a node and its
    twin with the other flag are two objects that share one representative.
    """

    __slots__ = ("__weakref__", "_free", "_hash", "_memo", "_rep", "_tree")
    _rep: Expr | None

    positional: bool
    _free: tuple[Index, ...]
    _hash: int
    _tree: int
    holds_diagonal: ClassVar[bool] = False
    """Whether a repeated label reads this node's diagonal (``A[i,i]``); such nodes absorb deltas."""
    opens_scope: ClassVar[bool] = False
    """Whether the index names inside this node's children are a scope of their own (``det(A[i,j])``)."""
    _memo: dict[str, Any]

    # -- structure ---------------------------------------------------------------
    def args(self) -> tuple[Any, ...]:
        """The node's defining fields, in order (``positional`` excluded)."""
        raise NotImplementedError

    def children(self) -> tuple[Expr, ...]:
        """Sub-expressions, in order."""
        return ()

    def shown_children(self) -> tuple[Expr, ...]:
        """The children as the text printer writes them: a node whose text relabels a child's free indices
        (``inv(X)[p,q]`` prints its body as ``X[p,q]``) gives the relabelled child."""
        return self.children()

    def map_children(self, fn: Callable[[Expr], Expr]) -> Expr:
        """A copy with ``fn`` applied to every child (the node itself if none)."""
        return self

    def _compute_free(self) -> tuple[Index, ...]:
        raise NotImplementedError

    @property
    def free(self) -> tuple[Index, ...]:
        """Free indices in order: the axes of the value."""
        try:
            return self._free
        except AttributeError:
            return self._fill_slot("_free", lambda n: n._compute_free())

    @property
    def shape(self) -> tuple[str, ...]:
        """Dimension names of the free indices."""
        return tuple(k.dim for k in self.free)

    @property
    def rank(self) -> int:
        return len(self.free)

    @property
    def tree_size(self) -> int:
        """Nodes of this expression written out: a shared sub-expression counted at each use, a named
        intermediate below it (`Named`) once.  Every pass works on the DAG instead; the printers
        name shared sub-expressions larger than a few nodes (`eincalc.core.intermediates`), and
        ``max_tree_nodes`` bounds it only where work is proportional to it (see `eincalc.core.limits`)."""
        return self._tree

    def __hash__(self) -> int:
        try:
            return self._hash
        except AttributeError:
            return self._fill_slot("_hash", lambda n: hash((type(n).__name__, n.args())))

    def __eq__(self, other: object) -> bool:
        if self is other:
            return True
        if type(other) is not type(self):
            return False
        assert isinstance(other, Expr)
        if self._rep is not None and other._rep is not None:
            return self._rep is other._rep
        return hash(self) == hash(other) and _same_args(self.args(), other.args())

    def _canonical(self) -> Expr:
        """This node with its bound indices named from the node alone (binding nodes override)."""
        return self

    def _intern(self) -> Expr:
        canonical = self._canonical()
        if canonical is not self:
            return canonical
        args = self.args()
        shape = _by_identity(args)
        key = (type(self), shape, self.positional)
        found = _TABLE.get(key)
        if found is not None:
            return found
        twin = _TABLE.get((type(self), shape, not self.positional))
        object.__setattr__(self, "_rep", self if twin is None else twin._rep)
        object.__setattr__(self, "_hash", hash((type(self).__name__, args)))
        _TABLE[key] = self
        return self

    def memo(self) -> dict[str, Any]:
        """A per-node cache for facts that depend only on the node (never on where it is used)."""
        try:
            return self._memo
        except AttributeError:
            object.__setattr__(self, "_memo", {})
            return self._memo

    def cached(self, key: str, compute: Callable[[Expr], Any]) -> Any:
        """``compute(self)``, kept in `memo()` under ``key``.

        Uncached descendants are computed first, children before parents and
        without recursion, so ``compute`` may read its children's cached values.
        """
        fill_bottom_up(self, lambda n: key in n.memo(), lambda n: n.memo().__setitem__(key, compute(n)))
        return self.memo()[key]

    def _fill_slot(self, attr: str, compute: Callable[[Expr], Any]) -> Any:
        fill_bottom_up(self, lambda n: hasattr(n, attr), lambda n: object.__setattr__(n, attr, compute(n)))
        return getattr(self, attr)

    # -- views and operators: registered by the layers above (`VIEWS`, `OPERATORS`) ----------------
    def __str__(self) -> str:
        return VIEWS.find("text")(self)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self}>"

    def latex(self) -> str:
        """LaTeX of the index form."""
        return VIEWS.find("latex")(self)

    def _repr_latex_(self) -> str:
        return f"${self.latex()}$"

    def _repr_markdown_(self) -> str:
        return f"${self.latex()}$"

    def to_einsum(self) -> tuple[str, list[Expr]]:
        """An einsum equation and operand list that computes this expression."""
        return VIEWS.find("einsum")(self)

    def to_matrix(self, *, rows: bool = False, sizes_from: Iterable[Tensor] = ()) -> Any:
        """The matrix view, a `eincalc.MatrixForm` (see `eincalc.to_matrix()`)."""
        return VIEWS.find("matrix")(self, rows=rows, sizes_from=sizes_from)

    def __getitem__(self, names: Any) -> Expr:
        return OPERATORS.find("index")(self, names)

    def __add__(self, other: Any) -> Expr:
        return OPERATORS.find("add")(self, other)

    def __radd__(self, other: Any) -> Expr:
        return OPERATORS.find("add")(other, self)

    def __sub__(self, other: Any) -> Expr:
        return OPERATORS.find("add")(self, OPERATORS.find("scale")(other, -1.0))

    def __rsub__(self, other: Any) -> Expr:
        return OPERATORS.find("add")(other, OPERATORS.find("scale")(self, -1.0))

    def __neg__(self) -> Expr:
        return OPERATORS.find("scale")(self, -1.0)

    def __mul__(self, other: Any) -> Expr:
        return OPERATORS.find("multiply")(self, other)

    def __rmul__(self, other: Any) -> Expr:
        return OPERATORS.find("multiply")(other, self)

    def __truediv__(self, other: Any) -> Expr:
        return OPERATORS.find("divide")(self, other)

    def __rtruediv__(self, other: Any) -> Expr:
        return OPERATORS.find("divide")(other, self)

    def __pow__(self, exponent: Any) -> Expr:
        return OPERATORS.find("power")(self, exponent)

    def __rpow__(self, base: Any) -> Expr:
        return OPERATORS.find("power")(base, self)

    def __matmul__(self, other: Any) -> Expr:
        return OPERATORS.find("matmul")(self, other)

    def __rmatmul__(self, other: Any) -> Expr:
        return OPERATORS.find("matmul")(other, self)

    @property
    def T(self) -> Expr:  # noqa: N802 - NumPy's spelling
        return OPERATORS.find("transpose")(self)


def _by_identity(args: tuple[Any, ...]) -> tuple[Any, ...]:
    """``args`` with every child replaced by the identity of its representative.

    The intern table's keys must not hold children alive: a child lives as long as a parent
    refers to it, and the parent's entry goes when the parent does.
    """
    return tuple(
        ("node", id(a._rep))
        if isinstance(a, Expr) and a._rep is not None
        else _by_identity(a)
        if isinstance(a, tuple) and any(isinstance(b, Expr | tuple) for b in a)
        else a
        for a in args
    )


def fill_bottom_up(root: Expr, known: Callable[[Expr], bool], fill: Callable[[Expr], None]) -> None:
    """Call ``fill`` on ``root`` and every descendant not yet ``known``, children before parents.

    Iterative on purpose: hashes, free indices and cached facts of a chain
    thousands of nodes deep are computed without recursion, each node once.
    """
    stack = [root]
    while stack:
        node = stack[-1]
        missing = [c for c in node.children() if not known(c)]
        if missing:
            stack.extend(missing)
            continue
        stack.pop()
        if not known(node):
            fill(node)


def real_number(value: Any) -> float:
    """``value``, a Python or NumPy number, as a finite float; `UnsupportedError` when it is too large
    for one (``10**400``), infinite or not a number.

    >>> real_number(10**400)
    Traceback (most recent call last):
      ...
    eincalc.core.errors.UnsupportedError: the integer about 10^400 is not a finite float ...
    """
    try:
        number = float(value)
    except OverflowError:
        number = math.inf
    if not math.isfinite(number):
        # a huge integer is described, never printed in full (slow, and refused by Python past 4300 digits)
        shown = f"the integer {count(value)}" if isinstance(value, int) else f"the number {value!r}"
        raise UnsupportedError(f"{shown} is not a finite float (the largest is about 1.8e308); rescale it")
    return number


def _same_args(left: tuple[Any, ...], right: tuple[Any, ...]) -> bool:
    """Structural equality of two nodes' ``args()``, compared with an explicit stack (no recursion)."""
    pairs: list[tuple[Any, Any]] = [(left, right)]
    while pairs:
        a, b = pairs.pop()
        if a is b:
            continue
        if isinstance(a, Expr):
            if type(a) is not type(b) or hash(a) != hash(b):
                return False
            pairs.append((a.args(), b.args()))
        elif isinstance(a, tuple):
            if not isinstance(b, tuple) or len(a) != len(b):
                return False
            pairs.extend(zip(a, b, strict=True))
        elif a != b:
            return False
    return True


_T = TypeVar("_T")


@dataclass_transform(frozen_default=True, field_specifiers=(field,))
def node(cls: type[_T]) -> type[_T]:
    """Make ``cls`` a frozen, slotted dataclass node (equality and hash come from `Expr`).

    A node with children counts its `tree_size` when built (a number, never a walk).
    """
    if getattr(cls, "children", None) is Expr.children:  # a leaf: one node
        made: Any = dataclass(frozen=True, slots=True, eq=False, repr=False)(cls)
        made._tree = 1
        return made
    checks = getattr(cls, "__post_init__", lambda self: None)

    def counted(self: Expr) -> None:
        checks(self)
        size = 1
        for child in self.children():  # a named intermediate counts once: it is written by its name
            size += 1 if type(child) is Named else child._tree
        _TREE.__set__(self, size)

    cls.__post_init__ = counted  # type: ignore[attr-defined]
    return dataclass(frozen=True, slots=True, eq=False, repr=False)(cls)


_TREE = Expr.__dict__["_tree"]
"""The slot holding a node's `tree_size`, set once when the node is built."""


def positional_flag() -> Any:
    """The `positional` field every node declares (keyword-only, default False)."""
    return field(default=False, kw_only=True)


def _unique(indices: Iterable[Index]) -> tuple[Index, ...]:
    return tuple(dict.fromkeys(indices))


@node
class Tensor(Expr):
    """A declared tensor with one index per axis; repeating an index reads a diagonal."""

    holds_diagonal: ClassVar[bool] = True
    spec: TensorSpec
    indices: tuple[Index, ...]
    positional: bool = positional_flag()

    def __post_init__(self) -> None:
        if len(self.indices) != len(self.spec.dims):
            raise IndexMismatch(
                f"{self.spec.name} has {len(self.spec.dims)} axes "
                f"({', '.join(self.spec.dims) or 'a scalar'}) but {len(self.indices)} indices were given"
            )

    def args(self) -> tuple[Any, ...]:
        return (self.spec, self.indices)

    def _compute_free(self) -> tuple[Index, ...]:
        return _unique(self.indices)


@node
class Delta(Expr):
    """Kronecker delta: 1 where ``i`` and ``j`` agree, else 0."""

    i: Index
    j: Index
    positional: bool = positional_flag()

    def __post_init__(self) -> None:
        if self.i.dim != self.j.dim:
            raise IndexMismatch(f"δ[{self.i},{self.j}] joins dimensions {self.i.dim} and {self.j.dim}; they must agree")

    def args(self) -> tuple[Any, ...]:
        return (self.i, self.j)

    def _compute_free(self) -> tuple[Index, ...]:
        return _unique((self.i, self.j))


@node
class One(Expr):
    """The all-ones vector along ``i``."""

    i: Index
    positional: bool = positional_flag()

    def args(self) -> tuple[Any, ...]:
        return (self.i,)

    def _compute_free(self) -> tuple[Index, ...]:
        return (self.i,)


@node
class Zero(Expr):
    """The zero tensor over ``indices``."""

    indices: tuple[Index, ...]
    positional: bool = positional_flag()

    def args(self) -> tuple[Any, ...]:
        return (self.indices,)

    def _compute_free(self) -> tuple[Index, ...]:
        return self.indices


@node
class Const(Expr):
    """A real scalar constant."""

    value: float
    positional: bool = positional_flag()

    def __post_init__(self) -> None:
        if not math.isfinite(self.value):
            raise UnsupportedError(
                f"a constant is {self.value}, not a finite number: a product or power of constants overflowed "
                "the largest float (about 1.8e308), or inf or nan was given; rescale the constants"
            )

    def args(self) -> tuple[Any, ...]:
        return (float(self.value),)

    def _compute_free(self) -> tuple[Index, ...]:
        return ()


@node
class Size(Expr):
    """The size of dimension ``dim`` (a scalar bound when arrays arrive)."""

    dim: str
    positional: bool = positional_flag()

    def args(self) -> tuple[Any, ...]:
        return (self.dim,)

    def _compute_free(self) -> tuple[Index, ...]:
        return ()


@node
class Contract(Expr):
    """Einsum: the product of ``factors`` summed over every index not in ``out``.

    Every index of ``out`` must occur in some factor (use `One` to
    broadcast); indices of the factors that are not in ``out`` are summed.
    """

    factors: tuple[Expr, ...]
    out: tuple[Index, ...]
    positional: bool = positional_flag()

    def __post_init__(self) -> None:
        check_consistent(self.factors)
        present = {k for f in self.factors for k in f.free}
        missing = [str(k) for k in self.out if k not in present]
        if missing:
            raise IndexMismatch(f"output index {', '.join(missing)} occurs in no factor")
        if len(set(self.out)) != len(self.out):
            raise IndexMismatch(f"output indices repeat: ({', '.join(map(str, self.out))})")

    def args(self) -> tuple[Any, ...]:
        return (self.factors, self.out)

    def children(self) -> tuple[Expr, ...]:
        return self.factors

    def map_children(self, fn: Callable[[Expr], Expr]) -> Expr:
        return Contract(tuple(fn(f) for f in self.factors), self.out, positional=self.positional)

    def _compute_free(self) -> tuple[Index, ...]:
        return self.out

    @property
    def summed(self) -> tuple[Index, ...]:
        """Indices summed over, in order of first appearance (kept on the node)."""
        memo = self.memo()
        found: tuple[Index, ...] | None = memo.get("summed")
        if found is None:
            out = set(self.out)
            found = memo["summed"] = _unique(k for f in self.factors for k in f.free if k not in out)
        return found

    def _canonical(self) -> Expr:
        """Summed indices named ``i, j, k, …`` by first appearance, skipping only this node's output names."""
        summed = self.summed
        names = bound_names(len(summed), {k.name for k in self.out})
        if all(k.name == n for k, n in zip(summed, names, strict=True)):
            return self
        rename = RENAMING.find("rename")
        mapping = {k: Index(n, k.dim) for k, n in zip(summed, names, strict=True)}
        return Contract(tuple(rename(f, mapping) for f in self.factors), self.out, positional=self.positional)


@node
class Add(Expr):
    """Sum of ``terms``; a term lacking some index of ``out`` is constant along it."""

    terms: tuple[Expr, ...]
    out: tuple[Index, ...]
    positional: bool = positional_flag()

    def __post_init__(self) -> None:
        if not self.terms:
            raise IndexMismatch("a sum needs at least one term")
        allowed = set(self.out)
        for term in self.terms:
            extra = [str(k) for k in term.free if k not in allowed]
            if extra:
                raise IndexMismatch(
                    f"term {term} has free index {', '.join(extra)} that the sum "
                    f"({', '.join(map(str, self.out)) or 'scalar'}) does not have"
                )
        check_consistent(self.terms)

    def args(self) -> tuple[Any, ...]:
        return (self.terms, self.out)

    def children(self) -> tuple[Expr, ...]:
        return self.terms

    def map_children(self, fn: Callable[[Expr], Expr]) -> Expr:
        return Add(tuple(fn(t) for t in self.terms), self.out, positional=self.positional)

    def _compute_free(self) -> tuple[Index, ...]:
        return self.out


@node
class Apply(Expr):
    """An element-wise function (see `eincalc.core.functions`); ``param`` is e.g. a power."""

    fn: str
    arg: Expr
    param: float | None = None
    positional: bool = positional_flag()

    def args(self) -> tuple[Any, ...]:
        return (self.fn, self.arg, self.param)

    def children(self) -> tuple[Expr, ...]:
        return (self.arg,)

    def map_children(self, fn: Callable[[Expr], Expr]) -> Expr:
        return Apply(self.fn, fn(self.arg), self.param, positional=self.positional)

    def _compute_free(self) -> tuple[Index, ...]:
        return self.arg.free


@node
class Named(Expr):
    """A named intermediate (``z1``, ``δ2``): shows as ``name[indices]``, stands for ``body``.

    ``body`` keeps its own index names; ``indices`` label its axes, in order, at
    this reference.  Renaming touches only ``indices``, so every reference
    shares one body and an evaluator computes it once.  Derivatives flowing
    back through a named intermediate are named too (``adjoint``, e.g. ``δ2``).
    """

    name: str
    body: Expr
    indices: tuple[Index, ...]
    adjoint: str | None = None
    positional: bool = positional_flag()

    def __post_init__(self) -> None:
        if len(set(self.indices)) != len(self.indices):
            raise IndexMismatch(f"{self.name}[{', '.join(map(str, self.indices))}] repeats an index")
        if tuple(k.dim for k in self.indices) != self.body.shape:
            raise IndexMismatch(
                f"{self.name} has shape ({', '.join(self.body.shape)}) but is labelled "
                f"[{', '.join(map(str, self.indices))}] with dimensions ({', '.join(k.dim for k in self.indices)})"
            )

    def args(self) -> tuple[Any, ...]:
        return (self.name, self.body, self.indices, self.adjoint)

    def children(self) -> tuple[Expr, ...]:
        return (self.body,)

    def map_children(self, fn: Callable[[Expr], Expr]) -> Expr:
        return Named(self.name, fn(self.body), self.indices, self.adjoint, positional=self.positional)

    def _compute_free(self) -> tuple[Index, ...]:
        return _unique(self.indices)


# -- index bookkeeping ------------------------------------------------------------------

CANONICAL_POOL = "ijklmnopqrstuvwxyzabcdefgh"
"""The names bound indices take, in order (then ``i1, j1, …``)."""


def name_pool(pool: str = CANONICAL_POOL) -> Iterator[str]:
    """``pool``'s letters, then the same letters with suffixes 1, 2, …"""
    for suffix in itertools.chain([""], (str(n) for n in itertools.count(1))):
        for letter in pool:
            yield letter + suffix


def bound_names(count: int, taken: set[str]) -> list[str]:
    """The canonical names of a node's ``count`` bound indices: the first of the pool not in ``taken``.

    >>> bound_names(2, {"i"})
    ['j', 'k']
    """
    if count == 0:
        return []
    return list(itertools.islice((n for n in name_pool() if n not in taken), count))


def check_consistent(parts: Iterable[Expr]) -> None:
    """Raise `IndexMismatch` if one index name is used with two dimensions."""
    seen: dict[str, tuple[Index, Expr]] = {}
    for part in parts:
        for k in part.free:
            other, where = seen.setdefault(k.name, (k, part))
            if other.dim != k.dim:
                both = (
                    f"dimensions {other.dim} and {k.dim} in {part}"
                    if where is part
                    else f"dimension {other.dim} in {where} and {k.dim} in {part}"
                )
                raise IndexMismatch(f"index {k.name} stands for {both}; use a different index name for one of them")


def walk(expr: Expr, enter: Callable[[Expr], bool] = lambda node: True, shown: bool = False) -> Iterator[Expr]:
    """Every distinct sub-expression of ``expr`` (shared nodes once), parents first; the children of a node
    only where ``enter(node)``; ``shown``: the children as printed (`Expr.shown_children()`)."""
    seen: set[int] = set()
    stack = [expr]
    while stack:
        current = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        if enter(current):
            stack.extend(reversed(current.shown_children() if shown else current.children()))


def postorder(expr: Expr) -> Iterator[Expr]:
    """Every distinct sub-expression of ``expr`` (shared nodes once), each after all its children."""
    seen: set[int] = set()
    stack: list[tuple[Expr, bool]] = [(expr, False)]
    while stack:
        current, expanded = stack.pop()
        if expanded:
            yield current
            continue
        if id(current) in seen:
            continue
        seen.add(id(current))
        stack.append((current, True))
        stack.extend((c, False) for c in reversed(current.children()) if id(c) not in seen)


def split_coefficient(expr: Contract) -> tuple[float, list[Expr]]:
    """The product of a contraction's constant factors, and its other factors."""
    coefficient = 1.0
    rest: list[Expr] = []
    for factor in expr.factors:
        if isinstance(factor, Const):
            coefficient *= factor.value
        else:
            rest.append(factor)
    return coefficient, rest
