"""B5 and B6: how long eincalc takes to derive (differentiate and simplify), not to evaluate.

B5 derives dLoss/dW₁ of P9, a ``depth``-layer tanh MLP whose layers are named
intermediates (and, for comparison, the same network unnamed); B6 derives each
reference problem P1–P8 of the design notes.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

import eincalc as ec

_FRESH = itertools.count()


def deep_mlp_derivation(depth: int, named: bool = True) -> Callable[[], object]:
    """P9: the returned function builds the network and derives dLoss/dW₁.

    Expressions are hash-consed and per-node results cached, so each call builds
    over a dimension name not used before: no run reuses an earlier run's
    derivative and times nothing.  With ``named=False`` the layers are not named
    intermediates: one expression DAG, shared parts shown once as automatic
    intermediates.
    """

    def derive() -> object:
        dim = f"n{next(_FRESH)}"
        x, y = ec.tensors(f"x[{dim}] y[{dim}]")
        weights = ec.tensors(" ".join(f"W{layer}[{dim},{dim}]" for layer in range(1, depth + 1)))
        h: ec.Expr = x
        for layer, W in enumerate(weights, 1):
            h = ec.let(f"h{layer}", ec.tanh(W @ h), adjoint=f"δ{layer}") if named else ec.tanh(W @ h)
        loss = ec.sum((h - y) ** 2)
        with ec.resource_limits(max_nodes=None, max_tree_nodes=None):  # the unnamed network is large on purpose
            return ec.grad(loss, weights[0])

    return derive


def _p1() -> object:
    W, a, g = ec.tensors("W[m,n] a[n] g[m]")
    return ec.vjp(W @ a, W, g), ec.vjp(W @ a, a, g)


def _p2() -> object:
    x, y, W1, W2 = ec.tensors("x[i] y[k] W1[i,j] W2[j,k]")
    a1 = ec.let("a1", ec.sigmoid(W1.T @ x))
    a2 = ec.let("a2", ec.sigmoid(W2.T @ a1))
    error = 0.5 * ec.sum((a2 - y) ** 2)
    return ec.grad(error, W1), ec.grad(error, W2)


def _p3() -> object:
    x, y, W1, b1, W2, b2 = ec.tensors("x[d] y[c] W1[d,h] b1[h] W2[h,c] b2[c]", simplex="y")
    h = ec.let("h", ec.sigmoid(x @ W1 + b1))
    J = ec.cross_entropy(h @ W2 + b2, y)
    return tuple(ec.grad(J, v) for v in (x, W1, b1))


def _p4() -> object:
    w0, x0, w1, x1, w2 = ec.tensors("w0 x0 w1 x1 w2")
    f = ec.sigmoid(w0 * x0 + w1 * x1 + w2)
    return tuple(ec.grad(f, v) for v in (w0, w1, w2, x0, x1))


def _p5() -> object:
    X, W, Y = ec.tensors("X[b,n] W[n,m] Y[b,m]")
    return ec.grad(ec.sum((X @ W - Y) ** 2), W)


def _p6() -> object:
    x, A, X, y, w = ec.tensors("x[n] A[n,n] X[b,k] y[b] w[k]")
    return ec.hessian(x @ A @ x, x), ec.hessian(ec.sum(ec.softplus(-(y * (X @ w)))), w)


def _p7() -> object:
    A, X, B = ec.tensors("A[m,n] X[n,p] B[p,m]")
    (S,) = ec.tensors("S[n,n]")
    return ec.grad(ec.trace(A @ X @ B), X), ec.grad(ec.logdet(S), S), ec.grad(ec.trace(X.T @ X), X)


def _p8() -> object:
    Q, K, V, G = ec.tensors("Q[t,d] K[s,d] V[s,e] G[t,e]")
    S = ec.let("S", ec.softmax(Q @ K.T * 0.125, axis=1))
    loss = ec.sum(S @ V * G)
    return tuple(ec.grad(loss, v) for v in (Q, K, V))


REFERENCE_PROBLEMS: dict[str, Callable[[], object]] = {
    "P1 z = W a (vjp W, a)": _p1,
    "P2 two sigmoid layers (∇W₁, ∇W₂)": _p2,
    "P3 row-vector net, softmax-CE": _p3,
    "P4 σ(w₀x₀ + w₁x₁ + w₂)": _p4,
    "P5 ‖X W − Y‖²": _p5,
    "P6 Hessians xᵀAx, logistic": _p6,
    "P7 tr(AXB), log det, tr(XᵀX)": _p7,
    "P8 attention (∇Q, ∇K, ∇V)": _p8,
}
"""Each function declares its tensors and derives the problem's results from scratch."""
