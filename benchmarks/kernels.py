"""Single NumPy calls behind the B4 and LS rows, timed side by side: ``python benchmarks/kernels.py``.

Prints the median of 15 rounds (each round times every call once, in turn)
of: float64 ``exp`` against a multiplication over the 512×512 scores of B4
(where NumPy has no SIMD ``exp`` for float64, as on CPUs without AVX-512, the
exponential costs many multiplications), and the subtraction ``R − Y`` of
least squares with both operands row-major against ``R`` column-major (the
layout of ``X W`` computed as ``(Wᵀ Xᵀ)ᵀ``), with BLAS on one thread.
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # after the thread count


def timed(calls: dict[str, Callable[[], object]], rounds: int = 15) -> dict[str, float]:
    """Median seconds per call of each of ``calls``, over ``rounds`` rounds that call each in turn."""
    samples: dict[str, list[float]] = {name: [] for name in calls}
    for _ in range(rounds):
        for name, call in calls.items():
            start = time.perf_counter()
            call()
            samples[name].append(time.perf_counter() - start)
    return {name: statistics.median(times) for name, times in samples.items()}


def main() -> None:
    rng = np.random.default_rng(0)
    scores = rng.standard_normal((512, 512)) * 4
    out = np.empty_like(scores)
    residual, targets = rng.standard_normal((10_000, 100)), rng.standard_normal((10_000, 100))
    column_major = np.asfortranarray(residual)
    times = timed(
        {
            "exp, 512×512": lambda: np.exp(scores, out=out),
            "multiply, 512×512": lambda: np.multiply(scores, scores, out=out),
            "R − Y, both row-major, 10000×100": lambda: np.subtract(residual, targets, out=residual),
            "R − Y, R column-major": lambda: np.subtract(column_major, targets, out=column_major),
        }
    )
    for name, seconds in times.items():
        print(f"{name:36s} {seconds * 1e3:7.3f} ms")
    names = list(times)
    print(
        f"exp / multiply: {times[names[0]] / times[names[1]]:.1f}×; "
        f"mixed / same layout: {times[names[3]] / times[names[2]]:.1f}×"
    )


if __name__ == "__main__":
    main()
