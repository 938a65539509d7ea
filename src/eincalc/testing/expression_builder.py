"""The expression builder behind `problems()`: draws one random einsum graph bottom-up.

Each drawn sub-expression carries an interval that bounds its values (`Bounded`); `Builder` only
applies a function where it is smooth and finite on that whole interval, and falls back to the
argument where values could grow past ``1e3``.

>>> Bounded(Const(-3.0), -3.0, 2.0).magnitude
3.0
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from hypothesis import strategies as st

from ..core.expr import Expr
from ..core.indices import Index, TensorSpec
from ..core.names import rename
from ..core.nodes import Add, Apply, Const, Contract, Delta, Named, One, Size, Tensor, Zero
from ..core.traversal import walk
from ..ops.linalg import MatrixFunction
from ..ops.nn import LogSumExp, Softmax
from .reference_functions import REFERENCE_FUNCTIONS

DIMENSIONS: Mapping[str, str] = {"m": "ijkl", "n": "abce", "r": "uvwz"}
"""The dimension names problems use, each with the index names that stand for it."""

_MAGNITUDE = 1e3  # no drawn sub-expression exceeds this in absolute value
_MARGIN = 0.2  # log, sqrt and negative powers see arguments at least this far from zero


@dataclass(frozen=True)
class Options:
    """What `problems()` may draw: its options, with the name lists as tuples."""

    max_depth: int
    max_size: int
    max_tensors: int
    functions: tuple[str, ...]
    structured: tuple[str, ...]
    linalg: tuple[str, ...]
    named: bool


@dataclass(frozen=True)
class Bounded:
    """A drawn expression and an interval that contains every entry of its value."""

    expr: Expr
    lo: float
    hi: float

    @property
    def magnitude(self) -> float:
        return max(abs(self.lo), abs(self.hi))


def _product(a: tuple[float, float], b: tuple[float, float]) -> tuple[float, float]:
    corners = [x * y for x in a for y in b]
    return min(corners), max(corners)


class Builder:
    """Draws one expression bottom-up, tracking value intervals to stay in the safe range."""

    def __init__(
        self,
        draw: st.DrawFn,
        sizes: Mapping[str, int],
        specs: list[TensorSpec],
        positive: frozenset[str],
        options: Options,
    ) -> None:
        self.draw, self.sizes, self.specs, self.positive, self.options = draw, sizes, specs, positive, options
        self.built: list[Bounded] = []  # earlier sub-expressions, to share

    def index(self, dim: str) -> Index:
        return Index(self.draw(st.sampled_from(DIMENSIONS[dim][:3])), dim)

    def build(self, depth: int, top: bool = False) -> Bounded:
        """An expression nested at most ``depth`` operations deep (an operation, not a leaf, at the ``top``)."""
        kinds = ["leaf", "contract", "add", "apply", "structured", "linalg", "share", "negate"][top:]
        kinds = kinds if depth > 0 else ["leaf"]
        kind = self.draw(st.sampled_from(kinds))
        if kind == "contract":
            result = self.contract(depth)
        elif kind == "add":
            result = self.add(depth)
        elif kind == "apply" and self.options.functions:
            result = self.apply(self.build(depth - 1))
        elif kind == "structured" and self.options.structured:
            result = self.normalise(self.build(depth - 1))
        elif kind == "linalg" and self.options.linalg:
            result = self.matrix_function(self.build(depth - 1))
        elif kind == "share" and self.built:
            result = self.draw(st.sampled_from(self.built))
        elif kind == "negate":
            result = self.negated(self.build(depth - 1))
        else:
            result = self.leaf()
        if self.options.named and result.expr.children() and self.draw(st.integers(0, 3)) == 0:
            name = f"h{len(self.built)}"
            result = Bounded(Named(name, result.expr, result.expr.free, f"d{name}"), result.lo, result.hi)
        self.built.append(result)
        return result

    def leaf(self) -> Bounded:
        kind = self.draw(st.sampled_from(["tensor"] * 5 + ["const", "delta", "one", "size", "zero"]))
        dim = self.draw(st.sampled_from(list(DIMENSIONS)))
        if kind == "tensor":
            spec = self.draw(st.sampled_from(self.specs))
            interval = (0.5, 1.5) if spec.name in self.positive else (-1.0, 1.0)
            return Bounded(Tensor(spec, tuple(self.index(d) for d in spec.dims)), *interval)
        if kind == "const":
            value = self.draw(st.sampled_from([2.0, -1.0, 0.5, -3.0, 1.0]))
            return Bounded(Const(value), value, value)
        if kind == "delta":
            return Bounded(Delta(self.index(dim), self.index(dim)), 0.0, 1.0)
        if kind == "one":
            return Bounded(One(self.index(dim)), 1.0, 1.0)
        if kind == "size":
            return Bounded(Size(dim), self.sizes[dim], self.sizes[dim])
        indices = tuple(dict.fromkeys(self.index(self.draw(st.sampled_from(list(DIMENSIONS)))) for _ in range(2)))
        return Bounded(Zero(indices[: self.draw(st.integers(0, len(indices)))]), 0.0, 0.0)

    def contract(self, depth: int) -> Bounded:
        factors = [self.build(depth - 1) for _ in range(self.draw(st.integers(1, 3)))]
        present = list(dict.fromkeys(k for f in factors for k in f.expr.free))
        out = self.draw(st.permutations([k for k in present if self.draw(st.booleans())]))
        interval = (1.0, 1.0)
        for factor in factors:
            interval = _product(interval, (factor.lo, factor.hi))
        terms = math.prod(self.sizes[k.dim] for k in present if k not in out)
        return self.bounded(
            Contract(tuple(f.expr for f in factors), tuple(out)), interval[0] * terms, interval[1] * terms, factors[0]
        )

    def add(self, depth: int) -> Bounded:
        """A sum; a term after the first is sometimes subtracted, as ``x - (y + z)`` builds it."""
        terms = [self.build(depth - 1) for _ in range(self.draw(st.integers(2, 3)))]
        terms[1:] = [self.negated(t) if self.draw(st.booleans()) else t for t in terms[1:]]
        out = self.draw(st.permutations(list(dict.fromkeys(k for t in terms for k in t.expr.free))))
        return self.bounded(
            Add(tuple(t.expr for t in terms), tuple(out)), sum(t.lo for t in terms), sum(t.hi for t in terms), terms[0]
        )

    @staticmethod
    def negated(term: Bounded) -> Bounded:
        """``-term``, as the ``-`` operator builds it."""
        return Bounded(Contract((Const(-1.0), term.expr), term.expr.free), -term.hi, -term.lo)

    def apply(self, arg: Bounded) -> Bounded:
        parameters = [(fn, k) for fn in self.options.functions for k in _PARAMETERS.get(fn, (None,))]
        choices = [(fn, k) for fn, k in parameters if _allowed(fn, k, arg)]
        if not choices:
            return arg
        fn, k = self.draw(st.sampled_from(choices))
        corners = [arg.lo, arg.hi, *([0.0] if arg.lo < 0 < arg.hi else [])]
        with np.errstate(all="ignore"):
            images = [float(REFERENCE_FUNCTIONS[fn](np.float64(x), k)) for x in corners]
        lo, hi = (-1.0, 1.0) if fn in ("sin", "cos") else (min(images), max(images))
        return self.bounded(Apply(fn, arg.expr, k), lo, hi, arg)

    def normalise(self, arg: Bounded) -> Bounded:
        if not arg.expr.free:
            return arg
        axis = self.draw(st.sampled_from(arg.expr.free))
        fn = self.draw(st.sampled_from(self.options.structured))
        n, spread = self.sizes[axis.dim], arg.hi - arg.lo
        if fn == "logsumexp":
            return self.bounded(LogSumExp(arg.expr, axis), arg.lo + math.log(n), arg.hi + math.log(n), arg)
        # log softmax lies in [-log(1 + (n-1) e^spread), -log(1 + (n-1) e^-spread)]
        others = math.log(n - 1) if n > 1 else -math.inf
        lo, hi = (-float(np.logaddexp(0.0, others + s)) for s in (spread, -spread))
        if fn == "softmax":
            lo, hi = math.exp(lo), math.exp(hi)
        return self.bounded(Softmax(fn, arg.expr, axis), lo, hi, arg)

    def matrix_function(self, arg: Bounded) -> Bounded:
        """``inv``, ``det`` or ``logdet`` of ``c I + S``: ``S[i,j]`` sums ``arg`` over all but one or two of its
        indices of one dimension (``i`` on a tensor), spread along ``1[j]`` where it lacks ``j``;
        ``c = n |S|max + 1``."""
        free = arg.expr.free
        outside_bodies = walk(arg.expr, enter=lambda node: not isinstance(node, MatrixFunction))
        on_tensors = {k for sub in outside_bodies if isinstance(sub, Tensor) for k in sub.indices}
        pairs = [(p, q) for p in free for q in free if p != q and p.dim == q.dim and p in on_tensors]
        kept = self.draw(st.sampled_from(pairs)) if pairs else [k for k in free if k in on_tensors][:1]
        if not kept:  # text names the body's indices i, j: a tensor in it must give them their dimension
            return arg
        dim = kept[0].dim
        i, j = Index("i", dim), Index("j", dim)
        n = self.sizes[dim]
        summed = math.prod(self.sizes[k.dim] for k in free if k not in kept)
        part = rename(Contract((arg.expr,), tuple(kept)), dict(zip(kept, (i, j), strict=False)))
        square = Contract((part, *(One(k) for k in (i, j)[len(kept) :])), (i, j))
        largest = arg.magnitude * summed
        c = n * largest + 1.0
        body = Add((square, Contract((Const(c), Delta(i, j)), (i, j))), (i, j))
        fn = self.draw(st.sampled_from(self.options.linalg))
        row = c + n * largest  # a bound on every row's absolute sum
        if fn == "inv":
            labels = tuple(self.index(dim) for _ in range(2))
            return self.bounded(MatrixFunction("inv", body, labels), -1.0, 1.0, arg)
        if fn == "det":
            return self.bounded(MatrixFunction("det", body), 1.0, row**n, arg)
        return self.bounded(MatrixFunction("logdet", body), 0.0, n * math.log(row), arg)

    @staticmethod
    def bounded(expr: Expr, lo: float, hi: float, fallback: Bounded) -> Bounded:
        """``expr`` with its interval, or ``fallback`` when the values could grow too large."""
        result = Bounded(expr, lo, hi)
        return result if math.isfinite(result.magnitude) and result.magnitude <= _MAGNITUDE else fallback


_PARAMETERS: dict[str, tuple[float | None, ...]] = {"pow": (2.0, 3.0, -1.0, 0.5, -0.5)}


def _allowed(fn: str, k: float | None, arg: Bounded) -> bool:
    """Whether ``fn`` (with parameter ``k``) is smooth and finite on the whole interval of ``arg``."""
    positive = arg.lo >= _MARGIN
    if fn in ("log", "sqrt") or (fn == "pow" and k is not None and not float(k).is_integer()):
        return positive
    if fn == "pow" and k is not None and k < 0:
        return positive or arg.hi <= -_MARGIN
    if fn == "exp":
        return arg.hi <= 4.0
    return True
