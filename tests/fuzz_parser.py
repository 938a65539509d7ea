"""Fuzz the text and API entry points: random and mutated inputs may only raise EincalcError subclasses.

Every input is answered with a result or with a specific :class:`~eincalc.core.errors.EincalcError`
subclass whose message says what is wrong and where (for ``parse``: the text, with a caret
when a column is known), within a time bound.  Inputs come from four generators, all
reproducible from one seed: random characters (ASCII, Greek, control and unpaired-surrogate
characters), token soup, small random grammar sentences (mostly well formed, often with index
errors), and edits of valid expressions.  Whatever parses is printed, read back, converted to
matrix form, differentiated and evaluated, each step again allowed only EincalcError, except
reading back: printed text must read back (given the tensors and the expression's free indices)
to the same value.  Parsed expressions are also evaluated on odd inputs (integer, boolean, complex, object,
string, empty, ragged and masked arrays; sizes that are not whole numbers of at least 1; values that are not
a mapping), where integer arrays must give exactly what their float64 copies give.  And every public function
of ``eincalc`` is called with one argument replaced by a value of the wrong kind (the input text where an
expression belongs, bytes, None, a float where a size belongs, a list where a mapping belongs, an expression
where a name belongs, …): it may answer or raise EincalcError, nothing else.  On the command line, an input
that takes more than 2 s is a failure too.

Run 100,000 inputs (a few minutes on one core)::

    PYTHONPATH=src python -m tests.fuzz_parser --count 100000 --seed 1
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import dataclasses
import inspect
import random
import signal
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

import eincalc as ec
from eincalc.core.indices import Index, TensorSpec

TENSORS = ec.tensors("x[n] y[n] W[m,n] A[n,n] c θ[k]")
INDICES = (Index("i", "n"), Index("p", "n"), Index("b", "m"))
SIZES = {"n": 3, "m": 2, "k": 4}
TOKENS = [
    "x",
    "y",
    "W",
    "A",
    "c",
    "θ",
    "i",
    "j",
    "k",
    "p",
    "q",
    "σ",
    "δ",
    "Σ",
    "sum",
    "size",
    "n",
    "m",
    "exp",
    "log",
    "tanh",
    "relu",
    "softmax",
    "logsumexp",
    "dot",
    "outer",
    "trace",
    "square",
    "1",
    "0",
    "2.5",
    "1e308",
    "-3",
    "[",
    "]",
    "(",
    ")",
    ",",
    "+",
    "-",
    "*",
    "/",
    "**",
    "@",
    ".T",
    " ",
    "−",
    "⊙",
    "=",
    ":",
    "'",
    '"',
    "\\",
    "lambda",
    "for",
    "if",
    "not",
    "\n",
    "\t",
    "axis=",
    "...",
    "->",
    "import",
    "__class__",
    "#",
    "{",
    "}",
    ";",
]
CHARACTERS = "xyWAcijkpq[](),+-*/@.T =:'\"#0129e σδΣ−⊙θ′é中\x00\x0b\u200b\ud800\U0001f600"
VALID = [
    "σ(W[b,j] x[j] + 1)",
    "(x[i] y[i])[i] - 2 Σ(x[j] A[j,k] y[k])",
    "W @ x + 1",
    "((A[j,i] + A[i,j]))[i,j]",
    "x[i]**(-1) δ[i,j] y[j]",
    "sum(W, axis=0) ⊙ x",
    "size(n) c − tanh(x[i] y[i])",
    "softmax(θ[k], k)",
    "logsumexp(θ[k], k) - θ[k] 1[k]",
    "trace(A @ A.T) + dot(x, y)",
    "outer(x, y) / (1 + exp(-A))",
    "Σ(1[i]) c",
]


@dataclass
class Report:
    """What a fuzzing run saw: counts by outcome, the slowest input, and every failure."""

    inputs: int = 0
    outcomes: collections.Counter[str] = field(default_factory=collections.Counter)
    slowest: tuple[float, str] = (0.0, "")
    failures: list[str] = field(default_factory=list)

    def summary(self) -> str:
        seconds, text = self.slowest
        lines = [f"{self.inputs} inputs, {len(self.failures)} failures; slowest {seconds * 1000:.1f} ms: {text[:60]!r}"]
        lines += [f"  {count:7d}  {outcome}" for outcome, count in self.outcomes.most_common()]
        return "\n".join(lines + self.failures[:20])


class _Hang(Exception):
    pass


@contextlib.contextmanager
def _time_limit(seconds: float) -> Iterator[None]:
    """Raise :class:`_Hang` in the main thread after ``seconds`` (no limit where SIGALRM does not exist)."""
    if not hasattr(signal, "setitimer"):
        yield
        return

    def expire(signum: int, frame: Any) -> None:
        raise _Hang

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


# -- inputs ---------------------------------------------------------------------------------------


def _random_text(rng: random.Random) -> str:
    return "".join(rng.choice(CHARACTERS) for _ in range(rng.randint(0, 40)))


def _token_soup(rng: random.Random) -> str:
    return rng.choice(["", " "]).join(rng.choice(TOKENS) for _ in range(rng.randint(1, 25)))


def _sentence(rng: random.Random, depth: int = 3) -> str:
    """A small random expression in the text syntax: well formed more often than not."""
    if depth == 0 or rng.random() < 0.3:
        return rng.choice(
            [
                "x[i]",
                "y[j]",
                "W[b,i]",
                "A[i,j]",
                "A[i,i]",
                "c",
                "2",
                "δ[i,p]",
                "1[i]",
                "θ[k]",
                "x",
                "W",
                "size(n)",
                "0[i]",
            ]
        )
    left, right = _sentence(rng, depth - 1), _sentence(rng, depth - 1)
    kept = rng.choice(["i", "j", "i,j", "j,i", "k", ""])
    shapes = [
        f"{left} {right}",
        f"{left} + {right}",
        f"{left} - {right}",
        f"{left} / {right}",
        f"{left} @ {right}",
        f"({left})[{kept}]",
        f"Σ({left})",
        f"{left}**{rng.choice('2-13')}",
        f"{rng.choice(['σ', 'exp', 'log', 'relu', 'tanh', 'sqrt', 'abs'])}({left})",
        f"softmax({left}, k)",
        f"logsumexp({left}, i)",
        f"sum({left}, axis={rng.choice('01')})",
        f"({left}).T",
        f"-{left}",
    ]
    return rng.choice(shapes)


def _mutated(rng: random.Random) -> str:
    text = rng.choice([*VALID, _sentence(rng)])
    for _ in range(rng.randint(1, 4)):
        start = rng.randint(0, len(text))
        end = min(len(text), start + rng.randint(0, 4))
        insert = rng.choice([rng.choice(TOKENS), rng.choice(CHARACTERS), text[start:end] * 2, ""])
        text = text[:start] + insert + text[end:]
    return text


GENERATORS: tuple[Callable[[random.Random], str], ...] = (_random_text, _token_soup, _sentence, _mutated)


def inputs(count: int, seed: int) -> Iterator[str]:
    """``count`` fuzz inputs, the same ones for the same seed."""
    rng = random.Random(seed)
    for n in range(count):
        yield GENERATORS[n % len(GENERATORS)](rng)


# -- checks ---------------------------------------------------------------------------------------


def parse_error_problem(text: str, error: ec.EincalcError) -> str | None:
    """Why the message of ``error`` from ``parse(text)`` falls short, or None when it says what and where."""
    lines = str(error).split("\n")
    shown = "".join(" " if ch.isspace() else "\ufffd" if "\ud800" <= ch <= "\udfff" else ch for ch in text)
    if type(error) is ec.EincalcError or not lines[0].strip():
        return "no specific error type or no message"
    if len(lines) < 2 or lines[1] != f"  {shown}":
        return "message does not show the expression"
    caret = lines[2] if len(lines) > 2 else "  ^"
    if set(caret[2:]) - {" ", "^"} or not caret.endswith("^") or len(caret) > len(shown) + 3:
        return "caret line is malformed"
    return None


def _exercise(expr: ec.Expr, rng: random.Random, report: Report) -> None:
    """Print, read back, view and differentiate a parsed expression, recording each step's outcome."""
    arrays = np.random.default_rng(rng.randrange(2**32))
    values = {t.spec.name: arrays.uniform(-1, 1, [SIZES[d] for d in t.spec.dims]) for t in TENSORS}

    def read_back() -> None:  # by a reader who knows the tensors and the expression's free indices
        indices = {k.name: k for k in INDICES} | {k.name: k for k in expr.free}
        try:
            back = ec.parse(str(expr), *TENSORS, *indices.values())
        except ec.EincalcError as error:
            report.failures.append(f"printed text does not read back: {str(expr)!r} -> {error}")
            raise
        np.testing.assert_allclose(
            ec.evaluate(back, values, dims=SIZES),
            ec.evaluate(expr, values, dims=SIZES),
            rtol=1e-9,
            atol=1e-12,
            equal_nan=True,
        )

    def integers_exactly() -> None:  # integer arrays compute in float64: never a wrapped-around int8 result
        small = {name: np.asarray(array * 100, dtype=np.int8) for name, array in values.items()}
        np.testing.assert_array_equal(
            ec.evaluate(expr, small, dims=SIZES),
            ec.evaluate(expr, {k: v.astype(float) for k, v in small.items()}, dims=SIZES),
        )

    steps: dict[str, Callable[[], object]] = {
        "printed": lambda: (str(expr), expr.latex()),
        "read back with its value": read_back,
        "in matrix form": lambda: ec.to_matrix(expr),
        "differentiated": lambda: ec.evaluate(ec.jacobian(expr, rng.choice(TENSORS)), values, dims=SIZES),
        "evaluated on integers": integers_exactly,
        "evaluated on odd inputs": lambda: _evaluate_odd(expr, *_odd_inputs(rng, values)),
    }
    for name, step in steps.items():
        try:
            with np.errstate(all="ignore"):
                step()
            report.outcomes[f"parsed, {name}"] += 1
        except ec.EincalcError as error:
            report.outcomes[f"parsed, not {name}: {type(error).__name__}"] += 1


