"""The NumPy plan of a compiled program: steps that write into planned buffers, kept between calls.

Per shape signature, `NumpyPlan` decides what each step's result is
(`Need`), plans memory once (`plan_memory()`:
donation, reuse after the last reader, new arrays only for what the caller
receives) and specialises every step to its placement: GEMMs and sums write
with ``out=``, element-wise kernels are ufunc chains into their buffer
(`eincalc.numeric.elementwise`), a softmax with an in-place rule
(`register_in_place()`) normalises over its argument's buffer, unshifted where
a bound on its argument (a contraction's, `eincalc.numeric.bounds`, computed
before the contraction into a slot after the program's) allows.  A
contraction's constant factor scales whichever array is smallest: an operand
much smaller than the result, else the result in place.  ``Xᵀ diag(v) X`` with
``v ≥ 0`` is ``Yᵀ Y`` for ``Y = X √v``: BLAS ``syrk``, half a GEMM.

The buffers are allocated on the first call and reused by the next ones (per
dtype), and so are the arrays returned, once the caller let them go
(`eincalc.numeric.returned`); a call that finds them in use (another thread,
or a rule that calls the same program) takes its own.  Steps the fast path does not specialise (loading,
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
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..core.expr import Expr
from ..core.registry import Registry
from .blocking import RowStep, blocks, schedule
from .bounds import Bound, contraction_bound
from .elementwise import SYMMETRIC_FROM, Kernel, SymmetricKernel, compile_kernel, donors, symmetric
from .fastpath import GramPlan, PairwisePlan, gram_contraction, numpy_contraction
from .memory import FRESH, MemoryPlan, Need, Placement, plan_memory
from .program import Contraction, Custom, Elementwise, Op, Program, arg_views
from .returned import Returned

InPlaceRule = Callable[[Any, Any, float], Any]
"""``rule(x, out, bound)``: a node's value from its argument's value ``x``, written into ``out`` (which may be ``x``);
``bound ≥ |x|`` where the plan computed one (`eincalc.numeric.bounds`), else ``inf``."""
InPlaceMaker = Callable[[Any], InPlaceRule | None]
"""Given a node, its in-place rule, or ``None`` where it has none."""

IN_PLACE: Registry[type[Expr], InPlaceMaker] = Registry("in-place NumPy rule")
BOUNDED: set[type[Expr]] = set()
"""Node kinds whose in-place rule uses a bound on its argument: the plan computes one where it can."""

Step = Callable[[list[Any], Any, Any, list[Any]], Any]
"""``step(slots, ctx, out, scratch)``: a step's value, given its buffer ``out`` and ``scratch`` buffers (flat)."""
GeneralStep = Callable[[list[Any], Any], Any]
Shape = tuple[int, ...]
Entry = tuple[int, "Step | RowBlocks", int | None, int, tuple[int, ...], list[int]]
"""One entry of a plan's schedule: the slot it fills, its step (or a group of row-wise steps, which fills its
members' slots), its kept buffer, the size of a new array it takes, its scratch buffers, the slots dropped after it."""

DONOR_CANDIDATES = 8
"""Arguments a kernel is compiled to write over, at most (each is one more compile of the kernel: a kernel of
hundreds of arguments, a long chain's gradient, would be planned in time quadratic in its size)."""
SCALE_OPERAND_RATIO = 4
"""A contraction's factor scales an operand instead of the result when the result is this many times larger."""


def register_in_place(node_type: type[Expr], bounded: bool = False) -> Callable[[InPlaceMaker], InPlaceMaker]:
    """Decorator: for one-argument nodes of ``node_type``, how NumPy computes them into a buffer (no temporaries).

    A node with an ``axis`` index (softmax) is taken to be computed along that index only, independently along its
    other indices: the plan may run it on row blocks (`eincalc.numeric.blocking`).  With ``bounded``, the plan
    computes a bound on the argument's entries where it is a contraction (`eincalc.numeric.bounds`) and passes it
    to the rule."""

    def decorate(maker: InPlaceMaker) -> InPlaceMaker:
        IN_PLACE[node_type] = maker
        if bounded:
            BOUNDED.add(node_type)
        return maker

    return decorate


def _in_place(op: Custom) -> InPlaceRule | None:
    maker = next((IN_PLACE[cls] for cls in type(op.node).__mro__ if cls in IN_PLACE), None)
    return maker(op.node) if maker is not None and len(op.args) == 1 else None


