"""B5 at depth: how eincalc's derivation scales with the depth of a plainly written network.

``python benchmarks/deep.py [--quick]`` prints, for the natural loop
``h = ec.tanh(W @ h)`` (no names) at L = 10, 50, 100, 1000: the time to derive
(build + ``ec.grad`` + ``str``), the printed size, and log-log slopes; then all L
gradients of the 50-layer net from one ``ec.grad`` call against one
single-variable gradient, compiling them against one evaluation, and the
``h = h*0.5 + h*0.5`` chain; ``ec.explain`` of the plain net with respect to W1
and to x at L = 10, 100, 300 (and 1000); and the first and second
``ec.evaluate`` of the gradient of ``tanh(tanh(… x))`` at 1,000 and 10,000 layers
against the same product written as a NumPy loop.  Medians of ``--repeats`` fresh
runs (one run for L ≥ 100 where a run takes seconds), on the wall clock or, with
``--clock cpu``, this process's CPU time.

The written-out size limit (``max_tree_nodes``) is lifted: these expressions are
small as DAGs and large written out.  Expressions are hash-consed and per-node results cached, so every run builds
its network over a dimension name of its own: no run reuses an earlier run's work.
"""

from __future__ import annotations

import argparse
import functools
import gc
import itertools
import math
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

_FRESH = itertools.count()


def _ec() -> Any:
    try:
        import eincalc
    except ImportError:
        sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))
        import eincalc
    return eincalc


def plain_mlp(depth: int) -> tuple[Any, list[Any], str]:
    """``depth`` unnamed tanh layers and a squared error, over a dimension name not used before."""
    ec = _ec()
    dim = f"n{next(_FRESH)}"
    x, y = ec.tensors(f"x[{dim}] y[{dim}]")
    weights = list(ec.tensors(" ".join(f"W{layer}[{dim},{dim}]" for layer in range(1, depth + 1))))
    h = x
    for W in weights:
        h = ec.tanh(W @ h)
    return 0.5 * ec.sum((h - y) ** 2), weights, dim


def derive_plain(depth: int) -> int:
    """Build, differentiate with respect to W1, print; the printed size."""
    ec = _ec()
    with ec.resource_limits(max_nodes=None, max_tree_nodes=None):
        loss, weights, _ = plain_mlp(depth)
        return len(str(ec.grad(loss, weights[0])))


def half_chain(repeats: int) -> str:
    """``h = h*0.5 + h*0.5`` repeated, differentiated and printed."""
    ec = _ec()
    (x,) = ec.tensors(f"x[n{next(_FRESH)}]")
    with ec.resource_limits(max_tree_nodes=None):  # written out, the chain doubles at every step
        h = x
        for _ in range(repeats):
            h = h * 0.5 + h * 0.5
        return str(ec.grad(ec.sum(h), x))


def explain_plain(depth: int, wrt: str) -> int:
    """``ec.explain`` of the plain net's loss with respect to W1 or x, rendered as text; the number of steps."""
    ec = _ec()
    with ec.resource_limits(max_nodes=None, max_tree_nodes=None):
        loss, weights, dim = plain_mlp(depth)
        variable = weights[0] if wrt == "W1" else ec.tensors(f"x[{dim}]")[0]
        derivation = ec.explain(loss, variable)
        derivation.text()
        return len(derivation.steps)


def tanh_chain(depth: int) -> tuple[Any, Callable[[], object]]:
    """The gradient of ``Σ tanh(tanh(… x))`` over a fresh dimension, and a NumPy loop computing the same."""
    ec = _ec()
    import numpy as np

    (x,) = ec.tensors(f"x[n{next(_FRESH)}]")
    h = x
    for _ in range(depth):
        h = ec.tanh(h)
    value = np.array([0.9, -0.2, 0.5])

    def by_hand() -> object:
        layer, product = value, np.ones(3)
        for _ in range(depth):
            layer = np.tanh(layer)
            product *= 1 - layer**2
        return product

    return ec.grad(ec.sum(h), x), by_hand


CLOCKS: dict[str, Callable[[], float]] = {"wall": time.perf_counter, "cpu": time.process_time}
"""``wall``: elapsed time; ``cpu``: this process's CPU time, which other processes on a shared machine disturb
far less (``--clock cpu``)."""
clock = CLOCKS["wall"]


def median_seconds(run: Callable[[], object], repeats: int) -> float:
    samples = []
    for _ in range(repeats):
        gc.collect()
        start = clock()
        run()
        samples.append(clock() - start)
    return statistics.median(samples)


