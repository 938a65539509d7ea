"""Hypothesis strategies for random well-formed expressions with matching arrays, and independent oracles.

This module needs `hypothesis <https://hypothesis.readthedocs.io>`_
(``pip install "eincalc[test]"``); ``import eincalc`` never imports it.  Use it
to test your own derivations, rules and node kinds the way eincalc tests itself.

`problems()` draws a `Problem`: dimension sizes, an index-form
expression over declared tensors and the arrays to evaluate it on.  Expressions
are random einsum graphs: contractions with random index structure (inner,
outer and Hadamard products, transposes, sums over one factor), diagonals
(``A[i,i]``) and traces, broadcasting sums, negations and differences
(``x - (y + z)``), Kronecker deltas, constants, element-wise functions, the
structured functions ``softmax``, ``log_softmax`` and ``logsumexp``, and
``inv``, ``det`` and ``logdet``.  Every
drawn expression is kept in a safe range: each sub-expression carries an
interval that bounds its values, so ``log``, ``sqrt`` and negative powers only
see arguments bounded away from zero, ``exp`` never overflows, matrix functions
see strictly diagonally dominant matrices, and kinked functions (``relu``,
``abs``) are kept away from their kinks, where finite differences are meaningless.

Oracles that share no code with the evaluator or the differentiator:
`reference_value()` (a walk over the IR calling `numpy.einsum()`),
`finite_difference_jacobian()`, and `jax_jacobian()` and
`torch_jacobian()` where those frameworks are installed.

>>> import numpy as np
>>> from hypothesis import given, settings
>>> @settings(max_examples=20, deadline=None)
... @given(problems(max_depth=2))
... def test_value(problem):
...     expected = reference_value(problem.expr, problem.values, problem.sizes)
...     np.testing.assert_allclose(problem.evaluate(), expected, rtol=1e-9, atol=1e-12)
>>> test_value()
"""

from __future__ import annotations

import math
import string
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from hypothesis import assume
from hypothesis import strategies as st

from ..core.errors import UnsupportedError
from ..core.expr import (
    Add,
    Apply,
    Const,
    Contract,
    Delta,
    Expr,
    Index,
    Named,
    One,
    Size,
    Tensor,
    TensorSpec,
    Zero,
    walk,
)
from ..core.expr import postorder as _postorder
from ..core.names import rename
from ..frontend.build import bare
from ..numeric.evaluate import compile
from ..ops.linalg import MatrixFunction
from ..ops.nn import LogSumExp, Softmax

DIMENSIONS: Mapping[str, str] = {"m": "ijkl", "n": "abce", "r": "uvwz"}
"""The dimension names problems use, each with the index names that stand for it."""
ELEMENTWISE = ("sigmoid", "tanh", "exp", "log", "sqrt", "softplus", "sin", "cos", "pow", "relu", "abs")
"""Element-wise functions `problems()` applies (``pow`` with exponents 2, 3, -1, 0.5, -0.5)."""
STRUCTURED = ("softmax", "log_softmax", "logsumexp")
"""Structured functions `problems()` applies along one index."""
LINALG = ("inv", "det", "logdet")
"""Matrix functions `problems()` applies, to matrices kept well away from singular."""
KINKED = ("relu", "abs", "step", "sign")
"""Functions with a point where the derivative jumps; drawn arguments stay away from it."""

_MAGNITUDE = 1e3  # no drawn sub-expression exceeds this in absolute value
_MARGIN = 0.2  # log, sqrt and negative powers see arguments at least this far from zero
_KINK_CLEARANCE = 1e-3  # kinked functions see arguments at least this far from their kink


