"""The gate-level computational graph of an expression, with forward values and backward gradients.

`graph()` turns an expression into its gates (one per distinct
sub-expression: inputs, ``×``, ``+``, ``σ``, …) and evaluates each one.
`Graph.backward()` then sends the gradient of the output back through the
gates with the same reverse rules `eincalc.vjp()` uses, recording at every
gate its *upstream* gradient (∂f/∂gate) and the *local* gradient of the gate
with respect to each of its inputs (∂gate/∂input).  Printing shows a table;
`Graph.dot()` gives Graphviz DOT (forward value in green above each wire,
gradient in red below), and `Graph.svg()` / `Graph.png()` draw it when
the Graphviz ``dot`` program is installed (``apt install graphviz``,
``brew install graphviz`` or ``conda install graphviz``; the DOT text needs
nothing).

The sigmoid neuron of CS231n's backpropagation notes:

>>> import eincalc as ec
>>> w0, x0, w1, x1, w2 = ec.tensors("w0 x0 w1 x1 w2")
>>> g = graph(ec.sigmoid(w0 * x0 + w1 * x1 + w2), dict(w0=2, x0=-1, w1=-3, x1=-2, w2=-3)).backward()
>>> print(show(g.node("f").value), show(g.node("w2").gradient), show(g.node("x0").gradient))
0.731 0.197 0.393
>>> print(g.facts()[3])
The add gate n3 = n1 + n2 + w2: the add gate passes the upstream gradient through: local gradient 1 for each \
input, so n1, n2 and w2 each receive its gradient 0.197 unchanged.

A local gradient is shown in matrix notation, in the names of the gates, with
its numbers where they are few: ``∂f/∂n3 = f (1 − f) = 0.197`` for a scalar
gate, ``∂h/∂r = diag(h ⊙ (1 − h)) = diag([0.25, 0.105])`` for a sigmoid of a
vector (the gate's own output stands for σ(r), as in the reverse rule).
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..calculus.diff import VJP_RULES, jacobian
from ..core.arguments import output_name, require_mapping
from ..core.errors import EincalcError, UnknownNameError, UnsupportedError
from ..core.expr import Expr
from ..core.functions import lookup
from ..core.indices import TensorSpec
from ..core.names import rename, substitute
from ..core.nodes import Add, Apply, Const, Contract, Delta, Named, One, Size, Tensor, Zero
from ..core.traversal import postorder, walk
from ..frontend.build import as_expr
from ..frontend.printing import line, to_einsum
from ..frontend.spelling import number
from ..matrix.tree import Diag
from ..matrix.view import to_matrix
from ..numeric.binding import as_array
from ..numeric.evaluate import compile
from ..testing import sizes_of
from .reasons import ADD_GATE

LOCAL_LIMIT = 64
"""Local Jacobians are computed for gates whose output has at most this many entries."""

_UPSTREAM = "upstream gradient"

NO_DOT = (
    "the Graphviz program 'dot', which is not installed: install it with 'apt install graphviz', "
    "'brew install graphviz' or 'conda install graphviz' (Graph.dot() gives the DOT text without it)"
)
"""What drawing needs when ``dot`` is missing, and how to get it."""


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
            rows.append(
                (gate.name, gate.gate, ", ".join(inputs), show(gate.value), show(gate.gradient), self._local_text(gate))
            )
        widths = [max(len(row[c]) for row in rows) for c in range(len(rows[0]) - 1)]
        lines = [
            "  ".join(cell.ljust(w) for cell, w in zip(row[:-1], widths, strict=True)) + "  " + row[-1] for row in rows
        ]
        return "\n".join(line.rstrip() for line in lines)

    def _local_text(self, gate: Node) -> str:
        parts = []
        for slot, local in enumerate(gate.local):
            if local is not None:
                child = self.nodes[gate.inputs[slot]]
                parts.append(f"∂{gate.name}/∂{child.name} = {self.local_gradient(gate, child, local)}")
        return ", ".join(parts)

    def local_gradient(self, gate: Node, child: Node, local: Any) -> str:
        """``f (1 − f) = 0.197``: the local gradient in matrix notation over the gates' names, and its numbers."""
        form, diagonal = _local_form(gate, child, {n.expr: n.name for n in self.nodes})
        if np.ndim(local) == 0:
            numbers = show(local)
        elif diagonal:
            numbers = f"diag({show(np.diagonal(local))})"
        else:
            numbers = "" if form else show(local)
        return " = ".join(dict.fromkeys(text for text in (form, numbers) if text))

    def facts(self) -> list[str]:
        """Sentences read off the evaluated graph: the output, what each add, multiply and function gate does,
        and the gradient of every input."""
        facts = [f"The output is {self.name} = {_precise(self.output.value)}."]
        for gate in self.nodes:
            if gate.gradient is not None and gate.inputs:
                facts += _gate_facts(self, gate)
        inputs = [n for n in self.nodes if not n.inputs and n.gate == "input" and n.gradient is not None]
        if inputs:
            facts.append(
                "The gradients of the inputs: "
                + ", ".join(f"∂{self.name}/∂{n.name} = {show(n.gradient)}" for n in inputs)
                + "."
            )
        return facts

    def __str__(self) -> str:
        return self.text()

    def dot(self) -> str:
        """Graphviz DOT: gates as nodes; each wire shows its forward value (green) and gradient (red)."""
        lines = [
            "digraph eincalc {",
            "  rankdir=LR;",
            '  node [fontname="Helvetica"];',
            '  edge [fontname="Helvetica", fontsize=10];',
        ]
        for gate in self.nodes:
            shape = "plaintext" if not gate.inputs else "circle"
            lines.append(
                f'  {_dot_id(gate)} [label="{_dot_escape(gate.gate if gate.inputs else gate.name)}", shape={shape}];'
            )
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

    def __repr__(self) -> str:
        inputs = ", ".join(n.name for n in self.nodes if not n.inputs) or "none"
        state = "gradients sent back" if self.output.gradient is not None else "forward values only"
        return f"<Graph {self.name} = {line(self.output.expr)}: {len(self.nodes)} nodes, inputs {inputs}; {state}>"

    def _repr_svg_(self) -> str | None:
        """The picture for Jupyter, or ``None`` (no picture) without Graphviz's ``dot``."""
        return self.svg() if shutil.which("dot") else None

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        """The picture as SVG with Graphviz's ``dot``; always the table as text, saying how to get the picture."""
        picture = self._repr_svg_()
        if picture is not None:
            return {"image/svg+xml": picture, "text/plain": self.text()}
        return {"text/plain": f"{self.text()}\n(no picture: drawing the graph needs {NO_DOT})"}


