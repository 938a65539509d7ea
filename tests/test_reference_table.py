"""The reference table of docs/reference-table.md (issue 15, item 4): for each problem, the input, the matrix form
eincalc prints and the form a textbook prints.

Every row is checked four ways: the printed text is asserted exactly; the derivative, the textbook closed form and
the printed NumPy text give the same numbers on random well-conditioned inputs; and the printed text, read back by
`eincalc.parse_matrix` with strict matrix typing, evaluates to the same numbers again.  The table in the docs is
rendered from `PROBLEMS`; ``EINCALC_UPDATE_SNAPSHOTS=1`` rewrites it.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

import eincalc as ec
from eincalc.core.expr import Expr
from eincalc.core.nodes import Tensor
from eincalc.matrix.readback import reads_back
from eincalc.testing import random_values

Values = dict[str, np.ndarray]
SIZES = {"n": 4, "m": 5, "k": 3, "d": 3, "h": 4, "t": 3, "s": 4, "e": 2, "f": 3}
DOC = Path(__file__).parent.parent / "docs" / "reference-table.md"
inv, det, norm = np.linalg.inv, np.linalg.det, np.linalg.norm

x, a, b, c = ec.tensors("x[n] a[n] b[n] c[n]")
A, B, D, X, G = ec.tensors("A[n,n] B[n,n] D[n,n] X[n,n] G[n,n]")
(S,) = ec.tensors("S[n,n]", symmetric="S")
Xd, w, y, lam = ec.tensors("X[m,n] w[n] y[m] λ")
theta, W, xk = ec.tensors("θ[k] W[k,n] x[n]")
(labels,) = ec.tensors("y[k]", simplex="y")


def sigmoid(v: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-v))


def softmax(v: np.ndarray, axis: int = -1) -> np.ndarray:
    e = np.exp(v - v.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def softmax_jacobian(s: np.ndarray) -> np.ndarray:
    return np.diag(s) - np.outer(s, s)


@dataclass(frozen=True)
class Problem:
    """One row: ``build()`` gives the derivative and the variables it is taken by."""

    family: str
    source: str
    build: Callable[[], tuple[Expr, list[Tensor]]]
    printed: str
    textbook: str
    closed: Callable[[Values], np.ndarray]


def grad(f: Expr, wrt: Tensor) -> tuple[Expr, list[Tensor]]:
    return ec.grad(f, wrt), [wrt]


def hess(f: Expr, wrt: Tensor) -> tuple[Expr, list[Tensor]]:
    return ec.hessian(f, wrt), [wrt]


def jac(f: Expr, wrt: Tensor) -> tuple[Expr, list[Tensor]]:
    return ec.jacobian(f, wrt), [wrt]


def _hand_logistic() -> Expr:
    p = ec.let("p", ec.sigmoid(Xd @ w))
    return -(y @ ec.log(p) + (1 - y) @ ec.log(1 - p))


def _named_cross_entropy() -> Expr:
    return -ec.sum(labels * ec.log(ec.let("ŷ", ec.softmax(theta))))


def _mlp() -> tuple[Expr, Tensor, Tensor]:
    xi, W1, b1, W2, b2 = ec.tensors("x[d] W1[h,d] b1[h] W2[k,h] b2[k]")
    h = ec.let("h", ec.sigmoid(W1 @ xi + b1))
    y_hat = ec.let("ŷ", ec.softmax(W2 @ h + b2))
    return -ec.sum(labels * ec.log(y_hat)), W1, W2


def _mlp_closed(v: Values) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The hidden layer, ŷ − y and the gradient at the hidden layer's input."""
    h = sigmoid(v["W1"] @ v["x"] + v["b1"])
    delta = softmax(v["W2"] @ h + v["b2"]) - v["y"]
    return h, delta, (v["W2"].T @ delta) * h * (1 - h)


Q, K, V, Gt = ec.tensors("Q[t,e] K[s,e] V[s,f] G[t,f]")


def _attention(wrt: Tensor) -> tuple[Expr, list[Tensor]]:
    P = ec.let("P", ec.softmax(Q @ K.T, axis=1))
    return ec.vjp(P @ V, wrt, Gt), [wrt]


def _attention_query(v: Values) -> np.ndarray:
    P = softmax(v["Q"] @ v["K"].T, axis=1)
    dP = v["G"] @ v["V"].T
    return (P * (dP - (dP * P).sum(axis=1, keepdims=True))) @ v["K"]


