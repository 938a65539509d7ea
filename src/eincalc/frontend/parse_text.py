"""Index-notation text → text that Python's parser reads, and where its complaints point.

`prepare()` turns ``−``, ``⊙`` and juxtaposition into ``-``, ``*`` and ``*`` keeping every column, so a
`Located` error (an `EincalcError` and its column) points into the text as written.

>>> prepare("2 W[i,j] x[j] − σ(y[i])", {"σ"})
'2*W[i,j]*x[j] - σ(y[i])'
"""

from __future__ import annotations

import io
import itertools
import keyword
import sys
import tokenize
import unicodedata
import warnings

from ..core.errors import Located, ParseError


def prepare(text: str, functions: set[str]) -> str:
    """Turn ``−``, ``⊙`` and juxtaposition into ``-``, ``*`` and ``*``, keeping every column."""
    chars = [{"−": "-", "⊙": "*"}.get(c, c) for c in text]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tokens = list(tokenize.generate_tokens(io.StringIO("".join(chars)).readline))
    except (tokenize.TokenError, SyntaxError, ValueError):
        return "".join(chars)  # ast.parse reports the problem, with its column
    for token in tokens:
        if token.type == tokenize.COMMENT:
            raise Located(ParseError("comments (#) are not supported in eincalc expressions"), token.start[1])
        if token.type == tokenize.NUMBER and _too_many_digits(token.string):  # Python's parser cannot even read it
            raise Located(ParseError("number is too large for a float"), token.start[1])
        if token.type == tokenize.NUMBER and underflows(token.string):
            raise Located(ParseError(too_small(token.string)), token.start[1])
    for before, after in itertools.pairwise(tokens):
        called = after.string == "(" and unicodedata.normalize("NFKC", before.string) in functions
        if before.end < after.start and _operand(before, ")]") and _operand(after, "(") and not called:
            chars[before.end[1]] = "*"
    return "".join(chars)


def syntax_error(error: SyntaxError, body: str, lead: int) -> Located:
    """Python's complaint about ``body``, at its column; at the last character when the text ends too soon."""
    if error.offset:
        return Located(ParseError(f"cannot read the expression: {error.msg}"), lead + error.offset - 1)
    last = _last_token(body)  # Python gives no column when the text stops in the middle of an operation
    return Located(
        ParseError(f"cannot read the expression: it ends too soon, after {last.string!r}; an operand must follow"),
        lead + last.start[1],
    )


def _last_token(text: str) -> tokenize.TokenInfo:
    """The last token of ``text`` (the last character where it does not tokenize)."""
    ignored = (tokenize.NEWLINE, tokenize.NL, tokenize.ENDMARKER, tokenize.INDENT, tokenize.DEDENT)
    try:
        tokens = [t for t in tokenize.generate_tokens(io.StringIO(text).readline) if t.type not in ignored]
    except (tokenize.TokenError, SyntaxError, ValueError):
        tokens = []
    if tokens:
        return tokens[-1]
    end = len(text.rstrip()) - 1
    return tokenize.TokenInfo(tokenize.OP, text[end], (1, end), (1, end + 1), text)


def underflows(literal: str) -> bool:
    """Whether the decimal ``literal`` is a nonzero number that reads as the float 0 (``1e-400``).

    >>> underflows("1e-400"), underflows("0.0e-400"), underflows("5e-324"), underflows("0x10")
    (True, False, False, False)
    """
    try:
        value = float(literal.replace("_", ""))
    except ValueError:  # not a decimal float: 0x10, 1j
        return False
    mantissa = literal.lower().split("e")[0]
    return value == 0.0 and any(digit in mantissa for digit in "123456789")


def too_small(literal: str) -> str:
    """The error for a literal that `underflows()`."""
    return (
        f"number {literal} is too small for a float: it would read as 0 (the smallest positive float is about "
        "5e-324); write 0 if zero is meant"
    )


def _too_many_digits(literal: str) -> bool:
    """Whether ``literal`` is a decimal integer longer than Python converts (``sys.get_int_max_str_digits()``)."""
    digits = literal.replace("_", "")
    limit = sys.get_int_max_str_digits()
    return digits.isdigit() and limit > 0 and len(digits) > limit


def _operand(token: tokenize.TokenInfo, brackets: str) -> bool:
    if token.type in (tokenize.NAME, tokenize.NUMBER):
        return not keyword.iskeyword(token.string)
    return token.type == tokenize.OP and token.string in brackets
