"""Run the printed NumPy text of a matrix form: what is printed is what is checked.

`run_numpy()` reads NumPy source such as ``W.T @ g``, or assignments of
intermediates followed by an expression (``z = W @ x`` on one line, ``np.tanh(z)`` on the next), with Python's `ast`
and computes it by walking that tree, in a namespace that holds only ``np`` and
the given arrays: no builtins, and nothing is handed to ``eval``.  It reads only
what the matrix view prints: names, numbers, ``+ - * / @ **``, unary minus,
comparisons, tuples, slices, calls, public attributes of NumPy and its ufuncs,
and ``.T``, ``.shape`` and ``.sum`` of arrays.  Anything else is refused with
`UnsupportedError`, so a renderer that prints something
else fails loudly instead of being checked through another route.

Every comparison of a matrix form with its index form goes through here:
`eincalc.MatrixForm.evaluate()`, the numeric check of `eincalc.explain()`
and the tests.

>>> import numpy as np
>>> run_numpy("W.T @ g", {"W": np.eye(2), "g": np.ones(2)})
array([1., 1.])
>>> run_numpy("x - (y + z)", {"x": np.array(1.0), "y": np.array(100.0), "z": np.array(10.0)})
array(-109.)
"""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable, Mapping
from types import ModuleType
from typing import Any

import numpy as np

from ..core.arguments import require_mapping
from ..core.errors import DomainError, EincalcError, ResourceError, ShapeError, UnknownNameError, UnsupportedError
from ..numeric.binding import as_array

_BINARY: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
    ast.MatMult: operator.matmul, ast.Pow: operator.pow,
}  # fmt: skip
_UNARY: dict[type, Callable[[Any], Any]] = {ast.USub: operator.neg, ast.UAdd: operator.pos}
_COMPARE: dict[type, Callable[[Any, Any], Any]] = {
    ast.Gt: operator.gt, ast.Lt: operator.lt, ast.GtE: operator.ge, ast.LtE: operator.le,
}  # fmt: skip
_ARRAY_ATTRIBUTES = frozenset({"T", "shape", "sum"})
_UFUNC_ATTRIBUTES = frozenset({"reduce"})
_CONSTANTS = (int, float, bool, type(None))


def run_numpy(code: str, values: Mapping[str, Any]) -> np.ndarray:
    """The value of the NumPy expression ``code`` with ``np`` and the arrays ``values`` (by name) in scope; ``code``
    may first assign intermediates, one name a line.

    >>> run_numpy("z = W @ x\\nnp.tanh(z) + z", {"W": np.eye(2), "x": np.zeros(2)})
    array([0., 0.])
    """
    values = require_mapping(values, "values", "tensor names to arrays, like {'W': W_value}")
    if "np" in values:
        raise UnknownNameError("a tensor named 'np' hides NumPy in the NumPy text; rename the tensor")
    arrays = {name: np.asarray(as_array(name, value)) for name, value in values.items()}  # integers as float64
    namespace: dict[str, Any] = {"np": np, **arrays}
    try:
        tree = ast.parse(code)
    except SyntaxError as error:
        raise UnsupportedError(f"the NumPy text does not parse ({error.msg}): {code}") from None
    except (RecursionError, MemoryError):
        raise ResourceError(
            f"the NumPy text is nested too deeply to read ({len(code)} characters); name "
            "intermediates (ec.let) to keep each piece shallow"
        ) from None
    try:
        return np.asarray(_run(tree.body, namespace, code))
    except EincalcError:
        raise
    except RecursionError:
        raise ResourceError(
            f"the NumPy text is nested too deeply to run ({len(code)} characters); name "
            "intermediates (ec.let) to keep each piece shallow"
        ) from None
    except np.linalg.LinAlgError as error:
        raise DomainError(f"running {code}: {error}; the matrix must be invertible") from None
    except (ValueError, TypeError, ArithmeticError) as error:
        shapes = ", ".join(f"{name} {np.shape(value)}" for name, value in values.items())
        raise ShapeError(f"running {code} on {shapes or 'no arrays'}: {error}") from None


def _run(statements: list[ast.stmt], namespace: dict[str, Any], code: str) -> Any:
    """Run the assignments ``name = …`` (a matrix form's intermediates), then return the value of the expression
    that ends ``statements``."""
    *assignments, last = statements or [ast.Pass()]
    reader = _Reader(namespace)
    for statement in assignments:
        name = _assigned(statement, namespace, code)
        namespace[name] = reader.read(statement.value)  # type: ignore[attr-defined]
    if not isinstance(last, ast.Expr):
        raise UnsupportedError(f"the NumPy text must end in an expression: {code}")
    return reader.read(last.value)


