"""Evaluate index-form expressions on arrays: `evaluate()` and `compile()`.

An expression, or a list of them (a loss and all its gradients), is lowered
once to a straight-line program (`eincalc.numeric.lowering`): values shared by
several outputs are computed once, element-wise work is fused into few array
passes, and a transpose is a relabelling, never a copy.  Per shape signature of
the inputs, the program is planned once (dimension sizes bound and checked by
`eincalc.numeric.binding`, every contraction path chosen by opt_einsum) and the
plan is kept in a small bounded cache.  With NumPy, the plan (`eincalc.numeric.fastplan`) also places every
result in a buffer (`eincalc.numeric.memory`): matrix products are single GEMMs in the
BLAS-friendly orientation writing with ``out=``, kernels write into buffers of
values that died, and a compiled function keeps those buffers for its next call
(one shape signature's worth), and its results too, written over by a later
call once the caller let them go (`eincalc.numeric.returned`).  `evaluate()`
keeps plans only, never arrays.

Node kinds other than the core ones evaluate through rules added with
`register_evaluator()`.

Arrays that bring their own namespace (or at least ``shape`` and ``dtype``) stay
native: PyTorch, JAX, CuPy and Dask inputs give results of the same kind,
contractions dispatch through opt_einsum's backends, and the constants a rule
needs (``δ``, ``1``, zeros) are made in the namespace, dtype and device of the
first such input.  eincalc imports no framework itself.  Other values go
through `numpy.asarray()` (integers become float64).

>>> import numpy as np
>>> from eincalc.core.indices import Index, TensorSpec
>>> from eincalc.core.nodes import Tensor, Contract, Apply
>>> i, j = Index("i", "m"), Index("j", "n")
>>> W = Tensor(TensorSpec("W", ("m", "n")), (i, j))
>>> a = Tensor(TensorSpec("a", ("n",)), (j,))
>>> z = Contract((W, a), (i,))
>>> evaluate(z, {"W": [[1, 2], [3, 4]], "a": [1, 1]})
array([3., 7.])
>>> f = compile([z, Apply("relu", z)])
>>> f(W=np.eye(2), a=np.array([-1.0, 2.0]))
(array([-1.,  2.]), array([0., 2.]))
"""

from __future__ import annotations

import functools
import math
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np
import opt_einsum

from ..core.arguments import require_flag, require_sizes
from ..core.errors import ShapeError, UnknownNameError, UnsupportedError
from ..core.expr import Expr
from ..core.indices import Index, TensorSpec
from ..core.limits import Limits, bounded, check_intermediates, get_limits
from ..core.registry import Registry
from ..frontend.build import as_expr, as_exprs
from . import fastpath, runtime
from .binding import (
    as_array,
    bind_sizes,
    check_declared,
    constant_namespace,
    given_arrays,
    sizing_tensors,
    unknown_size_error,
)
from .fastplan import NumpyPlan
from .lowering import lower
from .program import Contraction, Elementwise, Fill, Load, Op, Program, Scalar, inputs, shared_outputs

Evaluator = Callable[[Any, tuple[Any, ...], "EvalContext"], Any]
"""A rule ``(node, child_values, ctx) -> value``; the value's axes are ``node.free`` in order."""

EVALUATORS: Registry[type[Expr], Evaluator] = Registry("evaluation rule")
_F = TypeVar("_F", bound=Evaluator)


def register_evaluator(node_type: type[Expr]) -> Callable[[_F], _F]:
    """Decorator: make the decorated function the evaluation rule for ``node_type`` (and subclasses)."""

    def decorate(rule: _F) -> _F:
        EVALUATORS[node_type] = rule
        return rule

    return decorate


def _rule_for(node_type: type) -> Evaluator:
    for cls in node_type.__mro__:
        if cls in EVALUATORS:
            return EVALUATORS[cls]
    raise UnsupportedError(
        f"no evaluation rule for {node_type.__name__} nodes; register one with "
        f"register_evaluator({node_type.__name__}) from eincalc.numeric.evaluate"
    )


