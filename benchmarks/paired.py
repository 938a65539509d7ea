"""Paired comparisons behind benchmarks/README's section on CPUs without AVX-512: ``python benchmarks/paired.py``.

Each comparison times its variants back to back in every round (in alternating order) and prints, for each, its
median time and the median and quartiles of its per-round ratio to the first: on a machine whose speed drifts,
a ratio taken within one round moves far less than one of two medians.  BLAS runs on one thread, and
allocations come from the heap as in a whole run of ``run.py`` (see the end of the file).

* B4 (T = 512) and LS: NumPy, eincalc, and the row's floor (`numeric.Floor`: its GEMMs and exponentials alone).
* B3 (xᵀAx, n = 2000): NumPy, and eincalc with symmetric blocks of 128 and of 256 (`SYMMETRIC_BLOCK`).
* B4 (T = 512): NumPy, and eincalc planned with row blocks (`blocking.BLOCK_BYTES`) and without.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))

import numeric  # after the thread count
import numpy as np

from eincalc.numeric import blocking, elementwise


class _NoFrameworks:
    """Framework variants left out: every method gives none."""

    def __getattr__(self, name: str) -> Callable[..., dict[str, Any]]:
        return lambda *args, **kwargs: {}


def paired(title: str, variants: dict[str, Callable[[], Any]], rounds: int) -> None:
    """Print each variant's median seconds and its per-round ratio to the first (median [quartiles])."""
    names = list(variants)
    times: dict[str, list[float]] = {name: [] for name in names}
    for call in variants.values():
        call()
    for round_ in range(rounds):
        for name in names if round_ % 2 == 0 else names[::-1]:
            start = time.perf_counter()
            variants[name]()
            times[name].append(time.perf_counter() - start)
    print(f"{title}, {rounds} rounds")
    for name in names:
        ratios = sorted(mine / base for mine, base in zip(times[name], times[names[0]], strict=True))
        quartiles = statistics.quantiles(ratios, n=4)
        print(
            f"  {name:32s} {statistics.median(times[name]) * 1e3:8.2f} ms   ratio {statistics.median(ratios):.3f} "
            f"[{quartiles[0]:.3f}–{quartiles[2]:.3f}]"
        )


def with_constant(module: Any, name: str, value: Any, call: Callable[[], Any]) -> Callable[[], Any]:
    """``call`` run with ``module.name`` set to ``value`` (restored after)."""

    def run() -> Any:
        kept = getattr(module, name)
        setattr(module, name, value)
        try:
            return call()
        finally:
            setattr(module, name, kept)

    return run


def floors() -> None:
    for case in (
        numeric.attention_case(512, 64, _NoFrameworks()),
        numeric.least_squares_case(10_000, 500, 100, _NoFrameworks()),
    ):
        assert case.floor is not None
        variants = {"NumPy": case.numpy, "eincalc": case.eincalc, f"floor: {case.floor[0]}": case.floor[1]}
        paired(f"{case.benchmark} {case.name}", variants, 41 if case.benchmark == "B4" else 15)


def symmetric_blocks() -> None:
    case = numeric.quadratic_hessian_case(2000, _NoFrameworks())
    variants = {"NumPy": case.numpy}
    for side in (128, 256):
        variants[f"eincalc, blocks of {side}"] = with_constant(elementwise, "SYMMETRIC_BLOCK", side, case.eincalc)
    paired(f"{case.benchmark} {case.name}", variants, 41)


def row_blocks() -> None:
    """B4 compiled twice: planned with row blocks as they are, and with groups too large to block (none)."""
    variants = {"NumPy": numeric.attention_case(512, 64, _NoFrameworks()).numpy}
    for label, limit in (("row blocks", blocking.BLOCKED_FROM), ("no row blocks", sys.maxsize)):
        case = numeric.attention_case(512, 64, _NoFrameworks())
        with_constant(blocking, "BLOCKED_FROM", limit, case.eincalc)()  # the first call plans
        variants[f"eincalc, {label}"] = case.eincalc
    paired("B4 attention T=512, d=64", variants, 61)


if __name__ == "__main__":
    # a large array freed raises glibc's threshold for serving allocations from fresh, zeroed pages, as the earlier
    # rows of a whole run do; without it NumPy's 2 MiB temporaries of B4 take page faults on every call
    del_ = np.ones(3_000_000)
    del del_
    floors()
    symmetric_blocks()
    row_blocks()
