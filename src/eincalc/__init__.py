"""eincalc: tensor calculus in einsum/index notation, derived, explained and compiled.

>>> import eincalc as ec
>>> W, a, g = ec.tensors("W[m,n] a[n] g[m]")
>>> print(ec.jacobian(W @ a, W))
δ[i,p] a[q]
>>> print(ec.vjp(W @ a, W, g), "=", ec.to_matrix(ec.vjp(W @ a, W, g)).text)
g[p] a[q] = g aᵀ
"""

from .build import (
    absolute,
    cos,
    dot,
    exp,
    indices,
    log,
    outer,
    relu,
    sigmoid,
    sin,
    softplus,
    sqrt,
    square,
    tanh,
    tensors,
    trace,
)
from .build import total as sum  # noqa: A001 - NumPy's name for it
from .diff import grad, jacobian, vjp
from .errors import (
    EincalcError,
    IndexMismatch,
    NoMatrixForm,
    ParseError,
    ResourceError,
    ShapeError,
    UnknownNameError,
    UnsupportedError,
)
from .evaluate import compile, evaluate  # noqa: A004 - ec.compile is the public name
from .expr import Expr, Index, TensorSpec
from .matrix import MatrixForm, to_matrix
from .parse import parse
from .simplify import simplify
from .testing import check_grad

abs = absolute  # noqa: A001 - NumPy's name for it

__all__ = [
    "EincalcError",
    "Expr",
    "Index",
    "IndexMismatch",
    "MatrixForm",
    "NoMatrixForm",
    "ParseError",
    "ResourceError",
    "ShapeError",
    "TensorSpec",
    "UnknownNameError",
    "UnsupportedError",
    "abs",
    "check_grad",
    "compile",
    "cos",
    "dot",
    "evaluate",
    "exp",
    "grad",
    "indices",
    "jacobian",
    "log",
    "outer",
    "parse",
    "relu",
    "sigmoid",
    "simplify",
    "sin",
    "softplus",
    "sqrt",
    "square",
    "sum",
    "tanh",
    "tensors",
    "to_matrix",
    "trace",
    "vjp",
]

__version__ = "0.1.0"
