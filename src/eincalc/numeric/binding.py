"""Bind the arrays a caller passes to declared tensors: check each value, derive the dimension sizes.

Values become arrays of real numbers (`as_array`), a NumPy array of a tensor declared symmetric or on the
simplex must be so (`check_declared`: the simplifier relies on ``Sᵀ = S`` and ``Σ y = 1``), the sizes come from
``dims`` and the arrays' shapes (`bind_sizes`, which names both sources when two disagree), a size nothing read
gives may come from another declared tensor passed (`sizing_tensors`), and constants live where the first
non-NumPy input lives (`constant_namespace`).

>>> as_array("a", [1, 2])
array([1., 2.])
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ..core.arguments import describe, require_mapping
from ..core.arrays import array_namespace, is_foreign_array
from ..core.errors import DomainError, ShapeError, UnsupportedError
from ..core.indices import TensorSpec
from ..core.nodes import Tensor
from ..frontend.declare import declarations


def as_array(name: str, value: Any) -> Any:
    """``value`` as an array of real numbers: NumPy integers and booleans become float64 (so ``int8`` never
    wraps around), other array types (PyTorch, JAX, …) stay native and must be floating point already."""
    if type(value) is np.ndarray and value.dtype.kind == "f":  # the common case, checked first
        return value
    if np.ma.isMaskedArray(value):
        raise UnsupportedError(
            f"value for {name} is a masked array; fill its masked entries first "
            "(x.filled(...)), eincalc would otherwise read them"
        )
    if is_foreign_array(value):
        kind = _dtype_kind(value.dtype)
        if kind != "f":
            raise UnsupportedError(
                f"value for {name} has dtype {value.dtype}; eincalc computes with real "
                f"floating-point numbers: convert it first (for example to float64)"
            )
        return value
    try:
        array = np.asarray(value)
    except (ValueError, TypeError) as err:
        raise ShapeError(f"value for {name} is not a rectangular array of numbers: {err}") from None
    kind = array.dtype.kind
    if kind not in "biuf":
        what = "complex numbers" if kind == "c" else "not numbers"
        raise UnsupportedError(f"value for {name} has dtype {array.dtype} ({what}); eincalc computes with real numbers")
    return array.astype(np.float64) if kind in "biu" else array


def check_declared(spec: TensorSpec, array: Any) -> None:
    """Raise `DomainError` where the NumPy ``array`` breaks what ``spec`` declares: a symmetric matrix that is not
    (``max |S − Sᵀ| > √eps · max |S|``), or a simplex tensor whose last axis does not sum to one (within ``√eps``).

    Derivatives are simplified with ``S[j,i] = S[i,j]`` and ``Σ_i y[i] = 1``, so such an array would give
    silently wrong numbers (``S − Sᵀ`` is 0, the cross-entropy gradient ``softmax(θ) − y``).  NaN and infinite
    entries are not judged; arrays of other libraries are not checked.

    >>> check_declared(TensorSpec("y", ("c",), simplex=True), np.array([1.0, 1.0]))
    Traceback (most recent call last):
      ...
    eincalc.core.errors.DomainError: y is declared on the simplex but its entries sum to 2, not 1; \
normalise it (y / y.sum(axis=-1, keepdims=True)) or declare it without simplex=
    """
    if not isinstance(array, np.ndarray) or array.dtype.kind != "f":
        return
    tolerance = float(np.sqrt(np.finfo(array.dtype).eps))
    if spec.symmetric and not np.array_equal(array, array.T):  # exactly symmetric, the common case, is one pass
        scale = np.max(np.abs(array), initial=0.0)
        asymmetry = np.max(array - array.T, initial=0.0)  # antisymmetric: its largest entry is its largest in size
        if asymmetry > tolerance * scale:
            raise DomainError(
                f"{spec.name} is declared symmetric but |{spec.name} − {spec.name}ᵀ| reaches {asymmetry:.3g} "
                f"(largest entry {scale:.3g}); pass a symmetric array (({spec.name} + {spec.name}.T) / 2) or "
                "declare it without symmetric="
            )
    if spec.simplex:
        sums = array.sum(axis=-1)
        wrong = np.abs(sums - 1) > tolerance
        if np.any(wrong):
            raise DomainError(
                f"{spec.name} is declared on the simplex but its entries sum to {sums[wrong].flat[0]:.6g}, not 1; "
                f"normalise it ({spec.name} / {spec.name}.sum(axis=-1, keepdims=True)) or declare it without simplex="
            )


def _dtype_kind(dtype: Any) -> str:
    """NumPy's one-letter kind of ``dtype`` (``"f"`` floating, ``"c"`` complex), also for a PyTorch dtype."""
    kind = getattr(dtype, "kind", None)
    if isinstance(kind, str):
        return kind
    if getattr(dtype, "is_complex", False):
        return "c"
    return "f" if getattr(dtype, "is_floating_point", False) else "?"


