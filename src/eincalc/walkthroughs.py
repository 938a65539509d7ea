"""The three worked answers: backpropagation (P2), the chain rule in row-vector form (P3), a sigmoid gate (P4).

Each walk-through is what a learner gets by typing the network of the question
into the command line: the command (``eincalc explain …`` with ``--let`` for
the layers and ``--values`` for numbers) and the explanation it prints, every
formula and number in it computed, nothing typed in by hand except the
headings, the commands and the sentences that connect them.  ``eincalc
walkthrough NAME`` prints them; the test suite compares them with stored
snapshots, so a change of wording shows up as a diff.

>>> from eincalc import walkthroughs
>>> sorted(walkthroughs.WALKTHROUGHS)
['backprop', 'chain-rule', 'sigmoid-gate']
>>> print(walkthroughs.command(walkthroughs.P4_COMMAND))  # doctest: +NORMALIZE_WHITESPACE
eincalc explain 'σ(s)' --tensors 'w0 x0 w1 x1 w2' --let 's=w0 x0 + w1 x1 + w2' --wrt w2
    --values w0=2 x0=-1 w1=-3 x1=-2 w2=-3
"""

from __future__ import annotations

import math
import shlex
import textwrap
from collections.abc import Callable, Sequence
from typing import Literal

from .cli import explanation
from .explain import Derivation

Format = Literal["text", "markdown"]

P2_LAYER = ("sigmoid(z)", "--tensors", "W[nin,nout] a[nin] g[nout]", "--let", "z=W[i,j] a[i]", "--wrt", "a",
            "--upstream", "g")
"""One layer of the first question, z[j] = Σ_i W[i,j] a[i] (z = Wᵀ a), a' = σ(z), back to a."""
P2_COMMAND = ("0.5 * sum(square(a2 - y))", "--tensors", "W1[n0,n1] W2[n1,n2] x[n0] y[n2]",
              "--let", "z1=W1[i,j] x[i]", "--let", "a1=sigmoid(z1)", "--let", "z2=W2[j,k] a1[j]",
              "--let", "a2=sigmoid(z2)", "--wrt", "W1", "--name", "E")
"""The whole two-layer network of the first question, E = ½‖a₂ − y‖², back to the first weights."""
P3_COMMAND = ("cross_entropy(θ, y)", "--tensors", "x[d] W1[d,k] b1[k] W2[k,c] b2[c] y[c]", "--simplex", "y",
              "--let", "r=x @ W1 + b1", "--let", "h=sigmoid(r)", "--let", "θ=h @ W2 + b2", "--wrt", "x",
              "--rows", "--name", "J")
"""The row-vector network of the second question, back to the input."""
P4_VALUES = {"w0": 2.0, "x0": -1.0, "w1": -3.0, "x1": -2.0, "w2": -3.0}
"""The point of CS231n's example: w = [2, −3, −3], x = [−1, −2]."""
P4_COMMAND = ("σ(s)", "--tensors", "w0 x0 w1 x1 w2", "--let", "s=w0 x0 + w1 x1 + w2", "--wrt", "w2",
              "--values", *(f"{name}={value:g}" for name, value in P4_VALUES.items()))
"""The sigmoid neuron of the third question, at its point, back to the bias weight."""


def command(arguments: Sequence[str]) -> str:
    """The shell command ``eincalc explain ARGUMENTS``."""
    return shlex.join(("eincalc", "explain", *arguments))


class _Page:
    """Sections of prose, commands and derivations, rendered as text or Markdown."""

    def __init__(self, title: str, fmt: Format) -> None:
        self.fmt = fmt
        self.parts = [f"# {title}" if fmt == "markdown" else f"{title}\n{'=' * len(title)}"]

    def section(self, heading: str, *paragraphs: str) -> None:
        self.parts.append(f"## {heading}" if self.fmt == "markdown" else f"{heading}\n{'-' * len(heading)}")
        self.parts += paragraphs

    def code(self, text: str) -> None:
        self.parts.append(f"```\n{text}\n```" if self.fmt == "markdown" else textwrap.indent(text, "    "))

    def run(self, arguments: Sequence[str]) -> Derivation:
        """Show the command, then what it prints."""
        self.code("$ " + command(arguments))
        derivation = explanation(arguments)
        self.parts.append(derivation.markdown() if self.fmt == "markdown" else derivation.text())
        return derivation

    def render(self) -> str:
        return "\n\n".join(part.rstrip() for part in self.parts) + "\n"


def _notes(derivation: Derivation, rule: str) -> tuple[str, ...]:
    return next((step.notes for step in derivation.steps if step.rule == rule), ())


