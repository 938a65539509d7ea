"""The command line under hostile input: numbers too large for a float, a value given twice, an output that
cannot take the text (an ASCII console, a full disk, a closed pipe), and generated NumPy whose sizes have
awkward names.  Each is one line on stderr and exit status 1, never a traceback."""

from __future__ import annotations

import errno
import io
import sys

import numpy as np
import pytest

from eincalc.cli import main

SCALARS = ["derive", "s*t", "--tensors", "s t", "--wrt", "s"]


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("1" + "0" * 5000, "a number of 5001 characters"),
        ("-1" + "0" * 400, "a number of 402 characters"),
        ("1e400", "1e400"),
    ],
)
def test_a_value_too_large_for_a_float_is_refused(capsys: pytest.CaptureFixture[str], value: str, shown: str) -> None:
    status, out, err = run(capsys, *SCALARS, "--values", f"s={value}", "t=1")
    assert status == 1 and out == ""
    assert err == f"eincalc: error: --values s=…: {shown} is too large for a float (the largest is about 1.8e308)\n"


def test_a_large_value_inside_an_array_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    status, _, err = run(capsys, "derive", "sum(x)", "--tensors", "x[n]", "--wrt", "x", "--values", "x=[1, 2e308]")
    assert status == 1
    assert "2e308 is too large for a float" in err


def test_large_finite_values_and_long_decimals_are_read(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, *SCALARS, "--values", "s=1e308", "t=1." + "0" * 5000 + "1")
    assert status == 0
    assert "derivative    1    (∂/∂s at these values)" in out


def test_a_value_given_twice_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run(capsys, *SCALARS, "--values", "s=1", "t=1", "--values", "s=2")
    assert status == 1 and out == ""
    assert err == "eincalc: error: --values s=…: s is given twice; give each tensor one value\n"


class _Failing(io.TextIOBase):
    """A stdout whose writes fail with ``error``."""

    def __init__(self, error: OSError) -> None:
        self.error = error

    def write(self, text: str) -> int:
        raise self.error

    def fileno(self) -> int:
        return 1


def test_an_output_encoding_that_cannot_write_the_text(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    ascii_out = io.TextIOWrapper(io.BytesIO(), encoding="ascii")
    monkeypatch.setattr(sys, "stdout", ascii_out)
    status = main(["derive", "W @ a", "--tensors", "W[m,n] a[n] g[m]", "--wrt", "W", "--upstream", "g"])
    assert status == 1
    assert capsys.readouterr().err == (
        "eincalc: error: the output's encoding (ascii) cannot write '\\u03b4'; set PYTHONIOENCODING=utf-8\n"
    )


def test_an_output_that_is_full(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdout", _Failing(OSError(errno.ENOSPC, "No space left on device")))
    assert main(SCALARS) == 1
    assert capsys.readouterr().err == "eincalc: error: cannot write the output: No space left on device\n"


def test_a_closed_pipe_ends_quietly(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdout", _Failing(BrokenPipeError(errno.EPIPE, "Broken pipe")))
    monkeypatch.setattr("os.dup2", lambda *_: None)  # the real stdout of the test run stays open
    assert main(SCALARS) == 1
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize(
    ("declarations", "text", "wrt"),
    [
        ("x[lambda]", "sum(x)", "x"),  # a keyword
        ("x[n₁]", "sum(x)", "x"),  # Python reads it as n1, and cannot take the subscript
        ("x[np]", "sum(x)", "x"),  # numpy's name in the generated module
        ("W[m,n] m[n]", "sum(W @ m)", "W"),  # a tensor's name
    ],
)
def test_generated_numpy_runs_whatever_the_dimensions_are_called(
    capsys: pytest.CaptureFixture[str], declarations: str, text: str, wrt: str
) -> None:
    status, out, _ = run(capsys, "derive", text, "--tensors", declarations, "--wrt", wrt, "--format", "numpy")
    assert status == 0
    namespace: dict[str, object] = {}
    exec(compile(out, "generated", "exec"), namespace)  # the generated code, as a user would run it
    function = namespace[f"d_{wrt}"]
    assert callable(function)
    tensors = {"x": np.ones(3), "m": np.ones(3), "W": np.ones((2, 3))}
    parameters = function.__code__.co_varnames[: function.__code__.co_argcount]
    arguments = [tensors.get(p, 3) for p in parameters]
    assert np.allclose(function(*arguments), 1.0)
