"""Timing and memory helpers shared by the benchmarks: interleaved samples, peak memory, the table."""

from __future__ import annotations

import statistics
import time
import tracemalloc
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

Candidate = Callable[[], object]

SLOW_SECONDS = 5.0
"""A candidate whose first call takes longer than this is timed once (marked ``1×``) instead of repeatedly."""
SAMPLE_SECONDS = 0.02
"""A fast candidate is called several times per sample, so that one sample lasts about this long."""
CLOCKS: dict[str, Callable[[], float]] = {"wall": time.perf_counter, "cpu": time.process_time}
"""``wall``: elapsed time; ``cpu``: this process's CPU time (user + system, page faults included), which other
processes on a shared machine disturb far less (it still counts cache and memory contention)."""
clock = CLOCKS["wall"]


@dataclass(frozen=True)
class Sample:
    """Seconds per call over the timed rounds: the fastest, the median and the slowest round."""

    low: float
    median: float
    high: float

    def __str__(self) -> str:
        return f"{seconds(self.median)} [{seconds(self.low)}–{seconds(self.high)}]"


Measured = Sample | float | str
"""A cell: timed seconds, a single number (bytes, or seconds timed once), or a note."""


def median(value: Measured | None) -> float | None:
    """The number a ratio compares: a sample's median, or the number itself."""
    if isinstance(value, Sample):
        return value.median
    return value if isinstance(value, float) else None


@dataclass
class Row:
    """One line of the table: a case, the seconds (or a note) per contender, and a target."""

    benchmark: str
    case: str
    seconds: dict[str, Measured] = field(default_factory=dict)
    baseline: str = "NumPy"
    target: float | None = None
    """Largest acceptable ratio of eincalc to the baseline."""
    limit: float | None = None
    """Largest acceptable eincalc time in seconds (rows without a baseline)."""
    given_ratio: float | None = None
    """A ratio computed elsewhere (B5: time at L = 100 over time at L = 10)."""
    unit: str = "s"
    note: str = ""

    def ratio(self) -> float | None:
        if self.given_ratio is not None:
            return self.given_ratio
        mine, base = median(self.seconds.get("eincalc")), median(self.seconds.get(self.baseline))
        if mine is not None and base is not None and base > 0:
            return mine / base
        return None

    def verdict(self) -> str:
        ratio, mine = self.ratio(), median(self.seconds.get("eincalc"))
        if self.target is not None and ratio is not None:
            return "ok" if ratio <= self.target else "MISSED"
        if self.limit is not None and mine is not None:
            return "ok" if mine < self.limit else "MISSED"
        return ""

    def goal(self) -> str:
        if self.target is not None:
            return f"≤ {self.target:.2f}×"
        return f"< {seconds(self.limit)}" if self.limit is not None else ""


def interleaved(candidates: dict[str, Candidate | str], repeats: int) -> dict[str, Measured]:
    """Seconds per call for each candidate over ``repeats`` rounds (fastest, median, slowest round).

    Each round takes one sample of every candidate in turn (in alternating
    order), so drift in machine speed hits all alike; a sample of a fast
    candidate times several calls.  A candidate given as a string
    (``"not installed"``) is reported as it is.
    """
    results: dict[str, Measured] = {}
    runs: dict[str, list[float]] = {}
    calls: dict[str, int] = {}
    for name, fn in candidates.items():
        if isinstance(fn, str):
            results[name] = fn
            continue
        fn()  # warm-up: plans, JIT compilation, caches
        start = clock()
        fn()
        first = clock() - start
        if first > SLOW_SECONDS:
            results[name] = f"{seconds(first)} (1×)"
        else:
            calls[name] = max(1, min(1000, int(SAMPLE_SECONDS / max(first, 1e-7))))
            runs[name] = []
    for round_ in range(repeats):
        for name in list(calls) if round_ % 2 == 0 else list(reversed(calls)):
            fn = candidates[name]
            assert callable(fn)
            start = clock()
            for _ in range(calls[name]):
                fn()
            runs[name].append((clock() - start) / calls[name])
    for name in calls:
        results[name] = Sample(min(runs[name]), statistics.median(runs[name]), max(runs[name]))
    return {name: results[name] for name in candidates}


def peak_bytes(make: Callable[[], Candidate]) -> int:
    """Peak bytes Python-visible allocations reach (NumPy buffers included) while ``make()`` builds a contender and
    it is called twice: what a contender keeps between calls counts (a compiled program's buffers, and the last
    results it writes over once they are let go)."""
    tracemalloc.start()
    try:
        fn = make()
        fn()
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def _bytes(value: float) -> str:
    return f"{value / 2**20:.1f} MiB"


def seconds(value: float) -> str:
    """``value`` seconds, in s, ms or µs."""
    if value >= 1:
        return f"{value:.2f} s"
    if value >= 1e-3:
        return f"{value * 1e3:.2f} ms"
    return f"{value * 1e6:.0f} µs"


def render(rows: Sequence[Row], contenders: Sequence[str]) -> str:
    """A plain-text table: seconds per contender (median [min–max]), eincalc's ratio of medians to the baseline's,
    and the target."""
    header = ["bench", "case", *contenders, "ratio", "target", ""]
    lines = [header]
    for row in rows:
        cells = [row.benchmark, row.case]
        show = _bytes if row.unit == "B" else seconds
        for name in contenders:
            value = row.seconds.get(name, "")
            cells.append(show(value) if isinstance(value, float) else str(value))
        ratio = row.ratio()
        cells += [f"{ratio:.2f}×" if ratio is not None else "", row.goal()]
        cells.append(" ".join(x for x in (row.verdict(), row.note) if x))
        lines.append(cells)
    widths = [max(len(line[n]) for line in lines) for n in range(len(header))]
    text = ["  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip() for line in lines]
    text.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(text)
