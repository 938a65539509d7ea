"""Short adversarial inputs: no input of under 200 characters may run for more than 2 s in any stage.

The inputs make work grow with a number or a repetition: matrix powers and nested ones, huge number
literals and exponents, deep nesting, long sums and products, towers of powers, repeated inverses,
softmaxes and Kronecker products, sub-expressions written twice (``(e) @ (e)``, so that the tree
doubles), and a few short Python programs (a doubling chain ``h = h*0.5 + h*0.5``, unnamed chains of
hundreds of layers).  A curated list comes first, then inputs generated from a seed.  Each text is
read with :func:`eincalc.parse` over the fuzzer's tensors, then printed (text and LaTeX), simplified,
read as matrix notation, differentiated (the gradient of a scalar, else the Jacobian, for each tensor
it has), its Hessian taken (a scalar's, with respect to its first tensor) and evaluated, each stage
under a watchdog.  A stage that runs longer than the limit, or lets anything but an
:class:`~eincalc.core.errors.EincalcError` escape, is a failure; an EincalcError (a ResourceError above
the limits of :mod:`eincalc.core.limits`, most often) is an answer.

    PYTHONPATH=src:tests python -m stress_inputs                     # curated inputs and 2,000 generated
    PYTHONPATH=src:tests python -m stress_inputs --count 20000 --seed 3

``tests/test_limits.py`` pins what this found, one regression test per finding.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections.abc import Callable, Iterator

import numpy as np

import eincalc as ec
from fuzz_parser import INDICES, SIZES, TENSORS, Report, _Hang, _time_limit

LIMIT = 2.0  # seconds per stage
x, y, W, A, c, θ = TENSORS

CURATED = [
    "matrix_power(A, 100000)",
    "matrix_power(A, 1000000000)",
    "matrix_power(A, 1e300)",
    "matrix_power(A, 32)",
    "trace(matrix_power(A, 32))",
    "x @ matrix_power(A, 32) @ x",
    "matrix_power(matrix_power(A, 32), 32)",
    "trace(matrix_power(A @ A.T @ A, 10))",
    "trace(matrix_power(inv(A), 32))",
    "det(matrix_power(A, 32))",
    "x[i]**1000000000",
    "x[i]**1e308",
    "x[i]**10**400",
    "(x[i]**1e300)**1e300",
    "2**1e308",
    "1" * 199,
    "x[i] " + "9" * 190,
    "x[i]**" + "9" * 190,
    "1e308 * 1e308 x[i]",
    "x[i] / 1e-320",
    "σ(" * 45 + "x[i]" + ")" * 45,
    "exp(" * 45 + "x[i]" + ")" * 45,
    "inv(" * 35 + "A" + ")" * 35,
    "det(" + "inv(" * 30 + "A" + ")" * 31,
    "softmax(" * 18 + "θ[k]" + ", k)" * 18,
    "-" * 190 + "x[i]",
    "x[i]" + " + x[i]" * 32,
    "x[i] x[i]" + " + x[i] x[i]" * 18,
    "Σ(" * 40 + "x[i]" + ")" * 40,
    " ".join(f"A[{a},{b}]" for a, b in zip("abcdefghijklmnopqrstuvwxy", "bcdefghijklmnopqrstuvwxyz", strict=True)),
    " ".join(f"(A[{a},{b}] + A[{b},{a}])" for a, b in zip("abcdefghij", "bcdefghijk", strict=True)),
    "x**" * 40 + "x",
    "x[i]**(x[i]**(x[i]**(x[i]**(x[i]**(x[i]**x[i])))))",
    "kron(kron(x, y), kron(x, y))",
    "kron(A, A) + kron(A, A)",
    "outer(outer(x, y) @ y, x) @ outer(x, y) @ x",
    "(A @ " * 40 + "A" + ")" * 40,
    "tan(" * 40 + "x[i]" + ")" * 40,
    "size(n)" + " size(n)" * 25,
    "δ[i,p]" + " + δ[i,p]" * 25,
]
_FUNCTIONS = ["σ", "exp", "log", "tanh", "tan", "sqrt", "sin", "softplus"]
_SAME_SHAPE = [  # each keeps the kind (matrix, vector or scalar) of the expression it wraps
    lambda e, r: f"({e}) + ({e})",
    lambda e, r: f"({e}) ⊙ ({e})",
    lambda e, r: f"({e})**({e})",
    lambda e, r: f"{r.choice(_FUNCTIONS)}({e})",
    lambda e, r: f"({e})**{r.choice(['2', '0.5', '-1', '1e9', '1e308'])}",
    lambda e, r: f"{r.choice(['2', '1e200', '-0.5'])} ({e})",
]
WRAPPERS: dict[str, list[Callable[[str, random.Random], str]]] = {
    "matrix": [
        *_SAME_SHAPE,
        lambda e, r: f"matrix_power({e}, {r.choice([2, 3, 17, 32, 33, 64, 10**6, 10**12])})",
        lambda e, r: f"({e}) @ ({e})",
        lambda e, r: f"({e}).T",
        lambda e, r: f"inv({e})",
        lambda e, r: f"softmax({e})",
    ],
    "vector": [*_SAME_SHAPE, lambda e, r: f"A @ ({e})", lambda e, r: f"softmax({e})", lambda e, r: f"x ** ({e})"],
    "scalar": [*_SAME_SHAPE, lambda e, r: f"({e}) ({e})", lambda e, r: f"x[i]**({e}) y[i]"],
}
LOWER: dict[str, list[Callable[[str], str]]] = {  # to the next kind down: matrix to vector to scalar
    "matrix": [lambda e: f"({e}) @ x", lambda e: f"diagonal({e})"],
    "vector": [lambda e: f"Σ({e})", lambda e: f"dot({e}, {e})", lambda e: f"logsumexp({e})"],
}
ATOMS = {"matrix": ["A", "A @ A.T", "inv(A)"], "vector": ["x", "W.T @ W @ y"], "scalar": ["c", "x[i] y[i]"]}
KINDS = ["matrix", "vector", "scalar"]


def generated(count: int, seed: int) -> Iterator[str]:
    """``count`` texts of under 200 characters: an atom wrapped again and again, keeping its shape or
    lowering its rank, while it stays that short."""
    rng = random.Random(seed)
    for _ in range(count):
        kind = rng.choice(KINDS)
        text = rng.choice(ATOMS[kind])
        for _ in range(rng.randint(1, 40)):
            lowers = kind in LOWER and rng.random() < 0.15
            wrapped = rng.choice(LOWER[kind])(text) if lowers else rng.choice(WRAPPERS[kind])(text, rng)
            if len(wrapped) >= 200:
                break
            text, kind = wrapped, KINDS[KINDS.index(kind) + 1] if lowers else kind
        yield text


# -- short Python programs (each under 200 characters written as a loop) ------------------------------------


def doubling_chain() -> ec.Expr:
    h: ec.Expr = x
    for _ in range(16):
        h = h * 0.5 + h * 0.5
    return ec.sum(h)


def unnamed_tanh_chain() -> ec.Expr:
    h: ec.Expr = x
    for _ in range(250):
        h = ec.tanh(h)
    return ec.sum(h)


def unnamed_network() -> ec.Expr:
    h: ec.Expr = x
    for weight in ec.tensors(" ".join(f"V{layer}[n,n]" for layer in range(300))):
        h = ec.tanh(weight @ h)
    return ec.sum((h - y) ** 2)


def power_tower() -> ec.Expr:
    h: ec.Expr = x
    for _ in range(30):
        h = x**h
    return ec.sum(h)


def many_axes() -> ec.Expr:
    (tensor,) = ec.tensors("T[" + ",".join(["n"] * 60) + "]")
    return ec.sum(ec.exp(tensor) * tensor)


PROGRAMS: dict[Callable[[], ec.Expr], float] = {
    doubling_chain: LIMIT,
    unnamed_tanh_chain: LIMIT,
    power_tower: LIMIT,
    many_axes: LIMIT,
    unnamed_network: 60.0,  # each layer renames the whole chain (quadratic) until the core redesign; a hang guard here
}
"""Each program and the seconds its stages may take."""


# -- stages ------------------------------------------------------------------------------------------------


def _values() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    return {t.spec.name: rng.uniform(0.5, 1.5, [SIZES[d] for d in t.spec.dims]) for t in TENSORS}


VALUES = _values()


def _variables(expr: ec.Expr) -> list[ec.Expr]:
    used = {node.spec.name for node in _walk(expr)}
    return [t for t in TENSORS if t.spec.name in used]


def _walk(expr: ec.Expr) -> Iterator[ec.Tensor]:
    from eincalc.core.nodes import Tensor
    from eincalc.core.traversal import walk

    return (node for node in walk(expr) if isinstance(node, Tensor))


def _derivatives(expr: ec.Expr) -> list[ec.Expr]:
    return [ec.grad(expr, v) if not expr.free else ec.jacobian(expr, v) for v in _variables(expr)]


def _hessian(expr: ec.Expr) -> object:
    variables = _variables(expr)
    return ec.hessian(expr, variables[0]) if variables and not expr.free else None


STAGES: dict[str, Callable[[ec.Expr], object]] = {
    "print": lambda e: (str(e), e.latex()),
    "simplify": ec.simplify,
    "matrix view": lambda e: ec.to_matrix(e).numpy,
    "differentiate": _derivatives,
    "hessian": _hessian,
    "evaluate": lambda e: ec.evaluate(e, VALUES, dims=SIZES),
}


def stage(report: Report, name: str, shown: str, work: Callable[[], object], limit: float) -> object | None:
    """Run ``work`` under a watchdog of ``limit`` seconds; record its outcome; ``None`` when it gave no answer."""
    start = time.perf_counter()
    result = None
    try:
        with _time_limit(limit), np.errstate(all="ignore"):
            result = work()
        report.outcomes[f"{name}: answered"] += 1
    except _Hang:
        report.failures.append(f"{name}: no answer within {limit} s: {shown}")
    except ec.EincalcError as error:
        report.outcomes[f"{name}: {type(error).__name__}"] += 1
    except Exception as error:  # the point of the run: nothing else may escape
        report.failures.append(f"{name}: {type(error).__name__} escaped: {shown} -> {str(error)[:200]}")
    elapsed = time.perf_counter() - start
    if elapsed > report.slowest[0]:
        report.slowest = (elapsed, f"{name}: {shown}")
    return result


def exercise(report: Report, shown: str, build: Callable[[], object], limit: float = LIMIT) -> None:
    """Build an expression (parse a text, or run a program), then run every stage on it."""
    expr = stage(report, "build", shown, build, limit)
    if isinstance(expr, ec.Expr):
        for name, work in STAGES.items():
            stage(report, name, shown, lambda work=work: work(expr), limit)  # type: ignore[misc]
    report.inputs += 1


def run(count: int, seed: int) -> Report:
    """The curated inputs, the programs and ``count`` generated inputs."""
    report = Report()
    for text in [*CURATED, *generated(count, seed)]:
        exercise(report, repr(text), lambda text=text: ec.parse(text, *TENSORS, *INDICES))  # type: ignore[misc]
    for program, limit in PROGRAMS.items():
        exercise(report, program.__name__, program, limit)
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=2000, help="generated inputs (default 2000)")
    parser.add_argument("--seed", type=int, default=0, help="the same inputs for the same seed")
    options = parser.parse_args(argv)
    started = time.perf_counter()
    report = run(options.count, options.seed)
    print(report.summary())
    print("\n".join(report.failures[20:]))
    print(f"{time.perf_counter() - started:.0f} s")
    return 1 if report.failures else 0


if __name__ == "__main__":
    sys.exit(main())
