"""The NumPy plan of a compiled program: steps that write into planned buffers, kept between calls.

Per shape signature, `NumpyPlan` decides what each step's result is
(`Need`), plans memory once (`plan_memory()`:
donation, reuse after the last reader, new arrays only for what the caller
receives) and specialises every step to its placement: GEMMs and sums write
with ``out=``, element-wise kernels are ufunc chains into their buffer
(`eincalc.numeric.elementwise`), a softmax with an in-place rule
(`register_in_place()`) normalises over its argument's buffer.  A
contraction's constant factor scales whichever array is smallest: an operand
much smaller than the result, else the result in place.  ``Xᵀ diag(v) X`` with
``v ≥ 0`` is ``Yᵀ Y`` for ``Y = X √v``: BLAS ``syrk``, half a GEMM.

The buffers are allocated on the first call and reused by the next ones (per
dtype); a call that finds them in use (another thread, or a rule that calls the
same program) takes its own.  Steps the fast path does not specialise (loading,
constants, other node kinds) run as the general path does.

>>> import numpy as np
>>> import eincalc as ec
>>> X, W, b, V = ec.tensors("X[n,k] W[k,m] b[m] V[m,p]")
>>> f = ec.compile(ec.tanh(ec.sigmoid(X @ W + b) @ V))
>>> _ = f(X=np.ones((4, 3)), W=np.ones((3, 2)), b=np.zeros(2), V=np.ones((2, 5)))
>>> plan = next(iter(f._plans.values()))[1]
>>> plan.memory.sizes   # one kept buffer: X W, then σ(X W + b) over it
[8]
>>> [(p.out, p.donor) for p in plan.memory.placements if p.out is not None]   # tanh over the new array of (σ) V
[(0, None), (0, 0), ('fresh', None), ('fresh', 0)]
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..core.expr import Expr
from ..core.registry import Registry
from .elementwise import SYMMETRIC_FROM, Kernel, SymmetricKernel, compile_kernel, donors, symmetric
from .fastpath import GramPlan, PairwisePlan, gram_contraction, numpy_contraction
from .memory import FRESH, MemoryPlan, Need, Placement, plan_memory
from .program import Contraction, Custom, Elementwise, Op, Program

InPlaceRule = Callable[[Any, Any], Any]
"""``rule(x, out)``: a node's value from its argument's value ``x``, written into ``out`` (which may be ``x``)."""
InPlaceMaker = Callable[[Any], InPlaceRule | None]
"""Given a node, its in-place rule, or ``None`` where it has none."""

IN_PLACE: Registry[type[Expr], InPlaceMaker] = Registry("in-place NumPy rule")

Step = Callable[[list[Any], Any, Any, list[Any]], Any]
"""``step(slots, ctx, out, scratch)``: a step's value, given its buffer ``out`` and ``scratch`` buffers (flat)."""
GeneralStep = Callable[[list[Any], Any], Any]
Shape = tuple[int, ...]

DONOR_CANDIDATES = 8
"""Arguments a kernel is compiled to write over, at most (each is one more compile of the kernel: a kernel of
hundreds of arguments, a long chain's gradient, would be planned in time quadratic in its size)."""
SCALE_OPERAND_RATIO = 4
"""A contraction's factor scales an operand instead of the result when the result is this many times larger."""


def register_in_place(node_type: type[Expr]) -> Callable[[InPlaceMaker], InPlaceMaker]:
    """Decorator: for one-argument nodes of ``node_type``, how NumPy computes them into a buffer (no temporaries)."""

    def decorate(maker: InPlaceMaker) -> InPlaceMaker:
        IN_PLACE[node_type] = maker
        return maker

    return decorate


def _in_place(op: Custom) -> InPlaceRule | None:
    maker = next((IN_PLACE[cls] for cls in type(op.node).__mro__ if cls in IN_PLACE), None)
    return maker(op.node) if maker is not None and len(op.args) == 1 else None


