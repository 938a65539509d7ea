"""The backward pass of an explanation, one layer at a time.

A *layer* is the output or a named intermediate (`eincalc.let()`); inside
it, the intermediates it reads are opaque inputs, shown by their names.  From
the output back (reverse mode, the order `eincalc.vjp()` visits them),
each layer sends the gradient arriving at it on to each input that leads to
the variable, in four steps: the local Jacobian (its rank, shape and
sparsity), the chain rule as a contraction of the arriving gradient with that
Jacobian over the layer's indices, the simplifier's rewrites (delta
elimination with the actual indices), and the matrix form of what arrives at
the input, with notes on why it has its transposes, Hadamard products and
order.  An input used in several places adds its contributions.

The contraction is built by the library's own reverse rules
(`vjp_raw()`), applied to the layer alone, and simplified by
the same simplifier, so every gradient shown is the one `eincalc.vjp()`
names in its result.

>>> import eincalc as ec
>>> from eincalc.explain.steps import Builder
>>> W, x = ec.tensors("W[m,n] x[n]")
>>> z = ec.let("z", W @ x, adjoint="δ")
>>> built = Builder(x, name="f", loss="f", rows=False, detail="teaching", renames={})
>>> print(backward(built, ec.sum(ec.sigmoid(z)), x, None))
W[i,p] δ[i]
>>> [step.rule for step in built.steps if step.rule in ("layer", "layer-gradient")]
['layer', 'layer-gradient', 'layer', 'layer-gradient']
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from ..calculus.diff import dependents, vjp_raw
from ..calculus.simplify import simplify
from ..core.expr import Expr
from ..core.indices import TensorSpec
from ..core.names import canonical, rename
from ..core.nodes import Add, Const, Delta, Named, Tensor
from ..core.traversal import fill_bottom_up, postorder, walk
from ..frontend.build import bare
from .matrix_notes import reading_notes
from .reasons import (
    accumulate_reason,
    chain_reason,
    entry,
    jacobian_note,
    layer_reason,
    own_output_note,
    reverse_note,
)
from .steps import Builder, Label


@dataclass(frozen=True)
class Layer:
    """One layer: its name, its body over opaque inputs, the gradient arriving at it, and the inputs that lead
    to the variable (opaque tensors, or the variable itself)."""

    name: str
    body: Expr
    upstream: Expr
    adjoint: str | None
    inputs: tuple[Tensor, ...]


def opaque(expr: Expr) -> Expr:
    """``expr`` with every named intermediate it reads replaced by a tensor of that name (bodies left out)."""
    done: dict[Expr, Expr] = {}

    def made(node: Expr) -> Expr:
        return Tensor(_spec(node), node.indices) if isinstance(node, Named) else done[node]

    # children first, without recursion (a chain thousands of nodes deep), never into a name's body
    fill_bottom_up(
        expr, lambda n: n in done or isinstance(n, Named), lambda n: done.__setitem__(n, n.map_children(made))
    )
    return made(expr)


def _spec(node: Named) -> TensorSpec:
    return TensorSpec(node.name, node.body.shape)


def layers(start: Expr, wrt: Tensor, upstream: Expr, name: str) -> list[Layer]:
    """The layers of ``start`` that lead to ``wrt``, each before the layers it reads."""
    dependent = dependents(start, wrt.spec)
    found = (
        [] if isinstance(start, Named) else [Layer(name, opaque(start), upstream, None, _inputs(start, wrt, dependent))]
    )
    seen: set[tuple[str, Expr]] = set()
    for node in reversed(list(postorder(start))):
        if isinstance(node, Named) and node in dependent and (node.name, node.body) not in seen:
            seen.add((node.name, node.body))
            arriving = Tensor(TensorSpec(node.adjoint or f"d{node.name}", node.body.shape), node.body.free)
            found.append(
                Layer(node.name, opaque(node.body), arriving, arriving.spec.name, _inputs(node.body, wrt, dependent))
            )
    return found


def _inputs(body: Expr, wrt: Tensor, dependent: set[Expr]) -> tuple[Tensor, ...]:
    """The opaque inputs of a layer that lead to ``wrt``, in order of appearance."""
    inputs: dict[TensorSpec, None] = {}
    for node in walk(body, enter=lambda n: not isinstance(n, Named)):
        if isinstance(node, Named) and node in dependent:
            inputs[_spec(node)] = None
        elif isinstance(node, Tensor) and node.spec == wrt.spec:
            inputs[wrt.spec] = None
    return tuple(bare(spec) for spec in inputs)


def backward(builder: Builder, start: Expr, wrt: Tensor, upstream: Expr | None) -> Expr:
    """Add the backward pass, layer by layer, to ``builder``; return the gradient as the layers assemble it.

    ``upstream`` is the gradient arriving at the output (``None``: the output is a scalar, and 1 arrives).
    """
    arriving = Const(1.0) if upstream is None else _aligned(upstream, start)
    contributions: dict[str, list[Expr]] = {}
    found = layers(start, wrt, arriving, builder.name)
    feeds = Counter(variable.spec.name for layer in found for variable in layer.inputs)
    for layer in found:
        if layer.name in contributions:  # (a named output has nothing arriving but its upstream gradient)
            _accumulate(builder, layer.name, contributions[layer.name], builder.loss)
        if len(found) > 1:
            shown = builder.show(layer.body)
            reason = layer_reason(
                layer.name, shown, builder.show(layer.upstream), builder.loss, [t.spec.name for t in layer.inputs]
            )
            builder.add("teaching", "layer", reason, builder.entry_label(layer.name, shown.free), after=shown)
        for variable in layer.inputs:
            contribution = _send(builder, layer, variable)
            if len(found) > 1:
                _read(
                    builder,
                    variable,
                    contribution,
                    entry(layer.name, builder.show(layer.body).free),
                    feeds[variable.spec.name],
                )
            contributions.setdefault(variable.spec.name, []).append(contribution)
    return _accumulate(builder, wrt.spec.name, contributions.get(wrt.spec.name, []), builder.loss)


def _aligned(upstream: Expr, start: Expr) -> Expr:
    """The upstream gradient written with the output's indices."""
    if upstream.shape != start.shape:
        return upstream  # vjp_raw reports the mismatch
    return rename(upstream, dict(zip(upstream.free, start.free, strict=True)))