@dataclass(frozen=True, slots=True)
class EvalContext:
    """What a rule may use: bound ``arrays`` by tensor name, dimension ``sizes``, and where constants live."""

    arrays: Mapping[str, Any]
    sizes: Mapping[str, int]
    xp: Any
    dtype: Any
    device: Any = None

    def size(self, dim: str) -> int:
        """The size of dimension ``dim``."""
        try:
            return self.sizes[dim]
        except KeyError:
            raise ShapeError(
                f"size of dimension {dim!r} unknown; pass dims={{{dim!r}: ...}}, or the array of a "
                f"tensor declared with an axis {dim}"
            ) from None

    def new(self, make: str, shape: tuple[int, ...]) -> Any:
        """``xp.zeros``, ``xp.ones`` (of ``shape``) or ``xp.eye`` (of size ``shape[0]``) where constants live."""
        extra = {} if self.device is None else {"device": self.device}
        size: Any = shape[0] if make == "eye" else shape
        return getattr(self.xp, make)(size, dtype=self.dtype, **extra)

    def zeros(self, indices: Sequence[Index]) -> Any:
        return self.new("zeros", tuple(self.size(k.dim) for k in indices))

    def ones(self, indices: Sequence[Index]) -> Any:
        return self.new("ones", tuple(self.size(k.dim) for k in indices))

    def eye(self, dim: str) -> Any:
        return self.new("eye", (self.size(dim),))


# -- planning: once per shape signature ------------------------------------------------------

Step = Callable[[list[Any], EvalContext], Any]


def _shape(op: Op, ctx: EvalContext) -> tuple[int, ...]:
    return tuple(ctx.size(d) for d in op.dims)


def _step(op: Op, program: Program, ctx: EvalContext, numpy: bool) -> Step:
    """The function computing ``op`` from the slots, with everything shape-dependent decided now."""
    if isinstance(op, Load):
        name, equation = op.name, op.equation
        if equation is None:
            return lambda slots, c: c.arrays[name]
        if numpy:
            return lambda slots, c: np.einsum(equation, c.arrays[name])
        return lambda slots, c: opt_einsum.contract(equation, c.arrays[name], backend="auto")
    if isinstance(op, Scalar):
        value = float(ctx.size(op.size_of)) if op.size_of is not None else op.value
        return lambda slots, c: value
    if isinstance(op, Fill):
        kind, shape = op.kind, _shape(op, ctx)
        return lambda slots, c: c.new(kind, shape[:1] if kind == "eye" else shape)
    if isinstance(op, Elementwise):
        return _kernel_step(op, _shape(op, ctx), numpy)
    if isinstance(op, Contraction):
        return _contraction_step(op, [_shape(program.ops[a], ctx) for a in op.args], numpy)
    rule, node, views = _rule_for(type(op.node)), op.node, op.views
    return lambda slots, c: rule(
        node, tuple(runtime.permute(slots[a], v, numpy) for a, v in zip(op.args, views, strict=True)), c
    )


def _kernel_step(op: Elementwise, shape: tuple[int, ...], numpy: bool) -> Step:
    tree, args = op.tree, op.args

    def step(slots: list[Any], ctx: EvalContext) -> Any:
        value = runtime.run_kernel(tree, [slots[a] for a in args], ctx.xp, numpy)
        if tuple(getattr(value, "shape", ())) != shape:  # only constants or broadcasts: spread to full size
            value = value + ctx.new("zeros", shape)
        return value

    return step


def _contraction_step(op: Contraction, shapes: list[tuple[int, ...]], numpy: bool) -> Step:
    """The general path's contraction (the NumPy plan writes into buffers instead, see `eincalc.numeric.fastplan`)."""
    args, scale, coefficient = op.args, op.scale, op.coefficient
    if numpy:
        contract = fastpath.numpy_contraction(op.inputs, op.output, shapes)

        def product(slots: list[Any]) -> Any:
            return contract.run([slots[a] for a in args], None)
    else:
        expression = opt_einsum.contract_expression(op.equation, *shapes)

        def product(slots: list[Any]) -> Any:
            return expression(*(slots[a] for a in args), backend="auto")

    def step(slots: list[Any], ctx: EvalContext) -> Any:
        value = product(slots)
        factor = coefficient * math.prod(slots[s] for s in scale)
        return value if isinstance(factor, float) and factor == 1.0 else value * factor

    return step


