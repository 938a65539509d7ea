"""Pictures of Jacobians: `plot_jacobian()` draws a tensor's slices as heat maps.

A Jacobian such as ``∂z[i]/∂W[p,q] = δ[i,p] a[q]`` has rank 3; drawing one
``p × q`` slice per value of ``i`` shows at a glance that it is mostly zeros
(each slice has one non-zero row).  Zero is white, positive red, negative blue,
on one colour scale for all slices.

Needs matplotlib (``pip install "eincalc[plot]"``), imported only when called;
the function returns a `matplotlib.figure.Figure` and touches no global
pyplot state, so ``figure.savefig("jacobian.png")`` works anywhere.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from ..core.arguments import require_mapping, require_sizes, require_text
from ..core.errors import ShapeError, UnsupportedError
from ..core.expr import Expr
from ..frontend.printing import to_text
from ..numeric.binding import as_array
from ..numeric.evaluate import evaluate
from ..testing import sizes_of

MAX_PANELS = 36
"""Most slices drawn in one figure."""


def plot_jacobian(
    jacobian: Expr | Any,
    values: Mapping[str, Any] | None = None,
    *,
    dims: Mapping[str, int] | None = None,
    title: str | None = None,
) -> Any:
    """Heat maps of the slices of ``jacobian`` (an expression evaluated at ``values``, or an array).

    Rank ≤ 2 gives one panel; rank 3 one panel per value of the first index;
    rank 4 a grid over the first two.  ``dims`` gives sizes that no tensor in
    the expression carries (``δ[i,p]`` alone does not say how large ``i`` is).
    """
    if title is not None:
        require_text(title, "title", "'∂z/∂W'")
    given = {} if values is None else require_mapping(values, "values", "tensor names to arrays, like {'W': W_value}")
    array, labels, heading = _array(jacobian, given, dims)
    if array.ndim > 4:
        raise ShapeError(f"cannot draw a rank-{array.ndim} tensor; plot_jacobian draws rank 4 at most")
    grid = array.shape[: max(array.ndim - 2, 0)]
    rows, cols = grid if len(grid) == 2 else (1, grid[0] if grid else 1)
    if rows * cols > MAX_PANELS:
        raise ShapeError(f"{rows * cols} slices to draw (at most {MAX_PANELS}); evaluate with smaller sizes")
    figure_class = _figure_class()
    figure = figure_class(figsize=(2.2 * cols + 0.8, 2.2 * rows + 0.6), layout="constrained")
    axes = figure.subplots(rows, cols, squeeze=False)
    scale = float(np.max(np.abs(array), initial=0.0)) or 1.0
    image = None
    for position in np.ndindex(*grid) if grid else [()]:
        panel = axes[position if len(position) == 2 else (0, position[0] if position else 0)]
        piece = np.atleast_2d(array[position])
        image = panel.imshow(piece, cmap="RdBu_r", vmin=-scale, vmax=scale)
        panel.set_xticks(range(piece.shape[1]))
        panel.set_yticks(range(piece.shape[0]))
        if position:
            panel.set_title(", ".join(f"{labels[k]} = {n}" for k, n in enumerate(position)), fontsize=9)
        trailing = labels[len(grid) :]
        panel.set_xlabel(trailing[-1] if trailing else "")
        panel.set_ylabel(trailing[0] if len(trailing) == 2 else "")
    nonzero = int(np.count_nonzero(array))
    figure.suptitle(f"{title or heading}: {nonzero} of {array.size} entries non-zero", fontsize=10)
    figure.colorbar(image, ax=axes, shrink=0.8)
    return figure


def _array(
    jacobian: Any, values: Mapping[str, Any], dims: Mapping[str, int] | None
) -> tuple[np.ndarray, list[str], str]:
    if isinstance(jacobian, Expr):
        sizes = {**sizes_of(jacobian, values), **require_sizes(dims)}
        array = np.asarray(evaluate(jacobian, values, dims=sizes), dtype=float)
        return array, [k.name for k in jacobian.free], to_text(jacobian)
    array = np.asarray(as_array("the Jacobian", jacobian), dtype=float)
    return array, [f"axis {k}" for k in range(array.ndim)], f"array of shape {array.shape}"


def _figure_class() -> Any:
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise UnsupportedError('plot_jacobian needs matplotlib: pip install "eincalc[plot]"') from None
    return Figure