def graph(
    expr: Expr, values: Mapping[str, Any], *, name: str | None = None, dims: Mapping[str, int] | None = None
) -> Graph:
    """The computational graph of ``expr`` with every gate evaluated at ``values`` (arrays by tensor name); ``dims``
    gives the size of a dimension no array has (``size(m)`` with no tensor of axis ``m``).  The output is called
    ``name``, by default ``f`` (or ``g``, … when a tensor is called ``f``)."""
    expr = as_expr(expr, "the expression to draw")
    name = output_name(name, expr)
    values = require_mapping(values, "values", "tensor names to arrays, like {'W': W_value}")
    order: list[Expr] = []
    index: dict[Expr, int] = {}
    for sub in postorder(expr):
        if sub not in index:
            index[sub] = len(order)
            order.append(sub)
    sizes = sizes_of(expr, values, dims=dims)
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


def graph_at(
    expr: Expr,
    values: Mapping[str, Any],
    *,
    name: str | None = None,
    upstream: Expr | None = None,
    dims: Mapping[str, int] | None = None,
) -> Graph:
    """The graph of ``expr`` at ``values`` (and ``dims``), with gradients sent back from the output when there is one
    to send: 1 for a scalar, else the value of the tensor ``upstream`` (forward values only without it)."""
    drawn = graph(expr, values, name=name, dims=dims)
    if upstream is None:
        return drawn.backward() if not expr.free else drawn
    if not isinstance(upstream, Tensor) or upstream.spec.name not in values:
        name = upstream.spec.name if isinstance(upstream, Tensor) else str(upstream)
        raise UnknownNameError(
            f"give a value for the upstream gradient {name} too: the graph sends it back from the output"
        )
    return drawn.backward(values[upstream.spec.name])


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
    function = getattr(expr, "fn", None)  # softmax and log_softmax are one node kind: its fn tells them apart
    return f"{function if isinstance(function, str) else type(expr).__name__.lower()}(·)"


