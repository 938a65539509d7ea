"""The compiled logistic-regression gradient on Dask makes one pass over X (issue 14, item 7).

Written as the simplifier prints it, ``Xᵀ σ(X w) − Xᵀ y`` contracts X over its rows twice, so Dask must hold
every chunk of X until both contractions used it; lowered factored, ``Xᵀ (σ(X w) − y)``, each chunk is read
by the forward product and one reduction, as in the hand-written dask.array version.
benchmarks/dask_scale.py measures what that means for worker memory at 10,000,000 rows.
"""

# ruff: noqa: N803 - matrices are capitals (X), as in the formulas they stand for

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import eincalc as ec

da = pytest.importorskip("dask.array")


def _gradient() -> ec.CompiledFunction:
    X, y, w = ec.tensors("X[b,n] y[b] w[n]")
    return ec.compile(ec.grad(ec.binary_cross_entropy(X @ w, y), w))


def _inputs(chunks: int, rows: int = 50, cols: int = 4) -> tuple[Any, Any, np.ndarray]:
    """X and y made by Dask tasks (as on a cluster's workers), in ``chunks`` row blocks; w in NumPy."""
    X = da.random.default_rng(0).standard_normal((chunks * rows, cols), chunks=(rows, cols))
    y = (da.random.default_rng(1).random(chunks * rows, chunks=rows) < 0.5).astype(np.float64)
    return X, y, np.linspace(-0.5, 0.5, cols)


def _hand(X: Any, y: Any, w: np.ndarray) -> Any:
    return X.T @ (1 / (1 + da.exp(-(X @ w))) - y)


def _readers_of_each_chunk(result: Any, X: Any) -> set[int]:
    """How many tasks read each chunk of X, over all chunks."""
    from dask.core import get_dependencies

    graph = dict(result.__dask_graph__())
    readers = dict.fromkeys((key for row in X.__dask_keys__() for key in row), 0)  # X has one column block
    for key in graph:
        for dependency in get_dependencies(graph, key):
            if dependency in readers:
                readers[dependency] += 1
    return set(readers.values())


def test_the_compiled_gradient_runs_on_a_local_cluster_and_reads_each_chunk_of_x_as_the_hand_version_does() -> None:
    distributed = pytest.importorskip("distributed")
    X, y, w = _inputs(chunks=6)
    lazy = _gradient()(X=X, y=y, w=w)
    assert isinstance(lazy, da.Array)
    assert _readers_of_each_chunk(lazy, X) == _readers_of_each_chunk(_hand(X, y, w), X) == {2}  # X w, then Xᵀ(…)
    with (
        distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=":0") as cluster,
        distributed.Client(cluster) as client,
    ):
        got, X_, y_ = client.compute([lazy, X, y], sync=True)
    np.testing.assert_allclose(got, X_.T @ (1 / (1 + np.exp(-(X_ @ w))) - y_), rtol=1e-12)


def _most_chunks_held(result: Any) -> int:
    """The most task outputs Dask's static ordering holds at once while computing ``result``."""
    from dask.order import diagnostics

    _, held = diagnostics(dict(result.__dask_graph__()))
    return max(held)


@pytest.mark.parametrize("chunks", [32, 128])
def test_dask_holds_no_more_of_x_than_the_hand_written_gradient(chunks: int) -> None:
    """Dask's own ordering (``dask.order``), no timing: the split form holds about one output per chunk."""
    X, y, w = _inputs(chunks)
    held = _most_chunks_held(_gradient()(X=X, y=y, w=w))
    assert held == _most_chunks_held(_hand(X, y, w))
    assert held < chunks / 2 < _most_chunks_held(X.T @ (1 / (1 + da.exp(-(X @ w)))) - X.T @ y)