def _odd_array(rng: random.Random, array: np.ndarray) -> Any:
    """``array`` made odd: another dtype (some fine, like int8 and float32), empty, ragged, masked or reshaped."""
    kind = rng.randrange(12)
    if kind < 6:
        dtype = ["int8", "uint8", "bool", "float32", "complex128", "object"][kind]
        return (array * 100).astype(dtype)
    odd = [
        lambda: array.astype(str),
        lambda: np.zeros((0, *array.shape[1:])),
        lambda: [[1.0], [1.0, 2.0]],
        lambda: np.ma.array(array, mask=array > 0),
        lambda: array.reshape(-1, 1),
        lambda: array.tolist(),
    ]
    return odd[kind - 6]()


def _odd_inputs(rng: random.Random, values: dict[str, np.ndarray]) -> tuple[Any, dict[str, Any]]:
    """``values`` with one array made odd, or values that are not a mapping, and sizes (``dims``) maybe odd."""
    odd: Any = dict(values)
    name = rng.choice(sorted(values))
    odd[name] = _odd_array(rng, values[name])
    if rng.random() < 0.1:
        odd = rng.choice([list(values.values()), None, "x", 3.0, {TENSORS[0]: values["x"]}, {1: values["x"]}])
    dims: dict[Any, Any] = dict(SIZES)
    if rng.random() < 0.3:
        dims[rng.choice([*SIZES, "z", 1])] = rng.choice([0, -1, 2.5, 3.0, "3", True, None, np.int64(2), 2**70])
    return odd, dims