def _local_form(gate: Node, child: Node, named: Mapping[Expr, str]) -> tuple[str, bool]:
    """The local gradient ∂gate/∂child in matrix notation over the gates' names (index notation for rank 3 and
    up), and whether it is a diagonal matrix; ``("", False)`` where no rule gives one."""

    def by_name(node: Expr) -> Expr:
        if isinstance(node, Tensor | Const | Size | Delta | One | Zero):
            return node
        return Tensor(TensorSpec(named[node], node.shape), node.free)

    try:
        local = gate.expr.map_children(by_name)
        variable = by_name(child.expr)
        if not isinstance(variable, Tensor):
            return "", False
        own = Tensor(TensorSpec(gate.name, local.shape), local.free)
        derivative = substitute(
            jacobian(local, variable), local, lambda labels: rename(own, dict(zip(own.free, labels, strict=True)))
        )
        sizes = [t for t in walk(local) if isinstance(t, Tensor)]
        form = to_matrix(derivative, sizes_from=sizes) if derivative.rank <= 2 else None
    except EincalcError:
        return "", False
    return (form.text, isinstance(form.tree, Diag)) if form is not None else (line(derivative), False)


def _gate_facts(drawn: Graph, gate: Node) -> list[str]:
    """What one gate does with the gradient arriving at it."""
    inputs = [drawn.nodes[k] for k in gate.inputs]
    names = [n.name for n in inputs]
    listed = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
    if gate.gate == "+":
        return [
            f"The add gate {gate.name} = {' + '.join(names)}: {ADD_GATE} for each input, so {listed} each "
            f"receive its gradient {show(gate.gradient)} unchanged."
        ]
    scalars = all(np.ndim(n.value) == 0 for n in (gate, *inputs))
    if gate.gate == "×" and len(inputs) == 2 and scalars:
        (a, b), (da, db) = inputs, gate.local
        return [
            f"The multiply gate {gate.name} = {a.name} × {b.name} swaps its inputs: ∂{gate.name}/∂{a.name} = "
            f"{show(da)} is the value of {b.name}, and ∂{gate.name}/∂{b.name} = {show(db)} the value of "
            f"{a.name}."
        ]
    if isinstance(gate.expr, Apply) and scalars and gate.local[0] is not None:
        local = drawn.local_gradient(gate, inputs[0], gate.local[0])
        return [
            f"The {gate.expr.fn} gate {gate.name} has local gradient ∂{gate.name}/∂{inputs[0].name} = {local}; "
            f"every gradient below it carries this factor."
        ]
    return []


def _precise(value: Any) -> str:
    """A value with four significant digits."""
    array = np.asarray(value, dtype=float)
    return f"{float(array):.4g}" if array.ndim == 0 else show(array)


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


def _dot_id(gate: Node) -> str:
    return '"' + gate.name.replace('"', "'") + '"'


def _dot_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def _run_dot(source: str, fmt: Sequence[str] | str) -> bytes:
    program = shutil.which("dot")
    if program is None:
        raise UnsupportedError(f"drawing the graph needs {NO_DOT}")
    done = subprocess.run([program, f"-T{fmt}"], input=source.encode(), capture_output=True, check=False)
    if done.returncode != 0:
        raise UnsupportedError(f"Graphviz failed: {done.stderr.decode(errors='replace').strip()}")
    return done.stdout
