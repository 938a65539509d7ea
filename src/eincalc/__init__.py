"""eincalc: tensor calculus in einsum/index notation, derived, explained and compiled.

>>> import eincalc as ec
>>> W, a, g = ec.tensors("W[m,n] a[n] g[m]")
>>> print(ec.jacobian(W @ a, W))
δ[i,p] a[q]
>>> print(ec.vjp(W @ a, W, g), "=", ec.to_matrix(ec.vjp(W @ a, W, g)).text)
g[p] a[q] = g aᵀ
"""

import types
from collections.abc import Iterable

from .calculus.diff import grad, jacobian, vjp
from .calculus.hessian import hessian, hvp
from .calculus.simplify import simplify
from .core.errors import (
    DomainError,
    EincalcError,
    IndexMismatch,
    NoMatrixForm,
    ParseError,
    ResourceError,
    ShapeError,
    UnknownNameError,
    UnsupportedError,
)
from .core.expr import Expr
from .core.indices import Index, TensorSpec
from .core.limits import Limits, bounded, get_limits, resource_limits, set_limits
from .explain.derivation import Derivation, explain
from .explain.graph import Graph, graph
from .frontend.build import (
    absolute,
    cos,
    dot,
    exp,
    indices,
    let,
    log,
    outer,
    relu,
    sigmoid,
    sin,
    softplus,
    sqrt,
    square,
    tan,
    tanh,
    tensors,
    trace,
)
from .frontend.build import total as sum
from .frontend.einsum import einsum
from .frontend.parse import parse
from .frontend.parse_matrix import parse_matrix
from .frontend.printing import with_definitions
from .matrix.view import MatrixForm, to_matrix
from .numeric.codegen import codegen
from .numeric.evaluate import compile, evaluate
from .ops import powers  # noqa: F401 - the rules of x ** t (derivative, value, printing) register on import
from .ops.linalg import det, inv, logdet
from .ops.linalg_build import diag, diagonal, frobenius, kron, matrix_power, norm
from .ops.losses import binary_cross_entropy, cross_entropy, mean, mse
from .ops.nn import log_softmax, logsumexp, softmax
from .testing import check_grad
from .views.plot import plot_jacobian

abs = absolute

__all__ = [
    "Derivation",
    "DomainError",
    "EincalcError",
    "Expr",
    "Graph",
    "Index",
    "IndexMismatch",
    "Limits",
    "MatrixForm",
    "NoMatrixForm",
    "ParseError",
    "ResourceError",
    "ShapeError",
    "TensorSpec",
    "UnknownNameError",
    "UnsupportedError",
    "abs",
    "binary_cross_entropy",
    "check_grad",
    "codegen",
    "compile",
    "cos",
    "cross_entropy",
    "det",
    "diag",
    "diagonal",
    "dot",
    "einsum",
    "evaluate",
    "exp",
    "explain",
    "frobenius",
    "get_limits",
    "grad",
    "graph",
    "hessian",
    "hvp",
    "indices",
    "inv",
    "jacobian",
    "kron",
    "let",
    "log",
    "log_softmax",
    "logdet",
    "logsumexp",
    "matrix_power",
    "mean",
    "mse",
    "norm",
    "outer",
    "parse",
    "parse_matrix",
    "plot_jacobian",
    "relu",
    "resource_limits",
    "set_limits",
    "sigmoid",
    "simplify",
    "sin",
    "softmax",
    "softplus",
    "sqrt",
    "square",
    "sum",
    "tan",
    "tanh",
    "tensors",
    "to_matrix",
    "trace",
    "vjp",
    "with_definitions",
]

__version__ = "0.1.0"

_EXPR_METHODS = (
    "__str__",
    "__repr__",
    "_repr_latex_",
    "_repr_markdown_",
    "latex",
    "to_einsum",
    "to_matrix",
    "__getitem__",
    "__add__",
    "__radd__",
    "__sub__",
    "__rsub__",
    "__neg__",
    "__mul__",
    "__rmul__",
    "__truediv__",
    "__rtruediv__",
    "__pow__",
    "__rpow__",
    "__matmul__",
    "__rmatmul__",
    "T",
)
"""What a user calls on an expression (its structural methods are iterative, and hot, so left alone)."""


_DISPLAY_METHODS = (
    "__str__",
    "__repr__",
    "_repr_latex_",
    "_repr_markdown_",
    "_repr_html_",
    "_repr_svg_",
    "_repr_mimebundle_",
)
"""How a REPL or Jupyter shows an object: guarded like the public methods."""


def _public_methods(cls: type) -> list[str]:
    """The methods and properties of ``cls`` a user calls: public ones, printing and Jupyter's ``_repr_*_``."""
    return [
        name
        for name, value in vars(cls).items()
        if isinstance(value, property | types.FunctionType) and (not name.startswith("_") or name in _DISPLAY_METHODS)
    ]


def _guard(cls: type, names: Iterable[str]) -> None:
    for name in names:
        value = vars(cls)[name]
        if isinstance(value, property):
            assert value.fget is not None  # the guarded properties are read-only views
            setattr(cls, name, property(bounded(value.fget), doc=value.__doc__))
        else:
            setattr(cls, name, bounded(value))


def _guard_public_api() -> None:
    """Every public function, and what a user calls on the objects they return, reports an expression too
    deep for Python's recursion as a `ResourceError` saying what to do (see `eincalc.core.limits.bounded()`)."""
    namespace = globals()
    for name in __all__:
        value = namespace[name]
        if isinstance(value, types.FunctionType):
            namespace[name] = bounded(value)
    _guard(Expr, _EXPR_METHODS)
    for cls in (MatrixForm, Derivation, Graph):
        _guard(cls, _public_methods(cls))


_guard_public_api()
