"""Arrays a compiled program returned, written over by a later call once the caller holds no reference to them.

A warm call of a compiled program allocates nothing but its outputs (see
`eincalc.numeric.memory`).  Those used to be new arrays on every call, and a
large new array costs more than its arithmetic: the operating system hands out
zeroed pages on first touch (B2's 4096×4096 outer product: 24 ms into a new
array, 15.5 ms into one written before).  So `Returned` keeps each output's
last two arrays and gives the next call one that nothing else refers to: no
variable, view, memoryview or container (each of those holds a reference,
which CPython counts).  Two, because a loop such as ``grads = f(params)``
still holds the previous call's gradients while the next call runs; the ones
before those are free by then.  An array the caller still holds is left alone.

Where references are not counted exactly (other interpreters, free-threaded
CPython), every output is a new array, as before.

>>> import weakref
>>> import numpy as np
>>> returned, f8 = Returned(), np.dtype(np.float64)
>>> a = returned.array(0, 4, f8)
>>> returned.array(0, 4, f8) is a   # the caller still holds a: a new array
False
>>> b = returned.array(0, 4, f8)   # the new array above, which nobody took
>>> tail = b[1:]
>>> del b
>>> returned.array(0, 4, f8) is tail.base   # held through a view: a new array again
False
>>> c = returned.array(0, 4, f8)
>>> seen = weakref.ref(c)
>>> del c
>>> returned.array(0, 4, f8) is seen()   # let go: written over by the next call
True
"""

from __future__ import annotations

import sys
import sysconfig
from typing import Any

import numpy as np


def _references(arrays: list[Any], n: int) -> int:
    """The reference count of ``arrays[n]`` as this very expression sees it."""
    return sys.getrefcount(arrays[n])


def _alone() -> int:
    """What `_references()` reports for an object that only its list holds (measured, not assumed: how the
    interpreter counts a value passed to a call differs between versions)."""
    return _references([object()], 0)


COUNTED = sys.implementation.name == "cpython" and not sysconfig.get_config_var("Py_GIL_DISABLED")
"""Whether reference counts are exact here (CPython with its global lock), so recycling is safe."""
ALONE = _alone() if COUNTED else -1


KEPT = 2
"""Arrays kept per output: the caller's latest results, and the ones before, which a loop has let go by now."""


class Returned:
    """Each output slot's last `KEPT` returned arrays; one that nothing but this object refers to is handed out
    again.

    Not thread-safe: the plan that owns it uses it under its lock.
    """

    def __init__(self) -> None:
        self._arrays: dict[tuple[int, Any], list[Any]] = {}

    def array(self, slot: int, size: int, dtype: Any) -> Any:
        """A flat array of ``size`` elements for output ``slot``: one returned before, if it is free."""
        kept = self._arrays.setdefault((slot, dtype), []) if COUNTED else []
        for n in reversed(range(len(kept))):  # the latest first: the one most likely still in cache
            if _references(kept, n) == ALONE:
                kept.append(kept.pop(n))
                return kept[-1]
        array = np.empty(size, dtype)
        kept.append(array)
        del kept[:-KEPT]
        return array

    def forget(self) -> None:
        """Let every kept array go."""
        self._arrays.clear()
