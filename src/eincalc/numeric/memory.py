"""The memory plan of a compiled program: which buffer every step writes into, reused across steps and calls.

Given, for each step, what its result is (`Need`), `plan_memory()`
decides once per shape signature:

* **donation**: an element-wise step (or a softmax) may write its result over
  an argument that dies there, so ``σ(X W + b)`` and ``P ⊙ (dP − r)`` need no
  new array at all;
* **reuse**: a buffer whose values are dead (after their last reader) serves a
  later step, so a chain of layers cycles through a few buffers;
* **outputs** are written into arrays the caller receives (new ones, or the
  last call's once the caller let those go: `eincalc.numeric.returned`), and
  so is everything an output is a view of or was written over.

Buffers are flat; a step views the first ``size`` elements in the shape it
wants.  The runtime allocates the buffers once and keeps them between calls, so
a warm call allocates nothing but its outputs.

>>> needs = [Need("external"), Need("buffer", 6), Need("buffer", 6, donors=(0,)), Need("buffer", 2)]
>>> plan = plan_memory(needs, [(), (0,), (1,), (2,)], outputs={3})
>>> plan.sizes, [p.out for p in plan.placements], plan.placements[2].donor
([6], [None, 0, 0, 'fresh'], 0)
"""

from __future__ import annotations

import bisect
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from typing import Literal

FRESH: Literal["fresh"] = "fresh"
"""A result written into a new array on every call (an output, or what an output is made from)."""


@dataclass(frozen=True, slots=True)
class Need:
    """What a step's result is.

    ``kind``: ``"buffer"`` (written into a buffer of ``size`` elements it is given), ``"alias"`` (a view of its
    argument ``donors[0]``) or ``"external"`` (an input, a constant, or an array some rule returns).
    ``donors``: argument positions the step may overwrite (each read once, at the same shape and layout).
    ``scratch``: element counts of buffers the step uses only while it runs.
    """

    kind: Literal["buffer", "alias", "external"]
    size: int = 0
    donors: tuple[int, ...] = ()
    scratch: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class Placement:
    """Where a step writes: buffer ``out`` (``"fresh"``: a new array; ``None``: nowhere, it returns its result),
    over its argument ``donor`` when set, using the buffers ``scratch`` meanwhile."""

    out: int | Literal["fresh"] | None = None
    donor: int | None = None
    scratch: tuple[int, ...] = ()


@dataclass
class MemoryPlan:
    """Per step its placement and the slots dropped after it; the element count of every kept buffer."""

    placements: list[Placement] = field(default_factory=list)
    release: list[list[int]] = field(default_factory=list)
    sizes: list[int] = field(default_factory=list)


class _Groups:
    """Slots that share one buffer (a view and what it views, a result and the argument it overwrote), and the
    last step that reads any of them."""

    def __init__(self, last_use: dict[int, int], time: Sequence[int]) -> None:
        self.parent = list(range(len(time)))
        self.end = [last_use.get(slot, time[slot]) for slot in range(len(time))]
        """Per group root, the moment (position in the order of steps) of its last reader."""

    def find(self, slot: int) -> int:
        while self.parent[slot] != slot:
            self.parent[slot] = self.parent[self.parent[slot]]
            slot = self.parent[slot]
        return slot

    def join(self, a: int, b: int) -> None:
        a, b = self.find(a), self.find(b)
        self.parent[a] = b
        self.end[b] = max(self.end[a], self.end[b])


class _Pool:
    """Free buffers by size: a request takes the smallest free buffer that fits, else a new one."""

    def __init__(self) -> None:
        self.sizes: list[int] = []
        self.free: list[tuple[int, int]] = []
        """``(size, buffer)`` of the free buffers, sorted: the first that fits is the smallest (a search, not a
        scan: a program of thousands of steps is planned in time linear in its length)."""

    def take(self, size: int) -> int:
        at = bisect.bisect_left(self.free, (size, -1))
        if at < len(self.free):
            return self.free.pop(at)[1]
        self.sizes.append(size)
        return len(self.sizes) - 1

    def give(self, buffer: int) -> None:
        bisect.insort(self.free, (self.sizes[buffer], buffer))


