"""Text → Expr: index notation read with Python's own parser, never evaluated.

The language is the Python subset that `eincalc.frontend.printing.to_text()` writes:
``W[i,j] a[j]`` (juxtaposition multiplies; an index written twice is summed),
``σ(W @ x + b)`` (matrix style), ``(x[i] y[i])[i]`` (explicit output indices,
every other index summed), ``Σ(x[i])`` (sum of everything), ``δ[i,j]``,
``1[i]``, ``0[i,j]`` and ``size(n)``.  The text is tokenised once to turn
juxtaposition into ``*`` (columns unchanged), handed to `ast.parse()`, and
the tree is walked over a whitelist of node types.  Every failure is an
`EincalcError` showing the text with a caret under the
offending column.

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
import io
import itertools
import keyword
import math
import tokenize
import unicodedata
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import NamedTuple

from ..core.arguments import describe, require_text
from ..core.errors import EincalcError, IndexMismatch, ParseError, UnknownNameError, UnsupportedError
from ..core.expr import Add, Const, Contract, Delta, Expr, Index, One, Size, Tensor, TensorSpec, Zero, check_consistent
from ..core.functions import FUNCTIONS
from ..core.registry import Registry
from . import build, where

MAX_LENGTH = 10_000  # characters
MAX_DEPTH = 100  # nested operations

ParseFunction = Callable[["Call"], Expr]
CALLS: Registry[str, ParseFunction] = Registry("parser function")
SCOPED_CALLS: set[str] = set()
_Parts = list[tuple[Expr, ast.expr]]


class _Product(NamedTuple):
    """A product as written: its coefficient, its other factors, and whether the coefficient joins the
    one factor (a product written without parentheses of its own)."""

    coefficient: float
    parts: _Parts
    joins: bool


_DELTAS = ("δ", "delta")


def register_parse_function(name: str, builder: ParseFunction, *, scoped: bool = False) -> None:
    """Make ``name(…)`` readable; ``builder`` turns the `Call` into an expression.

    A ``scoped`` function's arguments are a scope of their own (``det(A[i,j])`` binds its
    ``i, j``): an index name there takes its dimension from the tensors inside the call only.
    """
    normalized = unicodedata.normalize("NFKC", name)
    CALLS[normalized] = builder
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
    indices: dict[str, str] = {}
    for name, item in itertools.chain(((None, d) for d in declared), named.items()):
        if isinstance(item, Tensor):
            tensors[unicodedata.normalize("NFKC", name or item.spec.name)] = item.spec
        elif isinstance(item, Index) and name is None:
            if indices.setdefault(item.name, item.dim) != item.dim:
                raise IndexMismatch(f"index {item.name} is declared as {indices[item.name]} and as {item.dim}")
        else:
            hint = "; unpack a list with *: ec.parse(text, *tensors)" if isinstance(item, list | tuple) else ""
            raise UnsupportedError(f"parse takes declared tensors (ec.tensors) and indices, not {describe(item)}{hint}")
    return _parse_cached(text, tuple(sorted(tensors.items(), key=lambda p: p[0])), tuple(indices.items()))


class _Located(Exception):
    """An error and the column it belongs to (internal; re-raised with context at the boundary)."""

    def __init__(self, error: EincalcError, column: int | None) -> None:
        super().__init__(str(error))
        self.error, self.column = error, column


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
            raise _Located(ParseError(f"expression has {len(shown)} characters; the limit is {MAX_LENGTH}"), None)
        if "\0" in shown or not shown.strip():
            raise _Located(ParseError("expression is empty or contains a null character"), shown.find("\0"))
        prepared = _prepare(shown, {name for name in CALLS if name not in specs})
        body = prepared.lstrip()
        lead = len(prepared) - len(body)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                tree = ast.parse(body, mode="eval")
        except SyntaxError as error:
            raise _syntax_error(error, body, lead) from None
        return _Parser(tree, body.encode(), lead, specs, indices, declared, definitions).visit(tree.body)
    except _Located as located:
        column = None if located.column is None else piece.at + min(max(located.column, 0), len(shown))
        raise located.error.with_context(piece.shown, column) from None
    except (RecursionError, MemoryError):  # ast.parse on pathological input
        raise ParseError("expression is too large or too deeply nested").with_context(piece.shown) from None


def _prepare(text: str, functions: set[str]) -> str:
    """Turn ``−``, ``⊙`` and juxtaposition into ``-``, ``*`` and ``*``, keeping every column."""
    chars = [{"−": "-", "⊙": "*"}.get(c, c) for c in text]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tokens = list(tokenize.generate_tokens(io.StringIO("".join(chars)).readline))
    except (tokenize.TokenError, SyntaxError, ValueError):
        return "".join(chars)  # ast.parse reports the problem, with its column
    for token in tokens:
        if token.type == tokenize.COMMENT:
            raise _Located(ParseError("comments (#) are not supported in eincalc expressions"), token.start[1])
    for before, after in itertools.pairwise(tokens):
        called = after.string == "(" and unicodedata.normalize("NFKC", before.string) in functions
        if before.end < after.start and _operand(before, ")]") and _operand(after, "(") and not called:
            chars[before.end[1]] = "*"
    return "".join(chars)


def _syntax_error(error: SyntaxError, body: str, lead: int) -> _Located:
    """Python's complaint about ``body``, at its column; at the last character when the text ends too soon."""
    if error.offset:
        return _Located(ParseError(f"cannot read the expression: {error.msg}"), lead + error.offset - 1)
    last = _last_token(body)  # Python gives no column when the text stops in the middle of an operation
    return _Located(
        ParseError(f"cannot read the expression: it ends too soon, after {last.string!r}; an operand must follow"),
        lead + last.start[1],
    )


