"""Every interpretation's table refuses a second rule for the same node kind or name (eincalc.core.registry)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import pytest

import eincalc as ec
from custom_nodes import opaque_node
from eincalc.calculus.diff import register_jacobian, register_vjp
from eincalc.calculus.simplify import RULES, register_rule
from eincalc.core.errors import DuplicateRegistrationError, EincalcError, UnsupportedError
from eincalc.core.expr import OPERATORS, RENAMING, VIEWS, Expr
from eincalc.core.functions import lookup, register
from eincalc.core.indices import Index
from eincalc.core.nodes import Contract, Tensor, node, positional_flag
from eincalc.core.registry import Registry
from eincalc.frontend.node_builders import NODE_BUILDERS
from eincalc.frontend.parse import CALLS, register_parse_function
from eincalc.frontend.printing import LATEX_PRINTERS, TEXT_PRINTERS, register_latex, register_text
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
    "hook",
    [
        register_jacobian,
        register_vjp,
        register_evaluator,
        register_matrix_rule,
        register_in_place,
        register_text,
        register_latex,
    ],
)
def test_a_node_kind_gets_one_rule_per_interpretation(hook: Callable[[type], Callable[[Any], Any]]) -> None:
    _twice(hook(_bare_kind()))


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


def _bare_kind() -> Any:
    """A new node kind with no rule of any interpretation registered (a printer included)."""
    namespace = {
        "__annotations__": {"arg": Expr, "positional": bool},
        "positional": positional_flag(),
        "args": lambda self: (self.arg,),
        "children": lambda self: (self.arg,),
        "_compute_free": lambda self: tuple(self.arg.free),
    }
    return node(type("Bare", (Expr,), namespace))


def _bare_node() -> Any:
    return _bare_kind()(opaque_node("Inner")(ec.tensors("x[n]")[0]))


@pytest.mark.parametrize(
    ("printer", "message"),
    [
        (str, r"no text printer for Bare is registered: register one with eincalc\.frontend\.printing\.register_text"),
        (lambda e: e.latex(), r"no LaTeX printer for Bare is registered: register one with .*register_latex\(Kind\)"),
    ],
)
def test_an_unknown_node_kind_gets_a_specific_error_from_each_printer(
    printer: Callable[[Any], str], message: str
) -> None:
    with pytest.raises(UnsupportedError, match=message):
        printer(_bare_node())


def test_registering_many_at_once_refuses_a_duplicate_too() -> None:
    table: Registry[str, str] = Registry("matrix rule")
    table.update({"inv": "first"})
    with pytest.raises(DuplicateRegistrationError, match="matrix rule for 'inv' is already registered"):
        table.update({"det": "second", "inv": "second"})
    assert table["inv"] == "first"


def _summed_over_q(a: Any) -> Expr:
    """``a[q] a[q]``: a product whose summed index is not named canonically, so building it renames it."""
    q = Index("q", "n")
    return Contract((Tensor(a.spec, (q,)), Tensor(a.spec, (q,))), ())


def test_a_lookup_that_finds_nothing_says_what_to_register() -> None:
    table: Registry[str, str] = Registry("matrix rule", "register one with register_matrix_rule(Kind)")
    with pytest.raises(UnsupportedError, match="no matrix rule for 'cube' is registered: register one with"):
        table.find("cube")


@pytest.mark.parametrize(
    ("table", "key", "use", "named"),
    [
        (OPERATORS, "matmul", lambda m, a: m @ a, "eincalc.frontend.build"),
        (OPERATORS, "add", lambda m, a: m + m, "eincalc.frontend.build"),
        (VIEWS, "text", lambda m, a: str(m), "eincalc.frontend.printing"),
        (VIEWS, "matrix", lambda m, a: m.to_matrix(), "eincalc.matrix.view"),
        (NODE_BUILDERS, "tensor power", lambda m, a: a ** (a + 1), "eincalc.ops"),
        (NODE_BUILDERS, "inv", lambda m, a: ec.parse_matrix("inv(W)", m), "eincalc.ops"),
        (RENAMING, "rename", lambda m, a: _summed_over_q(a), "eincalc.core.names"),
    ],
)
def test_a_node_reaches_the_layers_above_only_through_their_registrations(
    monkeypatch: pytest.MonkeyPatch, table: Registry[str, Any], key: str, use: Callable[..., Any], named: str
) -> None:
    """The operators, printers, matrix view and plugin node kinds are registered by the modules that define them;
    one missing is a specific error naming the module that registers it, never an AttributeError or a wrong result."""
    W, a = ec.tensors("W[n,n] a[n]")
    monkeypatch.delitem(table, key)
    with pytest.raises(UnsupportedError, match=f"no .* for '{key}' is registered: .*{named}"):
        use(W, a)


def _kinds_of_the_package() -> list[type[Expr]]:
    """Every node kind the package's modules define (the core's and the ops/ plugins'), subclasses included."""
    found: list[type[Expr]] = []
    todo = list(Expr.__subclasses__())
    while todo:
        kind = todo.pop()
        todo.extend(kind.__subclasses__())
        module = sys.modules[kind.__module__]
        if module.__name__.startswith("eincalc.") and getattr(module, kind.__name__, None) is kind:
            found.append(kind)  # the class its module holds (a slotted dataclass replaces the class it was made from)
    return found


@pytest.mark.parametrize("table", [TEXT_PRINTERS, LATEX_PRINTERS], ids=["text", "latex"])
def test_every_node_kind_of_the_package_has_a_printer(table: Registry[type, Any]) -> None:
    kinds = _kinds_of_the_package()
    assert {"Tensor", "Contract", "Power", "MatrixFunction", "Softmax", "LogSumExp"} <= {k.__name__ for k in kinds}
    assert [k.__name__ for k in kinds if not any(c in table for c in k.__mro__)] == []
