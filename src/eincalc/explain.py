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
 'delta-elimination', 'matrix-form', 'numeric-check']
>>> print(d.result, "=", d.matrix)
g[p] a[q] = g aᵀ
>>> d.check.passed
True
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from .diff import jacobian, jacobian_raw, vjp, vjp_raw
from .errors import IndexMismatch, NoMatrixForm, ShapeError, UnsupportedError
from .explain_check import Check, numeric_check
from .explain_reasons import (
    bias_reason,
    chain_reason,
    delta_note,
    diagonal_reason,
    differentiate_reason,
    entry,
    index_form_reason,
    jacobian_reason,
    names,
    reading_notes,
    shape_text,
)
from .expr import Const, Contract, Expr, Index, Named, Tensor, TensorSpec, walk
from .matrix import MatrixForm, to_matrix
from .names import canonical, rename
from .printing import definitions, to_latex, to_text
from .simplify import Recorder, simplify

Kind = Literal["vjp", "grad", "jacobian", "hessian"]
KINDS: tuple[Kind, ...] = ("vjp", "grad", "jacobian", "hessian")


@dataclass(frozen=True)
class Step:
    """One step: the rule's name, a one-sentence reason, the expression before and after, the matrix view.

    ``lhs`` names what ``after`` is (``∂z[i]/∂W[p,q]``).  A rewrite that touched
    only part of the expression keeps that part in ``part`` (before, after), and
    the named intermediate it sits in in ``within``.  ``notes`` are further facts
    (why the matrix form has its shape).
    """

    rule: str
    reason: str
    after: Expr | None = None
    before: Expr | None = None
    lhs: str = ""
    lhs_latex: str = ""
    matrix: MatrixForm | None = None
    part: tuple[Expr, Expr] | None = None
    within: str | None = None
    notes: tuple[str, ...] = ()


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
    check: Check | None
    rows: bool = False
    result_name: str = ""

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
    rows: bool = False,
    sizes: Mapping[str, int] | None = None,
    seed: int = 0,
) -> Derivation:
    """Derive ``∂expr/∂wrt`` step by step.

    ``kind`` is ``"vjp"`` (needs ``upstream``, the gradient arriving from above,
    shaped like ``expr``), ``"grad"`` (``expr`` a scalar), ``"jacobian"`` or
    ``"hessian"``; by default ``"vjp"`` when ``upstream`` is given, else
    ``"grad"`` for a scalar and ``"jacobian"`` otherwise.  ``name`` is what the
    output is called (``z``; default the intermediate's name, else ``f``);
    ``rows`` reads vectors as rows in the matrix form; ``sizes`` and ``seed``
    choose the random values of the numeric check.
    """
    if not isinstance(wrt, Tensor):
        raise UnsupportedError(f"can only differentiate with respect to a declared tensor, not {wrt}")
    chosen = kind or ("vjp" if upstream is not None else "jacobian" if expr.free else "grad")
    if chosen not in KINDS:
        raise UnsupportedError(f"unknown kind {chosen!r}; choose one of {', '.join(KINDS)}")
    if (chosen == "vjp") != (upstream is not None):
        raise UnsupportedError("an upstream gradient goes with kind='vjp' only, and kind='vjp' needs one")
    if chosen in ("grad", "hessian") and expr.free:
        raise IndexMismatch(f"a {chosen} needs a scalar expression, but {expr} has free indices "
                            f"({names(expr.free)}); use kind='jacobian', or an upstream gradient")
    label = name or (expr.name if isinstance(expr, Named) else "f")
    return _Builder(expr, wrt, label, rows).derive(chosen, upstream, sizes, seed)


