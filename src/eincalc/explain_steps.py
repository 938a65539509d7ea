"""Building a derivation: the learner's steps, interleaved with the rewrites the simplifier recorded.

:class:`Builder` runs the same functions the library's answer comes from
(:func:`~eincalc.diff.jacobian_raw`, :func:`~eincalc.diff.vjp_raw`,
:func:`~eincalc.simplify.simplify` under a :class:`~eincalc.simplify.Recorder`,
:func:`~eincalc.matrix.to_matrix`) and turns what they did into :class:`Step`
values.  A recorded rewrite applies to one sub-expression; the builder replays
it on the whole expression, so every step shows the whole expression before
and after (or, when the rewrite sits inside a named intermediate, that part).
Rewrites that print identically before and after are left out.

>>> import eincalc as ec
>>> W, a = ec.tensors("W[m,n] a[n]")
>>> built = Builder(W @ a, W, "z", "L", rows=False)
>>> jacobian = built.forward(built.start())
>>> [(step.rule, step.lhs) for step in built.steps][-2:]
[('delta-elimination', '∂z[i]/∂W[p,q]'), ('jacobian', '∂z[i]/∂W[p,q]')]
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from .diff import jacobian, jacobian_raw, vjp, vjp_raw
from .errors import NoMatrixForm, ShapeError
from .explain_reasons import (
    bias_reason,
    chain_reason,
    delta_note,
    diagonal_reason,
    differentiate_reason,
    entry,
    index_form_reason,
    jacobian_reason,
    reading_notes,
)
from .expr import Contract, Expr, Index, Named, Tensor, TensorSpec, walk
from .matrix import MatrixForm, to_matrix
from .names import canonical, rename
from .printing import definitions, to_latex, to_text
from .simplify import Recorder, simplify


@dataclass(frozen=True)
class Label:
    """What an expression is, as text and as LaTeX: ``∂z[i]/∂W[p,q]``."""

    text: str = ""
    latex: str = ""


@dataclass(frozen=True)
class Step:
    """One step: the rule's name, a one-sentence reason, the expression before and after, the matrix view.

    ``lhs`` (and ``lhs_latex``) name what ``after`` is (``∂z[i]/∂W[p,q]``);
    ``before_lhs`` names ``before`` when renaming changed the indices it is written with.  A
    rewrite that touched only part of the expression keeps that part in
    ``part`` (before, after) and the named intermediate it sits in in
    ``within``.  ``notes`` are further facts (why the matrix form has its shape,
    which delta collapsed which sum).
    """

    rule: str
    reason: str
    after: Expr | None = None
    before: Expr | None = None
    lhs: str = ""
    lhs_latex: str = ""
    before_lhs: Label | None = None
    matrix: MatrixForm | None = None
    part: tuple[Expr, Expr] | None = None
    within: str | None = None
    notes: tuple[str, ...] = ()

    @property
    def shows_part(self) -> bool:
        """Whether the whole expression prints the same before and after (the rewrite sits in a definition),
        so that only the rewritten part is worth showing."""
        return self.part is not None and self.before is not None and self.after is not None \
            and to_text(self.before) == to_text(self.after)


def _step(rule: str, reason: str, label: Label, **fields: object) -> Step:
    return Step(rule, reason, lhs=label.text, lhs_latex=label.latex, **fields)  # type: ignore[arg-type]


class Builder:
    """Collects the steps of one derivation of ``expr`` with respect to ``wrt``."""

    def __init__(self, expr: Expr, wrt: Tensor, name: str, loss: str, rows: bool) -> None:
        self.expr, self.wrt, self.spec, self.name, self.loss, self.rows = expr, wrt, wrt.spec, name, loss, rows
        self.steps: list[Step] = []
        self.named = any(isinstance(node, Named) for node in walk(expr))

    # -- the learner's steps ----------------------------------------------------------------------

    def start(self) -> Expr:
        """One entry in index form, then the input's own simplification."""
        label = self.entry_label(self.name, self.expr.free)
        self.steps.append(_step("index-form", index_form_reason(self.expr), label, after=self.expr))
        return self.simplified(self.expr, lambda e: label)

    def forward(self, start: Expr) -> Expr:
        """Differentiate one entry, simplify, and say what the Jacobian is."""
        raw = jacobian_raw(start, self.wrt)
        kept = start.rank
        reason = differentiate_reason(start, self.spec, raw.free[kept:])
        self.steps.append(_step("differentiate", reason, self.partial(self.name, raw, kept), after=raw))
        simplified = self.simplified(raw, lambda e: self.partial(self.name, e, kept))
        result = self.renamed(simplified, jacobian(start, self.wrt), lambda e: self.partial(self.name, e, kept))
        label = self.partial(self.name, result, kept)
        self.steps.append(_step("jacobian", jacobian_reason(result, kept, self.name, self.spec), label, after=result,
                                matrix=self.matrix_of(result)))
        for rule, fact in (("diagonal-jacobian", diagonal_reason(result, kept)),
                           ("local-gradient-one", bias_reason(result, kept, self.name, self.spec))):
            if fact is not None:
                self.steps.append(_step(rule, fact, label, after=result))
        return result

    def chain(self, start: Expr, jacobian_: Expr, upstream: Expr) -> Expr:
        """Contract the upstream gradient with the Jacobian over the output's indices."""
        if upstream.shape != start.shape:
            raise ShapeError(f"upstream gradient {upstream} has shape ({', '.join(upstream.shape)}) but {start} has "
                             f"shape ({', '.join(start.shape)}); the upstream gradient must have the output's shape")
        aligned = rename(upstream, dict(zip(upstream.free, start.free, strict=True)))
        contraction = Contract((aligned, jacobian_), jacobian_.free[start.rank:])
        variable = entry(self.spec.name, jacobian_.free[start.rank:])
        reason = chain_reason(self.name, start.free, aligned, self.loss, variable)
        self.steps.append(_step("chain-rule", reason, self.partial(self.loss, contraction, 0), after=contraction))
        simplified = self.simplified(contraction, lambda e: self.partial(self.loss, e, 0))
        return self.renamed(simplified, canonical(simplified), lambda e: self.partial(self.loss, e, 0))

    def backward(self, start: Expr, upstream: Expr) -> Expr:
        """Reverse mode through named intermediates, as :func:`eincalc.vjp` does it."""
        raw = vjp_raw(start, self.wrt, upstream)
        known = {d.name for d in definitions(start)}
        adjoints = [d.name for d in definitions(raw) if d.name not in known]
        reason = ("Chain rule from the output back, one node at a time (reverse mode): the gradient arriving at each "
                  "named intermediate is named too" + (f" ({', '.join(adjoints)})" if adjoints else "") +
                  ", and no Jacobian is ever multiplied out.")
        self.steps.append(_step("backpropagate", reason, self.partial(self.loss, raw, 0), after=raw))
        simplified = self.simplified(raw, lambda e: self.partial(self.loss, e, 0))
        return self.renamed(simplified, vjp(start, self.wrt, upstream), lambda e: self.partial(self.loss, e, 0))

    def differentiate_again(self, gradient: Expr) -> Expr:
        """The Hessian as the Jacobian of the gradient."""
        raw = jacobian_raw(gradient, self.wrt)
        half = gradient.rank
        reason = (f"Differentiate the gradient once more: the Hessian {self.second(raw, half).text} is the Jacobian "
                  "of the gradient, with the gradient's indices first.")
        self.steps.append(_step("differentiate-again", reason, self.second(raw, half), after=raw))
        simplified = self.simplified(raw, lambda e: self.second(e, half))
        return self.renamed(simplified, jacobian(gradient, self.wrt), lambda e: self.second(e, half))

    def read(self, result: Expr, start: Expr, label: Label) -> None:
        """The matrix form of every gradient named on the way, then of the result."""
        known = {d.name for d in definitions(start)}
        for named in definitions(result):
            form = self.matrix_of(named.body) if named.name not in known else None
            if form is not None:
                self.steps.append(_step("matrix-form", f"Read {named.name} as matrix notation.",
                                        self.entry_label(named.name, named.body.free), after=named.body, matrix=form,
                                        notes=tuple(reading_notes(named.body, form))))
        form = self.matrix_of(result)
        if form is None:
            why = "its rank is above 2" if result.rank > 2 else "no matrix operation expresses it"
            self.steps.append(_step("no-matrix-form", f"The result has no matrix form: {why}; it stays in index "
                                    "notation (contract it with an upstream gradient to get one).", label,
                                    after=result))
            return
        vectors = "rows" if self.rows else "columns"
        self.steps.append(_step("matrix-form", f"Read the result as matrix notation, vectors as {vectors}.", label,
                                after=result, matrix=form, notes=tuple(reading_notes(result, form))))

    # -- recorded rewrites --------------------------------------------------------------------------

    def simplified(self, start: Expr, label: Callable[[Expr], Label]) -> Expr:
        """Run the simplifier on ``start`` and add one step per visible rewrite it recorded."""
        with Recorder() as recorder:
            result = simplify(start)
        whole = start
        for recorded in recorder.steps:
            before, after = recorded.before, recorded.after
            updated = _replace(whole, before, after)
            if to_text(before) != to_text(after) or to_text(whole) != to_text(updated):
                note = delta_note(before, after) if recorded.rule.name == "delta-elimination" else None
                step = _step(recorded.rule.name, recorded.rule.reason, label(updated), after=updated, before=whole,
                             part=None if before == whole else (before, after), within=_within(updated, after),
                             notes=(note,) if note else ())
                self.steps.append(replace(step, matrix=self.matrix_of(after if step.shows_part else updated)))
            whole = updated
        return result

    def renamed(self, simplified: Expr, final: Expr, label: Callable[[Expr], Label]) -> Expr:
        """The result as the public function returns it; a step when index names changed."""
        if to_text(simplified) != to_text(final) or _shown_definitions(simplified) != _shown_definitions(final):
            reason = ("Rename the indices: summed ones i, j, k, … and the variable's own axes p, q, …; the names of "
                      "summed indices do not change the value.")
            self.steps.append(_step("rename-indices", reason, label(final), after=final, before=simplified,
                                    before_lhs=label(simplified)))
        return final

    # -- naming -------------------------------------------------------------------------------------

    def result_label(self, kind: str, result: Expr, kept: int) -> Label:
        """What the final result is: the Jacobian, the Hessian, or the gradient of the loss."""
        if kind == "jacobian":
            return self.partial(self.name, result, kept)
        if kind == "hessian":
            return self.second(result, result.rank // 2)
        return self.partial(self.loss, result, 0)

    def entry_label(self, name: str, indices: Sequence[Index]) -> Label:
        return Label(entry(name, indices), entry_latex(name, indices))

    def partial(self, numerator: str, expr: Expr, kept: int) -> Label:
        """``∂z[i]/∂W[p,q]``: the first ``kept`` free indices of ``expr`` are the numerator's."""
        top, bottom = expr.free[:kept], expr.free[kept:]
        variable = self.spec.name
        return Label(f"∂{entry(numerator, top)}/∂{entry(variable, bottom)}",
                     rf"\frac{{\partial {entry_latex(numerator, top)}}}{{\partial {entry_latex(variable, bottom)}}}")

    def second(self, expr: Expr, half: int) -> Label:
        """``∂²f/∂x[p]∂x[q]``: the first ``half`` free indices of ``expr`` are the gradient's."""
        variable, first, last = self.spec.name, expr.free[:half], expr.free[half:]
        return Label(f"∂²{self.name}/∂{entry(variable, first)}∂{entry(variable, last)}",
                     rf"\frac{{\partial^2 {entry_latex(self.name, ())}}}{{\partial {entry_latex(variable, first)}"
                     rf"\,\partial {entry_latex(variable, last)}}}")

    def matrix_of(self, expr: Expr) -> MatrixForm | None:
        """The matrix form, or ``None`` when there is none."""
        if expr.rank > 2:
            return None
        try:
            return to_matrix(expr, rows=self.rows, sizes_from=[self.wrt])
        except NoMatrixForm:
            return None


def entry_latex(name: str, indices: Sequence[Index]) -> str:
    """``z_{i}``: LaTeX for one entry of a named quantity."""
    return to_latex(Tensor(TensorSpec(name, tuple(k.dim for k in indices)), tuple(indices)))


def _replace(expr: Expr, old: Expr, new: Expr) -> Expr:
    """``expr`` with every sub-expression equal to ``old`` replaced by ``new`` (inside definitions too)."""
    memo: dict[Expr, Expr] = {}

    def visit(node: Expr) -> Expr:
        if node == old:
            return new
        if node not in memo:
            memo[node] = node.map_children(visit)
        return memo[node]

    return visit(expr)


def _within(whole: Expr, part: Expr) -> str | None:
    """The named intermediate whose definition contains ``part``, if the main expression does not."""
    stack = [whole]
    while stack:
        node = stack.pop()
        if node == part:
            return None
        if not isinstance(node, Named):
            stack.extend(node.children())
    for named in definitions(whole):
        if any(node == part for node in walk(named.body)):
            return named.name
    return None


def _shown_definitions(expr: Expr) -> list[str]:
    return [f"{d.name} = {to_text(d.body)}" for d in definitions(expr)]
