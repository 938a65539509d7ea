"""Losses and reductions for training: cross-entropy, mean squared error, logistic loss, mean.

Each loss is an ordinary expression built from the core and `eincalc.ops.nn`
nodes, so its derivatives are derived, never assumed.  Declaring labels as
summing to one (``simplex=``) lets the gradient of the softmax cross-entropy
simplify to the textbook ``ŷ − y``.  The three losses can be called in text too
(``eincalc explain "cross_entropy(θ, y)" …``).

>>> import eincalc as ec
>>> theta, y = ec.tensors("θ[c] y[c]", simplex="y")
>>> print(ec.grad(cross_entropy(theta, y), theta))
-y[p] + softmax(θ[p], p)
"""

from __future__ import annotations

from collections.abc import Sequence

from ..core.arguments import require_flag
from ..core.errors import IndexMismatch
from ..core.expr import Expr
from ..core.nodes import Apply, Size
from ..frontend.axes import axis_indices, reduce_over
from ..frontend.build import Operand, as_expr, elementwise_product, power, scale, sum_terms, total
from ..frontend.parse import Call, fixed_arity, register_parse_function
from .nn import log_softmax


def mean(x: Operand, axis: int | str | Sequence[int | str] | None = None) -> Expr:
    """Mean over all entries, or over ``axis`` (positions, index names, or several, as for ``ec.sum``):
    the sum over those axes divided by their sizes.

    >>> import eincalc as ec
    >>> X, = ec.tensors("X[batch,n]")
    >>> print(mean(X, axis=0))
    (size(batch)**(-1) X[j,i])[i]
    """
    expr = as_expr(x)
    summed = axis_indices(expr, axis)
    return reduce_over(expr, summed, [power(Size(k.dim), -1) for k in summed])


def _same_style(prediction: Expr, target: Expr) -> tuple[Expr, Expr]:
    if prediction.shape != target.shape:
        raise IndexMismatch(
            f"prediction {prediction} has shape ({', '.join(prediction.shape)}) but target {target} has "
            f"({', '.join(target.shape)})"
        )
    if prediction.positional != target.positional:
        raise IndexMismatch("prediction and target must both be matrix-style or both index-style")
    return prediction, target


def _weighted_sum(weights: Expr, values: Expr) -> Expr:
    """``Σ weights ⊙ values`` over every index."""
    if weights.positional:
        return total(weights * values)
    return total(elementwise_product([weights, values]))


def cross_entropy(scores: Operand, labels: Operand, *, logits: bool = True, axis: int | str | None = None) -> Expr:
    """Cross-entropy ``−Σ y log ŷ`` summed over classes and examples.

    With ``logits=True`` (default) ``scores`` are logits and ``ŷ = softmax(scores)``
    along ``axis`` (log-softmax keeps it finite); with ``logits=False`` they are
    probabilities.
    """
    prediction, target = _same_style(as_expr(scores), as_expr(labels))
    log_probabilities = (
        log_softmax(prediction, axis)
        if require_flag(logits, "logits")
        else Apply("log", prediction, positional=prediction.positional)
    )
    return scale(_weighted_sum(target, log_probabilities), -1.0)


def mse(prediction: Operand, target: Operand) -> Expr:
    """Mean squared error: the mean of ``(prediction − target)²``."""
    p, t = _same_style(as_expr(prediction), as_expr(target))
    difference = p - t if p.positional else sum_terms([p, scale(t, -1.0)])
    return mean(power(difference, 2))


def binary_cross_entropy(scores: Operand, labels: Operand, *, logits: bool = True) -> Expr:
    """Binary cross-entropy (logistic loss) summed over entries.

    From logits ``z`` it is ``Σ softplus(z) − y z`` (stable for any ``|z|``);
    from probabilities ``p`` it is ``−Σ y log p + (1 − y) log(1 − p)``.
    """
    z, y = _same_style(as_expr(scores), as_expr(labels))
    if require_flag(logits, "logits"):
        return total(Apply("softplus", z, positional=z.positional)) - _weighted_sum(y, z)
    positive = _weighted_sum(y, Apply("log", z, positional=z.positional))
    negative = _weighted_sum(1 - y, Apply("log", 1 - z, positional=z.positional))
    return scale(positive + negative, -1.0)


def _cross_entropy_call(call: Call) -> Expr:
    """``cross_entropy(θ, y)``, or ``cross_entropy(Θ[b,c], Y[b,c], c)`` along a named index, in text."""
    call.arity(3 if call.count == 3 else 2)
    axis = call.identifier(2) if call.count == 3 else None
    return cross_entropy(call.expr(0), call.expr(1), axis=axis)


for _name, _builder in {
    "cross_entropy": _cross_entropy_call,
    "mse": fixed_arity(mse, 2),
    "binary_cross_entropy": fixed_arity(binary_cross_entropy, 2),
}.items():
    register_parse_function(_name, _builder)
