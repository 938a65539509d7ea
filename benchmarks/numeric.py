"""B1–B4 and least squares: compiled eincalc gradients and Hessians against hand-written NumPy (and frameworks).

Each case returns the inputs, the eincalc program, the NumPy reference and the
framework variants; :mod:`run` checks that all agree before timing them.
"""

# ruff: noqa: N803 - matrices are capitals (W, X), as in the formulas they stand for

from __future__ import annotations

import timeit
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

import eincalc as ec


@dataclass
class Case:
    """One benchmark row: named inputs and one zero-argument function per contender."""

    benchmark: str
    name: str
    values: dict[str, np.ndarray]
    eincalc: Callable[[], Any]
    numpy: Callable[[], Any]
    frameworks: dict[str, Callable[[], Any] | str] = field(default_factory=dict)
    target: float | None = None
    fresh: Callable[[], Callable[[], Any]] | None = None
    """Builds a new eincalc contender (compiled anew), for rows that count what it keeps between calls."""
    floor: tuple[str, Callable[[], Any]] | None = None
    """What every NumPy implementation of the row must call (a `Floor`): timed beside NumPy, it shows how low a
    ratio this machine allows."""


class Floor:
    """The calls every NumPy implementation of a row must make, into preallocated arrays, each GEMM in its faster
    orientation on this machine (``A B`` or ``(Bᵀ Aᵀ)ᵀ``, the better of five timed calls each); calling it makes
    them all again.  Its time is a floor for code making the same calls.  Operands are the row's real values.

    >>> floor = Floor()
    >>> floor.exp(floor.product(np.ones((3, 2)), np.zeros((2, 4))))
    >>> floor(); float(floor.results[-1].sum())
    12.0
    """

    def __init__(self) -> None:
        self.calls: list[Callable[[], Any]] = []
        self.results: list[np.ndarray] = []

    def __call__(self) -> None:
        for call in self.calls:
            call()

    def product(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Add ``a @ b`` to the calls; the array it writes (its values are there after a call)."""
        direct, swapped = np.empty((a.shape[0], b.shape[1])), np.empty((b.shape[1], a.shape[0]))
        options = [(lambda: np.matmul(a, b, out=direct), direct), (lambda: np.matmul(b.T, a.T, out=swapped), swapped.T)]
        call, result = min(options, key=lambda option: min(timeit.repeat(option[0], number=1, repeat=5)))
        return self._add(call, result)

    def exp(self, x: np.ndarray) -> None:
        """Add ``exp(x)``, into an array of its own, to the calls."""
        out = np.empty_like(x)
        self._add(lambda: np.exp(x, out=out), out)

    def _add(self, call: Callable[[], Any], result: np.ndarray) -> np.ndarray:
        call()
        self.calls.append(call)
        self.results.append(result)
        return result


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


# -- B1: MLP gradient -------------------------------------------------------------------------


def mlp_backprop(X: Any, Y: Any, W1: Any, b1: Any, W2: Any, b2: Any, W3: Any, b3: Any) -> tuple[Any, ...]:
    """The hand-written backward pass of a sigmoid MLP with a softmax cross-entropy (summed over the batch)."""
    h1 = 1 / (1 + np.exp(-(X @ W1 + b1)))
    h2 = 1 / (1 + np.exp(-(h1 @ W2 + b2)))
    z = h2 @ W3 + b3
    p = _softmax(z)
    d3 = p - Y
    d2 = (d3 @ W3.T) * h2 * (1 - h2)
    d1 = (d2 @ W2.T) * h1 * (1 - h1)
    return X.T @ d1, d1.sum(0), h1.T @ d2, d2.sum(0), h2.T @ d3, d3.sum(0)


def mlp_program(batch: int, sizes: tuple[int, int, int, int]) -> tuple[list[ec.Expr], dict[str, np.ndarray]]:
    """B1's gradients (every weight and bias, from one reverse pass) and random inputs."""
    D, H, K, C = sizes
    X, Y, W1, b1, W2, b2, W3, b3 = ec.tensors("X[B,D] Y[B,C] W1[D,H] b1[H] W2[H,K] b2[K] W3[K,C] b3[C]", simplex="Y")
    h1 = ec.let("h1", ec.sigmoid(X @ W1 + b1))
    h2 = ec.let("h2", ec.sigmoid(h1 @ W2 + b2))
    loss = ec.cross_entropy(h2 @ W3 + b3, Y)
    rng = np.random.default_rng(0)
    values = {"X": rng.standard_normal((batch, D)), "Y": np.eye(C)[rng.integers(0, C, batch)]}
    for name, shape in {"W1": (D, H), "b1": (H,), "W2": (H, K), "b2": (K,), "W3": (K, C), "b3": (C,)}.items():
        values[name] = rng.standard_normal(shape) / np.sqrt(shape[0])
    return list(ec.grad(loss, [W1, b1, W2, b2, W3, b3])), values


def mlp_floor(X: Any, Y: Any, W1: Any, b1: Any, W2: Any, b2: Any, W3: Any, b3: Any) -> Floor:
    """B1's eight GEMMs (three forward, five backward) and the exponentials of its two sigmoids and its softmax."""
    h1 = 1 / (1 + np.exp(-(X @ W1 + b1)))
    h2 = 1 / (1 + np.exp(-(h1 @ W2 + b2)))
    d3 = _softmax(h2 @ W3 + b3) - Y
    d2 = (d3 @ W3.T) * h2 * (1 - h2)
    d1 = (d2 @ W2.T) * h1 * (1 - h1)
    floor = Floor()
    for layer, W in ((X, W1), (h1, W2), (h2, W3)):
        floor.exp(floor.product(layer, W))
    for delta, W in ((d3, W3), (d2, W2)):
        floor.product(delta, W.T)
    for layer, delta in ((X, d1), (h1, d2), (h2, d3)):
        floor.product(layer.T, delta)
    return floor


def mlp_case(batch: int, sizes: tuple[int, int, int, int], frameworks: Any) -> Case:
    D, H, K, C = sizes
    outputs, values = mlp_program(batch, sizes)
    compiled = ec.compile(outputs)
    return Case(
        "B1",
        f"MLP {batch}×{D}→{H}→{K}→{C}",
        values,
        lambda: compiled(values),
        lambda: mlp_backprop(**values),
        frameworks.mlp(values),
        target=0.97,
        floor=("its 8 GEMMs and 3 exps", mlp_floor(**values)),
    )


def deep_net_program(depth: int, n: int) -> tuple[list[ec.Expr], dict[str, np.ndarray]]:
    """P9: the gradients of a ``depth``-layer tanh network's squared error for every weight; inputs of size ``n``."""
    x, y = ec.tensors("x[n] y[n]")
    weights = ec.tensors(" ".join(f"W{layer}[n,n]" for layer in range(1, depth + 1)))
    h: ec.Expr = x
    for layer, W in enumerate(weights, 1):
        h = ec.let(f"h{layer}", ec.tanh(W @ h))
    rng = np.random.default_rng(6)
    values = {f"W{layer}": rng.standard_normal((n, n)) / np.sqrt(n) for layer in range(1, depth + 1)}
    values.update(x=rng.standard_normal(n), y=rng.standard_normal(n))
    return list(ec.grad(ec.sum((h - y) ** 2), list(weights))), values


# -- B2: outer-product gradient -------------------------------------------------------------------


def outer_case(n: int) -> Case:
    W, a, g = ec.tensors("W[m,n] a[n] g[m]")
    gradient = ec.grad(g @ (W @ a), W)
    compiled = ec.compile(gradient)
    rng = np.random.default_rng(1)
    values = {"W": rng.standard_normal((n, n)), "a": rng.standard_normal(n), "g": rng.standard_normal(n)}

    def fresh() -> Callable[[], Any]:
        program = ec.compile(gradient)
        return lambda: program(values)

    return Case(
        "B2",
        f"∇_W gᵀ(W a), n={n}",
        values,
        lambda: compiled(values),
        lambda: np.outer(values["g"], values["a"]),
        target=1.00,
        fresh=fresh,
    )


# -- B3: Hessians ---------------------------------------------------------------------------------


def quadratic_hessian_case(n: int, frameworks: Any) -> Case:
    x, A = ec.tensors("x[n] A[n,n]")
    compiled = ec.compile(ec.hessian(x @ A @ x, x))
    rng = np.random.default_rng(2)
    values = {"x": rng.standard_normal(n), "A": rng.standard_normal((n, n))}
    return Case(
        "B3",
        f"Hessian xᵀAx, n={n}",
        values,
        lambda: compiled(values),
        lambda: values["A"] + values["A"].T,
        frameworks.quadratic_hessian(values),
        target=1.00,
    )


def logistic_hessian_case(rows: int, cols: int, frameworks: Any) -> Case:
    X, y, w = ec.tensors("X[b,n] y[b] w[n]")
    compiled = ec.compile(ec.hessian(ec.sum(ec.softplus(-(y * (X @ w)))), w))
    rng = np.random.default_rng(3)
    values = {
        "X": rng.standard_normal((rows, cols)) / np.sqrt(cols),
        "y": rng.choice([-1.0, 1.0], rows),
        "w": rng.standard_normal(cols),
    }

    def closed_form() -> np.ndarray:
        p = 1 / (1 + np.exp(-values["y"] * (values["X"] @ values["w"])))
        return values["X"].T @ (values["X"] * (p * (1 - p))[:, None])

    return Case(
        "B3",
        f"Hessian logistic, X {rows}×{cols}",
        values,
        lambda: compiled(values),
        closed_form,
        frameworks.logistic_hessian(values),
        target=1.00,
    )


# -- B4: attention gradients ------------------------------------------------------------------------


def attention_backprop(Q: Any, K: Any, V: Any, G: Any) -> tuple[Any, ...]:
    """Hand-written gradients of ``Σ softmax(Q Kᵀ/√d) V ⊙ G`` with respect to Q, K and V."""
    scale = 1 / np.sqrt(Q.shape[1])
    S = _softmax(Q @ K.T * scale)
    dS = G @ V.T
    dZ = S * (dS - (dS * S).sum(axis=1, keepdims=True))
    return scale * (dZ @ K), scale * (dZ.T @ Q), S.T @ G


def attention_floor(Q: Any, K: Any, V: Any, G: Any) -> Floor:
    """B4's five GEMMs and the exponential of the T×T scores."""
    S = _softmax(Q @ K.T / np.sqrt(Q.shape[1]))
    floor = Floor()
    floor.exp(floor.product(Q, K.T))
    floor.product(G, V.T)
    for left, right in ((S, K), (S.T, Q), (S.T, G)):
        floor.product(left, right)
    return floor


def attention_case(T: int, d: int, frameworks: Any) -> Case:
    Q, K, V, G = ec.tensors("Q[t,d] K[s,d] V[s,e] G[t,e]")
    S = ec.let("S", ec.softmax(Q @ K.T * (1 / np.sqrt(d)), axis=1))
    loss = ec.sum(S @ V * G)
    compiled = ec.compile([ec.grad(loss, x) for x in (Q, K, V)])
    rng = np.random.default_rng(4)
    values = {name: rng.standard_normal((T, d)) for name in "QKVG"}
    return Case(
        "B4",
        f"attention T={T}, d={d}",
        values,
        lambda: compiled(values),
        lambda: attention_backprop(**values),
        frameworks.attention(values),
        target=0.85 if T <= 512 else 0.90,
        floor=("its 5 GEMMs and 1 exp", attention_floor(**values)),
    )


# -- LS: least squares ------------------------------------------------------------------------------


def least_squares_by_hand(X: Any, W: Any, Y: Any) -> tuple[Any, Any]:
    """The loss ‖X W − Y‖² and its gradient 2 Xᵀ(X W − Y), as a careful person writes them."""
    R = X @ W - Y
    return np.vdot(R, R), 2 * (X.T @ R)


def least_squares_floor(X: Any, W: Any, Y: Any) -> Floor:
    """Least squares' two GEMMs, ``R = X W`` and ``Xᵀ R``."""
    floor = Floor()
    floor.product(X.T, floor.product(X, W))
    return floor


def least_squares_case(rows: int, cols: int, outputs: int, frameworks: Any) -> Case:
    X, W, Y = ec.tensors("X[b,n] W[n,m] Y[b,m]")
    loss = ec.sum((X @ W - Y) ** 2)
    compiled = ec.compile([loss, ec.grad(loss, W)])
    rng = np.random.default_rng(5)
    values = {
        "X": rng.standard_normal((rows, cols)),
        "W": rng.standard_normal((cols, outputs)) / np.sqrt(cols),
        "Y": rng.standard_normal((rows, outputs)),
    }
    return Case(
        "LS",
        f"‖X W − Y‖² and ∇_W, X {rows}×{cols}, W {cols}×{outputs}",
        values,
        lambda: compiled(values),
        lambda: least_squares_by_hand(**values),
        frameworks.least_squares(values),
        target=0.90,
        floor=("its 2 GEMMs", least_squares_floor(**values)),
    )


def cases(quick: bool, frameworks: Any) -> list[Case]:
    """B1–B4 and least squares at the sizes of the issues, or small ones with ``quick``."""
    if quick:
        return [
            mlp_case(64, (196, 128, 128, 10), frameworks),
            outer_case(1024),
            quadratic_hessian_case(500, frameworks),
            logistic_hessian_case(1000, 200, frameworks),
            attention_case(256, 64, frameworks),
            least_squares_case(2000, 200, 50, frameworks),
        ]
    return [
        mlp_case(256, (784, 512, 512, 10), frameworks),
        outer_case(4096),
        quadratic_hessian_case(2000, frameworks),
        logistic_hessian_case(5000, 1000, frameworks),
        logistic_hessian_case(2000, 300, frameworks),
        attention_case(512, 64, frameworks),
        attention_case(2048, 64, frameworks),
        least_squares_case(10_000, 500, 100, frameworks),
    ]
