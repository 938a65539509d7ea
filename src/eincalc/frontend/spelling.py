"""How numbers and names are spelled in the printed forms: a constant in text (`number()`, which the readers read
back) and in LaTeX (`latex_number()`, powers of ten written out), a name in LaTeX (`latex_name()`)."""

from __future__ import annotations

import math
import string
from decimal import Decimal


def number(value: float) -> str:
    """A constant as people write it: ``2``, ``-1``, ``0.5``."""
    return str(int(value)) if float(value).is_integer() and abs(value) < 1e15 else repr(float(value))


def latex_number(value: float) -> str:
    """A constant in LaTeX: as `number()`, but a power of ten written out, never Python's e-notation.

    >>> print(latex_number(2.0), latex_number(-0.5), latex_number(1e-300), latex_number(-2.5e15))
    2 -0.5 10^{-300} -2.5 \\times 10^{15}
    """
    if not math.isfinite(value):
        return r"\mathrm{NaN}" if math.isnan(value) else ("-" if value < 0 else "") + r"\infty"
    text = number(value)
    if "e" not in text and abs(value) < 1e15:
        return text
    sign, digits, exponent = Decimal(repr(float(value))).normalize().as_tuple()
    assert isinstance(exponent, int)  # a finite number
    mantissa = "".join(map(str, digits))
    mantissa = mantissa[0] + ("." + mantissa[1:] if len(mantissa) > 1 else "")
    power = f"10^{{{exponent + len(digits) - 1}}}"
    return ("-" if sign else "") + (power if mantissa == "1" else rf"{mantissa} \times {power}")


_GREEK = {
    "α": r"\alpha",
    "β": r"\beta",
    "γ": r"\gamma",
    "δ": r"\delta",
    "ε": r"\epsilon",
    "η": r"\eta",
    "θ": r"\theta",
    "λ": r"\lambda",
    "μ": r"\mu",
    "σ": r"\sigma",
    "τ": r"\tau",
    "φ": r"\phi",
    "ω": r"\omega",
    "Σ": r"\Sigma",
    "ŷ": r"\hat{y}",
}


def latex_name(name: str) -> str:
    """A tensor or intermediate name in LaTeX: ``W1 → {W_{1}}``, ``δ2 → {\\delta_{2}}``, ``loss → \\mathrm{loss}``.

    A name with a subscript is braced, so an index subscript can follow it.
    """
    stem, underscore, tail = name.partition("_")
    if not underscore:
        stem = name.rstrip(string.digits)
        tail = name[len(stem) :] if stem else ""
        stem = stem or name
    head = _GREEK.get(stem, stem if len(stem) <= 1 else rf"\mathrm{{{stem}}}")
    if not tail:
        return head
    subscript = tail if tail.isdigit() or len(tail) == 1 else rf"\mathrm{{{tail}}}"
    return f"{{{head}_{{{subscript}}}}}"