def _evaluate_odd(expr: ec.Expr, values: Any, dims: Any) -> Any:
    return ec.evaluate(expr, values, dims=dims)


def _equation(rng: random.Random) -> str:
    """An einsum equation, well formed or nearly: terms of letters, maybe an arrow and an output."""
    terms = ["".join(rng.choice("ijkab") for _ in range(rng.randint(0, 3))) for _ in range(rng.randint(1, 3))]
    arrow = rng.choice(["", "->" + "".join(rng.choice("ijkabz") for _ in range(rng.randint(0, 3)))])
    return ",".join(terms) + arrow + rng.choice(["", "", rng.choice(TOKENS)])


def _declaration(rng: random.Random) -> str:
    """Tensor declarations, well formed or nearly: ``W[m,n] a[n] c``."""

    def one() -> str:
        dims = ",".join(rng.choice(["m", "n", "", " ", "1", "m n", "é"]) for _ in range(rng.randint(0, 3)))
        return rng.choice(["W", "a", "θ", "2x", "x_1", ""]) + rng.choice([f"[{dims}]", "", f"[{dims}", f"({dims})"])

    return rng.choice([" ", ", ", ",", ""]).join(one() for _ in range(rng.randint(1, 3)))


def _api_call(rng: random.Random, text: str) -> Any:
    """One call of another text-taking entry point: on ``text`` or on text shaped for that entry point."""
    kind = rng.randrange(3)
    if kind == 0:
        return ec.tensors(rng.choice([text, _declaration(rng)]))
    if kind == 1:
        operands: list[Any] = [rng.choice([*TENSORS, 2.0, "s", None, [1]]) for _ in range(rng.randint(0, 3))]
        return ec.einsum(rng.choice([text, _equation(rng), _equation(rng)]), *operands)
    return ec.indices(text)


