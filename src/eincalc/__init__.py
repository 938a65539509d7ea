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
    let,
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
from .build import total as sum
from .codegen import codegen
from .diff import grad, jacobian, vjp
from .einsum import einsum
from .errors import (
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
from .evaluate import compile, evaluate
from .explain import Derivation, explain
from .expr import Expr, Index, TensorSpec
from .graph import Graph, graph
from .hessian import hessian, hvp
from .limits import Limits, get_limits, resource_limits, set_limits
from .linalg import det, inv, logdet
from .linalg_build import diag, diagonal, frobenius, kron, matrix_power, norm
from .losses import binary_cross_entropy, cross_entropy, mean, mse
from .matrix import MatrixForm, to_matrix
from .nn import log_softmax, logsumexp, softmax
from .parse import parse
from .plot import plot_jacobian
from .printing import with_definitions
from .simplify import simplify
from .testing import check_grad

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
    "tanh",
    "tensors",
    "to_matrix",
    "trace",
    "vjp",
    "with_definitions",
]

__version__ = "0.1.0"
