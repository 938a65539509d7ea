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
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TypeVar

from .errors import DuplicateRegistrationError

K = TypeVar("K")
V = TypeVar("V")


def require_new(what: str, key: Any, registered: Iterable[Any]) -> None:
    """Raise `DuplicateRegistrationError` if ``key`` is among the ``registered`` keys of the ``what`` table."""
    if key in registered:
        shown = key.__name__ if isinstance(key, type) else repr(key)
        raise DuplicateRegistrationError(
            f"{what} for {shown} is already registered; a second one would silently replace it: register the new "
            "rule under a name of its own, or extend the existing one"
        )


class Registry(dict[K, V]):
    """A dict of rules, one per key: assigning to a key already present raises `DuplicateRegistrationError`."""

    def __init__(self, what: str) -> None:
        super().__init__()
        self.what = what

    def __setitem__(self, key: K, value: V) -> None:
        require_new(self.what, key, self)
        super().__setitem__(key, value)