# -- P2: backpropagation ------------------------------------------------------------------------


def backprop(fmt: Format = "text") -> str:
    """P2: z[j] = Σ_i W[i,j] a[i] (so z = Wᵀ a), a' = σ(z); one layer, then two layers with E = ½‖a₂ − y‖²."""
    page = _Page("Backpropagation, step by step (P2)", fmt)
    page.section("The question", "A layer computes z[j] = Σ_i W[i,j] a[i] (z = Wᵀ a with W of shape n_in × "
                 "n_out), then a' = σ(z). Backpropagation says δ = f′(z) ⊙ (W_next δ_next) and ∂E/∂W = a δᵀ: "
                 "why is one product a Hadamard product and the other a matrix product, and why do the factors "
                 "stand in that order? Type the layer in, naming z with --let, and eincalc answers layer by "
                 "layer: each Jacobian, the chain rule as a contraction over named indices, where the deltas go, "
                 "and why the matrix form has each ⊙, ᵀ and order.")
    page.section("One layer, back to its input", "With g = ∂L/∂a' arriving from above:")
    page.run(P2_LAYER)
    page.section("The whole network", "Two layers and the error E = ½‖a₂ − y‖², back to the first weights; every "
                 "layer's gradient gets a name (dz1 = ∂E/∂z1 is the δ₁ of the question):")
    whole = page.run(P2_COMMAND)
    page.section("The rule", "Read off the named gradients: δ = f′(z) ⊙ (W_next δ_next) and ∂E/∂W = a δᵀ.")
    page.code("\n".join((*_notes(whole, "assemble")[:-1], f"∂E/∂W1 = {whole.matrix}")))
    return page.render()


# -- P3: the chain rule with row vectors --------------------------------------------------------


def chain_rule(fmt: Format = "text") -> str:
    """P3: r = x W₁ + b₁, h = σ(r), θ = h W₂ + b₂, ŷ = softmax(θ), J = −Σ y log ŷ, in row-vector form."""
    page = _Page("The chain rule for a softmax classifier, in row-vector form (P3)", fmt)
    page.section("The question", "Vectors are rows: r = x W₁ + b₁, h = σ(r), θ = h W₂ + b₂, ŷ = softmax(θ) and "
                 "J = −Σ_i y_i log ŷ_i with y one-hot. Why is ∂J/∂x = (((ŷ − y) W₂ᵀ) ⊙ h ⊙ (1 − h)) W₁ᵀ? Type the "
                 "network in with its layers named (--let), y declared to sum to one (--simplex y) and vectors "
                 "read as rows (--rows):")
    whole = page.run(P3_COMMAND)
    page.section("The closed form", "Substituting the named gradients, with ŷ = softmax(θ):")
    page.code(_notes(whole, "assemble")[-1].removeprefix("Substituting them: "))
    return page.render()


# -- P4: a sigmoid gate -------------------------------------------------------------------------


def sigmoid_gate(fmt: Format = "text") -> str:
    """P4: f(w, x) = σ(w₀x₀ + w₁x₁ + w₂) at w = [2, −3, −3], x = [−1, −2], gate by gate."""
    page = _Page("A sigmoid neuron, gate by gate (P4)", fmt)
    page.section("The question", "For f(w, x) = σ(w₀x₀ + w₁x₁ + w₂) at w = [2, −3, −3], x = [−1, −2]: where do "
                 "the numbers on the wires of the computational graph come from, and why does the bias weight w₂ "
                 "get (1 − f) f · 1? Type the neuron in, with its sum named s and the values given:")
    derivation = page.run(P4_COMMAND)
    assert derivation.graph is not None
    gates = derivation.graph
    page.section("Two slips to avoid", _question_bugs(float(gates.node("s").value), float(gates.output.value)))
    page.section("The picture", "Graphviz DOT (value in green, gradient in red on each wire); render it with "
                 "`dot -Tsvg`, or call .svg() on ec.graph(…) when Graphviz is installed:")
    page.code(derivation.graph.dot())
    return page.render()


def _question_bugs(product: float, f: float) -> str:
    written = 1 / 1 + math.exp(-product)
    return (f"The question's code has two: `1 / 1 + math.exp(-product)` is 1 + e^(−product) = {written:.3f} at "
            f"this point, not σ = {f:.3f} (it needs `1 / (1 + math.exp(-product))`); and the gradient of σ is "
            "(1 − σ) σ, not σ itself.")


WALKTHROUGHS: dict[str, Callable[[Format], str]] = {
    "backprop": backprop,
    "chain-rule": chain_rule,
    "sigmoid-gate": sigmoid_gate,
}
"""The walk-throughs by the name the command line uses."""
