"""Building a derivation: the learner's steps, interleaved with the rewrites the simplifier recorded.

`Builder` runs the same functions the library's answer comes from
(`jacobian_raw()`, `vjp_raw()`,
`simplify()` under a `Recorder`,
`to_matrix()`) and turns what they did into `Step`
values.  A recorded rewrite applies to one sub-expression; the builder replays
it on the whole expression, so every step shows the whole expression before
and after (or, when the rewrite sits inside a named intermediate, that part).
A rewrite that prints the same before and after, in text or in LaTeX, is never
a step.

How much is kept is the ``detail``: ``"full"`` keeps every rewrite,
``"teaching"`` leaves out bookkeeping (flattening nested products, renaming
indices) unless it changes the matrix form or has a reason of its own to give,
and ``"result"`` keeps only the entry, the result and the checks.

Every expression is shown through `Builder.show()`, which renames any
index that has the name of a tensor (or of a named intermediate) in the
derivation, the same way in every step, so ``r[i]`` never meets an index ``r``.

>>> import eincalc as ec
>>> W, a = ec.tensors("W[m,n] a[n]")
>>> built = Builder(W, name="z", loss="L", rows=False, detail="teaching", renames={})
>>> jacobian = built.forward(W @ a, W, "z")
>>> [(step.rule, step.lhs) for step in built.steps]
[('differentiate', '∂z[i]/∂W[p,q]'), ('delta-elimination', '∂z[i]/∂W[p,q]'), ('jacobian', '∂z[i]/∂W[p,q]')]
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Literal

from ..calculus.diff import dependents, jacobian, jacobian_raw
from ..calculus.simplify import Recorder, simplify
from ..calculus.simplify import Step as Recorded
from ..core.errors import NoMatrixForm
from ..core.expr import Expr
from ..core.indices import Index, TensorSpec
from ..core.names import index_names, rename
from ..core.nodes import Contract, Named, Tensor
from ..core.traversal import fill_bottom_up, walk
from ..frontend.printing import definitions, line_text, named_definitions, to_latex, to_text
from ..matrix.view import MatrixForm, to_matrix
from .reasons import (
    diagonal_reason,
    differentiate_reason,
    entry,
    index_form_reason,
    jacobian_reason,
    local_one_reason,
    passing_gates,
    rewrite_reason,
)

Detail = Literal["result", "teaching", "full"]
DETAILS: tuple[Detail, ...] = ("result", "teaching", "full")
BOOKKEEPING = frozenset(
    {
        "flatten-product",
        "unwrap-product",
        "flatten-sum",
        "fold-constants",
        "single-term",
        "absorb-ones",
        "rename-indices",
    }
)
"""Rewrites that only tidy the notation: shown at ``detail="full"``, or when they change the matrix form."""
MERGED = BOOKKEEPING - {"single-term"}
"""Bookkeeping rewrites whose reason is the rule's own (never read off the part rewritten): below
``detail="full"`` a run of one of them is one step."""


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
    how reverse mode groups a product); ``table`` is preformatted text (the
    computational graph at given values).
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
    table: str | None = None

    @property
    def shows_part(self) -> bool:
        """Whether the whole expression prints the same before and after (the rewrite sits in a definition),
        so that only the rewritten part is worth showing."""
        return (
            self.part is not None
            and self.before is not None
            and self.after is not None
            and text_of(self.before) == text_of(self.after)
        )


def differs(before: Expr, after: Expr) -> bool:
    """Whether a rewrite shows, in text and in LaTeX alike."""
    return text_of(before) != text_of(after) and latex_of(before) != latex_of(after)


@functools.lru_cache(maxsize=64)
def text_of(expr: Expr) -> str:
    """`to_text()`, kept for the last expressions asked about: a derivation compares each whole expression
    it shows with the one before and after it, and printing a deep one takes time linear in its depth."""
    return to_text(expr)


@functools.lru_cache(maxsize=64)
def latex_of(expr: Expr) -> str:
    """`to_latex()`, kept as `text_of()` is."""
    return to_latex(expr)


class Builder:
    """Collects the steps of one derivation with respect to ``wrt``.

    ``renames`` maps index names to the names they are shown with (see `rename_indices()`).
    """

    def __init__(
        self, wrt: Tensor, *, name: str, loss: str, rows: bool, detail: Detail, renames: Mapping[str, str]
    ) -> None:
        self.wrt, self.name, self.loss, self.rows, self.detail = wrt, name, loss, rows, detail
        self.renames = dict(renames)
        self.steps: list[Step] = []
        self.gates: list[tuple[Expr, Expr]] = []  # add gates being differentiated (see rewrite_reason)
        self._forms: dict[Expr, MatrixForm | None] = {}
        self._absent: dict[Expr, str] = {}  # why an expression has no matrix form

    # -- output -------------------------------------------------------------------------------------

    def show(self, expr: Expr) -> Expr:
        """``expr`` as the derivation shows it (indices renamed away from tensor names)."""
        return rename_indices(expr, self.renames)

    def keeps(self, level: Detail) -> bool:
        return DETAILS.index(level) <= DETAILS.index(self.detail)

    def add(self, level: Detail, rule: str, reason: str, label: Label = Label(), **fields: object) -> None:
        """Add a step when the chosen detail keeps steps of ``level``."""
        if self.keeps(level):
            self.steps.append(Step(rule, reason, lhs=label.text, lhs_latex=label.latex, **fields))  # type: ignore[arg-type]

    # -- the learner's steps ----------------------------------------------------------------------

    def start(self, expr: Expr) -> Expr:
        """One entry in index form, then the input's own simplification."""
        shown = self.show(expr)
        label = self.entry_label(self.name, shown.free)
        self.add("result", "index-form", index_form_reason(shown), label, after=shown)
        return self.simplified(expr, lambda e: label)

    def forward(self, expr: Expr, variable: Tensor, of: str) -> Expr:
        """Differentiate one entry of ``expr`` (called ``of``), simplify, and say what the Jacobian is.

        Returns `eincalc.jacobian()` of ``expr``, whose steps these are.
        """
        kept = expr.rank

        def label(e: Expr) -> Label:
            return self.partial(of, variable.spec.name, e, kept)

        raw = jacobian_raw(expr, variable)
        shown = self.show(raw)
        reason = differentiate_reason(self.show(expr), variable.spec, shown.free[kept:])
        self.add("teaching", "differentiate", reason, label(shown), after=shown)
        self.gates = [
            (self.show(gate), self.show(addend))
            for gate, addend in passing_gates(expr, dependents(expr, variable.spec))
        ]
        try:
            simplified = self.simplified(raw, label)
        finally:
            self.gates = []
        result = self.renamed(simplified, jacobian(expr, variable), label)
        shown = self.show(result)
        self.add(
            "teaching",
            "jacobian",
            jacobian_reason(shown, kept, of, variable.spec.name),
            label(shown),
            after=shown,
            matrix=self.matrix_of(shown),
        )
        for rule, fact in (
            ("diagonal-jacobian", diagonal_reason(shown, kept)),
            ("add-gate", local_one_reason(shown, kept, of, self.show(expr), variable.spec)),
        ):
            if fact is not None:
                self.add("teaching", rule, fact)
        return result

    def differentiate_again(self, gradient: Expr) -> Expr:
        """The Hessian as the Jacobian of the gradient."""
        half = gradient.rank

        def label(e: Expr) -> Label:
            return self.second(e, half)

        raw = jacobian_raw(gradient, self.wrt)
        shown = self.show(raw)
        reason = (
            f"Differentiate the gradient once more: the Hessian {label(shown).text} is the Jacobian of the "
            "gradient, with the gradient's indices first."
        )
        self.add("teaching", "differentiate-again", reason, label(shown), after=shown)
        return self.renamed(self.simplified(raw, label), jacobian(gradient, self.wrt), label)

    # -- recorded rewrites --------------------------------------------------------------------------

    def simplified(self, start: Expr, label: Callable[[Expr], Label]) -> Expr:
        """Run the simplifier on ``start`` and add one step per visible rewrite it recorded.

        Below ``detail="full"``, a run of one bookkeeping rule applied several times in a row (flattening
        the product of every layer of a deep chain) is one step, so the steps of a deep chain do not grow
        with its depth, each showing the whole expression.
        """
        if not self.keeps("teaching"):
            return simplify(start)  # no rewrite is shown
        with Recorder() as recorder:
            result = simplify(start)
        whole = start
        for run in _runs(recorder.steps, merge=not self.keeps("full")):
            updated = _replaced(whole, run)
            self.rewrite(run[0] if len(run) == 1 else Recorded(run[0].rule, whole, updated), whole, updated, label)
            whole = updated
        return result

    def rewrite(self, recorded: Recorded, whole: Expr, updated: Expr, label: Callable[[Expr], Label]) -> None:
        """One recorded rewrite as a step, if it shows at all."""
        before, after = self.show(whole), self.show(updated)
        old, new = self.show(recorded.before), self.show(recorded.after)
        in_part = text_of(before) == text_of(after)
        if not differs(old, new) if in_part else not differs(before, after):
            return
        rule = recorded.rule
        reason = rewrite_reason(rule.name, rule.reason, old, new, self.gates)
        matrix = self.matrix_of(new if in_part else after)
        bookkeeping = (
            rule.name in BOOKKEEPING
            and reason == rule.reason
            and _form_text(self.matrix_of(old if in_part else before)) == _form_text(matrix)
        )
        self.add(
            "full" if bookkeeping else "teaching",
            rule.name,
            reason,
            label(after),
            after=after,
            before=before,
            part=None if recorded.before == whole else (old, new),
            within=_within(updated, recorded.after),
            matrix=matrix,
        )

    def renamed(self, simplified: Expr, final: Expr, label: Callable[[Expr], Label]) -> Expr:
        """The result as the public function returns it; a step when index names changed."""
        before, after = self.show(simplified), self.show(final)
        if differs(before, after) or _shown_definitions(before) != _shown_definitions(after):
            reason = (
                "Rename the indices: summed ones i, j, k, … in order of appearance and the variable's own axes "
                "p, q, …; the names of summed indices do not change the value."
            )
            self.add(
                "full", "rename-indices", reason, label(after), after=after, before=before, before_lhs=label(before)
            )
        return final

    # -- naming -------------------------------------------------------------------------------------

    def result_label(self, kind: str, result: Expr, kept: int) -> Label:
        """What the final result is: the Jacobian, the Hessian, or the gradient of the loss."""
        if kind == "jacobian":
            return self.partial(self.name, self.wrt.spec.name, result, kept)
        if kind == "hessian":
            return self.second(result, result.rank // 2)
        return self.partial(self.loss, self.wrt.spec.name, result, 0)

    def entry_label(self, name: str, indices: Sequence[Index]) -> Label:
        return Label(entry(name, indices), entry_latex(name, indices))

    def partial(self, numerator: str, variable: str, expr: Expr, kept: int) -> Label:
        """``∂z[i]/∂W[p,q]``: the first ``kept`` free indices of ``expr`` are the numerator's."""
        top, bottom = expr.free[:kept], expr.free[kept:]
        return Label(
            f"∂{entry(numerator, top)}/∂{entry(variable, bottom)}",
            rf"\frac{{\partial {entry_latex(numerator, top)}}}{{\partial {entry_latex(variable, bottom)}}}",
        )

    def second(self, expr: Expr, half: int) -> Label:
        """``∂²f/∂x[p]∂x[q]``: the first ``half`` free indices of ``expr`` are the gradient's."""
        variable, first, last = self.wrt.spec.name, expr.free[:half], expr.free[half:]
        return Label(
            f"∂²{self.name}/∂{entry(variable, first)}∂{entry(variable, last)}",
            rf"\frac{{\partial^2 {entry_latex(self.name, ())}}}{{\partial {entry_latex(variable, first)}"
            rf"\,\partial {entry_latex(variable, last)}}}",
        )

    def matrix_of(self, expr: Expr) -> MatrixForm | None:
        """The matrix form, or ``None`` when there is none (`why_no_matrix` says why)."""
        if expr not in self._forms:
            self._forms[expr] = None
            self._absent[expr] = "its rank is above 2"
            if expr.rank <= 2:
                try:
                    self._forms[expr] = to_matrix(expr, rows=self.rows, sizes_from=[self.wrt])
                except NoMatrixForm as error:
                    self._absent[expr] = str(error).splitlines()[0]
        return self._forms[expr]

    def why_no_matrix(self, expr: Expr) -> str:
        """Why ``expr`` has no matrix form (after `matrix_of` found none)."""
        self.matrix_of(expr)
        return self._absent.get(expr, "")


def entry_latex(name: str, indices: Sequence[Index]) -> str:
    """``z_{i}``: LaTeX for one entry of a named quantity."""
    return to_latex(Tensor(TensorSpec(name, tuple(k.dim for k in indices)), tuple(indices)))


def rename_indices(expr: Expr, renames: Mapping[str, str]) -> Expr:
    """``expr`` with every index named in ``renames`` (free, summed, in definitions) given its new name.

    The new names must be used nowhere in ``expr``, so nothing is captured.  The
    arguments of a matrix function are a scope of their own and stay as they are.

    >>> from eincalc.frontend.build import tensors
    >>> x, r = tensors("x[n] r[n]")
    >>> str(rename_indices(x["r"] * r["r"], {"r": "i"}))
    'x[i] r[i]'
    """
    if not renames or not index_names(expr) & renames.keys():
        return expr

    def moved(indices: Sequence[Index]) -> dict[Index, Index]:
        return {k: Index(renames[k.name], k.dim) for k in indices if k.name in renames}

    memo: dict[Expr, Expr] = {}

    def visit(node: Expr) -> Expr:
        if node not in memo:
            current = node
            bound = moved(getattr(node, "summed", ()))
            if isinstance(current, Contract) and bound:
                current = Contract(
                    tuple(rename(f, bound) for f in current.factors), current.out, positional=current.positional
                )
            elif bound and not node.opens_scope:
                current = current.rebind(bound)  # type: ignore[attr-defined]
            if isinstance(current, Named):
                current = replace(current, body=rename(current.body, moved(current.body.free)))
            memo[node] = current if node.opens_scope else current.map_children(visit)
        return memo[node]

    return rename(visit(expr), moved(expr.free))


def expressions_of(steps: Sequence[Step]) -> list[Expr]:
    """Every expression the steps show (before, after, the rewritten parts)."""
    found = []
    for step in steps:
        found += [e for e in (step.before, step.after) if e is not None]
        found += list(step.part or ())
    return found


def _form_text(form: MatrixForm | None) -> str | None:
    return None if form is None else form.text


def _runs(recorded: Sequence[Recorded], *, merge: bool) -> list[list[Recorded]]:
    """The recorded rewrites one by one, or with ``merge`` each run of one bookkeeping rule as one group."""
    runs: list[list[Recorded]] = []
    for step in recorded:
        name = step.rule.name
        if merge and runs and runs[-1][0].rule.name == name and name in MERGED:
            runs[-1].append(step)
        else:
            runs.append([step])
    return runs


def _replaced(expr: Expr, run: Sequence[Recorded]) -> Expr:
    """``expr`` with the rewrites of ``run`` applied in turn, each to every occurrence of what it rewrote
    (inside definitions too).

    The simplifier rewrites children before parents, so one pass that rewrites each node after its children
    replays a run; where some rewrite of the run finds nothing to rewrite in that pass, they are replayed
    one at a time instead.
    """
    table = {step.before: step.after for step in run}
    replaced, fired = _one_pass(expr, table)
    if len(run) == 1 or (len(table) == len(run) and fired == table.keys()):
        return replaced
    for step in run:
        expr = _one_pass(expr, {step.before: step.after})[0]
    return expr


def _one_pass(expr: Expr, table: Mapping[Expr, Expr]) -> tuple[Expr, set[Expr]]:
    """``expr`` rewritten by ``table`` children first, without recursion; and the keys that were found."""
    done: dict[Expr, Expr] = {}
    fired: set[Expr] = set()

    def fill(node: Expr) -> None:
        rebuilt = node.map_children(done.__getitem__)
        for _ in table:  # a rewrite's result may be the next one's start
            if rebuilt not in table:
                break
            fired.add(rebuilt)
            rebuilt = table[rebuilt]
        done[node] = rebuilt

    fill_bottom_up(expr, done.__contains__, fill)
    return done[expr], fired


def _within(whole: Expr, part: Expr) -> str | None:
    """The named intermediate whose definition contains ``part``, if the main expression does not."""
    if any(node == part for node in walk(whole, enter=lambda node: not isinstance(node, Named))):
        return None
    for named in definitions(whole):
        if any(node == part for node in walk(named.body)):
            return named.name
    return None


def _shown_definitions(expr: Expr) -> list[str]:
    return [f"{d.name} = {line_text(d.body)}" for d in named_definitions(expr)]
