"""One exception family for everything eincalc reports to users, and how its messages show numbers (`count()`).

Every public entry point raises only subclasses of `EincalcError` on bad
input.  Internal code raises them with short facts; the public boundary adds
context (the expression text and a caret under the offending position) with
`EincalcError.with_context()`.

>>> try:
...     raise IndexMismatch("free indices differ: (i) vs (j)")
... except EincalcError as err:
...     print(type(err).__name__, err)
IndexMismatch free indices differ: (i) vs (j)
"""

from __future__ import annotations

import math


class EincalcError(ValueError):
    """Base class of every error eincalc raises on bad input."""

    def with_context(self, text: str, column: int | None = None) -> EincalcError:
        """Return a copy of this error whose message shows ``text`` with a caret at ``column``."""
        lines = [str(self), f"  {text}"]
        if column is not None:
            lines.append("  " + " " * column + "^")
        return type(self)("\n".join(lines))


class ParseError(EincalcError):
    """Malformed or unsupported expression text."""


class IndexMismatch(EincalcError):
    """Indices that do not fit together: free-index mismatch, index repeated too often, wrong rank."""


class ShapeError(EincalcError):
    """Arrays whose shapes do not match the declared dimensions."""


class UnknownNameError(EincalcError):
    """A tensor, function or dimension name that was never declared."""


class UnsupportedError(EincalcError):
    """A derivative or form eincalc has no rule for; never replaced by a silent zero."""


class NoMatrixForm(EincalcError):
    """An index expression with no standard matrix reading (for example a rank-3 tensor)."""


class DomainError(EincalcError):
    """Values outside what a function accepts, found while evaluating (a singular matrix given to inv)."""


class ResourceError(EincalcError):
    """An expression or intermediate array larger than the configured limit."""


class DuplicateRegistrationError(EincalcError):
    """A rule, function or node kind registered twice in one table (eincalc.core.registry)."""


class Located(Exception):
    """An error and the column of the text it belongs to: raised inside a text reader (index text, matrix text,
    an einsum equation) and caught at that reader's boundary, which raises the error with the text and a caret.
    Not an `EincalcError`: it never reaches the caller."""

    def __init__(self, error: EincalcError, column: int | None = None) -> None:
        super().__init__(str(error))
        self.error, self.column = error, column


def count(number: int) -> str:
    """``number`` with thousands separators, or its order of magnitude when it is too long to print.

    >>> count(12345), count(10**400)
    ('12,345', 'about 10^400')
    """
    if abs(number) < 10**30:
        return f"{number:,}"
    return f"about 10^{number.bit_length() * math.log10(2):.0f}"
