"""Text → Expr: index notation read with Python's own parser, never evaluated.

The language is the Python subset that `eincalc.frontend.printing.to_text()` writes:
``W[i,j] a[j]`` (juxtaposition multiplies; an index written twice is summed),
``σ(W @ x + b)`` (matrix style), ``(x[i] y[i])[i]`` (explicit output indices,
every other index summed), ``Σ(x[i])`` (sum of everything), ``δ[i,j]``,
``1[i]``, ``0[i,j]`` and ``size(n)``.  The text is tokenised once to turn
juxtaposition into ``*`` (columns unchanged), handed to `ast.parse()`, and
the tree is walked over a whitelist of node types.  Every failure is an
`EincalcError` showing the text with a caret under the
offending column.  This module holds the entry point and the function table; the
pieces live beside it: `eincalc.frontend.parse_text` (the tokenised text),
`eincalc.frontend.parse_tree` (the walk), `eincalc.frontend.parse_dims` (index
dimensions) and `eincalc.frontend.parse_nodes` (predicates over syntax nodes).

Readings follow `eincalc.frontend.build`: numbers in a product are its coefficient
(``-2 x[i]`` is ``scale(x[i], -2)``, and ``2 Σ(A[i,i])`` is ``Σ(2 A[i,i])``), a
lone ``A[i,i]`` is the diagonal, a lone ``0`` is `Zero`.
Parentheses scope Einstein sums and keep nesting: ``(x[i] y[i]) z[i]`` is ``z[i]``
times an inner product (one factor of the outer product), while ``x[i] y[i] z[i]``
is a single product and an error; ``2 (Σ(A[i,i]))`` is 2 times the product ``Σ(A[i,i])``.
So the text `to_text()` writes reads back to the same tree.
Doubled parentheses make a subscripted body one factor: ``((A[i,j] + B[i,j]))[j,i]``
transposes a sum.  An index that sits only on deltas, ones or zeros takes its
dimension from a δ beside an index that has one, else from the dimension written
with it (``1[j:n]``, as the printer writes it where nothing else tells it), else
from an `Index` passed along with the tensors.  The arguments
of ``inv``, ``det`` and ``logdet`` are a scope of their own for this reading.

>>> from eincalc.frontend.build import tensors
>>> W, a = tensors("W[m,n] a[n]")
>>> z = parse("σ(W[i,j] a[j])", W, a)
>>> str(z), z.shape
('σ(W[i,j] a[j])', ('m',))
"""

from __future__ import annotations

import ast
import functools
import itertools
import unicodedata
import warnings
from collections.abc import Callable, Iterable, Mapping
from typing import NamedTuple

from ..core.arguments import describe, require_text
from ..core.errors import EincalcError, IndexMismatch, Located, ParseError, UnknownNameError, UnsupportedError
from ..core.expr import Expr
from ..core.functions import FUNCTIONS
from ..core.indices import Index, TensorSpec
from ..core.nodes import Size, Tensor
from ..core.registry import Registry
from . import build, declare, where
from .parse_text import prepare, syntax_error
from .parse_tree import Functions, Parser

MAX_LENGTH = 10_000  # characters
MAX_DEPTH = 100  # nested operations

ParseFunction = Callable[["Call"], Expr]
CALLS: Registry[str, ParseFunction] = Registry("parser function")
SCOPED_CALLS: set[str] = set()


def register_parse_function(name: str, builder: ParseFunction, *, scoped: bool = False) -> None:
    """Make ``name(…)`` readable; ``builder`` turns the `Call` into an expression.

    A ``scoped`` function's arguments are a scope of their own (``det(A[i,j])`` binds its
    ``i, j``): an index name there takes its dimension from the tensors inside the call only.
    """
    normalized = unicodedata.normalize("NFKC", name)
    CALLS[normalized] = builder
    declare.CALLED.add(normalized)
    if scoped:
        SCOPED_CALLS.add(normalized)
    else:
        SCOPED_CALLS.discard(normalized)
    _parse_cached.cache_clear()


