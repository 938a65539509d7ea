"""The sentences of a derivation, each computed from the expressions it talks about.

Nothing here is a canned narrative: every sentence is filled from the index
structure it describes (which indices are summed, which factors carry them,
which delta collapsed which sum, which sum is an add gate), and the notes on a
matrix form are written only for the constructs its printed text shows outside
function arguments (a transpose, an outer product, a Hadamard product…).

>>> from eincalc.frontend.build import tensors
>>> from eincalc.matrix.view import to_matrix
>>> from eincalc.calculus.diff import vjp
>>> W, a, g = tensors("W[m,n] a[n] g[m]")
>>> result = vjp(W @ a, a, g)
>>> print(reading_notes(result, to_matrix(result))[-1])
Wᵀ: in W[i,p] the row index i is summed with g[i] and the column index p is the result's index; \
in a matrix product a summed index is the column of the factor on its left and the row of the factor \
on its right, with the result's indices at the outer ends, so W is used with its indices swapped: transposed.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Iterator, Sequence

from ..core.expr import Add, Const, Contract, Delta, Expr, Index, Named, One, Tensor, TensorSpec, walk
from ..frontend.printing import line
from ..matrix.render import to_text as matrix_text
from ..matrix.tree import (
    Call,
    Diag,
    DiagPart,
    Function,
    Hadamard,
    Identity,
    Inner,
    Intermediate,
    MatMul,
    MatrixExpr,
    Outer,
    Scale,
    Sum,
    Symbol,
    Trace,
    Transpose,
)
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


# -- reading the matrix form ------------------------------------------------------------------


def reading_notes(expr: Expr, form: MatrixForm) -> list[str]:
    """Why the matrix form looks as it does: one note per construct its printed text shows.

    Only the *surface* of the printed form counts: what stands outside the
    arguments of functions (``σ(Wᵀ a)`` uses ``Wᵀ`` inside ``σ``, which says
    nothing about a product around it).
    """
    surface = list(_surface(form.tree))
    kinds = {type(node) for node in surface}
    products = _products(expr)
    notes: list[str] = []
    for product in products:
        reader = _ProductReader(product, expr.free)
        if MatMul in kinds:
            notes += reader.chain()
            notes.append(reader.order(form))
        if Outer in kinds:
            notes += reader.outer()
        if Hadamard in kinds:
            notes += reader.hadamard()
        if Sum in kinds:
            notes += reader.sums()
    notes += _transpose_notes(surface, products, expr.free)
    if isinstance(expr, Add):
        notes += _broadcasts(expr)
        notes.append(_prediction_minus_label(expr))
    if Diag in kinds:
        notes.append("A delta joining two free indices, times a vector on one of them, is a diagonal matrix: diag(·).")
    if Identity in kinds:
        notes.append("A delta with both indices free is the identity matrix I.")
    return [n for n in dict.fromkeys(notes) if n]


def inline_names(node: MatrixExpr, names_: Collection[str]) -> MatrixExpr:
    """The matrix tree with the named intermediates ``names_`` replaced by their definitions."""
    if isinstance(node, Intermediate) and node.name in names_:
        return inline_names(node.body, names_)
    changes: dict[str, object] = {}
    for item in dataclasses.fields(node):  # type: ignore[arg-type]
        value = getattr(node, item.name)
        if not item.init:
            continue
        if isinstance(value, MatrixExpr):
            changes[item.name] = inline_names(value, names_)
        elif isinstance(value, tuple) and value and all(isinstance(v, MatrixExpr) for v in value):
            changes[item.name] = tuple(inline_names(v, names_) for v in value)
    return dataclasses.replace(node, **changes)  # type: ignore[type-var]


def _children(node: MatrixExpr) -> Iterator[MatrixExpr]:
    for item in dataclasses.fields(node):  # type: ignore[arg-type]
        value = getattr(node, item.name)
        for child in value if isinstance(value, tuple) else (value,):
            if isinstance(child, MatrixExpr):
                yield child


def _surface(node: MatrixExpr) -> Iterator[MatrixExpr]:
    """The nodes of a matrix tree that its text shows outside function arguments and named intermediates.

    ``diag(·)``, ``tr(·)`` are functions too: in ``diag(dh₆ᵀ B) v`` the product inside ``diag`` is not the
    product around it, so a note on how ``dh₆`` stands in the result's product would be false.
    """
    yield node
    if isinstance(node, Intermediate | Function | Call | Diag | DiagPart | Trace | Inner):
        return
    for child in _children(node):
        yield from _surface(child)


def _symbols(nodes: list[MatrixExpr], name: str) -> list[MatrixExpr]:
    return [n for n in nodes if isinstance(n, Symbol | Intermediate) and n.name == name]


def _transpose_notes(surface: list[MatrixExpr], products: list[Contract], result: tuple[Index, ...]) -> list[str]:
    """``Wᵀ: …`` for a matrix the printed form shows transposed, once, in the one product that holds it."""
    notes = []
    for node in surface:
        if not isinstance(node, Transpose) or not isinstance(node.child, Symbol | Intermediate):
            continue
        child = node.child
        if child.kind != "matrix" or getattr(child, "symmetric", False) or len(_symbols(surface, child.name)) != 1:
            continue
        holders = [p for p in products if len(_ProductReader(p, result).named(child.name)) == 1]
        if len(holders) == 1:
            notes.append(_ProductReader(holders[0], result).transposed(child))
    return notes


def _products(expr: Expr) -> list[Contract]:
    terms = expr.terms if isinstance(expr, Add) else (expr,)
    return [t for t in terms if isinstance(t, Contract)]


def _broadcasts(expr: Add) -> list[str]:
    notes = []
    for term in expr.terms:
        missing = [k for k in expr.out if k not in term.free]
        if missing and term.free:
            notes.append(
                f"{line(term)} has no index {names(missing)}: it is the same for every {names(missing)} "
                "and is repeated along it (broadcast)."
            )
    return notes


def _prediction_minus_label(expr: Add) -> str:
    """``softmax(θ) − y`` is the prediction ŷ minus the label y."""
    if len(expr.terms) != 2:
        return ""
    labels = [
        t
        for t in expr.terms
        if isinstance(t, Contract)
        and len(t.factors) == 2
        and t.factors[0] == Const(-1.0)
        and isinstance(t.factors[1], Tensor)
        and t.factors[1].spec.simplex
    ]
    predictions = [t for t in expr.terms if getattr(t, "fn", None) == "softmax"]
    if len(labels) != 1 or len(predictions) != 1:
        return ""
    label = labels[0].factors[1]
    assert isinstance(label, Tensor)
    return (
        f"{line(predictions[0])} is the predicted distribution ŷ, so this is ŷ − {label.spec.name}: "
        "the prediction minus the label."
    )


class _ProductReader:
    """Facts about one product: which factors carry which index, and what each index is for."""

    def __init__(self, product: Contract, result: tuple[Index, ...]) -> None:
        self.product = product
        self.result = result
        self.factors = [f for f in product.factors if not isinstance(f, Const) and f.free]
        self.summed = set(product.summed)

    def carriers(self, index: Index, besides: Expr | None = None) -> list[Expr]:
        return [f for f in self.factors if index in f.free and f is not besides]

    def named(self, name: str) -> list[Expr]:
        """The rank-2 factors called ``name``."""
        return [f for f in self.factors if isinstance(f, Tensor | Named) and _name(f) == name and f.rank == 2]

    def role(self, index: Index, owner: Expr) -> str:
        if index in self.summed:
            others = self.carriers(index, owner)
            return f"summed with {' and '.join(line(f) for f in others)}" if others else "summed"
        if index in self.result:
            if len(self.result) == 2:
                return f"the result's {('row', 'column')[self.result.index(index)]} index"
            return "the result's index"
        return "a free index"

    def transposed(self, node: Symbol | Intermediate) -> str:
        factor = self.named(node.name)[0]
        row, col = factor.free
        if row in self.summed and len(self.carriers(row)) == 1:
            return ""  # a plain sum over rows, explained by the sum note
        shown = matrix_text(node)
        if row not in self.summed and col not in self.summed:
            return (
                f"{shown}ᵀ: in {line(factor)} the row index {row} is {self.role(row, factor)} and the column "
                f"index {col} is {self.role(col, factor)}: {shown} with its indices swapped, its transpose."
            )
        return (
            f"{shown}ᵀ: in {line(factor)} the row index {row} is {self.role(row, factor)} and the column "
            f"index {col} is {self.role(col, factor)}; in a matrix product a summed index is the column of "
            "the factor on its left and the row of the factor on its right, with the result's indices at the "
            f"outer ends, so {shown} is used with its indices swapped: transposed."
        )

    def chain(self) -> list[str]:
        joined = [k for k in self.product.summed if len(self.carriers(k)) == 2]
        notes = []
        for k in joined:
            left, right = self.carriers(k)
            notes.append(
                f"{k} is summed between {line(left)} and {line(right)}: a matrix product, which sums "
                "the column index of its left factor against the row index of its right factor."
            )
        if joined and len(self.result) == 2:
            row, col = self.result
            first, last = self.carriers(row), self.carriers(col)
            if len(first) == 1 and len(last) == 1 and first[0] is not last[0]:
                notes.append(
                    f"{line(first[0])} carries the result's row index {row}, so it stands on the left; "
                    f"{line(last[0])} carries the column index {col}, so it stands on the right."
                )
        return notes

    def order(self, form: MatrixForm) -> str:
        """Why a matrix times a vector stands in its order: the factor carrying the result's index goes outside."""
        if len(self.result) != 1:
            return ""
        (index,) = self.result
        carriers = [f for f in self.carriers(index) if isinstance(f, Tensor | Named) and f.rank == 2]
        top = form.tree.child if isinstance(form.tree, Scale) else form.tree
        if len(carriers) != 1 or not isinstance(top, MatMul):
            return ""
        carrier = carriers[0]
        ends = [_base_name(top.factors[0]), _base_name(top.factors[-1])]
        side = "right" if form.rows else "left"
        if ends[1 if form.rows else 0] != _name(carrier):
            return ""
        vector = (
            "a row vector times a matrix is a row, indexed by the matrix's column"
            if form.rows
            else "a matrix times a column vector is a column, indexed by the matrix's row"
        )
        return (
            f"{line(carrier)} carries the result's index {index}, so it stands on the {side}: {vector}, "
            f"and the summed index sits between the factors."
        )

    def outer(self) -> list[str]:
        if len(self.result) != 2:
            return []
        row, col = self.result
        rows, cols = self.carriers(row), self.carriers(col)
        if not rows or not cols or {id(f) for f in rows} & {id(f) for f in cols}:
            return []
        left = " ".join(factor_text(f) for f in rows)
        right = " ".join(factor_text(f) for f in cols)
        return [
            f"No summed index joins {left} (row index {row}) and {right} (column index {col}): entry [{row},{col}] "
            f"is a plain product, the outer product of a column and a row, with the factor carrying the row "
            f"index {row} on the left."
        ]

    def hadamard(self) -> list[str]:
        notes = []
        for k in self.product.out:
            shared = [f for f in self.carriers(k) if not isinstance(f, Delta)]
            if len(shared) >= 2:
                notes.append(
                    f"{k} is on {' and '.join(factor_text(f) for f in shared)} and is not summed, so they "
                    "multiply entry by entry: the Hadamard product ⊙."
                )
        for k in self.product.summed:
            alone = [f for f in self.carriers(k) if f.free == (k,)]
            others = [f for f in self.carriers(k) if f.free != (k,)]
            if len(alone) >= 2 and len(others) == 1:
                notes.append(
                    f"{' and '.join(factor_text(f) for f in alone)} carry only {k}, so they multiply "
                    f"entry by entry (the Hadamard product ⊙) before {k} is summed against "
                    f"{line(others[0])}."
                )
        return notes

    def sums(self) -> list[str]:
        return [
            f"{k} is summed on {line(self.carriers(k)[0])} alone: a sum along that axis, written with the "
            "vector of ones 1."
            for k in self.product.summed
            if len(self.carriers(k)) == 1
        ]


def _base_name(node: MatrixExpr) -> str | None:
    """The symbol a factor of a printed product shows (through a transpose)."""
    node = node.child if isinstance(node, Transpose) else node
    return node.name if isinstance(node, Symbol | Intermediate) else None


def _name(factor: Tensor | Named) -> str:
    return factor.spec.name if isinstance(factor, Tensor) else factor.name
