"""Resource bounds: how large an expression may grow and how large an array evaluation may build.

Work that grows with a number or a repetition in the input is counted before
it is done, and stops with a `ResourceError` (what,
the numbers, and how to raise the limit) instead of an out-of-memory kill or
an hour of silence:

* ``max_nodes`` bounds the distinct sub-expressions of a derivative before it
  is simplified.  Each order of differentiation multiplies the size of an
  expression, so an accidental sixth-order derivative of a deep network stops
  here, with a message, before simplification starts on it.
* ``max_tree_nodes`` bounds an expression *written out*: every use of a shared
  sub-expression counted again, a named intermediate (`eincalc.let()`)
  once.  Renaming, simplifying, printing and the matrix view walk that tree, so
  ``h = h*0.5 + h*0.5`` repeated 16 times (a few nodes per step, but a tree
  that doubles with each) would take minutes; it stops when a node is built
  whose tree is above the limit, in time linear in the nodes built.
* ``max_matrix_power`` bounds the factors of `eincalc.matrix_power()`: ``Xᵏ``
  is ``k`` copies of ``X``, and its derivative ``k`` terms of as many factors once
  simplified, whose canonical index names cost about ``k³`` today.
* ``max_elements`` bounds every intermediate array that evaluation
  materialises (one per distinct sub-expression).  The check runs once per
  shape signature, before any array is built, and names the intermediate, its
  shape and its size.

An expression nested deeper than Python's recursion allows (an unnamed chain
of a few hundred layers) is reported as a `ResourceError`
too, by `bounded()` at the public functions.

Change them for a block with `resource_limits()`, or for the whole program
with `set_limits()`; ``None`` lifts a limit.

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
import functools
import math
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, ParamSpec, TypeVar

from .errors import ResourceError, UnsupportedError

if TYPE_CHECKING:  # expr imports this module: the checks below take its nodes without importing it first
    from .expr import Expr


@dataclass(frozen=True)
class Limits:
    """The resource limits in force; ``None`` means unlimited."""

    max_nodes: int | None = 5_000
    """Distinct sub-expressions a derivative may have before simplification."""
    max_tree_nodes: int | None = 10_000
    """Nodes of an expression written out (each use of a shared sub-expression counted, a named one once)."""
    max_matrix_power: int | None = 32
    """Factors ``matrix_power(X, k)`` may multiply: ``|k|`` times the factors of ``X`` (``|k|`` for a tensor)."""
    max_elements: int | None = 2**28
    """Elements of the largest array evaluation may build (2**28 float64 values are 2 GiB)."""


_Sizes = TypeVar("_Sizes", bound=Mapping[str, int])
_DEFAULT = [Limits()]
_SCOPED: contextvars.ContextVar[Limits | None] = contextvars.ContextVar("eincalc_limits", default=None)


def get_limits() -> Limits:
    """The limits in force here: those of the innermost `resource_limits()` block, else the global ones."""
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
    """Change limits for the whole program (``max_nodes=…``, ``max_tree_nodes=…``, ``max_elements=…``, …);
    returns the new limits.

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
    """Return ``expr`` unchanged, or raise `ResourceError` if it has more than ``max_nodes`` nodes."""
    from .expr import postorder

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
    """Return ``sizes``, or raise `ResourceError` if evaluation would build an array above ``max_elements``.

    ``nodes`` are the sub-expressions evaluation materialises and ``sizes`` the
    bound dimension sizes; a dimension without a size is left to evaluation to report.
    """
    from .expr import Tensor

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
    from .expr import postorder

    small = sum(1 for _, _ in zip(postorder(expr), range(budget + 1), strict=False)) <= budget
    if small:
        text = str(expr)
        if len(text) <= 120:
            return text
    indices = ",".join(k.name for k in expr.free)
    kind = type(expr).__name__
    return f"{'an' if kind[0] in 'AEIOU' else 'a'} {kind} over [{indices}]"