def parse(text: str, *declared: Tensor | Index, **named: Tensor) -> Expr:
    """Read ``text`` over the ``declared`` tensors (by their names) and the ``named`` ones.

    Results are cached per text and declarations.

    >>> from eincalc.frontend.build import tensors
    >>> x, y = tensors("x[n] y[n]")
    >>> str(parse("(x[i] y[i])[i] − 2 Σ(x[j])", x, y))
    '(x[i] y[i])[i] - 2 Σ(x[j])'
    """
    require_text(text, "the text given to ec.parse", "'W[i,j] x[j]'")
    tensors: dict[str, TensorSpec] = {}
    given: dict[str, str] = {}
    indices: dict[str, str] = {}
    for name, item in itertools.chain(((None, d) for d in declared), named.items()):
        if isinstance(item, Tensor):
            _add_tensor(tensors, given, name or item.spec.name, item.spec)
        elif isinstance(item, Index) and name is None:
            if indices.setdefault(item.name, item.dim) != item.dim:
                raise IndexMismatch(f"index {item.name} is declared as {indices[item.name]} and as {item.dim}")
        else:
            hint = "; unpack a list with *: ec.parse(text, *tensors)" if isinstance(item, list | tuple) else ""
            raise UnsupportedError(f"parse takes declared tensors (ec.tensors) and indices, not {describe(item)}{hint}")
    return _parse_cached(text, tuple(sorted(tensors.items(), key=lambda p: p[0])), tuple(indices.items()))


def _add_tensor(tensors: dict[str, TensorSpec], given: dict[str, str], name: str, spec: TensorSpec) -> None:
    """Declare ``spec`` as ``name`` as Python reads it (NFKC-normalised); ``given`` keeps the names as written,
    to refuse a second name that reads the same.

    >>> from eincalc.frontend.build import tensors
    >>> x, y = tensors("x[n] y[n]")
    >>> parse("x[i]", x, **{"ｘ": y})
    Traceback (most recent call last):
      ...
    eincalc.core.errors.ParseError: tensors x and ｘ are both read as x (Python reads names NFKC-normalised); \
give them names that differ after normalisation
    """
    key = unicodedata.normalize("NFKC", name)
    earlier = given.setdefault(key, name)
    if earlier != name and tensors[key] != spec:
        raise ParseError(
            f"tensors {earlier} and {name} are both read as {key} (Python reads names NFKC-normalised); "
            "give them names that differ after normalisation"
        )
    tensors[key] = spec


@functools.lru_cache(maxsize=1024)
def _parse_cached(text: str, tensors: tuple[tuple[str, TensorSpec], ...], indices: tuple[tuple[str, str], ...]) -> Expr:
    """The expression of ``text``: its where-clauses (`eincalc.frontend.where`) read one by one, each name they
    define declared like a tensor for the pieces below, then every use replaced by what it stands for."""
    main, clauses = where.split(text)
    # whitespace shows as a space; an unpaired surrogate (not text) as U+FFFD, which ast then reports
    shown = "".join(" " if c.isspace() else "\ufffd" if "\ud800" <= c <= "\udfff" else c for c in text)
    specs = dict(tensors)
    declared = frozenset(dim for _, dim in indices)
    definitions: dict[TensorSpec, where.Definition] = {}
    for clause in clauses:
        body = _read(_Piece(shown, clause.body_at, len(clause.body)), specs, {}, declared, definitions)
        try:
            definition = where.define(clause, body, specs)
        except EincalcError as error:
            raise error.with_context(shown, clause.name_at) from None
        specs[definition.name] = definition.spec
        definitions[definition.spec] = definition
    return _read(_Piece(shown, 0, len(main)), specs, dict(indices), declared, definitions)


class _Piece(NamedTuple):
    """The characters ``shown[at : at + length]`` of a text shown whole in errors: its expression or the body
    of one where-clause."""

    shown: str
    at: int
    length: int


def _read(
    piece: _Piece,
    specs: dict[str, TensorSpec],
    indices: dict[str, str],
    declared: frozenset[str],
    definitions: Mapping[TensorSpec, where.Definition],
) -> Expr:
    """One piece of text (an expression without where-clauses) over the tensors ``specs``, each use of a
    name in ``definitions`` read as what it stands for; ``declared`` are the dimensions of the indices the
    caller gave, which ``size(…)`` may name in every piece.  An error shows the whole text, its caret in
    the piece."""
    shown = piece.shown[piece.at : piece.at + piece.length]
    try:
        if len(shown) > MAX_LENGTH:
            raise Located(ParseError(f"expression has {len(shown)} characters; the limit is {MAX_LENGTH}"), None)
        if "\0" in shown or not shown.strip():
            raise Located(ParseError("expression is empty or contains a null character"), shown.find("\0"))
        prepared = prepare(shown, {name for name in CALLS if name not in specs})
        body = prepared.lstrip()
        lead = len(prepared) - len(body)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                tree = ast.parse(body, mode="eval")
        except SyntaxError as error:
            raise syntax_error(error, body, lead) from None
        parser = Parser(tree, body.encode(), lead, specs, indices, declared, definitions, _FUNCTIONS, MAX_DEPTH)
        return parser.visit(tree.body)
    except Located as located:
        column = None if located.column is None else piece.at + min(max(located.column, 0), len(shown))
        raise located.error.with_context(piece.shown, column) from None
    except (RecursionError, MemoryError):  # ast.parse on pathological input
        raise ParseError("expression is too large or too deeply nested").with_context(piece.shown) from None