z, gamma, beta, eps, g = ec.tensors("z[n] γ[n] β[n] ε g[n]")


def _layer_norm(wrt: Tensor) -> tuple[Expr, list[Tensor]]:
    centred = ec.let("c", z - ec.let("μ", ec.mean(z)))
    variance = ec.let("v", ec.mean(centred * centred))
    return ec.vjp(gamma * centred * (variance + eps) ** -0.5 + beta, wrt, g), [wrt]


def _layer_norm_gamma(v: Values) -> np.ndarray:
    centred = v["z"] - v["z"].mean()
    return v["g"] * centred / np.sqrt((centred**2).mean() + v["ε"])


xt, hp, cp, dh = ec.tensors("x[d] h[k] c[k] dh[k]")
GATES = {name: ec.tensors(f"W{name}[k,d] U{name}[k,k] b{name}[k]") for name in "figo"}


def _lstm(wrt_name: str) -> tuple[Expr, list[Tensor]]:
    def gate(name: str, fn: Callable[[Expr], Expr]) -> Expr:
        Wg, Ug, bg = GATES[name]
        return ec.let(name, fn(Wg @ xt + Ug @ hp + bg))

    f, i, cand, o = (gate(n, ec.tanh if n == "g" else ec.sigmoid) for n in "figo")
    cell = ec.let("cn", f * cp + i * cand)
    wrt = cp if wrt_name == "c" else GATES["f"][0]
    return ec.vjp(o * ec.tanh(cell), wrt, dh), [wrt]


def _lstm_closed(v: Values) -> tuple[np.ndarray, np.ndarray]:
    """The forget gate and the gradient at the new cell state."""

    def gate(name: str) -> np.ndarray:
        pre = v[f"W{name}"] @ v["x"] + v[f"U{name}"] @ v["h"] + v[f"b{name}"]
        return np.tanh(pre) if name == "g" else sigmoid(pre)

    f, i, cand, o = (gate(n) for n in "figo")
    cell = f * v["c"] + i * cand
    return f, v["dh"] * o * (1 - np.tanh(cell) ** 2)


def _quadratic_matrix_syntax() -> tuple[Expr, list[Tensor]]:
    return ec.grad(ec.parse_matrix("x'*A*x", x, A), x), [x]


