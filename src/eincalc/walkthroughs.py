"""The three worked answers: backpropagation (P2), the chain rule in row-vector form (P3), a sigmoid gate (P4).

Each function returns the whole walk-through as text (or Markdown): section
after section of :func:`~eincalc.explain.explain` derivations, every formula
and number in them computed, nothing typed in by hand except the headings and
the sentences that connect the sections.  ``eincalc walkthrough NAME`` prints
them; the test suite compares them with stored snapshots, so a change of
wording shows up as a diff.

>>> from eincalc import walkthroughs
>>> sorted(walkthroughs.WALKTHROUGHS)
['backprop', 'chain-rule', 'sigmoid-gate']
"""

from __future__ import annotations

import dataclasses
import math
import textwrap
from collections.abc import Callable, Collection
from typing import Literal

import numpy as np

from . import build as ec
from .diff import grad
from .evaluate import evaluate
from .explain import Derivation, explain
from .expr import Expr
from .graph import Graph, graph, show
from .losses import cross_entropy
from .matrix import to_matrix
from .matrix_render import to_text as matrix_text
from .matrix_tree import Intermediate, MatrixExpr
from .printing import definitions, with_definitions

Format = Literal["text", "markdown"]


class _Page:
    """Sections of prose and derivations, rendered as text or Markdown."""

    def __init__(self, title: str, fmt: Format) -> None:
        self.fmt = fmt
        self.parts = [f"# {title}" if fmt == "markdown" else f"{title}\n{'=' * len(title)}"]

    def section(self, heading: str, *paragraphs: str) -> None:
        self.parts.append(f"## {heading}" if self.fmt == "markdown" else f"{heading}\n{'-' * len(heading)}")
        self.parts += paragraphs

    def code(self, text: str) -> None:
        self.parts.append(f"```\n{text}\n```" if self.fmt == "markdown" else textwrap.indent(text, "    "))

    def derivation(self, derivation: Derivation) -> None:
        self.parts.append(derivation.markdown() if self.fmt == "markdown" else derivation.text())

    def render(self) -> str:
        return "\n\n".join(part.rstrip() for part in self.parts) + "\n"


def inline(node: MatrixExpr, names: Collection[str]) -> MatrixExpr:
    """The matrix tree with the named intermediates ``names`` replaced by their definitions."""
    if isinstance(node, Intermediate) and node.name in names:
        return inline(node.body, names)
    changes: dict[str, object] = {}
    for item in dataclasses.fields(node):  # type: ignore[arg-type]
        value = getattr(node, item.name)
        if not item.init:
            continue
        if isinstance(value, MatrixExpr):
            changes[item.name] = inline(value, names)
        elif isinstance(value, tuple) and value and all(isinstance(v, MatrixExpr) for v in value):
            changes[item.name] = tuple(inline(v, names) for v in value)
    return dataclasses.replace(node, **changes)  # type: ignore[type-var]


def _named_forms(result: Expr, rows: bool) -> str:
    """``name = matrix form`` for each gradient named in ``result``, output side first."""
    return "\n".join(f"{d.name} = {to_matrix(d.body, rows=rows).text}" for d in definitions(result)
                     if d.adjoint is None)


# -- P2: backpropagation ------------------------------------------------------------------------


