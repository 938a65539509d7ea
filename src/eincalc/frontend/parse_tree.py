"""Python's syntax tree of index-notation text → `Expr`: the walk over a whitelist of node types.

`Parser` reads products, sums, powers, subscripts, names and calls as `eincalc.frontend.parse` describes;
the functions a text may call come from the caller (`Functions`), so this walk knows no function table.

>>> import ast
>>> from eincalc.frontend.build import tensors
>>> W, a = tensors("W[m,n] a[n]")
>>> tree = ast.parse("W[i,j] * a[j]", mode="eval")
>>> nothing = Functions(names=(), scoped=(), read=lambda parser, node: a)
>>> reader = Parser(tree, b"W[i,j] * a[j]", 0, {"W": W.spec, "a": a.spec}, {}, frozenset(), {}, nothing, 100)
>>> expr = reader.visit(tree.body)
>>> str(expr), expr.shape
('W[i,j] a[j]', ('m',))
"""

from __future__ import annotations

import ast
import functools
import math
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import NamedTuple

from ..core.errors import EincalcError, IndexMismatch, Located, ParseError, UnknownNameError, UnsupportedError
from ..core.expr import Expr
from ..core.indices import Index, TensorSpec
from ..core.nodes import Add, Const, Contract, Delta, One, Tensor, Zero, check_consistent
from . import build, where
from .parse_dims import index_dims
from .parse_nodes import (
    DELTAS,
    describe_node,
    index_elements,
    index_name,
    is_atom,
    is_number,
    is_product,
    is_zero,
    sign_of,
    wrapped,
    written_dimension,
)

_Parts = list[tuple[Expr, ast.expr]]


class _Product(NamedTuple):
    """A product as written: its coefficient, its other factors, and whether the coefficient joins the
    one factor (a product written without parentheses of its own)."""

    coefficient: float
    parts: _Parts
    joins: bool


class Functions(NamedTuple):
    """The functions a text may call: their ``names``, the ``scoped`` ones whose arguments are a scope of their
    own, and ``read``, which reads one call of a known name."""

    names: Collection[str]
    scoped: Collection[str]
    read: Callable[[Parser, ast.Call], Expr]


_BINARY: dict[type, Callable[[Expr, Expr], Expr]] = {ast.Div: build.divide, ast.MatMult: build.matmul}


