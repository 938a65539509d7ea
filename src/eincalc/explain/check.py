"""The numeric check that ends every derivation: the symbolic result against finite differences.

Random values are drawn for every tensor (distinct sizes per dimension, so a
lost transpose cannot pass by accident), the result is evaluated, and the same
derivative is measured with central finite differences of the original
expression.  When the result has a matrix form, its printed NumPy text is run
(`run_numpy()`: only ``np`` and the arrays in scope) and its printed text is read back by the strictly typed
matrix reader (`eincalc.parse_matrix()`) and evaluated, each compared with the index form it came from; and the
printed index form, with
its ``where`` lines (named intermediates, automatic or the user's), is read
back by `eincalc.parse()` and evaluated, so a printing error cannot be
certified.  A failed check is reported, never hidden.

>>> import eincalc as ec
>>> W, a = ec.tensors("W[m,n] a[n]")
>>> check = numeric_check(W @ a, W, ec.jacobian(W @ a, W), kind="jacobian")
>>> check.passed, dict(check.sizes)
(True, {'m': 2, 'n': 3})
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..core.errors import EincalcError
from ..core.expr import Expr
from ..core.nodes import Size, Tensor
from ..core.traversal import walk
from ..frontend.build import tensors as tensors_of
from ..frontend.parse import parse
from ..frontend.parse_matrix import parse_matrix
from ..frontend.printing import to_text
from ..matrix.check import run_numpy
from ..matrix.view import MatrixForm
from ..numeric.evaluate import evaluate
from ..testing import declared, numeric_jacobian, on_simplex, random_values

TOLERANCE = 1e-6
"""Largest accepted difference, relative to the size of the derivative's entries (at least 1)."""


@dataclass(frozen=True)
class Check:
    """What the numeric check measured.

    ``error`` is the largest difference between the symbolic result and finite
    differences; ``gradient_error`` the same for the gradient a Hessian was
    derived from; ``matrix_error`` the largest difference between the matrix
    form's printed NumPy text, run, and the index form, and ``matrix_problem``
    why that text could not be run or compared (then ``matrix_error`` is infinite);
    ``text_error`` and ``text_problem`` the same for the printed index form, read back, and
    ``matrix_text_error`` and ``matrix_text_problem`` for the matrix form's printed text, read back.
    """

    error: float
    tolerance: float
    sizes: Mapping[str, int]
    seed: int
    gradient_error: float | None = None
    matrix_error: float | None = None
    matrix_problem: str | None = None
    text_error: float | None = None
    text_problem: str | None = None
    matrix_text_error: float | None = None
    matrix_text_problem: str | None = None
    undefined: bool = False
    """Whether the expression is undefined at every value drawn (its finite differences are not finite), so that
    nothing could be compared: the check did not pass, and says so rather than "disagree"."""

    @property
    def passed(self) -> bool:
        errors = (self.error, self.gradient_error, self.matrix_error, self.text_error, self.matrix_text_error)
        measured = [e for e in errors if e is not None]
        return (
            self.matrix_problem is None
            and self.text_problem is None
            and self.matrix_text_problem is None
            and all(_within(e, self.tolerance) for e in measured)
        )

    def sentence(self) -> str:
        """One sentence stating what was compared and the measured error."""
        sizes = ", ".join(f"{dim} = {n}" for dim, n in self.sizes.items()) or "scalars only"
        if self.undefined:
            return (
                f"The numeric check could NOT run: on random values ({sizes}; seed {self.seed}) the finite "
                "differences of the expression are not finite (it is undefined there), so nothing was compared."
            )
        derived = [e for e in (self.error, self.gradient_error) if e is not None]
        verdict = "agree" if all(_within(e, self.tolerance) for e in derived) else "DISAGREE"
        text = (
            f"On random values ({sizes}; seed {self.seed}) the symbolic result and central finite differences "
            f"{verdict}: max |error| = {self.error:.1e} (tolerance {self.tolerance:.0e})"
        )
        if self.gradient_error is not None:
            text += f", and the gradient it came from {self.gradient_error:.1e}"
        return text + self._text_clause() + self._matrix_clause() + "."

    def _text_clause(self) -> str:
        if self.text_problem is not None:
            return f"; the printed index form could NOT be read back: {self.text_problem}"
        if self.text_error is None or _within(self.text_error, self.tolerance):
            return ""
        return f"; the printed index form, read back, gives DIFFERENT numbers (max |difference| {self.text_error:.1e})"

    def _matrix_clause(self) -> str:
        if self.matrix_text_problem is not None:
            return f"; the matrix form does NOT read back: {self.matrix_text_problem}"
        if self.matrix_problem is not None:
            return f"; the printed NumPy text of the matrix form could NOT be checked: {self.matrix_problem}"
        if self.matrix_error is None or self.matrix_text_error is None:
            return ""
        if not _within(self.matrix_text_error, self.tolerance):
            return (
                "; the matrix form, read back, gives DIFFERENT numbers from the index form "
                f"(max |difference| {self.matrix_text_error:.1e})"
            )
        measured = f"(max |difference| {max(self.matrix_error, self.matrix_text_error):.1e})"
        if _within(self.matrix_error, self.tolerance):
            return f"; the matrix form gives the same numbers as the index form {measured}"
        return f"; the printed NumPy text of the matrix form gives DIFFERENT numbers from the index form {measured}"


