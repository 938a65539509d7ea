"""Explained derivations: :func:`explain` returns a :class:`Derivation`, an ordered list of :class:`Step`.

The derivation is computed, not narrated.  The learner's steps come in this
order where they apply: one entry in index form; one entry differentiated
(deltas in place) and the Jacobian's rank, shape and sparsity; for an
entry-by-entry function its diagonal Jacobian, for a bias its local gradient 1;
the chain rule as a contraction with the upstream gradient; every rewrite the
simplifier made on the way (recorded with :class:`~eincalc.simplify.Recorder`,
so delta elimination shows exactly where the sum collapses); the matrix form
with notes on why it has that shape; and a numeric check of the result against
central finite differences on random values.

Expressions with named intermediates (:func:`eincalc.let`) are differentiated
the way :func:`eincalc.vjp` does it, node by node from the output back, so the
gradients arriving at them (``δ1``, ``δ2``) appear by name.

>>> import eincalc as ec
>>> W, a, g = ec.tensors("W[m,n] a[n] g[m]")
>>> d = ec.explain(W @ a, W, upstream=g, name="z")
>>> [step.rule for step in d.steps]  # doctest: +NORMALIZE_WHITESPACE
['index-form', 'differentiate', 'flatten-product', 'delta-elimination', 'jacobian', 'chain-rule',
 'flatten-product', 'delta-elimination', 'matrix-form', 'numeric-check']
>>> print(d.result, "=", d.matrix)
g[p] a[q] = g aᵀ
>>> d.check.passed
True
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from .arguments import (
    require_choice,
    require_flag,
    require_sizes,
    require_text,
    require_variable,
    require_whole,
)
from .build import as_expr
from .errors import IndexMismatch, UnsupportedError
from .explain_check import Check, numeric_check
from .explain_reasons import entry, names, shape_text
from .explain_steps import Builder, Step
from .expr import Const, Expr, Named, Tensor
from .matrix import MatrixForm
from .names import rename

Kind = Literal["vjp", "grad", "jacobian", "hessian"]
KINDS: tuple[Kind, ...] = ("vjp", "grad", "jacobian", "hessian")

__all__ = ["KINDS", "Derivation", "Kind", "Step", "explain"]


@dataclass(frozen=True)
class Derivation:
    """An explained derivative: the steps, the result, its layout convention and a numeric check.

    Render with :meth:`text` (Unicode), :meth:`markdown` (Markdown with LaTeX) or
    :meth:`latex`; Jupyter shows the Markdown.
    """

    kind: Kind
    title: str
    layout: str
    result: Expr
    steps: tuple[Step, ...]
    check: Check
    rows: bool = False

    @property
    def matrix(self) -> MatrixForm | None:
        """The result's matrix form, or ``None`` when it has none."""
        return next((s.matrix for s in reversed(self.steps) if s.rule == "matrix-form" and s.after == self.result),
                    None)

    def text(self) -> str:
        """Plain text for a terminal."""
        from .explain_render import render_text

        return render_text(self)

    def markdown(self) -> str:
        """Markdown with LaTeX formulas."""
        from .explain_render import render_markdown

        return render_markdown(self)

    def latex(self) -> str:
        """A LaTeX fragment (an ``enumerate`` list)."""
        from .explain_render import render_latex

        return render_latex(self)

    def numpy(self) -> str:
        """NumPy code for the result: its matrix form, else an ``np.einsum`` call."""
        from .explain_render import render_numpy

        return render_numpy(self)

    def __str__(self) -> str:
        return self.text()

    def _repr_markdown_(self) -> str:
        return self.markdown()

    def _repr_latex_(self) -> str:
        return self.latex()


