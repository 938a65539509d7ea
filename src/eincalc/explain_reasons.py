"""The sentences of a derivation, each computed from the expressions it talks about.

Nothing here is a canned narrative: every sentence is filled from the index
structure it describes (which indices are summed, which factors carry them,
which deltas remain), and the notes on a matrix form are written only for the
constructs that actually occur in its tree (a transpose, an outer product, a
Hadamard product…).

>>> from eincalc.build import tensors
>>> from eincalc.matrix import to_matrix
>>> W, g = tensors("W[m,n] g[m]")
>>> from eincalc.diff import vjp
>>> a, = tensors("a[n]")
>>> result = vjp(W @ a, a, g)
>>> print(reading_notes(result, to_matrix(result))[-1])
Wᵀ: in W[i,p] the row index i is summed with g[i] and the column index p is the result's index; \
in a matrix product a summed index is the column of the factor on its left and the row of the factor \
on its right, with the result's indices at the outer ends, so W is used with its indices swapped: transposed.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import fields

from .expr import Add, Const, Contract, Delta, Expr, Index, Named, One, Tensor, TensorSpec, walk
from .matrix import MatrixForm
from .matrix_render import to_text as matrix_text
from .matrix_tree import Diag, Hadamard, Identity, Intermediate, MatMul, MatrixExpr, Outer, Sum, Symbol, Transpose
from .names import bound_indices
from .printing import to_text


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


# -- the learner's steps ----------------------------------------------------------------------


def index_form_reason(expr: Expr) -> str:
    """Why one entry is written the way it is: which indices are free and which are summed."""
    summed = tuple({k.name: k for k in bound_indices(expr)}.values())
    if not expr.free:
        if not summed:
            return "The output is a single number."
        return f"The output is a scalar: every index ({names(summed)}) is summed."
    one = len(expr.free) == 1
    free = f"the free {'index' if one else 'indices'} {names(expr.free)} name{'s' if one else ''}"
    if not summed:
        return f"Write one entry of the output in index notation: {free} the entry, and nothing is summed."
    verb = "is" if len(summed) == 1 else "are"
    return (f"Write one entry of the output in index notation: {free} the entry, and {names(summed)} "
            f"{verb} summed (an index written twice in a product is summed).")


def differentiate_reason(expr: Expr, spec: TensorSpec, fresh: Sequence[Index]) -> str:
    """How one entry is differentiated: the delta rule, on the variable as it occurs in ``expr``."""
    occurrence = next((t for t in walk(expr) if isinstance(t, Tensor) and t.spec == spec), None)
    target = entry(spec.name, fresh)
    if not fresh:
        return f"Differentiate with respect to {target}: ∂{target}/∂{target} = 1; the product and chain rules do " \
               "the rest."
    if occurrence is None:
        rule = f"{spec.name} does not occur, so every entry is 0"
    else:
        deltas = " ".join(f"δ[{k},{p}]" for k, p in zip(occurrence.indices, fresh, strict=True))
        rule = f"∂{to_text(occurrence)}/∂{target} = {deltas} (1 where the indices agree, 0 elsewhere)"
    return f"Differentiate one entry with respect to one entry {target}: {rule}; the product and chain rules do " \
           "the rest."


def jacobian_reason(jacobian: Expr, kept: int, of: str, spec: TensorSpec) -> str:
    """The Jacobian's rank and shape, and how sparse its remaining deltas make it."""
    output, variable = jacobian.free[:kept], jacobian.free[kept:]
    if not jacobian.free:
        return f"The derivative of the number {of} with respect to the number {spec.name} is a number."
    order = f"{of}'s {_index_word(output)} {names(output)} first, then {spec.name}'s {names(variable)}" if output \
        else f"one entry per entry of {spec.name}"
    sentence = f"The Jacobian has rank {jacobian.rank} ({shape_text(jacobian.shape)}): {order}"
    ties = _delta_ties(jacobian, set(output), set(variable))
    if ties:
        fraction = "·".join(k.dim for k, _ in ties)
        fraction = fraction if len(ties) == 1 else f"({fraction})"
        where = ", ".join(f"{i} = {p}" for i, p in ties)
        sentence += f"; it is mostly zeros: an entry can be non-zero only where {where}, a fraction 1/{fraction} " \
                    "of them"
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
    if not output or len(ties) != len(output) or len(variable) != len(output) or _is_local_one(jacobian):
        return None
    assert isinstance(jacobian, Contract)
    others = [f for f in jacobian.factors if not isinstance(f, Delta | Const)]
    if any(p in f.free for f in others for _, p in ties):
        return None
    values = " ".join(factor_text(f) for f in others)
    where = ", ".join(f"{i} = {p}" for i, p in ties)
    return (f"The Jacobian is diagonal: output entry {names(output)} depends only on input entry {names(variable)} "
            f"with {where} (the function acts entry by entry), and its diagonal is {values}; "
            "contracting a vector with a diagonal matrix multiplies entry by entry.")


