"""Powers whose exponent is an expression: ``x ** t``, element-wise, with every rule they need.

A number exponent stays an element-wise function (``x ** 2`` is ``pow`` in
`eincalc.core.functions`).  An exponent that is itself an expression (a tensor,
``t[i]``, ``W @ a``) makes a `Power` node, which prints as a power
(``x[i]**t[i]``; ``x^t``, ``x^{t}`` and ``np.power(x, t)`` in the matrix view) and is read back by
the parser.  It is element-wise: its free indices are the base's, then the
exponent's others (``x[i]**t[j]`` has indices ``i, j``; matrix style
broadcasts as NumPy does).

Domain: ``x ** t = exp(t log x)`` is the real power for a **positive** base.
Where the base is zero or negative, values follow NumPy's ``np.power`` (``nan``
for a negative base with a non-whole exponent, ``inf`` for ``0`` to a negative
power) and the derivative with respect to ``t``, ``log(x) xᵗ``, is ``nan``, as
``log`` is there; nothing is raised, so a check that draws random values sees
the ``nan`` and draws again.  A constant base must be positive
(`DomainError` when built: ``(-2) ** t``).
Derivative rules:

* ``∂(xᵗ)/∂x = t x^(t−1)``;
* ``∂(xᵗ)/∂t = log(x) xᵗ``.

>>> import eincalc as ec
>>> x, t = ec.tensors("x[n] t[n]")
>>> print(x ** t, "|", ec.grad(ec.sum(x ** t), t), "|", ec.grad(ec.sum(x ** t), x))
x[i]**t[i] | (log(x[p]) x[p]**t[p])[p] | (t[p] x[p]**(t[p] - 1))[p]
>>> print(ec.to_matrix(ec.grad(ec.sum(x ** t), x)).text)
t ⊙ x^(t − 1)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..calculus.diff import Forward, register_jacobian, register_vjp
from ..calculus.simplify import Rule, register_rule
from ..core.errors import NoMatrixForm
from ..core.expr import Expr
from ..core.indices import Index
from ..core.nodes import (
    Add,
    Apply,
    Const,
    Contract,
    Delta,
    Named,
    One,
    Size,
    Tensor,
    check_consistent,
    node,
    positional_flag,
    split_coefficient,
)
from ..frontend.node_builders import NODE_BUILDERS
from ..frontend.printing import LatexPrinter, TextPrinter, register_latex, register_text
from ..matrix.tree import Call
from ..matrix.view import Converter, Term, register_matrix_rule
from ..numeric import runtime
from ..numeric.codegen import _view, register_numpy
from ..numeric.evaluate import EvalContext, register_evaluator


@node
class Power(Expr):
    """``base ** exponent`` element-wise, for an ``exponent`` that is an expression (a positive base)."""

    base: Expr
    exponent: Expr
    positional: bool = positional_flag()

    def __post_init__(self) -> None:
        check_consistent((self.base, self.exponent))

    def args(self) -> tuple[Any, ...]:
        return (self.base, self.exponent)

    def children(self) -> tuple[Expr, ...]:
        return (self.base, self.exponent)

    def map_children(self, fn: Callable[[Expr], Expr]) -> Expr:
        return Power(fn(self.base), fn(self.exponent), positional=self.positional)

    def _compute_free(self) -> tuple[Index, ...]:
        return tuple(dict.fromkeys(self.base.free + self.exponent.free))


_ATOMS = (Tensor, Named, Delta, One, Size)
_LATEX_PARENTHESES = (r"\left(", r"\right)")


def _grouped(expr: Expr, text: str, parentheses: Sequence[str]) -> str:
    """``text`` as an operand of ``**``: bare for a tensor, a call or a non-negative number, else parenthesised."""
    atom = (
        isinstance(expr, _ATOMS)
        or (isinstance(expr, Apply) and expr.fn != "pow")
        or (isinstance(expr, Const) and expr.value >= 0)
    )
    return text if atom else f"{parentheses[0]}{text}{parentheses[1]}"


@register_text(Power)
def _power_text(node: Power, inner: TextPrinter) -> str:
    return f"{_grouped(node.base, inner(node.base), '()')}**{_grouped(node.exponent, inner(node.exponent), '()')}"


@register_latex(Power)
def _power_latex(node: Power, inner: LatexPrinter) -> str:
    return f"{_grouped(node.base, inner(node.base), _LATEX_PARENTHESES)}^{{{inner(node.exponent)}}}"


NODE_BUILDERS["tensor power"] = Power


# -- derivative rules ---------------------------------------------------------------------------


def _base_factor(node: Power) -> Expr:
    """``t x^(t−1)``, the derivative with respect to the base, over the node's indices."""
    lowered = Add((node.exponent, Const(-1.0)), node.exponent.free)
    return Contract((node.exponent, Power(node.base, lowered)), node.free)