def _within(error: float, tolerance: float) -> bool:
    return bool(np.isfinite(error)) and error <= tolerance


def default_sizes(*exprs: Expr) -> dict[str, int]:
    """Distinct sizes 2, 3, 4, … for the dimensions of ``exprs``, in order of first appearance.

    A dimension counts wherever it appears: on a tensor, an index, or a ``size(m)`` that no tensor carries.

    >>> import eincalc as ec
    >>> x, A = ec.tensors("x[n] A[m,n]")
    >>> default_sizes(ec.parse("sum(x[i]) size(m)", x, A))
    {'n': 2, 'm': 3}
    """
    dims: dict[str, None] = {}
    for expr in exprs:
        for node in walk(expr):
            if isinstance(node, Tensor):
                dims.update(dict.fromkeys(node.spec.dims))
            elif isinstance(node, Size):
                dims[node.dim] = None
            dims.update(dict.fromkeys(k.dim for k in node.free))
    return {dim: 2 + n for n, dim in enumerate(dims)}


SEEDS_TRIED = 4
"""Seeds the check draws values from, each as drawn and then all positive, until the expression and its derivative
are finite at them (``√det(X)`` needs a positive determinant)."""


def draw_values(
    exprs: list[Expr], sizes: Mapping[str, int], seed: int, finite: Sequence[Expr] = ()
) -> tuple[dict[str, np.ndarray], int]:
    """Random values for every tensor in ``exprs``, and the seed they came from: the first of `SEEDS_TRIED` seeds
    from ``seed`` on, as drawn or all positive, at which the first expression and each of ``finite`` (the derivative
    being checked: √relu(A) is finite where its derivative is not) are finite; the last drawn if none is."""
    checked = [exprs[0], *finite]
    for tried, positive in itertools.product(range(seed, seed + SEEDS_TRIED), (False, True)):
        values: dict[str, np.ndarray] = {}
        for offset, expr in enumerate(exprs):
            names = tuple(declared(expr)) if positive else ()
            drawn = random_values(expr, sizes, seed=tried + offset, positive=names)
            values.update({k: v for k, v in drawn.items() if k not in values})
        with np.errstate(all="ignore"):
            if all(np.all(np.isfinite(evaluate(e, values, dims=sizes))) for e in checked):
                break
    return values, tried


def numeric_check(
    expr: Expr,
    wrt: Tensor,
    result: Expr,
    *,
    kind: str,
    upstream: Expr | None = None,
    gradient: Expr | None = None,
    sizes: Mapping[str, int] | None = None,
    seed: int = 0,
    form: MatrixForm | None = None,
) -> Check:
    """Compare ``result`` (a ``kind`` derivative of ``expr`` with respect to ``wrt``) with finite differences.

    Every size, chosen or given, reaches the finite differences too (a dimension may be carried by no tensor), and
    ``wrt`` gets a value even where ``expr`` does not mention it (its derivative is then zero).
    """
    parts = [expr] + ([upstream] if upstream is not None else [])
    chosen = {**default_sizes(*parts, wrt, result), **(sizes or {})}
    derivatives = [e for e in (result, gradient) if e is not None]
    values, seed = draw_values([*parts, wrt, *derivatives], chosen, seed, finite=derivatives)
    with np.errstate(all="ignore"):  # an expression undefined at these values is reported, not warned about
        symbolic = _value(result, values, chosen)
        gradient_error = None
        if kind == "hessian":
            assert gradient is not None
            numeric = numeric_jacobian(gradient, wrt, values, dims=chosen)
            gradient_error = _distance(
                on_simplex(_value(gradient, values, chosen), wrt), numeric_jacobian(expr, wrt, values, dims=chosen)
            )
        else:
            numeric = numeric_jacobian(expr, wrt, values, dims=chosen)
            if upstream is not None:
                g = _value(upstream, values, chosen)
                numeric = np.tensordot(g, numeric, axes=g.ndim)
        scale = max(1.0, float(np.max(np.abs(numeric), initial=0.0)))
        matrix_error, matrix_problem = (None, None) if form is None else _printed_error(form, values, symbolic)
        tensors = _tensors_of(result, [*parts, wrt])
        text_error, text_problem = _read_back_error(result, tensors, values, chosen, symbolic)
        matrix_text_error, matrix_text_problem = (
            (None, None) if form is None else _matrix_read_back_error(form, result, tensors, values, chosen, symbolic)
        )
    return Check(
        _distance(on_simplex(symbolic, wrt), numeric),
        TOLERANCE * scale,
        chosen,
        seed,
        gradient_error,
        matrix_error,
        matrix_problem,
        text_error,
        text_problem,
        matrix_text_error,
        matrix_text_problem,
        undefined=not np.all(np.isfinite(numeric)),
    )