# -- problems -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    """An expression with the sizes and arrays to evaluate it on.

    ``values`` has one float64 array per tensor of ``expr``; tensors named in
    ``positive`` have entries in (0.5, 1.5), the others in (-1, 1).  ``seed``
    makes every further random array (`upstream()`) reproducible.
    """

    expr: Expr
    sizes: Mapping[str, int]
    values: Mapping[str, np.ndarray]
    positive: frozenset[str] = frozenset()
    seed: int = 0
    _compiled: dict[Expr, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def tensors(self) -> tuple[Tensor, ...]:
        """The declared tensors of ``expr`` (matrix style, as `eincalc.tensors()` returns them)."""
        specs = {sub.spec: None for sub in walk(self.expr) if isinstance(sub, Tensor)}
        return tuple(bare(spec) for spec in sorted(specs, key=lambda s: s.name))

    def declarations(self) -> tuple[Tensor | Index, ...]:
        """What `eincalc.parse()` needs to read ``str(expr)`` back: the tensors and the free indices (and
        an index ``_m`` of each dimension ``m``, so that ``size(m)`` reads back where no tensor has ``m``)."""
        indices = {f"_{dim}": Index(f"_{dim}", dim) for dim in self.sizes}
        return (*self.tensors, *indices.values(), *self.expr.free)

    def evaluate(self, expr: Expr | None = None, values: Mapping[str, Any] | None = None) -> np.ndarray:
        """``expr`` (default: the problem's) evaluated by eincalc on ``values`` (default: the problem's)."""
        target = self.expr if expr is None else expr
        if target not in self._compiled:
            self._compiled[target] = compile(target, dims=self.sizes)
        return np.asarray(self._compiled[target](self.values if values is None else values))

    def upstream(self, expr: Expr | None = None, name: str = "G") -> tuple[Tensor, np.ndarray]:
        """A new tensor shaped like ``expr`` (default: the problem's) and a random array for it."""
        target = self.expr if expr is None else expr
        tensor = bare(TensorSpec(name, target.shape))
        rng = np.random.default_rng(self.seed + 1)
        return tensor, rng.uniform(-1.0, 1.0, tuple(self.sizes[d] for d in target.shape))


@dataclass(frozen=True)
class _Options:
    max_depth: int
    max_size: int
    max_tensors: int
    functions: tuple[str, ...]
    structured: tuple[str, ...]
    linalg: tuple[str, ...]
    named: bool


def problems(
    *,
    max_depth: int = 4,
    max_size: int = 3,
    max_tensors: int = 3,
    functions: Sequence[str] = ELEMENTWISE,
    structured: Sequence[str] = STRUCTURED,
    linalg: Sequence[str] = LINALG,
    named: bool = False,
) -> st.SearchStrategy[Problem]:
    """Random `Problem` s: dimension sizes in ``1..max_size``, up to ``max_tensors`` declared
    tensors of rank 0 to 3, and an expression nested at most ``max_depth`` operations deep using
    the element-wise ``functions``, the ``structured`` ones and the matrix functions ``linalg``
    (applied to ``c I + S``, with ``c`` large enough that the matrix is strictly diagonally dominant:
    invertible, with a positive determinant and an inverse of entries at most 1).  Sub-expressions are sometimes
    shared (the expression is a graph, not only a tree); with ``named`` some are named
    intermediates (`eincalc.let()`), which text cannot spell back."""
    known = ELEMENTWISE + STRUCTURED + LINALG
    for name in (*functions, *structured, *linalg):
        if name not in known + KINKED:
            raise UnsupportedError(f"problems cannot draw {name!r}; known: {', '.join(known)}")
    return _problem(
        _Options(max_depth, max_size, max_tensors, tuple(functions), tuple(structured), tuple(linalg), named)
    )


def expressions(**options: Any) -> st.SearchStrategy[Expr]:
    """The expressions of `problems()` (same options) without their arrays."""
    return problems(**options).map(lambda problem: problem.expr)


@st.composite
def _problem(draw: st.DrawFn, options: _Options) -> Problem:
    sizes = {dim: draw(st.integers(1, options.max_size)) for dim in DIMENSIONS}
    count = draw(st.integers(1, options.max_tensors))
    specs = [
        TensorSpec(name, tuple(draw(st.lists(st.sampled_from(list(DIMENSIONS)), max_size=3))))
        for name in string.ascii_uppercase[:count]
    ]
    positive = frozenset(s.name for s in specs if draw(st.booleans()))
    expr = _Builder(draw, sizes, specs, positive, options).build(options.max_depth, top=True).expr
    seed = draw(st.integers(0, 2**32 - 1))
    values = random_arrays(expr, sizes, positive, seed)
    for sub in walk(expr):
        if isinstance(sub, Apply) and sub.fn in KINKED:
            assume(np.min(np.abs(reference_value(sub.arg, values, sizes)), initial=np.inf) > _KINK_CLEARANCE)
    return Problem(expr, sizes, values, positive, seed)


def random_arrays(expr: Expr, sizes: Mapping[str, int], positive: frozenset[str], seed: int) -> dict[str, np.ndarray]:
    """One array per tensor of ``expr``: entries in (0.5, 1.5) for names in ``positive``, else in (-1, 1)."""
    rng = np.random.default_rng(seed)
    specs = sorted({sub.spec for sub in walk(expr) if isinstance(sub, Tensor)}, key=lambda s: s.name)
    return {
        spec.name: rng.uniform(*((0.5, 1.5) if spec.name in positive else (-1.0, 1.0)), [sizes[d] for d in spec.dims])
        for spec in specs
    }


# -- the expression builder ----------------------------------------------------------------------


@dataclass(frozen=True)
class _Bounded:
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


class _Builder:
    """Draws one expression bottom-up, tracking value intervals to stay in the safe range."""

    def __init__(
        self,
        draw: st.DrawFn,
        sizes: Mapping[str, int],
        specs: list[TensorSpec],
        positive: frozenset[str],
        options: _Options,
    ) -> None:
        self.draw, self.sizes, self.specs, self.positive, self.options = draw, sizes, specs, positive, options
        self.built: list[_Bounded] = []  # earlier sub-expressions, to share

    def index(self, dim: str) -> Index:
        return Index(self.draw(st.sampled_from(DIMENSIONS[dim][:3])), dim)

    def build(self, depth: int, top: bool = False) -> _Bounded:
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
            result = _Bounded(Named(name, result.expr, result.expr.free, f"d{name}"), result.lo, result.hi)
        self.built.append(result)
        return result

    def leaf(self) -> _Bounded:
        kind = self.draw(st.sampled_from(["tensor"] * 5 + ["const", "delta", "one", "size", "zero"]))
        dim = self.draw(st.sampled_from(list(DIMENSIONS)))
        if kind == "tensor":
            spec = self.draw(st.sampled_from(self.specs))
            interval = (0.5, 1.5) if spec.name in self.positive else (-1.0, 1.0)
            return _Bounded(Tensor(spec, tuple(self.index(d) for d in spec.dims)), *interval)
        if kind == "const":
            value = self.draw(st.sampled_from([2.0, -1.0, 0.5, -3.0, 1.0]))
            return _Bounded(Const(value), value, value)
        if kind == "delta":
            return _Bounded(Delta(self.index(dim), self.index(dim)), 0.0, 1.0)
        if kind == "one":
            return _Bounded(One(self.index(dim)), 1.0, 1.0)
        if kind == "size":
            return _Bounded(Size(dim), self.sizes[dim], self.sizes[dim])
        indices = tuple(dict.fromkeys(self.index(self.draw(st.sampled_from(list(DIMENSIONS)))) for _ in range(2)))
        return _Bounded(Zero(indices[: self.draw(st.integers(0, len(indices)))]), 0.0, 0.0)

    def contract(self, depth: int) -> _Bounded:
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

    def add(self, depth: int) -> _Bounded:
        """A sum; a term after the first is sometimes subtracted, as ``x - (y + z)`` builds it."""
        terms = [self.build(depth - 1) for _ in range(self.draw(st.integers(2, 3)))]
        terms[1:] = [self.negated(t) if self.draw(st.booleans()) else t for t in terms[1:]]
        out = self.draw(st.permutations(list(dict.fromkeys(k for t in terms for k in t.expr.free))))
        return self.bounded(
            Add(tuple(t.expr for t in terms), tuple(out)), sum(t.lo for t in terms), sum(t.hi for t in terms), terms[0]
        )

    @staticmethod
    def negated(term: _Bounded) -> _Bounded:
        """``-term``, as the ``-`` operator builds it."""
        return _Bounded(Contract((Const(-1.0), term.expr), term.expr.free), -term.hi, -term.lo)

    def apply(self, arg: _Bounded) -> _Bounded:
        parameters = [(fn, k) for fn in self.options.functions for k in _PARAMETERS.get(fn, (None,))]
        choices = [(fn, k) for fn, k in parameters if _allowed(fn, k, arg)]
        if not choices:
            return arg
        fn, k = self.draw(st.sampled_from(choices))
        corners = [arg.lo, arg.hi, *([0.0] if arg.lo < 0 < arg.hi else [])]
        with np.errstate(all="ignore"):
            images = [float(_REFERENCE_FUNCTIONS[fn](np.float64(x), k)) for x in corners]
        lo, hi = (-1.0, 1.0) if fn in ("sin", "cos") else (min(images), max(images))
        return self.bounded(Apply(fn, arg.expr, k), lo, hi, arg)

    def normalise(self, arg: _Bounded) -> _Bounded:
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

    def matrix_function(self, arg: _Bounded) -> _Bounded:
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
    def bounded(expr: Expr, lo: float, hi: float, fallback: _Bounded) -> _Bounded:
        """``expr`` with its interval, or ``fallback`` when the values could grow too large."""
        result = _Bounded(expr, lo, hi)
        return result if math.isfinite(result.magnitude) and result.magnitude <= _MAGNITUDE else fallback


_PARAMETERS: dict[str, tuple[float | None, ...]] = {"pow": (2.0, 3.0, -1.0, 0.5, -0.5)}


def _allowed(fn: str, k: float | None, arg: _Bounded) -> bool:
    """Whether ``fn`` (with parameter ``k``) is smooth and finite on the whole interval of ``arg``."""
    positive = arg.lo >= _MARGIN
    if fn in ("log", "sqrt") or (fn == "pow" and k is not None and not float(k).is_integer()):
        return positive
    if fn == "pow" and k is not None and k < 0:
        return positive or arg.hi <= -_MARGIN
    if fn == "exp":
        return arg.hi <= 4.0
    return True


# -- oracles ------------------------------------------------------------------------------------

_REFERENCE_FUNCTIONS: dict[str, Callable[[Any, float | None], Any]] = {
    "sigmoid": lambda x, k: 1.0 / (1.0 + np.exp(-x)),
    "tanh": lambda x, k: np.tanh(x),
    "exp": lambda x, k: np.exp(x),
    "log": lambda x, k: np.log(x),
    "sqrt": lambda x, k: np.sqrt(x),
    "softplus": lambda x, k: np.logaddexp(0.0, x),
    "sin": lambda x, k: np.sin(x),
    "cos": lambda x, k: np.cos(x),
    "pow": lambda x, k: np.power(x, 1.0 if k is None else k),
    "relu": lambda x, k: np.where(x > 0, x, 0.0),
    "step": lambda x, k: np.where(x > 0, 1.0, 0.0),
    "abs": lambda x, k: np.abs(x),
    "sign": lambda x, k: np.sign(x),
}


def reference_value(expr: Expr, values: Mapping[str, Any], sizes: Mapping[str, int]) -> np.ndarray:
    """The value of ``expr`` computed by a plain walk over the IR with `numpy.einsum()`.

    It shares no code with `eincalc.evaluate` (no opt_einsum, no function
    table), so it is an independent oracle for values.  Axes follow ``expr.free``.
    """
    letters: dict[Index, str] = {}

    def subscript(indices: Sequence[Index]) -> str:
        for k in indices:
            if k not in letters:
                if len(letters) == len(string.ascii_letters):
                    raise UnsupportedError("reference_value handles at most 52 distinct indices")
                letters[k] = string.ascii_letters[len(letters)]
        return "".join(letters[k] for k in indices)

    memo: dict[int, np.ndarray] = {}
    for node in _postorder(expr):
        args = [memo[id(c)] for c in node.children()]
        memo[id(node)] = np.asarray(_reference_node(node, args, values, sizes, subscript), dtype=float)
    return memo[id(expr)]


def _reference_node(
    node: Expr,
    args: list[np.ndarray],
    values: Mapping[str, Any],
    sizes: Mapping[str, int],
    subscript: Callable[[Sequence[Index]], str],
) -> Any:
    if isinstance(node, Tensor):
        return np.einsum(f"{subscript(node.indices)}->{subscript(node.free)}", np.asarray(values[node.spec.name]))
    if isinstance(node, Delta):
        n = sizes[node.i.dim]
        return np.ones(n) if node.i == node.j else np.eye(n)
    if isinstance(node, One | Zero):
        return (np.ones if isinstance(node, One) else np.zeros)([sizes[d] for d in node.shape])
    if isinstance(node, Const | Size):
        return float(node.value) if isinstance(node, Const) else float(sizes[node.dim])
    if isinstance(node, Contract):
        inputs = ",".join(subscript(f.free) for f in node.factors)
        return np.einsum(f"{inputs}->{subscript(node.out)}", *args)
    if isinstance(node, Add):
        return sum(_broadcast(term, value, node.out, sizes) for term, value in zip(node.terms, args, strict=True))
    if isinstance(node, Apply):
        return _REFERENCE_FUNCTIONS[node.fn](args[0], node.param)
    if isinstance(node, Named):
        return args[0]
    if isinstance(node, MatrixFunction):  # the body's axes are (i, j)
        if node.fn != "inv":
            return np.linalg.slogdet(args[0])[1] if node.fn == "logdet" else np.linalg.det(args[0])
        inverse = np.linalg.inv(args[0])
        return np.diagonal(inverse) if node.indices[0] == node.indices[1] else inverse
    if isinstance(node, Softmax | LogSumExp):
        axis = node.arg.free.index(node.axis)
        shifted = args[0] - np.max(args[0], axis=axis, keepdims=True)
        log_total = np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))
        if isinstance(node, LogSumExp):
            return np.squeeze(log_total + np.max(args[0], axis=axis, keepdims=True), axis=axis)
        return np.exp(shifted - log_total) if node.fn == "softmax" else shifted - log_total
    raise UnsupportedError(f"reference_value has no rule for {type(node).__name__} nodes")