class NumpyPlan:
    """The steps of a program for one shape signature, their buffers, and the buffers kept between calls."""

    def __init__(self, program: Program, shapes: Sequence[Shape], general: Callable[[Op], GeneralStep]) -> None:
        self.shapes = shapes
        self._kernels: dict[tuple[int, int | None, Shape], Kernel] = {}
        self._contractions: dict[tuple[int, Shape], PairwisePlan | GramPlan] = {}
        ops = program.ops
        needs = [self._need(n, op) for n, op in enumerate(ops)]
        args = [_arguments(op) for op in ops]
        row_steps = [self._row_step(n, op, need) for n, (op, need) in enumerate(zip(ops, needs, strict=True))]
        order, groups = schedule(args, row_steps, [8 * math.prod(shape) for shape in shapes])
        outputs = {r.slot for r in program.outputs}
        read_whole = [
            {s for m in group for s in args[m] if s not in row_steps[m].sliced}  # type: ignore[union-attr]
            for group in groups
        ]
        self.memory: MemoryPlan = plan_memory(needs, args, outputs, order, groups, read_whole)
        last_of = {group[-1]: group for group in groups}
        members = {n for group in groups for n in group}
        bounds = {n: bound for n, bound in self._bounds(ops).items() if n not in members}
        self._bound_slots = {n: len(shapes) + k for k, n in enumerate(bounds)}
        """Where each contraction with a bound (`eincalc.numeric.bounds`) has it: slots after the program's."""
        self.schedule: list[Entry] = []
        for n in order:
            if n in bounds:  # computed just before the contraction, whose operands are alive then
                self.schedule.append(self._bound_entry(n, ops[n].args, bounds[n]))
            if n in last_of:
                self.schedule.append(self._group_entry(last_of[n], row_steps, ops, needs, general))
            elif n not in members:
                self.schedule.append(
                    self._entry(n, self._step(n, ops[n], needs[n], self.memory.placements[n], general, shapes))
                )
        self._kernels.clear()
        self._contractions.clear()
        self._kept: dict[Any, list[Any]] = {}
        self._returned = Returned()
        """The outputs of the last call, written over by the next one if the caller let them go (kept path only)."""
        self._lock = threading.Lock()

    def _entry(self, n: int, step: Step) -> Entry:
        placement = self.memory.placements[n]
        fresh = math.prod(self.shapes[n]) if placement.out == FRESH and placement.donor is None else 0
        out = placement.out if isinstance(placement.out, int) else None
        return (n, step, out, fresh, placement.scratch, self.memory.release[n])

    def _group_entry(
        self,
        group: list[int],
        row_steps: list[RowStep | None],
        ops: list[Op],
        needs: list[Need],
        general: Callable[[Op], GeneralStep],
    ) -> Entry:
        """One schedule entry running the steps of ``group`` block by block."""
        sliced = {n: row_steps[n].sliced for n in group}  # type: ignore[union-attr]
        widest = max(math.prod(self.shapes[s][1:]) for n in group for s in (n, *sliced[n]))
        ranges = blocks(self.shapes[group[0]][0], 8 * widest)
        members = []
        for n in group:
            placement = self.memory.placements[n]
            block_steps = {
                rows: self._step(n, ops[n], needs[n], placement, general, _BlockShapes(self.shapes, sliced[n], n, rows))
                for rows in {stop - start for start, stop in ranges}
            }
            donor = None if placement.donor is None else _arguments(ops[n])[placement.donor]
            _, _, out, fresh, scratch, _ = self._entry(n, block_steps[ranges[0][1]])
            members.append(_Member(n, out, fresh, scratch, block_steps, sliced[n], donor))
        release = [s for n in group for s in self.memory.release[n]]
        return (group[-1], RowBlocks(members, ranges, [self.shapes[n] for n in group]), None, 0, (), release)

    def _bounds(self, ops: list[Op]) -> dict[int, Bound]:
        """The contractions a `BOUNDED` node reads, with their bound where `contraction_bound()` gives one."""
        read = {op.args[0] for op in ops if isinstance(op, Custom) and _reads_bound(op)}
        found = {}
        for n in sorted(read):
            op = ops[n]
            if isinstance(op, Contraction) and not op.scale:
                bound = contraction_bound(op.inputs, op.output, op.coefficient, [self.shapes[a] for a in op.args])
                if bound is not None:
                    found[n] = bound
        return found

    def _bound_entry(self, n: int, args: tuple[int, ...], bound: Bound) -> Entry:
        """The schedule entry computing contraction ``n``'s bound from its operands ``args`` into its bound slot."""
        first, second = args

        def step(slots: list[Any], ctx: Any, out: Any, scratch: list[Any]) -> float:
            return bound(slots[first], slots[second])

        return (self._bound_slots[n], step, None, 0, (), [])

    # -- which steps run in row blocks ---------------------------------------------------------------

    def _row_step(self, n: int, op: Op, need: Need) -> RowStep | None:
        """How step ``n`` is row-wise (see `eincalc.numeric.blocking`), or ``None``."""
        shape = self.shapes[n]
        if need.kind != "buffer" or not shape or shape[0] < 4:
            return None
        sliced: set[int] | None = None
        if isinstance(op, Elementwise) and not _blocked(op.tree, shape):
            sliced = _kernel_rows(op)
        elif isinstance(op, Contraction) and self._contraction_rows(n, op):
            sliced = set(op.args)
        elif isinstance(op, Custom) and need.donors == (0,) and _along_other_axis(op.node):
            sliced = {op.args[0]}
        return None if sliced is None else RowStep(shape[0], frozenset(sliced))

    def _contraction_rows(self, n: int, op: Contraction) -> bool:
        """Whether every operand carries the result's first index as its own first, and the contraction is one
        step writing its result in the output's order (dot products or products along rows, never a GEMM)."""
        row = op.output[:1]
        if not row or len(op.inputs) < 2 or any(x.find(row) != 0 or x.count(row) != 1 for x in op.inputs):
            return False
        plan = self._contraction(n, op, self.shapes)
        return isinstance(plan, PairwisePlan) and len(plan.steps) == 1 and not plan.final

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
            scaled = self._scaled_operand(n, op, self.shapes)
            operand = () if scaled is None else (math.prod(self.shapes[op.args[scaled]]),)
            return Need("buffer", size, scratch=self._contraction(n, op, self.shapes).sizes + operand)
        if isinstance(op, Custom) and _in_place(op) is not None and op.dims:
            identity = op.views[0] == tuple(range(len(op.views[0])))
            return Need("buffer", size, donors=(0,) if identity else ())
        return Need("external")

    @staticmethod
    def _scaled_operand(n: int, op: Contraction, shapes: Sequence[Shape]) -> int | None:
        """The operand a constant factor should scale: one far smaller than the result (else the result)."""
        if op.coefficient == 1.0:
            return None
        sizes = [math.prod(shapes[a]) for a in op.args]
        smallest = min(range(len(sizes)), key=sizes.__getitem__)
        return smallest if sizes[smallest] * SCALE_OPERAND_RATIO <= math.prod(shapes[n]) else None

    # -- steps --------------------------------------------------------------------------------------

    def _step(
        self,
        n: int,
        op: Op,
        need: Need,
        placement: Placement,
        general: Callable[[Op], GeneralStep],
        shapes: Sequence[Shape],
    ) -> Step:
        """Step ``n`` for slots of ``shapes`` (the plan's, or those of one row block)."""
        if need.kind != "buffer":
            run = general(op)
            return lambda slots, ctx, out, scratch: run(slots, ctx)
        shape = shapes[n]
        if isinstance(op, Elementwise):
            return self._kernel_step(n, op, shapes, placement)
        if isinstance(op, Contraction):
            return self._contraction_step(n, op, shapes)
        assert isinstance(op, Custom)
        rule, arg, view = _in_place(op), op.args[0], op.views[0]
        assert rule is not None
        donated, bound = placement.donor is not None, self._bound_slots.get(arg)
        return lambda slots, ctx, out, scratch: rule(
            x := slots[arg].transpose(view),
            x if donated else out[: x.size].reshape(shape),
            math.inf if bound is None else slots[bound],
        )

    def _kernel(self, n: int, op: Elementwise, donor: int | None, shapes: Sequence[Shape] | None = None) -> Kernel:
        """Step ``n``'s kernel compiled to write over argument ``donor`` (or into its own buffer), once per shape."""
        shapes = shapes or self.shapes
        key = (n, donor, shapes[n])
        if key not in self._kernels:
            self._kernels[key] = compile_kernel(op.tree, [shapes[a] for a in op.args], shapes[n], donor)
        return self._kernels[key]

    def _kernel_step(self, n: int, op: Elementwise, shapes: Sequence[Shape], placement: Placement) -> Step:
        donor, shape = placement.donor, shapes[n]
        kernel: Kernel | SymmetricKernel = (
            SymmetricKernel(op.tree, shape) if _blocked(op.tree, shape) else self._kernel(n, op, donor, shapes)
        )
        args, size = op.args, math.prod(shape)

        def step(slots: list[Any], ctx: Any, out: Any, scratch: list[Any]) -> Any:
            values = [slots[a] for a in args]
            target = values[donor] if donor is not None else out[:size].reshape(shape)
            return kernel.run(values, target, [s[:size].reshape(shape) for s in scratch])

        return step

    def _contraction(self, n: int, op: Contraction, shapes: Sequence[Shape]) -> PairwisePlan | GramPlan:
        """Step ``n``'s contraction plan, made once per shape."""
        key = (n, shapes[n])
        if key not in self._contractions:
            operands = [shapes[a] for a in op.args]
            gram = gram_contraction(op.inputs, op.output, operands) if op.args[:1] * 2 == op.args[:2] else None
            self._contractions[key] = gram or numpy_contraction(op.inputs, op.output, operands)
        return self._contractions[key]

    def _contraction_step(self, n: int, op: Contraction, shapes: Sequence[Shape]) -> Step:
        contract = self._contraction(n, op, shapes)
        args, scale, scaled = op.args, op.scale, self._scaled_operand(n, op, shapes)
        if scaled is None and not scale and op.coefficient == 1.0:
            return lambda slots, ctx, out, scratch: contract.run([slots[a] for a in args], out, scratch)
        coefficient = 1.0 if scaled is not None else op.coefficient
        factor_on_operand = op.coefficient
        operand_shape = shapes[args[scaled]] if scaled is not None else ()
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
            return self._run(ctx, self._buffers(dtype), dtype, None)
        try:
            kept = self._kept.get(dtype)
            if kept is None:
                kept = self._kept[dtype] = self._buffers(dtype)
            return self._run(ctx, kept, dtype, self._returned)
        finally:
            self._lock.release()

    def forget_buffers(self) -> None:
        """Let the kept buffers and returned arrays go (another shape signature is in use now), unless a call is
        using them (another thread's, or the caller's own when a rule calls the same program): they stay then."""
        if self._lock.acquire(blocking=False):
            try:
                self._kept = {}
                self._returned.forget()
            finally:
                self._lock.release()

    def _buffers(self, dtype: Any) -> list[Any]:
        return [np.empty(size, dtype) for size in self.memory.sizes]

    def _run(self, ctx: Any, buffers: list[Any], dtype: Any, returned: Returned | None) -> list[Any]:
        slots: list[Any] = [None] * (len(self.shapes) + len(self._bound_slots))
        for n, step, out, fresh, scratch, release in self.schedule:
            if isinstance(step, RowBlocks):
                step.run(slots, ctx, buffers, dtype, returned)
            else:
                target = buffers[out] if out is not None else _new(n, fresh, dtype, returned) if fresh else None
                slots[n] = step(slots, ctx, target, [buffers[b] for b in scratch] if scratch else [])
            for s in release:
                slots[s] = None
        return slots


