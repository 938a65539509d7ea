"""The sentences of a derivation, each computed from the expressions it talks about.

Nothing here is a canned narrative: every sentence is filled from the index
structure it describes (which indices are summed, which factors carry them,
which delta collapsed which sum, which sum is an add gate). The notes on a
matrix form are in `eincalc.explain.matrix_notes`.

>>> from eincalc.frontend.build import tensors
>>> W, a = tensors("W[m,n] a[n]")
>>> print(index_form_reason(W @ a))
Write one entry of the output in index notation: the free index i names the entry, and j is summed \
(an index written twice in a product is summed).
"""

from __future__ import annotations

from collections.abc import Sequence

from ..core.expr import Expr
from ..core.indices import Index, TensorSpec
from ..core.nodes import Add, Const, Contract, Delta, Named, One, Tensor
from ..core.traversal import walk
from ..frontend.printing import line
from ..matrix.view import MatrixForm

ADD_GATE = "the add gate passes the upstream gradient through: local gradient 1"
"""How every explanation names the local gradient of a sum with respect to one of its addends."""


def names(indices: Sequence[Index]) -> str:
    """``i, j and k``."""
    words = [k.name for k in indices]
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def entry(name: str, indices: Sequence[Index]) -> str:
    """``z[i,j]`` (or ``z`` for a scalar)."""
    return f"{name}[{','.join(k.name for k in indices)}]" if indices else name


def shape_text(dims: Sequence[str]) -> str:
    """``m × n`` (or ``scalar``)."""
    return " × ".join(dims) if dims else "scalar"


def factor_text(factor: Expr) -> str:
    """A factor as text, in parentheses when it is a sum."""
    return f"({line(factor)})" if isinstance(factor, Add) else line(factor)


# -- the learner's steps ----------------------------------------------------------------------


def index_form_reason(expr: Expr) -> str:
    """Why one entry is written the way it is: which indices are free and which are summed."""
    own = walk(expr, enter=lambda node: not isinstance(node, Named))  # a definition's sums are its own
    summed = tuple({k.name: k for node in own for k in getattr(node, "summed", ())}.values())
    if not expr.free:
        if not summed:
            return "The output is a single number."
        return f"The output is a scalar: every index ({names(summed)}) is summed."
    one = len(expr.free) == 1
    free = f"the free {'index' if one else 'indices'} {names(expr.free)} name{'s' if one else ''}"
    if not summed:
        return f"Write one entry of the output in index notation: {free} the entry, and nothing is summed."
    verb = "is" if len(summed) == 1 else "are"
    return (
        f"Write one entry of the output in index notation: {free} the entry, and {names(summed)} "
        f"{verb} summed (an index written twice in a product is summed)."
    )


def layer_reason(name: str, body: Expr, upstream: Expr, loss: str, inputs: Sequence[str]) -> str:
    """What one layer computes, what gradient arrives at it, and which of its inputs it passes one on to."""
    output = entry(name, body.free)
    arriving = f"∂{loss}/∂{loss} = 1" if upstream == Const(1.0) else f"{line(upstream)} = ∂{loss}/∂{output}"
    return (
        f"Layer {output} = {line(body)}. The gradient arriving at it from above is {arriving}; it is sent "
        f"on to {', '.join(inputs)}."
    )


def differentiate_reason(expr: Expr, spec: TensorSpec, fresh: Sequence[Index]) -> str:
    """How one entry is differentiated: the delta rule, on the variable as it occurs in ``expr``."""
    occurrence = next((t for t in walk(expr) if isinstance(t, Tensor) and t.spec == spec), None)
    target = entry(spec.name, fresh)
    if not fresh:
        return (
            f"Differentiate with respect to {target}: ∂{target}/∂{target} = 1; the product and chain rules do the rest."
        )
    if occurrence is None:
        return (
            f"Differentiate one entry with respect to one entry {target}: {spec.name} does not occur, so every "
            "entry is 0."
        )
    deltas = " ".join(f"δ[{k},{p}]" for k, p in zip(occurrence.indices, fresh, strict=True))
    rule = f"∂{line(occurrence)}/∂{target} = {deltas} (1 where the indices agree, 0 elsewhere)"
    return (
        f"Differentiate one entry with respect to one entry {target}: {rule}; the product and chain rules do the rest."
    )


