"""Text that common conventions read two ways, which `eincalc.parse_matrix()` refuses rather than guess.

Each check runs on a typed `Product` of `eincalc.frontend.matrix_syntax` (the typing pass of
`eincalc.frontend.matrix_checker` calls them) and raises a `ParseError` that shows both spellings:

* an element-wise operator beside a matrix product whose grouping it changes (``x'*y.*p``: MATLAB reads
  ``(x'*y).*p``, the convention where ⊙ binds tighter ``x'*(y.*p)``), `require_one_grouping`;
* ``*`` between two arrays in a text that writes ``@`` (``A @ B * C``): Python's ``*`` is element-wise,
  matrixcalculus.org's the matrix product, `require_no_star_beside_at`;
* ``X**2`` of a matrix (NumPy's ``**`` is element-wise, SymPy's the matrix power) and ``|A|``, ``|x|`` of an array
  (the determinant, the norm), whose messages `python_power_of_matrix` and `bars_of_array` make.

>>> from eincalc.frontend.matrix_typing import SCALAR
>>> may_be_array(SCALAR)
False
"""

from __future__ import annotations

from collections.abc import Sequence

from ..core.errors import Located, ParseError
from .matrix_syntax import DIVIDE, MULTIPLY, Product
from .matrix_typing import Flexible, Shape, Type, describe, square


def require_one_grouping(node: Product, types: Sequence[Type]) -> None:
    """Raise `ParseError` when an element-wise operator (⊙ ∘ .* ⊘ ./) shares a product with a matrix product that
    its grouping changes: MATLAB reads ``x'*y.*p`` from the left, ``(x'*y).*p``, the convention where ⊙ binds
    tighter reads ``x'*(y.*p)``.  The product splits at each ``*``, ``·``, ``@`` or juxtaposition into runs joined
    element-wise; both readings agree when at most one run may be a vector or matrix (``2 x ⊙ y``)."""
    elementwise = [(op, c) for op, c in zip(node.ops, node.columns, strict=True) if op not in (*MULTIPLY, *DIVIDE)]
    if not elementwise:
        return
    (op, column), *_ = elementwise
    runs_with_arrays: list[int] = []  # where each run that may hold a vector or matrix starts
    run_start, run_has_array = node.start, False
    for k, factor_type in enumerate(types):
        if k > 0 and node.ops[k - 1] in MULTIPLY:
            if run_has_array:
                runs_with_arrays.append(run_start)
            run_start, run_has_array = node.columns[k - 1], False
        run_has_array = run_has_array or may_be_array(factor_type)
    if run_has_array:
        runs_with_arrays.append(run_start)
    if len(runs_with_arrays) > 1:
        raise Located(
            ParseError(
                f"{op} and a matrix product side by side read differently in different conventions (MATLAB "
                f"reads them from the left, others read {op} first); add parentheses, like (A {op} B) C or A {op} (B C)"
            ),
            max(runs_with_arrays[1], column),
        )


def may_be_array(factor_type: Type) -> bool:
    """Whether a factor is a vector or a matrix, or a literal 0 or 1 that may become one."""
    return factor_type.written if isinstance(factor_type, Flexible) else factor_type.kind != "scalar"


def require_no_star_beside_at(node: Product, steps: Sequence[str], source: str) -> None:
    """Raise `ParseError` when ``*`` multiplies two arrays as matrices in a text that writes ``@``: there ``*`` is
    Python's, which multiplies element-wise (``A @ B * C`` is ``(A @ B) ⊙ C`` in NumPy)."""
    if "@" not in source:
        return
    for op, how, column in zip(node.ops, steps, node.columns, strict=True):
        if op == "*" and how in ("matmul", "outer"):
            raise Located(
                ParseError(
                    "* beside @ reads two ways (Python's * multiplies element-wise, matrixcalculus.org's is the "
                    "matrix product): write @ for the matrix product, or .* or ⊙ element-wise"
                ),
                column,
            )


def python_power_of_matrix(text: str, base: str, exponent: float, column: int) -> Located:
    """``X**2`` squares each entry in NumPy (and PyTorch, JAX) and is the matrix power in SymPy (and as ``X^2``)."""
    return Located(
        ParseError(
            f"{text} of a matrix reads two ways (NumPy's ** is element-wise, SymPy's the matrix power): write "
            f"{base}^{exponent:g} for the matrix power or {base}.^{exponent:g} element-wise"
        ),
        column,
    )


def bars_of_array(inner: str, shape: Shape, column: int) -> Located:
    """``|A|`` is the determinant in many texts, ``|x|`` the Euclidean norm; the reader would take ``abs``."""
    meaning, meant = ("the Euclidean norm", f"‖{inner}‖") if shape.kind != "matrix" else ("a norm", f"‖{inner}‖_F")
    if square(shape):
        meaning, meant = "the determinant", f"det({inner})"
    return Located(
        ParseError(
            f"|{inner}| of {describe(shape)} reads two ways ({meaning} in many texts, the element-wise absolute "
            f"value in others): write {meant} or abs({inner})"
        ),
        column,
    )
