"""Reading a printed matrix form back: the check that its text means what it was printed from.

What is printed is what is checked: `reads_back()` reads a `MatrixForm`'s text with the strictly typed matrix
reader (`eincalc.frontend.parse_matrix.parse_matrix()`) and evaluates it and the index form on the same numbers.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..core.errors import EincalcError
from ..core.expr import Expr
from ..core.nodes import Tensor
from ..core.traversal import walk
from ..frontend import build
from ..frontend.parse_matrix import parse_matrix
from ..numeric.evaluate import evaluate


@dataclass(frozen=True)
class ReadBack:
    """What reading a matrix form's text back gave: the expression, or the error that stopped it, and the
    largest difference from the index form's value (``inf`` when the shapes differ)."""

    text: str
    expr: Expr | None
    error: EincalcError | None
    difference: float | None
    tolerance: float

    @property
    def passed(self) -> bool:
        return self.error is None and self.difference is not None and self.difference <= self.tolerance

    def __str__(self) -> str:
        if self.error is not None:
            return f"{self.text} does not read back: {type(self.error).__name__}: {self.error}"
        verdict = "reads back" if self.passed else "reads back to different numbers"
        return f"{self.text} {verdict} (max |difference| {self.difference:.1e}, tolerance {self.tolerance:.0e})"


def reads_back(
    form: Any, expr: Expr, tensors: Iterable[Expr], values: Mapping[str, Any], *, tolerance: float = 1e-9
) -> ReadBack:
    """Whether ``form.text`` (a `MatrixForm` of ``expr``), read by `parse_matrix()`
    with strict typing, evaluates on ``values`` to ``expr``'s numbers.

    The text may name the ``tensors`` and every tensor of ``expr``; it defines its intermediates (``where``).
    ``tolerance`` is relative to the largest entry (at least 1).

    >>> import eincalc as ec, numpy as np
    >>> x, A = ec.tensors("x[n] A[n,n]")
    >>> gradient = ec.grad(x @ A @ x, x)
    >>> values = {"x": np.arange(3.0), "A": np.arange(9.0).reshape(3, 3)}
    >>> check = reads_back(ec.to_matrix(gradient), gradient, [x, A], values)
    >>> check.passed
    True
    """
    mentioned = {node.spec.name: build.bare(node.spec) for node in walk(expr) if isinstance(node, Tensor)}
    declared = {t.spec.name: t for t in tensors if isinstance(t, Tensor)}
    scope: list[Expr] = [*{**mentioned, **declared}.values()]  # the text defines its intermediates (where …)
    try:
        back = parse_matrix(form.text, *scope, rows=form.rows, shape=expr.shape)
        sizes = {
            d: int(n)
            for t in {**mentioned, **declared}.values()
            if t.spec.name in values
            for d, n in zip(t.spec.dims, np.shape(values[t.spec.name]), strict=True)
        }
        expected = np.asarray(evaluate(expr, values, dims=sizes), dtype=float)
        actual = np.asarray(evaluate(back, values, dims=sizes), dtype=float)
    except EincalcError as error:
        return ReadBack(form.text, None, error, None, tolerance)
    scale = tolerance * max(1.0, float(np.max(np.abs(expected), initial=0.0)))
    if actual.shape != expected.shape:
        return ReadBack(form.text, back, None, float("inf"), scale)
    return ReadBack(form.text, back, None, float(np.max(np.abs(actual - expected), initial=0.0)), scale)
