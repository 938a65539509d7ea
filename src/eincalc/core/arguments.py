"""What the public functions accept: one check per kind of argument, each raising a specific error.

Every entry point passes its arguments through these checks (and expressions
through `eincalc.frontend.build.as_expr()`) before doing any work, so text where an
expression belongs, a float where a size belongs or a list where a mapping
belongs is reported as such, naming the argument and what to pass instead,
never as a ``TypeError`` or ``AttributeError`` from deep inside.

========================  ==================================================  =======================
kind of argument          accepted                                            error otherwise
========================  ==================================================  =======================
text                      ``str``                                             `ParseError`
output name (``name=``)   a name no tensor it is computed from has            `ParseError`
flag                      ``True``/``False`` (also NumPy's)                   `UnsupportedError`
size                      a Python or NumPy integer ``≥ 1``                   `ShapeError`
sizes (``dims=``)         ``None`` or a mapping of dimension names to sizes   `ShapeError`
mapping (``values``)      any `Mapping`               `UnsupportedError`
variable (``wrt``)        a declared tensor                                   `UnsupportedError`
tensors (``sizes_from``)  an iterable of declared tensors                     `UnsupportedError`
axis                      an integer position or an index name (or a list)    `UnsupportedError`
choice (``kind=``)        one of the strings offered                          `UnsupportedError`
whole number (``seed``)   a Python or NumPy integer, at least a minimum       `UnsupportedError`
step (``eps``)            a positive finite real number                       `UnsupportedError`
========================  ==================================================  =======================

Sizes are at least 1: eincalc has no empty axes (a softmax or a mean over an
empty axis has no value), and an array with an empty axis is refused the same way.

>>> require_size(2.5, "dims['n']")
Traceback (most recent call last):
  ...
eincalc.core.errors.ShapeError: dims['n'] must be a whole number of at least 1, not float 2.5
>>> require_sizes({"n": 3})
{'n': 3}
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, TypeVar

import numpy as np

from .errors import ParseError, ShapeError, UnsupportedError
from .expr import Expr
from .nodes import Tensor
from .traversal import walk

_Choice = TypeVar("_Choice", bound=str)


def describe(value: object, limit: int = 40) -> str:
    """The type and the (shortened, one-line) ``repr`` of ``value``, as messages show it: ``str 'x[i]'``."""
    if isinstance(value, Expr):
        text = str(value)
        return f"the expression {text}" if len(text) <= limit else f"an expression of shape {value.shape}"
    shown = " ".join(repr(value).split())
    if len(shown) > limit:
        shown = shown[: limit - 3] + "..."
    return f"{type(value).__name__} {shown}"


def require_text(value: object, what: str, example: str) -> str:
    """``value`` if it is a string; `ParseError` naming ``what`` and an ``example`` otherwise."""
    if not isinstance(value, str):
        raise ParseError(f"{what} must be a string like {example}, not {describe(value)}")
    return value


OUTPUT_NAMES = ("f", "g", "h", "F", "G", "H")
"""The names an output gets when none is given: the first that no tensor it is computed from has."""


def output_name(value: object, *parts: Expr | None) -> str:
    """The name an output is shown under: ``value`` if given, a name that no tensor of ``parts`` (the expressions it
    is computed from) has, since an output called like one of its inputs would print ∂x/∂x or two rows named x;
    else the first default that no tensor of ``parts`` has.

    >>> import eincalc as ec
    >>> f, x = ec.tensors("f x")
    >>> output_name(None, f * x)
    'g'
    >>> output_name("x", f * x)
    Traceback (most recent call last):
      ...
    eincalc.core.errors.ParseError: name 'x' is also a tensor of the expression; call the output something else
    """
    taken = {node.spec.name for part in parts if part is not None for node in walk(part) if isinstance(node, Tensor)}
    if value is None:
        defaults = itertools.chain(OUTPUT_NAMES, (f"f{n}" for n in itertools.count(1)))
        return next(name for name in defaults if name not in taken)
    name = require_text(value, "name", "'z'")
    if not name.isidentifier():
        raise ParseError(f"name {name!r} is not a name: write a letter, then letters, digits or _, like 'z'")
    if name in taken:
        raise ParseError(f"name {name!r} is also a tensor of the expression; call the output something else")
    return name


def require_flag(value: object, what: str) -> bool:
    """``value`` as a ``bool``; only ``True`` and ``False`` (Python's or NumPy's) are flags."""
    if not isinstance(value, bool | np.bool_):
        raise UnsupportedError(f"{what} must be True or False, not {describe(value)}")
    return bool(value)


def is_whole(value: object) -> bool:
    """Whether ``value`` is a Python or NumPy integer (a ``bool`` is not)."""
    return isinstance(value, int | np.integer) and not isinstance(value, bool)


def require_size(value: object, what: str) -> int:
    """``value`` as the size of a dimension: a whole number of at least 1."""
    if not is_whole(value):
        raise ShapeError(f"{what} must be a whole number of at least 1, not {describe(value)}")
    size = int(value)  # type: ignore[call-overload]
    if size < 1:
        raise ShapeError(f"{what} is {size}; a dimension has at least 1 entry (eincalc has no empty axes)")
    return size


def require_choice(value: object, what: str, choices: Sequence[_Choice]) -> _Choice:
    """``value`` if it is one of the strings ``choices``."""
    for choice in choices:
        if isinstance(value, str) and value == choice:
            return choice
    shown = repr(value) if isinstance(value, str) else describe(value)
    raise UnsupportedError(f"unknown {what} {shown}; choose one of {', '.join(choices)}")


def require_whole(value: object, what: str, minimum: int = 0) -> int:
    """``value`` as a whole number of at least ``minimum`` (a seed, a count)."""
    if not is_whole(value) or int(value) < minimum:  # type: ignore[call-overload]
        raise UnsupportedError(f"{what} must be a whole number of at least {minimum}, not {describe(value)}")
    return int(value)  # type: ignore[call-overload]


def require_mapping(value: object, what: str, of: str) -> Mapping[Any, Any]:
    """``value`` if it is a mapping; ``of`` says what it maps (``"tensor names to arrays"``)."""
    if not isinstance(value, Mapping):
        raise UnsupportedError(f"{what} must be a mapping from {of}, not {describe(value)}")
    return value


def require_sizes(value: object, what: str = "dims") -> dict[str, int]:
    """Dimension sizes given as ``dims={'n': 3}`` (``None``: none), each checked by `require_size()`."""
    if value is None:
        return {}
    sizes = require_mapping(value, what, "dimension names to sizes, like {'n': 3}")
    for dim in sizes:
        if not isinstance(dim, str):
            raise ShapeError(f"{what} maps dimension names to sizes; its key {describe(dim)} is not a name")
    return {dim: require_size(n, f"{what}[{dim!r}]") for dim, n in sizes.items()}


def require_variable(value: object) -> Tensor:
    """``value`` if it is a declared tensor, the only thing eincalc differentiates with respect to."""
    if not isinstance(value, Tensor):
        shown = str(value) if isinstance(value, Expr) else describe(value)
        raise UnsupportedError(
            f"can only differentiate with respect to a declared tensor, not {shown}; "
            "declare it with ec.tensors and pass the tensor itself"
        )
    return value


def require_tensors(value: object, what: str) -> tuple[Tensor, ...]:
    """``value`` as a tuple of declared tensors; it must be an iterable of them, like ``[A, B]``."""
    if isinstance(value, Expr | str | bytes | Mapping) or not isinstance(value, Iterable):
        raise UnsupportedError(f"{what} must be a list of declared tensors, like [A], not {describe(value)}")
    found = tuple(value)
    for item in found:
        if not isinstance(item, Tensor):
            raise UnsupportedError(f"{what} must hold declared tensors (from ec.tensors), not {describe(item)}")
    return found


def require_axis(value: object) -> int | str:
    """``value`` if it names an axis: an integer position or an index name."""
    if isinstance(value, str):
        return value
    if not is_whole(value):
        raise UnsupportedError(f"axis must be an integer position or an index name, not {describe(value)}")
    return int(value)  # type: ignore[call-overload]


def require_axes(value: object) -> list[int | str]:
    """One axis or several (a list or tuple of them), each checked by `require_axis()`."""
    if isinstance(value, list | tuple):
        return [require_axis(axis) for axis in value]
    return [require_axis(value)]


def require_step(value: object, what: str) -> float:
    """``value`` as a positive finite real number (a finite-difference step)."""
    step = _finite(value) if is_whole(value) or isinstance(value, float | np.floating) else None
    if step is None or step <= 0:
        raise UnsupportedError(f"{what} must be a positive finite number, not {describe(value)}")
    return step


def _finite(number: Any) -> float | None:
    """``number`` as a finite float, or ``None`` (an integer too large for a float, an infinity, NaN)."""
    try:
        value = float(number)
    except OverflowError:
        return None
    return value if math.isfinite(value) else None
