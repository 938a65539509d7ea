"""Matrix-notation text → a syntax tree, for `eincalc.parse_matrix()` to type and build.

Two spellings of one language are read:

* the matrix view's own (``g aᵀ``, ``Wᵀ g``, ``X⁻ᵀ``, ``A ⊙ B``, ``‖X‖_F``,
  ``tr(Aᵀ B)``, ``(xᵀ x)^-0.5 x``, ``X∘²``): a product is written by juxtaposition;
* the ASCII, MATLAB-like one of matrixcalculus.org (``x'*A*x``, ``A.*B``,
  ``A./B``, ``X.^2``, ``norm2(x)^2``).

The reader is hand-written and recursive descent of bounded depth: a sum and a
product are read by loops into one node each, signs and postfix marks by loops,
and only a parenthesis, a call or a norm bar descends, at most
`MAX_DEPTH` levels; no node may be deeper than that
either.  Nothing is evaluated.  An error is a `Located` carrying
the column it belongs to.

>>> tree = read("x'*A*x", functions={"tr"})
>>> type(tree.main).__name__, [type(f).__name__ for f in tree.main.factors], tree.main.ops
('Product', ['Postfix', 'Name', 'Name'], ('*', '*'))
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Collection
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

from ..core.errors import Located
from .matrix_tokens import SUPERSCRIPT_DIGITS, Token, fail, tokenize
from .parse import MAX_DEPTH

_POWERS = ("^", ".^", "**")
MULTIPLY = ("*", "·", "@", "")  # "" is juxtaposition
ELEMENTWISE = ("⊙", ".*", "∘")
DIVIDE = ("/",)
ELEMENTWISE_DIVIDE = ("⊘", "./")
_PRODUCT_OPS = (*MULTIPLY[:-1], *ELEMENTWISE, *DIVIDE, *ELEMENTWISE_DIVIDE)
_SIGNS = {"-": -1, "−": -1, "+": 1}


_N = TypeVar("_N", bound="Node")


@dataclass(frozen=True, slots=True)
class Node:
    """A piece of the text: its span ``[start, end)`` and how deeply it nests."""

    start: int
    end: int
    depth: int = field(default=1, kw_only=True)


@dataclass(frozen=True, slots=True)
class Name(Node):
    """A tensor, an intermediate, ``I`` or a dimension (its size); ``called`` when ``(`` follows."""

    name: str
    called: bool = False


@dataclass(frozen=True, slots=True)
class Number(Node):
    value: float


@dataclass(frozen=True, slots=True)
class Call(Node):
    fn: str
    args: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Sum(Node):
    """``terms[0] ± terms[1] ± …``; ``signs`` has one entry per term (the first is +1)."""

    terms: tuple[Node, ...]
    signs: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class Product(Node):
    """``factors[0] op factors[1] op …`` read left to right; ``ops[k]`` joins factor k and k+1."""

    factors: tuple[Node, ...]
    ops: tuple[str, ...]
    columns: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class Negate(Node):
    child: Node


@dataclass(frozen=True, slots=True)
class Postfix(Node):
    """``child`` with a mark after it: ``T`` (transpose), ``invT`` (``⁻ᵀ``) or ``pow``.

    A power has its ``exponent``, ``elementwise`` when written ``∘``/``.^``; an exponent that is not a number
    (``x^t``, ``2^x``, ``x^(t − 1)``: an element-wise power) is the operand ``power``; ``operator`` is the one
    written (``^``, ``.^`` or ``**``; empty for a superscript).
    """

    child: Node
    mark: str
    exponent: float = 0.0
    elementwise: bool = False
    power: Node | None = None
    operator: str = ""


@dataclass(frozen=True, slots=True)
class Bars(Node):
    """``|child|`` (``norm`` empty) or ``‖child‖`` with an optional subscript ``F``, ``1`` or ``2``."""

    child: Node
    norm: bool
    sub: str = ""


@dataclass(frozen=True, slots=True)
class Definition:
    name: str
    start: int
    body: Node


@dataclass(frozen=True, slots=True)
class Text:
    """The whole text: the expression and its ``where`` definitions."""

    main: Node
    definitions: tuple[Definition, ...]


def _folded(exponent: Node) -> float | None:
    """The value of an exponent that is a number raised to a number (``2**3`` in ``x**2**3``), or ``None``."""
    if not (isinstance(exponent, Postfix) and exponent.mark == "pow" and exponent.power is None):
        return None
    if not isinstance(exponent.child, Number):
        return None
    try:
        return exponent.child.value**exponent.exponent
    except (OverflowError, ZeroDivisionError):
        return None


def _require_not_two_numbers(previous: Token, following: Token) -> None:
    """Raise `ParseError` for two numbers side by side (``2 3``, ``1 000``, a thousands separator read as a product);
    a number before the literal ``1`` or ``0`` (``2 1``: twice the ones) is a product the matrix view writes."""
    if previous.kind == following.kind == "number" and following.text not in ("0", "1"):
        raise fail(
            f"two numbers side by side ({previous.text} {following.text}) reads two ways (a product, or one number "
            f"with a thousands separator): write {previous.text}*{following.text} or {previous.text}{following.text}",
            following.start,
        )


def _require_no_product_after_division(ops: list[str], column: int) -> None:
    """Raise `ParseError` for a product written by juxtaposition after a division in one product: ``a / b c`` is
    ``(a / b) c`` read left to right (as Mathematica does), ``a / (b c)`` in physics texts and Julia (``ħ/2m``)."""
    division = next((op for op in ops if op in DIVIDE or op in ELEMENTWISE_DIVIDE), None)
    if division is not None:
        raise fail(
            f"a {division} b c reads two ways (left to right it is (a {division} b) c; physics texts and Julia read "
            f"a {division} (b c), like 1/2x for 1/(2x)): write (a {division} b) c or a {division} (b c)",
            column,
        )


# -- the reader --------------------------------------------------------------------------------


def read(text: str, functions: Collection[str], values: Collection[str] = ()) -> Text:
    """The syntax tree of ``text``; a name in ``functions`` followed by ``(`` is a call unless it is in
    ``values`` (declared tensors, which win)."""
    return _Reader(tokenize(text), functions, values).text()


def normalized(name: str) -> str:
    return unicodedata.normalize("NFKC", name)


class _Reader:
    def __init__(self, tokens: list[Token], functions: Collection[str], values: Collection[str]) -> None:
        self.tokens, self.position = tokens, 0
        self.functions, self.values = functions, values
        self.closers: list[str] = []  # what closes each open group, innermost last: ")", "|" or "‖"

    # -- helpers ---------------------------------------------------------------------------
    @property
    def peek(self) -> Token:
        return self.tokens[self.position]

    def advance(self) -> Token:
        token = self.tokens[self.position]
        self.position += 1
        return token

    def at(self, *texts: str) -> bool:
        return self.peek.kind == "op" and self.peek.text in texts

    def expect(self, text: str, opened: Token | None = None) -> Token:
        if self.at(text):
            return self.advance()
        if opened is not None and self.peek.kind == "end":
            raise fail(f"{opened.text!r} was never closed", opened.start)
        raise self.unexpected(f"expected {text!r}")

    def unexpected(self, wanted: str) -> Located:
        token = self.peek
        if token.kind == "end":
            last = self.tokens[self.position - 1] if self.position else token
            return fail(f"the expression ends too soon, after {last.text!r}; an operand must follow", last.start)
        return fail(f"{wanted}, not {token.text!r}", token.start)

    def make(self, cls: type[_N], start: int, end: int, *children: Node, **fields: Any) -> _N:
        depth = 1 + max((c.depth for c in children), default=0)
        if depth > MAX_DEPTH:
            raise fail(f"expression nests deeper than {MAX_DEPTH} levels", start)
        return cls(start, end, **fields, depth=depth)

    # -- grammar ---------------------------------------------------------------------------
    def text(self) -> Text:
        main = self.group_sum()
        definitions: list[Definition] = []
        if self.peek.kind == "name" and self.peek.text == "where":
            self.advance()
            while True:
                definitions.append(self.definition())
                while self.at(",", ";") or (self.peek.kind == "name" and self.peek.text == "where"):
                    self.advance()
                if self.peek.kind == "end":
                    break
        if self.peek.kind != "end":
            raise self.unexpected("expected an operator or the end of the expression")
        return Text(main, tuple(definitions))

    def definition(self) -> Definition:
        token = self.advance()
        if token.kind != "name":
            self.position -= 1
            raise self.unexpected("expected a name to define after 'where'")
        self.expect("=")
        return Definition(normalized(token.text), token.start, self.group_sum())

    def group_sum(self, closer: str = "") -> Node:
        """A sum inside a new level of nesting (the whole text, a definition, parentheses, arguments, bars)
        that ``closer`` ends."""
        if len(self.closers) >= MAX_DEPTH:
            raise fail(f"expression nests deeper than {MAX_DEPTH} levels", self.peek.start)
        self.closers.append(closer)
        try:
            return self.sum()
        finally:
            self.closers.pop()

    def sum(self) -> Node:
        terms, signs = [self.product()], [1]
        while self.at("+", "-", "−"):
            signs.append(_SIGNS[self.advance().text])
            terms.append(self.product())
        if len(terms) == 1:
            return terms[0]
        return self.make(Sum, terms[0].start, terms[-1].end, *terms, terms=tuple(terms), signs=tuple(signs))

    def product(self) -> Node:
        factors, ops, columns = [self.signed()], [], []
        while True:
            if self.at(*_PRODUCT_OPS):
                token = self.advance()
                ops.append(token.text)
                columns.append(token.start)
            elif self.starts_operand():
                _require_no_product_after_division(ops, self.peek.start)
                _require_not_two_numbers(self.tokens[self.position - 1], self.peek)
                ops.append("")
                columns.append(self.peek.start)
            else:
                break
            factors.append(self.signed())
        if len(factors) == 1:
            return factors[0]
        return self.make(
            Product,
            factors[0].start,
            factors[-1].end,
            *factors,
            factors=tuple(factors),
            ops=tuple(ops),
            columns=tuple(columns),
        )

    def starts_operand(self) -> bool:
        token = self.peek
        if token.kind == "name":
            return token.text != "where"
        norm_closes = self.closers[-1:] == ["‖"]
        return token.kind == "number" or self.at("(") or (self.at("‖") and not norm_closes)

    def signed(self) -> Node:
        """An operand with any signs before it (read by a loop: ``− − x`` is ``x``)."""
        return self.signed_by(self.postfixed)

    def signed_atom(self) -> Node:
        """An atom with any signs before it: a variable exponent (``−t`` in ``x^−t``)."""
        return self.signed_by(self.atom)

    def signed_by(self, read_operand: Callable[[], Node]) -> Node:
        """The operand ``read_operand`` reads, with any signs before it."""
        start, sign = self.peek.start, 1
        while self.at("-", "−", "+"):
            sign *= _SIGNS[self.advance().text]
        operand = read_operand()
        return operand if sign == 1 else self.make(Negate, start, operand.end, operand, child=operand)

    def postfixed(self) -> Node:
        node, powered = self.atom(), False  # powered: the last postfix is a power (a parenthesised one is not)
        while True:
            token = self.peek
            power_follows = self.at(*_POWERS) or (token.kind == "super" and token.text[-1] != "ᵀ")
            if powered and power_follows:
                raise fail(
                    "a power of a power written without parentheses reads two ways (MATLAB groups a^b^c from the "
                    "left, mathematics from the right): write (a^b)^c or a^(b^c)",
                    token.start,
                )
            powered = power_follows
            if token.kind == "super":
                self.advance()
                node = self.superscript(node, token)
            elif self.at("'"):
                self.advance()
                node = self.make(Postfix, node.start, token.end, node, child=node, mark="T")
            elif self.at(*_POWERS):
                self.advance()
                elementwise = token.text == ".^" or self.at("∘")
                if self.at("∘"):
                    self.advance()
                node = self.power(node, elementwise, token.text)
            else:
                return node

    def superscript(self, node: Node, token: Token) -> Node:
        text = token.text
        elementwise = text.startswith("∘")
        mark = text.lstrip("∘")
        if mark in ("ᵀ", "⁻ᵀ"):
            if elementwise:
                raise fail(f"∘ marks an element-wise power; {mark} is not a power", token.start)
            return self.make(Postfix, node.start, token.end, node, child=node, mark="T" if mark == "ᵀ" else "invT")
        exponent = float(mark.translate(str.maketrans(SUPERSCRIPT_DIGITS + "⁻", "0123456789-")))
        return self.make(
            Postfix, node.start, token.end, node, child=node, mark="pow", exponent=exponent, elementwise=elementwise
        )

    def power(self, base: Node, elementwise: bool, operator: str) -> Postfix:
        """``base`` raised to what follows ``operator`` (``^``, ``.^`` or ``**``): a number (`number_exponent`), else
        an operand, signed (``x^t``, ``x^−t``, ``x^(t − 1)``, ``2^x``).  A chain of ``**`` groups from the right, as
        in Python (``x**2**3`` is ``x**8``); any other chain is ambiguous (MATLAB reads ``a^b^c`` as ``(a^b)^c``,
        mathematics as ``a^(b^c)``) and refused."""
        unsigned = next(t for t in self.tokens[self.position :] if t.kind != "op" or t.text not in _SIGNS)
        if operator == "^" and unsigned.kind == "name" and unsigned.text == "T":
            raise fail(
                "^T would raise to the power T (a size or tensor so named); write ᵀ or ' for the transpose "
                "(xᵀ, x'), ⁻ᵀ for the transposed inverse (X⁻ᵀ), or ^(T) for the power",
                unsigned.start,
            )
        start = self.position
        number = self.number_exponent()

        def raised(end: int, *power: Node, **fields: Any) -> Postfix:
            fields.update(child=base, mark="pow", elementwise=elementwise, operator=operator)
            return self.make(Postfix, base.start, end, base, *power, **fields)

        if number is not None and not self.at(*_POWERS):
            exponent, end = number
            return raised(end, exponent=exponent)
        self.position = start
        power = self.signed_by(lambda: self.chained_power(operator))
        folded = _folded(power)
        if folded is not None:  # a number raised to a number: x**2**3 is x**8
            return raised(power.end, exponent=folded)
        return raised(power.end, power, power=power)

    def chained_power(self, operator: str) -> Node:
        """The atom of an exponent, raised in turn by the ``**`` that follows it (``2**3`` in ``x**2**3``)."""
        exponent = self.atom()
        if not self.at(*_POWERS):
            return exponent
        token = self.peek
        if operator != "**" or token.text != "**":
            raise fail(
                f"a power of a power written {operator} then {token.text} reads two ways (MATLAB groups a^b^c from "
                "the left, mathematics and Python's ** from the right): write (a^b)^c or a^(b^c)",
                token.start,
            )
        self.advance()
        return self.power(exponent, False, "**")

    def number_exponent(self) -> tuple[float, int] | None:
        """The number after ``^`` and where it ends: signed, perhaps in parentheses (``^-0.5``, ``^(−1)``); ``None``
        when what follows is not a number alone (the caller reads it again as an operand)."""
        opened = self.advance() if self.at("(") else None
        sign = 1
        while self.at("-", "−", "+"):
            sign *= _SIGNS[self.advance().text]
        token = self.peek
        if token.kind != "number":
            return None
        self.advance()
        if opened and not self.at(")"):
            return None
        end = self.advance().end if opened else token.end
        return sign * float(token.text), end

    def atom(self) -> Node:
        token = self.peek
        if token.kind == "number":
            self.advance()
            return self.make(Number, token.start, token.end, value=float(token.text))
        if token.kind == "name" and token.text != "where":
            self.advance()
            return self.name(token)
        if self.at("("):
            self.advance()
            inner = self.group_sum(")")
            close = self.expect(")", token)
            return replace(inner, start=token.start, end=close.end)  # the span shows the parentheses
        if self.at("|", "‖"):
            return self.bars()
        raise self.unexpected("expected an operand")

    def name(self, token: Token) -> Node:
        name = normalized(token.text)
        called = self.at("(") or self.at("|")
        if name in self.functions and name not in self.values and called:
            return self.call(token, name)
        return self.make(Name, token.start, token.end, name=name, called=self.at("("))

    def call(self, token: Token, fn: str) -> Node:
        if self.at("|"):  # log|det(X)|
            argument = self.bars()
            return self.make(Call, token.start, argument.end, argument, fn=fn, args=(argument,))
        opened = self.advance()
        args = [self.group_sum(")")]
        while self.at(","):
            self.advance()
            args.append(self.group_sum(")"))
        close = self.expect(")", opened)
        return self.make(Call, token.start, close.end, *args, fn=fn, args=tuple(args))

    def bars(self) -> Node:
        opened = self.advance()
        inner = self.group_sum(opened.text)
        close = self.expect(opened.text, opened)
        sub, end = "", close.end
        if opened.text == "‖" and self.peek.start == end and self.peek.kind in ("name", "sub", "number"):
            written = self.advance()
            sub, end = normalized(written.text).lstrip("_"), written.end
            if sub not in ("F", "1", "2"):
                raise fail(f"‖…‖ takes the subscript F, 1 or 2, not {written.text!r}", written.start)
        return self.make(Bars, opened.start, end, inner, child=inner, norm=opened.text == "‖", sub=sub)
