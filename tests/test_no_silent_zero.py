"""No derivative ever becomes zero by default.

Every node kind, every element-wise function and every function the parser knows is fed through
``jacobian`` and ``vjp`` and compared with finite differences; the tables below must cover all of
them, so a new node kind or function cannot slip in unchecked.  A node kind or function with no
rule raises ``ec.UnsupportedError`` naming it.
"""

from __future__ import annotations

import dataclasses
import importlib
import pkgutil
import sys
from collections.abc import Callable

import numpy as np
import pytest

import eincalc as ec
from eincalc.core import nodes as ir
from eincalc.core.expr import Expr
from eincalc.core.functions import FUNCTIONS
from eincalc.core.indices import Index
from eincalc.core.nodes import Apply, Contract, Tensor, node, positional_flag
from eincalc.core.traversal import walk
from eincalc.frontend.parse import CALLS
from eincalc.numeric.evaluate import evaluate
from eincalc.ops.linalg import MatrixFunction
from eincalc.ops.nn import LogSumExp, Softmax
from eincalc.ops.powers import Power
from eincalc.testing import check_jacobian, check_vjp, numeric_jacobian

for _module in pkgutil.walk_packages(ec.__path__, "eincalc."):  # every module registers its node kinds and functions
    importlib.import_module(_module.name)

x, X, G = ec.tensors("x[n] X[n,n] G[n,n]")
i, j = Index("i", "n"), Index("j", "n")
xi = x["i"]
SIZES = {"n": 3}


def _values(seed: int = 0) -> dict[str, np.ndarray]:
    """Positive, well-conditioned values: every function below is smooth there."""
    rng = np.random.default_rng(seed)
    return {
        "x": rng.uniform(0.5, 1.5, 3),
        "X": rng.uniform(0.0, 0.3, (3, 3)) + np.eye(3),
        "G": rng.standard_normal((3, 3)),
    }


def _node_kinds() -> set[type]:
    """Every node kind defined in eincalc (the classes bound in their modules)."""
    found: set[type] = set()
    stack = list(Expr.__subclasses__())
    while stack:
        cls = stack.pop()
        stack.extend(cls.__subclasses__())
        if cls.__module__.startswith("eincalc."):
            found.add(getattr(sys.modules[cls.__module__], cls.__name__))
    return found


NODE_SAMPLES: dict[type, Callable[[], Expr]] = {
    Tensor: lambda: X["i", "j"],
    ir.Delta: lambda: Contract((xi, ir.Delta(i, j)), (j,)),
    ir.One: lambda: Contract((xi, ir.One(j)), (i, j)),
    ir.Zero: lambda: ir.Add((xi, ir.Zero((i,))), (i,)),
    ir.Const: lambda: 3 * (X @ x),
    ir.Size: lambda: Contract((ir.Size("n"), xi), (i,)),
    Contract: lambda: X @ x,
    ir.Add: lambda: x + X @ x,
    Apply: lambda: ec.tanh(X @ x),
    ir.Named: lambda: ec.sigmoid(ec.let("z", X @ x)),
    MatrixFunction: lambda: ec.inv(X) @ x + ec.det(X) * ec.logdet(X) * x + ec.diagonal(ec.inv(X)),
    Softmax: lambda: ec.softmax(X @ x) + ec.log_softmax(X @ x),
    LogSumExp: lambda: ec.logsumexp(X @ x) * x,
    Power: lambda: (X @ x) ** x + x ** (X @ x),
}


def test_every_node_kind_has_a_sample() -> None:
    missing = {cls.__name__ for cls in _node_kinds()} - {cls.__name__ for cls in NODE_SAMPLES}
    assert not missing, f"add a sample for node kind(s) {missing} to NODE_SAMPLES"


def _check_derivatives(expr: Expr, wrt: Tensor, values: dict[str, np.ndarray]) -> None:
    assert check_jacobian(expr, wrt, values) < 1e-5
    upstream = Tensor(ec.TensorSpec("g", expr.shape), expr.free)
    with_upstream = dict(values, g=np.random.default_rng(1).standard_normal(np.shape(evaluate(expr, values))))
    assert check_vjp(expr, wrt, upstream, with_upstream) < 1e-5


@pytest.mark.parametrize("kind", list(NODE_SAMPLES), ids=lambda kind: kind.__name__)
def test_every_node_kind_differentiates_like_finite_differences(kind: type) -> None:
    expr = NODE_SAMPLES[kind]()
    assert any(isinstance(sub, kind) for sub in walk(expr))
    values = _values()
    for wrt in (x, X):
        _check_derivatives(expr, wrt, values)


