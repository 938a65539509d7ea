"""Numeric checks for derivations: finite-difference Jacobians, ``check_grad``, random values.

These are the oracles the test suite trusts, and they are public so that users
can check their own derivations the same way.  The hypothesis strategies and
independent oracles of `eincalc.strategies` (``problems``, ``expressions``,
``reference_value``, ``finite_difference_jacobian``, ``jax_jacobian``,
``torch_jacobian``) are reachable from here too; they need ``hypothesis``.

>>> import numpy as np
>>> from eincalc.frontend.build import tensors
>>> from eincalc.calculus.diff import grad
>>> x, A = tensors("x[n] A[n,n]")
>>> values = random_values(x @ A @ x, {"n": 4}, seed=0)
>>> check_grad(x @ A @ x, x, values) < 1e-6
True
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from ..core.arguments import require_mapping, require_sizes, require_step, require_variable
from ..core.errors import ShapeError, UnknownNameError
from ..core.expr import Expr
from ..core.indices import TensorSpec
from ..core.nodes import Tensor
from ..core.traversal import walk
from ..frontend.build import as_expr
from ..numeric.binding import as_array, bind_sizes
from ..numeric.evaluate import evaluate


def declared(expr: Expr) -> dict[str, Tensor]:
    """The tensors occurring in ``expr``, by name."""
    return {sub.spec.name: sub for sub in walk(expr) if isinstance(sub, Tensor)}


def sizes_of(
    expr: Expr, values: Mapping[str, Any], *more: Tensor, dims: Mapping[str, int] | None = None
) -> dict[str, int]:
    """Dimension sizes read off ``dims`` and the arrays given for the tensors of ``expr`` and ``more``.

    A derivative may mention no tensor at all (``δ[i,p]``), so its sizes must come
    from the expression it was derived from.  Two sources that disagree raise
    `ShapeError` naming both.
    """
    tensors = {**declared(expr), **{t.spec.name: t for t in more}}
    arrays = _arrays(expr, values, *more)
    return bind_sizes([tensors[name].spec for name in arrays], arrays, require_sizes(dims))


def _arrays(expr: Expr, values: Mapping[str, Any], *more: Tensor) -> dict[str, Any]:
    """The arrays given for the tensors of ``expr`` and ``more``, checked (numbers, integers as float64)."""
    names = {*declared(expr), *(t.spec.name for t in more)}
    return {name: as_array(name, value) for name, value in values.items() if name in names}


def random_values(
    expr: Expr,
    sizes: Mapping[str, int],
    *,
    seed: int | None = None,
    positive: tuple[str, ...] = (),
) -> dict[str, np.ndarray]:
    """Random float64 arrays for every tensor in ``expr``, with dimension sizes from ``sizes``.

    Tensors named in ``positive`` get entries in (0.5, 1.5); a tensor declared
    symmetric gets a symmetric array; a simplex tensor gets entries summing to one along its last axis.
    """
    rng, sizes = np.random.default_rng(seed), require_sizes(sizes, "sizes")
    values: dict[str, np.ndarray] = {}
    for name, tensor in declared(expr).items():
        missing = [d for d in tensor.spec.dims if d not in sizes]
        if missing:
            raise ShapeError(f"no size given for dimension {missing[0]} of {name}; pass sizes={{{missing[0]!r}: ...}}")
        shape = tuple(sizes[d] for d in tensor.spec.dims)
        array = rng.uniform(0.5, 1.5, shape) if name in positive else rng.standard_normal(shape)
        if tensor.spec.symmetric:
            array = (array + array.T) / 2
        if tensor.spec.simplex:
            array = np.abs(array) + 0.1
            array = array / array.sum(axis=-1, keepdims=True)
        values[name] = array
    return values


def numeric_jacobian(
    expr: Expr, wrt: Tensor, values: Mapping[str, Any], eps: float = 1e-6, *, dims: Mapping[str, int] | None = None
) -> np.ndarray:
    """Central finite differences: an array of shape ``expr``'s shape + ``wrt``'s shape.

    ``dims`` gives the size of a dimension no array has (an index on ``1[i]`` only).
    A tensor declared symmetric moves along symmetric directions only (``S[i,j]`` and ``S[j,i]`` together, the
    difference halved off the diagonal): the gradient on symmetric matrices, eincalc's convention for symmetric
    arguments (see `eincalc.ops.linalg`).  A tensor declared on the simplex moves along it (one entry up by ``eps``,
    each of its row down by ``eps/n``): the derivative on the simplex, which `on_simplex` makes of any other.
    Either way the arrays evaluated keep what the tensor is declared to be.
    """
    expr, eps = as_expr(expr, "the expression to check"), require_step(eps, "eps")
    sizes = _sizes(expr, wrt, values, dims)
    base = {name: np.asarray(array, dtype=float) for name, array in _arrays(expr, values, wrt).items()}
    point = base[wrt.spec.name]
    out_shape = np.shape(evaluate(expr, base, dims=sizes))
    result = np.zeros(out_shape + point.shape)
    for position in np.ndindex(point.shape):
        step, count = _step(wrt.spec, point.shape, position)
        high = np.asarray(evaluate(expr, {**base, wrt.spec.name: point + eps * step}, dims=sizes))
        low = np.asarray(evaluate(expr, {**base, wrt.spec.name: point - eps * step}, dims=sizes))
        result[(..., *position)] = (high - low) / (2 * eps * count)
    return result


def _step(spec: TensorSpec, shape: tuple[int, ...], position: tuple[int, ...]) -> tuple[np.ndarray, int]:
    """The direction finite differences take for entry ``position`` of a tensor declared as ``spec``, and how many
    times that entry's derivative the difference measures (2 for both halves of an off-diagonal symmetric pair)."""
    step = np.zeros(shape)
    step[position] = 1.0
    if spec.symmetric:
        step[position[::-1]] = 1.0
        return step, 1 if position[0] == position[1] else 2
    if spec.simplex:
        step[position[:-1]] -= 1.0 / shape[-1]
    return step, 1


