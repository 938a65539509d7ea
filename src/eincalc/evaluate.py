"""Evaluate index-form expressions on arrays: :func:`evaluate` and :func:`compile`.

An expression (or a list of them) is lowered once to a straight-line program:
one step per distinct sub-expression, in post-order, so equal subtrees (nodes
compare structurally) are computed once and shared by every output.  Each step
runs the evaluation rule registered for its node type (:func:`register_evaluator`
adds rules for new node kinds).  Contractions go through ``opt_einsum``; each
contraction path is planned once per equation and operand shapes and kept in a
bounded cache (plans only, never arrays).  Dimension sizes are bound and checked
once per distinct shape signature of the inputs.

Arrays that bring their own namespace (or at least ``shape`` and ``dtype``) stay
native: PyTorch and JAX inputs give PyTorch and JAX results, and the constants a
rule needs (``δ``, ``1``, zeros) are made in the namespace, dtype and device of
the first such input.  Other values go through :func:`numpy.asarray` (integers
become float64).

>>> import numpy as np
>>> from eincalc.expr import Index, TensorSpec, Tensor, Contract, Apply
>>> i, j = Index("i", "m"), Index("j", "n")
>>> W = Tensor(TensorSpec("W", ("m", "n")), (i, j))
>>> a = Tensor(TensorSpec("a", ("n",)), (j,))
>>> z = Contract((W, a), (i,))
>>> evaluate(z, {"W": [[1, 2], [3, 4]], "a": [1, 1]})
array([3., 7.])
>>> f = compile([z, Apply("relu", z)])
>>> f(W=np.eye(2), a=np.array([-1.0, 2.0]))
(array([-1.,  2.]), array([0., 2.]))
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np
import opt_einsum

from . import functions
from .errors import ShapeError, UnknownNameError, UnsupportedError
from .expr import Add, Apply, Const, Contract, Delta, Expr, Index, Named, One, Size, Tensor, TensorSpec, Zero, postorder

Evaluator = Callable[[Any, tuple[Any, ...], "EvalContext"], Any]
"""A rule ``(node, child_values, ctx) -> value``; the value's axes are ``node.free`` in order."""

EVALUATORS: dict[type[Expr], Evaluator] = {}
_F = TypeVar("_F", bound=Evaluator)


def register_evaluator(node_type: type[Expr]) -> Callable[[_F], _F]:
    """Decorator: make the decorated function the evaluation rule for ``node_type`` (and subclasses)."""

    def decorate(rule: _F) -> _F:
        EVALUATORS[node_type] = rule
        return rule

    return decorate


def _rule_for(node_type: type) -> Evaluator:
    for cls in node_type.__mro__:
        if cls in EVALUATORS:
            return EVALUATORS[cls]
    raise UnsupportedError(f"no evaluation rule for {node_type.__name__} nodes")


@dataclass(frozen=True, slots=True)
class EvalContext:
    """What a rule may use: bound ``arrays`` by tensor name, dimension ``sizes``, and where constants live."""

    arrays: Mapping[str, Any]
    sizes: Mapping[str, int]
    xp: Any
    dtype: Any
    device: Any = None

    def size(self, dim: str) -> int:
        """The size of dimension ``dim``."""
        try:
            return self.sizes[dim]
        except KeyError:
            raise ShapeError(f"size of dimension {dim!r} unknown; pass dims={{{dim!r}: ...}}") from None

    def _new(self, make: str, *shape: Any) -> Any:
        extra = {} if self.device is None else {"device": self.device}
        return getattr(self.xp, make)(*shape, dtype=self.dtype, **extra)

    def zeros(self, indices: Sequence[Index]) -> Any:
        return self._new("zeros", tuple(self.size(k.dim) for k in indices))

    def ones(self, indices: Sequence[Index]) -> Any:
        return self._new("ones", tuple(self.size(k.dim) for k in indices))

    def eye(self, dim: str) -> Any:
        return self._new("eye", self.size(dim))


# -- the rules for the core node kinds ---------------------------------------------------


@functools.lru_cache(maxsize=1024)
def _plan(equation: str, shapes: tuple[tuple[int, ...], ...]) -> Any:
    return opt_einsum.contract_expression(equation, *shapes)


def _einsum(equation: str, *operands: Any) -> Any:
    return _plan(equation, tuple(tuple(x.shape) for x in operands))(*operands)


def _subscripts(groups: Sequence[Sequence[Index]]) -> list[str]:
    """One einsum string per group, letters given in order of first appearance."""
    letters: dict[Index, str] = {}
    return ["".join(letters.setdefault(k, opt_einsum.get_symbol(len(letters))) for k in g) for g in groups]


@register_evaluator(Tensor)
def _tensor(node: Tensor, args: tuple[Any, ...], ctx: EvalContext) -> Any:
    array = ctx.arrays[node.spec.name]
    if node.free == node.indices:
        return array
    given, kept = _subscripts([node.indices, node.free])
    return _einsum(f"{given}->{kept}", array)