def slope(t1: float, t2: float, n1: int, n2: int) -> float:
    return math.log(t2 / t1) / math.log(n2 / n1)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="depths up to 100 only")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--clock", choices=sorted(CLOCKS), default="wall", help="what a time is (default: wall)")
    options = parser.parse_args()
    global clock
    clock = CLOCKS[options.clock]
    ec = _ec()
    import numpy as np

    depths = (10, 50, 100) if options.quick else (10, 50, 100, 1000)
    times, sizes = {}, {}
    print("plain deep MLP, h = tanh(W @ h): derive = build + grad(W1) + str")
    for depth in depths:
        sizes[depth] = derive_plain(depth)
        times[depth] = median_seconds(lambda d=depth: derive_plain(d), options.repeats if depth <= 100 else 1)
        print(f"  L={depth:5d}  {times[depth]:8.3f} s  printed {sizes[depth]:>10,} chars")
    print(
        f"  t(100)/t(10) = {times[100] / times[10]:.1f} (goal ≤ 12); slope 10→100 = "
        f"{slope(times[10], times[100], 10, 100):.2f}; printed(100)/printed(10) = {sizes[100] / sizes[10]:.1f}"
        " (goal ≤ 12)"
    )
    if 1000 in times:
        print(f"  slope 100→1000 = {slope(times[100], times[1000], 100, 1000):.2f}")

    depth = 50
    with ec.resource_limits(max_nodes=None, max_tree_nodes=None):

        def one() -> object:
            loss, weights, _ = plain_mlp(depth)
            return ec.grad(loss, weights[0])

        def every() -> object:
            loss, weights, _ = plain_mlp(depth)
            return ec.grad(loss, weights)

        single, together = median_seconds(one, options.repeats), median_seconds(every, options.repeats)
        print(
            f"all {depth} gradients in one ec.grad: {together:.3f} s; one gradient: {single:.3f} s; "
            f"ratio {together / single:.2f} (goal ≤ 3)"
        )
        for n in (25, 50, 100):
            loss, weights, _ = plain_mlp(n)
            gradients = ec.grad(loss, weights)
            rng = np.random.default_rng(0)
            values = {f"W{k}": rng.standard_normal((16, 16)) * 0.3 for k in range(1, n + 1)}
            values |= {"x": rng.standard_normal(16), "y": rng.standard_normal(16)}
            compile_time = median_seconds(lambda g=gradients: ec.compile(g), 3)
            program = ec.compile(gradients)
            run_time = median_seconds(lambda p=program, v=values: p(v), options.repeats)
            print(
                f"  compile all {n} gradients: {compile_time:.3f} s = {compile_time / run_time:.0f}× one evaluation "
                f"of them ({run_time * 1e3:.2f} ms, n = 16)"
            )
    for repeats in (16, 30):
        seconds = median_seconds(lambda r=repeats: half_chain(r), options.repeats)
        print(f"h = h*0.5 + h*0.5 ×{repeats}: derive {seconds:.4f} s (goal < 0.1 s at 30)")
    explain_rows(depths=(10, 100, 300) if options.quick else (10, 100, 300, 1000), repeats=options.repeats)
    evaluate_rows(repeats=options.repeats)
    return 0


def explain_rows(depths: tuple[int, ...], repeats: int) -> None:
    """``ec.explain`` (and its text) of the plain net: time, steps and slope, with respect to W1 and to x."""
    print("ec.explain of the plain net (derive, check, render as text)")
    for wrt in ("W1", "x"):
        times, steps = {}, {}
        for depth in depths:
            steps[depth] = explain_plain(depth, wrt)
            times[depth] = median_seconds(functools.partial(explain_plain, depth, wrt), repeats if depth < 100 else 1)
            print(f"  wrt {wrt:2}  L={depth:5d}  {times[depth]:8.3f} s  {steps[depth]} steps")
        slopes = ", ".join(
            f"{a}→{b}: {slope(times[a], times[b], a, b):.2f}" for a, b in itertools.pairwise(depths) if a >= 100
        )
        print(f"  wrt {wrt}: t({depths[-1]})/t(100) = {times[depths[-1]] / times[100]:.1f}; slopes {slopes}")


def evaluate_rows(repeats: int) -> None:
    """The first ``ec.evaluate`` of a deep chain's gradient (lowering, kernels interpreted), the second (kernels
    planned) and later ones, against the NumPy loop."""
    ec = _ec()
    print("ec.evaluate of the gradient of Σ tanh(tanh(… x)), n = 3")
    for depth in (1_000, 10_000):
        gradient, by_hand = tanh_chain(depth)
        call = functools.partial(ec.evaluate, gradient, {"x": [0.9, -0.2, 0.5]})
        first, second = (median_seconds(call, 1) for _ in range(2))
        warm = median_seconds(call, repeats)
        numpy = median_seconds(by_hand, repeats)
        print(
            f"  L={depth:6d}  first {first:7.3f} s, second {second:7.3f} s, warm {warm * 1e3:7.2f} ms, "
            f"NumPy loop {numpy * 1e3:7.2f} ms; warm/NumPy = {warm / numpy:.1f}×"
        )


if __name__ == "__main__":
    sys.exit(main())
