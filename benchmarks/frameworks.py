"""The same computations in PyTorch (eager autograd, ``torch.func``) and JAX (``jax.jit``), where installed.

Each method returns ``{"PyTorch": fn, "JAX": fn}``, with ``"not installed"`` in
place of a function for a framework that is missing.  Every function returns
NumPy arrays so :mod:`run` can check it against the NumPy reference.
"""

# ruff: noqa: N803 - matrices are capitals (W, X), as in the formulas they stand for

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from typing import Any

import numpy as np

Variant = Callable[[], Any] | str
MISSING = "not installed"


class Frameworks:
    """Framework variants of each benchmark; ``threads`` pins PyTorch's intra-op threads like BLAS's."""

    def __init__(self, threads: int) -> None:
        self.torch: Any = None
        self.jax: Any = None
        if importlib.util.find_spec("torch") is not None:
            import torch

            torch.set_num_threads(threads)
            self.torch = torch
        if importlib.util.find_spec("jax") is not None:
            import jax

            jax.config.update("jax_enable_x64", True)
            self.jax = jax

    def _both(self, torch_variant: Callable[[], Variant], jax_variant: Callable[[], Variant]) -> dict[str, Variant]:
        return {"PyTorch": torch_variant() if self.torch else MISSING, "JAX": jax_variant() if self.jax else MISSING}

    def _tensors(self, values: dict[str, np.ndarray], grad: tuple[str, ...] = ()) -> dict[str, Any]:
        return {k: self.torch.tensor(v, requires_grad=k in grad) for k, v in values.items()}

    # -- B1 ---------------------------------------------------------------------------------------

    def mlp(self, values: dict[str, np.ndarray]) -> dict[str, Variant]:
        names = ("W1", "b1", "W2", "b2", "W3", "b3")

        def torch_variant() -> Variant:
            torch, t = self.torch, self._tensors(values, names)

            def run() -> Any:
                h1 = torch.sigmoid(t["X"] @ t["W1"] + t["b1"])
                h2 = torch.sigmoid(h1 @ t["W2"] + t["b2"])
                loss = -(t["Y"] * torch.log_softmax(h2 @ t["W3"] + t["b3"], dim=1)).sum()
                return [g.numpy() for g in torch.autograd.grad(loss, [t[n] for n in names])]

            return run

        def jax_variant() -> Variant:
            jax, jnp = self.jax, self.jax.numpy

            def loss(params: tuple[Any, ...], X: Any, Y: Any) -> Any:
                W1, b1, W2, b2, W3, b3 = params
                h1 = jax.nn.sigmoid(X @ W1 + b1)
                h2 = jax.nn.sigmoid(h1 @ W2 + b2)
                return -(Y * jax.nn.log_softmax(h2 @ W3 + b3, axis=1)).sum()

            step = jax.jit(jax.grad(loss))
            params = tuple(jnp.asarray(values[n]) for n in names)
            X, Y = jnp.asarray(values["X"]), jnp.asarray(values["Y"])
            return lambda: [np.asarray(g) for g in jax.block_until_ready(step(params, X, Y))]

        return self._both(torch_variant, jax_variant)

    # -- B3 ---------------------------------------------------------------------------------------

    def quadratic_hessian(self, values: dict[str, np.ndarray]) -> dict[str, Variant]:
        return self._hessians(values, "x", lambda lib, v: v["x"] @ v["A"] @ v["x"])

    def logistic_hessian(self, values: dict[str, np.ndarray]) -> dict[str, Variant]:
        def loss(lib: Any, v: dict[str, Any]) -> Any:
            return lib.log1p(lib.exp(-v["y"] * (v["X"] @ v["w"]))).sum()

        return self._hessians(values, "w", loss)

    def _hessians(
        self, values: dict[str, np.ndarray], wrt: str, loss: Callable[[Any, dict[str, Any]], Any]
    ) -> dict[str, Variant]:
        def torch_variant() -> Variant:
            torch, t = self.torch, self._tensors(values)
            hessian = torch.func.hessian(lambda x: loss(torch, {**t, wrt: x}))
            return lambda: hessian(t[wrt]).numpy()

        def jax_variant() -> Variant:
            jax, jnp = self.jax, self.jax.numpy
            arrays = {k: jnp.asarray(v) for k, v in values.items()}
            hessian = jax.jit(jax.hessian(lambda x: loss(jnp, {**arrays, wrt: x})))
            return lambda: np.asarray(jax.block_until_ready(hessian(arrays[wrt])))

        return self._both(torch_variant, jax_variant)

    # -- B4 ---------------------------------------------------------------------------------------

    def attention(self, values: dict[str, np.ndarray]) -> dict[str, Variant]:
        scale = 1 / np.sqrt(values["Q"].shape[1])

        def torch_variant() -> Variant:
            torch, t = self.torch, self._tensors(values, ("Q", "K", "V"))

            def run() -> Any:
                S = torch.softmax(t["Q"] @ t["K"].T * scale, dim=1)
                loss = (S @ t["V"] * t["G"]).sum()
                return [g.numpy() for g in torch.autograd.grad(loss, [t["Q"], t["K"], t["V"]])]

            return run

        def jax_variant() -> Variant:
            jax, jnp = self.jax, self.jax.numpy

            def loss(Q: Any, K: Any, V: Any, G: Any) -> Any:
                return (jax.nn.softmax(Q @ K.T * scale, axis=1) @ V * G).sum()

            step = jax.jit(jax.grad(loss, argnums=(0, 1, 2)))
            arrays = [jnp.asarray(values[n]) for n in "QKVG"]
            return lambda: [np.asarray(g) for g in jax.block_until_ready(step(*arrays))]

        return self._both(torch_variant, jax_variant)

    # -- least squares ------------------------------------------------------------------------------

    def least_squares(self, values: dict[str, np.ndarray]) -> dict[str, Variant]:
        def torch_variant() -> Variant:
            torch, t = self.torch, self._tensors(values, ("W",))

            def run() -> Any:
                loss = ((t["X"] @ t["W"] - t["Y"]) ** 2).sum()
                (gradient,) = torch.autograd.grad(loss, [t["W"]])
                return [loss.detach().numpy(), gradient.numpy()]

            return run

        def jax_variant() -> Variant:
            jax, jnp = self.jax, self.jax.numpy
            step = jax.jit(jax.value_and_grad(lambda W, X, Y: ((X @ W - Y) ** 2).sum()))
            W, X, Y = (jnp.asarray(values[n]) for n in "WXY")
            return lambda: [np.asarray(r) for r in jax.block_until_ready(step(W, X, Y))]

        return self._both(torch_variant, jax_variant)
