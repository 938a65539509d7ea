"""Run benchmarks B1–B6 and LS and print one table of times and ratios: ``python benchmarks/run.py [--quick]``.

Every row is measured side by side in one run: each contender is called once
in turn per round, and the table shows the median, fastest and slowest of
``--repeats`` rounds (at least 7), in float64; a ratio compares medians.  BLAS
(and PyTorch) run on ``--threads`` threads, one by default (through
threadpoolctl too, where installed, which also names the BLAS and its kernel),
so ratios compare code rather than thread scheduling.  Frameworks are optional:
a missing one shows as "not installed".  Before timing, every contender's result
is checked against the NumPy reference.  A "floor" row times only the GEMMs
and exponentials every NumPy implementation of its row must call: its ratio is
as low as the row's can go on this machine.  The CP rows time ``ec.compile``
plus the first call's planning against one evaluation.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

CONTENDERS = ("eincalc", "NumPy", "PyTorch", "JAX")
FLOOR = "floor"
"""A row's floor (`numeric.Case.floor`), timed in the same rounds as its contenders and shown as a row of its own in
the eincalc column: its ratio to NumPy is the lowest this machine allows any NumPy code that makes the same calls."""


def _options() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes and depths: a smoke run in seconds")
    parser.add_argument("--repeats", type=int, default=7, help="timed rounds per row (at least 7)")
    parser.add_argument("--threads", type=int, default=1, help="BLAS and PyTorch threads (default 1)")
    parser.add_argument(
        "--clock",
        choices=("wall", "cpu"),
        default="wall",
        help="wall: elapsed time; cpu: the process's CPU time, steadier on a shared machine",
    )
    parser.add_argument("--only", default="", help="comma-separated benchmarks to run, e.g. B1,B5,LS,CP")
    options = parser.parse_args()
    if options.repeats < 7:
        parser.error("--repeats must be at least 7 (the table reports medians of at least 7 runs)")
    return options


def _pin_threads(threads: int) -> None:
    """Set BLAS thread counts; must run before NumPy is imported."""
    for variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "VECLIB_MAXIMUM_THREADS"):
        os.environ[variable] = str(threads)
    os.environ.setdefault(
        "XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1" if threads == 1 else ""
    )


def _agree(got: Any, want: Any) -> bool:
    import numpy as np

    got_parts = got if isinstance(got, list | tuple) else [got]
    want_parts = want if isinstance(want, list | tuple) else [want]
    return len(got_parts) == len(want_parts) and all(
        np.allclose(np.asarray(g), np.asarray(w), rtol=1e-7, atol=1e-9)
        for g, w in zip(got_parts, want_parts, strict=True)
    )


def numeric_rows(quick: bool, repeats: int, threads: int, wanted: set[str]) -> list[Any]:
    import numeric
    from frameworks import Frameworks
    from timing import Row, interleaved, peak_bytes

    rows = []
    for case in numeric.cases(quick, Frameworks(threads)):
        if wanted and case.benchmark not in wanted:
            continue
        reference = case.numpy()
        contenders: dict[str, Any] = {"eincalc": case.eincalc, "NumPy": case.numpy, **case.frameworks}
        wrong = [name for name, fn in contenders.items() if callable(fn) and not _agree(fn(), reference)]
        timed = interleaved({**contenders, **({FLOOR: case.floor[1]} if case.floor else {})}, repeats)
        floor = timed.pop(FLOOR, None)
        row = Row(
            case.benchmark,
            case.name,
            timed,
            target=case.target,
            note=f"MISMATCH: {', '.join(wrong)}" if wrong else "",
        )
        rows.append(row)
        if case.floor and floor is not None:
            rows.append(Row(case.benchmark, f"  floor: {case.floor[0]}", {"eincalc": floor, "NumPy": timed["NumPy"]}))
        if case.benchmark == "B2":
            assert case.fresh is not None
            makers = {"eincalc": case.fresh, "NumPy": lambda numpy=case.numpy: numpy}
            memory: dict[str, Any] = {name: float(peak_bytes(make)) for name, make in makers.items()}
            rows.append(Row("B2", "  peak memory (tracemalloc)", memory, target=1.20, unit="B"))
        print(f"  measured {case.benchmark} {case.name}", file=sys.stderr)
    return rows


def compile_rows(quick: bool, repeats: int, wanted: set[str]) -> list[Any]:
    """``ec.compile`` (lowering) and the first call (planning: paths, kernels, buffers), each against one warm call,
    for B1's gradients and P9's at L = 50.  Ratios are to the warm call's median."""
    import numeric
    import timing
    from timing import Row, Sample, interleaved, median

    import eincalc as ec

    if wanted and "CP" not in wanted:
        return []
    sizes = (64, (196, 128, 128, 10)) if quick else (256, (784, 512, 512, 10))
    programs = {"∇ MLP of B1": numeric.mlp_program(*sizes), "∇ all W of P9, L=50": numeric.deep_net_program(50, 64)}
    rows = []
    for name, (outputs, values) in programs.items():
        lowering, planning = [], []
        for _ in range(repeats):
            start = timing.clock()
            compiled = ec.compile(outputs)
            middle = timing.clock()
            compiled(values)
            lowering.append(middle - start)
            planning.append(timing.clock() - middle)
        warm = median(interleaved({"eincalc": lambda c=compiled, v=values: c(v)}, repeats)["eincalc"]) or float("nan")
        for label, times in ((f"ec.compile {name}", lowering), ("  its first call (planning)", planning)):
            sample = Sample(min(times), sorted(times)[len(times) // 2], max(times))
            rows.append(
                Row(
                    "CP",
                    label,
                    {"eincalc": sample},
                    baseline="",
                    given_ratio=sample.median / warm,
                    note=f"ratio to one warm call, {timing.seconds(warm)}",
                )
            )
    print("  measured CP", file=sys.stderr)
    return rows


def symbolic_rows(quick: bool, repeats: int, wanted: set[str]) -> list[Any]:
    import symbolic
    from timing import Row, interleaved, median

    rows = []
    if not wanted or "B5" in wanted:
        depths = (10, 50, 100) if quick else (10, 50, 100, 1000)
        times = {
            depth: interleaved({"eincalc": symbolic.deep_mlp_derivation(depth)}, repeats)["eincalc"] for depth in depths
        }
        for depth, seconds in times.items():
            rows.append(
                Row(
                    "B5",
                    f"build+derive P9, L={depth}",
                    {"eincalc": seconds},
                    baseline="",
                    limit=0.5 if depth == 100 else None,
                )
            )
        if not quick:
            unnamed = interleaved({"eincalc": symbolic.deep_mlp_derivation(100, named=False)}, 3)
            rows.append(Row("B5", "build+derive P9 unnamed, L=100", unnamed, baseline=""))
        t10, t100 = median(times[10]), median(times[100])
        if t10 is not None and t100 is not None:
            rows.append(Row("B5", "  time(L=100) / time(L=10)", baseline="", target=12.0, given_ratio=t100 / t10))
        print("  measured B5", file=sys.stderr)
    if not wanted or "B6" in wanted:
        for name, derive in symbolic.REFERENCE_PROBLEMS.items():
            seconds = interleaved({"eincalc": derive}, repeats)
            rows.append(Row("B6", f"derive {name}", seconds, baseline="", limit=0.020))
        print("  measured B6", file=sys.stderr)
    return rows


def blas() -> str:
    """The BLAS libraries loaded, their version, kernel and threads (threadpoolctl), or NumPy's build record."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        import numpy as np

        build = np.show_config(mode="dicts").get("Build Dependencies", {}).get("blas", {})  # type: ignore[func-returns-value]
        return f"BLAS {build.get('name', '?')} {build.get('version', '')} (install threadpoolctl to see its kernel)"
    found = [
        f"{info.get('internal_api')} {info.get('version')} kernel {info.get('architecture', '?')}, "
        f"{info.get('num_threads')} thread(s)"
        for info in threadpool_info()
        if info.get("user_api") == "blas"
    ]
    return "BLAS " + ("; ".join(found) or "none found")


def machine() -> str:
    import numpy as np

    cpu = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        names = [
            line.split(":", 1)[1].strip() for line in cpuinfo.read_text().splitlines() if line.startswith("model name")
        ]
        cpu = f"{names[0]} ({len(names)} logical CPUs)" if names else cpu
    variables = ", ".join(f"{v}={os.environ[v]}" for v in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE") if v in os.environ)
    return (
        f"{cpu}; Python {platform.python_version()}, NumPy {np.__version__}; {blas()}"
        f"{'; ' + variables if variables else ''}"
    )


def main() -> int:
    options = _options()
    _pin_threads(options.threads)
    here = Path(__file__).resolve().parent
    sys.path.insert(0, str(here))
    try:
        import eincalc  # noqa: F401 - installed, or run from a checkout:
    except ImportError:
        sys.path.insert(0, str(here.parent / "src"))
    import timing
    from timing import render

    timing.clock = timing.CLOCKS[options.clock]
    limits = _limit_blas(options.threads)
    wanted = {b.strip().upper() for b in options.only.split(",") if b.strip()}
    started = time.strftime("%Y-%m-%d %H:%M")
    rows = numeric_rows(options.quick, options.repeats, options.threads, wanted)
    rows += compile_rows(options.quick, options.repeats, wanted)
    rows += symbolic_rows(options.quick, options.repeats, wanted)
    print(
        f"eincalc benchmarks, {started}, {'--quick, ' if options.quick else ''}median [min–max] of "
        f"{options.repeats} rounds, {options.clock} clock, float64, {options.threads} thread(s), "
        f"load average {os.getloadavg()[0]:.1f} at the end"
    )
    print(machine())
    print()
    print(render(rows, CONTENDERS))
    del limits
    return 0


def _limit_blas(threads: int) -> object:
    """Pin BLAS threads through threadpoolctl too, where installed (the environment variables may come too late)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return None
    return threadpool_limits(limits=threads, user_api="blas")


if __name__ == "__main__":
    sys.exit(main())
