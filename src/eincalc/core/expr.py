"""The index-form IR's base node `Expr`, and the intern table every node is built through.

Every expression is an einsum with functions.  Nodes are immutable, compare
structurally and cache their hash and free indices.  Axes are `Index`
objects (a name plus a dimension name, `eincalc.core.indices`), never positions,
so a transpose can never be lost.

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

The node kinds (``Tensor``, ``Delta``, ``One``, ``Zero``, ``Const``, ``Size``,
``Contract``, ``Add``, ``Apply``, ``Named``) live in `eincalc.core.nodes`, which
tabulates them; further kinds (structured and matrix functions) subclass `Expr`
in their own modules.  Traversals of the DAG are in `eincalc.core.traversal`, the
names bound indices take in `eincalc.core.name_pool`.

A node's Python operators and views (``W @ a``, ``x[i]``, ``str``, `Expr.latex()`,
`Expr.to_matrix()`) call what the layers above register in `OPERATORS` and
`VIEWS` when they are imported: this module imports nothing above it.

>>> from eincalc.core.indices import Index, TensorSpec
>>> from eincalc.core.nodes import Tensor
>>> i = Index("i", "n")
>>> Tensor(TensorSpec("x", ("n",)), (i,)) is Tensor(TensorSpec("x", ("n",)), (i,))
True
"""

from __future__ import annotations

import contextlib
import weakref
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any, ClassVar

from .registry import Registry
from .traversal import fill_bottom_up

if TYPE_CHECKING:
    from .indices import Index
    from .nodes import Tensor


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
