"""Every interpretation's table refuses a second rule for the same node kind or name (eincalc.core.registry)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

import eincalc as ec
from custom_nodes import opaque_node
from eincalc.calculus.diff import register_jacobian, register_vjp
from eincalc.calculus.simplify import RULES, register_rule
from eincalc.core.errors import DuplicateRegistrationError, EincalcError, UnsupportedError
from eincalc.core.expr import Expr, node, positional_flag
from eincalc.core.functions import lookup, register
from eincalc.core.registry import Registry
from eincalc.frontend.parse import CALLS, register_parse_function
from eincalc.matrix.view import register_matrix_rule
from eincalc.numeric.codegen import register_numpy
from eincalc.numeric.evaluate import register_evaluator
from eincalc.numeric.fastplan import register_in_place


def _rule(*_: Any) -> None:
    return None


def _twice(register: Callable[[Any], Any]) -> None:
    register(_rule)
    with pytest.raises(DuplicateRegistrationError, match="already registered"):
        register(_rule)


@pytest.mark.parametrize(
    "hook", [register_jacobian, register_vjp, register_evaluator, register_matrix_rule, register_in_place]
)
def test_a_node_kind_gets_one_rule_per_interpretation(hook: Callable[[type], Callable[[Any], Any]]) -> None:
    _twice(hook(opaque_node("Twice")))


def test_a_numpy_spelling_is_registered_once() -> None:
    _twice(register_numpy("TwiceSpelled"))


def test_a_parser_function_is_registered_once() -> None:
    saved = dict(CALLS)
    try:
        _twice(lambda builder: register_parse_function("twice", builder))
    finally:
        CALLS.clear()
        CALLS.update(saved)


def test_a_builtin_function_or_rule_cannot_be_replaced() -> None:
    with pytest.raises(DuplicateRegistrationError, match="element-wise function for 'tanh'"):
        register(lookup("tanh"))
    with pytest.raises(DuplicateRegistrationError, match="simplification rule for 'zero-factor'"):
        register_rule(RULES[0])


def test_the_error_is_an_eincalc_error_naming_the_table_and_key() -> None:
    table: Registry[type, str] = Registry("matrix rule")
    table[int] = "first"
    with pytest.raises(EincalcError, match="matrix rule for int is already registered"):
        table[int] = "second"
    assert table[int] == "first"


def _bare_node() -> Any:
    """A node kind with no printer of its own (no ``text`` or ``latex_with`` method)."""
    x = opaque_node("Inner")(ec.tensors("x[n]")[0])
    namespace = {
        "__annotations__": {"arg": Expr, "positional": bool},
        "positional": positional_flag(),
        "args": lambda self: (self.arg,),
        "children": lambda self: (self.arg,),
        "_compute_free": lambda self: tuple(self.arg.free),
    }
    return node(type("Bare", (Expr,), namespace))(x)


@pytest.mark.parametrize(
    ("printer", "message"),
    [(str, "no text printer for node Bare"), (lambda e: e.latex(), "no LaTeX printer for node Bare")],
)
def test_an_unknown_node_kind_gets_a_specific_error_from_each_printer(
    printer: Callable[[Any], str], message: str
) -> None:
    with pytest.raises(UnsupportedError, match=message):
        printer(_bare_node())