class _Plan:
    """The steps of a program for one shape signature, and the slots each step frees (any array type; with
    ``numpy``, NumPy arrays, whose kernels it interprets: cheap to make, for a call that may not come again)."""

    def __init__(self, program: Program, ctx: EvalContext, numpy: bool = False) -> None:
        self.steps = [_step(op, program, ctx, numpy) for op in program.ops]
        keep = {r.slot for r in program.outputs}
        last_use = {s: n for n, op in enumerate(program.ops) for s in inputs(op)}
        self.release: list[list[int]] = [[] for _ in program.ops]
        for slot, step in last_use.items():
            if slot not in keep:
                self.release[step].append(slot)

    def run(self, ctx: EvalContext) -> list[Any]:
        slots: list[Any] = [None] * len(self.steps)
        for n, step in enumerate(self.steps):
            slots[n] = step(slots, ctx)
            for s in self.release[n]:
                slots[s] = None
        return slots


def _numpy_plan(program: Program, ctx: EvalContext) -> NumpyPlan:
    shapes = [_shape(op, ctx) for op in program.ops]
    return NumpyPlan(program, shapes, lambda op: _step(op, program, ctx, True))


# -- the compiled program ----------------------------------------------------------------


_Entry = tuple[dict[str, int], NumpyPlan | None, _Plan | None]
"""A cached shape signature: its dimension sizes, its NumPy plan and its general plan (each made when first needed)."""


