"""The one place where eincalc asks which array library an array comes from.

`array_namespace` follows the field's convention, `array-api-compat`: NumPy,
CuPy, PyTorch, JAX and Dask arrays each get a namespace with the Array API's
functions (``xp.tanh``, ``xp.sum(x, axis=..., keepdims=...)``, ``xp.eye``), so
results stay arrays of the caller's library (a PyTorch result keeps its
autograd graph, a Dask result stays lazy).  array-api-compat recognises a
framework only when the user has already imported it (it looks in
``sys.modules``), so nothing here imports PyTorch, JAX or Dask.  Plain NumPy
arrays, and anything that is no array (a Python float), use NumPy itself.
`is_foreign_array` is the same question asked the other way round: whether a
value is kept as its library's array rather than read into NumPy.

>>> import numpy as np
>>> array_namespace(np.ones(2)) is np
True
>>> array_namespace(2.0) is np
True
>>> is_foreign_array(np.ones(2)), is_foreign_array([1.0, 2.0])
(False, False)
"""

from __future__ import annotations

from typing import Any

import array_api_compat
import numpy as np


def is_foreign_array(x: Any) -> bool:
    """Whether ``x`` is an array of a library other than NumPy (PyTorch, JAX, Dask, CuPy, or any object that
    brings its own ``__array_namespace__``); anything else, array-like or not, is read with NumPy."""
    return not isinstance(x, np.ndarray | np.generic) and array_api_compat.is_array_api_obj(x)


def array_namespace(x: Any) -> Any:
    """The namespace whose functions compute on ``x`` and return arrays of its library (NumPy for non-arrays)."""
    return array_api_compat.array_namespace(x) if is_foreign_array(x) else np