def jacobian_reason(jacobian: Expr, kept: int, of: str, variable: str) -> str:
    """The Jacobian's rank and shape, and how sparse its remaining deltas make it."""
    output, own = jacobian.free[:kept], jacobian.free[kept:]
    if not jacobian.free:
        return (
            f"The Jacobian ∂{of}/∂{variable} has rank 0 (a scalar): the derivative of the number {of} with "
            f"respect to the number {variable}."
        )
    if output and own:
        order = f"{of}'s {_index_word(output)} {names(output)} first, then {variable}'s {names(own)}"
    else:
        order = f"one entry per entry of {variable}" if own else f"one entry per entry of {of} ({variable} is a number)"
    sentence = f"The Jacobian ∂{of}/∂{variable} has rank {jacobian.rank} ({shape_text(jacobian.shape)}): {order}"
    ties = _delta_ties(jacobian, set(output), set(own))
    if ties:
        fraction = "·".join(k.dim for k, _ in ties)
        fraction = fraction if len(ties) == 1 else f"({fraction})"
        where = ", ".join(f"{i} = {p}" for i, p in ties)
        sentence += (
            f"; it is mostly zeros: an entry can be non-zero only where {where}, a fraction 1/{fraction} of them"
        )
    return sentence + "."


def _index_word(indices: Sequence[Index]) -> str:
    return "index" if len(indices) == 1 else "indices"


def _delta_ties(expr: Expr, output: set[Index], variable: set[Index]) -> list[tuple[Index, Index]]:
    """Deltas of a product (or a lone delta) joining an output index to a variable index (none for a sum)."""
    ties = []
    for factor in expr.factors if isinstance(expr, Contract) else (expr,):
        if isinstance(factor, Delta) and factor.i != factor.j:
            if factor.i in output and factor.j in variable:
                ties.append((factor.i, factor.j))
            elif factor.j in output and factor.i in variable:
                ties.append((factor.j, factor.i))
    return ties


def diagonal_reason(jacobian: Expr, kept: int) -> str | None:
    """For an entry-by-entry function: the Jacobian is diagonal (every output index tied to one input index)."""
    output, variable = jacobian.free[:kept], jacobian.free[kept:]
    ties = _delta_ties(jacobian, set(output), set(variable))
    if not output or len(ties) != len(output) or len(variable) != len(output) or is_local_one(jacobian):
        return None
    assert isinstance(jacobian, Contract)
    others = [f for f in jacobian.factors if not isinstance(f, Delta | Const)]
    if any(p in f.free for f in others for _, p in ties):
        return None
    values = " ".join(factor_text(f) for f in others)
    where = ", ".join(f"{i} = {p}" for i, p in ties)
    return (
        f"The Jacobian is diagonal: output entry {names(output)} depends only on input entry {names(variable)} "
        f"with {where} (the function acts entry by entry), and its diagonal is {values}; "
        "contracting a vector with a diagonal matrix multiplies entry by entry."
    )


def is_local_one(jacobian: Expr) -> bool:
    """Whether a Jacobian is 1, or only deltas and ones: the variable passes through unchanged."""
    factors = jacobian.factors if isinstance(jacobian, Contract) else (jacobian,)
    return all(isinstance(f, Delta | One) or (isinstance(f, Const) and f.value == 1.0) for f in factors)


def add_gates(body: Expr, spec: TensorSpec) -> list[Add]:
    """The sums in ``body`` that have the tensor ``spec`` itself as one of their addends."""
    return [
        node
        for node in walk(body)
        if isinstance(node, Add) and any(isinstance(t, Tensor) and t.spec == spec for t in node.terms)
    ]


def passing_gates(body: Expr, dependent: set[Expr]) -> list[tuple[Add, Expr]]:
    """The sums in ``body`` with exactly one addend in ``dependent`` (the sub-expressions that depend on the
    variable), and that addend: their derivative is a sum of one term."""
    found = []
    for node in walk(body):
        if isinstance(node, Add):
            addends = [t for t in node.terms if t in dependent]
            if len(addends) == 1:
                found.append((node, addends[0]))
    return found


def local_one_reason(jacobian: Expr, kept: int, of: str, body: Expr, spec: TensorSpec) -> str | None:
    """Why the Jacobian is only deltas: an add gate passes its gradient through (and a broadcast sums it)."""
    if not is_local_one(jacobian):
        return None
    gates = add_gates(body, spec)
    deltas = " (the Jacobian is only deltas)" if jacobian.free else ""
    if gates:
        sentence = f"{spec.name} is an addend of {line(gates[0])}, and {ADD_GATE}{deltas}"
    else:
        sentence = f"{spec.name} passes into {of} unchanged: local gradient 1{deltas}"
    output = jacobian.free[:kept]
    tied = {i for i, _ in _delta_ties(jacobian, set(output), set(jacobian.free[kept:]))}
    spread = [k for k in output if k not in tied]
    if spread:
        along = names(spread)
        sentence += (
            f"; the same {spec.name} is added for every {along} (broadcast), so its gradient sums the "
            f"upstream gradient over {along} — for a batch, the sum over the examples"
        )
    return sentence + "."


