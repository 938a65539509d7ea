"""Readable NumPy source for a compiled program: the "take it home" output.

`codegen()` prints the straight-line program `eincalc.compile()` runs as a
standalone Python module that needs only NumPy: one function whose parameters
are the input tensors, one line per shared or named intermediate (``h1``,
``dh1``), matrix products written with ``@`` and ``.T``, other contractions
with ``np.einsum``, and the small helpers (``softmax``) it calls defined above
it.  Paste it into a project; eincalc need not be installed there.

>>> import eincalc as ec
>>> W, a, g = ec.tensors("W[m,n] a[n] g[m]")
>>> print(codegen([ec.vjp(W @ a, W, g), ec.vjp(W @ a, a, g)], name="backward"))
import numpy as np
<BLANKLINE>
<BLANKLINE>
def backward(g, a, W):
    \"\"\"Computes, from g[m], a[n], W[m,n]:
        g[p] a[q]
        W[i,p] g[i]
    \"\"\"
    return g[:, None] * a, g @ W
<BLANKLINE>
"""

from __future__ import annotations

import keyword
import unicodedata
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ..core.arguments import require_sizes, require_text
from ..core.errors import UnsupportedError
from ..core.expr import Expr
from ..core.functions import lookup
from ..core.registry import Registry
from ..frontend.build import as_exprs
from ..frontend.spelling import number
from .lowering import lower
from .program import Contraction, Custom, Elementwise, Fill, Load, Op, Program, Scalar, View, inputs

NumpySpelling = Callable[[Any, list[str]], str]
"""``spell(node, arguments) -> code`` for a node kind with its own evaluator (arguments in the child's index order)."""

SPELLINGS: Registry[str, tuple[NumpySpelling, str]] = Registry("NumPy spelling")
"""NumPy spelling and helper source (``""``: none) per node kind, by class name."""


def register_numpy(kind: str, helper: str = "") -> Callable[[NumpySpelling], NumpySpelling]:
    """Decorator: how generated code computes node kind ``kind`` (a class name); ``helper`` is source it needs."""

    def decorate(spell: NumpySpelling) -> NumpySpelling:
        SPELLINGS[kind] = (spell, helper)
        return spell

    return decorate


_STABLE = """

def softmax(x, axis):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def log_softmax(x, axis):
    shifted = x - x.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


def logsumexp(x, axis):
    peak = x.max(axis=axis, keepdims=True)
    return np.squeeze(np.log(np.exp(x - peak).sum(axis=axis, keepdims=True)) + peak, axis=axis)
"""


@register_numpy("Softmax", _STABLE)
def _softmax(node: Any, args: list[str]) -> str:
    return f"{node.fn}({args[0]}, axis={node.arg.free.index(node.axis)})"


@register_numpy("LogSumExp", _STABLE)
def _logsumexp(node: Any, args: list[str]) -> str:
    return f"logsumexp({args[0]}, axis={node.arg.free.index(node.axis)})"


@register_numpy("MatrixFunction")
def _matrix_function(node: Any, args: list[str]) -> str:
    code = {"inv": "np.linalg.inv({0})", "det": "np.linalg.det({0})", "logdet": "np.linalg.slogdet({0})[1]"}
    value = code[node.fn].format(args[0])
    return f"np.diagonal({value})" if len(node.free) < len(node.indices) else value


# -- spelling each operation ---------------------------------------------------------------------


def _identifier(name: str, taken: set[str]) -> str:
    """``name`` as a fresh Python identifier, as Python reads it (NFKC-normalised: ``dz`` stays ``dz``; ``x′``
    becomes ``x_``, ``x₁`` becomes ``x1``), so that no two arguments are the same name to Python."""
    normal = unicodedata.normalize("NFKC", name)
    base = "".join(c if f"_{c}".isidentifier() else "_" for c in normal) or "t"
    if not base.isidentifier() or keyword.iskeyword(base) or base == "np":
        base = f"t_{base}"
    candidate, n = base, 1
    while candidate in taken:
        n += 1
        candidate = f"{base}_{n}"
    taken.add(candidate)
    return candidate


def _view(code: str, view: View, atomic: bool) -> str:
    """``code`` with its axes arranged as ``view`` says."""
    order = [a for a in view if a is not None]
    base = code if atomic else f"({code})"
    if order != sorted(order):
        base = f"{base}.T" if len(order) == 2 else f"{base}.transpose({', '.join(map(str, order))})"
    kept = list(view)
    while kept and kept[0] is None:  # NumPy broadcasting supplies leading axes by itself
        kept.pop(0)
    if None in kept:
        base += "[" + ", ".join(":" if a is not None else "None" for a in kept) + "]"
    return base


