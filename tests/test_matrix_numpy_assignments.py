"""Issue 15, item 3 (groundwork): the NumPy text run_numpy runs may assign intermediates before its expression, each a
new name, so a matrix form's intermediates can be printed as a sequence of assignments and checked by running it."""

from __future__ import annotations

import numpy as np
import pytest

from eincalc.core.errors import UnknownNameError, UnsupportedError
from eincalc.matrix.check import run_numpy

RNG = np.random.default_rng(15)
VALUES = {"W1": RNG.normal(size=(4, 3)), "W2": RNG.normal(size=(2, 4)), "x": RNG.normal(size=3)}


def test_assignments_then_an_expression_run_in_order() -> None:
    code = "a = np.tanh(W1 @ x)\nda = 2.0 * W2.T @ (W2 @ a)\nnp.outer((1.0 - a ** 2.0) * da, x)"
    a = np.tanh(VALUES["W1"] @ VALUES["x"])
    expected = np.outer((1 - a**2) * (2 * VALUES["W2"].T @ (VALUES["W2"] @ a)), VALUES["x"])
    np.testing.assert_allclose(run_numpy(code, VALUES), expected, rtol=1e-12)


@pytest.mark.parametrize(
    ("code", "error", "message"),
    [
        ("a, b = W1, x\na", UnsupportedError, "only assignments to one name"),
        ("a += x\na", UnsupportedError, "only assignments to one name"),
        ("x = W1 @ x\nx", UnknownNameError, "assigns 'x', which is already"),
        ("np = 1.0\nnp", UnknownNameError, "assigns 'np'"),
        ("a = W1 @ x\na = x\na", UnknownNameError, "assigns 'a', which is already"),
        ("a = W1 @ x", UnsupportedError, "must end in an expression"),
        ("", UnsupportedError, "must end in an expression"),
    ],
)
def test_assignments_bind_only_new_names_and_the_text_ends_in_an_expression(
    code: str, error: type, message: str
) -> None:
    with pytest.raises(error, match=message):
        run_numpy(code, VALUES)
