"""The tokens of a matrix-notation text, for `eincalc.frontend.matrix_syntax` to read.

A token is a name, a number, an operator (``.*``, ``./``, ``.^`` and ``**`` are one token), a run of
superscripts (``ᵀ``, ``⁻ᵀ``, ``⁻¹``, ``∘²``) or subscript digits, or the end.  A number is whole (``1.5``,
``2e-3``, ``.5``); one that runs on into more of one (``1.5.5``, ``x.5``) is refused, and a number before
``.*`` gives up its dot (``2.*x`` is ``2 .* x``).  The text is bounded by `MAX_LENGTH`.

>>> [t.text for t in tokenize("2.*x'ᵀ")]
['2', '.*', 'x', "'", 'ᵀ', '']
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..core.errors import Located, ParseError
from .parse import MAX_LENGTH
from .parse_text import too_small, underflows

SUPERSCRIPT_DIGITS = "⁰¹²³⁴⁵⁶⁷⁸⁹"
_SUPERSCRIPT = re.compile(f"∘?(⁻ᵀ|ᵀ|⁻?[{SUPERSCRIPT_DIGITS}]+)")
_NUMBER = re.compile(r"(\d+\.?\d*|\.\d+)([eE][+\-−]?\d+)?")  # 1e−3 as ec.parse reads it
_SUBSCRIPT_RUN = re.compile("[₀₁₂₃₄₅₆₇₈₉]+")
_TWO_CHAR = (".*", "./", ".^", "**")
_ONE_CHAR = "+-−*·/⊙⊘^'()[],;=|‖@∘"


@dataclass(frozen=True, slots=True)
class Token:
    kind: str  # "name", "number", "op", "super", "sub", "end"
    text: str
    start: int
    end: int


def fail(message: str, column: int | None) -> Located:
    return Located(ParseError(message), column)


def tokenize(text: str) -> list[Token]:
    """The tokens of ``text``, ending with an ``end`` token."""
    if len(text) > MAX_LENGTH:
        raise fail(f"expression has {len(text)} characters; the limit is {MAX_LENGTH}", None)
    tokens: list[Token] = []
    position = 0
    while position < len(text):
        char = text[position]
        if char.isspace():
            position += 1
            continue
        token = _token_at(text, position)
        tokens.append(token)
        position = token.end
    tokens.append(Token("end", "", len(text), len(text)))
    return tokens


def _token_at(text: str, position: int) -> Token:
    char = text[position]
    for kind, pattern in (("super", _SUPERSCRIPT), ("sub", _SUBSCRIPT_RUN)):
        match = pattern.match(text, position)
        if match:
            return Token(kind, match.group(), position, match.end())
    match = _NUMBER.match(text, position)
    if match:
        _require_whole_number(text, position, match.end())
        end = match.end()
        if text[end - 1] == "." and text[end : end + 1] in ("*", "/", "^", "'"):
            end -= 1  # 2.*x is 2 .* x
        literal = text[position:end].replace("−", "-")
        if underflows(literal):
            raise fail(too_small(literal), position)
        return Token("number", literal, position, end)
    if char.isalpha() or char == "_":
        end = position + 1
        while end < len(text) and _name_char(text[end]):
            end += 1
        return Token("name", text[position:end], position, end)
    if text[position : position + 2] in _TWO_CHAR:
        return Token("op", text[position : position + 2], position, position + 2)
    if char in _ONE_CHAR:
        return Token("op", char, position, position + 1)
    raise fail(f"unexpected character {char!r} in matrix notation", position)


def _require_whole_number(text: str, start: int, end: int) -> None:
    """Raise `ParseError` when the number at ``text[start:end]`` runs on into more of one (``1.5.5``, ``1e5.5``,
    ``x.5``): read as two numbers side by side, it would be their product.

    >>> _require_whole_number("1.5.5 x", 0, 3)
    Traceback (most recent call last):
    eincalc.core.errors.Located: malformed number '1.5.5': a number has one decimal point ...
    """
    after = end
    while after < len(text) and (text[after].isalnum() or text[after] in "._"):
        after += 1
    glued = (text[end : end + 1] == "." and text[end + 1 : end + 2].isdigit()) or (
        text[start] == "." and start > 0 and _name_char(text[start - 1])
    )
    if glued:
        begin = start
        while begin > 0 and (_name_char(text[begin - 1]) or text[begin - 1] == "."):
            begin -= 1
        raise fail(
            f"malformed number {text[begin:after]!r}: a number has one decimal point and a whole exponent "
            "(1.5, 2e-3); put * or a space between two numbers, and write a name without a dot",
            begin,
        )


def _name_char(char: str) -> bool:
    return (char.isalnum() or char in "_′") and char != "ᵀ" and char not in SUPERSCRIPT_DIGITS