def _send(builder: Builder, layer: Layer, variable: Tensor) -> Expr:
    """One layer's contribution to the gradient of one input: Jacobian, chain rule, rewrites, matrix form."""
    local = builder.forward(layer.body, variable, layer.name)
    kept = layer.body.rank

    def label(e: Expr) -> Label:
        return builder.partial(builder.loss, variable.spec.name, e, 0)

    shown_local = builder.show(local)
    target = entry(variable.spec.name, shown_local.free[kept:])
    reason = chain_reason(
        layer.name, builder.show(layer.body).free, builder.show(layer.upstream), builder.loss, target, shown_local
    )
    raw = _reverse(layer, variable)
    if layer.upstream == Const(1.0) and _same(raw, local):
        builder.add("teaching", "chain-rule", reason, label(shown_local), after=shown_local)
        result = local
    else:
        shown = builder.show(raw)
        notes = [reverse_note(variable.spec.name)] if any(isinstance(n, Delta) for n in walk(raw)) else []
        form, arriving = builder.matrix_of(shown_local), builder.matrix_of(builder.show(layer.upstream))
        if form is not None and arriving is not None and shown_local.rank == 2 and layer.body.rank == 1:
            notes.append(jacobian_note(f"∂{builder.loss}/∂{variable.spec.name}", arriving.text, form))
        if layer.adjoint is not None and any(isinstance(n, Tensor) and n.spec.name == layer.name for n in walk(raw)):
            notes.append(own_output_note(layer.name, builder.show(layer.body)))
        builder.add("teaching", "chain-rule", reason, label(shown), after=shown, notes=tuple(notes))
        simplified = builder.simplified(raw, label)
        result = builder.renamed(simplified, canonical(simplified), label)
    return result


def _reverse(layer: Layer, variable: Tensor) -> Expr:
    """The chain rule's contraction for one layer, by the library's reverse rules."""
    if layer.adjoint is None:
        return vjp_raw(layer.body, variable, layer.upstream)
    wrapped = Named(layer.name, layer.body, layer.body.free, layer.adjoint)
    return opaque(vjp_raw(wrapped, variable, layer.upstream))


def _same(raw: Expr, final: Expr) -> bool:
    """Whether ``raw`` simplifies to ``final`` up to the names of indices."""
    simplified = simplify(raw)
    if simplified.shape != final.shape:
        return False
    return canonical(rename(simplified, dict(zip(simplified.free, final.free, strict=True)))) == canonical(final)


def _read(builder: Builder, variable: Tensor, result: Expr, numerator: str, feeds: int) -> None:
    """The matrix form of what one layer sends to one input (which feeds ``feeds`` layers)."""
    shown = builder.show(result)
    label = builder.partial(builder.loss, variable.spec.name, shown, 0)
    form = builder.matrix_of(shown)
    what = f"{'its part of ' if feeds > 1 else ''}∂{builder.loss}/∂{variable.spec.name}"
    reason = f"What {numerator} sends back to {variable.spec.name}: {what}" + (
        f", read as matrix notation ({form.text})."
        if form is not None
        else "; it has no matrix form and stays in index notation."
    )
    builder.add(
        "teaching",
        "layer-gradient",
        reason,
        label,
        after=shown,
        matrix=form,
        notes=tuple(reading_notes(shown, form)) if form is not None else (),
    )


def _accumulate(builder: Builder, name: str, parts: Sequence[Expr], loss: str) -> Expr:
    """The gradient of ``name`` from its contributions: added when there are several."""
    assert parts, f"the backward pass reached no use of {name}"  # backward runs only where the output depends on it
    if len(parts) == 1:
        return parts[0]
    free = parts[0].free
    total = Add(tuple(rename(p, dict(zip(p.free, free, strict=True))) for p in parts), free)

    def label(e: Expr) -> Label:
        return builder.partial(loss, name, e, 0)

    shown = builder.show(total)
    builder.add("teaching", "accumulate", accumulate_reason(name, len(parts)), label(shown), after=shown)
    simplified = builder.simplified(total, label)
    return builder.renamed(simplified, canonical(simplified), label)
