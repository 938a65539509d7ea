"""Row blocks: a run of row-wise steps over large arrays goes block by block, each block staying in cache.

A step is *row-wise* when row ``i`` of its result needs only row ``i`` of the
arrays it slices (and arrays it reads whole): an element-wise kernel, a
softmax along another axis, dot products along the rows.  Run one after the
other, such steps stream every large array through memory once each; run block
by block (all steps on rows ``0:b``, then on rows ``b:2b``, …), each block of
their arrays is read again while it is still in cache.  The softmax backward
``P ⊙ (dP − Σ_j P ⊙ dP)`` after ``P = softmax(Z)`` is one such run: it stays a
run when the steps that do not read it (the GEMM of ``dP``) are moved before
it, which `schedule()` does.

`eincalc.numeric.fastplan` says which steps are row-wise; the memory plan
(`eincalc.numeric.memory`) keeps every buffer a group reads until its last step.

>>> steps = [None, RowStep(4096, frozenset({0})), None, RowStep(4096, frozenset({1, 2}))]
>>> schedule([(), (0,), (), (1, 2)], steps, [2**21] * 4)   # step 2 reads no member: it runs before the group
([0, 2, 1, 3], [[1, 3]])
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

BLOCK_BYTES = 512 * 1024
"""About the bytes of one row block of the widest array in a group (several such blocks fit a core's L2 cache)."""
BLOCKED_FROM = 2 * BLOCK_BYTES
"""Smallest array (bytes) of a group worth blocking: smaller groups stay in cache without it."""


@dataclass(frozen=True, slots=True)
class RowStep:
    """A row-wise step: the number of rows of its result, and the slots it reads row by row (it reads the other
    slots it reads whole)."""

    rows: int
    sliced: frozenset[int]


def schedule(
    args: Sequence[Sequence[int]], row_steps: Sequence[RowStep | None], nbytes: Sequence[int]
) -> tuple[list[int], list[list[int]]]:
    """An order of the steps and the groups of consecutive row-wise steps in it to run in row blocks.

    ``args[n]``: the slots step ``n`` reads; ``row_steps[n]``: how it is row-wise (``None``: it is not);
    ``nbytes[n]``: the size of its result.  While a group is open, a step that reads none of its members moves
    before it; a step that reads a member otherwise than row by row closes it.  A group of one step, or of arrays
    smaller than `BLOCKED_FROM`, is no group: its steps keep their places.
    """
    order: list[int] = []
    groups: list[list[int]] = []
    members: dict[int, None] = {}
    moved: list[int] = []

    def close() -> None:
        if len(members) > 1 and max(nbytes[n] for n in members) >= BLOCKED_FROM:
            order.extend(moved + list(members))
            groups.append(list(members))
        else:
            order.extend(sorted(moved + list(members)))
        members.clear()
        moved.clear()

    for n, reads in enumerate(args):
        step = row_steps[n]
        inside = {s for s in reads if s in members}
        first = row_steps[next(iter(members))] if members else None
        if step is not None and first is not None and step.rows == first.rows and inside <= step.sliced:
            members[n] = None
        elif members and not inside:
            moved.append(n)
        else:
            close()
            if step is not None:
                members[n] = None
            else:
                order.append(n)
    close()
    return order, groups


def blocks(rows: int, row_bytes: int) -> list[tuple[int, int]]:
    """Row ranges of about `BLOCK_BYTES` each (rows of ``row_bytes``), at least two rows each (where there are two).

    >>> blocks(512, 4096)
    [(0, 128), (128, 256), (256, 384), (384, 512)]
    >>> blocks(5, 10**6)
    [(0, 2), (2, 5)]
    """
    size = max(2, BLOCK_BYTES // max(row_bytes, 1))
    starts = [start for start in range(0, rows, size) if start == 0 or rows - start >= 2]
    return list(zip(starts, [*starts[1:], rows], strict=True))