def _exponent_factor(node: Power) -> Expr:
    """``log(x) xᵗ``, the derivative with respect to the exponent, over the node's indices."""
    return Contract((Apply("log", node.base), node), node.free)


def _factors(node: Power) -> list[tuple[Expr, Expr]]:
    """Each child with its local derivative (constant children contribute nothing)."""
    pairs = [(node.base, _base_factor(node)), (node.exponent, _exponent_factor(node))]
    return [(child, factor) for child, factor in pairs if not isinstance(child, Const)]


@register_jacobian(Power)
def _power_jacobian(node: Expr, d: Forward) -> Expr:
    assert isinstance(node, Power)
    out = node.free + d.fresh
    terms = tuple(Contract((factor, d(child)), out) for child, factor in _factors(node) if child in d.dependent)
    return terms[0] if len(terms) == 1 else Add(terms, out)


@register_vjp(Power)
def _power_vjp(node: Expr, ct: Expr) -> list[tuple[Expr, Expr]]:
    assert isinstance(node, Power)
    return [(child, Contract((factor, ct), child.free)) for child, factor in _factors(node)]


def _number_exponent(expr: Expr) -> Expr | None:
    """``x ** c`` for an exponent that simplified to a number (``3`` or ``3 1[i]`` along the base's
    indices) is the element-wise power function."""
    assert isinstance(expr, Power)
    exponent = expr.exponent
    if isinstance(exponent, Contract) and set(exponent.free) <= set(expr.base.free):
        coefficient, rest = split_coefficient(exponent)
        broadcast = all(isinstance(f, One) and f.i in exponent.out for f in rest)  # nothing summed
        exponent = Const(coefficient) if broadcast else exponent
    if not isinstance(exponent, Const):
        return None
    return Apply("pow", expr.base, float(exponent.value), positional=expr.positional)


register_rule(
    Rule("number-exponent", "An exponent that is a number makes x^t the power function x^c.", Power, _number_exponent)
)


# -- evaluation, generated code, matrix view -------------------------------------------------------


def views(node: Power) -> tuple[tuple[int | None, ...], ...]:
    """Where each output axis of ``node`` is in the base's and in the exponent's value (``None``: broadcast)."""
    return tuple(
        tuple(child.free.index(k) if k in child.free else None for k in node.free) for child in node.children()
    )


@register_evaluator(Power)
def _evaluate(node: Power, children: Sequence[Any], ctx: EvalContext) -> Any:
    base, exponent = (
        runtime.aligned(value, view, isinstance(value, np.ndarray))
        for value, view in zip(children, views(node), strict=True)
    )
    return base**exponent


@register_numpy("Power")
def _numpy(node: Any, args: list[str]) -> str:
    """``np.power(base, exponent)``, each argument transposed or given new axes to line up with the result."""
    aligned = [
        code if view == tuple(range(len(view))) else _view(code, view, atomic=False)
        for code, view in zip(args, views(node), strict=True)
    ]
    return f"np.power({aligned[0]}, {aligned[1]})"


@register_matrix_rule(Power)
def _matrix_view(node: Power, convert: Converter) -> Term:
    parts = [convert.orient(convert(child), node.free) for child in node.children()]
    if any(part.labels and part.labels != node.free for part in parts):
        raise NoMatrixForm(
            f"{node} raises along axes its base and exponent do not share: no matrix reading; keep the index form"
        )
    widest = max(parts, key=lambda part: len(part.labels))
    hadamard = "∘" if widest.matrix.kind == "matrix" else ""
    latex_mark = r"\circ " if hadamard else ""
    call = Call(
        "power",
        (parts[0].matrix, parts[1].matrix),
        widest.matrix.kind,
        text="{0}^" + hadamard + "{1}",
        latex="{0}^{{" + latex_mark + "{1}}}",
        numpy="np.power({0}, {1})",
        postfix=True,
    )
    return Term(call, widest.labels)