def backprop(fmt: Format = "text") -> str:
    """P2: a two-layer sigmoid network with z[j] = Σ_i W[i,j] a[i] (so z = Wᵀ a) and E = ½‖a₂ − y‖²."""
    w1, w2, x, y, a1, a2, z1, z2, da2, d2, da1, d1 = ec.tensors(
        "W1[n0,n1] W2[n1,n2] x[n0] y[n2] a1[n1] a2[n2] z1[n1] z2[n2] da2[n2] δ2[n2] da1[n1] δ1[n1]")
    page = _Page("Backpropagation, step by step (P2)", fmt)
    network = _p2_network()
    page.section("The network", "Each layer computes z[j] = Σ_i W[i,j] a[i] (z = Wᵀ a, W of shape n_in × n_out) and "
                 "then a = σ(z) entry by entry; the error is E = ½‖a₂ − y‖². In index form, with named "
                 "intermediates:")
    page.code(with_definitions(network))
    page.section("One layer's Jacobian is a rank-3 tensor, mostly zeros",
                 "Before any gradient flows, look at what one layer does to its weights.")
    page.derivation(explain(w2["j", "k"] * a1["j"], w2, kind="jacobian", name="z2"))
    page.section("The output layer: ∂E/∂a₂, then δ₂",
                 "Differentiate the error with respect to the output, then pass that gradient back through the "
                 "sigmoid. σ acts entry by entry, so its Jacobian is diagonal and the chain rule becomes a "
                 "Hadamard product; the result is called δ₂ = ∂E/∂z₂.")
    page.derivation(explain(0.5 * ec.total(ec.square(a2 - y)), a2, name="E"))
    page.derivation(explain(ec.sigmoid(z2), z2, upstream=da2, name="a2", loss="E"))
    page.section("The output layer's weights: ∂E/∂W₂ = a₁ δ₂ᵀ",
                 "With δ₂ as the upstream gradient of z₂, the weights' gradient is an outer product; the notes "
                 "say why a₁ stands first.")
    page.derivation(explain(w2["j", "k"] * a1["j"], w2, upstream=d2, name="z2", loss="E"))
    page.section("Back into the hidden layer: ∂E/∂a₁ = W₂ δ₂, δ₁ and ∂E/∂W₁ = x δ₁ᵀ",
                 "The same two rules again, one layer down: a matrix product sends δ₂ back through W₂ (no "
                 "transpose in this convention, because z sums over W's first index), then the sigmoid's "
                 "diagonal Jacobian makes δ₁, and δ₁ meets the layer's input in an outer product.")
    page.derivation(explain(w2["j", "k"] * a1["j"], a1, upstream=d2, name="z2", loss="E"))
    page.derivation(explain(ec.sigmoid(z1), z1, upstream=da1, name="a1", loss="E"))
    page.derivation(explain(w1["i", "j"] * x["i"], w1, upstream=d1, name="z1", loss="E"))
    page.section("The whole network at once",
                 "eincalc differentiates the whole network in one reverse pass; the gradients arriving at the "
                 "named intermediates are named (δ2 = ∂E/∂z2, da1 = ∂E/∂a1, …), exactly the quantities above.")
    whole = explain(network, _p2_weights()[0], name="E")
    page.derivation(whole)
    page.section("The rule", "Reading the named gradients as matrices gives the backpropagation rule "
                 "δ = f′(z) ⊙ (W_next δ_next) and ∂E/∂W = a δᵀ:")
    page.code(_named_forms(whole.result, rows=False) + f"\n∂E/∂W1 = {whole.matrix}")
    return page.render()


def _p2_weights() -> tuple[Expr, ...]:
    return ec.tensors("W1[n0,n1] W2[n1,n2] x[n0] y[n2]")


def _p2_network() -> Expr:
    w1, w2, x, y = _p2_weights()
    z1 = ec.let("z1", w1["i", "j"] * x["i"], adjoint="δ1")
    a1 = ec.let("a1", ec.sigmoid(z1), adjoint="da1")
    z2 = ec.let("z2", w2["j", "k"] * a1["j"], adjoint="δ2")
    a2 = ec.let("a2", ec.sigmoid(z2), adjoint="da2")
    return 0.5 * ec.total(ec.square(a2 - y["k"]))


# -- P3: the chain rule with row vectors --------------------------------------------------------