def _last_token(text: str) -> tokenize.TokenInfo:
    """The last token of ``text`` (the last character where it does not tokenize)."""
    ignored = (tokenize.NEWLINE, tokenize.NL, tokenize.ENDMARKER, tokenize.INDENT, tokenize.DEDENT)
    try:
        tokens = [t for t in tokenize.generate_tokens(io.StringIO(text).readline) if t.type not in ignored]
    except (tokenize.TokenError, SyntaxError, ValueError):
        tokens = []
    if tokens:
        return tokens[-1]
    end = len(text.rstrip()) - 1
    return tokenize.TokenInfo(tokenize.OP, text[end], (1, end), (1, end + 1), text)


def _operand(token: tokenize.TokenInfo, brackets: str) -> bool:
    if token.type in (tokenize.NAME, tokenize.NUMBER):
        return not keyword.iskeyword(token.string)
    return token.type == tokenize.OP and token.string in brackets


class _Parser:
    """Walks one syntax tree; `visit()` is the whitelist of node types."""

    def __init__(
        self,
        tree: ast.Expression,
        source: bytes,
        lead: int,
        tensors: dict[str, TensorSpec],
        dims: dict[str, str],
        declared: frozenset[str],
        definitions: Mapping[TensorSpec, where.Definition],
    ) -> None:
        self.source, self.lead, self.tensors, self.depth, self.given = source, lead, tensors, 0, dims
        self.declared, self.definitions = declared, definitions
        self.dims = _index_dims(tensors, [tree], dims)

    def fail(self, error: EincalcError, node: ast.AST) -> _Located:
        column = len(self.source[: getattr(node, "col_offset", 0)].decode(errors="ignore"))
        return _Located(error, self.lead + column)

    def opened(self, start: int, node: ast.expr) -> int:
        """How many ``(`` stand between byte ``start`` and ``node``."""
        return self.source[start : node.col_offset].count(b"(")

    def visit(self, node: ast.expr) -> Expr:
        self.depth += 1
        try:
            if self.depth > MAX_DEPTH:
                raise ParseError(f"expression nests deeper than {MAX_DEPTH} levels")
            return self._dispatch(node)
        except EincalcError as error:
            raise self.fail(error, node) from None
        except ArithmeticError:
            raise self.fail(ParseError("a constant overflows or divides by zero"), node) from None
        finally:
            self.depth -= 1

    def _dispatch(self, node: ast.expr) -> Expr:
        if _is_zero(node):
            return Zero(())
        if _is_product(node):
            return self.multiply(self.factors(node))
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add | ast.Sub):
            return self.add(self.terms(node))
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow):
            return self.power(node)
        if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
            return _BINARY[type(node.op)](self.visit(node.left), self.visit(node.right))
        if isinstance(node, ast.Subscript):
            return self.subscript(node)
        if isinstance(node, ast.Name):
            return self.name(node)
        if isinstance(node, ast.Call):
            return self.call(node)
        if isinstance(node, ast.Attribute) and node.attr == "T":
            return build.transpose(self.visit(node.value))
        raise ParseError(f"{_describe(node)} is not supported in eincalc expressions")

    # -- products and sums --------------------------------------------------------------

    def chain(self, node: ast.expr, ops: tuple[type, ...]) -> list[tuple[ast.expr, ast.AST | None, object]]:
        """Operands of an unparenthesised left-associative chain, as ``(operand, parent, operator)``."""
        items: list[tuple[ast.expr, ast.AST | None, object]] = []
        current, parent = node, None
        while isinstance(current, ast.BinOp) and isinstance(current.op, ops) and not _wrapped(current, parent):
            items.append((current.right, current, current.op))
            current, parent = current.left, current
        items.append((current, parent, None))
        return items[::-1]

    def factors(self, node: ast.expr, coefficient: float = 1.0) -> _Product:
        """A product's numeric coefficient (signs and numbers) and its other factors."""
        parts: _Parts = []
        joins = False
        for item, parent, _ in self.chain(node, (ast.Mult,)):
            while isinstance(item, ast.UnaryOp) and _sign(item) and not _wrapped(item, parent):
                coefficient *= _sign(item)
                item, parent = item.operand, item
            expr = build.as_expr(self.number(item)) if isinstance(item, ast.Constant) else self.visit(item)
            if isinstance(expr, Const):
                coefficient *= float(expr.value)
            else:
                parts.append((expr, item))
                joins = not self.grouped(item, parent)
        if not math.isfinite(coefficient):
            raise self.fail(ParseError("a constant overflows"), node)
        return _Product(coefficient, parts, joins and len(parts) == 1)

    def multiply(self, product: _Product) -> Expr:
        """The product; its coefficient joins a lone product factor that has no parentheses of its own.

        So ``2 Σ(A[i,i])`` is ``Σ(2 A[i,i])`` and ``2 W[i,j] a[j]`` one product of three factors,
        while ``2 (Σ(A[i,i]))`` is 2 times the product ``Σ(A[i,i])``.
        """
        coefficient, parts = product.coefficient, product.parts
        if not parts:
            return build.as_expr(coefficient)
        if self.matrix_style(parts):
            result = functools.reduce(build.multiply, [e for e, _ in parts])
            return build.scale(result, coefficient)
        if coefficient == 1.0:
            return parts[0][0] if len(parts) == 1 else self.einstein(parts)
        if len(parts) > 1:
            return self.einstein([(Const(coefficient), parts[0][1]), *parts])
        ((expr, _),) = parts
        return build.scale(expr, coefficient) if product.joins else _scale_group(expr, coefficient)

    def einstein(self, parts: _Parts) -> Expr:
        try:
            return build.einstein_product([e for e, _ in parts])
        except IndexMismatch as error:
            raise self.locate(error, parts) from None

    def locate(self, error: EincalcError, parts: _Parts, summed: bool = True) -> _Located:
        """``error`` at the index written with a second dimension, or (in a product, ``summed``) a third time;
        else at the first part."""
        seen: dict[str, list[Index]] = {}
        for expr, node in parts:
            written = (
                {_index_name(e): e for e in reversed(_elements(node.slice))}  # each name's first place
                if isinstance(node, ast.Subscript) and isinstance(expr, Tensor)
                else {}
            )
            for k in expr.free:  # each factor carries its free indices once (A[i,i] carries i once)
                place = written.get(k.name, node)
                same = seen.setdefault(k.name, [])
                same.append(k)
                if (summed and len(same) == 3) or same[0].dim != k.dim:
                    return self.fail(error, place)
        return self.fail(error, parts[0][1])

    def terms(self, node: ast.expr) -> _Parts:
        parts: _Parts = []
        for item, parent, op in self.chain(node, (ast.Add, ast.Sub)):
            if not isinstance(op, ast.Sub):
                parts.append((self.visit(item), item))
            elif self.grouped(item, parent) or _is_zero(item):  # ``a - 0`` subtracts Zero, as a lone 0 is Zero
                parts.append((_scale_group(self.visit(item), -1.0), item))
            else:  # ``a - 2 b`` negates the coefficient of ``2 b``, as the printer writes it
                parts.append((self.multiply(self.factors(item, -1.0)), item))
        return parts

    def grouped(self, item: ast.expr, parent: ast.AST | None) -> bool:
        """Whether ``item`` reads as a parenthesised group: it has parentheses of its own, or it uses an
        automatic intermediate (``t1``, ``t1[p]``), which stands for its definition in parentheses."""
        value = item.value if isinstance(item, ast.Subscript) else item
        used = value.id if isinstance(value, ast.Name) else ""
        return _wrapped(item, parent) or where.reads_as_group(used, self.tensors.get(used), self.definitions)

    def add(self, parts: _Parts) -> Expr:
        if self.matrix_style(parts):
            return functools.reduce(build.add, [e for e, _ in parts])
        try:
            return build.sum_terms([e for e, _ in parts])
        except IndexMismatch as error:
            raise self.locate_in_sum(error, parts) from None

    def locate_in_sum(self, error: EincalcError, parts: _Parts) -> _Located:
        """``error`` at the index written with a second dimension, else at the first term with an index that
        the widest term lacks."""
        try:
            check_consistent(e for e, _ in parts)
        except IndexMismatch:
            return self.locate(error, parts, summed=False)
        widest = set(max((e for e, _ in parts), key=lambda e: len(e.free)).free)
        return self.fail(error, next(n for e, n in parts if not set(e.free) <= widest))

    def matrix_style(self, parts: _Parts) -> bool:
        """True for matrix-style operands, False for index style; mixing the two is an error."""
        ranked = [(e, n) for e, n in parts if e.free]
        for expr, node in ranked:
            if expr.positional != ranked[0][0].positional:
                positional, indexed = (expr, ranked[0][0]) if expr.positional else (ranked[0][0], expr)
                raise self.fail(
                    IndexMismatch(
                        f"cannot combine matrix-style {positional} (shape ({', '.join(positional.shape)})) with "
                        f"index-style {indexed}; index both (e.g. W[i,j]) or neither"
                    ),
                    node,
                )
        return bool(ranked) and ranked[0][0].positional

    # -- atoms ------------------------------------------------------------------------------

    def number(self, node: ast.expr, what: str = "a number") -> float:
        """A number literal, possibly signed (an exponent, an axis); ``what`` names it in errors."""
        sign = 1.0
        while isinstance(node, ast.UnaryOp) and _sign(node):
            sign, node = sign * _sign(node), node.operand
        if not isinstance(node, ast.Constant):
            raise self.fail(UnsupportedError(f"{what} must be a number literal"), node)
        if isinstance(node.value, bool) or not isinstance(node.value, int | float):
            raise self.fail(ParseError(f"{_describe(node)} is not supported in eincalc expressions"), node)
        number = float(node.value)  # an OverflowError here is reported by visit
        if not math.isfinite(number):
            raise self.fail(ParseError("number is too large for a float"), node)
        return sign * number

    def power(self, node: ast.BinOp) -> Expr:
        base = self.visit(node.left)
        if not _is_number(node.right):  # an expression as exponent: x[i]**t[i]
            return build.power(base, self.visit(node.right))
        k = self.number(node.right, "the exponent")
        if not isinstance(base, Const):
            return build.power(base, k)
        value = float(base.value) ** k
        if not isinstance(value, float) or not math.isfinite(value):
            raise ParseError(f"({base.value})**{k} is not a finite real number")
        return Const(value, positional=True)

    def name(self, node: ast.Name) -> Expr:
        if node.id in self.tensors:
            return where.resolve(build.bare(self.tensors[node.id]), self.definitions)
        if node.id in CALLS:
            raise UnknownNameError(f"{node.id} is a function; call it, like {node.id}(x)")
        declared = ", ".join(f"{n}[{','.join(s.dims)}]" if s.dims else n for n, s in self.tensors.items())
        raise UnknownNameError(f"unknown name {node.id!r}; declared tensors: {declared or 'none (pass them to parse)'}")

    def dim(self, nodes: Sequence[ast.expr]) -> str:
        """The one dimension all ``nodes`` (a δ's two indices, or the index of a 1 or 0) can have:
        the one written (``1[j:n]``), else as judged by the tensors that carry their names."""
        names = [_index_name(n) for n in nodes]
        written = [_written_dimension(n) for n in nodes]
        known = [
            {dim} if dim is not None else self.dims[name]
            for dim, name in zip(written, names, strict=True)
            if dim is not None or self.dims.get(name)
        ]
        common = sorted(set.intersection(*known)) if known else []
        if len(known) == len(nodes) and not common:
            raise self.fail(
                IndexMismatch(
                    f"the indices of a δ share one dimension, but {names[0]} stands for "
                    f"{' and '.join(sorted(known[0]))} and {names[1]} for "
                    f"{' and '.join(sorted(known[1]))}"
                ),
                nodes[1],
            )
        if len(common) != 1:
            found = (
                "; ".join(
                    f"{n} stands for {' and '.join(sorted(self.dims.get(n, ())))}" for n in names if self.dims.get(n)
                )
                or "it is on no tensor"
            )
            raise self.fail(
                IndexMismatch(
                    f"cannot infer the dimension of index {', '.join(names)}: {found}; "
                    f"write it, like 1[{names[0]}:n], or pass Index(name, dim) to parse"
                ),
                nodes[0],
            )
        return common[0]

    def subscript(self, node: ast.Subscript) -> Expr:
        value, elements = node.value, _elements(node.slice)
        atom = _is_atom(value)  # a δ, 0 or 1 may carry an index's dimension: 1[j:n], and so may the output
        written = atom or not isinstance(value, ast.Name)  # index of a sum that no term has: (x[p] + c)[p,i:n]
        for element in elements:
            if not isinstance(element, ast.Name) and not (written and _written_dimension(element) is not None):
                also = ", or with a dimension, like 1[j:n]" if atom else ""
                raise self.fail(ParseError(f"indices must be names, like W[i,j]{also}"), element)
        names = [_index_name(e) for e in elements]
        if isinstance(value, ast.Name) and value.id in self.tensors:
            dims = self.tensors[value.id].dims
            if len(names) != len(dims):
                raise self.fail(
                    IndexMismatch(
                        f"{value.id} has {len(dims)} axes ({', '.join(dims) or 'a scalar'}) but {len(names)} indices "
                        f"were given: [{', '.join(names)}]"
                    ),
                    elements[len(dims)] if len(names) > len(dims) else node,
                )
            tensor = build.index_expr(build.bare(self.tensors[value.id]), tuple(names))
            try:
                check_consistent([tensor])
            except IndexMismatch as error:
                raise self.locate(error, [(tensor, node)]) from None
            return where.resolve(tensor, self.definitions)
        if isinstance(value, ast.Name) and value.id in _DELTAS:
            if len(elements) != 2:
                raise ParseError(f"δ takes two indices, like δ[i,j], not [{', '.join(names)}]")
            dim = self.dim(elements)
            return Delta(Index(names[0], dim), Index(names[1], dim))
        if isinstance(value, ast.Constant) and value.value == 0 and type(value.value) is int:
            return Zero(tuple(Index(n, self.dim([e])) for n, e in zip(names, elements, strict=True)))
        if isinstance(value, ast.Constant) and value.value == 1 and type(value.value) is int and len(elements) == 1:
            return One(Index(names[0], self.dim(elements)))
        if isinstance(value, ast.Constant):
            raise ParseError("the numbers that take indices are 1[i] and 0[i,…]")
        single = self.opened(node.col_offset, value) > 1
        return self.explicit(value, elements, single, lambda e: build.index_expr(e, tuple(names)))

    def explicit(self, body: ast.expr, names: Sequence[ast.expr], single: bool, matrix: Callable[[Expr], Expr]) -> Expr:
        """``(body)[names]``: keep exactly ``names`` and sum every other index (index style).

        A matrix-style body is finished by ``matrix`` instead.  With ``single``
        (doubled parentheses) the body is one factor even if it is a product or a sum.
        """
        is_sum = not single and isinstance(body, ast.BinOp) and isinstance(body.op, ast.Add | ast.Sub)
        if is_sum:
            product = _Product(1.0, self.terms(body), False)
        elif not single and _is_product(body):
            product = self.factors(body)
        else:
            product = _Product(1.0, [(self.visit(body), body)], False)
        coefficient, parts = product.coefficient, product.parts
        if self.matrix_style(parts):
            return matrix(self.add(parts) if is_sum else self.multiply(product))
        available = {k.name: k for e, _ in parts for k in e.free}
        for position, node in enumerate(names):
            name = _index_name(node)
            if name in [_index_name(n) for n in names[:position]]:
                raise self.fail(IndexMismatch(f"output index {name} is repeated"), node)
            if name not in available and not is_sum:
                raise self.fail(IndexMismatch(f"output index {name} occurs in no factor"), node)
        out = tuple(available.get(_index_name(n)) or Index(_index_name(n), self.dim([n])) for n in names)
        exprs = [e for e, _ in parts]
        if not is_sum and len(exprs) <= 1 and (exprs[0].free if exprs else ()) == out:
            return self.multiply(product)  # nothing to sum or reorder
        if not is_sum:
            return Contract((*([Const(coefficient)] if coefficient != 1.0 else []), *exprs), out)
        if all(set(e.free) <= set(out) for e in exprs):
            return Add(tuple(t for e in exprs for t in build.addends(e)), out)
        return Contract((build.sum_terms(exprs),), out)

    def call(self, node: ast.Call) -> Expr:
        if not isinstance(node.func, ast.Name):
            raise ParseError("only named functions can be called, like σ(x)")
        if node.func.id not in CALLS:
            raise UnknownNameError(f"unknown function {node.func.id!r}; known functions: {', '.join(sorted(CALLS))}")
        for argument in [*node.args, *node.keywords]:
            if isinstance(argument, ast.Starred) or getattr(argument, "arg", "") is None:
                raise self.fail(ParseError("* and ** arguments are not supported"), argument)
        if node.func.id not in SCOPED_CALLS:
            return CALLS[node.func.id](Call(self, node))
        outside, self.dims = self.dims, _index_dims(self.tensors, node.args, self.given)
        try:
            return CALLS[node.func.id](Call(self, node))
        finally:
            self.dims = outside