class _Writer:
    def __init__(self, program: Program, dims: Mapping[str, int]) -> None:
        self.program = program
        self.taken: set[str] = {"np"}
        self.params = [_identifier(name, self.taken) for name in program.specs]
        self.param_of = dict(zip(program.specs, self.params, strict=True))
        carried = {d for spec in program.specs.values() for d in spec.dims}
        sized = sorted({d for op in program.ops for d in _dims_used(op)} - carried - set(dims))
        self.dim_param_of = {dim: _identifier(dim, self.taken) for dim in sized}  # x[lambda]: t_lambda
        self.dims = dims
        self.helpers: dict[str, None] = {}
        uses = Counter(s for op in program.ops for s in inputs(op))
        uses.update(r.slot for r in program.outputs)
        self.inline = {n for n, op in enumerate(program.ops) if uses[n] == 1 and n not in program.names}
        self.code: dict[int, tuple[str, bool]] = {}

    def size(self, dim: str) -> str:
        for spec, param in zip(self.program.specs.values(), self.params, strict=True):
            if dim in spec.dims:
                return f"{param}.shape[{spec.dims.index(dim)}]"
        return str(self.dims[dim]) if dim in self.dims else self.dim_param_of[dim]

    def size_value(self, dim: str) -> str:
        """A dimension's size as a number in arithmetic: a float, as eincalc computes it (``m ** -1`` is ``1/m``,
        not NumPy's error for an integer to a negative power)."""
        size = self.size(dim)
        return repr(float(size)) if size.isdigit() else f"float({size})"

    def arg(self, slot: int) -> tuple[str, bool]:
        return self.code[slot]

    def spell(self, op: Op) -> tuple[str, bool]:
        """The code computing ``op`` and whether it is atomic (needs no parentheses)."""
        if isinstance(op, Load):
            name = self.param_of[op.name]
            return (name, True) if op.equation is None else (f'np.einsum("{op.equation}", {name})', True)
        if isinstance(op, Scalar):
            return (self.size_value(op.size_of), True) if op.size_of else (number(op.value), op.value >= 0)
        if isinstance(op, Fill):
            shape = ", ".join(self.size(d) for d in op.dims)
            return (
                (f"np.eye({self.size(op.dims[0])})", True)
                if op.kind == "eye"
                else (f"np.{op.kind}(({shape}{',' if len(op.dims) == 1 else ''}))", True)
            )
        if isinstance(op, Elementwise):
            return self.tree(op.tree, op.args, len(op.dims))
        if isinstance(op, Contraction):
            return self.contraction(op)
        return self.custom(op)

    def custom(self, op: Custom) -> tuple[str, bool]:
        kind = type(op.node).__name__
        if kind not in SPELLINGS:
            raise UnsupportedError(
                f"no NumPy spelling for {kind} nodes; add one with eincalc.numeric.codegen.register_numpy"
            )
        spell, helper = SPELLINGS[kind]
        if helper:
            self.helpers[helper] = None
        args = [_view(self.arg(a)[0], view, self.arg(a)[1]) for a, view in zip(op.args, op.views, strict=True)]
        return spell(op.node, args), True

    def tree(self, tree: tuple[Any, ...], args: tuple[int, ...], rank: int) -> tuple[str, bool]:
        kind = tree[0]
        if kind == "num":
            return number(tree[1]), tree[1] >= 0
        if kind == "arg":
            code, atomic = self.arg(args[tree[1]])
            view: View = tree[2]
            if view == tuple(range(rank)) or not view:
                return code, atomic
            return _view(code, view, atomic), True
        if kind == "apply":
            inner, _ = self.tree(tree[3], args, rank)
            if tree[1] == "pow":
                return f"({inner}) ** {number(tree[2])}", False
            return lookup(tree[1]).numpy.format(x=inner), True
        parts = [self.tree(t, args, rank) for t in tree[1]]
        if kind == "add":
            if tree[1][-1][0] == "num" and parts[0][0].startswith("-"):
                parts = [parts[-1], *parts[:-1]]  # 1 - h rather than -h + 1
            text = " + ".join(code for code, _ in parts).replace("+ -", "- ")
            return text, len(parts) == 1 and parts[0][1]
        numbers = [float(t[1]) for t in tree[1] if t[0] == "num"]
        factors = [
            code if atomic else f"({code})" for (code, atomic), t in zip(parts, tree[1], strict=True) if t[0] != "num"
        ]
        coefficient = 1.0
        for x in numbers:
            coefficient *= x
        body = " * ".join(factors) or "1"
        if coefficient == -1.0 and factors:
            return f"-{body}", False
        return (body, len(factors) == 1) if coefficient == 1.0 else (f"{number(coefficient)} * {body}", False)

    def contraction(self, op: Contraction) -> tuple[str, bool]:
        operands = [self.arg(a) for a in op.args]
        code = _matmul(op.inputs, op.output, operands)
        if code is None:
            names = ", ".join(c for c, _ in operands)
            code = f'np.einsum("{op.equation}", {names}, optimize=True)'
        factors = [number(op.coefficient)] if op.coefficient != 1.0 else []
        factors += [code if atomic else f"({code})" for code, atomic in map(self.arg, op.scale)]
        if factors == ["-1"]:
            return f"-({code})", False
        if factors:
            return f"{' * '.join(factors)} * ({code})", False
        return code, False

    def source(self, name: str, exprs: Sequence[Expr]) -> str:
        body: list[str] = []
        for n, op in enumerate(self.program.ops):
            code, atomic = self.spell(op)
            if n in self.inline or _is_name(op):
                self.code[n] = (code, atomic)
                continue
            variable = _identifier(self.program.names.get(n, f"t{n}"), self.taken)
            body.append(f"    {variable} = {code}")
            self.code[n] = (variable, True)
        results = [
            self._result(ref.slot, ref.labels, expr) for ref, expr in zip(self.program.outputs, exprs, strict=True)
        ]
        signature = ", ".join([*self.params, *self.dim_param_of.values()])
        declared = (
            ", ".join(f"{s.name}[{','.join(s.dims)}]" if s.dims else s.name for s in self.program.specs.values())
            or "no inputs"
        )
        doc = [f'    """Computes, from {declared}:', *(f"        {e}" for e in exprs), '    """']
        returned = ", ".join(results) if len(results) > 1 else results[0]
        lines = [
            "import numpy as np",
            *"".join(self.helpers).splitlines(),
            "",
            "",
            f"def {name}({signature}):",
            *doc,
            *body,
            f"    return {returned}",
        ]
        return "\n".join(lines) + "\n"

    def _result(self, slot: int, labels: tuple[Any, ...], expr: Expr) -> str:
        code, atomic = self.code[slot]
        view = tuple(labels.index(k) for k in expr.free)
        return _view(code, view, atomic) if view != tuple(range(len(view))) else code


