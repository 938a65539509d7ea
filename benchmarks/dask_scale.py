"""Dask at scale: eincalc's compiled logistic-regression gradient against dask.array written by hand.

``python benchmarks/dask_scale.py [--rows 2000000,10000000] [--repeats 3] [--split]`` starts a
``dask.distributed`` LocalCluster (2 worker processes, 1 thread each, ``memory_limit`` 3 GiB each) and
computes ``∇_w Σ binary_cross_entropy(X w, y) = Xᵀ(σ(X w) − y)`` for X of each row count × 50 float64,
in 100,000-row chunks, two ways:

* eincalc: ``ec.compile(ec.grad(ec.binary_cross_entropy(X @ w, y), w))`` called on the Dask arrays;
* hand: ``X.T @ (1 / (1 + da.exp(-(X @ w))) - y)`` in dask.array (``--split`` adds the same written
  ``X.T @ σ(X w) - X.T @ y``, the form eincalc lowered before issue 14 item 7).

X and y are generated on the workers (``da.random.default_rng`` with a fixed seed), never in the client;
only w (50 numbers) and the 50 results travel.  Both results are checked to agree before anything is reported.

Each measured run starts a fresh LocalCluster (so no run inherits another's heap), runs a small warm-up
(imports on the workers), then the run itself.  Peak worker memory: a thread in the client reads each worker
process's resident set size (``psutil.Process(pid).memory_info().rss``, the pids from
``client.run(os.getpid)``) every 10 ms during the run; a row reports the largest RSS any one worker reached,
and the workers' RSS just before the run (``idle``).  Time is the wall time of ``.compute()``; worker CPU is
the CPU seconds (user + system) both workers spent meanwhile, steadier than wall time on a shared machine.
Rounds alternate the contenders; the table shows medians of ``--repeats`` rounds and the ratios
eincalc/hand of those medians.  The goals (issue 14, item 7): eincalc's peak flat as N grows and within
1.3× hand's; its time within 1.2× hand's.
"""

# ruff: noqa: N803 - matrices are capitals (X), as in the formulas they stand for

from __future__ import annotations

import argparse
import datetime
import os
import platform
import statistics
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

CHUNK_ROWS = 100_000
COLUMNS = 50
GIB = 2**30


def _ec() -> Any:
    try:
        import eincalc
    except ImportError:
        sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))
        import eincalc
    return eincalc


def _options() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", default="2000000,10000000", help="comma-separated row counts of X")
    parser.add_argument("--repeats", type=int, default=3, help="rounds per row count (medians are reported)")
    parser.add_argument("--split", action="store_true", help="also time the hand-written split form Xᵀσ − Xᵀy")
    return parser.parse_args()


class PeakSampler:
    """The largest resident set size of each of ``pids``, sampled every ``interval`` seconds while active, and
    the CPU seconds (user + system) the processes spent meanwhile."""

    def __init__(self, pids: list[int], interval: float = 0.01) -> None:
        import psutil

        self.processes = [psutil.Process(pid) for pid in pids]
        self.interval = interval
        self.peaks = [p.memory_info().rss for p in self.processes]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peaks = [max(peak, p.memory_info().rss) for peak, p in zip(self.peaks, self.processes, strict=True)]
            self._stop.wait(self.interval)

    def _cpu(self) -> float:
        return sum(p.cpu_times().user + p.cpu_times().system for p in self.processes)

    def __enter__(self) -> PeakSampler:
        self.cpu = -self._cpu()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.cpu += self._cpu()


def _inputs(rows: int, seed: int = 0) -> tuple[Any, Any, Any]:
    """X (rows × 50) and y (0/1) made by tasks on the workers; w a small NumPy vector from the client."""
    import dask.array as da
    import numpy as np

    X = da.random.default_rng(seed).standard_normal((rows, COLUMNS), chunks=(CHUNK_ROWS, COLUMNS))
    y = (da.random.default_rng(seed + 1).random(rows, chunks=CHUNK_ROWS) < 0.5).astype(np.float64)
    w = np.random.default_rng(seed + 2).standard_normal(COLUMNS) / np.sqrt(COLUMNS)
    return X, y, w


def contenders(split: bool) -> dict[str, Callable[[Any, Any, Any], Any]]:
    """Each contender builds the lazy gradient from (X, y, w)."""
    import dask.array as da

    ec = _ec()
    Xs, ys, ws = ec.tensors("X[b,n] y[b] w[n]")
    compiled = ec.compile(ec.grad(ec.binary_cross_entropy(Xs @ ws, ys), ws))
    chosen: dict[str, Callable[[Any, Any, Any], Any]] = {
        "eincalc": lambda X, y, w: compiled(X=X, y=y, w=w),
        "hand": lambda X, y, w: X.T @ (1 / (1 + da.exp(-(X @ w))) - y),
    }
    if split:
        chosen["hand, split"] = lambda X, y, w: X.T @ (1 / (1 + da.exp(-(X @ w)))) - X.T @ y
    return chosen


