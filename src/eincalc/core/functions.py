"""One table of element-wise functions: value, derivative, and how each is written.

Each `Function` knows how to evaluate itself on an array (through the
array's own namespace, so NumPy, PyTorch or JAX arrays stay native), its
derivative as an `Expr` built from the node itself, and its
spelling in text, LaTeX and NumPy.  Adding a function means adding one entry
with `register()`.

Conventions: ``relu'(0) = 0`` (the derivative is ``step(x) = 1 if x > 0 else 0``)
and ``abs'(0) = sign(0) = 0``.  ``step`` and ``sign`` are piecewise constant, so
their own derivative is zero away from the jump; that rule is written out
explicitly below, never a fallback.

>>> from eincalc.core.indices import Index, TensorSpec
>>> from eincalc.core.nodes import Tensor, Apply
>>> z = Tensor(TensorSpec("z", ("n",)), (Index("i", "n"),))
>>> str(derivative(Apply("sigmoid", z)))
'(σ(z[i]) (1 - σ(z[i])))[i]'
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from .arrays import array_namespace
from .errors import UnknownNameError, UnsupportedError
from .expr import Expr
from .nodes import Add, Apply, Const, Contract
from .registry import Registry

ArrayFn = Callable[[Any, Any, float | None], Any]


@dataclass(frozen=True)
class Function:
    """An element-wise function.

    ``numpy`` is a format string with ``{x}`` (the argument's NumPy code) and
    ``{k}`` (the parameter); ``text`` and ``latex`` likewise.
    """

    name: str
    text: str
    latex: str
    numpy: str
    evaluate: ArrayFn
    derivative: Callable[[Apply], Expr]
    doc: str = ""


FUNCTIONS: Registry[str, Function] = Registry("element-wise function")
ALIASES: dict[str, str] = {"σ": "sigmoid", "logistic": "sigmoid"}


def register(function: Function) -> Function:
    """Add ``function`` to the table (`DuplicateRegistrationError` if its name is taken)."""
    FUNCTIONS[function.name] = function
    return function


def lookup(name: str) -> Function:
    """The function called ``name`` (or one of its aliases)."""
    key = ALIASES.get(name, name)
    try:
        return FUNCTIONS[key]
    except KeyError:
        known = ", ".join(sorted(FUNCTIONS))
        raise UnknownNameError(f"unknown function {name!r}; known functions: {known}") from None


def derivative(node: Apply) -> Expr:
    """``f'(u)`` for the element-wise node ``f(u)``, with the free indices of ``u``."""
    return lookup(node.fn).derivative(node)


# -- small builders for derivative expressions (all element-wise, same free indices) --


def _times(*factors: Expr) -> Expr:
    return Contract(tuple(factors), factors[-1].free)


def _minus(left: Expr, right: Expr) -> Expr:
    out = right.free if len(right.free) >= len(left.free) else left.free
    return Add((left, Contract((Const(-1.0), right), right.free)), out)


def _apply(name: str, arg: Expr, param: float | None = None) -> Apply:
    return Apply(name, arg, param)


def _stable_sigmoid(x: Any) -> Any:
    """``1 / (1 + exp(−x))``, as compiled NumPy kernels compute it: full relative precision for very negative ``x``
    (``0.5 (1 + tanh(x/2))`` is 0 below x ≈ −37, so ``log σ(−40)`` was −inf), and exp(−x) = inf gives exactly 0."""
    xp = array_namespace(x)
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + xp.exp(-x))


def _stable_softplus(x: Any) -> Any:
    xp = array_namespace(x)
    return xp.clip(x, 0.0, None) + xp.log1p(xp.exp(-xp.abs(x)))


def _power_derivative(node: Apply) -> Expr:
    k = float(node.param if node.param is not None else 1.0)
    if k == 1.0:
        return Contract((Const(1.0),), ()) if not node.arg.free else _ones_like(node.arg)
    lower = node.arg if k == 2.0 else _apply("pow", node.arg, k - 1.0)
    return _times(Const(k), lower)


def _ones_like(arg: Expr) -> Expr:
    return Add((Const(1.0),), arg.free)


def _piecewise_constant(node: Apply) -> Expr:
    return _times(Const(0.0), node.arg)


def _zero_one_step(x: Any) -> Any:
    xp = array_namespace(x)
    return xp.where(x > 0, 1.0, 0.0)