def given_arrays(values: Any, arrays: Mapping[str, Any]) -> dict[str, Any]:
    """The arrays passed, by tensor name: ``values`` (a mapping, or ``None``) updated by keyword ``arrays``."""
    given = dict(
        require_mapping({} if values is None else values, "values", "tensor names to arrays, like {'W': W_value}")
    )
    for key in given:
        if not isinstance(key, str):
            hint = f"; use its name {key.spec.name!r}" if isinstance(key, Tensor) else ""
            raise UnsupportedError(f"values maps tensor names to arrays; its key {describe(key)} is not a name{hint}")
    return {**given, **arrays}


def sizing_tensors(given: Mapping[str, Any], unsized: frozenset[str], bound: set[str]) -> tuple[TensorSpec, ...]:
    """The tensors declared with `eincalc.tensors()` (once, or always with the same dimensions) whose arrays
    are ``given`` though not read, and that carry a dimension in ``unsized``: the Jacobian ``δ[i,p] a[q]`` of
    ``W @ a`` takes ``m`` from ``W``."""
    if not unsized:
        return ()
    found = [declarations(name) for name in given if name not in bound]
    return tuple(specs[0] for specs in found if len(specs) == 1 and unsized.intersection(specs[0].dims))


def unknown_size_error(dim: str, given: Mapping[str, Any], bound: Mapping[str, Any]) -> ShapeError:
    """The error for dimension ``dim`` that nothing gives a size, naming the arrays given but not ``bound`` whose
    declarations are ambiguous."""
    message = (
        f"size of dimension {dim!r} unknown; pass dims={{{dim!r}: ...}}, or the array of a tensor declared "
        f"with an axis {dim}"
    )
    for name in (name for name in given if name not in bound):
        specs = declarations(name)
        if len(specs) > 1 and any(dim in spec.dims for spec in specs):
            shown = ", ".join(str(spec) for spec in specs)
            message += f" ({name} was declared several ways, {shown}, so its array gives no sizes)"
    return ShapeError(message)


def bind_sizes(specs: Sequence[TensorSpec], arrays: Mapping[str, Any], dims: Mapping[str, int]) -> dict[str, int]:
    """Dimension sizes implied by ``dims`` and the ``arrays`` of the tensors ``specs`` declare.

    Raises `ShapeError` naming both sources when two disagree, and for an empty axis.

    >>> bind_sizes([TensorSpec("W", ("m", "n")), TensorSpec("a", ("n",))], {"W": np.ones((2, 3)), "a": np.ones(4)}, {})
    Traceback (most recent call last):
      ...
    eincalc.core.errors.ShapeError: a: axis 0 (dimension n) has size 4, but n = 3 from W axis 1
    """
    sizes = dict(dims)
    origin = dict.fromkeys(sizes, "dims")
    for spec in specs:
        shape = tuple(arrays[spec.name].shape)
        if len(shape) != len(spec.dims):
            raise ShapeError(f"{spec.name} is declared as {spec} but its value has shape {shape}")
        for axis, (dim, n) in enumerate(zip(spec.dims, shape, strict=True)):
            if n < 1:
                raise ShapeError(
                    f"{spec.name}: axis {axis} (dimension {dim}) is empty; a dimension has at "
                    "least 1 entry (eincalc has no empty axes)"
                )
            known = sizes.setdefault(dim, n)
            origin.setdefault(dim, f"{spec.name} axis {axis}")
            if known != n:
                raise ShapeError(
                    f"{spec.name}: axis {axis} (dimension {dim}) has size {n}, but {dim} = {known} from {origin[dim]}"
                )
    return sizes


def constant_namespace(arrays: Sequence[Any]) -> tuple[Any, Any, Any]:
    """``(xp, dtype, device)`` for constants: those of the first non-NumPy input, else NumPy float64."""
    for x in arrays:
        if isinstance(x, np.ndarray | np.generic):
            continue
        xp = array_namespace(x)
        device = getattr(x, "device", None)
        return xp, x.dtype, None if callable(device) else device
    return np, np.float64, None