def explain(
    expr: Expr,
    wrt: Expr,
    *,
    upstream: Expr | None = None,
    kind: Kind | None = None,
    name: str | None = None,
    loss: str = "L",
    rows: bool = False,
    sizes: Mapping[str, int] | None = None,
    seed: int = 0,
) -> Derivation:
    """Derive ``∂expr/∂wrt`` step by step.

    ``kind`` is ``"vjp"`` (needs ``upstream``, the gradient arriving from above,
    shaped like ``expr``), ``"grad"`` (``expr`` a scalar), ``"jacobian"`` or
    ``"hessian"``; by default ``"vjp"`` when ``upstream`` is given, else
    ``"grad"`` for a scalar and ``"jacobian"`` otherwise.  ``name`` is what the
    output is called (default: the intermediate's name, else ``f``) and ``loss``
    what the upstream gradient is the gradient of (``∂L/∂z``).  ``rows`` reads
    vectors as rows in the matrix form; ``sizes`` and ``seed`` choose the random
    values of the numeric check.
    """
    expr, wrt = as_expr(expr, "the expression to explain"), require_variable(wrt)
    upstream = None if upstream is None else as_expr(upstream, "the upstream gradient")
    name = None if name is None else require_text(name, "name", "'z'")
    loss, rows = require_text(loss, "loss", "'L'"), require_flag(rows, "rows")
    sizes, seed = require_sizes(sizes, "sizes"), require_whole(seed, "seed")
    default: Kind = "vjp" if upstream is not None else "jacobian" if expr.free else "grad"
    chosen = default if kind is None else require_choice(kind, "kind", KINDS)
    if (chosen == "vjp") != (upstream is not None):
        raise UnsupportedError("an upstream gradient goes with kind='vjp' only, and kind='vjp' needs one")
    if chosen in ("grad", "hessian") and expr.free:
        raise IndexMismatch(f"a {chosen} needs a scalar expression, but {expr} has free indices "
                            f"({names(expr.free)}); use kind='jacobian', or an upstream gradient")
    output = name or (expr.name if isinstance(expr, Named) else "f")
    builder = Builder(expr, wrt, output, output if chosen in ("grad", "hessian") else loss, rows)
    start = builder.start()
    if chosen == "vjp":
        assert upstream is not None
        result = builder.backward(start, upstream) if builder.named else \
            builder.chain(start, builder.forward(start), upstream)
    else:
        result = builder.backward(start, Const(1.0)) if builder.named and chosen != "jacobian" else \
            builder.forward(start)
    gradient = result
    if chosen == "hessian":
        result = builder.differentiate_again(gradient)
    builder.read(result, start, builder.result_label(chosen, result, start.rank))
    check = numeric_check(expr, wrt, result, kind=chosen, upstream=upstream, gradient=gradient, sizes=sizes,
                          seed=seed, form=builder.matrix_of(result))
    builder.steps.append(Step("numeric-check", check.sentence()))
    return Derivation(chosen, _title(chosen, expr, wrt, upstream, output, builder.loss), _layout(chosen, wrt, output,
                      builder.loss, rows), result, tuple(builder.steps), check, rows)


def _title(kind: Kind, expr: Expr, wrt: Tensor, upstream: Expr | None, name: str, loss: str) -> str:
    of = f"{entry(name, expr.free)} = {expr}"
    variable = wrt.spec.name
    if kind == "vjp":
        assert upstream is not None
        if upstream.shape == expr.shape:
            upstream = rename(upstream, dict(zip(upstream.free, expr.free, strict=True)))
        given = f"the upstream gradient {upstream} = ∂{loss}/∂{entry(name, expr.free)}"
        return f"∂{loss}/∂{variable} for {of}, given {given}"
    return {
        "grad": f"the gradient ∂{name}/∂{variable} of {of}",
        "jacobian": f"the Jacobian ∂{name}/∂{variable} of {of}",
        "hessian": f"the Hessian of {of} with respect to {variable}",
    }[kind]


def _layout(kind: Kind, wrt: Tensor, name: str, loss: str, rows: bool) -> str:
    vectors = f"the matrix view reads vectors as {'rows' if rows else 'columns'}."
    variable = wrt.spec.name
    if kind == "jacobian":
        return f"∂{name}/∂{variable} has {name}'s indices first, then {variable}'s (numerator layout); {vectors}"
    if kind == "hessian":
        return f"H[p,q] = ∂²{name}/∂{variable}[p]∂{variable}[q]: rows p, columns q; {vectors}"
    return f"the gradient ∂{loss}/∂{variable} has the shape of {variable} ({shape_text(wrt.spec.dims)}); {vectors}"