class Call:
    """One call in the text, as a registered builder sees it (see `register_parse_function()`).

    ``name`` is the function's name, ``count`` the number of positional arguments and
    ``declared`` the tensors in scope.
    """

    def __init__(self, parser: _Parser, node: ast.Call) -> None:
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


# -- the call table ---------------------------------------------------------------------------


def _fixed(function: Callable[..., Expr], count: int) -> ParseFunction:
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
    register_parse_function(_name, _fixed(functools.partial(build.apply, _name), 1))
for _name, _builder in {
    "square": _fixed(lambda e: build.power(e, 2), 1),
    "trace": _fixed(build.trace, 1),
    "outer": _fixed(build.outer, 2),
    "dot": _fixed(build.dot, 2),
    "sum": _total,
    "Σ": _total,
    "size": _size,
}.items():
    register_parse_function(_name, _builder)


# -- helpers ----------------------------------------------------------------------------------

_BINARY: dict[type, Callable[[Expr, Expr], Expr]] = {ast.Div: build.divide, ast.MatMult: build.matmul}


def _is_product(node: ast.expr) -> bool:
    """Whether ``node`` reads as a product: ``a * b``, a signed operand, or a number."""
    return isinstance(node, ast.Constant) or isinstance(getattr(node, "op", None), ast.Mult) or bool(_sign(node))


