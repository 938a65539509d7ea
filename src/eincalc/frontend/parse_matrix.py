"""Matrix notation → an index-form expression, with strict matrix typing: `parse_matrix()`.

It reads what the matrix view prints (``g aᵀ``, ``Wᵀ g``, ``diag(s) − s sᵀ``,
``X⁻ᵀ``, ``A ⊙ B``, ``tr(A X B)``, ``‖X‖_F``, ``1ᵀ y``, ``… where z = W x``)
and the ASCII syntax of matrixcalculus.org (``x'*A*x``, ``tr(A*X'*B)``,
``A.*B``, ``A./B``, ``inv(X)``, ``logdet(X)``, ``norm2(x)^2``, ``sum(x)``,
``vector(1)``).  Every sub-expression has a type from the declarations: a
scalar, a column vector (a declared ``x[n]``; a row with ``rows=True``), a row
vector or a matrix.  A product of two non-scalars is the matrix product and
needs equal inner dimensions; ``⊙``/``.*`` and ``+``/``−`` need equal shapes;
nothing broadcasts, so a matrix minus a vector is an error that says how to
write it (``x 1ᵀ``).  ``I``, ``1`` and ``0`` take their size from what stands
beside them, and a dimension name is its size (``0.5 n W``).  The result is
an ordinary expression built with `eincalc.frontend.build`, so `eincalc.evaluate()`,
`eincalc.grad()` and the views take it as they take any other.

`eincalc.matrix.readback.reads_back()` is the check that a printed matrix form means what it was
printed from: its text, read back here, evaluates to the index form's numbers.

>>> import eincalc as ec
>>> x, A = ec.tensors("x[n] A[n,n]")
>>> f = parse_matrix("x'*A*x", x, A)
>>> print(f, "|", ec.to_matrix(f).text)
(x[j] A[j,i]) x[i] | xᵀ A x
>>> parse_matrix("A - x", x, A)  # doctest: +ELLIPSIS
Traceback (most recent call last):
  ...
eincalc.core.errors.ShapeError: an n×n matrix minus an n-vector: ... write x 1ᵀ (a copy in every column) or 1 xᵀ (...)
  A - x
      ^
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, NamedTuple, TypeVar

from ..core.arguments import describe as describe_value
from ..core.arguments import require_flag, require_text
from ..core.errors import EincalcError, Located, ParseError, ShapeError, UnsupportedError
from ..core.expr import Expr
from ..core.indices import Index
from ..core.nodes import Delta, One, Size, Zero
from . import build
from .matrix_calls import AXIS_CALLS, MATRIX_CALLS, elementwise_functions
from .matrix_checker import Checker, Scope, key
from .matrix_syntax import Bars, Call, Definition, Name, Negate, Node, Number, Postfix, Product, Sum, read
from .matrix_typing import Kind, Shape, Var, find, product_rule
from .node_builders import NODE_BUILDERS


def parse_matrix(text: str, *declared: Expr, rows: bool = False, shape: Sequence[str] | None = None) -> Expr:
    """Read matrix notation over the ``declared`` tensors (and named intermediates, `eincalc.let()`).

    Vectors are columns, or rows with ``rows=True`` (as `eincalc.to_matrix()` prints them).
    ``shape`` (dimension names) is the shape the result must have; it fixes the size of a lone
    ``I``, ``1`` or ``0`` that nothing else in the text does.

    >>> import eincalc as ec
    >>> W, g, a = ec.tensors("W[m,n] g[m] a[n]")
    >>> str(parse_matrix("g aᵀ", W, g, a)), str(parse_matrix("Wᵀ g", W, g, a))
    ('g[i] a[j]', '(W[j,i])[i,j] g[j]')
    """
    require_text(text, "the text given to ec.parse_matrix", '"x\'*A*x"')
    orientation: Kind = "row" if require_flag(rows, "rows=") else "col"
    if shape is not None and (not isinstance(shape, tuple | list) or not all(isinstance(d, str) for d in shape)):
        raise UnsupportedError(f"shape= takes dimension names, like ('m', 'n'), not {describe_value(shape)}")
    shown = "".join(" " if c.isspace() else c for c in text)
    try:
        if not text.strip():
            raise Located(ParseError("expression is empty"), None)
        scope = Scope(declared)
        tree = read(text, functions=MATRIX_CALLS | set(elementwise_functions()), values=scope.entries)
        checker = Checker(tree, scope, shown, orientation)
        return _Builder(checker).expression(checker.check_text(shape))
    except Located as located:
        raise located.error.with_context(shown, located.column) from None


# -- building -------------------------------------------------------------------------------------


class _Builder:
    """Builds the expression of a typed text with the builders of `eincalc.frontend.build` (and the modules of
    matrix functions and softmax), reading each node's type and each product's steps from the ``checker``."""

    def __init__(self, checker: Checker) -> None:
        self.checker, self.scope = checker, checker.scope
        self.built: dict[str, Expr] = {}

    def expression(self, definitions: list[Definition]) -> Expr:
        for definition in definitions:
            self.built[definition.name] = build.let(definition.name, self.build(definition.body))
        return self.build(self.checker.tree.main)

    def shape(self, node: Node) -> Shape:
        return self.checker.shape(node)

    def build(self, node: Node) -> Expr:
        try:
            return _BUILDERS[type(node)](self, node)
        except EincalcError as error:
            raise Located(error, node.start) from None

    def dim(self, size: Any) -> str:
        found = find(size)
        if isinstance(found, Var):
            raise Located(
                ShapeError(
                    f"nothing beside {found.origin} fixes its size; write it beside a tensor of the "
                    "size meant, or pass the result's shape= to parse_matrix"
                ),
                found.column,
            )
        return found

    def literal(self, node: Number) -> Expr:
        shape = self.shape(node)
        if shape.kind == "scalar":
            return build.as_expr(node.value)
        axes = tuple(Index(name, self.dim(d)) for name, d in zip("ij", shape.dims, strict=False))
        if node.value == 0:
            return Zero(axes, positional=True)
        ones = [One(k, positional=True) for k in axes]
        return ones[0] if len(ones) == 1 else build.outer(*ones)

    def name_expr(self, node: Name) -> Expr:
        name = key(node.name)
        if name in self.built:
            return self.built[name]
        if name in self.scope.entries:
            return self.scope.entries[name]
        if name == "I":
            size = self.dim(self.shape(node).dims[0])
            return Delta(Index("i", size), Index("j", size), positional=True)
        return Size(self.scope.dims[name], positional=True)

    def sum_expr(self, node: Sum) -> Expr:
        terms = [build.scale(self.build(t), float(sign)) for t, sign in zip(node.terms, node.signs, strict=True)]
        return _pairwise(terms, build.add)

    def product_expr(self, node: Product) -> Expr:
        """The factors multiplied pairwise, so that a long product builds a shallow expression: a product is
        associative once ``x / y`` is read as ``x y⁻¹`` (⊙ and matrix products never share one).  Literals that
        multiply each other (``σ(1) 1``) are constants of one shape: they multiply element-wise."""
        steps = self.checker.steps[id(node)]
        elementwise = any(how in ("hadamard", "quotient") for how in steps)
        factors = [_Factor(self.build(f), self.shape(f), self.checker.literal(f)) for f in node.factors]
        for k, how in enumerate(steps, start=1):
            if how in ("divide", "quotient"):
                factors[k] = factors[k]._replace(expr=build.power(factors[k].expr, -1))

        def times(left: _Factor, right: _Factor) -> _Factor:
            literal = left.literal and right.literal
            if elementwise or literal or "scalar" in (left.shape.kind, right.shape.kind):
                shape = right.shape if left.shape.kind == "scalar" else left.shape
                return _Factor(build.multiply(left.expr, right.expr), shape, literal)
            rule = product_rule(left.shape, right.shape)
            if rule is None:  # typed left to right, built pairwise: literals may type one way and build another
                raise ShapeError(
                    f"cannot multiply a {left.shape.kind} by a {right.shape.kind} here; write the "
                    "product with parentheses or with tensors that fix the sizes"
                )
            return _Factor(_MULTIPLY[rule[0]](left.expr, right.expr), rule[1], False)

        return _pairwise(factors, times).expr

    def postfix_expr(self, node: Postfix) -> Expr:
        child = self.build(node.child)
        if node.power is not None:  # x^t: element-wise
            return build.power(child, self.build(node.power))
        matrix = self.shape(node.child).kind == "matrix"
        if node.mark == "T":
            return build.transpose(child) if matrix else child
        if node.mark == "invT":
            return build.transpose(_node("inv")(child))
        if matrix and not node.elementwise and id(node) not in self.checker.constant_powers:
            return _node("matrix_power")(child, int(node.exponent))
        return build.power(child, node.exponent)

    def bars_expr(self, node: Bars) -> Expr:
        child, kind = self.build(node.child), self.shape(node.child).kind
        if not node.norm or kind == "scalar":
            return build.apply("abs", child)
        if node.sub == "1":
            return build.total(build.apply("abs", child))
        return _node("frobenius")(child) if kind == "matrix" else _node("norm")(child)

    def call_expr(self, node: Call) -> Expr:
        (argument,) = node.args
        if (
            node.fn == "log"
            and isinstance(argument, Bars)
            and not argument.norm
            and isinstance(argument.child, Call)
            and argument.child.fn == "det"
        ):  # log|det(X)| is logdet(X)
            return _node("logdet")(self.build(argument.child.args[0]))
        value, kind = self.build(argument), self.shape(argument).kind
        if node.fn in AXIS_CALLS:
            fn, way = AXIS_CALLS[node.fn]
            return _node(fn)(value, 1 if way == "rows" else 0)
        if node.fn in _CALL_BUILDERS:
            return _CALL_BUILDERS[node.fn](self, node, value, kind)
        return build.apply(elementwise_functions()[node.fn], value)


class _Factor(NamedTuple):
    """A factor of a product being built: its expression, its shape, and whether it is a literal's value."""

    expr: Expr
    shape: Shape
    literal: bool


