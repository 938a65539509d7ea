"""Read an index-form expression as matrix notation: `to_matrix()`.

Every node is read into a `Term`: a matrix-notation tree plus the
indices its axes stand for (rows first), by one rule per node type.  Products
(``Contract``) are read factor pair by factor pair in
`eincalc.matrix.product`; sums line their terms up in the output order and
broadcast a term that lacks an index (``X W + b``, ``1 − σ(z)``).  What cannot
be read with certainty raises `NoMatrixForm` with the
reason: nothing is guessed and einsum is never the answer.

Column vectors are the default; ``rows=True`` reads free vectors as rows
(``x W₁ + b₁``).  Node kinds added by other modules plug in with
`register_matrix_rule()`.

>>> from eincalc.core.indices import Index, TensorSpec
>>> from eincalc.core.nodes import Tensor, Contract
>>> i, q = Index("i", "m"), Index("q", "n")
>>> W = Tensor(TensorSpec("W", ("m", "n")), (i, q))
>>> g = Tensor(TensorSpec("g", ("m",)), (i,))
>>> form = to_matrix(Contract((W, g), (q,)))
>>> form.text, form.numpy, to_matrix(Contract((W, g), (q,)), rows=True).text
('Wᵀ g', 'W.T @ g', 'g W')
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np

from ..core.arguments import require_flag, require_tensors
from ..core.errors import NoMatrixForm, UnsupportedError
from ..core.expr import VIEWS, Expr
from ..core.indices import Index, TensorSpec, declared_differently
from ..core.intermediates import DEPTH, display, named_apart
from ..core.nodes import Add, Apply, Const, Contract, Delta, Named, One, Size, Tensor, Zero
from ..core.registry import Registry
from ..core.traversal import postorder, walk
from ..frontend.build import as_expr
from ..frontend.matrix_checker import key
from .algebra import broadcast, matmul, oriented, spread, transpose
from .check import run_numpy
from .product import read_product
from .reductions import function, printed_nodes, require_readable, require_sized
from .sums import add
from .tree import Axis, DiagPart, Identity, Intermediate, Kind, MatrixExpr, Number, Ones, SizeOf, Symbol, Term, Zeros
from .where import require_unshadowed_sizes, shown_trees, shows_its_kind, where_latex, where_numpy, where_text


@dataclass(frozen=True)
class MatrixForm:
    """The matrix reading of an index expression.

    ``indices`` are the result's free indices in order: its array axes, exactly
    as in the index form.  ``text`` and ``latex`` are matrix notation, with a ``where``
    clause for each named intermediate they show (`eincalc.matrix.where`); ``numpy``
    is NumPy code in the tensor names, one assignment per intermediate and then the
    expression, that runs after ``import numpy as np`` alone: functions NumPy lacks
    are spelled out (``softmax(θ)`` as ``np.exp(θ - np.logaddexp.reduce(θ))``, the
    stable log-sum-exp of NumPy's ``logaddexp``), so the text needs no helper definitions.  ``evaluate`` runs
    that very text (`run_numpy()`), so a value checked
    through it is the value of what is printed.
    """

    tree: MatrixExpr
    indices: tuple[Index, ...]
    rows: bool = False

    @property
    def text(self) -> str:
        return where_text(self.tree)

    @property
    def latex(self) -> str:
        return where_latex(self.tree)

    @property
    def numpy(self) -> str:
        return where_numpy(self.tree)

    def evaluate(self, values: Mapping[str, Any]) -> np.ndarray:
        """The value of the printed ``numpy`` text on the arrays ``values`` (by tensor name), axes in ``indices`` order.

        >>> from eincalc.frontend.build import tensors
        >>> x, y, z = tensors("x[n] y[n] z[n]")
        >>> form = to_matrix(x - (y + z))
        >>> form.numpy, form.evaluate({"x": np.array([1.0]), "y": np.array([100.0]), "z": np.array([10.0])})
        ('x - (y + z)', array([-109.]))
        """
        return run_numpy(self.numpy, values)

    def __str__(self) -> str:
        return self.text

    def __repr__(self) -> str:
        return f"<MatrixForm {self.text}>"

    def _repr_latex_(self) -> str:
        return f"${self.latex}$"

    def _repr_markdown_(self) -> str:
        return f"${self.latex}$"


def to_matrix(expr: Expr, *, rows: bool = False, sizes_from: Iterable[Tensor] = ()) -> MatrixForm:
    """The matrix form of ``expr``; `NoMatrixForm` says why there is none, under the expression.

    An identity or a vector of ones takes its size from a tensor axis of the same
    dimension: one in ``expr``, else one of ``sizes_from`` (the variable of a gradient).

    >>> from eincalc.frontend.build import tensors, trace
    >>> from eincalc.calculus.diff import grad
    >>> A, = tensors("A[n,n]")
    >>> to_matrix(grad(trace(A), A), sizes_from=[A]).numpy
    'np.eye(A.shape[0])'
    """
    expr, rows = as_expr(expr, "the expression to show in matrix form"), require_flag(rows, "rows")
    # a deep one read in shallow, named pieces; the user's intermediates one name per definition either way
    shown = display(expr) if _height(expr) > DEPTH else named_apart(expr)
    convert = Converter(shown, rows, require_tensors(sizes_from, "sizes_from"))
    try:
        convert.read_intermediates()
        term = convert.orient(convert(shown), expr.free)
        printed = shown_trees(term.matrix)
        require_unshadowed_sizes(printed)
        convert.require_unambiguous(printed)
        for tree in printed:
            require_sized(tree)
        form = MatrixForm(term.matrix, expr.free, rows)
        require_readable(printed, form.text, expr, convert.sizes_from, rows)
    except NoMatrixForm as error:
        raise error.with_context(_shown(expr)) from None
    return form


def _height(expr: Expr) -> int:
    """Levels of nesting in ``expr`` above its named intermediates (kept on the node, found without recursion)."""
    height: int = expr.cached(
        "height",
        lambda n: 0 if isinstance(n, Named) else 1 + max((c.memo()["height"] for c in n.children()), default=0),
    )
    return height


def _shown(expr: Expr, limit: int = 200) -> str:
    """``expr`` as text for an error message, cut at ``limit`` characters (a node with no printer by its type)."""
    try:
        text = str(expr)
    except UnsupportedError:
        return f"<an expression with a {type(expr).__name__} node>"
    return text if len(text) <= limit else text[: limit - 1] + "…"


# -- the rule registry ----------------------------------------------------------------------

Rule = Callable[[Any, "Converter"], Term]
_RULES: Registry[type, Rule] = Registry("matrix rule")
_R = TypeVar("_R", bound=Rule)


def register_matrix_rule(node_type: type) -> Callable[[_R], _R]:
    """Register ``rule(node, convert) -> Term`` as the matrix reading of ``node_type``.

    ``convert(child)`` reads a sub-expression; ``convert.axis(dim)`` locates a
    dimension's size.  The returned term must carry exactly the node's free
    indices.  Raise `NoMatrixForm` for instances with no reading.
    """

    def decorate(rule: _R) -> _R:
        _RULES[node_type] = rule
        return rule

    return decorate


_RESERVED = {"I": "the identity I", "where": "the word that starts a where-clause", "np": "NumPy (np)"}


class Converter:
    """Reads nodes of one expression into `Term` objects (see `register_matrix_rule()`)."""

    def __init__(self, root: Expr, rows: bool, sizes_from: Iterable[Tensor] = ()) -> None:
        self.root, self.sizes_from = root, tuple(sizes_from)
        self.vector: Kind = "row" if rows else "col"
        self.named: dict[str, Expr] = {}  # the body of each intermediate read, by name
        self._read: dict[Expr, Term] = {}  # each intermediate's reading, so a reference reads it once
        self._axes: dict[str, Axis] = {}
        self._taken = dict(_RESERVED)  # what the text would read each name as, by how the reader looks it up
        self._tensors: dict[str, str] = {}  # each tensor's name, by how the reader looks it up
        declared: dict[str, TensorSpec] = {}
        for sub in [*walk(root), *self.sizes_from]:
            if isinstance(sub, Tensor):
                conflict = declared_differently(declared.setdefault(sub.spec.name, sub.spec), sub.spec)
                if conflict:
                    raise NoMatrixForm(conflict)
                self._taken[key(sub.spec.name)] = f"the tensor {sub.spec.name}"
                self._tensors[key(sub.spec.name)] = sub.spec.name
                for position, dim in enumerate(sub.spec.dims):
                    self._axes.setdefault(dim, Axis(sub.spec.name, position))

    def require_own_name(self, node: Named) -> None:
        """Raise `NoMatrixForm` when the text would read the name of the intermediate ``node`` as something else."""
        taken = self._taken.get(key(node.name))
        if taken is not None:
            raise NoMatrixForm(
                f"the intermediate {node.name} has the name of {taken}: its where-clause would redefine it; "
                "rename the intermediate (ec.let, or its adjoint=)"
            )

    def require_unambiguous(self, printed: tuple[MatrixExpr, ...]) -> None:
        """Raise `NoMatrixForm` when the text of ``printed`` (a form and its clauses' bodies) would be read back as
        something else: a tensor named like a word the text reserves (``where``, ``np``), or ``I`` or a size
        (``n``) shown where a tensor has that name (the reader takes the name for the tensor)."""
        for tree in printed:
            for node in printed_nodes(tree):
                clash = self._clash(node)
                if clash is not None:
                    raise NoMatrixForm(
                        f"{clash}, so the matrix text would read back as something else; rename the tensor "
                        "(or keep the index form)"
                    )

    def _clash(self, node: MatrixExpr) -> str | None:
        """What ``node``'s printed name would be misread as (see `require_unambiguous`), or ``None``."""
        if isinstance(node, Symbol) and key(node.name) in ("where", "np"):
            return f"the tensor {node.name} has the name of {_RESERVED[key(node.name)]}"
        if isinstance(node, Identity) and "I" in self._tensors:
            return f"the tensor {self._tensors['I']} has the name of the identity I, which the matrix text shows"
        if isinstance(node, SizeOf) and key(node.dim) in self._tensors:
            return (
                f"the tensor {self._tensors[key(node.dim)]} has the name of the dimension {node.dim}, whose size "
                f"the matrix text shows as {node.dim}"
            )
        return None

    def read_intermediates(self) -> None:
        """Read every named intermediate, each after those its body uses: a chain of names, however long,
        is read one shallow piece at a time, never by recursion through all of them."""
        for node in postorder(self.root):
            if isinstance(node, Named):
                self(node)

    def __call__(self, node: Expr) -> Term:
        known = self._read.get(node)
        if known is not None:
            return known
        if node.rank > 2:
            what = "result" if node is self.root else _factor(node) if isinstance(node, Tensor) else "a sub-expression"
            fix = ", or contract it with an upstream gradient (ec.vjp)" if node is self.root else ""
            raise NoMatrixForm(
                f"{what} has rank {node.rank} ({_names(node.free)}): no matrix reading "
                f"(matrix notation stops at rank 2); keep the index form{fix}"
            )
        rule = next((_RULES[cls] for cls in type(node).__mro__ if cls in _RULES), None)
        if rule is None:
            raise NoMatrixForm(f"no matrix reading for {type(node).__name__} nodes; keep the index form")
        term = rule(node, self)
        if set(term.labels) != set(node.free):
            raise TypeError(f"matrix rule for {type(node).__name__} returned indices ({_names(term.labels)})")
        if isinstance(node, Named):
            self._read[node] = term
        return term

    def axis(self, dim: str) -> Axis:
        """A tensor axis of dimension ``dim``, to read its size from."""
        try:
            return self._axes[dim]
        except KeyError:
            raise NoMatrixForm(
                f"no tensor in the expression has dimension {dim} to take its size from; pass "
                f"one that has, like to_matrix(expr, sizes_from=[X]) for X with an axis {dim}"
            ) from None

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
        raise NoMatrixForm(
            f"{_factor(node)} has rank {len(spec.dims)}: no matrix reading "
            "(matrix notation stops at rank 2); keep the index form"
        )
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
    return Term(Zeros(tuple(convert.axis(k.dim) for k in labels), kind, tuple(k.dim for k in labels)), labels)


@register_matrix_rule(Const)
def _const(node: Const, convert: Converter) -> Term:
    return Term(Number(float(node.value)), ())


@register_matrix_rule(Size)
def _size(node: Size, convert: Converter) -> Term:
    return Term(SizeOf(node.dim, convert.axis(node.dim)), ())


@register_matrix_rule(Apply)
def _apply(node: Apply, convert: Converter) -> Term:
    arg = convert(node.arg)
    return Term(function(node.fn, node.param, arg.matrix), arg.labels)


@register_matrix_rule(Named)
def _named(node: Named, convert: Converter) -> Term:
    convert.require_own_name(node)
    other = convert.named.setdefault(node.name, node.body)
    if other != node.body:
        raise NoMatrixForm(
            f"two different intermediates are named {node.name} ({_shown(other, 60)} and "
            f"{_shown(node.body, 60)}): text would show one name for both; rename one (ec.let)"
        )
    body = convert.orient(convert(node.body), node.body.free).matrix
    return Term(Intermediate(node.name, body) if shows_its_kind(body) else body, node.indices)


@register_matrix_rule(Add)
def _add(node: Add, convert: Converter) -> Term:
    out = node.out
    terms = [convert(t) for t in node.terms]
    if all(len(t.labels) < len(out) for t in terms):
        terms[0] = _fill(terms[0], out, convert)
    parts: list[MatrixExpr] = []
    numbers = sum(isinstance(t.matrix, Number) for t in terms if not t.labels)  # two would fold: A − 1 − 1 is A − 2 1
    for term in terms:
        if not term.labels and out:  # a scalar in a vector or matrix sum: s 1, s 1 1ᵀ; a lone written 1 takes its shape
            unit = numbers == 1 and isinstance(term.matrix, Number) and abs(term.matrix.value) == 1.0
            parts.append(term.matrix if unit else _fill(term, out, convert).matrix)
        elif len(term.labels) in (0, len(out)):
            parts.append(convert.orient(term, out).matrix)
        else:  # a vector in a matrix sum
            (k,) = term.labels
            other = out[1 - out.index(k)]
            parts.append(broadcast(oriented(term.matrix, convert.vector), out.index(k), convert.ones(other)))
    kind: Kind = ("scalar", convert.vector, "matrix")[len(out)]
    total = add(parts, kind)
    if total.kind == "scalar" and out:  # the terms folded into one number (1 − 1): spread it over the sum's shape
        return _fill(Term(total, ()), out, convert)
    return Term(total, out)


def _fill(term: Term, out: tuple[Index, ...], convert: Converter) -> Term:
    """``term`` spelled out over every index of ``out`` with ones vectors."""
    pieces = [term.matrix if term.labels == (k,) else convert.ones(k) for k in out]
    if not term.labels:
        kinds: tuple[Kind, ...] = (convert.vector,) if len(out) == 1 else ("col", "row")
        return Term(spread(term.matrix, tuple(oriented(p, k) for p, k in zip(pieces, kinds, strict=True))), out)
    if len(out) == 1:
        return Term(oriented(pieces[0], convert.vector), out)
    return Term(matmul(oriented(pieces[0], "col"), oriented(pieces[1], "row")), out)


@register_matrix_rule(Contract)
def _contract(node: Contract, convert: Converter) -> Term:
    return read_product(node, convert)


VIEWS["matrix"] = to_matrix  # what Expr.to_matrix() calls: the node layer never imports this one