# -- every public function, with one argument of the wrong kind ------------------------------------------------

_x, _y, _W, _A, _c, _θ = TENSORS
ARRAYS = {
    "x": np.array([0.3, -0.2, 0.5]),
    "y": np.array([0.2, 0.3, 0.5]),
    "W": np.arange(6.0).reshape(2, 3) / 7,
    "A": np.eye(3) * 2 + 0.1,
    "c": np.array(0.7),
    "θ": np.linspace(-1.0, 1.0, 4),
}
PUBLIC_CALLS: dict[str, tuple[tuple[Any, ...], dict[str, Any]]] = {
    "abs": ((_x,), {}),
    "binary_cross_entropy": ((_x, _y), {"logits": True}),
    "check_grad": ((ec.sum(_W @ _x), _x, ARRAYS), {"eps": 1e-6, "dims": SIZES}),
    "codegen": ((_W @ _x,), {}),
    "compile": ((_W @ _x,), {"dims": SIZES}),
    "cos": ((_x,), {}),
    "cross_entropy": ((_x, _y), {"axis": 0}),
    "det": ((_A,), {}),
    "diag": ((_x,), {}),
    "diagonal": ((_A,), {}),
    "dot": ((_x, _y), {}),
    "einsum": (("ij,j->i", _W, _x), {}),
    "evaluate": ((_W @ _x, ARRAYS), {"dims": SIZES}),
    "exp": ((_x,), {}),
    "explain": ((ec.sum(_W @ _x), _x), {"rows": False, "sizes": SIZES, "seed": 0}),
    "frobenius": ((_W,), {}),
    "get_limits": ((), {}),
    "grad": ((ec.sum(_W @ _x), _x), {}),
    "graph": ((ec.sum(_W @ _x), ARRAYS), {}),
    "hessian": ((ec.dot(_x, _A @ _x), _x), {}),
    "hvp": ((ec.dot(_x, _A @ _x), _x, _y), {}),
    "indices": (("i j",), {}),
    "inv": ((_A,), {}),
    "jacobian": ((_W @ _x, _x), {}),
    "kron": ((_x, _y), {}),
    "let": (("z", _W @ _x), {"adjoint": "dz"}),
    "log": ((_x,), {}),
    "log_softmax": ((_W @ _x,), {"axis": 0}),
    "logdet": ((_A,), {}),
    "logsumexp": ((_θ,), {"axis": 0}),
    "matrix_power": ((_A, 2), {}),
    "mean": ((_W,), {"axis": 0}),
    "mse": ((_x, _y), {}),
    "norm": ((_x,), {}),
    "outer": ((_x, _y), {}),
    "parse": (("W[b,j] x[j]", *TENSORS, *INDICES), {}),
    "parse_matrix": (("W x", *TENSORS), {"rows": False, "shape": ("m",)}),
    "plot_jacobian": ((ec.jacobian(_W @ _x, _x), ARRAYS), {}),
    "relu": ((_x,), {}),
    "resource_limits": ((), {"max_nodes": 4000}),
    "set_limits": ((), {"max_nodes": 5000}),
    "sigmoid": ((_x,), {}),
    "simplify": ((_W @ _x,), {}),
    "sin": ((_x,), {}),
    "softmax": ((_θ,), {"axis": 0}),
    "softplus": ((_x,), {}),
    "sqrt": ((_y,), {}),
    "square": ((_x,), {}),
    "sum": ((_W,), {"axis": 0}),
    "tan": ((_x,), {}),
    "tanh": ((_x,), {}),
    "tensors": (("V[m,n] v[n]",), {"symmetric": (), "simplex": ()}),
    "to_matrix": ((_W @ _x,), {"rows": False, "sizes_from": [_x]}),
    "trace": ((_A,), {}),
    "vjp": ((_W @ _x, _x, _W @ _x), {}),
    "with_definitions": ((ec.let("z", _W @ _x),), {}),
}
"""A valid call of every public function (``ec.__all__``, classes aside): the fuzzer spoils one argument of it."""