_TABLE = [
    Function(
        "sigmoid",
        "σ({x})",
        r"\sigma\left({x}\right)",
        "(1 / (1 + np.exp(-({x}))))",
        lambda xp, x, k: _stable_sigmoid(x),
        lambda n: _times(n, _minus(Const(1.0), n)),
        "logistic sigmoid; σ' = σ (1 − σ)",
    ),
    Function(
        "tanh",
        "tanh({x})",
        r"\tanh\left({x}\right)",
        "np.tanh({x})",
        lambda xp, x, k: xp.tanh(x),
        lambda n: _minus(Const(1.0), _apply("pow", n, 2.0)),
        "hyperbolic tangent; tanh' = 1 − tanh²",
    ),
    Function(
        "exp",
        "exp({x})",
        r"\exp\left({x}\right)",
        "np.exp({x})",
        lambda xp, x, k: xp.exp(x),
        lambda n: n,
        "exponential; exp' = exp",
    ),
    Function(
        "log",
        "log({x})",
        r"\log\left({x}\right)",
        "np.log({x})",
        lambda xp, x, k: xp.log(x),
        lambda n: _apply("pow", n.arg, -1.0),
        "natural logarithm; log' = 1/x",
    ),
    Function(
        "relu",
        "relu({x})",
        r"\operatorname{{relu}}\left({x}\right)",
        "np.maximum({x}, 0)",
        lambda xp, x, k: xp.clip(x, 0.0, None),
        lambda n: _apply("step", n.arg),
        "rectifier; relu' = step, with step(0) = 0",
    ),
    Function(
        "step",
        "step({x})",
        r"\operatorname{{step}}\left({x}\right)",
        "np.where(({x}) > 0, 1.0, 0.0)",
        lambda xp, x, k: _zero_one_step(x),
        _piecewise_constant,
        "Heaviside step with step(0) = 0; its derivative is 0 away from 0",
    ),
    Function(
        "sqrt",
        "sqrt({x})",
        r"\sqrt{{{x}}}",
        "np.sqrt({x})",
        lambda xp, x, k: xp.sqrt(x),
        lambda n: _times(Const(0.5), _apply("pow", n.arg, -0.5)),
        "square root; sqrt' = 1 / (2 sqrt)",
    ),
    Function(
        "pow",
        "{x}**{k}",
        r"{x}^{{{k}}}",
        "({x}) ** {k}",
        lambda xp, x, k: x**k,
        _power_derivative,
        "real power x**k; (x**k)' = k x**(k−1)",
    ),
    Function(
        "abs",
        "abs({x})",
        r"\left|{x}\right|",
        "np.abs({x})",
        lambda xp, x, k: xp.abs(x),
        lambda n: _apply("sign", n.arg),
        "absolute value; abs' = sign, with sign(0) = 0",
    ),
    Function(
        "sign",
        "sign({x})",
        r"\operatorname{{sign}}\left({x}\right)",
        "np.sign({x})",
        lambda xp, x, k: xp.sign(x),
        _piecewise_constant,
        "sign function; its derivative is 0 away from 0",
    ),
    Function(
        "softplus",
        "softplus({x})",
        r"\operatorname{{softplus}}\left({x}\right)",
        "(np.maximum({x}, 0) + np.log1p(np.exp(-np.abs({x}))))",
        lambda xp, x, k: _stable_softplus(x),
        lambda n: _apply("sigmoid", n.arg),
        "log(1 + exp x); softplus' = σ",
    ),
    Function(
        "sin",
        "sin({x})",
        r"\sin\left({x}\right)",
        "np.sin({x})",
        lambda xp, x, k: xp.sin(x),
        lambda n: _apply("cos", n.arg),
        "sine; sin' = cos",
    ),
    Function(
        "cos",
        "cos({x})",
        r"\cos\left({x}\right)",
        "np.cos({x})",
        lambda xp, x, k: xp.cos(x),
        lambda n: _times(Const(-1.0), _apply("sin", n.arg)),
        "cosine; cos' = −sin",
    ),
    Function(
        "tan",
        "tan({x})",
        r"\tan\left({x}\right)",
        "np.tan({x})",
        lambda xp, x, k: xp.tan(x),
        lambda n: Add((Const(1.0), _apply("pow", n, 2.0)), n.free),
        "tangent; tan' = 1 + tan² (= 1/cos²), which reuses tan itself",
    ),
]
for _function in _TABLE:
    register(_function)


def apply_array(name: str, x: Any, param: float | None = None) -> Any:
    """Evaluate element-wise function ``name`` on array ``x``."""
    return lookup(name).evaluate(array_namespace(x), x, param)


def assert_known(name: str) -> None:
    """Raise `UnsupportedError` unless ``name`` has a derivative rule."""
    if ALIASES.get(name, name) not in FUNCTIONS:
        raise UnsupportedError(f"no derivative rule for function {name!r}")
