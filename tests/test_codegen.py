"""Generated NumPy source: readable, standalone (runs where eincalc is not installed), and right."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from numpy.testing import assert_allclose

import eincalc as ec
from custom_nodes import opaque_node
from eincalc.core.errors import UnsupportedError
from eincalc.core.expr import Expr
from eincalc.core.indices import Index
from eincalc.strategies import Problem, problems
from test_compile import mlp, mlp_values


def load(source: str, folder: Path, name: str = "generated") -> ModuleType:
    path = folder / f"{name}.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def attention() -> tuple[list[Expr], tuple[Expr, ...]]:
    Q, K, V, G = ec.tensors("Q[t,d] K[s,d] V[s,e] G[t,e]")
    S = ec.let("S", ec.softmax(Q @ K.T * 0.125, axis=1))
    loss = ec.sum(S @ V * G)
    return [ec.grad(loss, x) for x in (Q, K, V)], (Q, K, V, G)


def test_mlp_gradients_read_like_hand_written_backprop() -> None:
    loss, grads, _ = mlp()
    source = ec.codegen([loss, *grads], name="mlp_gradients")
    assert "def mlp_gradients(" in source and "einsum" not in source
    assert "h1 = " in source and "dh1 = " in source  # named intermediates keep their names
    assert "X.T @ " in source and ".sum(axis=0)" in source
    assert "import eincalc" not in source and "from eincalc" not in source


def test_generated_source_runs_without_eincalc(tmp_path: Path) -> None:
    loss, grads, _ = mlp()
    attention_grads, _ = attention()
    X, W, Y = ec.tensors("X[b,n] W[n,m] Y[b,m]")
    cases: dict[str, tuple[list[Expr], dict[str, np.ndarray]]] = {
        "mlp": ([loss, *grads], mlp_values(7)),
        "least_squares": (
            [ec.grad(ec.sum((X @ W - Y) ** 2), W)],
            {"X": np.arange(12.0).reshape(4, 3), "W": np.ones((3, 2)), "Y": np.ones((4, 2))},
        ),
        "attention": (
            attention_grads,
            {
                "Q": np.linspace(-1, 1, 12).reshape(4, 3),
                "K": np.linspace(0, 1, 15).reshape(5, 3),
                "V": np.linspace(-2, 1, 10).reshape(5, 2),
                "G": np.linspace(1, 2, 8).reshape(4, 2),
            },
        ),
    }
    runner = [
        "import sys, numpy as np",
        "sys.modules['eincalc'] = None  # any import of eincalc now fails",
        "sys.path.insert(0, '.')",
    ]
    for name, (exprs, values) in cases.items():
        (tmp_path / f"{name}.py").write_text(ec.codegen(exprs, name="compute"))
        np.savez(tmp_path / f"{name}_in.npz", **values)
        runner += [
            f"import {name}",
            f"inputs = np.load('{name}_in.npz')",
            f"out = {name}.compute(**{{k: inputs[k] for k in inputs.files}})",
            "out = out if isinstance(out, tuple) else (out,)",
            f"np.savez('{name}_out.npz', *out)",
        ]
    (tmp_path / "runner.py").write_text("\n".join(runner) + "\n")
    subprocess.run(
        [sys.executable, "-I", "runner.py"],
        cwd=tmp_path,
        check=True,
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin"},
    )
    for name, (exprs, values) in cases.items():
        saved = np.load(tmp_path / f"{name}_out.npz")
        expected = ec.compile(exprs)(values)
        for n, want in enumerate(expected):
            assert_allclose(saved[f"arr_{n}"], want, rtol=1e-10, atol=1e-12, err_msg=f"{name} output {n}")


def test_parameters_follow_the_inputs_then_free_sizes(tmp_path: Path) -> None:
    (x,) = ec.tensors("x[n]")
    b = Index("b", "batch")
    broadcast = ec.core.nodes.Contract((x["i"], ec.core.nodes.One(b)), (b, Index("i", "n")))
    source = ec.codegen(broadcast, name="spread")
    assert "def spread(x, batch):" in source
    module = load(source, tmp_path)
    assert_allclose(module.spread(np.arange(3.0), 2), np.tile(np.arange(3.0), (2, 1)))
    fixed = load(ec.codegen(broadcast, name="spread", dims={"batch": 4}), tmp_path, "fixed")
    assert fixed.spread(np.arange(3.0)).shape == (4, 3)


def test_a_node_kind_without_numpy_spelling_is_refused() -> None:
    Mystery = opaque_node("Mystery")
    (x,) = ec.tensors("x[n]")
    with pytest.raises(UnsupportedError, match="no NumPy spelling for Mystery nodes"):
        ec.codegen(Mystery(x))
    with pytest.raises(UnsupportedError, match="not a valid Python function name"):
        ec.codegen(x, name="def")


@pytest.mark.parametrize("dims", [{}, {"m": 4}])
def test_a_size_used_as_a_number_is_a_float_so_a_negative_power_of_it_computes(
    tmp_path: Path, dims: dict[str, int]
) -> None:
    (x,) = ec.tensors("x[m]")
    power = ec.parse("(-relu(size(m)))**(-1)", x)  # found by the property test below
    source = ec.codegen(power, name="compute", dims=dims)
    module = load(source, tmp_path)
    got = module.compute(4) if not dims else module.compute()
    assert_allclose(got, -0.25, rtol=1e-15)
    assert "float(m)" in source if not dims else "4.0" in source


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(problems(max_depth=3))
def test_generated_code_computes_what_compile_computes(tmp_path: Path, problem: Problem) -> None:
    module = load(ec.codegen(problem.expr, name="compute", dims=problem.sizes), tmp_path)
    names = [p for p in module.compute.__code__.co_varnames[: module.compute.__code__.co_argcount]]
    got = module.compute(*(problem.values[n] for n in names))
    expected = ec.compile(problem.expr, dims=problem.sizes)(problem.values)
    assert_allclose(got, expected, rtol=1e-9, atol=1e-12)