@register_evaluator(Delta)
def _delta(node: Delta, args: tuple[Any, ...], ctx: EvalContext) -> Any:
    return ctx.ones(node.free) if node.i == node.j else ctx.eye(node.i.dim)


@register_evaluator(One)
def _one(node: One, args: tuple[Any, ...], ctx: EvalContext) -> Any:
    return ctx.ones(node.free)


@register_evaluator(Zero)
def _zero(node: Zero, args: tuple[Any, ...], ctx: EvalContext) -> Any:
    return ctx.zeros(node.free)


@register_evaluator(Const)
def _const(node: Const, args: tuple[Any, ...], ctx: EvalContext) -> Any:
    return float(node.value)


@register_evaluator(Size)
def _size(node: Size, args: tuple[Any, ...], ctx: EvalContext) -> Any:
    return float(ctx.size(node.dim))


@functools.lru_cache(maxsize=4096)
def _contract_equation(node: Contract) -> str:
    """The einsum over the factors that have indices (scalar factors are multiplied outside)."""
    *inputs, output = _subscripts([*(f.free for f in node.factors if f.free), node.out])
    return f"{','.join(inputs)}->{output}"


@register_evaluator(Contract)
def _contract(node: Contract, args: tuple[Any, ...], ctx: EvalContext) -> Any:
    scalars = [value for f, value in zip(node.factors, args, strict=True) if not f.free]
    result = functools.reduce(lambda x, y: x * y, scalars) if scalars else None
    if len(scalars) < len(args):
        tensors = (value for f, value in zip(node.factors, args, strict=True) if f.free)
        product = _einsum(_contract_equation(node), *tensors)
        result = product if result is None else result * product
    return result


@register_evaluator(Add)
def _add(node: Add, args: tuple[Any, ...], ctx: EvalContext) -> Any:
    total: Any = None
    for term, value in zip(node.terms, args, strict=True):
        if term.free and term.free != node.out:
            present = [k for k in node.out if k in term.free]
            if present != list(term.free):
                given, wanted = _subscripts([term.free, present])
                value = _einsum(f"{given}->{wanted}", value)
            value = value[tuple(slice(None) if k in term.free else None for k in node.out)]
        total = value if total is None else total + value
    if tuple(getattr(total, "shape", ())) != tuple(ctx.size(k.dim) for k in node.out):
        total = total + ctx.zeros(node.out)
    return total


@register_evaluator(Apply)
def _apply(node: Apply, args: tuple[Any, ...], ctx: EvalContext) -> Any:
    return functions.apply_array(node.fn, args[0], node.param)


@register_evaluator(Named)
def _named(node: Named, args: tuple[Any, ...], ctx: EvalContext) -> Any:
    return args[0]  # the body's axes, relabelled in order


# -- binding arrays to declared tensors ---------------------------------------------------


def _as_array(name: str, value: Any) -> Any:
    if hasattr(value, "__array_namespace__") or (hasattr(value, "shape") and hasattr(value, "dtype")):
        return value
    try:
        array = np.asarray(value)
    except (ValueError, TypeError) as err:
        raise ShapeError(f"value for {name} is not a rectangular array of numbers: {err}") from None
    if array.dtype.kind not in "biufc":
        raise ShapeError(f"value for {name} has dtype {array.dtype}, not numbers")
    return array.astype(np.float64) if array.dtype.kind in "biu" else array


def _declared(spec: TensorSpec) -> str:
    return f"{spec.name}[{','.join(spec.dims)}]" if spec.dims else f"{spec.name} (a scalar)"


def _bind(specs: Sequence[TensorSpec], arrays: Mapping[str, Any], dims: Mapping[str, int]) -> dict[str, int]:
    """Dimension sizes implied by ``arrays``; raise :class:`ShapeError` on any disagreement."""
    sizes = {dim: int(n) for dim, n in dims.items()}
    origin = dict.fromkeys(sizes, "dims")
    for spec in specs:
        shape = tuple(arrays[spec.name].shape)
        if len(shape) != len(spec.dims):
            raise ShapeError(f"{spec.name} is declared as {_declared(spec)} but its value has shape {shape}")
        for axis, (dim, n) in enumerate(zip(spec.dims, shape, strict=True)):
            known = sizes.setdefault(dim, n)
            origin.setdefault(dim, f"{spec.name} axis {axis}")
            if known != n:
                raise ShapeError(
                    f"{spec.name}: axis {axis} (dimension {dim}) has size {n}, but {dim} = {known} from {origin[dim]}"
                )
    return sizes