def public_functions() -> list[str]:
    """The names of ``eincalc``'s public functions (its classes are not functions)."""
    return sorted(name for name in ec.__all__ if callable(getattr(ec, name)) and not inspect.isclass(getattr(ec, name)))


def wrong_kinds(rng: random.Random, text: str) -> list[Any]:
    """Values of kinds few public arguments take: the fuzz text, bytes, None, odd numbers, containers, …"""
    return [
        text,
        text.encode("utf-8", "surrogatepass"),
        None,
        2.5,
        -1,
        0,
        True,
        2**70,
        10**400,
        float("nan"),
        float("inf"),
        np.int64(2),
        np.float32(0.5),
        [1, 2],
        [text],
        [_x, "x"],
        (_x, 1),
        {"x": 1},
        {_x: 1},
        {"n": 2.5},
        object(),
        np.ones(2),
        np.array(["a"]),
        np.array([1j]),
        np.ones((2, 0)),
        _x,
        _W @ _x,
        ec.sum(_x),
        ec.parse("x[i] y[i]", *TENSORS),
        INDICES[0],
        TensorSpec("x", ("n",)),
        print,
        range(3),
        {**ARRAYS, "x": _odd_array(rng, ARRAYS["x"])},
        ec.Limits(),
    ]


def spoiled(name: str, parameter: inspect.Parameter, bad: Any) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """The valid call of ``ec.name`` with ``parameter`` given ``bad`` (for ``*args``: one more argument; for
    ``**kwargs``: one more keyword)."""
    args, kwargs = list(PUBLIC_CALLS[name][0]), dict(PUBLIC_CALLS[name][1])
    position = list(inspect.signature(getattr(ec, name)).parameters.values()).index(parameter)
    if parameter.kind is inspect.Parameter.VAR_POSITIONAL:
        args.append(bad)
    elif parameter.kind is inspect.Parameter.VAR_KEYWORD:
        kwargs["max_nodes" if name.endswith("limits") else "x"] = bad
    elif parameter.kind is not inspect.Parameter.KEYWORD_ONLY and position < len(args):
        args[position] = bad
    else:
        kwargs[parameter.name] = bad
    return tuple(args), kwargs