def _is_name(op: Op) -> bool:
    """An input used as it is, or a number: spelled where used, never given a line of its own."""
    return (isinstance(op, Load) and op.equation is None) or isinstance(op, Scalar)


def _dims_used(op: Op) -> set[str]:
    if isinstance(op, Scalar) and op.size_of is not None:
        return {op.size_of}
    return set(op.dims) if isinstance(op, Fill) else set()


def _matmul(inputs: Sequence[str], output: str, operands: list[tuple[str, bool]]) -> str | None:
    """``a @ b`` with ``.T`` where the einsum is a product of vectors and matrices, a sum, or ``None``."""
    if len(inputs) == 1:
        (letters,), ((code, atomic),) = inputs, operands
        if len(set(letters)) < len(letters) or any(c not in letters for c in output):
            return None
        summed = tuple(n for n, c in enumerate(letters) if c not in output)
        kept = "".join(c for c in letters if c in output)
        base = code if atomic else f"({code})"
        axis = "" if len(summed) == len(letters) else f"axis={summed[0] if len(summed) == 1 else summed}"
        total = f"{base}.sum({axis})"
        if kept == output:
            return total
        order = [kept.index(c) for c in output]
        return f"{total}.T" if len(order) == 2 else f"{total}.transpose({', '.join(map(str, order))})"
    if len(inputs) == 2 and inputs[0] == inputs[1]:  # a sum of a product (Σ r², Σ_j P[i,j] dP[i,j])
        product = " * ".join(code if atomic else f"({code})" for code, atomic in operands)
        return _matmul(inputs[:1], output, [(product, False)])
    if len(inputs) != 2 or any(len(set(x)) != len(x) or len(x) > 2 for x in inputs):
        return None
    (la, lb), ((a, a_atomic), (b, b_atomic)) = inputs, operands
    shared = [c for c in la if c in lb]
    if len(shared) != 1 or shared[0] in output:
        return None
    (k,) = shared
    left = "".join(c for c in la if c != k)
    right = "".join(c for c in lb if c != k)
    if left + right not in (output, output[::-1]) or (left + right != output and (not left or not right)):
        return None
    a_code, b_code = (a if a_atomic else f"({a})"), (b if b_atomic else f"({b})")
    if left + right == output:
        return f"{_oriented(a_code, la, left + k)} @ {_oriented(b_code, lb, k + right)}"
    return f"{_oriented(b_code, lb, right + k)} @ {_oriented(a_code, la, k + left)}"


def _oriented(code: str, letters: str, wanted: str) -> str:
    """``code`` (axes ``letters``) with its axes as ``wanted``: itself or its transpose."""
    return code if len(letters) < 2 or letters == wanted else f"{code}.T"


def codegen(exprs: Expr | Sequence[Expr], *, name: str = "compute", dims: Mapping[str, int] | None = None) -> str:
    """Standalone NumPy source of a function computing ``exprs`` (one value, or a tuple for a list).

    The function takes the input tensors as parameters, in order of first
    appearance, followed by the sizes of dimensions no input carries (unless
    fixed by ``dims``).
    """
    name = require_text(name, "name", "'compute'")
    if not name.isidentifier() or keyword.iskeyword(name):
        raise UnsupportedError(f"{name!r} is not a valid Python function name")
    outputs = list(as_exprs(exprs, "the expression to generate code for")[0])
    return _Writer(lower(outputs), require_sizes(dims)).source(name, outputs)