class CompiledFunction:
    """A straight-line program computing one or several expressions; call it with the arrays.

    ``f(values)`` or ``f(W=..., a=...)`` returns one array for a single
    expression, a tuple for a list.  Shapes are checked and contractions planned
    once per shape signature.
    """

    MAX_PLANS = 16
    """Shape signatures whose plans are kept (least recently used ones are dropped)."""

    def __init__(
        self,
        outputs: Sequence[Expr],
        *,
        single: bool,
        dims: Mapping[str, int] | None = None,
        keep_buffers: bool = True,
        interpret_first: bool = False,
    ) -> None:
        self.outputs = tuple(outputs)
        self._single = single
        self._dims = require_sizes(dims)
        self.program = lower(self.outputs)
        self._specs = tuple(self.program.specs.values())
        used = {d for op in self.program.ops for d in op.dims}
        used |= {op.size_of for op in self.program.ops if isinstance(op, Scalar) and op.size_of is not None}
        self._unsized = frozenset(used - set(self._dims) - {d for spec in self._specs for d in spec.dims})
        """Dimensions that neither ``dims`` nor a tensor read gives a size (``m`` of ``δ[i,p] a[q]``)."""
        self._plans: OrderedDict[tuple[Any, ...], _Entry] = OrderedDict()
        self._interpret_first = interpret_first
        """Whether the first NumPy call for a shape signature interprets its kernels, and only a second plans them."""
        self._interpreted: set[tuple[Any, ...]] = set()
        self._keep_buffers = keep_buffers
        self._warm: NumpyPlan | None = None
        """The NumPy plan whose buffers are kept for the next call (only one plan's, to bound memory)."""
        self._lock = threading.Lock()
        """Guards the cache (``_plans``, ``_interpreted``, ``_warm``) when threads share this function; plans are
        made outside it, and two threads may make the same plan once each."""
        self._shared = shared_outputs(self.program)
        """Which outputs are an input or an earlier output's array: returned as copies, so writing into one result
        never changes an input or another result."""
        self._orders = [
            tuple(ref.labels.index(k) for k in expr.free)
            for ref, expr in zip(self.program.outputs, self.outputs, strict=True)
        ]

    def _bound(self, given: Mapping[str, Any]) -> tuple[dict[str, Any], tuple[TensorSpec, ...]]:
        """The arrays of the tensors read, and of the other declared tensors given that carry a size nothing
        else gives (with their specs: they are bound like the others, so they must agree with them)."""
        bound: dict[str, Any] = {}
        for spec in self._specs:
            if spec.name not in given:
                raise UnknownNameError(f"no value given for tensor {spec.name!r} (declared {spec})")
            bound[spec.name] = as_array(spec.name, given[spec.name])
            if spec.symmetric or spec.simplex:
                check_declared(spec, bound[spec.name])
        others = sizing_tensors(given, self._unsized, set(bound))
        bound.update((spec.name, as_array(spec.name, given[spec.name])) for spec in others)
        return bound, others

    def _plan(
        self, given: Mapping[str, Any], bound: dict[str, Any], others: tuple[TensorSpec, ...], numpy: Any
    ) -> tuple[EvalContext, NumpyPlan | _Plan]:
        """The context and plan for these arrays; ``numpy``: the one floating dtype of NumPy inputs (the fast path,
        whose constants and buffers all take that dtype), else ``None``."""
        specs = self._specs + others
        signature = tuple((spec.name, tuple(bound[spec.name].shape)) for spec in specs)
        with self._lock:
            entry = self._plans.get(signature)
        if entry is None:
            # The resource hook: once per shape signature, before any array is built, every slot the
            # program fills (described by the expression that produced it) is checked against the limits.
            sizes = bind_sizes(specs, bound, self._dims)
            missing = sorted(self._unsized - sizes.keys())
            if missing:
                raise unknown_size_error(missing[0], given, bound)
            sizes = check_intermediates(sizes, self.program.nodes.values())
            entry = (sizes, None, None)
        entry = self._store(signature, entry)
        if numpy is not None:
            ctx = EvalContext(bound, entry[0], np, numpy)
            if entry[1] is None and self._interpret_first and self._first_interpretation(signature):
                # ec.evaluate may be called once: planning every kernel of a 10,000-layer chain takes longer
                # than running the program interpreted (see benchmarks/deep.py); a second call plans them.
                return ctx, bounded(_Plan)(self.program, ctx, True)
            # Planning builds many small objects (kernels of closures): the collector is paused meanwhile,
            # as in every public call (a 10,000-layer chain's first call took 32 s with it, 15 s without).
            fast = entry[1] or bounded(_numpy_plan)(self.program, ctx)
            self._store(signature, (entry[0], fast, None))
            return ctx, fast
        ctx = EvalContext(bound, entry[0], *constant_namespace([bound[spec.name] for spec in self._specs]))
        general = entry[2] or bounded(_Plan)(self.program, ctx)
        self._store(signature, (entry[0], None, general))
        return ctx, general

    def _store(self, signature: tuple[Any, ...], entry: _Entry) -> _Entry:
        """Cache ``entry`` (sizes, NumPy plan, general plan) as the newest, keeping a plan another thread stored
        meanwhile where ``entry`` has none, and dropping the oldest signature beyond `MAX_PLANS`."""
        with self._lock:
            old = self._plans.pop(signature, None)
            if old is not None:
                entry = (entry[0], entry[1] or old[1], entry[2] or old[2])
            elif len(self._plans) >= self.MAX_PLANS:
                oldest, _ = self._plans.popitem(last=False)
                self._interpreted.discard(oldest)
            self._plans[signature] = entry
            return entry

    def _first_interpretation(self, signature: tuple[Any, ...]) -> bool:
        """Whether no call interpreted ``signature`` before this one (which now has)."""
        with self._lock:
            first = signature not in self._interpreted
            self._interpreted.add(signature)
            return first

    def _keep_warm(self, plan: NumpyPlan) -> None:
        """Keep ``plan``'s buffers for the next call (if kept at all), letting another plan's go."""
        with self._lock:
            if self._warm is not plan and self._warm is not None:
                self._warm.forget_buffers()
            self._warm = plan if self._keep_buffers else None

    def __call__(self, values: Mapping[str, Any] | None = None, /, **arrays: Any) -> Any:
        given = given_arrays(values, arrays)
        bound, others = self._bound(given)
        dtypes = {bound[spec.name].dtype if isinstance(bound[spec.name], np.ndarray) else None for spec in self._specs}
        fast = len(dtypes) <= 1 and all(d is not None and d.kind == "f" for d in dtypes)
        numpy = (dtypes.pop() if dtypes else np.dtype(np.float64)) if fast else None
        ctx, plan = self._plan(given, bound, others, numpy)
        if isinstance(plan, NumpyPlan):
            self._keep_warm(plan)
            slots = plan.run(ctx, numpy, keep=self._keep_buffers)
        else:
            slots = plan.run(ctx)
        results = tuple(
            self._finish(slots[ref.slot], order, numpy is not None, ctx, shared)
            for ref, order, shared in zip(self.program.outputs, self._orders, self._shared, strict=True)
        )
        return results[0] if self._single else results

    @staticmethod
    def _finish(value: Any, order: tuple[int, ...], numpy: bool, ctx: EvalContext, shared: bool) -> Any:
        """An output's value in its axes' order, copied where the caller holds that array too (`shared_outputs`)."""
        if not hasattr(value, "shape"):
            return ctx.new("zeros", ()) + value
        value = value if order == tuple(range(len(order))) else runtime.permute(value, order, numpy)
        if not shared:
            return value
        return value.clone() if hasattr(value, "clone") else value.copy()  # PyTorch clones; NumPy and the rest copy

    def __repr__(self) -> str:
        inputs = ", ".join(str(spec) for spec in self._specs) or "no inputs"
        outputs = ", ".join(f"[{','.join(e.shape)}]" for e in self.outputs)
        ops = self.program.ops
        einsums = sum(isinstance(op, Contraction) for op in ops)
        return f"<CompiledFunction ({inputs}) -> {outputs}: {len(ops)} steps, {einsums} contractions>"