def check_tree_size(size: int, building: Callable[[], str], why: str = "") -> int:
    """Return ``size``, the nodes of an expression written out, or raise `ResourceError` above
    ``max_tree_nodes``; ``building()`` says what was being built (called only to write the message) and
    ``why`` replaces the general explanation of how a tree grows.

    >>> with resource_limits(max_tree_nodes=100):
    ...     check_tree_size(101, lambda: "h[i]")
    Traceback (most recent call last):
      ...
    eincalc.errors.ResourceError: building h[i] gives an expression of 101 nodes when written out, ...
    """
    limit = get_limits().max_tree_nodes
    if limit is not None and size > limit:
        raise ResourceError(
            f"building {building()} gives an expression of {count(size)} nodes when written out, above "
            f"max_tree_nodes={limit:,}: "
            + (why or "each use of a shared sub-expression is written out again (a chain like h = h*0.5 + h*0.5 "
               "doubles it at every step), and renaming, simplifying and printing walk every copy. Name the "
               "shared sub-expression with ec.let (h = ec.let('h', ...)) so it is written once, or build smaller "
               "pieces.")
            + f" {_HOW.format('max_tree_nodes')}"
        )
    return size


def count(number: int) -> str:
    """``number`` with thousands separators, or its order of magnitude when it is too long to print.

    >>> count(12345), count(10**400)
    ('12,345', 'about 10^400')
    """
    if abs(number) < 10**30:
        return f"{number:,}"
    return f"about 10^{number.bit_length() * math.log10(2):.0f}"


def check_count(name: str, value: int, building: Callable[[], str], why: str) -> int:
    """Return ``value``, or raise `ResourceError` when ``abs(value)`` is above the limit ``name``
    (a field of `Limits`); ``building()`` says what was being built, ``why`` why the work grows.

    >>> check_count("max_matrix_power", 40, lambda: "matrix_power(A, 40)", "it is 40 factors.")
    Traceback (most recent call last):
      ...
    eincalc.errors.ResourceError: building matrix_power(A, 40) needs max_matrix_power ≥ 40 (it is 32): it is ...
    """
    limit = getattr(get_limits(), name)
    if limit is not None and abs(value) > limit:
        raise ResourceError(f"building {building()} needs {name} ≥ {count(abs(value))} (it is {limit:,}): {why} "
                            + _HOW.format(name))
    return value


_P = ParamSpec("_P")
_R = TypeVar("_R")


def bounded(function: Callable[_P, _R]) -> Callable[_P, _R]:
    """``function`` reporting an expression too deep for Python's recursion, or memory running out,
    as `ResourceError` (with what to do) instead of a raw ``RecursionError`` or ``MemoryError``.

    Applied once, where the public API is assembled (``eincalc/__init__.py``), to every public
    function and to the methods of the public classes; the errors it replaces come from the
    recursive passes that the core redesign will make iterative.

    >>> import eincalc as ec
    >>> x, = ec.tensors("x[n]")
    >>> h = x
    >>> for _ in range(2000):
    ...     h = ec.exp(h)
    >>> str(h)
    Traceback (most recent call last):
      ...
    eincalc.errors.ResourceError: the expression is nested too deeply for Python's recursion limit ...
    """

    name = getattr(function, "__qualname__", repr(function))

    @functools.wraps(function)
    def guarded(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        try:
            return function(*args, **kwargs)
        except RecursionError:
            raise ResourceError(
                f"the expression is nested too deeply for Python's recursion limit ({sys.getrecursionlimit():,} "
                f"frames, reached in {name}; eincalc still walks some expressions recursively). "
                "Name intermediates with ec.let, e.g. h = ec.let(f'h{layer}', ec.tanh(W @ h)) in a loop, so "
                "that each named piece stays shallow, or build the expression in smaller pieces"
            ) from None
        except MemoryError:
            raise ResourceError(
                f"out of memory in {name}; lower the resource limits (ec.set_limits) so that "
                "work this large stops before it starts, or work on smaller pieces"
            ) from None

    return guarded


def _bytes(count: int) -> str:
    for unit, scale in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if count >= scale:
            return f"{count / scale:.1f} {unit}"
    return f"{count} bytes"
