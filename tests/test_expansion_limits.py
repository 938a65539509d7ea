"""``expand-to-collect`` does bounded work: it counts the terms a sum would multiply out into, once per node,
before it multiplies anything out.

The chain ``y = exp(y) ⊙ y``, repeated, has a gradient whose sums share their
sub-expressions at every layer; multiplying them out as a tree took time
exponential in the depth (4.8 s at 15 layers, over a minute at 20).  Counts,
not timings: the calls that multiply out stay within a fixed number per layer.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

import eincalc as ec
from eincalc.calculus import cancel
from eincalc.core.expr import Expr
from eincalc.core.nodes import Add

CALLS_PER_LAYER = 40
"""At most this many `_monomials` calls per layer of the chain (about 20 today)."""


def exp_times_chain(name: str, depth: int) -> tuple[Expr, ec.Tensor]:
    """``Σ y`` for ``y = exp(y) ⊙ y`` repeated ``depth`` times from ``y = name[n]``, and that tensor."""
    (x,) = ec.tensors(f"{name}[n]")
    y: Expr = x
    for _ in range(depth):
        y = ec.exp(y) * y
    return ec.sum(y), x


def budgeted(function: Callable[[Expr], list[Expr]], budget: int) -> Callable[[Expr], list[Expr]]:
    """``function``, failing at once when called more than ``budget`` times (an exponential blow-up fails fast)."""
    calls = 0

    def counted(term: Expr) -> list[Expr]:
        nonlocal calls
        calls += 1
        if calls > budget:
            pytest.fail(f"_monomials called more than {budget} times")
        return function(term)

    return counted


@pytest.mark.parametrize(("name", "depth"), [("u", 30), ("v", 60), ("w", 200)])
def test_multiplying_out_a_deep_chain_is_linear_in_its_depth(
    monkeypatch: pytest.MonkeyPatch, name: str, depth: int
) -> None:
    """Each depth uses its own tensor, so no node is shared with (and simplified by) another case."""
    loss, x = exp_times_chain(name, depth)
    monkeypatch.setattr(cancel, "_monomials", budgeted(cancel._monomials, CALLS_PER_LAYER * depth))
    ec.grad(loss, x)


def test_the_gradient_of_a_deep_chain_is_that_of_finite_differences() -> None:
    """At negative ``x`` every layer stays in (−1, 0), so the numbers neither overflow nor vanish."""
    loss, x = exp_times_chain("s", 30)
    values = {"s": -0.2 - np.random.default_rng(3).random(4)}
    assert ec.check_grad(loss, x, values) < 1e-7


def test_alike_terms_collect_beside_a_product_too_large_to_multiply_out() -> None:
    """``a (1 − b) − (1 − a) b`` collects to ``a − b``; the product of five sums (32 terms) stays as it is."""
    a, b, c, d, e = ec.tensors("a[n] b[n] c[n] d[n] e[n]")
    large = (a + b) * (c + d) * (a + e) * (b + c) * (d + e)
    simplified = ec.simplify(a * (1 - b) - (1 - a) * b + large)
    assert str(simplified) == str(ec.simplify(a - b + large))
    assert isinstance(simplified, Add) and len(simplified.terms) == 3


def test_the_count_saturates_past_the_limit() -> None:
    """A sum of more terms than the limit counts as ``EXPANSION_LIMIT + 1``, and is not multiplied out."""
    terms = ec.tensors(" ".join(f"q{k}[n]" for k in range(cancel.EXPANSION_LIMIT + 3)))
    total: Expr = terms[0]
    for term in terms[1:]:
        total = total + term
    (r,) = ec.tensors("r[n]")
    product = ec.simplify(total * (r + 1))
    assert cancel._monomial_count(product) == 1
    assert cancel._monomial_count(ec.simplify(total)) == cancel.EXPANSION_LIMIT + 1
