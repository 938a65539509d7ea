"""The names bound (summed) indices take: ``i, j, …, h``, then ``i1, j1, …``.

>>> from eincalc.core.name_pool import name_pool
>>> import itertools
>>> list(itertools.islice(name_pool("ab"), 5))
['a', 'b', 'a1', 'b1', 'a2']
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator

CANONICAL_POOL = "ijklmnopqrstuvwxyzabcdefgh"
"""The names bound indices take, in order (then ``i1, j1, …``)."""


def name_pool(pool: str = CANONICAL_POOL) -> Iterator[str]:
    """``pool``'s letters, then the same letters with suffixes 1, 2, …"""
    for suffix in itertools.chain([""], (str(n) for n in itertools.count(1))):
        for letter in pool:
            yield letter + suffix


def bound_names(count: int, taken: set[str]) -> list[str]:
    """The canonical names of a node's ``count`` bound indices: the first of the pool not in ``taken``.

    >>> bound_names(2, {"i"})
    ['j', 'k']
    """
    if count == 0:
        return []
    return list(itertools.islice((n for n in name_pool() if n not in taken), count))
