"""The gate-level computational graph of an expression, with forward values and backward gradients.

:func:`graph` turns an expression into its gates (one per distinct
sub-expression: inputs, ``×``, ``+``, ``σ``, …) and evaluates each one.
:meth:`Graph.backward` then sends the gradient of the output back through the
gates with the same reverse rules :func:`eincalc.vjp` uses, recording at every
gate its *upstream* gradient (∂f/∂gate) and the *local* gradient of the gate
with respect to each of its inputs (∂gate/∂input).  Printing shows a table;
:meth:`Graph.dot` gives Graphviz DOT (forward value in green above each wire,
gradient in red below), and :meth:`Graph.svg` / :meth:`Graph.png` draw it when
the Graphviz ``dot`` program is installed (``apt install graphviz``,
``brew install graphviz`` or ``conda install graphviz``; the DOT text needs
nothing).

The sigmoid neuron of CS231n's backpropagation notes:

>>> import eincalc as ec
>>> w0, x0, w1, x1, w2 = ec.tensors("w0 x0 w1 x1 w2")
>>> g = graph(ec.sigmoid(w0 * x0 + w1 * x1 + w2), dict(w0=2, x0=-1, w1=-3, x1=-2, w2=-3)).backward()
>>> print(show(g.node("f").value), show(g.node("w2").gradient), show(g.node("x0").gradient))
0.731 0.197 0.393
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .arguments import require_mapping, require_text
from .build import as_expr
from .diff import VJP_RULES
from .errors import UnknownNameError, UnsupportedError
from .evaluate import as_array, compile
from .expr import Add, Apply, Const, Contract, Delta, Expr, Named, One, Size, Tensor, TensorSpec, Zero, postorder
from .functions import lookup
from .names import rename
from .printing import number, to_einsum
from .testing import sizes_of

LOCAL_LIMIT = 64
"""Local Jacobians are computed for gates whose output has at most this many entries."""

_UPSTREAM = "upstream gradient"


@dataclass
class Node:
    """One gate: its expression, what it computes, and (after ``backward``) its gradients.

    ``gradient`` is ∂f/∂(this gate); ``local[k]`` is ∂(this gate)/∂(input k), with
    the gate's axes first (``None`` for a constant input or a gate too large).
    """

    name: str
    gate: str
    expr: Expr
    inputs: tuple[int, ...]
    value: Any
    gradient: Any = None
    local: list[Any] = field(default_factory=list)


@dataclass
class Graph:
    """Gates in evaluation order (inputs first, the output last)."""

    nodes: list[Node]
    values: Mapping[str, Any]
    sizes: Mapping[str, int]
    name: str = "f"

    @property
    def output(self) -> Node:
        return self.nodes[-1]

    def node(self, name: str) -> Node:
        """The gate called ``name`` (a tensor's name, ``n1``, ``n2``… or the output's name)."""
        for candidate in self.nodes:
            if candidate.name == name:
                return candidate
        raise UnknownNameError(f"no node {name!r}; nodes: {', '.join(n.name for n in self.nodes)}")

    def backward(self, upstream: Any = None) -> Graph:
        """Send ∂f/∂f (ones, or ``upstream``) back through every gate; returns the graph itself."""
        root = self.output
        seed = np.ones(np.shape(root.value)) if upstream is None else np.asarray(as_array("upstream", upstream), float)
        if seed.shape != np.shape(root.value):
            raise UnsupportedError(f"upstream gradient has shape {seed.shape}, the output {np.shape(root.value)}")
        for gate in self.nodes:
            gate.gradient, gate.local = None, [None] * len(gate.inputs)
        root.gradient = seed
        for gate in reversed(self.nodes):
            if gate.gradient is not None and gate.inputs:
                self._send_back(gate)
        return self

    def _send_back(self, gate: Node) -> None:
        pairs = _reverse_rule(gate.expr)
        position = {self.nodes[k].expr: slot for slot, k in enumerate(gate.inputs)}
        for child, child_ct in pairs:
            slot = position[child]
            target = self.nodes[gate.inputs[slot]]
            contribution = self._evaluate(child_ct, gate.gradient)
            target.gradient = contribution if target.gradient is None else target.gradient + contribution
            local = self._local(child_ct, gate)
            if local is not None:
                gate.local[slot] = local if gate.local[slot] is None else gate.local[slot] + local

    def _evaluate(self, expr: Expr, upstream: Any) -> Any:
        values = {**self.values, _UPSTREAM: np.asarray(upstream, dtype=float)}
        return np.asarray(compile(expr, dims=self.sizes)(values))

    def _local(self, child_ct: Expr, gate: Node) -> Any:
        shape = np.shape(gate.value)
        if int(np.prod(shape)) > LOCAL_LIMIT:
            return None
        rows = []
        for position in np.ndindex(shape):
            basis = np.zeros(shape)
            basis[position] = 1.0
            rows.append(self._evaluate(child_ct, basis))
        return np.reshape(np.stack(rows), shape + np.shape(rows[0]))

    # -- rendering --------------------------------------------------------------------------------

    def text(self) -> str:
        """A table: gate, inputs, value, gradient ∂f/∂gate, and the local gradients."""
        rows = [("node", "gate", "inputs", "value", f"∂{self.name}/∂node", "local gradients")]
        for gate in self.nodes:
            inputs = [self.nodes[k].name for k in gate.inputs]
            rows.append((gate.name, gate.gate, ", ".join(inputs), show(gate.value), show(gate.gradient),
                         self._local_text(gate)))
        widths = [max(len(row[c]) for row in rows) for c in range(len(rows[0]) - 1)]
        lines = ["  ".join(cell.ljust(w) for cell, w in zip(row[:-1], widths, strict=True)) + "  " + row[-1]
                 for row in rows]
        return "\n".join(line.rstrip() for line in lines)

    def _local_text(self, gate: Node) -> str:
        parts = []
        for slot, local in enumerate(gate.local):
            if local is None:
                continue
            child = self.nodes[gate.inputs[slot]]
            part = f"∂{gate.name}/∂{child.name} = {show(local)}"
            others = [self.nodes[k] for n, k in enumerate(gate.inputs) if n != slot]
            if gate.gate == "×" and len(others) == 1 and _same(local, others[0].value):
                part += f" (= {others[0].name}, the other input)"
            parts.append(part)
        return ", ".join(parts)

    def __str__(self) -> str:
        return self.text()

    def dot(self) -> str:
        """Graphviz DOT: gates as nodes; each wire shows its forward value (green) and gradient (red)."""
        lines = ["digraph eincalc {", "  rankdir=LR;", '  node [fontname="Helvetica"];',
                 '  edge [fontname="Helvetica", fontsize=10];']
        for gate in self.nodes:
            shape = "plaintext" if not gate.inputs else "circle"
            lines.append(f'  {_dot_id(gate)} [label="{_dot_escape(gate.gate if gate.inputs else gate.name)}", '
                         f"shape={shape}];")
        for gate in self.nodes:
            for k in gate.inputs:
                lines.append(f"  {_dot_id(self.nodes[k])} -> {_dot_id(gate)} [label={self._wire(self.nodes[k])}];")
        lines.append('  output [label="", shape=point];')
        lines.append(f"  {_dot_id(self.output)} -> output [label={self._wire(self.output)}];")
        lines.append("}")
        return "\n".join(lines)

    def _wire(self, source: Node) -> str:
        value = f'<font color="darkgreen">{_dot_escape(show(source.value))}</font>'
        if source.gradient is None:
            return f"<{value}>"
        return f'<{value}<br/><font color="firebrick">{_dot_escape(show(source.gradient))}</font>>'

    def svg(self) -> str:
        """The picture as SVG (needs the Graphviz ``dot`` program)."""
        return _run_dot(self.dot(), "svg").decode()

    def png(self) -> bytes:
        """The picture as PNG (needs the Graphviz ``dot`` program)."""
        return _run_dot(self.dot(), "png")

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        bundle = {"text/plain": self.text()}
        if shutil.which("dot"):
            bundle["image/svg+xml"] = self.svg()
        return bundle


def graph(expr: Expr, values: Mapping[str, Any], *, name: str = "f") -> Graph:
    """The computational graph of ``expr`` with every gate evaluated at ``values`` (arrays by tensor name)."""
    expr, name = as_expr(expr, "the expression to draw"), require_text(name, "name", "'f'")
    values = require_mapping(values, "values", "tensor names to arrays, like {'W': W_value}")
    order: list[Expr] = []
    index: dict[Expr, int] = {}
    for sub in postorder(expr):
        if sub not in index:
            index[sub] = len(order)
            order.append(sub)
    sizes = sizes_of(expr, values)
    computed = compile(order, dims=sizes)(values)
    nodes: list[Node] = []
    gates = 0
    for position, sub in enumerate(order):
        inputs = tuple(dict.fromkeys(index[c] for c in sub.children()))
        if position == len(order) - 1:
            label = name
        elif isinstance(sub, Tensor):
            label = sub.spec.name
        elif isinstance(sub, Named):
            label = sub.name
        else:
            gates += 1
            label = f"n{gates}"
        nodes.append(Node(label, _gate(sub), sub, inputs, np.asarray(computed[position])))
    return Graph(nodes, dict(values), sizes, name)


def _gate(expr: Expr) -> str:
    if isinstance(expr, Tensor):
        return "input"
    if isinstance(expr, Const | Size | Delta | One | Zero):
        return "constant"
    if isinstance(expr, Add):
        return "+"
    if isinstance(expr, Named):
        return "name"
    if isinstance(expr, Apply):
        if expr.fn == "pow":
            return f"**{number(expr.param or 0.0)}"
        return lookup(expr.fn).text.format(x="·")
    if isinstance(expr, Contract):
        if not expr.summed and all(set(f.free) == set(expr.free) for f in expr.factors):
            return "×"
        return f"einsum {to_einsum(expr)[0]}"
    return type(expr).__name__.lower()


def _reverse_rule(expr: Expr) -> list[tuple[Expr, Expr]]:
    """``(input, cotangent of input)`` pairs for a gate, in terms of a placeholder upstream gradient."""
    upstream = Tensor(TensorSpec(_UPSTREAM, expr.shape), expr.free)
    if isinstance(expr, Named):  # a name passes its gradient on unchanged
        return [(expr.body, rename(upstream, dict(zip(expr.indices, expr.body.free, strict=True))))]
    try:
        rule = VJP_RULES[type(expr)]
    except KeyError:
        raise UnsupportedError(f"no reverse rule for {type(expr).__name__} gates") from None
    return rule(expr, upstream)


def show(value: Any) -> str:
    """A value as the table prints it: three significant digits."""
    if value is None:
        return "—"
    array = np.asarray(value, dtype=float)
    if array.ndim == 0:
        return f"{float(array):.3g}"
    return np.array2string(array, precision=3, suppress_small=True, separator=", ").replace("\n", "")


def _same(a: Any, b: Any) -> bool:
    return bool(np.shape(a) == np.shape(b) and np.allclose(a, b))


def _dot_id(gate: Node) -> str:
    return '"' + gate.name.replace('"', "'") + '"'


def _dot_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def _run_dot(source: str, fmt: Sequence[str] | str) -> bytes:
    program = shutil.which("dot")
    if program is None:
        raise UnsupportedError(
            "drawing the graph needs the Graphviz program 'dot': install it with 'apt install graphviz', "
            "'brew install graphviz' or 'conda install graphviz' (Graph.dot() gives the DOT text without it)")
    done = subprocess.run([program, f"-T{fmt}"], input=source.encode(), capture_output=True, check=False)
    if done.returncode != 0:
        raise UnsupportedError(f"Graphviz failed: {done.stderr.decode(errors='replace').strip()}")
    return done.stdout
