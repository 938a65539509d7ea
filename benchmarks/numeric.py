"""B1–B4 and least squares: compiled eincalc gradients and Hessians against hand-written NumPy (and frameworks).

Each case returns the inputs, the eincalc program, the NumPy reference and the
framework variants; :mod:`run` checks that all agree before timing them.
"""

# ruff: noqa: N803 - matrices are capitals (W, X), as in the formulas they stand for

from __future__ import annotations

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
    )


# -- LS: least squares ------------------------------------------------------------------------------


def least_squares_by_hand(X: Any, W: Any, Y: Any) -> tuple[Any, Any]:
    """The loss ‖X W − Y‖² and its gradient 2 Xᵀ(X W − Y), as a careful person writes them."""
    R = X @ W - Y
    return np.vdot(R, R), 2 * (X.T @ R)


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
