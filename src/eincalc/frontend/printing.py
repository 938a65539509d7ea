"""Index-form printers: text (parseable, deterministic), LaTeX, and einsum equations.

Text follows Einstein's convention wherever that reads back exactly: a product
prints as juxtaposed factors (``W[i,j] a[j]``), an index written twice is
summed and one written once is free.  A product that Einstein's rule would
misread (a Hadamard product ``x[i] y[i]`` keeping ``i``, a transpose, a sum
over an index written once) prints with its output indices explicit:
``(x[i] y[i])[i]``, or ``Σ(x[i])`` when nothing is kept.  The parser reads all
of it back to the same expression.

LaTeX is for people: every sum is written out (``\\sum_{j} W_{ij} a_{j}``).

>>> from eincalc.frontend.build import tensors, indices
>>> x, y = tensors("x[n] y[n]")
>>> i, = indices("i")
>>> print(to_text(x[i] * y[i]), "|", to_text(x * y), "|", to_latex(x[i] * y[i]))
x[i] y[i] | (x[i] y[i])[i] | \\sum_{i} x_{i} y_{i}
"""

from __future__ import annotations

import string
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from ..core.expr import VIEWS, Expr
from ..core.functions import lookup
from ..core.indices import Index
from ..core.intermediates import as_used, display
from ..core.intermediates import definitions as definitions  # the explanations list them
from ..core.name_pool import CANONICAL_POOL
from ..core.names import fresh_names, index_names, rename, separate_bound
from ..core.nodes import Add, Apply, Const, Contract, Delta, Named, One, Size, Tensor, Zero, split_coefficient
from ..core.registry import Registry
from ..core.traversal import walk
from .build import as_expr
from .parse_dims import infer_dimensions
from .spelling import latex_name, latex_number, number


def _index_list(indices: tuple[Index, ...]) -> str:
    return ",".join(k.name for k in indices)


# -- the printers of each node kind -------------------------------------------------------------

LatexPrinter = Callable[[Expr], str]
"""What a node kind's LaTeX printer is given to print its children with."""

TEXT_PRINTERS: Registry[type, Callable[[Any, TextPrinter], str]] = Registry(
    "text printer",
    "register one with eincalc.frontend.printing.register_text(Kind), and a LaTeX printer with register_latex(Kind) "
    "(docs/extending.md)",
)
LATEX_PRINTERS: Registry[type, Callable[[Any, LatexPrinter], str]] = Registry(
    "LaTeX printer",
    "register one with eincalc.frontend.printing.register_latex(Kind), and a text printer with register_text(Kind) "
    "(docs/extending.md)",
)
_Rule = TypeVar("_Rule", bound=Callable[..., str])


def register_text(kind: type) -> Callable[[_Rule], _Rule]:
    """Register ``rule(node, printer)`` as the index text of ``kind``; ``printer(child)`` prints a child in the
    node's scope and ``printer.scope(child)`` in a scope of its own.  The text must read back through
    `eincalc.parse()` (register a parser function for its call), since what is printed is what is checked."""
    return _registering(TEXT_PRINTERS, kind)


def register_latex(kind: type) -> Callable[[_Rule], _Rule]:
    """Register ``rule(node, latex)`` as the LaTeX of ``kind``; ``latex(child)`` gives a child's LaTeX."""
    return _registering(LATEX_PRINTERS, kind)


def _registering(table: Registry[type, Any], kind: type) -> Callable[[_Rule], _Rule]:
    def register(rule: _Rule) -> _Rule:
        table[kind] = rule
        return rule

    return register


def printer_of(table: Registry[type, Any], expr: Expr) -> Any:
    """The printer ``table`` holds for ``expr``'s kind or the nearest kind it derives from; `UnsupportedError`
    naming the kind and how to register a printer when there is none."""
    for kind in type(expr).__mro__:
        if kind in table:
            return table[kind]
    return table.find(type(expr))


# -- text -----------------------------------------------------------------------------------


