"""The one array-library lookup (eincalc.core.arrays): each library's arrays stay its own, through the kernels too."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import numpy as np
import pytest
from numpy.testing import assert_allclose

import eincalc as ec
from eincalc.core.arrays import array_namespace, is_foreign_array
from eincalc.numeric import kernels

ROWS = np.array([[1000.0, 1000.0, 999.0], [0.0, -1.0, 2.0]])


def test_numbers_and_numpy_arrays_use_numpy_itself() -> None:
    assert array_namespace(1.5) is np
    assert array_namespace(np.float64(1.5)) is np
    assert array_namespace(ROWS) is np


class Table:
    """Has a shape and a dtype, like a data frame's column, but is no array of any library array-api-compat knows."""

    def __init__(self, values: np.ndarray) -> None:
        self.values, self.shape, self.dtype = values, values.shape, values.dtype


class ConvertibleTable(Table):
    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        return self.values


def test_a_shape_and_a_dtype_do_not_make_an_array_of_another_library() -> None:
    """Only array-api-compat decides what stays native: a look-alike is read with NumPy, or refused plainly."""
    W, a = ec.tensors("W[m,n] a[n]")
    assert not is_foreign_array(Table(ROWS)) and array_namespace(Table(ROWS)) is np
    with pytest.raises(ec.UnsupportedError, match="value for W has dtype object"):  # it was a bare IndexError
        ec.evaluate(W @ a, {"W": Table(ROWS), "a": np.ones(3)})
    with pytest.raises(ec.UnsupportedError, match="value for W has dtype object"):
        ec.compile(W @ a)(W=Table(ROWS), a=np.ones(3))
    value = ec.evaluate(W @ a, {"W": ConvertibleTable(ROWS), "a": np.ones(3)})
    assert type(value) is np.ndarray and np.allclose(value, ROWS.sum(axis=1))


FRAMEWORKS = ("torch", "jax", "dask", "cupy", "tensorflow")

NUMPY_SESSION = """
import sys
import numpy as np
import eincalc as ec

W, a, g = ec.tensors("W[m,n] a[n] g[m]")
f = ec.sum(ec.tanh(W @ a))
arrays = {"W": np.ones((2, 3)), "a": np.arange(3.0)}
ec.evaluate(ec.grad(f, W), arrays)
ec.compile([f, ec.grad(f, W)])(**arrays)
ec.explain(f, W).text()
ec.to_matrix(ec.vjp(W @ a, W, g)).numpy
ec.graph(f, arrays).backward().text()
print(" ".join(sorted({name.split(".")[0] for name in sys.modules} & set(sys.argv[1:]))))
"""


def test_working_with_numpy_imports_no_other_framework() -> None:
    """array-api-compat looks in sys.modules: eincalc never imports a framework the user has not imported."""
    found = subprocess.run(
        [sys.executable, "-c", NUMPY_SESSION, *FRAMEWORKS], capture_output=True, text=True, check=True
    )
    assert found.stdout == "\n"


@pytest.mark.parametrize("kernel", ["softmax", "log_softmax", "logsumexp"])
def test_dask_arrays_stay_lazy_through_the_kernels(kernel: str) -> None:
    da = pytest.importorskip("dask.array")
    lazy = getattr(kernels, kernel)(da.from_array(ROWS, chunks=(1, 3)), 1)
    assert isinstance(lazy, da.Array)
    assert_allclose(lazy.compute(), getattr(kernels, kernel)(ROWS, 1))


@pytest.mark.parametrize("kernel", ["softmax", "log_softmax", "logsumexp"])
def test_torch_gradients_flow_through_the_kernels(kernel: str) -> None:
    torch = pytest.importorskip("torch")
    x = torch.tensor(ROWS, requires_grad=True)
    value = getattr(kernels, kernel)(x, 1)
    assert isinstance(value, torch.Tensor)
    assert_allclose(value.detach().numpy(), getattr(kernels, kernel)(ROWS, 1))
    value.sum().backward()
    assert x.grad is not None and bool(torch.isfinite(x.grad).all())


@pytest.mark.parametrize("kernel", ["softmax", "log_softmax", "logsumexp"])
def test_jax_arrays_stay_jax_through_the_kernels(kernel: str) -> None:
    jnp = pytest.importorskip("jax.numpy")
    value = getattr(kernels, kernel)(jnp.asarray(ROWS), 1)
    assert type(value).__module__.startswith("jax")
    assert_allclose(np.asarray(value), getattr(kernels, kernel)(ROWS, 1), rtol=1e-6)