_SIGNS: dict[type, float] = {ast.USub: -1.0, ast.UAdd: 1.0}


def _is_number(node: ast.expr) -> bool:
    """Whether ``node`` is a number literal, possibly signed (``2``, ``-0.5``)."""
    while _sign(node):
        node = getattr(node, "operand", node)
    return isinstance(node, ast.Constant) and not isinstance(node.value, bool) and isinstance(node.value, int | float)


def _sign(node: ast.expr) -> float:
    """-1 for ``-operand``, 1 for ``+operand``, 0 for anything else."""
    return _SIGNS.get(type(getattr(node, "op", None)), 0.0)


def _scale_group(expr: Expr, coefficient: float) -> Expr:
    """``coefficient`` times a parenthesised ``expr``: a product stays one factor (``2 (W[i,j] a[j])``)."""
    if isinstance(expr, Contract) and not expr.positional and coefficient != 1.0:
        return Contract((Const(coefficient), expr), expr.free)
    return build.scale(expr, coefficient)


def _is_zero(node: ast.expr) -> bool:
    """Whether ``node`` is the literal ``0``, which reads as `Zero` (``0.0`` is a number)."""
    return isinstance(node, ast.Constant) and type(node.value) is int and node.value == 0


def _wrapped(child: ast.expr, parent: ast.AST | None) -> bool:
    """Whether ``child``, an operand of ``parent``, has parentheses of its own."""
    return (
        parent is not None
        and child.col_offset != getattr(parent, "col_offset", None)
        and (child.end_col_offset != getattr(parent, "end_col_offset", None))
    )