def on_simplex(derivative: Any, wrt: Tensor) -> Any:
    """``derivative`` (its last axes those of ``wrt``) on the simplex, for ``wrt`` declared on it: its mean along
    ``wrt``'s last axis removed, as ``Σ y = 1`` leaves a derivative free up to a constant along that axis
    (``∂ Σy/∂y`` is 1 or 0 alike); for any other ``wrt``, ``derivative`` as it is."""
    if not wrt.spec.simplex:
        return derivative
    return derivative - np.mean(derivative, axis=-1, keepdims=True)


def _sizes(expr: Expr, wrt: Tensor, values: Mapping[str, Any], dims: Mapping[str, int] | None) -> dict[str, int]:
    """Dimension sizes from ``dims`` and the arrays of ``expr``'s tensors and of ``wrt``."""
    expr, wrt = as_expr(expr, "the expression to check"), require_variable(wrt)
    values = require_mapping(values, "values", "tensor names to arrays, like {'W': W_value}")
    if wrt.spec.name not in values:
        raise UnknownNameError(
            f"no value given for the variable {wrt.spec.name!r} (declared {wrt.spec}); add it to the values"
        )
    return sizes_of(expr, values, wrt, dims=dims)


def check_jacobian(
    expr: Expr, wrt: Tensor, values: Mapping[str, Any], eps: float = 1e-6, *, dims: Mapping[str, int] | None = None
) -> float:
    """Largest absolute difference between the symbolic Jacobian and finite differences (`on_simplex` both)."""
    from ..calculus.diff import jacobian

    symbolic = on_simplex(np.asarray(evaluate(jacobian(expr, wrt), values, dims=_sizes(expr, wrt, values, dims))), wrt)
    return float(np.max(np.abs(symbolic - numeric_jacobian(expr, wrt, values, eps, dims=dims)), initial=0.0))


def check_vjp(
    expr: Expr,
    wrt: Tensor,
    upstream: Expr,
    values: Mapping[str, Any],
    eps: float = 1e-6,
    *,
    dims: Mapping[str, int] | None = None,
) -> float:
    """Largest absolute difference between ``vjp`` and the finite-difference Jacobian contracted by hand (`on_simplex`
    both)."""
    from ..calculus.diff import vjp

    sizes = _sizes(expr, wrt, values, dims)
    symbolic = on_simplex(np.asarray(evaluate(vjp(expr, wrt, upstream), values, dims=sizes)), wrt)
    numeric = numeric_jacobian(expr, wrt, values, eps, dims=dims)
    g = np.asarray(evaluate(upstream, values, dims=sizes))
    expected = np.tensordot(g, numeric, axes=g.ndim)
    return float(np.max(np.abs(symbolic - expected), initial=0.0))


def check_grad(
    expr: Expr, wrt: Tensor, values: Mapping[str, Any], eps: float = 1e-6, *, dims: Mapping[str, int] | None = None
) -> float:
    """Largest absolute difference between the symbolic gradient and central finite differences (`on_simplex` both)."""
    from ..calculus.diff import grad

    symbolic = on_simplex(np.asarray(evaluate(grad(expr, wrt), values, dims=_sizes(expr, wrt, values, dims))), wrt)
    return float(np.max(np.abs(symbolic - numeric_jacobian(expr, wrt, values, eps, dims=dims)), initial=0.0))


_FROM_STRATEGIES = (
    "Problem",
    "problems",
    "expressions",
    "reference_value",
    "central_differences",
    "finite_difference_jacobian",
    "jax_jacobian",
    "torch_jacobian",
)


def __getattr__(name: str) -> Any:
    """The names of `eincalc.strategies`, imported on first use (``import eincalc`` never needs hypothesis)."""
    if name not in _FROM_STRATEGIES:
        raise AttributeError(f"module 'eincalc.testing' has no attribute {name!r}")
    try:
        from . import strategies
    except ModuleNotFoundError as missing:
        raise ModuleNotFoundError(
            f'eincalc.testing.{name} needs hypothesis: pip install "eincalc[test]"', name=missing.name
        ) from missing
    return getattr(strategies, name)