def call_spoiled(name: str, args: tuple[Any, ...], kwargs: dict[str, Any], report: Report) -> None:
    """Call ``ec.name``: an answer or an EincalcError, nothing else (the limits in force are restored after)."""
    limits = ec.get_limits()
    try:
        with np.errstate(all="ignore"):
            result = getattr(ec, name)(*args, **kwargs)
            if isinstance(result, contextlib.AbstractContextManager):
                with result:
                    pass
        report.outcomes["public function: answered"] += 1
    except ec.EincalcError as error:
        report.outcomes[f"public function: {type(error).__name__}"] += 1
        if type(error) is ec.EincalcError or not str(error).strip():
            report.failures.append(f"unspecific error: ec.{name}{_shown_call(args, kwargs)} -> {error!r}")
    except Exception as error:
        report.failures.append(f"{type(error).__name__} escaped ec.{name}{_shown_call(args, kwargs)}: {error}")
    finally:
        ec.set_limits(**dataclasses.asdict(limits))


def _call_public(text: str, rng: random.Random, report: Report) -> None:
    """Call a public function with one argument of the wrong kind."""
    name = rng.choice([name for name in public_functions() if inspect.signature(getattr(ec, name)).parameters])
    parameter = rng.choice(list(inspect.signature(getattr(ec, name)).parameters.values()))
    call_spoiled(name, *spoiled(name, parameter, rng.choice(wrong_kinds(rng, text))), report)


def _shown_call(args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
    shown = [repr(a)[:40] for a in args] + [f"{k}={v!r}"[:40] for k, v in kwargs.items()]
    return f"({', '.join(shown)})"


def _parse_and_exercise(text: str, rng: random.Random, report: Report) -> None:
    try:
        expr = ec.parse(text, *TENSORS, *INDICES)
    except ec.EincalcError as error:
        report.outcomes[f"parse: {type(error).__name__}"] += 1
        problem = parse_error_problem(text, error)
        if problem:
            report.failures.append(f"{problem}: {text!r} -> {error}")
        return
    _exercise(expr, rng, report)


def _call_api(text: str, rng: random.Random, report: Report) -> None:
    try:
        _api_call(rng, text)
        report.outcomes["api: accepted"] += 1
    except ec.EincalcError as error:
        report.outcomes[f"api: {type(error).__name__}"] += 1
        if type(error) is ec.EincalcError or not str(error).strip():
            report.failures.append(f"unspecific error: {text!r} -> {error!r}")


def check(text: str, rng: random.Random, report: Report, limit: float = 30.0, slow: float | None = None) -> None:
    """Run every entry point on ``text`` and record the outcome (a failure for anything but EincalcError,
    and, when ``slow`` is given, for a phase that takes longer than ``slow`` seconds)."""
    for phase in (_parse_and_exercise, _call_api, _call_public):
        start = time.perf_counter()
        try:
            with _time_limit(limit):
                phase(text, rng, report)
        except _Hang:
            report.failures.append(f"{phase.__name__}: no answer within {limit} s: {text!r}")
        except Exception as error:  # the point of fuzzing: anything else escaping is a bug
            report.failures.append(f"{phase.__name__}: {type(error).__name__} escaped: {text!r} -> {error}")
        elapsed = time.perf_counter() - start
        if slow is not None and elapsed > slow:
            report.failures.append(f"{phase.__name__}: {elapsed:.1f} s (over {slow} s): {text!r}")
        if elapsed > report.slowest[0]:
            report.slowest = (elapsed, f"{phase.__name__}: {text}")
    report.inputs += 1


def run(count: int, seed: int, slow: float | None = None) -> Report:
    """Fuzz ``count`` inputs from ``seed`` and report (``slow``: seconds above which an input is a failure)."""
    report, rng = Report(), random.Random(seed + 1)
    for text in inputs(count, seed):
        check(text, rng, report, slow=slow)
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=10_000, help="how many inputs (default 10000)")
    parser.add_argument("--seed", type=int, default=0, help="inputs are the same for the same seed")
    parser.add_argument("--slow", type=float, default=2.0, help="seconds above which an input fails (default 2)")
    options = parser.parse_args(argv)
    started = time.perf_counter()
    report = run(options.count, options.seed, slow=options.slow)
    print(report.summary())
    print(f"{time.perf_counter() - started:.0f} s")
    return 1 if report.failures else 0


if __name__ == "__main__":
    sys.exit(main())
