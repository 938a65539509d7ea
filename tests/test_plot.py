"""Heat maps of Jacobians (matplotlib is optional: the drawing tests skip without it)."""

from __future__ import annotations

import sys

import numpy as np
import pytest

import eincalc as ec


def test_without_matplotlib_the_error_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    W, a = ec.tensors("W[m,n] a[n]")
    with pytest.raises(ec.UnsupportedError, match=r'pip install "eincalc\[plot\]"'):
        ec.plot_jacobian(ec.jacobian(W @ a, W), {"a": np.ones(3)}, dims={"m": 2})


def test_rank_three_jacobian_draws_one_slice_per_output_entry() -> None:
    pytest.importorskip("matplotlib")
    W, a = ec.tensors("W[m,n] a[n]")
    figure = ec.plot_jacobian(ec.jacobian(W @ a, W), {"a": np.array([1.0, -2.0, 0.5])}, dims={"m": 2})
    panels = [ax for ax in figure.axes if ax.get_label() != "<colorbar>"]
    assert len(panels) == 2
    assert [p.get_title() for p in panels] == ["i = 0", "i = 1"]
    assert panels[0].get_xlabel() == "q" and panels[0].get_ylabel() == "p"
    assert figure._suptitle.get_text() == "δ[i,p] a[q]: 6 of 12 entries non-zero"
    first = np.asarray(panels[0].images[0].get_array())
    np.testing.assert_allclose(first, [[1.0, -2.0, 0.5], [0.0, 0.0, 0.0]])


def test_rank_four_draws_a_grid_and_arrays_are_accepted() -> None:
    pytest.importorskip("matplotlib")
    X, V = ec.tensors("X[B,n] V[n,m]")
    figure = ec.plot_jacobian(ec.jacobian(X @ V, V), {"X": np.ones((2, 3))}, dims={"m": 2}, title="∂Z/∂V")
    assert len([ax for ax in figure.axes if ax.get_label() != "<colorbar>"]) == 4
    assert figure._suptitle.get_text().startswith("∂Z/∂V: 12 of 24")
    assert len(ec.plot_jacobian(np.eye(3)).axes) == 2  # one panel and its colour bar


def test_too_many_axes_or_slices() -> None:
    pytest.importorskip("matplotlib")
    with pytest.raises(ec.ShapeError, match="rank 4 at most"):
        ec.plot_jacobian(np.zeros((1, 1, 1, 1, 1)))
    with pytest.raises(ec.ShapeError, match="slices to draw"):
        ec.plot_jacobian(np.zeros((40, 2, 2)))
