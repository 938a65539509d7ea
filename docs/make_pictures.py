"""Draw the pictures the documentation shows: ``python docs/make_pictures.py``.

Needs matplotlib (``pip install "eincalc[plot]"``) for the Jacobian heat map and
the Graphviz program ``dot`` for the computational graph; the pages' text does
not depend on either, and the pictures are committed.
"""

from __future__ import annotations

from pathlib import Path

import eincalc as ec
from eincalc.cli.walkthroughs import commands

IMAGES = Path(__file__).resolve().parent / "images"


def jacobian_picture(path: Path) -> None:
    """∂z2[k]/∂W2[p,q] of the backpropagation walk-through: one slice per k."""
    W2, a1 = ec.tensors("W2[n1,n2] a1[n1]")  # noqa: N806 - a matrix
    jacobian = ec.jacobian(W2["j", "k"] * a1["j"], W2)
    figure = ec.plot_jacobian(jacobian, {"a1": [1.0, -2.0, 0.5, 3.0]}, dims={"n2": 3})
    figure.savefig(path, dpi=90)


def graph_picture(path: Path) -> None:
    """The sigmoid neuron of the sigmoid-gate walk-through, after the backward pass."""
    w0, x0, w1, x1, w2 = ec.tensors("w0 x0 w1 x1 w2")
    arguments = commands("sigmoid-gate")[0]  # the point the walk-through's command gives with --values
    point = {name: float(value) for name, value in (a.split("=") for a in arguments[arguments.index("--values") + 1 :])}
    gates = ec.graph(ec.sigmoid(w0 * x0 + w1 * x1 + w2), point).backward()
    path.write_text(gates.svg(), encoding="utf-8")


if __name__ == "__main__":
    IMAGES.mkdir(exist_ok=True)
    jacobian_picture(IMAGES / "jacobian-rank3.png")
    graph_picture(IMAGES / "sigmoid-gate.svg")