def compile(
    exprs: Expr | Sequence[Expr], *, dims: Mapping[str, int] | None = None, keep_buffers: bool = True
) -> CompiledFunction:
    """Lower one expression, or a list sharing intermediates, to a `CompiledFunction`.

    ``dims`` gives sizes of dimensions that no input tensor carries (``Σ_k 1``).
    With NumPy arrays, the intermediates live in buffers planned once per shape
    signature; ``keep_buffers`` keeps them between calls (a warm call then
    allocates only its outputs), at the cost of holding that memory while the
    compiled function lives.  It keeps the last call's results too, and writes
    a later call's results over them once nothing refers to them any more (no
    variable, view or container: see `eincalc.numeric.returned`), so a loop that
    drops each call's results allocates nothing.  A result you still hold is
    never written over (a weak reference does not hold it).  Results never
    share memory with an input or with each other: an output that is an input
    (``∂/∂W Σ W ⊙ X = X``) or repeats another is returned as a copy.
    """
    outputs, single = as_exprs(exprs, "the expression to compile")
    return CompiledFunction(
        outputs, single=single, dims=dims, keep_buffers=require_flag(keep_buffers, "keep_buffers of ec.compile")
    )


def evaluate(expr: Expr, values: Mapping[str, Any], *, dims: Mapping[str, int] | None = None) -> Any:
    """The value of ``expr`` (axes: ``expr.free`` in order) given arrays for its tensors by name.

    Dimension sizes come from ``dims`` and the arrays of the tensors ``expr``
    reads; a size that none of them gives comes from the array of any other
    tensor declared with `eincalc.tensors()` that is passed (the Jacobian
    ``δ[i,p] e[q]`` of ``F @ e`` takes ``m`` from ``F``), and every axis of such an
    array must agree with the other sources.  A name declared twice with different
    dimensions gives no sizes unless ``expr`` reads it.  The compiled program is
    kept (a bounded cache of programs, never arrays), so evaluating the same
    expression again, as finite differences do, skips lowering.

    >>> from eincalc.frontend.build import tensors
    >>> from eincalc.calculus.diff import jacobian
    >>> F, e = tensors("F[m,n] e[n]")
    >>> str(jacobian(F @ e, F))
    'δ[i,p] e[q]'
    >>> evaluate(jacobian(F @ e, F), {"F": np.ones((2, 3)), "e": np.ones(3)}).shape
    (2, 2, 3)
    """
    expr = as_expr(expr, "the expression to evaluate")
    return _compiled(expr, tuple(sorted(require_sizes(dims).items())), get_limits())(values)


@functools.lru_cache(maxsize=128)
def _compiled(expr: Expr, dims: tuple[tuple[str, int], ...], limits: Limits) -> CompiledFunction:
    """One program per expression, extra sizes and resource limits (checked when a shape is first planned); its
    buffers are not kept between calls (the cache holds plans, never arrays), and its first call for a shape
    interprets the kernels (cheap to start; finite differences, which call again, get them planned)."""
    return CompiledFunction((expr,), single=True, dims=dict(dims), keep_buffers=False, interpret_first=True)