def to_text(expr: Expr) -> str:
    """Deterministic, parseable index notation for ``expr``: one line, then a ``where`` line defining each
    named intermediate it uses, automatic (`eincalc.core.intermediates`) or the user's (`eincalc.let()`).

    ``parse(to_text(e), *tensors, *e.free)`` reads it back: an index that sits only on
    deltas, ones or zeros and that a reader cannot tell the dimension of from the tensors
    beside it (or from ``e``'s free indices) is written with its dimension, ``1[j:n]``.

    >>> from eincalc.frontend.build import tensors, let, sigmoid
    >>> W, x = tensors("W[m,n] x[n]")
    >>> print(to_text(sigmoid(let("z", W @ x))))
    σ(z[i])
      where z[i] = W[i,j] x[j]
    """
    line, clauses = text_lines(expr)
    return "\n".join([line, *(f"  {clause}" for clause in clauses)])


def text_lines(expr: Expr) -> tuple[str, list[str]]:
    """What `to_text()` prints: the expression's line, and its where-clauses (``where t1[i] = …``), each after
    the ones it uses."""
    clauses = [f"where {_head(named)} = {line_text(named.body, free_known=False)}" for named in named_definitions(expr)]
    return line(expr), clauses


def with_definitions(expr: Expr) -> str:
    """``expr`` followed by the definition of every named intermediate it uses, one per line: what
    `to_text()` (and ``str``) print.

    >>> from eincalc.frontend.build import tensors, let, sigmoid
    >>> W, x = tensors("W[m,n] x[n]")
    >>> print(with_definitions(sigmoid(let("z", W @ x))))
    σ(z[i])
      where z[i] = W[i,j] x[j]
    """
    return to_text(as_expr(expr, "the expression to print"))


def line(expr: Expr) -> str:
    """The first line of `to_text()`: ``expr`` with its intermediates by name (`named_definitions()` lists them)."""
    return line_text(display(expr))


def latex_line(expr: Expr) -> str:
    """LaTeX of ``expr`` with its intermediates by name, as `line()`."""
    return line_latex(display(expr))


def named_definitions(expr: Expr, earlier: tuple[Expr, ...] = ()) -> list[Named]:
    """The intermediates `line()` refers to, automatic and the user's, each after the ones it uses, each with
    the index names of its first use in the printed text, where the lines of ``earlier`` are printed above
    ``expr``'s (`eincalc.core.intermediates.as_used()`)."""
    return as_used(expr, earlier)


def _head(named: Named) -> str:
    """The left side of a definition: ``z[i]``, or ``z`` for a scalar."""
    return f"{named.name}[{_index_list(named.body.free)}]" if named.body.free else named.name


def line_text(expr: Expr, *, free_known: bool = True) -> str:
    """``expr`` on one line, a named intermediate by its name only (its definition is not shown).

    With ``free_known`` the reader is given the free indices (as ``parse(text, *expr.free)``); without,
    as for the body of a where-clause, a free index no tensor tells the dimension of is written with it.
    Recursive with the depth of ``expr``: what it is given is shallow, the pieces of
    `display()` (each at most ``DEPTH`` levels below a name).
    """
    separated = separate_bound(expr)
    return _Printer({k.name: k.dim for k in separated.free} if free_known else {}, {}).scope(separated)


class TextPrinter(Protocol):
    """What a node's ``text`` hook is given to print its parts with."""

    def __call__(self, expr: Expr) -> str:
        """``expr`` printed in the scope of the node."""

    def scope(self, expr: Expr) -> str:
        """``expr`` printed as a scope of its own, as the body of ``det(…)`` is read."""


@dataclass(frozen=True)
class _Printer:
    """Prints in one scope: ``dims`` is what a reader infers for each index name there."""

    given: Mapping[str, str]
    dims: Mapping[str, set[str]]

    def __call__(self, expr: Expr) -> str:
        return _text(expr, self)

    def scope(self, expr: Expr) -> str:
        return _text(expr, _Printer(self.given, _reader_dimensions(expr, self.given)))

    def indices(self, indices: tuple[Index, ...]) -> str:
        """The indices of a δ, 1 or 0, each with its dimension where a reader could not infer it."""
        return ",".join(k.name if self.dims.get(k.name) == {k.dim} else f"{k.name}:{k.dim}" for k in indices)