def _new(slot: int, size: int, dtype: Any, returned: Returned | None) -> Any:
    """A new array for output ``slot`` (or the one it got last time, if the caller let that go)."""
    return np.empty(size, dtype) if returned is None else returned.array(slot, size, dtype)


def _reads_bound(op: Custom) -> bool:
    """Whether ``op``'s in-place rule uses a bound on its argument (`register_in_place()`)."""
    return any(cls in BOUNDED for cls in type(op.node).__mro__) and _in_place(op) is not None


def _blocked(tree: Any, shape: Shape) -> bool:
    """Whether a kernel's result is a symmetric matrix large enough to compute in blocks (`SymmetricKernel`)."""
    return len(shape) == 2 and shape[0] >= SYMMETRIC_FROM and symmetric(tree, shape)


def _arguments(op: Op) -> tuple[int, ...]:
    """The slots ``op`` reads, each once, in the order its placement's donor positions count."""
    return (*op.args, *op.scale) if isinstance(op, Contraction) else op.args


def _kernel_rows(op: Elementwise) -> set[int] | None:
    """The slots a kernel reads row by row (their first axis along the result's), if it reads every other argument
    whole and constant along the rows; else ``None``."""
    by_rows: dict[int, bool] = {}
    for k, view in arg_views(op.tree):
        first = view[0] if view else None
        rows = first == 0
        if (first is not None and not rows) or (rows and 0 in view[1:]) or by_rows.setdefault(k, rows) != rows:
            return None
    sliced = {op.args[k] for k, rows in by_rows.items() if rows}
    whole = {op.args[k] for k, rows in by_rows.items() if not rows}
    return sliced if not sliced & whole else None