def _assigned(statement: ast.stmt, namespace: Mapping[str, Any], code: str) -> str:
    """The name ``statement`` assigns: one new name, neither np nor a given array."""
    if not (
        isinstance(statement, ast.Assign) and len(statement.targets) == 1 and isinstance(statement.targets[0], ast.Name)
    ):
        raise UnsupportedError(
            f"{ast.unparse(statement)!r}: only assignments to one name precede the expression in the NumPy text: {code}"
        )
    name = statement.targets[0].id
    if name in namespace:
        raise UnknownNameError(
            f"the NumPy text assigns {name!r}, which is already np or a given array or "
            "assigned; rename the intermediate or the tensor"
        )
    return name


class _Reader:
    """Computes the nodes of a parsed NumPy expression, one node type at a time."""

    def __init__(self, namespace: Mapping[str, Any]) -> None:
        self.namespace = namespace

    def read(self, node: ast.expr) -> Any:
        method: Callable[[_Reader, Any], Any] | None = _READERS.get(type(node))
        if method is None:
            raise UnsupportedError(
                f"{ast.unparse(node)!r}: a {type(node).__name__} is not part of the NumPy the matrix view prints"
            )
        return method(self, node)

    def name(self, node: ast.Name) -> Any:
        try:
            return self.namespace[node.id]
        except KeyError:
            raise UnknownNameError(f"the NumPy text uses {node.id!r}, which is neither np nor a given array") from None

    def constant(self, node: ast.Constant) -> Any:
        if not isinstance(node.value, _CONSTANTS):
            raise UnsupportedError(f"the NumPy text holds the constant {node.value!r}; only numbers are read")
        return node.value

    def attribute(self, node: ast.Attribute) -> Any:
        owner = self.read(node.value)
        if not _public(owner, node.attr):
            raise UnsupportedError(
                f"{ast.unparse(node)!r}: attribute {node.attr!r} is not part of the NumPy the matrix view prints"
            )
        return getattr(owner, node.attr)

    def call(self, node: ast.Call) -> Any:
        function = self.read(node.func)
        if any(k.arg is None for k in node.keywords):
            raise UnsupportedError(f"{ast.unparse(node)!r}: ** arguments are not read")
        args = [self.read(arg) for arg in node.args]
        return function(*args, **{k.arg: self.read(k.value) for k in node.keywords if k.arg is not None})

    def binary(self, node: ast.BinOp) -> Any:
        return self._operator(_BINARY, node.op, node)(self.read(node.left), self.read(node.right))

    def unary(self, node: ast.UnaryOp) -> Any:
        return self._operator(_UNARY, node.op, node)(self.read(node.operand))

    def compare(self, node: ast.Compare) -> Any:
        if len(node.ops) != 1:
            raise UnsupportedError(f"{ast.unparse(node)!r}: chained comparisons are not read")
        return self._operator(_COMPARE, node.ops[0], node)(self.read(node.left), self.read(node.comparators[0]))

    def subscript(self, node: ast.Subscript) -> Any:
        return self.read(node.value)[self.read(node.slice)]

    def slice(self, node: ast.Slice) -> slice:
        lower, upper, step = (None if part is None else self.read(part) for part in (node.lower, node.upper, node.step))
        return slice(lower, upper, step)

    def tuple(self, node: ast.Tuple) -> tuple[Any, ...]:
        return tuple(self.read(element) for element in node.elts)

    @staticmethod
    def _operator(table: Mapping[type, Any], op: ast.AST, node: ast.expr) -> Any:
        try:
            return table[type(op)]
        except KeyError:
            raise UnsupportedError(f"{ast.unparse(node)!r}: the operator {type(op).__name__} is not read") from None


def _public(owner: Any, attribute: str) -> bool:
    """Whether ``owner.attribute`` belongs to the NumPy the matrix view prints."""
    if attribute.startswith("_"):
        return False
    if isinstance(owner, ModuleType):
        return owner.__name__.split(".")[0] == "numpy"
    if isinstance(owner, np.ufunc):
        return attribute in _UFUNC_ATTRIBUTES
    return isinstance(owner, np.ndarray | np.generic) and attribute in _ARRAY_ATTRIBUTES


_READERS: dict[type, Callable[[_Reader, Any], Any]] = {
    ast.Name: _Reader.name,
    ast.Constant: _Reader.constant,
    ast.Attribute: _Reader.attribute,
    ast.Call: _Reader.call,
    ast.BinOp: _Reader.binary,
    ast.UnaryOp: _Reader.unary,
    ast.Compare: _Reader.compare,
    ast.Subscript: _Reader.subscript,
    ast.Slice: _Reader.slice,
    ast.Tuple: _Reader.tuple,
}
