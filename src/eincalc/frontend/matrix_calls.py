"""The calls of `eincalc.parse_matrix()`: which functions a matrix text may call, and the type rule of each.

`call_type` types a `Call` node for a `eincalc.frontend.matrix_checker.Checker`: its number
of arguments (`ARITY`; one for an element-wise function or an axis call, `AXIS_CALLS`), then the
rule of its function: ``tr``/``det``/``inv`` need a square matrix, ``diag`` turns a vector into a
matrix and back, ``softmax`` takes a vector and ``softmax_rows`` a matrix, ``vector(1)`` is a
column of ones of a size still open.

>>> sorted(AXIS_CALLS)[:2], ARITY["tr"], elementwise_functions()["σ"]
(['log_softmax_cols', 'log_softmax_rows'], 1, 'sigmoid')
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from ..core.errors import Located, ParseError, ShapeError
from ..core.functions import ALIASES, FUNCTIONS
from .matrix_syntax import Call
from .matrix_typing import SCALAR, Flexible, Kind, Shape, Type, Var, describe, final, vector

if TYPE_CHECKING:
    from .matrix_checker import Checker

ARITY = {
    "tr": 1,
    "trace": 1,
    "det": 1,
    "logdet": 1,
    "inv": 1,
    "diag": 1,
    "sum": 1,
    "norm1": 1,
    "norm2": 1,
    "vector": 1,
    "matrix": 1,
    "softmax": 1,
    "log_softmax": 1,
    "logsumexp": 1,
}
AXIS_CALLS = {f"{fn}_{way}": (fn, way) for fn in ("softmax", "log_softmax", "logsumexp") for way in ("rows", "cols")}


def elementwise_functions() -> dict[str, str]:
    """Each element-wise function by every name it is written with (``σ``, ``sigmoid``) → its table name."""
    spelled = {f.text[: -len("({x})")]: f.name for f in FUNCTIONS.values() if f.text.endswith("({x})")}
    return {**spelled, **{f: f for f in FUNCTIONS if f != "pow"}, **ALIASES}


MATRIX_CALLS = frozenset({*ARITY, *AXIS_CALLS})
"""The calls with a rule here (the element-wise functions come from their table, `elementwise_functions()`)."""


def call_type(reader: Checker, node: Call) -> Type:
    """The type of a call: its number of arguments, then the rule of its function."""
    fn, args = node.fn, node.args
    arity = 1 if fn in AXIS_CALLS or fn in elementwise_functions() else ARITY[fn]
    if len(args) != arity:
        raise Located(ParseError(f"{fn} takes {arity} argument{'s' * (arity != 1)}, not {len(args)}"), node.start)
    if fn in ("tr", "trace", "det", "logdet", "inv"):
        shape = reader.require_square(args[0], reader.operand(args[0]), fn)
        return shape if fn == "inv" else SCALAR
    argument = reader.check(args[0])
    if isinstance(argument, Flexible) and fn in elementwise_functions():
        return argument.derived()  # σ(1): still a constant of any shape
    if isinstance(argument, Flexible) and fn in ("softmax", "log_softmax", "logsumexp", "diag"):  # diag(1) is I
        argument = reader.settle(argument, vector(reader.vector, Var("1", args[0].start)), args[0])
    rule = _CALL_TYPES.get(fn) or (_axis_call_type if fn in AXIS_CALLS else _same_type)
    return rule(reader, node, final(argument))


def _require(reader: Checker, node: Call, shape: Shape, kinds: tuple[Kind, ...], hint: str = "") -> None:
    if shape.kind not in kinds:
        words = {"scalar": "a scalar", "col": "a vector", "row": "a vector", "matrix": "a matrix"}
        wanted = " or ".join(dict.fromkeys(words[k] for k in kinds))
        raise Located(
            ShapeError(f"{node.fn} takes {wanted}; {reader.text(node.args[0])} is {describe(shape)}{hint}"),
            node.args[0].start,
        )


# -- the tables -------------------------------------------------------------------------------------


def _same_type(reader: Checker, node: Call, shape: Shape) -> Type:
    return shape


def _vector_or_matrix(reader: Checker, node: Call, shape: Shape) -> Type:
    _require(reader, node, shape, ("col", "row", "matrix"))
    return SCALAR


def _diag_type(reader: Checker, node: Call, shape: Shape) -> Type:
    if shape.kind == "matrix":
        return vector(reader.vector, reader.require_square(node.args[0], shape, "diag").dims[0])
    _require(reader, node, shape, ("col", "row", "matrix"))
    return Shape("matrix", (shape.dims[0], shape.dims[0]))


def _softmax_type(reader: Checker, node: Call, shape: Shape) -> Type:
    hint = f"; say which way it normalises: {node.fn}_rows(…) or {node.fn}_cols(…)" if shape.kind == "matrix" else ""
    _require(reader, node, shape, ("col", "row"), hint)
    return shape if node.fn != "logsumexp" else SCALAR


def _axis_call_type(reader: Checker, node: Call, shape: Shape) -> Type:
    _require(reader, node, shape, ("matrix",))
    fn, way = AXIS_CALLS[node.fn]
    return shape if fn != "logsumexp" else vector(reader.vector, shape.dims[0 if way == "rows" else 1])


def _constant_type(reader: Checker, node: Call, shape: Shape) -> Type:
    _require(reader, node, shape, ("scalar",))
    size = Var(f"{node.fn}(…)", node.start)
    return vector(reader.vector, size) if node.fn == "vector" else Shape("matrix", (size, Var(node.fn, node.start)))


_CALL_TYPES: dict[str, Callable[[Checker, Call, Shape], Type]] = {
    "diag": _diag_type, "sum": lambda r, n, s: SCALAR, "norm1": _vector_or_matrix, "norm2": _vector_or_matrix,
    "softmax": _softmax_type, "log_softmax": _softmax_type, "logsumexp": _softmax_type,
    "vector": _constant_type, "matrix": _constant_type,
}  # fmt: skip