class _Builder:
    """Collects the steps of one derivation."""

    def __init__(self, expr: Expr, wrt: Tensor, name: str, rows: bool) -> None:
        self.expr, self.wrt, self.spec, self.name, self.rows = expr, wrt, wrt.spec, name, rows
        self.loss = "L"
        self.steps: list[Step] = []
        self.named = any(isinstance(node, Named) for node in walk(expr))

    # -- the request ----------------------------------------------------------------------------

    def derive(self, kind: Kind, upstream: Expr | None, sizes: Mapping[str, int] | None, seed: int) -> Derivation:
        start = self.start()
        if kind == "vjp":
            assert upstream is not None
            result = self.backward(start, upstream) if self.named else self.chain(start, self.forward(start), upstream)
        elif kind == "jacobian":
            result = self.forward(start)
        else:
            self.loss = self.name
            result = self.backward(start, Const(1.0)) if self.named else self.forward(start)
        gradient = result
        if kind == "hessian":
            result = self.differentiate_again(gradient)
        self.read(result, start, self.final_lhs(kind, result, start.rank))
        check = numeric_check(self.expr, self.wrt, result, kind=kind, upstream=upstream, gradient=gradient,
                              sizes=sizes, seed=seed, form=self.result_form(result))
        self.steps.append(Step("numeric-check", check.sentence()))
        return Derivation(kind, self.title(kind, upstream), self.layout(kind), result, tuple(self.steps), check,
                          self.rows, self.result_label(kind, result))

    def title(self, kind: Kind, upstream: Expr | None) -> str:
        of = f"{entry(self.name, self.expr.free)} = {self.expr}"
        variable = self.spec.name
        return {
            "vjp": f"∂{self.loss}/∂{variable} for {of}, given the upstream gradient {upstream} = ∂{self.loss}/∂{self.name}",
            "grad": f"the gradient ∂{self.name}/∂{variable} of {of}",
            "jacobian": f"the Jacobian ∂{self.name}/∂{variable} of {of}",
            "hessian": f"the Hessian of {of} with respect to {variable}",
        }[kind]

    def layout(self, kind: Kind) -> str:
        vectors = "rows" if self.rows else "columns"
        variable, dims = self.spec.name, shape_text(self.spec.dims)
        if kind == "jacobian":
            return (f"∂{self.name}/∂{variable} has {self.name}'s indices first, then {variable}'s (numerator layout); "
                    f"the matrix view reads vectors as {vectors}.")
        if kind == "hessian":
            return (f"H[p,q] = ∂²{self.name}/∂{variable}[p]∂{variable}[q]: rows p, columns q; "
                    f"the matrix view reads vectors as {vectors}.")
        loss = self.loss if kind == "vjp" else self.name
        return (f"the gradient ∂{loss}/∂{variable} has the shape of {variable} ({dims}); "
                f"the matrix view reads vectors as {vectors}.")

    def result_label(self, kind: Kind, result: Expr) -> str:
        variable = self.spec.name
        if kind == "jacobian":
            return f"∂{self.name}/∂{variable}"
        if kind == "hessian":
            return f"∂²{self.name}/∂{variable}²"
        return f"∂{self.loss if kind == 'vjp' else self.name}/∂{variable}"

    # -- the learner's steps ----------------------------------------------------------------------

    def start(self) -> Expr:
        out = entry(self.name, self.expr.free)
        self.steps.append(Step("index-form", index_form_reason(self.expr), after=self.expr, lhs=out,
                               lhs_latex=self.entry_latex(self.name, self.expr.free)))
        return self.simplified(self.expr, lambda e: out, simplify)

    def forward(self, start: Expr) -> Expr:
        """Differentiate one entry, simplify, and say what the Jacobian is."""
        raw = jacobian_raw(start, self.wrt)
        kept = start.rank
        self.steps.append(Step("differentiate", differentiate_reason(start, self.spec, raw.free[kept:]), after=raw,
                               lhs=self.partial(self.name, raw, kept), lhs_latex=self.partial_latex(self.name, raw, kept)))
        simplified = self.simplified(raw, lambda e: self.partial(self.name, e, kept), simplify)
        result = self.renamed(simplified, jacobian(start, self.wrt), kept, self.name)
        self.steps.append(Step("jacobian", jacobian_reason(result, kept, self.name, self.spec), after=result,
                               lhs=self.partial(self.name, result, kept), matrix=self.matrix_of(result)))
        for rule, reason in (("diagonal-jacobian", diagonal_reason(result, kept)),
                             ("local-gradient-one", bias_reason(result, kept, self.name, self.spec))):
            if reason is not None:
                self.steps.append(Step(rule, reason, after=result, lhs=self.partial(self.name, result, kept)))
        return result

    def chain(self, start: Expr, jacobian_: Expr, upstream: Expr) -> Expr:
        """Contract the upstream gradient with the Jacobian over the output's indices."""
        if upstream.shape != start.shape:
            raise ShapeError(f"upstream gradient {upstream} has shape ({', '.join(upstream.shape)}) but {start} has "
                             f"shape ({', '.join(start.shape)}); the upstream gradient must have the output's shape")
        aligned = rename(upstream, dict(zip(upstream.free, start.free, strict=True)))
        contraction = Contract((aligned, jacobian_), jacobian_.free[start.rank:])
        variable = entry(self.spec.name, jacobian_.free[start.rank:])
        self.steps.append(Step("chain-rule", chain_reason(self.name, start.free, aligned, self.loss, variable),
                               after=contraction, lhs=self.partial(self.loss, contraction, 0),
                               lhs_latex=self.partial_latex(self.loss, contraction, 0)))
        simplified = self.simplified(contraction, lambda e: self.partial(self.loss, e, 0), simplify)
        return self.renamed(simplified, canonical(simplified), 0, self.loss)

    def backward(self, start: Expr, upstream: Expr) -> Expr:
        """Reverse mode through named intermediates, as :func:`eincalc.vjp` does it."""
        raw = vjp_raw(start, self.wrt, upstream)
        known = {d.name for d in definitions(start)}
        adjoints = [d.name for d in definitions(raw) if d.name not in known]
        reason = ("Chain rule from the output back, one node at a time (reverse mode): the gradient arriving at each "
                  "named intermediate is named too" + (f" ({', '.join(adjoints)})" if adjoints else "") +
                  ", and no Jacobian is ever multiplied out.")
        self.steps.append(Step("backpropagate", reason, after=raw, lhs=self.partial(self.loss, raw, 0),
                               lhs_latex=self.partial_latex(self.loss, raw, 0)))
        simplified = self.simplified(raw, lambda e: self.partial(self.loss, e, 0), simplify)
        return self.renamed(simplified, vjp(start, self.wrt, upstream), 0, self.loss)

    def differentiate_again(self, gradient: Expr) -> Expr:
        raw = jacobian_raw(gradient, self.wrt)
        half = gradient.rank
        reason = (f"Differentiate the gradient once more: the Hessian {self.second(raw, half)} is the Jacobian of "
                  "the gradient, with the gradient's indices first.")
        self.steps.append(Step("differentiate-again", reason, after=raw, lhs=self.second(raw, half)))
        simplified = self.simplified(raw, lambda e: self.second(e, half), simplify)
        return self.renamed(simplified, jacobian(gradient, self.wrt), 0, self.name)

    def read(self, result: Expr, start: Expr, label: str) -> None:
        """The matrix form of the result, and of every gradient named on the way."""
        known = {d.name for d in definitions(start)}
        for named in definitions(result):
            if named.name not in known and named.body.rank <= 2:
                form = self.matrix_of(named.body)
                if form is not None:
                    self.steps.append(Step("matrix-form", f"Read {named.name} as matrix notation.", after=named.body,
                                           lhs=entry(named.name, named.body.free), matrix=form,
                                           notes=tuple(reading_notes(named.body, form))))
        form = self.result_form(result)
        if form is None:
            why = "its rank is above 2" if result.rank > 2 else "no matrix operation expresses it"
            self.steps.append(Step("no-matrix-form", f"The result has no matrix form: {why}; it stays in index "
                                   "notation (contract it with an upstream gradient to get one).", after=result,
                                   lhs=label))
            return
        vectors = "rows" if self.rows else "columns"
        self.steps.append(Step("matrix-form", f"Read the result as matrix notation, vectors as {vectors}.",
                               after=result, lhs=label, matrix=form, notes=tuple(reading_notes(result, form))))

    # -- recorded rewrites --------------------------------------------------------------------------

    def simplified(self, start: Expr, lhs: Callable[[Expr], str], run: Callable[[Expr], Expr]) -> Expr:
        """Run the simplifier on ``start`` and add one step per rewrite it recorded."""
        with Recorder() as recorder:
            result = run(start)
        whole = start
        for recorded in recorder.steps:
            before, after = recorded.before, recorded.after
            updated = _replace(whole, before, after)
            if to_text(before) != to_text(after):
                note = delta_note(before, after) if recorded.rule.name == "delta-elimination" else None
                self.steps.append(Step(
                    recorded.rule.name, recorded.rule.reason, after=updated, before=whole, lhs=lhs(updated),
                    matrix=self.matrix_of(updated if before == whole else after),
                    part=None if before == whole else (before, after),
                    within=_within(updated, after), notes=(note,) if note else ()))
            whole = updated
        return result

    def renamed(self, simplified: Expr, final: Expr, kept: int, numerator: str) -> Expr:
        """The result as the public function returns it; a step when only index names changed."""
        if to_text(simplified) != to_text(final) or _shown_definitions(simplified) != _shown_definitions(final):
            self.steps.append(Step(
                "rename-indices", "Rename the indices: summed ones i, j, k, … and the variable's own axes p, q, …; "
                "the names of summed indices do not change the value.", after=final, before=simplified,
                lhs=self.partial(numerator, final, kept)))
        return final

    # -- naming -------------------------------------------------------------------------------------

    def final_lhs(self, kind: Kind, result: Expr, kept: int) -> str:
        if kind == "jacobian":
            return self.partial(self.name, result, kept)
        if kind == "hessian":
            return self.second(result, result.rank // 2)
        return self.partial(self.loss, result, 0)

    def second(self, expr: Expr, half: int) -> str:
        """``∂²f/∂x[p]∂x[q]``: the first ``half`` free indices of ``expr`` are the gradient's."""
        variable = self.spec.name
        return f"∂²{self.name}/∂{entry(variable, expr.free[:half])}∂{entry(variable, expr.free[half:])}"

    def partial(self, numerator: str, expr: Expr, kept: int) -> str:
        top = entry(numerator, expr.free[:kept])
        return f"∂{top}/∂{entry(self.spec.name, expr.free[kept:])}"

    def partial_latex(self, numerator: str, expr: Expr, kept: int) -> str:
        top = self.entry_latex(numerator, expr.free[:kept])
        return rf"\frac{{\partial {top}}}{{\partial {self.entry_latex(self.spec.name, expr.free[kept:])}}}"

    @staticmethod
    def entry_latex(name: str, indices: Sequence[Index]) -> str:
        return to_latex(Tensor(TensorSpec(name, tuple(k.dim for k in indices)), tuple(indices)))

    def matrix_of(self, expr: Expr) -> MatrixForm | None:
        if expr.rank > 2:
            return None
        try:
            return to_matrix(expr, rows=self.rows)
        except NoMatrixForm:
            return None

    result_form = matrix_of


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
    """The named intermediate whose definition contains ``part``, if it is not in the main expression."""
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
