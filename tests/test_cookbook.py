"""Matrix Cookbook identities, each derived from scratch by eincalc, compared with the closed form, and
checked by central finite differences on random well-conditioned inputs (SPD where required).

Closed forms follow Petersen & Pedersen, *The Matrix Cookbook* (2012), in eincalc's layout: the
gradient of a scalar has the shape of the variable.  For the symmetric ``S`` the gradient is
``sym(G)`` (see :mod:`eincalc.ops.linalg`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pytest

import eincalc as ec
from eincalc.core.expr import Expr
from eincalc.core.nodes import Tensor
from eincalc.testing import numeric_jacobian, random_values

x, a, b, c = ec.tensors("x[n] a[n] b[n] c[n]")
X, A, B, D = ec.tensors("X[n,n] A[n,n] B[n,n] D[n,n]")
S = ec.tensors("S[n,n]", symmetric="S")[0]
R, t = ec.tensors("R[k,n] t[k]")
SIZES = {"n": 4, "k": 6}

Values = dict[str, np.ndarray]
inv, det, norm = np.linalg.inv, np.linalg.det, np.linalg.norm


@dataclass(frozen=True)
class Identity:
    """``derivative(expr, wrt) == closed(values)``; ``order`` is grad, jacobian or hessian."""

    name: str
    expr: Expr
    wrt: Tensor
    closed: Callable[[Values], np.ndarray]
    order: str = "grad"
    matrix: str | None = None  # the expected matrix form, where the identity is about its shape


def _unit(v: Values) -> np.ndarray:
    return v["x"] / norm(v["x"])


def _projector(v: Values) -> np.ndarray:
    return (np.eye(4) - np.outer(_unit(v), _unit(v))) / norm(v["x"])


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-z))


def _pairs(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    return np.einsum("pr,qs->pqrs", left, right)


IDENTITIES = [
    # -- first order: linear and quadratic forms, norms ------------------------------------------
    Identity("d aᵀx/dx = a", a @ x, x, lambda v: v["a"], matrix="a"),
    Identity("d xᵀx/dx = 2x", x @ x, x, lambda v: 2 * v["x"], matrix="2 x"),
    Identity("d xᵀAx/dx = (A + Aᵀ)x", x @ A @ x, x, lambda v: (v["A"] + v["A"].T) @ v["x"]),
    Identity("d xᵀSx/dx = 2Sx", x @ S @ x, x, lambda v: 2 * v["S"] @ v["x"], matrix="2 S x"),
    Identity("d aᵀXb/dX = abᵀ", a @ X @ b, X, lambda v: np.outer(v["a"], v["b"]), matrix="a bᵀ"),
    Identity("d aᵀXᵀb/dX = baᵀ", a @ X.T @ b, X, lambda v: np.outer(v["b"], v["a"]), matrix="b aᵀ"),
    Identity(
        "d bᵀXᵀXc/dX = X(bcᵀ + cbᵀ)",
        b @ X.T @ X @ c,
        X,
        lambda v: v["X"] @ (np.outer(v["b"], v["c"]) + np.outer(v["c"], v["b"])),
    ),
    Identity(
        "d (Xb + c)ᵀD(Xb + c)/dX = (D + Dᵀ)(Xb + c)bᵀ",
        (X @ b + c) @ D @ (X @ b + c),
        X,
        lambda v: np.outer((v["D"] + v["D"].T) @ (v["X"] @ v["b"] + v["c"]), v["b"]),
    ),
    Identity("d ‖x‖/dx = x/‖x‖", ec.norm(x), x, _unit),
    Identity("d ‖x − a‖/dx = (x − a)/‖x − a‖", ec.norm(x - a), x, lambda v: (v["x"] - v["a"]) / norm(v["x"] - v["a"])),
    Identity(
        "d ‖Rx − t‖²/dx = 2Rᵀ(Rx − t)", ec.sum((R @ x - t) ** 2), x, lambda v: 2 * v["R"].T @ (v["R"] @ v["x"] - v["t"])
    ),
    Identity("d ‖X‖²_F/dX = 2X", ec.frobenius(X) ** 2, X, lambda v: 2 * v["X"]),
    Identity("d ‖X‖_F/dX = X/‖X‖_F", ec.frobenius(X), X, lambda v: v["X"] / norm(v["X"])),
    Identity("d exp(aᵀx)/dx = exp(aᵀx) a", ec.exp(a @ x), x, lambda v: np.exp(v["a"] @ v["x"]) * v["a"]),
    Identity("d aᵀdiag(x)b/dx = a ⊙ b", a @ ec.diag(x) @ b, x, lambda v: v["a"] * v["b"], matrix="a ⊙ b"),
    Identity("d tr(diag(x)A)/dx = diag(A)", ec.trace(ec.diag(x) @ A), x, lambda v: np.diag(v["A"])),
    # -- traces --------------------------------------------------------------------------------
    Identity("d tr(X)/dX = I", ec.trace(X), X, lambda v: np.eye(4)),
    Identity("d tr(XA)/dX = Aᵀ", ec.trace(X @ A), X, lambda v: v["A"].T, matrix="Aᵀ"),
    Identity("d tr(AXB)/dX = AᵀBᵀ (P7)", ec.trace(A @ X @ B), X, lambda v: v["A"].T @ v["B"].T, matrix="Aᵀ Bᵀ"),
    Identity("d tr(AXᵀB)/dX = BA", ec.trace(A @ X.T @ B), X, lambda v: v["B"] @ v["A"], matrix="B A"),
    Identity("d tr(XᵀX)/dX = 2X (P7)", ec.trace(X.T @ X), X, lambda v: 2 * v["X"], matrix="2 X"),
    Identity("d tr(X²)/dX = 2Xᵀ", ec.trace(X @ X), X, lambda v: 2 * v["X"].T, matrix="2 Xᵀ"),
    Identity("d tr(X²B)/dX = (XB + BX)ᵀ", ec.trace(X @ X @ B), X, lambda v: (v["X"] @ v["B"] + v["B"] @ v["X"]).T),
    Identity("d tr(XᵀBX)/dX = BX + BᵀX", ec.trace(X.T @ B @ X), X, lambda v: (v["B"] + v["B"].T) @ v["X"]),
    Identity("d tr(XBXᵀ)/dX = XBᵀ + XB", ec.trace(X @ B @ X.T), X, lambda v: v["X"] @ (v["B"].T + v["B"])),
    Identity(
        "d tr(AXBX)/dX = AᵀXᵀBᵀ + BᵀXᵀAᵀ",
        ec.trace(A @ X @ B @ X),
        X,
        lambda v: v["A"].T @ v["X"].T @ v["B"].T + v["B"].T @ v["X"].T @ v["A"].T,
    ),
    Identity("d tr(X³)/dX = 3(X²)ᵀ", ec.trace(ec.matrix_power(X, 3)), X, lambda v: 3 * (v["X"] @ v["X"]).T),
    # -- inverses ------------------------------------------------------------------------------
    Identity("d tr(X⁻¹)/dX = −X⁻ᵀX⁻ᵀ", ec.trace(ec.inv(X)), X, lambda v: -(inv(v["X"]) @ inv(v["X"])).T),
    Identity(
        "d tr(AX⁻¹B)/dX = −X⁻ᵀAᵀBᵀX⁻ᵀ",
        ec.trace(A @ ec.inv(X) @ B),
        X,
        lambda v: -(inv(v["X"]) @ v["B"] @ v["A"] @ inv(v["X"])).T,
        matrix="−X⁻ᵀ Aᵀ Bᵀ X⁻ᵀ",
    ),
    Identity(
        "d aᵀX⁻¹b/dX = −X⁻ᵀabᵀX⁻ᵀ",
        a @ ec.inv(X) @ b,
        X,
        lambda v: -inv(v["X"]).T @ np.outer(v["a"], v["b"]) @ inv(v["X"]).T,
        matrix="−X⁻ᵀ a bᵀ X⁻ᵀ",
    ),
    Identity(
        "dX⁻¹[k,l]/dX[i,j] = −X⁻¹[k,i] X⁻¹[j,l]",
        ec.inv(X),
        X,
        lambda v: -np.einsum("ki,jl->klij", inv(v["X"]), inv(v["X"])),
        order="jacobian",
    ),
    Identity(
        "d (x − a)ᵀS⁻¹(x − a)/dx = 2S⁻¹(x − a)",
        (x - a) @ ec.inv(S) @ (x - a),
        x,
        lambda v: 2 * inv(v["S"]) @ (v["x"] - v["a"]),
    ),
    # -- determinants --------------------------------------------------------------------------
    Identity("d det X/dX = det(X) X⁻ᵀ", ec.det(X), X, lambda v: det(v["X"]) * inv(v["X"]).T, matrix="det(X) X⁻ᵀ"),
    Identity("d logdet X/dX = X⁻ᵀ (P7)", ec.logdet(X), X, lambda v: inv(v["X"]).T, matrix="X⁻ᵀ"),
    Identity(
        "d det(AXB)/dX = det(AXB) X⁻ᵀ", ec.det(A @ X @ B), X, lambda v: det(v["A"] @ v["X"] @ v["B"]) * inv(v["X"]).T
    ),
    Identity("d logdet(XᵀX)/dX = 2X⁻ᵀ", ec.logdet(X.T @ X), X, lambda v: 2 * inv(v["X"]).T),
    Identity(
        "d det(X³)/dX = 3 det(X³) X⁻ᵀ", ec.det(ec.matrix_power(X, 3)), X, lambda v: 3 * det(v["X"]) ** 3 * inv(v["X"]).T
    ),
    Identity("d det(X⁻¹)/dX = −det(X⁻¹) X⁻ᵀ", ec.det(ec.inv(X)), X, lambda v: -inv(v["X"]).T / det(v["X"])),
    Identity("d logdet S/dS = S⁻¹ (symmetric)", ec.logdet(S), S, lambda v: inv(v["S"]), matrix="S⁻¹"),
    Identity("d tr(AS)/dS = (A + Aᵀ)/2 (symmetric)", ec.trace(A @ S), S, lambda v: (v["A"] + v["A"].T) / 2),
    # -- Jacobians of vector functions ---------------------------------------------------------
    Identity("d(Ax)/dx = A", A @ x, x, lambda v: v["A"], order="jacobian", matrix="A"),
    Identity("d(x/‖x‖)/dx = (I − x̂x̂ᵀ)/‖x‖", x / ec.norm(x), x, _projector, order="jacobian"),
    # -- second order --------------------------------------------------------------------------
    Identity("∇² xᵀAx = A + Aᵀ (P6)", x @ A @ x, x, lambda v: v["A"] + v["A"].T, order="hessian", matrix="A + Aᵀ"),
    Identity(
        "∇² ‖Rx − t‖² = 2RᵀR",
        ec.sum((R @ x - t) ** 2),
        x,
        lambda v: 2 * v["R"].T @ v["R"],
        order="hessian",
        matrix="2 Rᵀ R",
    ),
    Identity("∇² ‖x‖ = (I − x̂x̂ᵀ)/‖x‖", ec.norm(x), x, _projector, order="hessian"),
    Identity(
        "∇² exp(aᵀx) = exp(aᵀx) aaᵀ",
        ec.exp(a @ x),
        x,
        lambda v: np.exp(v["a"] @ v["x"]) * np.outer(v["a"], v["a"]),
        order="hessian",
    ),
    Identity(
        "∇² (aᵀx)(bᵀx) = abᵀ + baᵀ",
        (a @ x) * (b @ x),
        x,
        lambda v: np.outer(v["a"], v["b"]) + np.outer(v["b"], v["a"]),
        order="hessian",
        matrix="a bᵀ + b aᵀ",
    ),
    Identity(
        "∇² Σ softplus(Rx) − tᵀRx = Rᵀ diag(σ(Rx)(1 − σ(Rx))) R (P6)",
        ec.binary_cross_entropy(R @ x, t),
        x,
        lambda v: v["R"].T @ np.diag(_sigmoid(v["R"] @ v["x"]) * (1 - _sigmoid(v["R"] @ v["x"]))) @ v["R"],
        order="hessian",
        matrix="Rᵀ diag(σ(R x) ⊙ (1 − σ(R x))) R",
    ),
    Identity(
        "∇²_X tr(XᵀX) = 2 δ[p,r] δ[q,s]",
        ec.trace(X.T @ X),
        X,
        lambda v: 2 * _pairs(np.eye(4), np.eye(4)),
        order="hessian",
    ),
    Identity(
        "∇²_X tr(XᵀAX) = (A + Aᵀ)[p,r] δ[q,s]",
        ec.trace(X.T @ A @ X),
        X,
        lambda v: _pairs(v["A"] + v["A"].T, np.eye(4)),
        order="hessian",
    ),
    Identity(
        "∇²_X logdet X = −X⁻¹[q,r] X⁻¹[s,p]",
        ec.logdet(X),
        X,
        lambda v: -np.einsum("qr,sp->pqrs", inv(v["X"]), inv(v["X"])),
        order="hessian",
    ),
]

DERIVE: dict[str, Callable[[Expr, Tensor], Expr]] = {"grad": ec.grad, "jacobian": ec.jacobian, "hessian": ec.hessian}


def well_conditioned(expr: Expr, seed: int) -> Values:
    """Random values; square matrices shifted by n·I (condition numbers near 1–10), ``S`` SPD."""
    values = random_values(expr, SIZES, seed=seed)
    for name, value in values.items():
        if value.ndim == 2 and value.shape[0] == value.shape[1]:
            spd = value @ value.T if name == "S" else value
            values[name] = spd + 4 * np.eye(4)
    return values


def finite_differences(identity: Identity, values: Values) -> np.ndarray:
    """The derivative by central differences: of ``expr`` (grad, jacobian) or of its gradient (hessian)."""
    expr = ec.grad(identity.expr, identity.wrt) if identity.order == "hessian" else identity.expr
    numeric = numeric_jacobian(expr, identity.wrt, values)
    if identity.wrt.spec.symmetric:  # the gradient on symmetric matrices: sym of the unconstrained one
        numeric = (numeric + np.swapaxes(numeric, -1, -2)) / 2
    return numeric


def test_the_table_is_large_enough_and_covers_every_family() -> None:
    assert len(IDENTITIES) >= 30
    names = " ".join(identity.name for identity in IDENTITIES)
    for family in ("tr(", "X⁻¹", "det", "logdet", "‖", "∇²", "(symmetric)", "(P6)", "(P7)"):
        assert family in names


@pytest.mark.parametrize("identity", IDENTITIES, ids=lambda identity: identity.name)
def test_cookbook_identity(identity: Identity) -> None:
    derivative = DERIVE[identity.order](identity.expr, identity.wrt)
    for seed in (0, 1):
        values = well_conditioned(identity.expr, seed)
        symbolic = np.asarray(ec.evaluate(derivative, values, dims=SIZES))
        closed = identity.closed(values)
        scale = max(1.0, float(np.abs(closed).max()))
        np.testing.assert_allclose(symbolic, closed, atol=1e-10 * scale, rtol=1e-9)
        np.testing.assert_allclose(finite_differences(identity, values), closed, atol=1e-6 * scale)
    if identity.matrix is not None:
        form = ec.to_matrix(derivative)
        assert form.text == identity.matrix
        np.testing.assert_allclose(form.evaluate(values), closed, atol=1e-10 * scale)