def _tensors_of(result: Expr, sources: list[Expr]) -> dict[str, Tensor]:
    """The tensors of ``sources`` and ``result`` by name: what a printed form of ``result`` may be read over."""
    return {**{k: v for e in sources for k, v in declared(e).items()}, **declared(result)}


def _read_back_error(
    result: Expr, tensors: Mapping[str, Tensor], values: Mapping[str, Any], sizes: Mapping[str, int], expected: Any
) -> tuple[float, str | None]:
    """The largest difference between ``result``'s printed index text (with its where-clauses), read back by
    `eincalc.parse()` over ``tensors`` and evaluated, and ``expected``; and why there is none when the text does not
    read back."""
    try:
        read = parse(to_text(result), *tensors.values(), *_declaring(sizes, tensors), *result.free)
        return _distance(_value(read, values, sizes), expected), None
    except EincalcError as error:
        return math.inf, f"{type(error).__name__}: {error}"


def _matrix_read_back_error(
    form: MatrixForm,
    result: Expr,
    tensors: Mapping[str, Tensor],
    values: Mapping[str, Any],
    sizes: Mapping[str, int],
    expected: Any,
) -> tuple[float, str | None]:
    """The largest difference between ``form``'s printed text (with its where-clauses), read back by the strictly
    typed matrix reader (`eincalc.parse_matrix()`) over ``tensors`` and evaluated, and ``expected``; and why there is
    none when the text does not read back (the difference is then infinite).

    >>> import eincalc as ec
    >>> x, = ec.tensors("x[n]")
    >>> _matrix_read_back_error(ec.to_matrix(2 * x), 2 * x, {"x": x}, {"x": np.ones(2)}, {"n": 2}, np.full(2, 2.0))
    (0.0, None)
    """
    scope = [*tensors.values(), *_declaring(sizes, tensors)]
    try:
        read = parse_matrix(form.text, *scope, rows=form.rows, shape=result.shape)
        return _distance(_value(read, values, sizes), expected), None
    except EincalcError as error:
        return math.inf, f"{type(error).__name__}: {error}"


def _declaring(sizes: Mapping[str, int], tensors: Mapping[str, Tensor]) -> tuple[Tensor, ...]:
    """A tensor with the dimensions in ``sizes`` that no tensor of ``tensors`` has (``size(m)`` with ``m`` declared
    on a tensor the expression does not use), named unlike them, so the reader knows every dimension."""
    carried = {d for t in tensors.values() for d in t.spec.dims}
    missing = [d for d in sizes if d not in carried]
    name = "_dims" + "_" * sum(n.startswith("_dims") for n in tensors)
    return tensors_of(f"{name}[{','.join(missing)}]") if missing else ()


def _printed_error(form: MatrixForm, values: Mapping[str, Any], expected: np.ndarray) -> tuple[float, str | None]:
    """The largest difference between ``form``'s printed NumPy text, run on ``values``, and ``expected``, and
    why there is none when the text does not run or gives another shape (the difference is then infinite)."""
    try:
        printed = run_numpy(form.numpy, values)
    except EincalcError as error:
        return math.inf, f"{type(error).__name__}: {error}"
    if printed.shape != expected.shape:
        return math.inf, f"it gives shape {printed.shape}, the index form {expected.shape}"
    return _distance(printed, expected), None


def _value(expr: Expr, values: Mapping[str, Any], sizes: Mapping[str, int]) -> np.ndarray:
    return np.asarray(evaluate(expr, values, dims=sizes), dtype=float)


def _distance(a: Any, b: Any) -> float:
    return float(np.max(np.abs(np.asarray(a, dtype=float) - np.asarray(b, dtype=float)), initial=0.0))