def _along_other_axis(node: Expr) -> bool:
    """Whether ``node`` is computed along an ``axis`` index other than its argument's first (see
    `register_in_place()`), so independently along the rows."""
    axis, free = getattr(node, "axis", None), getattr(getattr(node, "arg", None), "free", ())
    return axis in free and free.index(axis) != 0


class _BlockShapes(Sequence[Shape]):
    """The plan's shapes seen by one row block of ``rows`` rows: step ``n``'s result and the slots it slices."""

    def __init__(self, shapes: Sequence[Shape], sliced: frozenset[int], n: int, rows: int) -> None:
        self.shapes, self.rowed, self.rows = shapes, sliced | {n}, rows

    def __getitem__(self, slot: Any) -> Any:
        shape = self.shapes[slot]
        return (self.rows, *shape[1:]) if slot in self.rowed else shape

    def __len__(self) -> int:
        return len(self.shapes)


@dataclass(frozen=True)
class _Member:
    """A step of a `RowBlocks` group: its slot, its block step per row count, where it writes, what it slices."""

    n: int
    out: int | None
    fresh: int
    scratch: tuple[int, ...]
    steps: dict[int, Step]
    sliced: frozenset[int]
    donor: int | None
    """The slot it writes over, if any."""


class _Rows:
    """The slots as one row block's steps see them: the block of each slot a step slices, the block results of the
    group's steps made so far."""

    __slots__ = ("made", "sliced", "slots", "start", "stop")

    def __init__(self, slots: list[Any], start: int, stop: int) -> None:
        self.slots, self.start, self.stop = slots, start, stop
        self.made: dict[int, Any] = {}
        self.sliced: frozenset[int] = frozenset()

    def __getitem__(self, slot: int) -> Any:
        if slot in self.made:
            return self.made[slot]
        value = self.slots[slot]
        return value[self.start : self.stop] if slot in self.sliced else value