def infer_dimensions(
    pinned: dict[str, set[str]], deltas: list[list[str]], given: Mapping[str, str]
) -> dict[str, set[str]]:
    """The dimensions a reader gives each index name of one scope: those ``pinned`` by tensors (or written,
    ``1[j:n]``), else a δ partner's (``deltas``: the name pairs), else the ``given`` one, else again a δ
    partner's.  The printer calls it too, to write a dimension wherever this inference would miss it."""

    def through_deltas() -> None:
        for _ in deltas:  # enough passes for any chain of deltas
            for pair in deltas:
                known = set().union(*(pinned.get(n, set()) for n in pair))
                pinned.update({n: known for n in pair if known and n not in pinned})

    through_deltas()
    for name, dim in given.items():
        pinned.setdefault(name, {dim})
    through_deltas()
    return pinned


def _is_atom(node: ast.expr) -> bool:
    """Whether ``node`` is the δ, 0 or 1 of a subscript like ``δ[i,j]``, ``0[i]``, ``1[i]``."""
    if isinstance(node, ast.Name):
        return node.id in _DELTAS
    return isinstance(node, ast.Constant) and type(node.value) is int and node.value in (0, 1)


def _written_dimension(node: ast.expr) -> str | None:
    """The dimension of an index written with it (``j:n``); ``None`` for anything else."""
    if isinstance(node, ast.Slice) and isinstance(node.lower, ast.Name) and isinstance(node.upper, ast.Name):
        return node.upper.id if node.step is None else None
    return None