def _reader_dimensions(root: Expr, given: Mapping[str, str]) -> dict[str, set[str]]:
    """The dimensions `eincalc.parse()` infers for each index name in the scope of ``root``: from the
    tensors there, through deltas, else from the ``given`` indices (named intermediates and the bodies of
    matrix functions are scopes of their own)."""
    dims: dict[str, set[str]] = {}
    deltas: list[list[str]] = []
    for node in walk(root, enter=lambda node: not (node.opens_scope or isinstance(node, Named))):
        if isinstance(node, Tensor):
            for k in node.indices:
                dims.setdefault(k.name, set()).add(k.dim)
        elif isinstance(node, Delta):
            deltas.append([node.i.name, node.j.name])
    return infer_dimensions(dims, deltas, given)


def _text(expr: Expr, printer: _Printer) -> str:
    return printer_of(TEXT_PRINTERS, expr)(expr, printer)


TEXT_PRINTERS.update(  # the leaves and named intermediates
    {
        Tensor: lambda e, p: f"{e.spec.name}[{_index_list(e.indices)}]" if e.indices else e.spec.name,
        Delta: lambda e, p: f"δ[{p.indices((e.i, e.j))}]",
        One: lambda e, p: f"1[{p.indices((e.i,))}]",
        Zero: lambda e, p: f"0[{p.indices(e.indices)}]" if e.indices else "0",
        Const: lambda e, p: "0.0" if e.value == 0 else number(e.value),  # 0.0, since 0 reads as the structural Zero
        Size: lambda e, p: f"size({e.dim})",
        Named: lambda e, p: f"{e.name}[{_index_list(e.indices)}]" if e.indices else e.name,
    }
)


@register_text(Apply)
def _apply_text(expr: Apply, printer: _Printer) -> str:
    inner = _text(expr.arg, printer)
    if expr.fn == "pow":
        assert expr.param is not None
        base = inner if _is_atom(expr.arg) else f"({inner})"
        return f"{base}**{number(expr.param)}" if expr.param >= 0 else f"{base}**({number(expr.param)})"
    return lookup(expr.fn).text.format(x=inner)


def _is_atom(expr: Expr) -> bool:
    return (
        isinstance(expr, Tensor | Delta | One | Zero | Size | Named)
        or (isinstance(expr, Const) and expr.value >= 0)
        or (isinstance(expr, Apply) and expr.fn != "pow")
    )


def einstein_reads_back(factors: list[Expr], out: tuple[Index, ...]) -> bool:
    """Whether Einstein's rule applied to ``factors`` gives exactly the output ``out``."""
    counts = Counter(k for f in factors for k in f.free)  # a factor carries each free index once
    if any(c > 2 for c in counts.values()):
        return False
    return tuple(k for k in counts if counts[k] == 1) == out


@register_text(Contract)
def _contract_text(expr: Contract, printer: _Printer) -> str:
    coefficient, rest = split_coefficient(expr)
    if not rest:
        return number(coefficient)
    explicit = _explicit_output(expr)
    # a coefficient joins a lone product beside it: 2 Σ(A[i,i]) reads as Σ(2 A[i,i]), 2 (Σ(A[i,i])) does not
    alone = coefficient != 1.0 and len(rest) == 1 and not explicit
    body = " ".join(_factor_text(f, printer, grouped=alone) for f in rest)
    if explicit:
        body = f"({body})[{_index_list(expr.out)}]" if expr.out else f"Σ({body})"
    if coefficient == 1.0:
        return body
    return f"-{body}" if coefficient == -1.0 else f"{number(coefficient)} {body}"


def _explicit_output(expr: Contract) -> bool:
    """Whether a product prints as ``(…)[out]`` / ``Σ(…)``: Einstein's rule would misread it.

    ``A[i,i]`` reads as the diagonal (one factor carrying ``i`` once), so its trace is explicit too: ``Σ(A[i,i])``.
    """
    _, rest = split_coefficient(expr)
    counted = [f for f in rest if not _reads_as_number(f)]  # the parser folds numbers into the coefficient
    return bool(counted) and not einstein_reads_back(counted, expr.out)