def _broadcast(term: Expr, value: np.ndarray, out: tuple[Index, ...], sizes: Mapping[str, int]) -> np.ndarray:
    """``value`` (axes ``term.free``) laid out along ``out``, repeated along the indices it lacks."""
    order = [term.free.index(k) for k in out if k in term.free]
    expanded = np.transpose(value, order)[tuple(slice(None) if k in term.free else None for k in out)]
    return np.broadcast_to(expanded, [sizes[k.dim] for k in out])


def central_differences(function: Callable[[np.ndarray], Any], point: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """Jacobian of ``function`` at ``point`` by central differences: output axes, then ``point``'s axes."""
    point = np.asarray(point, dtype=float)
    columns: list[np.ndarray] = []
    for position in np.ndindex(point.shape):
        step = np.zeros_like(point)
        step[position] = eps
        columns.append((np.asarray(function(point + step)) - np.asarray(function(point - step))) / (2 * eps))
    out_shape = np.shape(function(point))
    return np.moveaxis(np.asarray(columns), 0, -1).reshape(out_shape + point.shape)


def finite_difference_jacobian(problem: Problem, expr: Expr, wrt: Tensor, eps: float = 1e-6) -> np.ndarray:
    """``∂expr/∂wrt`` at ``problem.values`` by central differences (``expr``'s axes, then ``wrt``'s)."""
    return central_differences(
        lambda x: problem.evaluate(expr, {**problem.values, wrt.spec.name: x}), problem.values[wrt.spec.name], eps
    )


def jax_jacobian(problem: Problem, expr: Expr, wrt: Tensor) -> np.ndarray:
    """``∂expr/∂wrt`` by JAX's reverse-mode autodiff through eincalc's evaluator (float64)."""
    import jax

    enable_x64 = getattr(jax, "enable_x64", None)  # older JAX has it in jax.experimental
    x64 = enable_x64(True) if enable_x64 is not None else getattr(jax.experimental, "enable_x64")()  # noqa: B009
    with x64:
        arrays = {name: jax.numpy.asarray(value) for name, value in problem.values.items()}
        function = compile(expr, dims=problem.sizes)
        return np.asarray(jax.jacrev(lambda x: function({**arrays, wrt.spec.name: x}))(arrays[wrt.spec.name]))


def torch_jacobian(problem: Problem, expr: Expr, wrt: Tensor) -> np.ndarray:
    """``∂expr/∂wrt`` by PyTorch's autograd through eincalc's evaluator (float64)."""
    import torch

    arrays = {name: torch.as_tensor(value, dtype=torch.float64) for name, value in problem.values.items()}
    function = compile(expr, dims=problem.sizes)
    jacobian = torch.autograd.functional.jacobian(
        lambda x: torch.as_tensor(function({**arrays, wrt.spec.name: x}), dtype=torch.float64), arrays[wrt.spec.name]
    )
    return np.asarray(jacobian.detach().numpy())