@pytest.mark.parametrize("kind", list(NODE_SAMPLES), ids=lambda kind: kind.__name__)
def test_every_sub_expression_field_is_a_child(kind: type) -> None:
    """A field holding an expression but missing from ``children()`` would hide the variable: a silent 0."""
    for sub in walk(NODE_SAMPLES[kind]()):
        for field in dataclasses.fields(sub):  # type: ignore[arg-type]
            value = getattr(sub, field.name)
            held = value if isinstance(value, tuple) else (value,)
            assert all(part in sub.children() for part in held if isinstance(part, Expr)), (type(sub), field.name)


@node
class Mystery(Expr):
    """A node kind nobody wrote rules for."""

    arg: Expr
    positional: bool = positional_flag()

    def args(self) -> tuple[Expr, ...]:
        return (self.arg,)

    def children(self) -> tuple[Expr, ...]:
        return (self.arg,)

    def map_children(self, fn: Callable[[Expr], Expr]) -> Expr:
        return Mystery(fn(self.arg))

    def _compute_free(self) -> tuple[Index, ...]:
        return self.arg.free

    def text(self, inner: Callable[[Expr], str]) -> str:
        return f"mystery({inner(self.arg)})"


def test_a_node_kind_without_rules_raises_naming_it() -> None:
    mystery = Mystery(X @ x)
    for derive in (
        lambda: ec.jacobian(mystery, x),
        lambda: ec.vjp(mystery, x, ec.tensors("g[n]")[0]),
        lambda: ec.grad(ec.sum(mystery), X),
        lambda: ec.hessian(ec.sum(mystery), x),
    ):
        with pytest.raises(ec.UnsupportedError, match="Mystery"):
            derive()
    with pytest.raises(ec.UnsupportedError, match="Mystery"):
        ec.evaluate(mystery, _values())
    with pytest.raises(ec.NoMatrixForm, match="Mystery"):
        ec.to_matrix(mystery)


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_every_element_wise_function_differentiates_like_finite_differences(name: str) -> None:
    values = _values()
    for param in (3.0, -1.5) if name == "pow" else (None,):
        expr = Apply(name, X @ x, param)
        _check_derivatives(expr, X, values)
        numeric = numeric_jacobian(expr, X, values)
        if name not in ("step", "sign"):  # piecewise constant: zero away from the jump, by an explicit rule
            assert np.abs(numeric).max() > 1e-3


@pytest.mark.parametrize("derive", [ec.jacobian, lambda f, wrt: ec.grad(ec.sum(f), wrt)], ids=["jacobian", "grad"])
def test_an_unregistered_function_raises_naming_it(derive: Callable[[Expr, Tensor], Expr]) -> None:
    with pytest.raises(ec.UnsupportedError, match="erf"):
        derive(Apply("erf", X @ x), x)


# A parser function that takes one argument is sampled as name(X @ x); these take other arguments, or need a square one.
OTHER_SAMPLES = {
    "trace": "trace(X @ X)",
    "outer": "outer(X @ x, x)",
    "dot": "dot(X @ x, x)",
    "sum": "sum(X * X)",
    "Σ": "Σ(X[i,j] x[j])",
    "size": "size(n) * (X @ x)",
    "inv": "inv(X) @ x",
    "det": "det(X)",
    "logdet": "logdet(X)",
    "frobenius": "frobenius(X)",
    "diag": "diag(x) @ X",
    "diagonal": "diagonal(X @ X)",
    "kron": "kron(X, X @ X)",
    "matrix_power": "matrix_power(X, 3)",
    "cross_entropy": "cross_entropy(X @ x, x)",
    "mse": "mse(X @ x, x)",
    "binary_cross_entropy": "binary_cross_entropy(X @ x, x)",
}
PARSE_SAMPLES = {name: OTHER_SAMPLES.get(name, f"{name}(X @ x)") for name in CALLS}


@pytest.mark.parametrize("name", sorted(PARSE_SAMPLES))
def test_every_parse_function_differentiates_like_finite_differences(name: str) -> None:
    expr = ec.parse(PARSE_SAMPLES[name], x, X)
    values = _values(2)
    _check_derivatives(expr, X, values)
    if name not in ("step", "sign"):
        assert np.abs(numeric_jacobian(expr, X, values)).max() > 1e-3