def chain_rule(fmt: Format = "text") -> str:
    """P3: r = x W₁ + b₁, h = σ(r), θ = h W₂ + b₂, ŷ = softmax(θ), J = −Σ y log ŷ, in row-vector form."""
    x, w1, b1, w2, b2, y, r, h, theta, d2, dh, d1 = ec.tensors(
        "x[d] W1[d,k] b1[k] W2[k,c] b2[c] y[c] r[k] h[k] θ[c] δ2[c] dh[k] δ1[k]", simplex="y")
    page = _Page("The chain rule for a softmax classifier, in row-vector form (P3)", fmt)
    network = _p3_network()
    page.section("The network", "Vectors are rows, as in the question: r = x W₁ + b₁, h = σ(r), θ = h W₂ + b₂, "
                 "ŷ = softmax(θ) and J = −Σ_i y_i log ŷ_i with y one-hot (declared to sum to one):")
    page.code(with_definitions(network))
    page.section("The loss: ∂J/∂θ = ŷ − y",
                 "Softmax and cross-entropy together have the simplest gradient of all; the step that makes it "
                 "so is Σ_i y_i = 1.")
    page.derivation(explain(cross_entropy(theta, y), theta, name="J", rows=True))
    page.section("The second layer: ∂J/∂W₂ = hᵀ δ₂, ∂J/∂b₂ = δ₂, ∂J/∂h = δ₂ W₂ᵀ",
                 "With δ₂ = ∂J/∂θ as the upstream gradient of θ = h W₂ + b₂:")
    for variable in (w2, b2, h):
        page.derivation(explain(h @ w2 + b2, variable, upstream=d2, name="θ", loss="J", rows=True))
    page.section("Through the sigmoid: δ₁ = ∂J/∂h ⊙ h ⊙ (1 − h)", "h = σ(r), and σ′(r) = σ(r)(1 − σ(r)) = h ⊙ (1 − h):")
    page.derivation(explain(ec.sigmoid(r), r, upstream=dh, name="h", loss="J", rows=True))
    page.section("The first layer: ∂J/∂x = δ₁ W₁ᵀ, ∂J/∂W₁ = xᵀ δ₁, ∂J/∂b₁ = δ₁",
                 "With δ₁ = ∂J/∂r as the upstream gradient of r = x W₁ + b₁:")
    for variable in (x, w1, b1):
        page.derivation(explain(x @ w1 + b1, variable, upstream=d1, name="r", loss="J", rows=True))
    page.section("The whole network at once", "One reverse pass through the named network gives the same "
                 "gradients, with δ₂, dh and δ₁ named:")
    whole = explain(network, _p3_inputs()[0], name="J", rows=True)
    page.derivation(whole)
    assert whole.matrix is not None
    closed = matrix_text(inline(whole.matrix.tree, {"δ1", "dh", "δ2"}))
    page.section("The closed form", "Substituting the named gradients (ŷ = softmax(θ)):")
    page.code(f"∂J/∂x = {closed}")
    return page.render()


def _p3_inputs() -> tuple[Expr, ...]:
    return ec.tensors("x[d] W1[d,k] b1[k] W2[k,c] b2[c] y[c]", simplex="y")


def _p3_network() -> Expr:
    x, w1, b1, w2, b2, y = _p3_inputs()
    r = ec.let("r", x @ w1 + b1, adjoint="δ1")
    h = ec.let("h", ec.sigmoid(r), adjoint="dh")
    theta = ec.let("θ", h @ w2 + b2, adjoint="δ2")
    return cross_entropy(theta, y)


# -- P4: a sigmoid gate -------------------------------------------------------------------------

P4_VALUES = {"w0": 2.0, "x0": -1.0, "w1": -3.0, "x1": -2.0, "w2": -3.0}
"""The point of CS231n's example: w = [2, −3, −3], x = [−1, −2]."""


