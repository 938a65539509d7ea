"""The core: frozen nodes, index names, the function table, limits, errors; imports nothing above it."""

from . import names  # noqa: F401 - registers the renaming that a Contract names its summed indices with