def _reads_as_number(expr: Expr) -> bool:
    """Whether ``expr`` prints as a number: a constant, a scalar ``0``, or a product of those (``((2))``)."""
    if isinstance(expr, Contract):
        return all(_reads_as_number(f) for f in expr.factors)
    return isinstance(expr, Const) or (isinstance(expr, Zero) and not expr.free)


def _factor_text(expr: Expr, printer: _Printer, grouped: bool = False) -> str:
    """A factor of a product; a nested product is parenthesised so that it reads back as one factor.

    A product printed with its output explicit (``Σ(…)``, ``(…)[out]``) and no coefficient in front
    is one factor already, unless it is ``grouped`` with a coefficient: then the coefficient would join it.
    """
    self_contained = (
        isinstance(expr, Contract) and split_coefficient(expr)[0] == 1.0 and _explicit_output(expr) and not grouped
    )
    if isinstance(expr, Add) or (isinstance(expr, Contract) and not self_contained):
        return f"({_text(expr, printer)})"
    return _text(expr, printer)


def signed_sum(texts: list[str]) -> str:
    """Terms joined with ``+``, a term printed with a leading ``-`` joined with ``-``."""
    pieces = texts[:1]
    for text in texts[1:]:
        pieces.append(f"- {text[1:]}" if text.startswith("-") else f"+ {text}")
    return " ".join(pieces)


@register_text(Add)
def _add_text(expr: Add, printer: _Printer) -> str:
    """``x[i] + y[i]``, or with the output indices written (``(x[i] + y[j])[j,i]``); an index no term has
    (the sum is constant along it) with its dimension where a reader could not infer it: ``(x[p] + c)[p,i:n]``."""
    body = signed_sum([_text(term, printer) for term in expr.terms])
    widest = max(expr.terms, key=lambda t: len(t.free))
    if widest.free != expr.out:
        present = {k for term in expr.terms for k in term.free}
        return f"({body})[{','.join(k.name if k in present else printer.indices((k,)) for k in expr.out)}]"
    return body


# -- LaTeX ----------------------------------------------------------------------------------


def to_latex(expr: Expr) -> str:
    """LaTeX for ``expr`` with every sum written out, then ``where`` and the definition of each named
    intermediate it uses (as `to_text()`).

    >>> from eincalc.frontend.build import tensors, let, sigmoid
    >>> W, x = tensors("W[m,n] x[n]")
    >>> print(to_latex(sigmoid(let("z", W @ x))))
    \\sigma\\left(z_{i}\\right) \\quad \\text{where } z_{i} = \\sum_{j} W_{ij} x_{j}
    """
    parts = [f"{latex_name(n.name)}{_sub(n.body.free)} = {line_latex(n.body)}" for n in named_definitions(expr)]
    where = rf" \quad \text{{where }} {', '.join(parts)}" if parts else ""
    return latex_line(expr) + where


def line_latex(expr: Expr) -> str:
    """LaTeX for ``expr`` alone, a named intermediate by its name (shallow pieces, as `line_text()`)."""
    separated = separate_bound(expr)
    return _LatexScope(_visible_names(separated))(separated)


def _sub(indices: tuple[Index, ...]) -> str:
    names = [k.name for k in indices]
    joined = "".join(names) if all(len(n) == 1 for n in names) else ",".join(names)
    return f"_{{{joined}}}" if names else ""


@dataclass(frozen=True)
class _LatexScope:
    """Prints LaTeX where the index names ``taken`` are in use around what it prints.

    LaTeX has no scopes: the body of ``\\det(…)`` under ``\\sum_{i}`` is printed over names other than ``i``.
    """

    taken: frozenset[str]

    def __call__(self, expr: Expr) -> str:
        return printer_of(LATEX_PRINTERS, expr)(expr, self.inside if expr.opens_scope else self)

    def inside(self, body: Expr) -> str:
        """The body of a node that opens a scope, its own indices renamed away from the names taken around it."""
        clashing = [k for k in body.free if k.name in self.taken]
        fresh = fresh_names(set(self.taken) | index_names(body), len(clashing), CANONICAL_POOL)
        shown = rename(body, {k: Index(name, k.dim) for k, name in zip(clashing, fresh, strict=True)})
        return _LatexScope(self.taken | _visible_names(shown))(shown)


