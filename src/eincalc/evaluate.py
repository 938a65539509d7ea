"""Evaluate index-form expressions on arrays: :func:`evaluate` and :func:`compile`.

An expression (or a list of them) is lowered once to a straight-line program:
one step per distinct sub-expression, in post-order, so equal subtrees (nodes
compare structurally) are computed once and shared by every output.  Each step
runs the evaluation rule registered for its node type (:func:`register_evaluator`
adds rules for new node kinds).  Contractions go through ``opt_einsum``; each
contraction path is planned once per equation and operand shapes and kept in a
bounded cache (plans only, never arrays).  Dimension sizes are bound and checked
once per distinct shape signature of the inputs.

Arrays that bring their own namespace (or at least ``shape`` and ``dtype``) stay
native: PyTorch and JAX inputs give PyTorch and JAX results, and the constants a
rule needs (``δ``, ``1``, zeros) are made in the namespace, dtype and device of
the first such input.  Other values go through :func:`numpy.asarray` (integers
become float64).

>>> import numpy as np
>>> from eincalc.expr import Index, TensorSpec, Tensor, Contract, Apply
>>> i, j = Index("i", "m"), Index("j", "n")
>>> W = Tensor(TensorSpec("W", ("m", "n")), (i, j))
>>> a = Tensor(TensorSpec("a", ("n",)), (j,))
>>> z = Contract((W, a), (i,))
>>> evaluate(z, {"W": [[1, 2], [3, 4]], "a": [1, 1]})
array([3., 7.])
>>> f = compile([z, Apply("relu", z)])
>>> f(W=np.eye(2), a=np.array([-1.0, 2.0]))
(array([-1.,  2.]), array([0., 2.]))
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np
import opt_einsum

from . import functions
from .errors import ShapeError, UnknownNameError, UnsupportedError
from .expr import Add, Apply, Const, Contract, Delta, Expr, Index, Named, One, Size, Tensor, TensorSpec, Zero, postorder
from .limits import check_intermediates

Evaluator = Callable[[Any, tuple[Any, ...], "EvalContext"], Any]
"""A rule ``(node, child_values, ctx) -> value``; the value's axes are ``node.free`` in order."""

EVALUATORS: dict[type[Expr], Evaluator] = {}
_F = TypeVar("_F", bound=Evaluator)


def register_evaluator(node_type: type[Expr]) -> Callable[[_F], _F]:
    """Decorator: make the decorated function the evaluation rule for ``node_type`` (and subclasses)."""

    def decorate(rule: _F) -> _F:
        EVALUATORS[node_type] = rule
        return rule

    return decorate


def _rule_for(node_type: type) -> Evaluator:
    for cls in node_type.__mro__:
        if cls in EVALUATORS:
            return EVALUATORS[cls]
    raise UnsupportedError(f"no evaluation rule for {node_type.__name__} nodes")


@dataclass(frozen=True, slots=True)
class EvalContext:
    """What a rule may use: bound ``arrays`` by tensor name, dimension ``sizes``, and where constants live."""

    arrays: Mapping[str, Any]
    sizes: Mapping[str, int]
    xp: Any
    dtype: Any
    device: Any = None

    def size(self, dim: str) -> int:
        """The size of dimension ``dim``."""
        try:
            return self.sizes[dim]
        except KeyError:
            raise ShapeError(f"size of dimension {dim!r} unknown; pass dims={{{dim!r}: ...}}") from None

    def _new(self, make: str, *shape: Any) -> Any:
        extra = {} if self.device is None else {"device": self.device}
        return getattr(self.xp, make)(*shape, dtype=self.dtype, **extra)

    def zeros(self, indices: Sequence[Index]) -> Any:
        return self._new("zeros", tuple(self.size(k.dim) for k in indices))

    def ones(self, indices: Sequence[Index]) -> Any:
        return self._new("ones", tuple(self.size(k.dim) for k in indices))

    def eye(self, dim: str) -> Any:
        return self._new("eye", self.size(dim))


# -- binding arrays to declared tensors ---------------------------------------------------


def _as_array(name: str, value: Any) -> Any:
    if hasattr(value, "__array_namespace__") or (hasattr(value, "shape") and hasattr(value, "dtype")):
        return value
    try:
        array = np.asarray(value)
    except (ValueError, TypeError) as err:
        raise ShapeError(f"value for {name} is not a rectangular array of numbers: {err}") from None
    if array.dtype.kind not in "biufc":
        raise ShapeError(f"value for {name} has dtype {array.dtype}, not numbers")
    return array.astype(np.float64) if array.dtype.kind in "biu" else array


def _declared(spec: TensorSpec) -> str:
    return f"{spec.name}[{','.join(spec.dims)}]" if spec.dims else f"{spec.name} (a scalar)"


def _bind(specs: Sequence[TensorSpec], arrays: Mapping[str, Any], dims: Mapping[str, int]) -> dict[str, int]:
    """Dimension sizes implied by ``arrays``; raise :class:`ShapeError` on any disagreement."""
    sizes = {dim: int(n) for dim, n in dims.items()}
    origin = dict.fromkeys(sizes, "dims")
    for spec in specs:
        shape = tuple(arrays[spec.name].shape)
        if len(shape) != len(spec.dims):
            raise ShapeError(f"{spec.name} is declared as {_declared(spec)} but its value has shape {shape}")
        for axis, (dim, n) in enumerate(zip(spec.dims, shape, strict=True)):
            known = sizes.setdefault(dim, n)
            origin.setdefault(dim, f"{spec.name} axis {axis}")
            if known != n:
                raise ShapeError(
                    f"{spec.name}: axis {axis} (dimension {dim}) has size {n}, but {dim} = {known} from {origin[dim]}"
                )
    return sizes


def _namespace(arrays: Sequence[Any]) -> tuple[Any, Any, Any]:
    """``(xp, dtype, device)`` for constants: those of the first non-NumPy input, else NumPy float64."""
    for x in arrays:
        if isinstance(x, np.ndarray | np.generic):
            continue
        if hasattr(x, "__array_namespace__"):
            xp = x.__array_namespace__()
        else:  # e.g. torch.Tensor: use its (already imported) top-level module
            xp = sys.modules.get(type(x).__module__.partition(".")[0], np)
        device = getattr(x, "device", None)
        return xp, x.dtype, None if callable(device) else device
    return np, np.float64, None