def plan_memory(
    needs: Sequence[Need],
    args: Sequence[Sequence[int]],
    outputs: Collection[int],
    order: Sequence[int] | None = None,
    blocked: Sequence[Sequence[int]] = (),
    read_whole: Sequence[Collection[int]] = (),
) -> MemoryPlan:
    """Place every step's result (``needs[n]``, reading the slots ``args[n]``) so that buffers are reused.

    Slot ``n`` is the result of step ``n``; ``outputs`` are the slots the caller receives.  The steps run in
    ``order`` (slots; default: by number).  Each group of ``blocked`` (consecutive in ``order``) runs row block by
    row block, all its steps for one block before the next block: a buffer freed inside a group (and every scratch
    buffer of its steps) is taken back only after the group's last step, so no step of the group writes over rows a
    step of the group has yet to read.  An argument donated to a step of a group is read by the group at the rows
    that step writes only: ``read_whole[k]``, the slots group ``k`` reads whole (a vector broadcast along the
    rows), are never donated to its steps, since a first block would write over what the next block reads.

    >>> needs, chain = [Need("buffer", 6)] * 4, [(), (0,), (1,), (2,)]
    >>> [p.out for p in plan_memory(needs, chain, outputs={3}).placements]   # step 2 takes back step 0's buffer ...
    [0, 1, 0, 'fresh']
    >>> [p.out for p in plan_memory(needs, chain, outputs={3}, blocked=[[0, 1, 2]]).placements]   # ... not in blocks
    [0, 1, 2, 'fresh']
    """
    count = len(needs)
    order = range(count) if order is None else order
    time = [0] * count
    for moment, slot in enumerate(order):
        time[slot] = moment
    last_use = {s: time[n] for n in order for s in args[n]}
    groups = _Groups(last_use, time)
    for n in order:
        need = needs[n]
        if need.kind == "alias" and needs[args[n][need.donors[0]]].kind != "external":
            groups.join(n, args[n][need.donors[0]])
    donors: dict[int, int] = {}
    group_of = {n: k for k, group in enumerate(blocked) for n in group}
    kept: dict[int, set[int]] = {}
    """Per group, the buffers (roots) of what it reads whole, taken at its first step: no step of the group joins
    them to another buffer, since each of those slots is read until the group's end."""
    for n in order:
        if needs[n].kind == "buffer":
            k = group_of.get(n, -1)
            if k >= 0 and k not in kept and read_whole:
                kept[k] = {groups.find(s) for s in read_whole[k]}
            donor = _donor(n, time[n], needs, args, groups, outputs, kept.get(k, set()))
            if donor is not None:
                donors[n] = donor
                groups.join(n, args[n][donor])
    fresh = {groups.find(s) for s in outputs if needs[s].kind != "external"}
    held = {time[n]: time[group[-1]] for group in blocked for n in group}
    return _assign(needs, groups, donors, fresh, outputs, last_use, (order, held))


def _donor(
    n: int,
    moment: int,
    needs: Sequence[Need],
    args: Sequence[Sequence[int]],
    groups: _Groups,
    outputs: Collection[int],
    kept: Collection[int],
) -> int | None:
    """The first argument step ``n`` (run at ``moment``) may overwrite: a buffer of the same size that nothing reads
    later, and none of the buffers ``kept`` (roots of `_Groups`) its row-block group reads whole."""
    need = needs[n]
    for position in need.donors:
        slot = args[n][position]
        if (
            needs[slot].kind == "buffer"
            and needs[slot].size == need.size
            and slot not in outputs
            and args[n].count(slot) == 1
            and groups.end[groups.find(slot)] <= moment
            and groups.find(slot) not in kept
        ):
            return position
    return None


def _assign(
    needs: Sequence[Need],
    groups: _Groups,
    donors: dict[int, int],
    fresh: set[int],
    outputs: Collection[int],
    last_use: dict[int, int],
    timing: tuple[Sequence[int], dict[int, int]],
) -> MemoryPlan:
    """Walk the steps in order, giving each new group a free buffer and taking it back after its last reader (or,
    inside a blocked group of steps, after that group's last step); ``timing``: the order of the steps, and for
    each moment in a blocked group, the moment its buffers are held until."""
    order, held = timing
    pool = _Pool()
    buffer_of: dict[int, int] = {}
    placements: list[Placement | None] = [None] * len(needs)
    release: list[list[int]] = [[] for _ in needs]
    readers_done: dict[int, list[int]] = {}
    for slot, last in last_use.items():
        if slot not in outputs:
            readers_done.setdefault(last, []).append(slot)
    dying: dict[int, list[int]] = {}
    for root in {groups.find(slot) for slot in range(len(needs)) if needs[slot].kind == "buffer"}:
        dying.setdefault(held.get(groups.end[root], groups.end[root]), []).append(root)
    returning: dict[int, list[int]] = {}
    for moment, n in enumerate(order):
        need, root = needs[n], groups.find(n)
        out: int | Literal["fresh"] | None = None
        if need.kind == "buffer":
            if root in fresh:
                out = FRESH
            elif root in buffer_of:
                out = buffer_of[root]
            else:
                out = buffer_of[root] = pool.take(need.size)
        scratch = tuple(pool.take(size) for size in need.scratch)
        returning.setdefault(held.get(moment, moment), []).extend(scratch)
        placements[n] = Placement(out, donors.get(n), scratch)
        for buffer in returning.pop(moment, []):
            pool.give(buffer)
        for ended in dying.get(moment, []):
            if ended in buffer_of:
                pool.give(buffer_of[ended])
        release[n] = readers_done.get(moment, [])
    plan = MemoryPlan([p for p in placements if p is not None], release)
    plan.sizes = pool.sizes
    return plan