class RowBlocks:
    """Consecutive row-wise steps run block of rows by block (`eincalc.numeric.blocking`): every step on rows
    ``ranges[0]``, then every step on the next rows, each writing its rows of its planned buffer."""

    def __init__(self, members: list[_Member], ranges: list[tuple[int, int]], shapes: list[Shape]) -> None:
        self.members, self.ranges, self.shapes = members, ranges, shapes

    def run(self, slots: list[Any], ctx: Any, buffers: list[Any], dtype: Any, returned: Returned | None) -> None:
        """Fill the members' slots (new arrays from ``returned``, where given)."""
        targets: list[Any] = [
            buffers[m.out] if m.out is not None else _new(m.n, m.fresh, dtype, returned) if m.fresh else None
            for m in self.members
        ]
        scratch = [[buffers[b] for b in m.scratch] for m in self.members]
        widths = [math.prod(shape[1:]) for shape in self.shapes]
        for start, stop in self.ranges:
            rows = _Rows(slots, start, stop)
            for member, target, width, own in zip(self.members, targets, widths, scratch, strict=True):
                rows.sliced = member.sliced
                flat = None if target is None else target[start * width : stop * width]
                rows.made[member.n] = member.steps[stop - start](rows, ctx, flat, own)  # type: ignore[arg-type]
        for member, target, shape in zip(self.members, targets, self.shapes, strict=True):
            whole = slots[member.donor] if member.donor is not None else target[: math.prod(shape)].reshape(shape)
            slots[member.n] = whole