def _index_name(node: ast.expr) -> str:
    """The name of an index written ``j`` or ``j:n``."""
    if isinstance(node, ast.Slice) and isinstance(node.lower, ast.Name):
        return node.lower.id
    return getattr(node, "id", "")


def _scope(roots: Iterable[ast.AST]) -> Iterator[ast.AST]:
    """The nodes under ``roots``, except those inside the arguments of a scoped call (a scope of their own)."""
    stack = list(roots)
    while stack:
        node = stack.pop()
        yield node
        if not (isinstance(node, ast.Call) and getattr(node.func, "id", None) in SCOPED_CALLS):
            stack.extend(ast.iter_child_nodes(node))


def _elements(index: ast.expr) -> list[ast.expr]:
    return list(index.elts) if isinstance(index, ast.Tuple) else [index]


def _index_dims(
    tensors: Mapping[str, TensorSpec], roots: Iterable[ast.AST], given: dict[str, str]
) -> dict[str, set[str]]:
    """The dimensions each index name has on declared tensors in the scope of ``roots``, else through a δ
    beside one, else as ``given``."""
    dims: dict[str, set[str]] = {}
    deltas = []
    for node in _scope(roots):
        if not isinstance(node, ast.Subscript):
            continue
        elements = _elements(node.slice)
        names = [_index_name(e) for e in elements]
        spec = tensors.get(node.value.id) if isinstance(node.value, ast.Name) else None
        if spec is not None and len(names) == len(spec.dims):
            for name, dim in zip(names, spec.dims, strict=True):
                dims.setdefault(name, set()).add(dim)
        elif spec is None:  # a δ, 1, 0 or a sum's output list may write dimensions
            for element in elements:
                written = _written_dimension(element)
                if written is not None:
                    dims.setdefault(_index_name(element), set()).add(written)
            if isinstance(node.value, ast.Name) and _is_atom(node.value):
                deltas.append(names)
    return infer_dimensions(dims, deltas, given)