PROBLEMS = [
    # -- traces (The Matrix Cookbook, §2.5) ------------------------------------------------------
    Problem("trace", "grad(trace(X), X)", lambda: grad(ec.trace(X), X), "I", "I", lambda v: np.eye(4)),
    Problem(
        "trace",
        "grad(trace(A @ X @ B), X)",
        lambda: grad(ec.trace(A @ X @ B), X),
        "Aᵀ Bᵀ",
        "Aᵀ Bᵀ",
        lambda v: v["A"].T @ v["B"].T,
    ),
    Problem(
        "trace",
        "grad(trace(A @ X.T @ B), X)",
        lambda: grad(ec.trace(A @ X.T @ B), X),
        "B A",
        "B A",
        lambda v: v["B"] @ v["A"],
    ),
    Problem("trace", "grad(trace(X.T @ X), X)", lambda: grad(ec.trace(X.T @ X), X), "2 X", "2 X", lambda v: 2 * v["X"]),
    Problem("trace", "grad(trace(X @ X), X)", lambda: grad(ec.trace(X @ X), X), "2 Xᵀ", "2 Xᵀ", lambda v: 2 * v["X"].T),
    Problem(
        "trace",
        "grad(trace(X @ B @ X.T), X)",
        lambda: grad(ec.trace(X @ B @ X.T), X),
        "X (B + Bᵀ)",
        "X (B + Bᵀ)",
        lambda v: v["X"] @ (v["B"] + v["B"].T),
    ),
    Problem(
        "trace",
        "grad(trace(X.T @ B @ X), X)",
        lambda: grad(ec.trace(X.T @ B @ X), X),
        "(B + Bᵀ) X",
        "(B + Bᵀ) X",
        lambda v: (v["B"] + v["B"].T) @ v["X"],
    ),
    Problem(
        "trace",
        "grad(trace(A @ X @ B @ X), X)",
        lambda: grad(ec.trace(A @ X @ B @ X), X),
        "(B X A)ᵀ + (A X B)ᵀ",
        "Aᵀ Xᵀ Bᵀ + Bᵀ Xᵀ Aᵀ",
        lambda v: v["A"].T @ v["X"].T @ v["B"].T + v["B"].T @ v["X"].T @ v["A"].T,
    ),
    # -- determinants ----------------------------------------------------------------------------
    Problem(
        "determinant",
        "grad(det(X), X)",
        lambda: grad(ec.det(X), X),
        "det(X) X⁻ᵀ",
        "det(X) X⁻ᵀ",
        lambda v: det(v["X"]) * inv(v["X"]).T,
    ),
    Problem("determinant", "grad(logdet(X), X)", lambda: grad(ec.logdet(X), X), "X⁻ᵀ", "X⁻ᵀ", lambda v: inv(v["X"]).T),
    Problem(
        "determinant",
        "grad(det(A @ X @ B), X)",
        lambda: grad(ec.det(A @ X @ B), X),
        "det(A X B) Aᵀ (A X B)⁻ᵀ Bᵀ",
        "det(A X B) X⁻ᵀ",
        lambda v: det(v["A"] @ v["X"] @ v["B"]) * inv(v["X"]).T,
    ),
    Problem(
        "determinant",
        "grad(logdet(S), S), S symmetric",
        lambda: grad(ec.logdet(S), S),
        "S⁻¹",
        "S⁻¹",
        lambda v: inv(v["S"]),
    ),
    # -- inverses --------------------------------------------------------------------------------
    Problem(
        "inverse",
        "grad(trace(inv(X)), X)",
        lambda: grad(ec.trace(ec.inv(X)), X),
        "−X⁻ᵀ X⁻ᵀ",
        "−(X⁻²)ᵀ",
        lambda v: -(inv(v["X"]) @ inv(v["X"])).T,
    ),
    Problem(
        "inverse",
        "grad(trace(A @ inv(X) @ B), X)",
        lambda: grad(ec.trace(A @ ec.inv(X) @ B), X),
        "−X⁻ᵀ Aᵀ Bᵀ X⁻ᵀ",
        "−X⁻ᵀ Aᵀ Bᵀ X⁻ᵀ",
        lambda v: -(inv(v["X"]) @ v["B"] @ v["A"] @ inv(v["X"])).T,
    ),
    Problem(
        "inverse",
        "grad(a @ inv(X) @ b, X)",
        lambda: grad(a @ ec.inv(X) @ b, X),
        "−X⁻ᵀ a bᵀ X⁻ᵀ",
        "−X⁻ᵀ a bᵀ X⁻ᵀ",
        lambda v: -inv(v["X"]).T @ np.outer(v["a"], v["b"]) @ inv(v["X"]).T,
    ),
    Problem(
        "inverse",
        "vjp(inv(X), X, G)",
        lambda: (ec.vjp(ec.inv(X), X, G), [X]),
        "−X⁻ᵀ G X⁻ᵀ",
        "−X⁻ᵀ G X⁻ᵀ",
        lambda v: -inv(v["X"]).T @ v["G"] @ inv(v["X"]).T,
    ),
    Problem(
        "inverse",
        "grad((x - a) @ inv(S) @ (x - a), x)",
        lambda: grad((x - a) @ ec.inv(S) @ (x - a), x),
        "2 S⁻¹ (x − a)",
        "2 S⁻¹ (x − a)",
        lambda v: 2 * inv(v["S"]) @ (v["x"] - v["a"]),
    ),
    # -- norms -----------------------------------------------------------------------------------
    Problem(
        "norm", "grad(norm(x), x)", lambda: grad(ec.norm(x), x), "x / ‖x‖", "x / ‖x‖", lambda v: v["x"] / norm(v["x"])
    ),
    Problem(
        "norm",
        "grad(frobenius(X), X)",
        lambda: grad(ec.frobenius(X), X),
        "X / ‖X‖_F",
        "X / ‖X‖_F",
        lambda v: v["X"] / norm(v["X"]),
    ),
    Problem(
        "norm", "grad(frobenius(X) ** 2, X)", lambda: grad(ec.frobenius(X) ** 2, X), "2 X", "2 X", lambda v: 2 * v["X"]
    ),
    Problem(
        "norm",
        "grad(sum((x - a) ** 2), x)",
        lambda: grad(ec.sum((x - a) ** 2), x),
        "2 (x − a)",
        "2 (x − a)",
        lambda v: 2 * (v["x"] - v["a"]),
    ),
    Problem(
        "norm",
        "hessian(norm(x), x)",
        lambda: hess(ec.norm(x), x),
        "I / ‖x‖ − x xᵀ / ‖x‖³",
        "(I − x xᵀ / ‖x‖²) / ‖x‖",
        lambda v: (np.eye(4) - np.outer(v["x"], v["x"]) / norm(v["x"]) ** 2) / norm(v["x"]),
    ),
    Problem(
        "norm",
        "jacobian(x / norm(x), x)",
        lambda: jac(x / ec.norm(x), x),
        "I / ‖x‖ − x xᵀ / ‖x‖³",
        "(I − x̂ x̂ᵀ) / ‖x‖",
        lambda v: (np.eye(4) - np.outer(v["x"], v["x"]) / norm(v["x"]) ** 2) / norm(v["x"]),
    ),
    # -- linear and quadratic forms --------------------------------------------------------------
    Problem("quadratic form", "grad(a @ x, x)", lambda: grad(a @ x, x), "a", "a", lambda v: v["a"]),
    Problem("quadratic form", "grad(x @ x, x)", lambda: grad(x @ x, x), "2 x", "2 x", lambda v: 2 * v["x"]),
    Problem(
        "quadratic form",
        "grad(x @ A @ x, x)",
        lambda: grad(x @ A @ x, x),
        "(A + Aᵀ) x",
        "(A + Aᵀ) x",
        lambda v: (v["A"] + v["A"].T) @ v["x"],
    ),
    Problem(
        "quadratic form",
        'grad(parse_matrix("x\'*A*x", x, A), x)',
        _quadratic_matrix_syntax,
        "(A + Aᵀ) x",
        "(A + Aᵀ) x",
        lambda v: (v["A"] + v["A"].T) @ v["x"],
    ),
    Problem(
        "quadratic form",
        "grad(x @ S @ x, x), S symmetric",
        lambda: grad(x @ S @ x, x),
        "2 S x",
        "2 S x",
        lambda v: 2 * v["S"] @ v["x"],
    ),
    Problem(
        "quadratic form",
        "hessian(x @ A @ x, x)",
        lambda: hess(x @ A @ x, x),
        "A + Aᵀ",
        "A + Aᵀ",
        lambda v: v["A"] + v["A"].T,
    ),
    Problem(
        "quadratic form",
        "grad(a @ X @ b, X)",
        lambda: grad(a @ X @ b, X),
        "a bᵀ",
        "a bᵀ",
        lambda v: np.outer(v["a"], v["b"]),
    ),
    Problem(
        "quadratic form",
        "grad(b @ X.T @ X @ c, X)",
        lambda: grad(b @ X.T @ X @ c, X),
        "X (c bᵀ + b cᵀ)",
        "X (b cᵀ + c bᵀ)",
        lambda v: v["X"] @ (np.outer(v["b"], v["c"]) + np.outer(v["c"], v["b"])),
    ),
    Problem(
        "quadratic form",
        "grad((X @ b + c) @ D @ (X @ b + c), X)",
        lambda: grad((X @ b + c) @ D @ (X @ b + c), X),
        "(D + Dᵀ) (X b + c) bᵀ",
        "(D + Dᵀ) (X b + c) bᵀ",
        lambda v: np.outer((v["D"] + v["D"].T) @ (v["X"] @ v["b"] + v["c"]), v["b"]),
    ),
    # -- least squares ---------------------------------------------------------------------------
    Problem(
        "least squares",
        "grad(sum((X @ w - y) ** 2), w)",
        lambda: grad(ec.sum((Xd @ w - y) ** 2), w),
        "2 Xᵀ (X w − y)",
        "2 Xᵀ (X w − y)",
        lambda v: 2 * v["X"].T @ (v["X"] @ v["w"] - v["y"]),
    ),
    Problem(
        "least squares",
        "hessian(sum((X @ w - y) ** 2), w)",
        lambda: hess(ec.sum((Xd @ w - y) ** 2), w),
        "2 Xᵀ X",
        "2 Xᵀ X",
        lambda v: 2 * v["X"].T @ v["X"],
    ),
    Problem(
        "least squares",
        "grad(sum((X @ w - y) ** 2) + λ * (w @ w), w)",
        lambda: grad(ec.sum((Xd @ w - y) ** 2) + lam * (w @ w), w),
        "2 Xᵀ (X w − y) + 2 λ w",
        "2 Xᵀ (X w − y) + 2 λ w",
        lambda v: 2 * v["X"].T @ (v["X"] @ v["w"] - v["y"]) + 2 * v["λ"] * v["w"],
    ),
    Problem(
        "least squares",
        "grad(mse(X @ w, y), w)",
        lambda: grad(ec.mse(Xd @ w, y), w),
        "2 Xᵀ (X w − y) / m",
        "(2/m) Xᵀ (X w − y)",
        lambda v: 2 * v["X"].T @ (v["X"] @ v["w"] - v["y"]) / 5,
    ),
    # -- logistic regression ---------------------------------------------------------------------
    Problem(
        "logistic regression",
        "grad(binary_cross_entropy(X @ w, y), w)",
        lambda: grad(ec.binary_cross_entropy(Xd @ w, y), w),
        "Xᵀ (σ(X w) − y)",
        "Xᵀ (σ(X w) − y)",
        lambda v: v["X"].T @ (sigmoid(v["X"] @ v["w"]) - v["y"]),
    ),
    Problem(
        "logistic regression",
        "hessian(binary_cross_entropy(X @ w, y), w)",
        lambda: hess(ec.binary_cross_entropy(Xd @ w, y), w),
        "Xᵀ diag(σ(X w) ⊙ (1 − σ(X w))) X",
        "Xᵀ diag(σ(X w) ⊙ (1 − σ(X w))) X",
        lambda v: v["X"].T @ np.diag(sigmoid(v["X"] @ v["w"]) * (1 - sigmoid(v["X"] @ v["w"]))) @ v["X"],
    ),
    Problem(
        "logistic regression",
        "p = let('p', σ(X @ w)); grad(−(y @ log(p) + (1 − y) @ log(1 − p)), w)",
        lambda: grad(_hand_logistic(), w),
        "Xᵀ (p − y)\n  where p = σ(X w)",
        "Xᵀ (p − y)",
        lambda v: v["X"].T @ (sigmoid(v["X"] @ v["w"]) - v["y"]),
    ),
    Problem(
        "logistic regression",
        "the same, hessian",
        lambda: hess(_hand_logistic(), w),
        "Xᵀ diag(p ⊙ (1 − p)) X\n  where p = σ(X w)",
        "Xᵀ diag(p ⊙ (1 − p)) X",
        lambda v: v["X"].T @ np.diag(sigmoid(v["X"] @ v["w"]) * (1 - sigmoid(v["X"] @ v["w"]))) @ v["X"],
    ),
    # -- softmax regression ----------------------------------------------------------------------
    Problem(
        "softmax",
        "jacobian(softmax(θ), θ)",
        lambda: jac(ec.softmax(theta), theta),
        "diag(softmax(θ)) − softmax(θ) softmax(θ)ᵀ",
        "diag(s) − s sᵀ",
        lambda v: softmax_jacobian(softmax(v["θ"])),
    ),
    Problem(
        "softmax",
        "jacobian(log_softmax(θ), θ)",
        lambda: jac(ec.log_softmax(theta), theta),
        "I − 1 softmax(θ)ᵀ",
        "I − 1 sᵀ",
        lambda v: np.eye(3) - np.outer(np.ones(3), softmax(v["θ"])),
    ),
    Problem(
        "softmax",
        "grad(cross_entropy(θ, y), θ), y simplex",
        lambda: grad(ec.cross_entropy(theta, labels), theta),
        "softmax(θ) − y",
        "ŷ − y",
        lambda v: softmax(v["θ"]) - v["y"],
    ),
    Problem(
        "softmax",
        "ŷ = let('ŷ', softmax(θ)); grad(−sum(y * log(ŷ)), θ), y simplex",
        lambda: grad(_named_cross_entropy(), theta),
        "ŷ − y\n  where ŷ = softmax(θ)",
        "ŷ − y",
        lambda v: softmax(v["θ"]) - v["y"],
    ),
    Problem(
        "softmax",
        "hessian(cross_entropy(θ, y), θ)",
        lambda: hess(ec.cross_entropy(theta, labels), theta),
        "diag(softmax(θ)) − softmax(θ) softmax(θ)ᵀ",
        "diag(ŷ) − ŷ ŷᵀ",
        lambda v: softmax_jacobian(softmax(v["θ"])),
    ),
    Problem(
        "softmax",
        "grad(logsumexp(A @ x), x)",
        lambda: grad(ec.logsumexp(A @ x), x),
        "Aᵀ softmax(A x)",
        "Aᵀ softmax(A x)",
        lambda v: v["A"].T @ softmax(v["A"] @ v["x"]),
    ),
    Problem(
        "softmax",
        "hessian(logsumexp(A @ x), x)",
        lambda: hess(ec.logsumexp(A @ x), x),
        "Aᵀ (diag(softmax(A x)) − softmax(A x) softmax(A x)ᵀ) A",
        "Aᵀ (diag(s) − s sᵀ) A",
        lambda v: v["A"].T @ softmax_jacobian(softmax(v["A"] @ v["x"])) @ v["A"],
    ),
    Problem(
        "softmax",
        "grad(cross_entropy(W @ x, y), W)",
        lambda: grad(ec.cross_entropy(W @ xk, labels), W),
        "(softmax(W x) − y) xᵀ",
        "(ŷ − y) xᵀ",
        lambda v: np.outer(softmax(v["W"] @ v["x"]) - v["y"], v["x"]),
    ),
    Problem(
        "softmax",
        "hessian(cross_entropy(W @ x, y), x)",
        lambda: hess(ec.cross_entropy(W @ xk, labels), xk),
        "Wᵀ (diag(softmax(W x)) − softmax(W x) softmax(W x)ᵀ) W",
        "Wᵀ (diag(ŷ) − ŷ ŷᵀ) W",
        lambda v: v["W"].T @ softmax_jacobian(softmax(v["W"] @ v["x"])) @ v["W"],
    ),
    # -- networks ----------------------------------------------------------------------------------
    Problem(
        "MLP",
        "h = σ(W1 x + b1), ŷ = softmax(W2 h + b2) (named); grad(−Σ y log ŷ, W2)",
        lambda: grad(_mlp()[0], _mlp()[2]),
        "(ŷ − y) hᵀ\n  where h = σ(W₁ x + b₁)\n  where ŷ = softmax(W₂ h + b₂)",
        "(ŷ − y) hᵀ",
        lambda v: np.outer(_mlp_closed(v)[1], _mlp_closed(v)[0]),
    ),
    Problem(
        "MLP",
        "the same, by W1 (dh: the gradient at h)",
        lambda: grad(_mlp()[0], _mlp()[1]),
        "(h ⊙ (1 − h) ⊙ dh) xᵀ\n  where h = σ(W₁ x + b₁)\n  where ŷ = softmax(W₂ h + b₂)\n  where dh = W₂ᵀ (ŷ − y)",
        "((W₂ᵀ (ŷ − y)) ⊙ h ⊙ (1 − h)) xᵀ",
        lambda v: np.outer(_mlp_closed(v)[2], v["x"]),
    ),
    Problem(
        "attention",
        "P = softmax_rows(Q Kᵀ) (named); vjp(P @ V, V, G)",
        lambda: _attention(V),
        "Pᵀ G\n  where P = softmax_rows(Q Kᵀ)",
        "Pᵀ G",
        lambda v: softmax(v["Q"] @ v["K"].T, axis=1).T @ v["G"],
    ),
    Problem(
        "attention",
        "the same, by Q (dP = G Vᵀ)",
        lambda: _attention(Q),
        "(P ⊙ (dP − (dP ⊙ P) 1 1ᵀ)) K\n  where P = softmax_rows(Q Kᵀ)\n  where dP = G Vᵀ",
        "(P ⊙ (dP − rowsum(dP ⊙ P) 1ᵀ)) K",
        _attention_query,
    ),
    Problem(
        "layer norm",
        "c = z − mean(z), v = mean(c²) (named); vjp(γ ⊙ c / √(v + ε) + β, γ, g)",
        lambda: _layer_norm(gamma),
        "(g ⊙ c) / (v + ε)^0.5\n  where μ = 1ᵀ z / n\n  where c = z − μ 1\n  where v = cᵀ c / n",
        "g ⊙ (z − μ) / √(σ² + ε)",
        _layer_norm_gamma,
    ),
    Problem("layer norm", "the same, by β", lambda: _layer_norm(beta), "g", "g", lambda v: v["g"]),
    Problem(
        "LSTM cell",
        "gates f, i, g, o and cn = f ⊙ c + i ⊙ g (named); vjp(o ⊙ tanh(cn), Wf, dh)",
        lambda: _lstm("Wf"),
        "(f ⊙ (1 − f) ⊙ df) xᵀ"
        "\n  where f = σ(Wf x + Uf h + bf)"
        "\n  where i = σ(Wi x + Ui h + bi)"
        "\n  where g = tanh(Wg x + Ug h + bg)"
        "\n  where cn = f ⊙ c + i ⊙ g"
        "\n  where o = σ(Wo x + Uo h + bo)"
        "\n  where dcn = (1 − tanh(cn)²) ⊙ o ⊙ dh"
        "\n  where df = dcn ⊙ c",
        "(dc′ ⊙ c ⊙ f ⊙ (1 − f)) xᵀ",
        lambda v: np.outer(_lstm_closed(v)[1] * v["c"] * _lstm_closed(v)[0] * (1 - _lstm_closed(v)[0]), v["x"]),
    ),
    Problem(
        "LSTM cell",
        "the same, by the previous cell state c",
        lambda: _lstm("c"),
        "f ⊙ dcn"
        "\n  where f = σ(Wf x + Uf h + bf)"
        "\n  where i = σ(Wi x + Ui h + bi)"
        "\n  where g = tanh(Wg x + Ug h + bg)"
        "\n  where cn = f ⊙ c + i ⊙ g"
        "\n  where o = σ(Wo x + Uo h + bo)"
        "\n  where dcn = (1 − tanh(cn)²) ⊙ o ⊙ dh",
        "f ⊙ dc′",
        lambda v: _lstm_closed(v)[0] * _lstm_closed(v)[1],
    ),
]