def factor_text(factor: Expr) -> str:
    """A factor as text, in parentheses when it is a sum."""
    return f"({to_text(factor)})" if isinstance(factor, Add) else to_text(factor)


def _is_local_one(jacobian: Expr) -> bool:
    factors = jacobian.factors if isinstance(jacobian, Contract) else (jacobian,)
    return all(isinstance(f, Delta | One) or (isinstance(f, Const) and f.value == 1.0) for f in factors)


def bias_reason(jacobian: Expr, kept: int, of: str, spec: TensorSpec) -> str | None:
    """When the variable enters by addition: its local gradient is 1 (and a broadcast sums over the batch)."""
    if not _is_local_one(jacobian):
        return None
    output = jacobian.free[:kept]
    tied = {i for i, _ in _delta_ties(jacobian, set(output), set(jacobian.free[kept:]))}
    spread = [k for k in output if k not in tied]
    sentence = f"{spec.name} enters {of} by addition, so its local gradient is 1 (the Jacobian is only deltas)"
    if spread:
        along = names(spread)
        sentence += (f"; the same {spec.name} is added for every {along} (broadcast), so its gradient sums the "
                     f"upstream gradient over {along} — for a batch, the sum over the examples")
    return sentence + "."


def chain_reason(of: str, output: Sequence[Index], upstream: Expr, loss: str, variable: str) -> str:
    """The chain rule as a contraction over the output's indices (``variable`` is e.g. ``W[p,q]``)."""
    if not output:
        return f"Chain rule: ∂{loss}/∂{variable} is the upstream gradient {to_text(upstream)} = ∂{loss}/∂{of} " \
               f"times ∂{of}/∂{variable}."
    return (f"Chain rule: ∂{loss}/∂{variable} = Σ_{','.join(k.name for k in output)} ∂{loss}/∂{entry(of, output)} "
            f"∂{entry(of, output)}/∂{variable}, the upstream gradient {to_text(upstream)} contracted with the "
            f"Jacobian over {of}'s {_index_word(output)} {names(output)}.")


def delta_note(before: Expr, after: Expr) -> str | None:
    """Which delta collapsed which sum, read off a recorded delta elimination."""
    if not isinstance(before, Contract):
        return None
    summed = set(before.summed)
    gone = [f for f in before.factors if isinstance(f, Delta) and (f.i in summed or f.j in summed or f.i == f.j)]
    remaining = [f for f in (after.factors if isinstance(after, Contract) else (after,)) if isinstance(f, Delta)]
    for delta in gone:
        if delta in remaining:
            continue
        if delta.i == delta.j:
            return f"Here δ[{delta.i},{delta.i}] summed over {delta.i} counts the entries: the size {delta.i.dim}."
        drop, keep = (delta.j, delta.i) if delta.j in summed else (delta.i, delta.j)
        return (f"Here δ[{delta.i},{delta.j}] meets the sum over {drop}: only {drop} = {keep} survives, "
                f"so {drop} becomes {keep} in the other factors.")
    return None


# -- reading the matrix form ------------------------------------------------------------------


def reading_notes(expr: Expr, form: MatrixForm) -> list[str]:
    """Why the matrix form looks as it does: one note per construct that occurs in it."""
    tree = list(_tree(form.tree))
    kinds = {type(node) for node in tree}
    notes: list[str] = []
    for product in _products(expr):
        reader = _ProductReader(product, expr.free)
        if MatMul in kinds:
            notes += reader.chain()
        notes += [reader.transposed(node.child) for node in tree if isinstance(node, Transpose)
                  if isinstance(node.child, Symbol | Intermediate) and node.child.kind == "matrix"]
        if Outer in kinds:
            notes += reader.outer()
        if Hadamard in kinds:
            notes += reader.hadamard()
        if Sum in kinds:
            notes += reader.sums()
    if isinstance(expr, Add):
        notes += _broadcasts(expr)
    if Diag in kinds:
        notes.append("A delta joining two free indices, times a vector on one of them, is a diagonal matrix: diag(·).")
    if Identity in kinds:
        notes.append("A delta with both indices free is the identity matrix I.")
    return [n for n in dict.fromkeys(notes) if n]


def _tree(node: MatrixExpr) -> Iterator[MatrixExpr]:
    """Every node of a matrix tree that its text shows (a named intermediate's body is not shown)."""
    yield node
    if isinstance(node, Intermediate):
        return
    for item in fields(node):  # type: ignore[arg-type]
        value = getattr(node, item.name)
        for child in value if isinstance(value, tuple) else (value,):
            if isinstance(child, MatrixExpr):
                yield from _tree(child)