class Call:
    """One call in the text, as a registered builder sees it (see `register_parse_function()`).

    ``name`` is the function's name, ``count`` the number of positional arguments and
    ``declared`` the tensors in scope.
    """

    def __init__(self, parser: Parser, node: ast.Call) -> None:
        self._parser, self._node = parser, node
        self.name: str = getattr(node.func, "id", "")
        self.count = len(node.args)
        self.declared: Mapping[str, TensorSpec] = parser.tensors

    def arity(self, count: int, keywords: Iterable[str] = ()) -> None:
        """Raise unless the call has ``count`` positional arguments and only ``keywords``."""
        for extra in self._node.keywords:
            if extra.arg not in set(keywords):
                raise self._parser.fail(ParseError(f"{self.name} takes no keyword {extra.arg}="), extra)
        if len(self._node.args) != count:
            raise ParseError(f"{self.name} takes {count} argument{'s' * (count != 1)}, not {len(self._node.args)}")

    def expr(self, position: int) -> Expr:
        """Positional argument ``position``, read as an expression."""
        return self._parser.visit(self._node.args[position])

    def identifier(self, position: int) -> str:
        """Positional argument ``position``, which must be a bare name."""
        node = self._node.args[position]
        if not isinstance(node, ast.Name):
            raise self._parser.fail(ParseError(f"argument {position + 1} of {self.name} must be a name"), node)
        return node.id

    def keyword(self, name: str) -> float | None:
        """Keyword argument ``name`` as a (signed) number literal, or None when absent."""
        values = [extra.value for extra in self._node.keywords if extra.arg == name]
        return self._parser.number(values[0], f"{name}=") if values else None


def _read_call(parser: Parser, node: ast.Call) -> Expr:
    """``node``, a call of a registered function, read by its builder."""
    call = Call(parser, node)
    return CALLS[call.name](call)


_FUNCTIONS = Functions(CALLS, SCOPED_CALLS, _read_call)  # the registered functions, as the walk sees them


# -- the call table ---------------------------------------------------------------------------


def fixed_arity(function: Callable[..., Expr], count: int) -> ParseFunction:
    """The parser function calling ``function`` on a call's ``count`` arguments, read as expressions (any other
    number of arguments is a `ParseError` naming the call)."""

    def builder(call: Call) -> Expr:
        call.arity(count)
        return function(*(call.expr(k) for k in range(count)))

    return builder


def _total(call: Call) -> Expr:
    call.arity(1, keywords=("axis",))
    axis = call.keyword("axis")
    if axis is None:
        parser, argument = call._parser, call._node.args[0]
        single = parser.opened(call._node.func.end_col_offset or 0, argument) > 1
        return parser.explicit(argument, (), single, build.total)
    expr = call.expr(0)
    if expr.free and not expr.positional:
        raise ParseError(f"axis= needs a matrix-style argument, not index-style {expr}; write (…)[indices kept]")
    if not axis.is_integer():
        raise ParseError(f"axis= must be an integer, not {axis}")
    return build.total(expr, int(axis))


def _size(call: Call) -> Expr:
    call.arity(1)
    declared = {d for spec in call.declared.values() for d in spec.dims}.union(
        *call._parser.dims.values(), call._parser.declared
    )
    dim, known = call.identifier(0), sorted(declared)  # dimensions of the tensors and of the indices given
    if dim not in known:
        raise UnknownNameError(f"{dim} is not a dimension of a declared tensor; dimensions: {', '.join(known)}")
    return Size(dim)


for _name in ("σ", *(name for name in FUNCTIONS if name != "pow")):  # pow is written x ** k
    register_parse_function(_name, fixed_arity(functools.partial(build.apply, _name), 1))
for _name, _builder in {
    "square": fixed_arity(lambda e: build.power(e, 2), 1),
    "trace": fixed_arity(build.trace, 1),
    "outer": fixed_arity(build.outer, 2),
    "dot": fixed_arity(build.dot, 2),
    "sum": _total,
    "Σ": _total,
    "size": _size,
}.items():
    register_parse_function(_name, _builder)