def values_for(expr: Expr, wrt: list[Tensor]) -> Values:
    """Random values: square matrices shifted by n·I (well conditioned), ``S`` positive definite, labels on the
    simplex, ε positive."""
    values = random_values(expr, SIZES, seed=11)
    for tensor in wrt:
        values.update(random_values(tensor, SIZES, seed=12))
    for name, value in values.items():
        if value.ndim == 2 and value.shape[0] == value.shape[1] and name in ("A", "B", "D", "X", "S"):
            values[name] = (value @ value.T if name == "S" else value) + 4 * np.eye(len(value))
    if "ε" in values:
        values["ε"] = np.asarray(1e-3)
    return values


def test_the_table_covers_forty_problems_and_every_family() -> None:
    assert len(PROBLEMS) >= 40
    families = {p.family for p in PROBLEMS}
    assert {
        "trace",
        "determinant",
        "inverse",
        "norm",
        "least squares",
        "logistic regression",
        "softmax",
        "MLP",
        "attention",
        "layer norm",
        "LSTM cell",
    } <= families


@pytest.mark.parametrize("problem", PROBLEMS, ids=lambda p: p.source)
def test_printed_form_is_exact_right_and_reads_back(problem: Problem) -> None:
    expr, wrt = problem.build()
    form = ec.to_matrix(expr, sizes_from=wrt)
    assert form.text == problem.printed
    values = values_for(expr, wrt)
    expected = problem.closed(values)
    scale = max(1.0, float(np.abs(expected).max()))
    np.testing.assert_allclose(ec.evaluate(expr, values, dims=SIZES), expected, atol=1e-10 * scale, rtol=1e-9)
    np.testing.assert_allclose(form.evaluate(values), expected, atol=1e-10 * scale, rtol=1e-9)
    check = reads_back(form, expr, wrt, values)
    assert check.passed, str(check)


def table() -> str:
    """The Markdown table of `PROBLEMS`, as docs/reference-table.md shows it."""
    rows = ["| # | family | input | eincalc prints | textbook |", "|---|---|---|---|---|"]
    for n, p in enumerate(PROBLEMS, start=1):
        printed = p.printed.replace("\n  ", " ")  # where-clauses on the line, as parse_matrix also reads them
        rows.append(f"| {n} | {p.family} | `{p.source}` | `{printed}` | `{p.textbook}` |")
    return "\n".join(rows) + "\n"


def _shown_table() -> tuple[str, int, int]:
    text = DOC.read_text(encoding="utf-8")
    return text, text.index("<!-- table -->\n") + len("<!-- table -->\n"), text.index("<!-- /table -->")


def test_the_docs_show_this_table() -> None:
    text, start, end = _shown_table()
    if os.environ.get("EINCALC_UPDATE_SNAPSHOTS"):
        DOC.write_text(text[:start] + table() + text[end:], encoding="utf-8")
        text, start, end = _shown_table()
    assert text[start:end] == table(), "docs/reference-table.md is stale; regenerate with EINCALC_UPDATE_SNAPSHOTS=1"