def measure(build: Callable[[Any, Any, Any], Any], rows: int) -> tuple[float, float, int, int, Any]:
    """(seconds, worker CPU seconds, peak RSS of one worker, largest idle RSS of a worker, result) of one run on
    a fresh cluster."""
    from dask.distributed import Client, LocalCluster

    with (
        LocalCluster(n_workers=2, threads_per_worker=1, memory_limit="3GiB", processes=True) as cluster,
        Client(cluster) as client,
    ):
        build(*_inputs(2 * CHUNK_ROWS, seed=99)).compute()  # warm-up: the workers import what the tasks use
        pids = list(client.run(os.getpid).values())
        lazy = build(*_inputs(rows))
        with PeakSampler(pids) as sampler:
            idle = max(sampler.peaks)
            start = time.perf_counter()
            result = lazy.compute()
            seconds = time.perf_counter() - start
    return seconds, sampler.cpu, max(sampler.peaks), idle, result


FIELDS = ("time", "cpu", "peak", "idle")


def _row(rows: int, name: str, samples: list[tuple[float, float, int, int]]) -> dict[str, Any]:
    return {"rows": rows, "name": name} | {f: statistics.median(s[n] for s in samples) for n, f in enumerate(FIELDS)}


def run_size(rows: int, repeats: int, split: bool) -> list[dict[str, Any]]:
    import numpy as np

    chosen = contenders(split)
    samples: dict[str, list[tuple[float, float, int, int]]] = {name: [] for name in chosen}
    results: dict[str, Any] = {}
    for round_ in range(repeats):
        names = list(chosen) if round_ % 2 == 0 else list(reversed(chosen))
        for name in names:
            seconds, cpu, peak, idle, results[name] = measure(chosen[name], rows)
            samples[name].append((seconds, cpu, peak, idle))
            line = f"{rows:>11,} rows  {name:<12} {seconds:7.2f} s  CPU {cpu:7.2f} s  peak {peak / GIB:5.2f} GiB"
            print(line, file=sys.stderr)
    for name, result in results.items():
        if not np.allclose(result, results["hand"], rtol=1e-9, atol=1e-6):
            raise SystemExit(f"MISMATCH: {name} differs from the hand-written gradient at {rows} rows")
    return [_row(rows, name, samples[name]) for name in chosen]


def table(rows: list[dict[str, Any]]) -> str:
    head = "| X rows | contender | time (s) | worker CPU (s) | peak worker memory (GiB) | idle (GiB) | time ÷ hand "
    lines = [head + "| CPU ÷ hand | peak ÷ hand |", "|---:|---|---:|---:|---:|---:|---:|---:|---:|"]
    hand = {r["rows"]: r for r in rows if r["name"] == "hand"}
    for r in rows:
        base = hand[r["rows"]]
        lines.append(
            f"| {r['rows']:,} | {r['name']} | {r['time']:.2f} | {r['cpu']:.2f} | {r['peak'] / GIB:.2f} "
            f"| {r['idle'] / GIB:.2f} | {r['time'] / base['time']:.2f}× | {r['cpu'] / base['cpu']:.2f}× "
            f"| {r['peak'] / base['peak']:.2f}× |"
        )
    return "\n".join(lines)


def flatness(rows: list[dict[str, Any]]) -> str:
    """Peak memory at the largest row count over the smallest, per contender."""
    parts = []
    for name in dict.fromkeys(r["name"] for r in rows):
        mine = sorted((r for r in rows if r["name"] == name), key=lambda r: r["rows"])
        if len(mine) > 1:
            parts.append(f"{name} {mine[-1]['peak'] / mine[0]['peak']:.2f}×")
    return "peak at the most rows ÷ peak at the fewest: " + ", ".join(parts) if parts else ""


def _cpu_name() -> str:
    """The processor's model name (Linux), else what the platform module says."""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def main() -> None:
    options = _options()
    sizes = [int(n) for n in options.rows.split(",")]
    print(f"eincalc on Dask, {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC", file=sys.stderr)
    first_load = os.getloadavg()[0]
    rows = [r for n in sizes for r in run_size(n, options.repeats, options.split)]
    import dask
    import distributed
    import numpy
    import psutil

    load = os.getloadavg()
    print(
        f"{datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC, {_cpu_name()}, "
        f"{os.cpu_count()} logical CPUs, {psutil.virtual_memory().total / GIB:.0f} GiB; "
        f"Python {platform.python_version()}, NumPy {numpy.__version__}, "
        f"Dask {dask.__version__}, distributed {distributed.__version__}; LocalCluster 2 workers × 1 thread, "
        f"3 GiB each; X × {COLUMNS} float64 in {CHUNK_ROWS:,}-row chunks; medians of {options.repeats} rounds; "
        f"load average {first_load:.1f} at the start, {load[0]:.1f} {load[1]:.1f} {load[2]:.1f} at the end\n"
    )
    print(table(rows))
    print()
    print(flatness(rows))


if __name__ == "__main__":
    main()
