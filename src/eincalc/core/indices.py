"""The values nodes are labelled with: `Index` (a named axis) and `TensorSpec` (a declared tensor).

>>> from eincalc.core.indices import Index, TensorSpec
>>> str(Index("i", "m")), str(TensorSpec("W", ("m", "n"))), str(TensorSpec("c", ()))
('i', 'W[m,n]', 'c (a scalar)')
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True, order=True)
class Index:
    """A named axis: ``name`` is what prints, ``dim`` names its size (``m``, ``batch``)."""

    name: str
    dim: str
    _hash: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_hash", hash((self.name, self.dim)))  # every dict of the core is keyed by indices

    def __hash__(self) -> int:
        return self._hash

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True, slots=True)
class TensorSpec:
    """A declared tensor: its name, one dimension name per axis, and known properties.

    ``symmetric`` declares ``S[i,j] = S[j,i]`` (square matrices only); ``simplex``
    declares a vector whose entries sum to one (a one-hot label or a probability
    vector) along its last axis.
    """

    name: str
    dims: tuple[str, ...]
    symmetric: bool = False
    simplex: bool = False

    def __str__(self) -> str:
        """The declaration, as `eincalc.tensors()` reads it: ``W[m,n]``, or ``c (a scalar)``."""
        return f"{self.name}[{','.join(self.dims)}]" if self.dims else f"{self.name} (a scalar)"

    def described(self) -> str:
        """The declaration with its properties: ``S[n,n], symmetric``."""
        properties = [word for word, flag in (("symmetric", self.symmetric), ("simplex", self.simplex)) if flag]
        return ", ".join([str(self), *properties])


def declared_differently(first: TensorSpec, second: TensorSpec) -> str | None:
    """Why one expression may not read both tensors, named alike and declared differently (a name binds one
    array), or ``None`` when they are one declaration.

    >>> print(declared_differently(TensorSpec("h", ("n",)), TensorSpec("h", ("m",), symmetric=False)))
    two tensors named h are declared differently (h[n] and h[m]), and one array would be bound to both; ...
    >>> declared_differently(TensorSpec("h", ("n",)), TensorSpec("h", ("n",))) is None
    True
    """
    if first == second:
        return None
    return (
        f"two tensors named {second.name} are declared differently ({first.described()} and {second.described()}), "
        f"and one array would be bound to both; declare {second.name} once, or rename one"
    )