_WORDS: dict[type, str] = {
    ast.Compare: "a comparison",
    ast.BoolOp: "'and'/'or'",
    ast.Lambda: "lambda",
    ast.IfExp: "'… if … else …'",
    ast.ListComp: "a comprehension",
    ast.SetComp: "a comprehension",
    ast.DictComp: "a comprehension",
    ast.GeneratorExp: "a comprehension",
    ast.Tuple: "a tuple",
    ast.List: "a list",
    ast.Dict: "a dict",
    ast.Set: "a set",
    ast.JoinedStr: "an f-string",
    ast.Starred: "'*'",
    ast.Slice: "a slice",
    ast.NamedExpr: "':='",
    ast.Attribute: "attribute access other than .T",
    ast.UnaryOp: "'not' or '~'",
    ast.FloorDiv: "'//'",
    ast.Mod: "'%'",
    ast.LShift: "'<<'",
    ast.RShift: "'>>'",
    ast.BitOr: "'|'",
    ast.BitXor: "'^'",
    ast.BitAnd: "'&'",
}


def _describe(node: ast.AST) -> str:
    if isinstance(node, ast.Constant):
        return "a string" if isinstance(node.value, str | bytes) else repr(node.value)
    if isinstance(node, ast.BinOp):
        return f"the operator {_WORDS.get(type(node.op), type(node.op).__name__)}"
    return _WORDS.get(type(node), type(node).__name__)