def sigmoid_gate(fmt: Format = "text") -> str:
    """P4: f(w, x) = σ(w₀x₀ + w₁x₁ + w₂) at w = [2, −3, −3], x = [−1, −2], gate by gate."""
    w0, x0, w1, x1, w2, g = ec.tensors("w0 x0 w1 x1 w2 g")
    f = ec.sigmoid(w0 * x0 + w1 * x1 + w2)
    gates = graph(f, P4_VALUES).backward()
    page = _Page("A sigmoid neuron, gate by gate (P4)", fmt)
    page.section("Forward and backward through the gates",
                 "Each gate computes its value from its inputs (forward); then, from the output back, each gate "
                 "multiplies the gradient arriving from above (∂f/∂gate) by its local gradient for each input.")
    page.code(gates.text())
    page.section("What the table shows", *_gate_facts(gates))
    page.section("The add gate and the multiply gates, derived",
                 "Write s = w0 x0 + w1 x1 + w2 and let g = ∂f/∂s arrive from above.")
    s = w0 * x0 + w1 * x1 + w2
    page.derivation(explain(s, w2, upstream=g, name="s", loss="f"))
    page.derivation(explain(s, w0, upstream=g, name="s", loss="f"))
    page.section("The whole neuron", "The gradient with respect to the bias weight, symbolically:")
    page.derivation(explain(f, w2, name="f"))
    symbolic = {t.spec.name: float(evaluate(grad(f, t), P4_VALUES)) for t in (w0, w1, w2, x0, x1)}
    page.section("The numbers", f"∂f/∂x = [{_n(symbolic['x0'])}, {_n(symbolic['x1'])}] and ∂f/∂w = "
                 f"[{_n(symbolic['w0'])}, {_n(symbolic['w1'])}, {_n(symbolic['w2'])}], from the symbolic "
                 "gradients evaluated at the point; the graph above gives the same.",
                 *_question_bugs(float(evaluate(f, P4_VALUES))))
    page.section("The picture", "Graphviz DOT (value in green, gradient in red on each wire); render it with "
                 "`dot -Tsvg`, or call .svg() on the graph when Graphviz is installed:")
    page.code(gates.dot())
    return page.render()


def _n(value: float) -> str:
    return f"{value:.3f}"


def _gate_facts(gates: Graph) -> list[str]:
    """Sentences read off the evaluated graph."""
    facts = [f"The output is f = {show(gates.output.value)}."]
    for node in gates.nodes:
        inputs = [gates.nodes[k] for k in node.inputs]
        if node.gate == "+":
            passed = [c.name for c, local in zip(inputs, node.local, strict=True) if local is not None
                      and np.allclose(local, 1.0)]
            facts.append(f"The add gate {node.name} has local gradient 1 for each input, so it passes its gradient "
                         f"{show(node.gradient)} unchanged to {', '.join(passed)}.")
        if node.gate == "×" and len(inputs) == 2:
            (a, b), (da, db) = inputs, node.local
            facts.append(f"The multiply gate {node.name} swaps its inputs: ∂{node.name}/∂{a.name} = {show(da)} is "
                         f"the value of {b.name}, and ∂{node.name}/∂{b.name} = {show(db)} the value of {a.name}.")
        if node is gates.output:
            (local,) = node.local
            value = float(node.value)
            facts.append(f"The sigmoid gate's local gradient, from its reverse rule, is {show(local)}; that is "
                         f"(1 − f) f = {show(value * (1 - value))}, the factor every gradient below it carries.")
    return facts


def _question_bugs(f: float) -> list[str]:
    written = 1 / 1 + math.exp(-1.0)
    return [f"Two slips to avoid (they are in the question's code): `1 / 1 + math.exp(-product)` is "
            f"1 + e^(−product) = {written:.3f} at this point, not σ = {f:.3f} (it needs "
            "`1 / (1 + math.exp(-product))`); and the gradient of σ is (1 − σ) σ, not σ itself."]


WALKTHROUGHS: dict[str, Callable[[Format], str]] = {
    "backprop": backprop,
    "chain-rule": chain_rule,
    "sigmoid-gate": sigmoid_gate,
}
"""The walk-throughs by the name the command line uses."""
