"""The tables that give node kinds and functions their meaning, one per interpretation, each key once.

Evaluation, derivatives, simplification, printing, the matrix view, generated
NumPy code and the parser each keep a `Registry`: a dict whose keys (a node
kind, a function or rule name) can be registered only once.  Registering a key
again raises `DuplicateRegistrationError` instead of silently replacing the
first rule, so two plugins cannot fight over one node kind unnoticed.

>>> table = Registry("evaluation rule")
>>> table["tanh"] = "first"
>>> table["tanh"] = "second"
Traceback (most recent call last):
...
eincalc.core.errors.DuplicateRegistrationError: evaluation rule for 'tanh' is already registered; a second one would \
silently replace it: register the new rule under a name of its own, or extend the existing one

`Registry.find()` looks a key up; a key nobody registered raises `UnsupportedError` saying what to import or register:

>>> Registry("evaluation rule", "register one with register_evaluator(Kind)").find("cube")
Traceback (most recent call last):
...
eincalc.core.errors.UnsupportedError: no evaluation rule for 'cube' is registered: register one with \
register_evaluator(Kind)
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TypeVar

from .errors import DuplicateRegistrationError, UnsupportedError

K = TypeVar("K")
V = TypeVar("V")


def shown(key: Any) -> str:
    """A key as messages show it: a node kind by its class name, anything else by its ``repr``."""
    return key.__name__ if isinstance(key, type) else repr(key)


def require_new(what: str, key: Any, registered: Iterable[Any]) -> None:
    """Raise `DuplicateRegistrationError` if ``key`` is among the ``registered`` keys of the ``what`` table."""
    if key in registered:
        raise DuplicateRegistrationError(
            f"{what} for {shown(key)} is already registered; a second one would silently replace it: register the new "
            "rule under a name of its own, or extend the existing one"
        )


class Registry(dict[K, V]):
    """A dict of rules, one per key: assigning to a key already present raises `DuplicateRegistrationError`.

    ``how`` tells a reader of `find()`'s error how to fill a missing key (what to import or register).
    """

    def __init__(self, what: str, how: str = "register one (docs/extending.md)") -> None:
        super().__init__()
        self.what = what
        self.how = how

    def update(self, *args: Any, **kwargs: V) -> None:
        """Register each pair of a mapping (or of pairs) in turn: a key already present raises, as one assignment."""
        for key, value in dict(*args, **kwargs).items():
            self[key] = value

    def find(self, key: K) -> V:
        """The rule registered for ``key``; `UnsupportedError` saying how to register one if there is none."""
        try:
            return self[key]
        except KeyError:
            raise UnsupportedError(f"no {self.what} for {shown(key)} is registered: {self.how}") from None

    def __setitem__(self, key: K, value: V) -> None:
        require_new(self.what, key, self)
        super().__setitem__(key, value)