def _visible_names(root: Expr) -> frozenset[str]:
    """The index names used in ``root`` outside the scopes it holds and its named intermediates."""
    nodes = walk(root, enter=lambda node: not (node.opens_scope or isinstance(node, Named)))
    return frozenset(k.name for node in nodes for k in node.free)


LATEX_PRINTERS.update(  # the leaves and named intermediates
    {
        Tensor: lambda e, latex: f"{latex_name(e.spec.name)}{_sub(e.indices)}",
        Delta: lambda e, latex: rf"\delta{_sub((e.i, e.j))}",
        One: lambda e, latex: rf"\mathbb{{1}}{_sub((e.i,))}",
        Zero: lambda e, latex: f"0{_sub(e.indices)}",
        Const: lambda e, latex: latex_number(e.value),
        Size: lambda e, latex: rf"\lvert {e.dim} \rvert",
        Named: lambda e, latex: f"{latex_name(e.name)}{_sub(e.indices)}",
    }
)


@register_latex(Apply)
def _apply_latex(expr: Apply, latex: LatexPrinter) -> str:
    inner = latex(expr.arg)
    if expr.fn == "pow":
        base = inner if _is_atom(expr.arg) else rf"\left({inner}\right)"
        return f"{base}^{{{latex_number(expr.param or 0.0)}}}"
    return lookup(expr.fn).latex.format(x=inner)


@register_latex(Contract)
def _contract_latex(expr: Contract, latex: LatexPrinter) -> str:
    coefficient, rest = split_coefficient(expr)
    parts = [_factor_latex(f, latex, first=not k and coefficient == 1.0) for k, f in enumerate(rest)]
    body = " ".join(parts) or "1"
    if expr.summed:
        body = rf"\sum_{{{_index_list(expr.summed)}}} {body}"
    if coefficient == 1.0:
        return body
    return f"-{body}" if coefficient == -1.0 else f"{latex_number(coefficient)} {body}"


def _factor_latex(factor: Expr, latex: LatexPrinter, *, first: bool) -> str:
    """A factor of a product in LaTeX, bracketed where juxtaposed it would misread: a sum, a factor led by a
    sign (``s \\left(-t\\right)``, never ``s -t``, which reads as a difference), or a number after another
    factor (``3 \\left(2 t\\right)``, never ``3 2 t``)."""
    text = latex(factor)
    misread = isinstance(factor, Add) or text.startswith(("-", "+")) or (not first and text[:1].isdigit())
    return rf"\left({text}\right)" if misread else text


@register_latex(Add)
def _add_latex(expr: Add, latex: LatexPrinter) -> str:
    return signed_sum([latex(term) for term in expr.terms])


# -- einsum ---------------------------------------------------------------------------------


def to_einsum(expr: Expr) -> tuple[str, list[Expr]]:
    """An einsum equation and its operands: the factors of a contraction, else the whole.

    >>> from eincalc.frontend.build import tensors
    >>> W, a = tensors("W[m,n] a[n]")
    >>> equation, operands = to_einsum(W @ a)
    >>> equation, [str(o) for o in operands]
    ('ij,j->i', ['W[i,j]', 'a[j]'])
    """
    operands = list(expr.factors) if isinstance(expr, Contract) else [expr]
    used = [k for f in operands for k in _array_axes(f)]
    names = dict.fromkeys(used)
    if all(len(k.name) == 1 and k.name in string.ascii_letters for k in names):
        letters = {k: k.name for k in names}
    else:
        letters = dict(zip(names, string.ascii_letters, strict=False))
    inputs = ["".join(letters[k] for k in _array_axes(f)) for f in operands]
    output = "".join(letters[k] for k in expr.free)
    return f"{','.join(inputs)}->{output}", operands


def _array_axes(operand: Expr) -> tuple[Index, ...]:
    """The letters of an einsum operand: a tensor's array has an axis per index (``A[i,i]`` is ``ii``)."""
    return operand.indices if isinstance(operand, Tensor) else operand.free


VIEWS["text"] = to_text
VIEWS["latex"] = to_latex
VIEWS["einsum"] = to_einsum