class NumpyPlan:
    """The steps of a program for one shape signature, their buffers, and the buffers kept between calls."""

    def __init__(self, program: Program, shapes: Sequence[Shape], general: Callable[[Op], GeneralStep]) -> None:
        self.shapes = shapes
        self._kernels: dict[tuple[int, int | None], Kernel] = {}
        self._contractions: dict[int, PairwisePlan | GramPlan] = {}
        ops = program.ops
        needs = [self._need(n, op) for n, op in enumerate(ops)]
        self.memory: MemoryPlan = plan_memory(needs, [_arguments(op) for op in ops], {r.slot for r in program.outputs})
        self.schedule = [
            (
                self._step(n, op, need, placement, general),
                placement.out if isinstance(placement.out, int) else None,
                math.prod(shapes[n]) if placement.out == FRESH and placement.donor is None else 0,
                placement.scratch,
                release,
            )
            for n, (op, need, placement, release) in enumerate(
                zip(ops, needs, self.memory.placements, self.memory.release, strict=True)
            )
        ]
        self._kernels.clear()
        self._contractions.clear()
        self._kept: dict[Any, list[Any]] = {}
        self._lock = threading.Lock()

    # -- what each step needs --------------------------------------------------------------------

    def _need(self, n: int, op: Op) -> Need:
        shape = self.shapes[n]
        size = math.prod(shape)
        if isinstance(op, Elementwise):
            if op.tree[0] == "arg":
                return Need("alias", donors=(op.tree[1],))
            if not op.dims:
                return Need("external")
            if _blocked(op.tree, shape):
                return Need("buffer", size)
            plain = self._kernel(n, op, None).scratch
            tried = donors(op.tree)[:DONOR_CANDIDATES]
            free = tuple(k for k in tried if self._kernel(n, op, k).scratch <= plain)
            return Need("buffer", size, free, (size,) * plain)
        if isinstance(op, Contraction):
            if not op.dims:
                return Need("external")
            scaled = self._scaled_operand(n, op)
            operand = () if scaled is None else (math.prod(self.shapes[op.args[scaled]]),)
            return Need("buffer", size, scratch=self._contraction(n, op).sizes + operand)
        if isinstance(op, Custom) and _in_place(op) is not None and op.dims:
            identity = op.views[0] == tuple(range(len(op.views[0])))
            return Need("buffer", size, donors=(0,) if identity else ())
        return Need("external")

    def _scaled_operand(self, n: int, op: Contraction) -> int | None:
        """The operand a constant factor should scale: one far smaller than the result (else the result)."""
        if op.coefficient == 1.0:
            return None
        sizes = [math.prod(self.shapes[a]) for a in op.args]
        smallest = min(range(len(sizes)), key=sizes.__getitem__)
        return smallest if sizes[smallest] * SCALE_OPERAND_RATIO <= math.prod(self.shapes[n]) else None

    # -- steps --------------------------------------------------------------------------------------

    def _step(self, n: int, op: Op, need: Need, placement: Placement, general: Callable[[Op], GeneralStep]) -> Step:
        if need.kind != "buffer":
            run = general(op)
            return lambda slots, ctx, out, scratch: run(slots, ctx)
        shape = self.shapes[n]
        if isinstance(op, Elementwise):
            return self._kernel_step(n, op, shape, placement)
        if isinstance(op, Contraction):
            return self._contraction_step(n, op)
        assert isinstance(op, Custom)
        rule, arg, view = _in_place(op), op.args[0], op.views[0]
        assert rule is not None
        donated = placement.donor is not None
        return lambda slots, ctx, out, scratch: rule(
            x := slots[arg].transpose(view), x if donated else out[: x.size].reshape(shape)
        )

    def _kernel(self, n: int, op: Elementwise, donor: int | None) -> Kernel:
        """Step ``n``'s kernel compiled to write over argument ``donor`` (or into its own buffer), once."""
        key = (n, donor)
        if key not in self._kernels:
            self._kernels[key] = compile_kernel(op.tree, [self.shapes[a] for a in op.args], self.shapes[n], donor)
        return self._kernels[key]

    def _kernel_step(self, n: int, op: Elementwise, shape: Shape, placement: Placement) -> Step:
        donor = placement.donor
        kernel: Kernel | SymmetricKernel = (
            SymmetricKernel(op.tree, shape) if _blocked(op.tree, shape) else self._kernel(n, op, donor)
        )
        args, size = op.args, math.prod(shape)

        def step(slots: list[Any], ctx: Any, out: Any, scratch: list[Any]) -> Any:
            values = [slots[a] for a in args]
            target = values[donor] if donor is not None else out[:size].reshape(shape)
            return kernel.run(values, target, [s[:size].reshape(shape) for s in scratch])

        return step

    def _contraction(self, n: int, op: Contraction) -> PairwisePlan | GramPlan:
        """Step ``n``'s contraction plan, made once."""
        if n not in self._contractions:
            shapes = [self.shapes[a] for a in op.args]
            gram = gram_contraction(op.inputs, op.output, shapes) if op.args[:1] * 2 == op.args[:2] else None
            self._contractions[n] = gram or numpy_contraction(op.inputs, op.output, shapes)
        return self._contractions[n]

    def _contraction_step(self, n: int, op: Contraction) -> Step:
        contract = self._contraction(n, op)
        args, scale, scaled = op.args, op.scale, self._scaled_operand(n, op)
        if scaled is None and not scale and op.coefficient == 1.0:
            return lambda slots, ctx, out, scratch: contract.run([slots[a] for a in args], out, scratch)
        coefficient = 1.0 if scaled is not None else op.coefficient
        factor_on_operand = op.coefficient
        operand_shape = self.shapes[args[scaled]] if scaled is not None else ()
        steps = len(contract.sizes)

        def step(slots: list[Any], ctx: Any, out: Any, scratch: list[Any]) -> Any:
            values = [slots[a] for a in args]
            if scaled is not None:
                buffer = scratch[steps][: math.prod(operand_shape)].reshape(operand_shape)
                values[scaled] = np.multiply(values[scaled], factor_on_operand, out=buffer)
            value = contract.run(values, out, scratch[:steps])
            factor = coefficient * math.prod(slots[s] for s in scale)
            if factor != 1.0:
                value *= factor
            return value

        return step

    # -- running ------------------------------------------------------------------------------------

    def run(self, ctx: Any, dtype: Any, keep: bool = True) -> list[Any]:
        """Every slot's value after running the steps (dead intermediates dropped); with ``keep``, the buffers
        stay for the next call."""
        if not keep or not self._lock.acquire(blocking=False):
            return self._run(ctx, self._buffers(dtype), dtype)
        try:
            kept = self._kept.get(dtype)
            if kept is None:
                kept = self._kept[dtype] = self._buffers(dtype)
            return self._run(ctx, kept, dtype)
        finally:
            self._lock.release()

    def forget_buffers(self) -> None:
        """Let the kept buffers go (another shape signature is in use now)."""
        self._kept = {}

    def _buffers(self, dtype: Any) -> list[Any]:
        return [np.empty(size, dtype) for size in self.memory.sizes]

    def _run(self, ctx: Any, buffers: list[Any], dtype: Any) -> list[Any]:
        slots: list[Any] = [None] * len(self.schedule)
        for n, (step, out, fresh, scratch, release) in enumerate(self.schedule):
            target = buffers[out] if out is not None else np.empty(fresh, dtype) if fresh else None
            slots[n] = step(slots, ctx, target, [buffers[b] for b in scratch] if scratch else [])
            for s in release:
                slots[s] = None
        return slots


def _blocked(tree: Any, shape: Shape) -> bool:
    """Whether a kernel's result is a symmetric matrix large enough to compute in blocks (`SymmetricKernel`)."""
    return len(shape) == 2 and shape[0] >= SYMMETRIC_FROM and symmetric(tree, shape)


def _arguments(op: Op) -> tuple[int, ...]:
    """The slots ``op`` reads, each once, in the order its placement's donor positions count."""
    return (*op.args, *op.scale) if isinstance(op, Contraction) else op.args