def _namespace(arrays: Sequence[Any]) -> tuple[Any, Any, Any]:
    """``(xp, dtype, device)`` for constants: those of the first non-NumPy input, else NumPy float64."""
    for x in arrays:
        if isinstance(x, np.ndarray | np.generic):
            continue
        if hasattr(x, "__array_namespace__"):
            xp = x.__array_namespace__()
        else:  # e.g. torch.Tensor: use its (already imported) top-level module
            xp = sys.modules.get(type(x).__module__.partition(".")[0], np)
        device = getattr(x, "device", None)
        return xp, x.dtype, None if callable(device) else device
    return np, np.float64, None


# -- the compiled program ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Step:
    node: Expr
    rule: Evaluator
    args: tuple[int, ...]
    release: tuple[int, ...]  # slots no longer needed once this step has run


class CompiledFunction:
    """A straight-line program computing one or several expressions; call it with the arrays.

    ``f(values)`` or ``f(W=..., a=...)`` returns one array for a single
    expression, a tuple for a list.  Shape checks run once per shape signature.
    """

    def __init__(self, outputs: Sequence[Expr], *, single: bool, dims: Mapping[str, int] | None = None) -> None:
        self.outputs = tuple(outputs)
        self._single = single
        self._dims = dict(dims or {})
        self._sizes: dict[tuple[Any, ...], dict[str, int]] = {}
        slot_of: dict[int, int] = {}
        by_key: dict[Expr, int] = {}
        steps: list[tuple[Expr, tuple[int, ...]]] = []
        specs: dict[TensorSpec, None] = {}
        for root in self.outputs:
            for node in postorder(root):
                if id(node) in slot_of:
                    continue
                node.free  # noqa: B018 - warm the cache bottom-up (no deep recursion later)
                kids = tuple(slot_of[id(c)] for c in node.children())
                key = node
                if any(steps[s][0] is not c for s, c in zip(kids, node.children(), strict=True)):
                    key = node.map_children(lambda c: steps[slot_of[id(c)]][0])
                if key not in by_key:
                    by_key[key] = len(steps)
                    steps.append((key, kids))
                    if isinstance(node, Tensor):
                        specs[node.spec] = None
                slot_of[id(node)] = by_key[key]
        self._results = tuple(slot_of[id(root)] for root in self.outputs)
        self._specs = tuple(specs)
        last_use = {s: n for n, (_, kids) in enumerate(steps) for s in kids}
        keep = set(self._results)
        self._steps = tuple(
            _Step(node, _rule_for(type(node)), kids, tuple(s for s in set(kids) if last_use[s] == n and s not in keep))
            for n, (node, kids) in enumerate(steps)
        )

    def __call__(self, values: Mapping[str, Any] | None = None, /, **arrays: Any) -> Any:
        given = {**(values or {}), **arrays}
        bound: dict[str, Any] = {}
        for spec in self._specs:
            if spec.name not in given:
                raise UnknownNameError(f"no value given for tensor {spec.name!r} (declared {_declared(spec)})")
            bound[spec.name] = _as_array(spec.name, given[spec.name])
        signature = tuple(tuple(bound[spec.name].shape) for spec in self._specs)
        sizes = self._sizes.get(signature)
        if sizes is None:
            sizes = self._sizes[signature] = _bind(self._specs, bound, self._dims)
            if len(self._sizes) > 64:
                del self._sizes[next(iter(self._sizes))]
        ctx = EvalContext(bound, sizes, *_namespace(list(bound.values())))
        slots: dict[int, Any] = {}
        for n, step in enumerate(self._steps):
            slots[n] = step.rule(step.node, tuple(slots[s] for s in step.args), ctx)
            for s in step.release:
                del slots[s]
        results = tuple(slots[s] if hasattr(slots[s], "shape") else ctx.zeros(()) + slots[s] for s in self._results)
        return results[0] if self._single else results

    def __repr__(self) -> str:
        inputs = ", ".join(_declared(spec) for spec in self._specs) or "no inputs"
        outputs = ", ".join(f"[{','.join(e.shape)}]" for e in self.outputs)
        einsums = sum(isinstance(step.node, Contract) for step in self._steps)
        return f"<CompiledFunction ({inputs}) -> {outputs}: {len(self._steps)} steps, {einsums} contractions>"


def compile(exprs: Expr | Sequence[Expr], *, dims: Mapping[str, int] | None = None) -> CompiledFunction:
    """Lower one expression, or a list sharing intermediates, to a :class:`CompiledFunction`.

    ``dims`` gives sizes of dimensions that no input tensor carries (``Σ_k 1``).
    """
    if isinstance(exprs, Expr):
        return CompiledFunction((exprs,), single=True, dims=dims)
    return CompiledFunction(exprs, single=False, dims=dims)


def evaluate(expr: Expr, values: Mapping[str, Any], *, dims: Mapping[str, int] | None = None) -> Any:
    """The value of ``expr`` (axes: ``expr.free`` in order) given arrays for its tensors by name."""
    return compile(expr, dims=dims)(values)
