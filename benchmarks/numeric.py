"""B1–B4: compiled eincalc gradients and Hessians against hand-written NumPy (and frameworks, when installed).

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


def mlp_case(batch: int, sizes: tuple[int, int, int, int], frameworks: Any) -> Case:
    D, H, K, C = sizes
    X, Y, W1, b1, W2, b2, W3, b3 = ec.tensors("X[B,D] Y[B,C] W1[D,H] b1[H] W2[H,K] b2[K] W3[K,C] b3[C]", simplex="Y")
    h1 = ec.let("h1", ec.sigmoid(X @ W1 + b1))
    h2 = ec.let("h2", ec.sigmoid(h1 @ W2 + b2))
    loss = ec.cross_entropy(h2 @ W3 + b3, Y)
    params = (W1, b1, W2, b2, W3, b3)
    compiled = ec.compile([ec.grad(loss, w) for w in params])
    rng = np.random.default_rng(0)
    values = {"X": rng.standard_normal((batch, D)), "Y": np.eye(C)[rng.integers(0, C, batch)]}
    for name, shape in {"W1": (D, H), "b1": (H,), "W2": (H, K), "b2": (K,), "W3": (K, C), "b3": (C,)}.items():
        values[name] = rng.standard_normal(shape) / np.sqrt(shape[0])
    return Case("B1", f"MLP {batch}×{D}→{H}→{K}→{C}", values, lambda: compiled(values),
                lambda: mlp_backprop(**values), frameworks.mlp(values), target=1.10)


# -- B2: outer-product gradient -------------------------------------------------------------------


def outer_case(n: int) -> Case:
    W, a, g = ec.tensors("W[m,n] a[n] g[m]")
    compiled = ec.compile(ec.grad(g @ (W @ a), W))
    rng = np.random.default_rng(1)
    values = {"W": rng.standard_normal((n, n)), "a": rng.standard_normal(n), "g": rng.standard_normal(n)}
    return Case("B2", f"∇_W gᵀ(W a), n={n}", values, lambda: compiled(values),
                lambda: np.outer(values["g"], values["a"]), target=1.10)


# -- B3: Hessians ---------------------------------------------------------------------------------


def quadratic_hessian_case(n: int, frameworks: Any) -> Case:
    x, A = ec.tensors("x[n] A[n,n]")
    compiled = ec.compile(ec.hessian(x @ A @ x, x))
    rng = np.random.default_rng(2)
    values = {"x": rng.standard_normal(n), "A": rng.standard_normal((n, n))}
    return Case("B3", f"Hessian xᵀAx, n={n}", values, lambda: compiled(values),
                lambda: values["A"] + values["A"].T, frameworks.quadratic_hessian(values), target=1.20)


def logistic_hessian_case(rows: int, cols: int, frameworks: Any) -> Case:
    X, y, w = ec.tensors("X[b,n] y[b] w[n]")
    compiled = ec.compile(ec.hessian(ec.sum(ec.softplus(-(y * (X @ w)))), w))
    rng = np.random.default_rng(3)
    values = {"X": rng.standard_normal((rows, cols)) / np.sqrt(cols), "y": rng.choice([-1.0, 1.0], rows),
              "w": rng.standard_normal(cols)}

    def closed_form() -> np.ndarray:
        p = 1 / (1 + np.exp(-values["y"] * (values["X"] @ values["w"])))
        return values["X"].T @ (values["X"] * (p * (1 - p))[:, None])

    return Case("B3", f"Hessian logistic, X {rows}×{cols}", values, lambda: compiled(values), closed_form,
                frameworks.logistic_hessian(values), target=1.20)


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
    return Case("B4", f"attention T={T}, d={d}", values, lambda: compiled(values),
                lambda: attention_backprop(**values), frameworks.attention(values), target=1.10)


def cases(quick: bool, frameworks: Any) -> list[Case]:
    """B1–B4 at the sizes of the issue, or small ones with ``quick``."""
    if quick:
        return [mlp_case(64, (196, 128, 128, 10), frameworks), outer_case(1024),
                quadratic_hessian_case(500, frameworks), logistic_hessian_case(1000, 200, frameworks),
                attention_case(256, 64, frameworks)]
    return [mlp_case(256, (784, 512, 512, 10), frameworks), outer_case(4096),
            quadratic_hessian_case(2000, frameworks), logistic_hessian_case(5000, 1000, frameworks),
            logistic_hessian_case(2000, 300, frameworks), attention_case(512, 64, frameworks),
            attention_case(2048, 64, frameworks)]
