"""Resource bounds: how large an expression may grow and how large an array evaluation may build.

Work that grows with a number or a repetition in the input is counted before
it is done, and stops with a `ResourceError` (what,
the numbers, and how to raise the limit) instead of an out-of-memory kill or
an hour of silence:

* ``max_nodes`` bounds the distinct sub-expressions (nodes of the DAG, a shared
  one counted once) of a derivative before it is simplified.  A first derivative
  is linear in what it differentiates (a plain 1,000-layer network: 3,008 nodes,
  its raw gradient 8,015), so it may have `GROWTH` times the nodes of its input
  when that is more: any network the caller could build is within the limit.  A
  derivative of a derivative gets ``max_nodes`` alone, since each order
  multiplies the size: an accidental sixth-order derivative of a deep network
  stops here, with a message, before simplification starts on it.
* ``max_tree_nodes`` bounds an expression *written out* (every use of a shared
  sub-expression counted again, a named intermediate once) where work really is
  proportional to that size, and is checked before the work: a matrix power
  ``Xᵏ``, whose derivative simplifies to ``k`` terms of ``k`` factors, and a sum
  whose terms are sums, flattened into one sum of all their terms (``h = h + h``
  repeated doubles its terms; ``ec.let`` keeps each step one term).  Everything
  else works on the DAG (hash-consed nodes, per-node caches, printers that name
  shared sub-expressions), so ``h = h*0.5 + h*0.5`` repeated 30 times, whose tree
  doubles with each step, derives and prints in linear time and is never refused.
* ``max_matrix_power`` bounds the factors of `eincalc.matrix_power()`: ``Xᵏ``
  is ``k`` copies of ``X``, and its derivative ``k`` terms of as many factors once
  simplified, whose canonical index names cost about ``k³`` today.
* ``max_elements`` bounds every intermediate array that evaluation
  materialises (one per distinct sub-expression).  The check runs once per
  shape signature, before any array is built, and names the intermediate, its
  shape and its size.

Nothing in eincalc recurses with the depth of an expression: a 10,000-layer
chain builds, derives, prints and evaluates under Python's default recursion
limit.  Should recursion run out anyway (in a node kind added by a user), or
memory, `bounded()` reports it at the public functions as a `ResourceError`.

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
eincalc.core.errors.ResourceError: evaluating x[i] y[j] would build an array of shape (n=1000, n=1000): ...
>>> ec.evaluate(ec.outer(x, y), values).shape
(1000, 1000)
"""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import functools
import gc
import math
import sys
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import ParamSpec, TypeVar

from .errors import ResourceError, UnsupportedError, count
from .expr import Expr
from .nodes import Tensor
from .traversal import postorder


@dataclass(frozen=True)
class Limits:
    """The resource limits in force; ``None`` means unlimited."""

    max_nodes: int | None = 5_000
    """Distinct sub-expressions a derivative may have before simplification (a first derivative: or `GROWTH`
    times those of its input, if more)."""
    max_tree_nodes: int | None = 10_000
    """Nodes written out (each use of a shared sub-expression counted) of what a matrix power builds and
    simplifies; checked before it is built."""
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


GROWTH = 16
"""How many times the distinct nodes of its input a first derivative may have when that is above ``max_nodes``
(a chain of element-wise functions: about 5)."""


def check_expression_size(expr: Expr, operation: str, *inputs: Expr) -> Expr:
    """Return ``expr`` unchanged, or raise `ResourceError` if it has more distinct nodes than ``max_nodes``
    and than `GROWTH` times the distinct nodes of ``inputs`` (what a first derivative differentiates).

    >>> from eincalc.core.indices import Index, TensorSpec
    >>> from eincalc.core.nodes import Tensor, Contract
    >>> x = Tensor(TensorSpec("x", ("n",)), (Index("i", "n"),))
    >>> with resource_limits(max_nodes=1):
    ...     check_expression_size(Contract((x, x), ()), "jacobian", x) is not None
    True
    """
    limit = get_limits().max_nodes
    if limit is None:
        return expr
    seen: set[int] = set()
    for root in inputs:
        seen.update(id(node) for node in postorder(root))
    allowed = max(limit, GROWTH * len(seen))
    for visited, _ in enumerate(postorder(expr), start=1):
        if visited > allowed:
            bound = (
                f"max_nodes={limit:,}"
                if allowed == limit
                else f"{GROWTH} times the {len(seen):,} of its input, above max_nodes={limit:,}"
            )
            raise ResourceError(
                f"{operation} produced an expression of more than {allowed:,} distinct sub-expressions ({bound}); "
                "each order of differentiation multiplies the size, so this is usually a derivative of a derivative "
                f"taken once too often. Name intermediates with ec.let to keep derivatives small. "
                + _HOW.format("max_nodes")
            )
    return expr