def _products(expr: Expr) -> list[Contract]:
    terms = expr.terms if isinstance(expr, Add) else (expr,)
    return [t for t in terms if isinstance(t, Contract)]


def _broadcasts(expr: Add) -> list[str]:
    notes = []
    for term in expr.terms:
        missing = [k for k in expr.out if k not in term.free]
        if missing and term.free:
            notes.append(f"{to_text(term)} has no index {names(missing)}: it is the same for every {names(missing)} "
                         "and is repeated along it (broadcast).")
    return notes


class _ProductReader:
    """Facts about one product: which factors carry which index, and what each index is for."""

    def __init__(self, product: Contract, result: tuple[Index, ...]) -> None:
        self.product = product
        self.result = result
        self.factors = [f for f in product.factors if not isinstance(f, Const) and f.free]
        self.summed = set(product.summed)

    def carriers(self, index: Index, besides: Expr | None = None) -> list[Expr]:
        return [f for f in self.factors if index in f.free and f is not besides]

    def role(self, index: Index, owner: Expr) -> str:
        if index in self.summed:
            others = self.carriers(index, owner)
            return f"summed with {' and '.join(to_text(f) for f in others)}" if others else "summed"
        if index in self.result:
            if len(self.result) == 2:
                return f"the result's {('row', 'column')[self.result.index(index)]} index"
            return "the result's index"
        return "a free index"

    def transposed(self, node: Symbol | Intermediate) -> str:
        name = node.name
        found = [f for f in self.factors if isinstance(f, Tensor | Named) and _name(f) == name and f.rank == 2]
        if len(found) != 1:
            return ""
        factor = found[0]
        row, col = factor.free
        if row in self.summed and len(self.carriers(row)) == 1:
            return ""  # a plain sum over rows, explained by the sum note
        shown = matrix_text(node)
        if row not in self.summed and col not in self.summed:
            return (f"{shown}ᵀ: in {to_text(factor)} the row index {row} is {self.role(row, factor)} and the column "
                    f"index {col} is {self.role(col, factor)}: {shown} with its indices swapped, its transpose.")
        return (f"{shown}ᵀ: in {to_text(factor)} the row index {row} is {self.role(row, factor)} and the column "
                f"index {col} is {self.role(col, factor)}; in a matrix product a summed index is the column of "
                "the factor on its left and the row of the factor on its right, with the result's indices at the "
                f"outer ends, so {shown} is used with its indices swapped: transposed.")

    def chain(self) -> list[str]:
        joined = [k for k in self.summed if len(self.carriers(k)) == 2]
        notes = []
        for k in joined:
            left, right = self.carriers(k)
            notes.append(f"{k} is summed between {to_text(left)} and {to_text(right)}: a matrix product, which sums "
                         "the column index of its left factor against the row index of its right factor.")
        if joined and len(self.result) == 2:
            row, col = self.result
            first, last = self.carriers(row), self.carriers(col)
            if len(first) == 1 and len(last) == 1 and first[0] is not last[0]:
                notes.append(f"{to_text(first[0])} carries the result's row index {row}, so it stands on the left; "
                             f"{to_text(last[0])} carries the column index {col}, so it stands on the right.")
        return notes

    def outer(self) -> list[str]:
        if len(self.result) != 2:
            return []
        row, col = self.result
        rows, cols = self.carriers(row), self.carriers(col)
        if not rows or not cols or {id(f) for f in rows} & {id(f) for f in cols}:
            return []
        left = " ".join(to_text(f) for f in rows)
        right = " ".join(to_text(f) for f in cols)
        return [f"No summed index joins {left} (row index {row}) and {right} (column index {col}): entry [{row},{col}] "
                f"is a plain product, the outer product of a column and a row, with the factor carrying the row "
                f"index {row} on the left."]

    def hadamard(self) -> list[str]:
        notes = []
        for k in self.product.out:
            shared = [f for f in self.carriers(k) if not isinstance(f, Delta)]
            if len(shared) >= 2:
                notes.append(f"{k} is on {' and '.join(factor_text(f) for f in shared)} and is not summed, so they "
                             "multiply entry by entry: the Hadamard product ⊙.")
        return notes

    def sums(self) -> list[str]:
        return [f"{k} is summed on {to_text(self.carriers(k)[0])} alone: a sum along that axis, written with the "
                "vector of ones 1." for k in self.summed if len(self.carriers(k)) == 1]


def _name(factor: Tensor | Named) -> str:
    return factor.spec.name if isinstance(factor, Tensor) else factor.name