def chain_reason(of: str, output: Sequence[Index], upstream: Expr, loss: str, variable: str, jacobian: Expr) -> str:
    """The chain rule as a contraction over the output's indices (``variable`` is e.g. ``W[p,q]``)."""
    one = f" Here ∂{of}/∂{variable} is 1: {ADD_GATE}." if is_local_one(jacobian) else ""
    if upstream == Const(1.0):
        return (
            f"Chain rule from the output back (reverse mode): {of} is the output, so the gradient arriving at "
            f"it is ∂{loss}/∂{loss} = 1, and ∂{loss}/∂{variable} is the Jacobian itself.{one}"
        )
    if not output:
        return (
            f"Chain rule: ∂{loss}/∂{variable} = ∂{loss}/∂{of} ∂{of}/∂{variable}, the upstream gradient "
            f"{line(upstream)} times the Jacobian.{one}"
        )
    summed = ",".join(k.name for k in output)
    return (
        f"Chain rule: ∂{loss}/∂{variable} = Σ_{summed} ∂{loss}/∂{entry(of, output)} ∂{entry(of, output)}/∂"
        f"{variable}, the upstream gradient {line(upstream)} contracted with the Jacobian over {of}'s "
        f"{_index_word(output)} {names(output)}.{one}"
    )


def jacobian_note(gradient: str, upstream: str, jacobian: MatrixForm) -> str:
    """The chain rule in matrix notation: the transposed Jacobian times the upstream gradient (or, for rows,
    the upstream gradient times the Jacobian)."""
    if jacobian.rows:
        return (
            f"In matrix notation: {gradient} = {upstream} J with the Jacobian J = {jacobian.text}: a row vector "
            "times J, the sum running over J's rows (the output's index)."
        )
    return (
        f"In matrix notation: {gradient} = Jᵀ {upstream} with the Jacobian J = {jacobian.text}: the sum runs "
        "over J's rows (the output's index), so J enters transposed."
    )


def reverse_note(variable: str) -> str:
    """How reverse mode writes the contraction of the chain rule."""
    return (
        "Written as reverse mode builds it: the upstream gradient goes through the local derivatives first, "
        f"and the deltas of ∂{variable}/∂{variable} that pick the entry come last."
    )


def own_output_note(name: str, body: Expr) -> str:
    """Why a layer's own name appears in its local gradient (``σ′(z) = a (1 − a)``)."""
    return (
        f"{line(body)} is {entry(name, body.free)}, this layer's own output, so its local gradient is "
        f"written with {name}."
    )


def accumulate_reason(name: str, count: int) -> str:
    """Why the contributions to one gradient are added."""
    return (
        f"{name} feeds {count} places, so its gradient is the sum of the {count} contributions (chain rule for "
        "a sum of paths)."
    )


# -- recorded rewrites ------------------------------------------------------------------------


def rewrite_reason(rule: str, default: str, before: Expr, after: Expr, gates: Sequence[tuple[Expr, Expr]] = ()) -> str:
    """The reason for one recorded rewrite, read off the sub-expression it changed.

    ``gates`` are the sums being differentiated that have one addend depending on the variable (and that
    addend): a sum of one term in their derivative is an add gate passing its gradient through.
    """
    if rule == "single-term" and isinstance(before, Add) and len(before.terms) == 1 and gates:
        if len(gates) == 1:
            gate, addend = gates[0]
            return f"Of the addends of {line(gate)} only {line(addend)} depends on the variable, and {ADD_GATE}."
        return f"Only one addend of this sum depends on the variable, and {ADD_GATE}."
    specific = {"delta-elimination": _delta_reason, "simplex-sum": _simplex_reason}.get(rule)
    return (specific(before, after) if specific else None) or default


def _delta_reason(before: Expr, after: Expr) -> str | None:
    """Which delta collapsed which sum."""
    if not isinstance(before, Contract):
        return None
    summed = set(before.summed)
    remaining = [f for f in (after.factors if isinstance(after, Contract) else (after,)) if isinstance(f, Delta)]
    for delta in before.factors:
        if not isinstance(delta, Delta) or delta in remaining:
            continue
        if delta.i == delta.j:
            if delta.i in summed:
                return f"δ[{delta.i},{delta.i}] summed over {delta.i} counts the entries: the size {delta.i.dim}."
            return f"δ[{delta.i},{delta.i}] = 1: its two indices agree."
        if delta.i not in summed and delta.j not in summed:
            continue
        drop, keep = (delta.j, delta.i) if delta.j in summed else (delta.i, delta.j)
        return (
            f"δ[{delta.i},{delta.j}] meets the sum over {drop}: only the term {drop} = {keep} survives, so the "
            f"sum collapses and {drop} becomes {keep} in the other factors."
        )
    return None


def _simplex_reason(before: Expr, after: Expr) -> str | None:
    if not isinstance(before, Contract):
        return None
    for factor in before.factors:
        if (
            isinstance(factor, Tensor)
            and factor.spec.simplex
            and factor.indices[-1:]
            and factor.indices[-1] in set(before.summed)
        ):
            return f"{factor.spec.name} is declared to sum to one (labels): Σ_{factor.indices[-1]} {line(factor)} = 1."
    return None
