"""Neural-network calculus: softmax, log-softmax and logsumexp over one named index, and losses.

The structured nodes carry the index they normalise over (``axis``).  Their
derivative rules are the textbook identities, written so that contracting with
an upstream gradient never materialises a Jacobian matrix:

* ``∂softmax(θ)[i]/∂θ[p] = ŷ[i] (δ[i,p] − ŷ[p])``, so a VJP is ``ŷ ⊙ (g − (gᵀŷ))``;
* ``∂log_softmax(θ)[i]/∂θ[p] = δ[i,p] − ŷ[p]``, so a VJP is ``g − ŷ Σg``;
* ``∂logsumexp(θ)/∂θ[p] = ŷ[p]``.

With labels declared to sum to one (``ec.tensors("y[c]", simplex="y")``) the
rule ``Σ_i y[i] = 1`` fires, and the gradient of the cross-entropy
``−Σ y log softmax(θ)`` simplifies to ``ŷ − y``; without it, to ``(Σy) ŷ − y``.
With ``ŷ = ec.let("ŷ", ec.softmax(θ))`` named, the rules of `eincalc.calculus.cancel`
see through the named gradient ``dŷ = −y ⊙ ŷ⁻¹``, and it is ``ŷ − y`` again.

>>> import eincalc as ec
>>> theta, y = ec.tensors("θ[c] y[c]", simplex="y")
>>> print(ec.grad(-ec.sum(y * log_softmax(theta)), theta))
-y[p] + softmax(θ[p], p)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from ..calculus import cancel  # noqa: F401 - cancel: the simplex rule reaches through named gradients (ŷ − y)
from ..calculus.diff import Forward, register_jacobian, register_vjp
from ..calculus.simplify import Rule, register_rule
from ..core.errors import IndexMismatch, UnsupportedError
from ..core.expr import Expr, raw_mode
from ..core.indices import Index
from ..core.name_pool import bound_names
from ..core.names import fresh_indices, index_names, rename
from ..core.nodes import Add, Apply, Const, Contract, Size, Tensor, node, positional_flag
from ..frontend.axes import axis_index
from ..frontend.build import Operand, as_expr
from ..frontend.node_builders import NODE_BUILDERS
from ..frontend.parse import Call as ParseCall
from ..frontend.parse import ParseFunction, register_parse_function
from ..frontend.printing import LatexPrinter, TextPrinter, register_latex, register_text
from ..frontend.styles import tidy
from ..matrix.tree import Call, Kind
from ..matrix.view import Converter, Term, register_matrix_rule
from ..numeric import kernels
from ..numeric.evaluate import EvalContext, register_evaluator
from ..numeric.fastplan import register_in_place

AXIS_FUNCTIONS = ("softmax", "log_softmax")


@node
class Softmax(Expr):
    """``softmax`` or ``log_softmax`` of ``arg`` along its index ``axis`` (same free indices)."""

    fn: str
    arg: Expr
    axis: Index
    positional: bool = positional_flag()

    def __post_init__(self) -> None:
        if self.fn not in AXIS_FUNCTIONS:
            raise UnsupportedError(f"unknown normalising function {self.fn!r}; known: {', '.join(AXIS_FUNCTIONS)}")
        _check_axis(self.arg, self.axis, self.fn)

    def args(self) -> tuple[Any, ...]:
        return (self.fn, self.arg, self.axis)

    def children(self) -> tuple[Expr, ...]:
        return (self.arg,)

    def map_children(self, fn: Callable[[Expr], Expr]) -> Expr:
        return replace(self, arg=fn(self.arg))

    def rename_with(self, mapping: Mapping[Index, Index]) -> Expr:
        """Rename the argument and the axis together (the axis is one of the free indices)."""
        return replace(self, arg=rename(self.arg, mapping), axis=mapping.get(self.axis, self.axis))

    def _compute_free(self) -> tuple[Index, ...]:
        return self.arg.free


@node
class LogSumExp(Expr):
    """``log Σ_axis exp(arg)``: the axis index is summed (bound) here."""

    arg: Expr
    axis: Index
    positional: bool = positional_flag()

    def __post_init__(self) -> None:
        _check_axis(self.arg, self.axis, "logsumexp")

    def args(self) -> tuple[Any, ...]:
        return (self.arg, self.axis)

    def children(self) -> tuple[Expr, ...]:
        return (self.arg,)

    def map_children(self, fn: Callable[[Expr], Expr]) -> Expr:
        return replace(self, arg=fn(self.arg))

    @property
    def summed(self) -> tuple[Index, ...]:
        return (self.axis,)

    def rebind(self, mapping: Mapping[Index, Index]) -> Expr:
        new = mapping.get(self.axis, self.axis)
        return replace(self, arg=rename(self.arg, {self.axis: new}), axis=new)

    def _canonical(self) -> Expr:
        """The summed axis named from this node alone: the first canonical name not free here."""
        (name,) = bound_names(1, {k.name for k in self.free})
        return self if self.axis.name == name else self.rebind({self.axis: Index(name, self.axis.dim)})

    def rename_with(self, mapping: Mapping[Index, Index]) -> Expr:
        """Rename the free indices; the axis takes its canonical name again (it can never be captured), or
        in a display tree keeps its name (the printer chose it; `eincalc.core.names.rename()` avoided capture)."""
        if raw_mode():
            return LogSumExp(rename(self.arg, mapping), self.axis, positional=self.positional)
        free = {mapping.get(k, k).name for k in self.free}
        (name,) = bound_names(1, free)
        axis = Index(name, self.axis.dim)
        return LogSumExp(rename(self.arg, {**mapping, self.axis: axis}), axis, positional=self.positional)

    def _compute_free(self) -> tuple[Index, ...]:
        return tuple(k for k in self.arg.free if k != self.axis)


@register_text(Softmax)
def _softmax_text(node: Softmax, inner: TextPrinter) -> str:
    return f"{node.fn}({inner(node.arg)}, {node.axis})"


@register_latex(Softmax)
def _softmax_latex(node: Softmax, inner: LatexPrinter) -> str:
    name = r"\operatorname{softmax}" if node.fn == "softmax" else r"\log\operatorname{softmax}"
    return rf"{name}_{{{node.axis}}}\left({inner(node.arg)}\right)"


@register_text(LogSumExp)
def _logsumexp_text(node: LogSumExp, inner: TextPrinter) -> str:
    return f"logsumexp({inner(node.arg)}, {node.axis})"


@register_latex(LogSumExp)
def _logsumexp_latex(node: LogSumExp, inner: LatexPrinter) -> str:
    return rf"\log \sum_{{{node.axis}}} \exp\left({inner(node.arg)}\right)"


def _check_axis(arg: Expr, axis: Index, fn: str) -> None:
    if axis not in arg.free:
        raise IndexMismatch(f"{fn} over index {axis}, but {arg} has free indices ({', '.join(map(str, arg.free))})")


# -- building -----------------------------------------------------------------------------------


def _axis(expr: Expr, axis: int | str | None) -> Index:
    if not expr.free:
        raise IndexMismatch(f"{expr} is a scalar; softmax needs an index to normalise over")
    return axis_index(expr, -1 if axis is None else axis)


def softmax(x: Operand, axis: int | str | None = None) -> Expr:
    """Softmax along ``axis`` (a position, an index name, or the last axis; for a matrix of
    logits with one row per example that is softmax over each row)."""
    expr = as_expr(x)
    return Softmax("softmax", expr, _axis(expr, axis), positional=expr.positional)


def log_softmax(x: Operand, axis: int | str | None = None) -> Expr:
    """``log softmax`` along ``axis``, evaluated without ever taking log(0)."""
    expr = as_expr(x)
    return Softmax("log_softmax", expr, _axis(expr, axis), positional=expr.positional)


def logsumexp(x: Operand, axis: int | str | None = None) -> Expr:
    """``log Σ exp`` along ``axis`` (the axis disappears), evaluated with a max-shift."""
    expr = as_expr(x)
    result = LogSumExp(expr, _axis(expr, axis), positional=expr.positional)
    return tidy(result) if expr.positional else result


# -- derivative rules ---------------------------------------------------------------------------


def _axis_twin(node: Softmax | LogSumExp, *avoid: Expr) -> Index:
    """A fresh index with the dimension of ``node.axis``."""
    used = set().union(*(index_names(e) for e in (node, *avoid)))
    return fresh_indices((node.axis,), used)[0]


def _probabilities(node: Softmax | LogSumExp) -> Expr:
    if isinstance(node, Softmax) and node.fn == "softmax":
        return node
    return Softmax("softmax", node.arg, node.axis)


def _weighted_over_axis(node: Softmax | LogSumExp, weights: Expr, values: Expr, out: tuple[Index, ...]) -> Expr:
    """``Σ_axis weights ⊙ values`` (both indexed by the node's axis), with the axis renamed apart."""
    twin = _axis_twin(node, weights, values)
    return Contract((rename(weights, {node.axis: twin}), rename(values, {node.axis: twin})), out)


def _minus(left: Expr, right: Expr, out: tuple[Index, ...]) -> Expr:
    return Add((left, Contract((Const(-1.0), right), right.free)), out)


@register_jacobian(Softmax)
def _softmax_jacobian(node: Expr, d: Forward) -> Expr:
    assert isinstance(node, Softmax)
    inner = d(node.arg)
    rest = tuple(k for k in inner.free if k != node.axis)
    probabilities = _probabilities(node)
    centred = _minus(inner, _weighted_over_axis(node, probabilities, inner, rest), inner.free)
    if node.fn == "log_softmax":
        return centred
    return Contract((node, centred), inner.free)


@register_jacobian(LogSumExp)
def _logsumexp_jacobian(node: Expr, d: Forward) -> Expr:
    assert isinstance(node, LogSumExp)
    inner = d(node.arg)
    return Contract((_probabilities(node), inner), node.free + d.fresh)


@register_vjp(Softmax)
def _softmax_vjp(node: Expr, ct: Expr) -> list[tuple[Expr, Expr]]:
    assert isinstance(node, Softmax)
    rest = tuple(k for k in node.free if k != node.axis)
    if node.fn == "log_softmax":
        total_ct = Contract((rename(ct, {node.axis: _axis_twin(node, ct)}),), rest)
        spread = Contract((_probabilities(node), total_ct), node.free)
        return [(node.arg, _minus(ct, spread, node.free))]
    centred = _minus(ct, _weighted_over_axis(node, ct, node, rest), node.free)
    return [(node.arg, Contract((node, centred), node.free))]


@register_vjp(LogSumExp)
def _logsumexp_vjp(node: Expr, ct: Expr) -> list[tuple[Expr, Expr]]:
    assert isinstance(node, LogSumExp)
    return [(node.arg, Contract((_probabilities(node), ct), node.arg.free))]


# -- simplification rules -----------------------------------------------------------------------


def _simplex_sum(expr: Expr) -> Expr | None:
    """``Σ_i y[i] = 1`` for a tensor declared to lie on the simplex along its last axis."""
    assert isinstance(expr, Contract)
    summed = set(expr.summed)
    for position, factor in enumerate(expr.factors):
        if not (isinstance(factor, Tensor) and factor.spec.simplex and factor.indices):
            continue
        last = factor.indices[-1]
        others = expr.factors[:position] + expr.factors[position + 1 :]
        if last in summed and factor.indices.count(last) == 1 and not any(last in f.free for f in others):
            present = {k for f in others for k in f.free}
            extra: list[Expr] = [Size(k.dim) for k in factor.free if k in summed and k != last and k not in present]
            remaining = list(others) + extra
            if not remaining:
                return Const(1.0)
            missing = [k for k in expr.out if k not in present]
            if missing:
                return None
            return Contract(tuple(remaining), expr.out, positional=expr.positional)
    return None


def _log_of_softmax(expr: Expr) -> Expr | None:
    assert isinstance(expr, Apply)
    if expr.fn == "log" and isinstance(expr.arg, Softmax) and expr.arg.fn == "softmax":
        return Softmax("log_softmax", expr.arg.arg, expr.arg.axis, positional=expr.positional)
    return None


register_rule(Rule("simplex-sum", "Labels declared to sum to one: Σ_i y[i] = 1.", Contract, _simplex_sum))
register_rule(
    Rule("log-softmax", "log(softmax(θ)) is log_softmax(θ), which never takes log(0).", Apply, _log_of_softmax)
)


# -- evaluation, matrix view, parsing ------------------------------------------------------------

_KERNELS = {"softmax": kernels.softmax, "log_softmax": kernels.log_softmax}


@register_evaluator(Softmax)
def _evaluate_softmax(node: Softmax, children: Sequence[Any], ctx: EvalContext) -> Any:
    return _KERNELS[node.fn](children[0], node.arg.free.index(node.axis))


@register_in_place(Softmax, bounded=True)
def _softmax_into(node: Softmax) -> Callable[[Any, Any, float], Any] | None:
    """NumPy's softmax written into a buffer, unshifted where the bound allows (log_softmax keeps its general rule)."""
    axis = node.arg.free.index(node.axis)
    return (lambda x, out, bound: kernels.softmax_into(x, axis, out, bound)) if node.fn == "softmax" else None


@register_evaluator(LogSumExp)
def _evaluate_logsumexp(node: LogSumExp, children: Sequence[Any], ctx: EvalContext) -> Any:
    return kernels.logsumexp(children[0], node.arg.free.index(node.axis))


_ALONG: dict[int | None, tuple[str, str]] = {
    None: ("", ""),
    0: ("_cols", r"_{\text{cols}}"),
    1: ("_rows", r"_{\text{rows}}"),
}
"""How text and LaTeX mark the matrix axis a softmax or logsumexp runs along (``None``: a vector's only axis)."""


def _braces(literal: str) -> str:
    """``literal`` as part of a format string: its braces doubled."""
    return literal.replace("{", "{{").replace("}", "}}")


def _spelling(name: str, axis: int | None) -> tuple[str, str, str]:
    """Text, LaTeX and NumPy templates of ``name`` applied to ``{0}``, along matrix axis ``axis``.

    The NumPy template runs with NumPy alone: log-sum-exp is ``np.logaddexp.reduce``, which is stable,
    and softmax and log-softmax are written out with it.

    >>> _spelling("softmax", 1)[::2]
    ('softmax_rows({0})', 'np.exp({0} - np.logaddexp.reduce({0}, axis=1, keepdims=True))')
    """
    text_mark, latex_mark = _ALONG[axis]
    text = _braces(f"{name}{text_mark}(") + "{0})"
    operator = name.replace("_", r"\_")
    latex = _braces(rf"\operatorname{{{operator}}}{latex_mark}\left(") + "{0}" + _braces(r"\right)")
    along = "" if axis is None else f", axis={axis}"
    if name == "logsumexp":
        return text, latex, "np.logaddexp.reduce({0}" + along + ")"
    total = "np.logaddexp.reduce({0}" + along + (", keepdims=True" if axis is not None else "") + ")"
    return text, latex, ("np.exp({0} - " + total + ")") if name == "softmax" else "{0} - " + total


def _matrix_call(node: Softmax | LogSumExp, convert: Converter) -> Term:
    name = node.fn if isinstance(node, Softmax) else "logsumexp"
    arg = convert(node.arg)
    labels = node.arg.free if len(arg.labels) == 2 else arg.labels
    arg = convert.orient(arg, labels)
    axis = labels.index(node.axis) if len(labels) == 2 else None
    rest = tuple(k for k in labels if k != node.axis) if isinstance(node, LogSumExp) else labels
    kind: Kind = "matrix" if len(rest) == 2 else (convert.vector if rest else "scalar")
    return Term(Call(name, (arg.matrix,), kind, *_spelling(name, axis)), rest)


register_matrix_rule(Softmax)(_matrix_call)
register_matrix_rule(LogSumExp)(_matrix_call)


def _axis_function(build_node: Callable[..., Expr]) -> ParseFunction:
    """``softmax(x)`` over the last axis, or ``softmax(x[i,j], j)`` over a named index."""

    def builder(call: ParseCall) -> Expr:
        call.arity(2 if call.count == 2 else 1)
        return build_node(call.expr(0), call.identifier(1)) if call.count == 2 else build_node(call.expr(0))

    return builder


for _name, _function in {"softmax": softmax, "log_softmax": log_softmax, "logsumexp": logsumexp}.items():
    register_parse_function(_name, _axis_function(_function))
    NODE_BUILDERS[_name] = _function
