"""What the command line reads besides the expression: named intermediates (``--let``) and values (``--values``).

``--let NAME=EXPR`` names an intermediate, as `eincalc.let()` does: each
definition is read in order, may use the tensors and the intermediates defined
before it (by name, like a tensor of the definition's shape), and the
expression may use them all.  The gradient flowing back into ``NAME`` is
called ``dNAME``.

``--values NAME=VALUE`` gives a tensor a value: a number, or a JSON array of
numbers (``[2, -3]``, ``[[1, 0], [0, 1]]``), read with `json`, never
evaluated.  A number too large for a float (``1e400``) is refused, not read
as infinity; ``NaN`` and ``Infinity`` written out are taken as written.

>>> from eincalc.frontend.build import tensors
>>> from eincalc.frontend.parse import parse
>>> W, x = tensors("W[m,n] x[n]")
>>> f = read_network("sum(sigmoid(z))", ["z=W[i,j] x[j]"], {"W": W, "x": x}, parse)
>>> from eincalc.frontend.printing import with_definitions
>>> print(with_definitions(f))
Σ(σ(z[i]))
  where z[i] = W[i,j] x[j]
>>> read_values(["x=[1, -2.5]", "W=3"], {"W": W, "x": x})
{'x': array([ 1. , -2.5]), 'W': array(3.)}
"""

from __future__ import annotations

import functools
import json
import math
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from ..core.errors import ParseError, UnknownNameError
from ..core.expr import Expr
from ..core.indices import TensorSpec
from ..core.nodes import Named, Tensor
from ..core.traversal import walk
from ..frontend.build import bare, let

Reader = Callable[..., Expr]
"""Reads text over declared tensors: `eincalc.parse()`, or the matrix-notation reader."""

_ASSIGNMENT = re.compile(r"^\s*([^\W\d]\w*)\s*=(.*)$", re.DOTALL)


def _split(item: str, flag: str) -> tuple[str, str]:
    found = _ASSIGNMENT.match(item)
    if not found or not found.group(2).strip():
        raise ParseError(f"{flag} {item!r}: write NAME=…, like {flag} z=W[i,j] x[j] or {flag} x=[1, 2]")
    return found.group(1), found.group(2).strip()


def read_network(expression: str, lets: Sequence[str], declared: Mapping[str, Tensor], reader: Reader) -> Expr:
    """The expression, with the intermediates ``lets`` (``NAME=EXPR``, in order) named where it uses them."""
    known: dict[str, Tensor] = dict(declared)
    defined: dict[TensorSpec, Named] = {}
    for item in lets:
        name, text = _split(item, "--let")
        if name in known:
            raise ParseError(
                f"--let {name}=…: {name} is already {'a tensor' if name in declared else 'defined'}; "
                "give the intermediate a name of its own"
            )
        named = let(name, _named_in(reader(text, *known.values()), defined))
        assert isinstance(named, Named)
        placeholder = bare(TensorSpec(name, named.body.shape))
        defined[placeholder.spec] = named
        known[name] = placeholder
    network = _named_in(reader(expression, *known.values()), defined)
    used = {node.name for node in walk(network) if isinstance(node, Named)}
    unused = [named.name for named in defined.values() if named.name not in used]
    if unused:
        raise ParseError(f"--let {unused[0]}=…: the expression never uses {unused[0]}; use it, or leave the --let out")
    return network


def _named_in(expr: Expr, defined: Mapping[TensorSpec, Named]) -> Expr:
    """``expr`` with every use of a defined intermediate's name made a reference to its definition."""
    memo: dict[Expr, Expr] = {}

    def visit(node: Expr) -> Expr:
        if node not in memo:
            if isinstance(node, Tensor) and node.spec in defined:
                named = defined[node.spec]
                memo[node] = Named(named.name, named.body, node.indices, named.adjoint, positional=node.positional)
            else:
                memo[node] = node.map_children(visit)
        return memo[node]

    return visit(expr)


def read_values(items: Sequence[str], declared: Mapping[str, Tensor]) -> dict[str, np.ndarray]:
    """``NAME=VALUE`` pairs as arrays, by tensor name."""
    values: dict[str, np.ndarray] = {}
    for item in items:
        name, text = _split(item, "--values")
        if name not in declared:
            raise UnknownNameError(
                f"--values {name}=…: {name} is not declared; declared tensors: {', '.join(declared)}"
            )
        if name in values:
            raise ParseError(f"--values {name}=…: {name} is given twice; give each tensor one value")
        values[name] = _array(name, text)
    return values


def _array(name: str, text: str) -> np.ndarray:
    finite = functools.partial(_finite, name)
    try:
        value: Any = json.loads(text, parse_int=finite, parse_float=finite)
        numbers = _numbers(value)
    except json.JSONDecodeError:
        raise ParseError(
            f"--values {name}={text}: not a number or a JSON array of numbers, like 2.5 or [1, -2]"
        ) from None
    except RecursionError:
        raise ParseError(f"--values {name}=…: arrays nested too deeply") from None
    if not numbers:
        raise ParseError(f"--values {name}={text}: only numbers and arrays of numbers, like 2.5 or [[1, 0], [0, 1]]")
    try:
        return np.asarray(value, dtype=float)
    except ValueError:
        raise ParseError(f"--values {name}={text}: the rows have different lengths") from None


def _finite(name: str, literal: str) -> float:
    """A JSON number as a float; one too large for a float (``1e400``, or 400 digits) is refused."""
    number = float(literal)
    if math.isinf(number):
        shown = literal if len(literal) <= 20 else f"a number of {len(literal)} characters"
        raise ParseError(f"--values {name}=…: {shown} is too large for a float (the largest is about 1.8e308)")
    return number


def _numbers(value: Any) -> bool:
    if isinstance(value, list):
        return all(_numbers(v) for v in value)
    return isinstance(value, int | float) and not isinstance(value, bool)
