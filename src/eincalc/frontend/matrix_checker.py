"""The typing pass of `eincalc.parse_matrix()`: the strict matrix type of every node of a syntax tree.

`Checker` walks the tree of `eincalc.frontend.matrix_syntax` (a ``where``
definition before the text that uses it) and gives every node a
`Shape`, with the rules and messages of
`eincalc.frontend.matrix_typing` (a call with those of `eincalc.frontend.matrix_calls`);
a literal ``0`` or ``1`` keeps a `Flexible` type until a sum, a product or the
end settles it.  It records what the building pass needs: each node's type and
how each product multiplies.  Names are looked up in a `Scope`: the
declared tensors and intermediates, ``I``, and the dimension names (sizes).

>>> import eincalc as ec
>>> from eincalc.frontend.matrix_calls import MATRIX_CALLS
>>> from eincalc.frontend.matrix_syntax import read
>>> W, x = ec.tensors("W[m,n] x[n]")
>>> scope = Scope([W, x])
>>> tree = read("xᵀ Wᵀ", MATRIX_CALLS, scope.entries)
>>> checker = Checker(tree, scope, "xᵀ Wᵀ", "col")
>>> checker.check_text(None), describe(checker.shape(tree.main)), checker.steps[id(tree.main)]
([], 'a row m-vector', ('matmul',))
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from typing import Any, NamedTuple

from ..core.arguments import describe as describe_value
from ..core.errors import ParseError, ShapeError, UnknownNameError, UnsupportedError
from ..core.expr import Expr
from ..core.limits import describe as describe_expr
from ..core.nodes import Named, Tensor
from . import build
from .matrix_calls import ARITY, AXIS_CALLS, call_type, elementwise_functions
from .matrix_readings import (
    bars_of_array,
    python_power_of_matrix,
    require_no_star_beside_at,
    require_one_grouping,
)
from .matrix_syntax import (
    DIVIDE,
    ELEMENTWISE,
    ELEMENTWISE_DIVIDE,
    Bars,
    Call,
    Definition,
    Located,
    Name,
    Negate,
    Node,
    Number,
    Postfix,
    Product,
    Sum,
    Text,
    normalized,
)
from .matrix_typing import (
    SCALAR,
    Flexible,
    Kind,
    Shape,
    Type,
    Var,
    describe,
    final,
    grouped,
    mismatch,
    product_problem,
    product_rule,
    same,
    square,
    unify,
    vector,
)
from .styles import tidy

# -- names in scope ---------------------------------------------------------------------------------


def key(name: str) -> str:
    """How a name is looked up: ``W₁``, ``W1`` and ``W_1`` are one name."""
    return re.sub(r"_(\d+)$", r"\1", normalized(name))


class Scope:
    """The declared tensors and intermediates by name, and the dimension names they use."""

    def __init__(self, declared: Iterable[Expr]) -> None:
        self.entries: dict[str, Expr] = {}
        self.dims: dict[str, str] = {}  # by how each is looked up
        for item in declared:
            if isinstance(item, Tensor):
                expr: Expr = build.bare(item.spec)
                name = item.spec.name
            elif isinstance(item, Named):
                expr, name = tidy(item), item.name
            else:
                listed = isinstance(item, list | tuple)
                hint = "; unpack a list with *: ec.parse_matrix(text, *tensors)" if listed else ""
                raise UnsupportedError(
                    f"parse_matrix takes declared tensors (ec.tensors) and named intermediates "
                    f"(ec.let), not {describe_value(item)}{hint}"
                )
            if self.entries.setdefault(key(name), expr) != expr:
                both = " and ".join(_declaration(e) for e in (self.entries[key(name)], expr))
                raise UnsupportedError(f"two different declarations are read as {key(name)}: {both}; rename one")
            self.dims.update({key(d): d for d in expr.shape})

    def listing(self) -> str:
        return ", ".join(
            sorted(
                str(e.spec) if isinstance(e, Tensor) else key(e.name)  # type: ignore[attr-defined]
                for e in self.entries.values()
            )
        )


def _declaration(expr: Expr) -> str:
    """A declared tensor as declared (``W[m,n]``), an intermediate with the start of its definition."""
    if isinstance(expr, Tensor):
        return str(expr.spec)
    assert isinstance(expr, Named)
    return f"the intermediate {expr.name} = {describe_expr(expr.body).splitlines()[0]}"


# -- the typing pass -------------------------------------------------------------------------------


class Checker:
    """Types every node of one text; `types` and `steps` are what the building pass reads."""

    def __init__(self, tree: Text, scope: Scope, source: str, orientation: Kind) -> None:
        self.tree, self.scope, self.source, self.vector = tree, scope, source, orientation
        self.types: dict[int, Type] = {}
        self.steps: dict[int, tuple[str, ...]] = {}  # per product: how each operator multiplies
        self.defined: dict[str, Shape] = {}
        self.constant_powers: set[int] = set()  # powers of a literal: element-wise whatever shape it takes

    def text(self, node: Node) -> str:
        return self.source[node.start : node.end].strip()

    def check_text(self, shape: Sequence[str] | None) -> list[Definition]:
        """Type the definitions, then the text (whose result must have ``shape``); the definitions in order."""
        definitions = self.ordered()
        for definition in definitions:
            self.defined[definition.name] = final(self.check(definition.body))
        self.fit(self.check(self.tree.main), shape)
        return definitions

    def ordered(self) -> list[Definition]:
        """The ``where`` definitions, each after the ones it uses."""
        pending: dict[str, Definition] = {}
        for definition in self.tree.definitions:
            if definition.name in pending or key(definition.name) in self.scope.entries:
                clash = "defined twice" if definition.name in pending else "already declared"
                raise Located(
                    ParseError(f"{definition.name} is {clash}; name the intermediate differently"), definition.start
                )
            pending[definition.name] = definition
        uses = {name: {n.name for n in _names(d.body)} & set(pending) for name, d in pending.items()}
        order: list[Definition] = []
        while pending:
            ready = [d for name, d in pending.items() if not uses[name] & set(pending)]
            if not ready:
                first = next(iter(pending.values()))
                raise Located(ParseError(f"the definitions of {', '.join(pending)} refer to each other"), first.start)
            for definition in ready:
                order.append(pending.pop(definition.name))
        return order

    def fit(self, root: Type, shape: Sequence[str] | None) -> None:
        """The text's type against the ``shape`` its result must have."""
        if shape is None:
            return
        dims = tuple(shape)
        kinds: dict[int, Kind] = {0: "scalar", 1: self.vector, 2: "matrix"}
        expected = Shape(kinds.get(len(dims), "matrix"), dims)
        got = root.settle(expected) if isinstance(root, Flexible) else root
        if len(got.dims) != len(dims) or not all([unify(a, b) for a, b in zip(got.dims, dims, strict=True)]):
            raise Located(
                ShapeError(f"the text reads as {describe(got)}, but its result must have shape ({', '.join(dims)})"),
                self.tree.main.start,
            )

    # -- typing ----------------------------------------------------------------------------------

    def check(self, node: Node) -> Type:
        kind = _CHECKS[type(node)](self, node)
        self.types[id(node)] = kind
        return kind

    def shape(self, node: Node) -> Shape:
        """The settled shape of a typed node (a literal nothing settled is a number)."""
        return final(self.types[id(node)])

    def literal(self, node: Node) -> bool:
        """Whether a typed node is (a value computed from) a literal ``0`` or ``1``, whatever shape it took."""
        return isinstance(self.types[id(node)], Flexible)

    def operand(self, node: Node) -> Shape:
        """Type ``node`` as an operand that fixes a literal: ``1`` there is a number."""
        return final(self.check(node))

    def require_square(self, node: Node, shape: Shape, what: str) -> Shape:
        if not square(shape):
            raise Located(
                ShapeError(f"{what} needs a square matrix; {self.text(node)} is {describe(shape)}"), node.start
            )
        return shape

    def unknown(self, node: Name) -> Located:
        functions = {*elementwise_functions(), *ARITY, *AXIS_CALLS}
        if node.called:
            known = ", ".join(sorted(functions))
            return Located(UnknownNameError(f"unknown function {node.name!r}; known functions: {known}"), node.start)
        if node.name in functions:
            return Located(
                ParseError(f"{node.name} is a function: its argument goes in parentheses, like {node.name}(x)"),
                node.start,
            )
        return Located(
            UnknownNameError(f"unknown name {node.name!r}; declared tensors: {self.scope.listing()}"), node.start
        )

    def name_type(self, node: Name) -> Type:
        name = key(node.name)
        if name in self.defined:
            return self.defined[name]
        if name in self.scope.entries:
            expr = self.scope.entries[name]
            if expr.rank > 2:
                raise Located(
                    UnsupportedError(
                        f"{node.name} has rank {expr.rank} ({', '.join(expr.shape)}): matrix notation stops at rank 2; "
                        "write the expression in index notation with ec.parse"
                    ),
                    node.start,
                )
            return Shape(("scalar", self.vector, "matrix")[expr.rank], expr.shape)
        if name == "I":
            size = Var("I", node.start)
            return Shape("matrix", (size, size))
        if name in self.scope.dims:
            return SCALAR
        raise self.unknown(node)

    def sum_type(self, node: Sum) -> Type:
        types = [self.check(term) for term in node.terms]
        shaped = [(term, t) for term, t in zip(node.terms, types, strict=True) if isinstance(t, Shape)]
        if not shaped:
            literal, *literals = [t for t in types if isinstance(t, Flexible)]
            return literal.joined(*literals)
        (first_node, first), *others = shaped
        for term, shape in others:
            if not same(first, shape):
                sign = node.signs[node.terms.index(term)]
                operation = "minus" if sign < 0 else "plus"
                raise Located(
                    ShapeError(mismatch(first, shape, self.text(first_node), self.text(term), operation)), term.start
                )
        for term, t in zip(node.terms, types, strict=True):
            if isinstance(t, Flexible):
                self.settle(t, first, term)
        return first

    def settle(self, literal: Flexible, shape: Shape, node: Node) -> Shape:
        settled = literal.settle(shape)
        if not same(settled, shape):
            raise Located(
                ShapeError(f"{self.text(node)} is {describe(settled)} here and {describe(shape)} there"), node.start
            )
        return settled

    def product_type(self, node: Product) -> Type:
        types = [self.check(factor) for factor in node.factors]
        require_one_grouping(node, types)
        result = types[0]
        steps: list[str] = []
        for k, (op, factor) in enumerate(zip(node.ops, node.factors[1:], strict=True)):
            left_text = self.source[node.start : node.factors[k].end].strip()
            how, result = self.multiply(op, _Left(result, left_text, node.start), types[k + 1], factor)
            steps.append(how)
        require_no_star_beside_at(node, steps, self.source)
        self.steps[id(node)] = tuple(steps)
        return result

    def multiply(self, op: str, so_far: _Left, right: Type, factor: Node) -> tuple[str, Type]:
        """How ``left op right`` multiplies, and its type."""
        left, left_text = so_far.type, so_far.text
        if op in DIVIDE:
            denominator = self.settle(right, SCALAR, factor) if isinstance(right, Flexible) else right
            if denominator.kind != "scalar":
                a, b = grouped(left_text), grouped(self.text(factor))
                raise Located(
                    ShapeError(
                        f"division by {describe(denominator)}: / divides by a scalar only; write "
                        f"{a} ./ {b} to divide element-wise"
                    ),
                    factor.start,
                )
            return "divide", left
        if isinstance(left, Flexible) and isinstance(right, Flexible):
            return "scale", self.literal_product(left, right, factor)
        if op in ELEMENTWISE or op in ELEMENTWISE_DIVIDE:
            return self.elementwise(op, left, right, left_text, factor)
        if isinstance(left, Flexible):  # 1 xᵀ: a column of ones; σ(1) xᵀ: a number
            column = left.written and isinstance(right, Shape) and right.kind == "row"
            left = self.settle(left, vector("col", Var("1", so_far.start)) if column else SCALAR, factor)
        if isinstance(right, Flexible):  # X 1: a column of ones; 2 1: still a literal; X σ(1): a number
            if left.kind == "scalar":
                return "scale", right
            column = right.written and left.kind in ("row", "matrix")
            right = self.settle(right, vector("col", left.dims[-1]) if column else SCALAR, factor)
        rule = product_rule(left, right)
        if rule is None:
            raise Located(ShapeError(product_problem(left, right, left_text, self.text(factor))), factor.start)
        return rule

    def literal_product(self, left: Flexible, right: Flexible, factor: Node) -> Type:
        """Two literals side by side: ``1 1`` stays one literal; a function of one (``σ(1)``) is a number beside
        the other (``σ(1) 1`` is ones scaled, ``σ(1) σ(2)`` a number)."""
        if left.written and right.written:
            return left.joined(right)
        for number in (left, right):
            if not number.written:
                self.settle(number, SCALAR, factor)
        return right if right.written else left if left.written else SCALAR

    def elementwise(self, op: str, left: Type, right: Type, left_text: str, factor: Node) -> tuple[str, Type]:
        """``left ⊙ right`` or ``left ⊘ right``: one shape, or a scalar that scales (a literal takes the other's)."""
        if isinstance(left, Flexible):
            left = self.settle(left, final(right), factor)
        if isinstance(right, Flexible):
            right = self.settle(right, left, factor)
        if left.kind == "scalar" or right.kind == "scalar":
            return ("scale" if op in ELEMENTWISE else "divide"), right if left.kind == "scalar" else left
        if not same(left, right):
            raise Located(ShapeError(mismatch(left, right, left_text, self.text(factor), op)), factor.start)
        return ("hadamard" if op in ELEMENTWISE else "quotient"), left

    def postfix_type(self, node: Postfix) -> Type:
        if node.power is not None:
            return self.variable_power_type(node)
        child = self.check(node.child)
        if node.mark == "T":
            if isinstance(child, Flexible):  # 1ᵀ: a row of ones
                child = self.settle(child, vector("col", Var("1", node.start)), node.child)
            return child.flipped()
        if isinstance(child, Flexible) and node.mark == "pow":  # 1^-0.5: still a constant of any shape
            self.constant_powers.add(id(node))
            return child.derived()
        shape = final(child)
        if node.mark == "invT" or (node.mark == "pow" and shape.kind == "matrix" and not node.elementwise):
            power = "⁻ᵀ" if node.mark == "invT" else f"a matrix power ({self.text(node)})"
            if node.mark == "pow" and not float(node.exponent).is_integer():
                raise Located(
                    UnsupportedError(
                        f"{power}: a matrix power needs an integer exponent; for the "
                        f"element-wise power write {grouped(self.text(node.child))}.^"
                        f"{node.exponent:g}"
                    ),
                    node.start,
                )
            if node.operator == "**":
                raise python_power_of_matrix(self.text(node), grouped(self.text(node.child)), node.exponent, node.start)
            self.require_square(node.child, shape, power)
        return shape

    def variable_power_type(self, node: Postfix) -> Type:
        """``a^b`` with an operand ``b``: element-wise, so ``a`` and ``b`` have one shape or one is a scalar (as for
        ``a ⊙ b``); a matrix result must be written ``A^∘b``, since ``A^b`` would be a matrix power."""
        assert node.power is not None
        base, exponent = self.check(node.child), self.check(node.power)
        _, shape = self.elementwise("⊙", base, exponent, self.text(node.child), node.power)
        if final(shape).kind == "matrix" and not node.elementwise:
            raise Located(
                UnsupportedError(
                    f"a matrix power needs a number exponent, not {self.text(node.power)}; for the element-wise "
                    f"power write {grouped(self.text(node.child))}^∘{grouped(self.text(node.power))}"
                ),
                node.start,
            )
        return shape

    def bars_type(self, node: Bars) -> Type:
        child = self.check(node.child)
        if not node.norm:
            if isinstance(child, Flexible):
                return child.derived()
            if child.kind != "scalar":
                raise bars_of_array(self.text(node.child), child, node.start)
            return child
        shape = final(child)
        if shape.kind == "matrix" and node.sub != "F":
            written = f"‖{self.text(node.child)}‖{'_' + node.sub if node.sub else ''}"
            raise Located(
                UnsupportedError(
                    f"{written} of a matrix is an induced norm, which has no rule; write "
                    f"‖{self.text(node.child)}‖_F for the Frobenius norm"
                ),
                node.start,
            )
        return SCALAR


class _Left(NamedTuple):
    """The left operand of a product so far: its type, its text and where it starts."""

    type: Type
    text: str
    start: int


def _names(node: Node) -> Iterable[Name]:
    """The names used in ``node`` (walked with a stack)."""
    stack = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, Name):
            yield current
        stack.extend(_parts(current))


def _parts(node: Node) -> tuple[Node, ...]:
    if isinstance(node, Sum):
        return node.terms
    if isinstance(node, Product):
        return node.factors
    if isinstance(node, Call):
        return node.args
    if isinstance(node, Postfix) and node.power is not None:
        return (node.child, node.power)
    return (node.child,) if isinstance(node, Negate | Postfix | Bars) else ()


_CHECKS: dict[type, Callable[[Any, Any], Type]] = {
    Number: lambda r, n: Flexible() if n.value in (0.0, 1.0) else SCALAR,
    Name: Checker.name_type, Sum: Checker.sum_type, Product: Checker.product_type,
    Negate: lambda r, n: r.check(n.child), Postfix: Checker.postfix_type, Bars: Checker.bars_type,
    Call: call_type,
}  # fmt: skip
