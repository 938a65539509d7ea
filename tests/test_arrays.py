"""The one array-library lookup (eincalc.core.arrays): each library's arrays stay its own, through the kernels too."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose

from eincalc.core.arrays import array_namespace
from eincalc.numeric import kernels

ROWS = np.array([[1000.0, 1000.0, 999.0], [0.0, -1.0, 2.0]])


def test_numbers_and_numpy_arrays_use_numpy_itself() -> None:
    assert array_namespace(1.5) is np
    assert array_namespace(np.float64(1.5)) is np
    assert array_namespace(ROWS) is np


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
