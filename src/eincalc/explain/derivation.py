"""Explained derivations: `explain()` returns a `Derivation`, an ordered list of `Step`.

The derivation is computed, not narrated, and its answer is the library's:
the result is exactly what `eincalc.vjp()`, `eincalc.grad()`,
`eincalc.jacobian()` or `eincalc.hessian()` return, read as matrix
notation by `eincalc.to_matrix()` with the same options, so ``explain``,
``eincalc derive`` and the functions never disagree.  The steps show how that
answer comes about: one entry in index form; then, from the output back, one
layer at a time (the output and each intermediate named with
`eincalc.let()`), the local Jacobian with its rank and shape, the chain
rule as a contraction over named indices, the simplifier's rewrites (delta
elimination with the actual indices), and the matrix form of what the layer
sends back, with notes on why it has its transposes, Hadamard products and
order (see `eincalc.explain.layers`); then the assembled result, its
matrix form, and a numeric check of the printed result against central finite
differences.  Given ``values``, the computational graph at that point ends the
derivation: forward values, local gradients and gradients, gate by gate.

``detail`` chooses how much is shown: ``"teaching"`` (default) the steps a
learner needs, ``"full"`` every rewrite, ``"result"`` the entry, the result and
the checks.  No step ever shows the same expression before and after.

>>> import eincalc as ec
>>> W, a, g = ec.tensors("W[m,n] a[n] g[m]")
>>> d = ec.explain(W @ a, W, upstream=g, name="z")
>>> [step.rule for step in d.steps]  # doctest: +NORMALIZE_WHITESPACE
['index-form', 'differentiate', 'delta-elimination', 'jacobian', 'chain-rule', 'delta-elimination',
 'delta-elimination', 'matrix-form', 'numeric-check']
>>> print(d.result, "=", d.matrix)
g[p] a[q] = g aᵀ
>>> d.check.passed
True
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from ..calculus.diff import dependents, grad, vjp
from ..core.arguments import (
    describe,
    output_name,
    require_choice,
    require_flag,
    require_mapping,
    require_sizes,
    require_text,
    require_variable,
    require_whole,
)
from ..core.errors import IndexMismatch, UnsupportedError
from ..core.expr import Expr
from ..core.intermediates import named_apart
from ..core.names import CANONICAL_POOL, fresh_names, index_names, rename
from ..core.nodes import Named, Tensor
from ..core.traversal import walk
from ..frontend.build import as_expr
from ..frontend.printing import definitions, line
from ..matrix.render import to_text as matrix_text
from ..matrix.view import MatrixForm
from ..numeric.evaluate import evaluate
from ..testing import sizes_of
from .check import Check, numeric_check
from .graph import Graph, graph_at, show
from .layers import backward, opaque
from .matrix_notes import inline_names, reading_notes
from .reasons import entry, names, shape_text
from .steps import DETAILS, Builder, Detail, Step, expressions_of

Kind = Literal["vjp", "grad", "jacobian", "hessian"]
KINDS: tuple[Kind, ...] = ("vjp", "grad", "jacobian", "hessian")

__all__ = ["DETAILS", "KINDS", "Derivation", "Detail", "Kind", "Step", "explain", "resolve_kind"]


@dataclass(frozen=True)
class Derivation:
    """An explained derivative: the steps, the result, its matrix form, its layout convention and a numeric check.

    Render with `text()` (Unicode), `markdown()` (Markdown with LaTeX) or
    `latex()`; Jupyter shows the Markdown.  ``graph`` is the computational
    graph at the values given to `explain()`, if any.
    """

    kind: Kind
    title: str
    layout: str
    result: Expr
    steps: tuple[Step, ...]
    check: Check
    rows: bool = False
    matrix: MatrixForm | None = None
    detail: Detail = "teaching"
    graph: Graph | None = None

    def text(self) -> str:
        """Plain text for a terminal."""
        from .render import render_text

        return render_text(self)

    def markdown(self) -> str:
        """Markdown with LaTeX formulas."""
        from .render import render_markdown

        return render_markdown(self)

    def latex(self) -> str:
        """A LaTeX fragment (an ``enumerate`` list)."""
        from .render import render_latex

        return render_latex(self)

    def numpy(self) -> str:
        """NumPy code for the result: its matrix form, else an ``np.einsum`` call."""
        from .render import render_numpy

        return render_numpy(self)

    def html(self, path: str | os.PathLike[str] | None = None, *, katex: str | None = None) -> str:
        """A standalone HTML page; written to ``path`` too when one is given.

        Formulas show as Unicode text, and KaTeX typesets them when it loads
        (from a CDN by default; ``katex`` names another folder, such as
        ``file:///usr/share/javascript/katex`` from Debian's ``libjs-katex``), so
        the page reads well offline too.

        >>> import eincalc as ec
        >>> W, a, g = ec.tensors("W[m,n] a[n] g[m]")
        >>> page = ec.explain(W @ a, W, upstream=g, name="z").html()
        >>> page.startswith("<!DOCTYPE html>"), "g aᵀ" in page, r"\\[\\frac{\\partial z_{i}}" in page
        (True, True, True)
        """
        from .render import KATEX, render_page

        page = render_page(
            self, KATEX if katex is None else require_text(katex, "katex", "'file:///usr/share/javascript/katex'")
        )
        if path is not None:
            _write(page, path)
        return page

    def __str__(self) -> str:
        return self.text()

    def __repr__(self) -> str:
        answer = self.matrix.text if self.matrix is not None else str(self.result)
        if self.check.undefined:
            verdict = "check could NOT run"
        else:
            verdict = "check passed" if self.check.passed else "check FAILED"
        return f"<Derivation {self.title}: {answer} ({len(self.steps)} steps, {verdict})>"

    def _repr_html_(self) -> str:
        from .render import render_html

        return render_html(self)

    def _repr_markdown_(self) -> str:
        return self.markdown()

    def _repr_latex_(self) -> str:
        return self.latex()


@dataclass(frozen=True)
class _Request:
    """What to derive and how to show it."""

    expr: Expr
    wrt: Tensor
    upstream: Expr | None
    kind: Kind
    name: str
    loss: str
    rows: bool
    detail: Detail


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
    detail: Detail = "teaching",
    values: Mapping[str, Any] | None = None,
) -> Derivation:
    """Derive ``∂expr/∂wrt`` step by step.

    ``kind`` is ``"vjp"`` (needs ``upstream``, the gradient arriving from above,
    shaped like ``expr``), ``"grad"`` (``expr`` a scalar), ``"jacobian"`` or
    ``"hessian"``; by default ``"vjp"`` when ``upstream`` is given, else
    ``"grad"`` for a scalar and ``"jacobian"`` otherwise.  ``name`` is what the
    output is called, a name no tensor of it has (default: the intermediate's
    name, else ``f``, or ``g``, … when a tensor is called ``f``) and ``loss``
    what the upstream gradient is the gradient of (``∂L/∂z``).  ``rows`` reads
    vectors as rows in the matrix form; ``sizes`` and ``seed`` choose the random
    values of the numeric check; ``detail`` is ``"teaching"``, ``"full"`` or
    ``"result"``; ``values`` (arrays by tensor name, the upstream gradient's
    too for a vjp) adds the computational graph at that point.
    """
    request = _request(expr, wrt, upstream, kind, name, loss, rows, detail)
    upstream, rows = request.upstream, request.rows
    sizes, seed = require_sizes(sizes, "sizes"), require_whole(seed, "seed")
    values = None if values is None else require_mapping(values, "values", "tensor names to arrays")
    steps, result, gradient = _derive(request, {})
    used = set().union(*(index_names(e) for e in (*expressions_of(steps), result)))
    clashes = sorted(used & _reserved(request))
    if clashes:  # show those indices under names no tensor and no step uses
        renames = dict(zip(clashes, fresh_names(used | _reserved(request), len(clashes), CANONICAL_POOL), strict=True))
        steps, result, gradient = _derive(request, renames)
    builder = Builder(request.wrt, name=request.name, loss=request.loss, rows=rows, detail=detail, renames={})
    form = builder.matrix_of(result)
    check = numeric_check(
        request.expr,
        request.wrt,
        result,
        kind=request.kind,
        upstream=upstream,
        gradient=gradient,
        sizes=sizes,
        seed=seed,
        form=form,
    )
    steps.append(Step("numeric-check", check.sentence()))
    drawn = None
    if values is not None:
        drawn = graph_at(
            request.expr,
            values,
            name=request.name,
            upstream=request.upstream if request.kind != "jacobian" else None,
            dims=sizes,
        )
        steps.append(_graph_step(request, drawn, result, values))
    return Derivation(
        request.kind, _title(request, builder), _layout(request), result, tuple(steps), check, rows, form, detail, drawn
    )


def _write(page: str, path: object) -> None:
    """Write ``page`` to the file ``path``: a path that is none, or a file that cannot be written, is refused."""
    if not isinstance(path, str | os.PathLike):
        raise UnsupportedError(f"path must be a file path like 'derivation.html', not {describe(path)}")
    try:
        Path(path).write_text(page, encoding="utf-8")
    except OSError as error:
        raise UnsupportedError(
            f"cannot write the page to {os.fspath(path)!r}: {error.strerror}; pass a file in a folder that exists"
        ) from None


def _request(
    expr: Expr,
    wrt: Expr,
    upstream: Expr | None,
    kind: Kind | None,
    name: str | None,
    loss: str,
    rows: bool,
    detail: str,
) -> _Request:
    expr, wrt = as_expr(expr, "the expression to explain"), require_variable(wrt)
    expr = named_apart(expr)  # ec.let("h", …) in a loop: h, h2, h3, as every printed form shows them
    upstream = None if upstream is None else as_expr(upstream, "the upstream gradient")
    loss, rows = require_text(loss, "loss", "'L'"), require_flag(rows, "rows")
    chosen = resolve_kind(expr, upstream, kind)
    shown = require_choice(detail, "detail", DETAILS)
    own = expr.name if name is None and isinstance(expr, Named) else None  # an intermediate keeps its name
    output = own or output_name(name, expr, wrt, upstream)
    return _Request(expr, wrt, upstream, chosen, output, output if chosen in ("grad", "hessian") else loss, rows, shown)


def resolve_kind(expr: Expr, upstream: Expr | None, kind: str | None) -> Kind:
    """``kind``, checked against ``expr`` and ``upstream``; by default ``vjp`` with an upstream gradient, else
    ``grad`` for a scalar and ``jacobian`` otherwise."""
    default: Kind = "vjp" if upstream is not None else "jacobian" if expr.free else "grad"
    chosen = default if kind is None else require_choice(kind, "kind", KINDS)
    if (chosen == "vjp") != (upstream is not None):
        raise UnsupportedError(
            "kind vjp needs an upstream gradient (upstream= in Python, --upstream on the command line), and an "
            "upstream gradient goes with kind vjp only"
        )
    if chosen in ("grad", "hessian") and expr.free:
        raise IndexMismatch(
            f"a {chosen} needs a scalar expression, but {expr} has free indices "
            f"({names(expr.free)}); use kind='jacobian', or an upstream gradient"
        )
    return chosen


def _reserved(request: _Request) -> set[str]:
    """Names an index must not have: tensors, intermediates and their gradients, the output and the loss."""
    found = {request.name, request.loss, request.wrt.spec.name}
    for part in (request.expr, request.upstream):
        for node in walk(part) if part is not None else ():
            if isinstance(node, Tensor):
                found.add(node.spec.name)
            elif isinstance(node, Named):
                found |= {node.name, node.adjoint or f"d{node.name}"}
    return found


def _derive(request: _Request, renames: Mapping[str, str]) -> tuple[list[Step], Expr, Expr]:
    """The steps, the result as shown, and the (first) derivative the numeric check compares."""
    builder = Builder(
        request.wrt, name=request.name, loss=request.loss, rows=request.rows, detail=request.detail, renames=renames
    )
    start = builder.start(request.expr)
    if request.kind == "jacobian":
        result = builder.forward(start, request.wrt, request.name)
        gradient = result
    else:
        gradient = (
            grad(request.expr, request.wrt)
            if request.upstream is None
            else vjp(request.expr, request.wrt, request.upstream)
        )
        if start not in dependents(start, request.wrt.spec):
            builder.add(
                "teaching",
                "no-dependence",
                f"{request.name} does not depend on {request.wrt.spec.name}: every entry of the derivative is 0.",
            )
        elif builder.keeps("teaching"):  # detail="result" shows the answer without the layers
            backward(builder, start, request.wrt, request.upstream)
        result = gradient
        if request.kind == "hessian":
            result = builder.differentiate_again(gradient)  # hessian(expr, wrt): the Jacobian of the gradient
    _read(builder, request, result, start)
    return builder.steps, builder.show(result), gradient


def _read(builder: Builder, request: _Request, result: Expr, start: Expr) -> None:
    """The result assembled from the named gradients, then its matrix form and why it looks as it does."""
    shown = builder.show(result)
    label = builder.result_label(request.kind, shown, start.rank)
    known = {d.name for d in definitions(start)}
    named = [d for d in definitions(shown) if d.name not in known]
    if named:
        forms = [f"{d.name} = {form.text}" for d in named if (form := builder.matrix_of(opaque(d.body))) is not None]
        closed = builder.matrix_of(shown)
        if closed is not None:
            forms.append(
                f"Substituting them: {label.text.split('[')[0]} = "
                f"{matrix_text(inline_names(closed.tree, {d.name for d in named}))}"
            )
        builder.add(
            "result",
            "assemble",
            "The result, assembled from the layers: the gradient arriving at each "
            f"intermediate is named ({', '.join(d.name for d in named)}).",
            label,
            after=shown,
            notes=tuple(forms),
        )
    form = builder.matrix_of(shown)
    if form is None:
        hint = " (contract it with an upstream gradient to get one)" if shown.rank > 2 else ""
        builder.add(
            "result",
            "no-matrix-form",
            f"The result has no matrix form: {builder.why_no_matrix(shown)}; it stays in index notation{hint}.",
            label,
            after=shown,
        )
        return
    vectors = "rows" if request.rows else "columns"
    builder.add(
        "result",
        "matrix-form",
        f"Read the result as matrix notation, vectors as {vectors}.",
        label,
        after=shown,
        matrix=form,
        notes=tuple(reading_notes(shown, form)),
    )


def _graph_step(request: _Request, drawn: Graph, result: Expr, values: Mapping[str, Any]) -> Step:
    """The graph as a table, what it shows, and the symbolic result at the same values."""
    notes = list(drawn.facts())
    variable = request.wrt.spec.name
    if request.kind in ("vjp", "grad"):
        here = evaluate(result, values, dims=sizes_of(request.wrt, values, dims=drawn.sizes))
        arrived = drawn.node(variable).gradient if variable in {n.name for n in drawn.nodes} else np.zeros_like(here)
        agree = (
            "the same as the graph's"
            if np.allclose(here, arrived)
            else f"which DISAGREES with the graph's {show(arrived)}"
        )
        notes.append(f"The symbolic result at these values: ∂{request.loss}/∂{variable} = {show(here)}, {agree}.")
    reason = "The computational graph at the given values: each gate's forward value"
    if drawn.output.gradient is not None:
        reason += f", the gradient arriving at it (∂{request.name}/∂node) and its local gradient for each input"
    return Step("graph", reason + ".", table=drawn.text(), notes=tuple(notes))


def _title(request: _Request, builder: Builder) -> str:
    expr = builder.show(request.expr)
    of = f"{entry(request.name, expr.free)} = {line(expr)}"
    variable = request.wrt.spec.name
    if request.kind == "vjp":
        assert request.upstream is not None
        upstream = request.upstream
        if upstream.shape == expr.shape:
            upstream = rename(upstream, dict(zip(upstream.free, expr.free, strict=True)))
        given = f"the upstream gradient {line(upstream)} = ∂{request.loss}/∂{entry(request.name, expr.free)}"
        return f"∂{request.loss}/∂{variable} for {of}, given {given}"
    return {
        "grad": f"the gradient ∂{request.name}/∂{variable} of {of}",
        "jacobian": f"the Jacobian ∂{request.name}/∂{variable} of {of}",
        "hessian": f"the Hessian of {of} with respect to {variable}",
    }[request.kind]


def _layout(request: _Request) -> str:
    vectors = f"the matrix view reads vectors as {'rows' if request.rows else 'columns'}."
    variable, name = request.wrt.spec.name, request.name
    if request.kind == "jacobian":
        return f"∂{name}/∂{variable} has {name}'s indices first, then {variable}'s (numerator layout); {vectors}"
    if request.kind == "hessian":
        return f"H[p,q] = ∂²{name}/∂{variable}[p]∂{variable}[q]: rows p, columns q; {vectors}"
    return (
        f"the gradient ∂{request.loss}/∂{variable} has the shape of {variable} "
        f"({shape_text(request.wrt.spec.dims)}); {vectors}"
    )