def check_intermediates(sizes: _Sizes, nodes: Iterable[Expr]) -> _Sizes:
    """Return ``sizes``, or raise `ResourceError` if evaluation would build an array above ``max_elements``.

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
    eincalc.core.errors.ResourceError: building h[i] gives an expression of 101 nodes when written out, ...
    """
    limit = get_limits().max_tree_nodes
    if limit is not None and size > limit:
        raise ResourceError(
            f"building {building()} gives an expression of {count(size)} nodes when written out, above "
            f"max_tree_nodes={limit:,}: "
            + (
                why
                or "each use of a shared sub-expression is written out again (a chain like h = h*0.5 + h*0.5 "
                "doubles it at every step), and renaming, simplifying and printing walk every copy. Name the "
                "shared sub-expression with ec.let (h = ec.let('h', ...)) so it is written once, or build smaller "
                "pieces."
            )
            + f" {_HOW.format('max_tree_nodes')}"
        )
    return size


def check_count(name: str, value: int, building: Callable[[], str], why: str) -> int:
    """Return ``value``, or raise `ResourceError` when ``abs(value)`` is above the limit ``name``
    (a field of `Limits`); ``building()`` says what was being built, ``why`` why the work grows.

    >>> check_count("max_matrix_power", 40, lambda: "matrix_power(A, 40)", "it is 40 factors.")
    Traceback (most recent call last):
      ...
    eincalc.core.errors.ResourceError: building matrix_power(A, 40) needs max_matrix_power ≥ 40 (it is 32): it is ...
    """
    limit = getattr(get_limits(), name)
    if limit is not None and abs(value) > limit:
        raise ResourceError(
            f"building {building()} needs {name} ≥ {count(abs(value))} (it is {limit:,}): {why} " + _HOW.format(name)
        )
    return value


_P = ParamSpec("_P")
_R = TypeVar("_R")


def bounded(function: Callable[_P, _R]) -> Callable[_P, _R]:
    """``function`` reporting an expression too deep for Python's recursion, or memory running out,
    as `ResourceError` (with what to do) instead of a raw ``RecursionError`` or ``MemoryError``.

    Applied once, where the public API is assembled (``eincalc/__init__.py``), to every public
    function and to the methods of the public classes.  eincalc's own passes are iterative or of
    bounded depth (printers see pieces at most `eincalc.core.intermediates.DEPTH` levels deep), so this
    guards what they call: a node kind added by a user, NumPy, the memory of the machine.

    >>> def nested(depth: int) -> int:
    ...     return nested(depth + 1)
    >>> bounded(nested)(0)
    Traceback (most recent call last):
      ...
    eincalc.core.errors.ResourceError: the expression is nested too deeply for Python's recursion limit ...
    """

    name = getattr(function, "__qualname__", repr(function))

    @functools.wraps(function)
    def guarded(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        _pause_collector()
        try:
            return function(*args, **kwargs)
        except RecursionError:
            raise ResourceError(
                f"the expression is nested too deeply for Python's recursion limit ({sys.getrecursionlimit():,} "
                f"frames, reached in {name}). "
                "Name intermediates with ec.let, e.g. h = ec.let(f'h{layer}', ec.tanh(W @ h)) in a loop, so "
                "that each named piece stays shallow, or build the expression in smaller pieces"
            ) from None
        except MemoryError:
            raise ResourceError(
                f"out of memory in {name}; lower the resource limits (ec.set_limits) so that "
                "work this large stops before it starts, or work on smaller pieces"
            ) from None
        finally:
            _resume_collector()

    return guarded


_CALLS = threading.Lock()
_ACTIVE = [0, False]
"""Public calls in progress (in any thread), and whether the cyclic garbage collector was on before the first."""


def _pause_collector() -> None:
    """Pause Python's cyclic garbage collector while a public call runs (calls nest; the outermost resumes it).

    Deriving and printing build many small linked objects (nodes, their per-node caches) and keep most
    of them; the collector would walk all of them again and again while they are built (more than half
    the time of a 1,000-layer gradient).  Paused, it collects what the call left behind once, after.
    """
    with _CALLS:
        if _ACTIVE[0] == 0:
            _ACTIVE[1] = gc.isenabled()
            gc.disable()
        _ACTIVE[0] += 1


def _resume_collector() -> None:
    with _CALLS:
        _ACTIVE[0] -= 1
        if _ACTIVE[0] == 0 and _ACTIVE[1]:
            gc.enable()


def _bytes(count: int) -> str:
    for unit, scale in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if count >= scale:
            return f"{count / scale:.1f} {unit}"
    return f"{count} bytes"
