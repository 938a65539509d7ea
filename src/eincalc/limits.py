"""Resource bounds: how large an expression may grow and how large an array evaluation may build.

Two limits stop runaway work with a :class:`~eincalc.errors.ResourceError`
instead of an out-of-memory kill or an hour of silence:

* ``max_nodes`` bounds the distinct sub-expressions of a derivative before it
  is simplified.  Each order of differentiation multiplies the size of an
  expression, so an accidental sixth-order derivative of a deep network stops
  here, with a message, before simplification starts on it.
* ``max_elements`` bounds every intermediate array that evaluation
  materialises (one per distinct sub-expression).  The check runs once per
  shape signature, before any array is built, and names the intermediate, its
  shape and its size.

Change them for a block with :func:`resource_limits`, or for the whole program
with :func:`set_limits`; ``None`` lifts a limit.

>>> import numpy as np
>>> import eincalc as ec
>>> x, y = ec.tensors("x[n] y[n]")
>>> values = {"x": np.ones(1000), "y": np.ones(1000)}
>>> with ec.resource_limits(max_elements=10_000):
...     ec.evaluate(ec.outer(x, y), values)
Traceback (most recent call last):
  ...
eincalc.errors.ResourceError: evaluating x[i] y[j] would build an array of shape (n=1000, n=1000): ...
>>> ec.evaluate(ec.outer(x, y), values).shape
(1000, 1000)
"""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import math
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import TypeVar

from .errors import ResourceError, UnsupportedError
from .expr import Expr, Tensor, postorder


@dataclass(frozen=True)
class Limits:
    """The resource limits in force; ``None`` means unlimited."""

    max_nodes: int | None = 5_000
    """Distinct sub-expressions a derivative may have before simplification."""
    max_elements: int | None = 2**28
    """Elements of the largest array evaluation may build (2**28 float64 values are 2 GiB)."""


_Sizes = TypeVar("_Sizes", bound=Mapping[str, int])
_DEFAULT = [Limits()]
_SCOPED: contextvars.ContextVar[Limits | None] = contextvars.ContextVar("eincalc_limits", default=None)


def get_limits() -> Limits:
    """The limits in force here: those of the innermost :func:`resource_limits` block, else the global ones."""
    return _SCOPED.get() or _DEFAULT[0]


def _changed(base: Limits, changes: Mapping[str, int | None]) -> Limits:
    known = [f.name for f in dataclasses.fields(Limits)]
    for name, value in changes.items():
        if name not in known:
            raise UnsupportedError(f"unknown limit {name!r}; the limits are {', '.join(known)}")
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
            raise UnsupportedError(f"{name} must be a positive integer or None (no limit), not {value!r}")
    return dataclasses.replace(base, **changes)


def set_limits(**changes: int | None) -> Limits:
    """Change limits for the whole program (``max_nodes=…``, ``max_elements=…``); returns the new limits.

    >>> set_limits(max_nodes=50_000).max_nodes
    50000
    >>> set_limits(max_nodes=Limits.max_nodes).max_nodes
    5000
    """
    _DEFAULT[0] = _changed(_DEFAULT[0], changes)
    return _DEFAULT[0]


@contextlib.contextmanager
def resource_limits(**changes: int | None) -> Iterator[Limits]:
    """Change limits inside a ``with`` block only (this thread or task), e.g. ``max_elements=2**32``."""
    token = _SCOPED.set(_changed(get_limits(), changes))
    try:
        yield get_limits()
    finally:
        _SCOPED.reset(token)


_HOW = "Raise it with ec.set_limits({0}=...) or for one block with `with ec.resource_limits({0}=...):`"


def check_expression_size(expr: Expr, operation: str) -> Expr:
    """Return ``expr`` unchanged, or raise :class:`ResourceError` if it has more than ``max_nodes`` nodes."""
    limit = get_limits().max_nodes
    if limit is None:
        return expr
    for count, _ in enumerate(postorder(expr), start=1):
        if count > limit:
            raise ResourceError(
                f"{operation} produced an expression of more than {limit:,} distinct sub-expressions "
                f"(max_nodes={limit:,}); each order of differentiation multiplies the size, so this is "
                f"usually a derivative of a derivative taken once too often. Name intermediates with "
                f"ec.let to keep derivatives small. {_HOW.format('max_nodes')}"
            )
    return expr


def check_intermediates(sizes: _Sizes, nodes: Iterable[Expr]) -> _Sizes:
    """Return ``sizes``, or raise :class:`ResourceError` if evaluation would build an array above ``max_elements``.

    ``nodes`` are the sub-expressions evaluation materialises and ``sizes`` the
    bound dimension sizes; a dimension without a size is left to evaluation to report.
    """
    limit = get_limits().max_elements
    if limit is None:
        return sizes
    for node in nodes:
        if isinstance(node, Tensor):  # an input, or a diagonal of one: no larger than an array the caller holds
            continue
        dims = node.shape
        if any(d not in sizes for d in dims):
            continue
        elements = math.prod(sizes[d] for d in dims)
        if elements > limit:
            shape = ", ".join(f"{d}={sizes[d]}" for d in dims)
            raise ResourceError(
                f"evaluating {describe(node)} would build an array of shape ({shape}): {elements:,} elements "
                f"({_bytes(elements * 8)} as float64); the limit is max_elements={limit:,}. "
                + _HOW.format("max_elements")
            )
    return sizes


def describe(expr: Expr, budget: int = 40) -> str:
    """``expr`` as text when it is small (at most ``budget`` nodes), else a summary of its kind and indices."""
    small = sum(1 for _, _ in zip(postorder(expr), range(budget + 1), strict=False)) <= budget
    if small:
        text = str(expr)
        if len(text) <= 120:
            return text
    indices = ",".join(k.name for k in expr.free)
    return f"a {type(expr).__name__} over [{indices}]"


def _bytes(count: int) -> str:
    for unit, scale in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if count >= scale:
            return f"{count / scale:.1f} {unit}"
    return f"{count} bytes"