_T = TypeVar("_T")


def _node(name: str) -> Callable[..., Expr]:
    """The builder of an ops/ node kind (``inv``, ``softmax``, …), registered by its plugin in `NODE_BUILDERS`."""
    return NODE_BUILDERS.find(name)


def _pairwise(items: list[_T], combine: Callable[[_T, _T], _T]) -> _T:
    """``items`` combined left to right in a balanced tree (neighbours first), for an associative ``combine``."""
    while len(items) > 1:
        items = [combine(*items[k : k + 2]) if k + 1 < len(items) else items[k] for k in range(0, len(items), 2)]
    return items[0]


def _constant(reader: _Builder, node: Call, value: Expr, kind: str) -> Expr:
    dims = [reader.dim(d) for d in reader.shape(node).dims]
    ones = [One(Index(name, d), positional=True) for name, d in zip("ij", dims, strict=False)]
    return build.multiply(value, ones[0] if len(ones) == 1 else build.outer(*ones))


_CALL_BUILDERS: dict[str, Callable[[_Builder, Call, Expr, str], Expr]] = {
    "tr": lambda r, n, v, k: build.trace(v), "trace": lambda r, n, v, k: build.trace(v),
    "det": lambda r, n, v, k: _node("det")(v), "logdet": lambda r, n, v, k: _node("logdet")(v),
    "inv": lambda r, n, v, k: _node("inv")(v),
    "diag": lambda r, n, v, k: _node("diagonal")(v) if k == "matrix" else _node("diag")(v),
    "sum": lambda r, n, v, k: build.total(v), "norm1": lambda r, n, v, k: build.total(build.apply("abs", v)),
    "norm2": lambda r, n, v, k: _node("frobenius")(v) if k == "matrix" else _node("norm")(v),
    "softmax": lambda r, n, v, k: _node("softmax")(v), "log_softmax": lambda r, n, v, k: _node("log_softmax")(v),
    "logsumexp": lambda r, n, v, k: _node("logsumexp")(v), "vector": _constant, "matrix": _constant,
}  # fmt: skip

_MULTIPLY: dict[str, Callable[[Expr, Expr], Expr]] = {"matmul": build.matmul, "outer": build.outer}

_BUILDERS: dict[type, Callable[[Any, Any], Expr]] = {
    Number: _Builder.literal, Name: _Builder.name_expr, Sum: _Builder.sum_expr, Product: _Builder.product_expr,
    Negate: lambda r, n: build.scale(r.build(n.child), -1.0), Postfix: _Builder.postfix_expr,
    Bars: _Builder.bars_expr, Call: _Builder.call_expr,
}  # fmt: skip
