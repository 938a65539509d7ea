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

import string
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from hypothesis import assume
from hypothesis import strategies as st

from ..core.errors import UnsupportedError
from ..core.expr import Expr
from ..core.indices import Index, TensorSpec
from ..core.nodes import Add, Apply, Const, Contract, Delta, Named, One, Size, Tensor, Zero
from ..core.traversal import postorder as _postorder
from ..core.traversal import walk
from ..frontend.build import bare
from ..numeric.evaluate import compile
from ..ops.linalg import MatrixFunction
from ..ops.nn import LogSumExp, Softmax
from .expression_builder import DIMENSIONS, Builder, Options
from .reference_functions import REFERENCE_FUNCTIONS

ELEMENTWISE = ("sigmoid", "tanh", "exp", "log", "sqrt", "softplus", "sin", "cos", "pow", "relu", "abs")
"""Element-wise functions `problems()` applies (``pow`` with exponents 2, 3, -1, 0.5, -0.5)."""
STRUCTURED = ("softmax", "log_softmax", "logsumexp")
"""Structured functions `problems()` applies along one index."""
LINALG = ("inv", "det", "logdet")
"""Matrix functions `problems()` applies, to matrices kept well away from singular."""
KINKED = ("relu", "abs", "step", "sign")
"""Functions with a point where the derivative jumps; drawn arguments stay away from it."""

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
        Options(max_depth, max_size, max_tensors, tuple(functions), tuple(structured), tuple(linalg), named)
    )


def expressions(**options: Any) -> st.SearchStrategy[Expr]:
    """The expressions of `problems()` (same options) without their arrays."""
    return problems(**options).map(lambda problem: problem.expr)


@st.composite
def _problem(draw: st.DrawFn, options: Options) -> Problem:
    sizes = {dim: draw(st.integers(1, options.max_size)) for dim in DIMENSIONS}
    count = draw(st.integers(1, options.max_tensors))
    specs = [
        TensorSpec(name, tuple(draw(st.lists(st.sampled_from(list(DIMENSIONS)), max_size=3))))
        for name in string.ascii_uppercase[:count]
    ]
    positive = frozenset(s.name for s in specs if draw(st.booleans()))
    expr = Builder(draw, sizes, specs, positive, options).build(options.max_depth, top=True).expr
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


# -- oracles ------------------------------------------------------------------------------------


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
        return REFERENCE_FUNCTIONS[node.fn](args[0], node.param)
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