class Parser:
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
        functions: Functions,
        max_depth: int,
    ) -> None:
        self.source, self.lead, self.tensors, self.depth, self.given = source, lead, tensors, 0, dims
        self.declared, self.definitions, self.functions, self.max_depth = declared, definitions, functions, max_depth
        self.dims = index_dims(tensors, [tree], dims, scoped=functions.scoped)

    def fail(self, error: EincalcError, node: ast.AST) -> Located:
        column = len(self.source[: getattr(node, "col_offset", 0)].decode(errors="ignore"))
        return Located(error, self.lead + column)

    def opened(self, start: int, node: ast.expr) -> int:
        """How many ``(`` stand between byte ``start`` and ``node``."""
        return self.source[start : node.col_offset].count(b"(")

    def visit(self, node: ast.expr) -> Expr:
        self.depth += 1
        try:
            if self.depth > self.max_depth:
                raise ParseError(f"expression nests deeper than {self.max_depth} levels")
            return self._dispatch(node)
        except EincalcError as error:
            raise self.fail(error, node) from None
        except ArithmeticError:
            raise self.fail(ParseError("a constant overflows or divides by zero"), node) from None
        finally:
            self.depth -= 1

    def _dispatch(self, node: ast.expr) -> Expr:
        if is_zero(node):
            return Zero(())
        if is_product(node):
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
        raise ParseError(f"{describe_node(node)} is not supported in eincalc expressions")

    # -- products and sums --------------------------------------------------------------

    def chain(self, node: ast.expr, ops: tuple[type, ...]) -> list[tuple[ast.expr, ast.AST | None, object]]:
        """Operands of an unparenthesised left-associative chain, as ``(operand, parent, operator)``."""
        items: list[tuple[ast.expr, ast.AST | None, object]] = []
        current, parent = node, None
        while isinstance(current, ast.BinOp) and isinstance(current.op, ops) and not wrapped(current, parent):
            items.append((current.right, current, current.op))
            current, parent = current.left, current
        items.append((current, parent, None))
        return items[::-1]

    def factors(self, node: ast.expr, coefficient: float = 1.0) -> _Product:
        """A product's numeric coefficient (signs and numbers) and its other factors."""
        parts: _Parts = []
        joins = False
        for item, parent, _ in self.chain(node, (ast.Mult,)):
            while isinstance(item, ast.UnaryOp) and sign_of(item) and not wrapped(item, parent):
                coefficient *= sign_of(item)
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

    def locate(self, error: EincalcError, parts: _Parts, summed: bool = True) -> Located:
        """``error`` at the index written with a second dimension, or (in a product, ``summed``) a third time;
        else at the first part."""
        seen: dict[str, list[Index]] = {}
        for expr, node in parts:
            written = (
                {index_name(e): e for e in reversed(index_elements(node.slice))}  # each name's first place
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
            elif self.grouped(item, parent) or is_zero(item):  # ``a - 0`` subtracts Zero, as a lone 0 is Zero
                parts.append((_scale_group(self.visit(item), -1.0), item))
            else:  # ``a - 2 b`` negates the coefficient of ``2 b``, as the printer writes it
                parts.append((self.multiply(self.factors(item, -1.0)), item))
        return parts

    def grouped(self, item: ast.expr, parent: ast.AST | None) -> bool:
        """Whether ``item`` reads as a parenthesised group: it has parentheses of its own, or it uses an
        automatic intermediate (``t1``, ``t1[p]``), which stands for its definition in parentheses."""
        value = item.value if isinstance(item, ast.Subscript) else item
        used = value.id if isinstance(value, ast.Name) else ""
        return wrapped(item, parent) or where.reads_as_group(used, self.tensors.get(used), self.definitions)

    def add(self, parts: _Parts) -> Expr:
        if self.matrix_style(parts):
            return functools.reduce(build.add, [e for e, _ in parts])
        try:
            return build.sum_terms([e for e, _ in parts])
        except IndexMismatch as error:
            raise self.locate_in_sum(error, parts) from None

    def locate_in_sum(self, error: EincalcError, parts: _Parts) -> Located:
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
        while isinstance(node, ast.UnaryOp) and sign_of(node):
            sign, node = sign * sign_of(node), node.operand
        if not isinstance(node, ast.Constant):
            raise self.fail(UnsupportedError(f"{what} must be a number literal"), node)
        if isinstance(node.value, bool) or not isinstance(node.value, int | float):
            raise self.fail(ParseError(f"{describe_node(node)} is not supported in eincalc expressions"), node)
        number = float(node.value)  # an OverflowError here is reported by visit
        if not math.isfinite(number):
            raise self.fail(ParseError("number is too large for a float"), node)
        return sign * number

    def power(self, node: ast.BinOp) -> Expr:
        base = self.visit(node.left)
        if not is_number(node.right):  # an expression as exponent: x[i]**t[i]
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
        if node.id in self.functions.names:
            raise UnknownNameError(f"{node.id} is a function; call it, like {node.id}(x)")
        declared = ", ".join(f"{n}[{','.join(s.dims)}]" if s.dims else n for n, s in self.tensors.items())
        raise UnknownNameError(f"unknown name {node.id!r}; declared tensors: {declared or 'none (pass them to parse)'}")

    def dim(self, nodes: Sequence[ast.expr]) -> str:
        """The one dimension all ``nodes`` (a δ's two indices, or the index of a 1 or 0) can have:
        the one written (``1[j:n]``), else as judged by the tensors that carry their names."""
        names = [index_name(n) for n in nodes]
        written = [written_dimension(n) for n in nodes]
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
        value, elements = node.value, index_elements(node.slice)
        atom = is_atom(value)  # a δ, 0 or 1 may carry an index's dimension: 1[j:n], and so may the output
        written = atom or not isinstance(value, ast.Name)  # index of a sum that no term has: (x[p] + c)[p,i:n]
        for element in elements:
            if not isinstance(element, ast.Name) and not (written and written_dimension(element) is not None):
                also = ", or with a dimension, like 1[j:n]" if atom else ""
                raise self.fail(ParseError(f"indices must be names, like W[i,j]{also}"), element)
        names = [index_name(e) for e in elements]
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
        if isinstance(value, ast.Name) and value.id in DELTAS:
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
        elif not single and is_product(body):
            product = self.factors(body)
        else:
            product = _Product(1.0, [(self.visit(body), body)], False)
        coefficient, parts = product.coefficient, product.parts
        if self.matrix_style(parts):
            return matrix(self.add(parts) if is_sum else self.multiply(product))
        available = {k.name: k for e, _ in parts for k in e.free}
        for position, node in enumerate(names):
            name = index_name(node)
            if name in [index_name(n) for n in names[:position]]:
                raise self.fail(IndexMismatch(f"output index {name} is repeated"), node)
            if name not in available and not is_sum:
                raise self.fail(IndexMismatch(f"output index {name} occurs in no factor"), node)
        out = tuple(available.get(index_name(n)) or Index(index_name(n), self.dim([n])) for n in names)
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
        if node.func.id not in self.functions.names:
            known = ", ".join(sorted(self.functions.names))
            raise UnknownNameError(f"unknown function {node.func.id!r}; known functions: {known}")
        for argument in [*node.args, *node.keywords]:
            if isinstance(argument, ast.Starred) or getattr(argument, "arg", "") is None:
                raise self.fail(ParseError("* and ** arguments are not supported"), argument)
        if node.func.id not in self.functions.scoped:
            return self.functions.read(self, node)
        outside, self.dims = self.dims, index_dims(self.tensors, node.args, self.given, scoped=self.functions.scoped)
        try:
            return self.functions.read(self, node)
        finally:
            self.dims = outside


def _scale_group(expr: Expr, coefficient: float) -> Expr:
    """``coefficient`` times a parenthesised ``expr``: a product stays one factor (``2 (W[i,j] a[j])``)."""
    if isinstance(expr, Contract) and not expr.positional and coefficient != 1.0:
        return Contract((Const(coefficient), expr), expr.free)
    return build.scale(expr, coefficient)
