"""Automatic named intermediates: what every printer shows once.

An expression is a DAG: the natural loop ``h = tanh(W @ h)`` builds one node per
layer, and its gradient refers to each layer's output again and again (in the
forward pass, and in ``1 − tanh(z)²``).  Written out, such a DAG grows with the
square of its depth (or doubles with each step of ``h = h*0.5 + h*0.5``).  So
before printing, `display()` names sub-expressions, and every printer — index
text, LaTeX, the matrix view, explanations — shows each named one once, as
``where t1[i] = tanh(W1[i,j] x[j])``, and refers to it by name.

The rules, applied to the distinct sub-expressions *up to the names of their free
indices* (``tanh(W[i,j] x[j])`` and ``tanh(W[p,j] x[j])`` are one intermediate,
used at ``i`` and at ``p``):

* a sub-expression used more than once — by several parents, or twice by one —
  is named when it has at least `SMALL` nodes written out, so ``x[i] y[i]``
  or ``σ(x[i])`` used twice still print inline, while a layer's output
  ``tanh(W[i,j] x[j])`` (forward pass and derivative) is named;
* a sub-expression nested more than `DEPTH` levels below the nearest name
  is named, so every printed piece is shallow and every printer, recursive or not,
  works at any depth (an unnamed 10,000-layer chain prints as 10,000 / DEPTH
  definitions);
* a user's name (`eincalc.let()`) is kept: its body is its own definition;
* a *trivial* sub-expression is never named, whatever its use count: a tensor, a
  delta or a constant, alone or times constants (``-y[i,j]``), reads as fast as a
  name would.

Names are ``t1, t2, …`` in the order of definition (each after the ones it uses),
skipping any name a tensor or a named intermediate of the expression has, so the
same expression always prints the same text.  Everything is linear in the number
of distinct nodes, iterative, and kept on the node.

The IR keeps each body node-local (its free indices named by position); only
`as_used()` names an automatic definition for the page: with the index names of
its first use in the printed text, so ``where t1[j] = σ(W[i,j] a[i])`` sits under
a line that uses ``t1[j]``, never a relabelled ``σ(W[j,i] a[j])`` that reads as a
transpose (a user's definition stays as the user wrote it).

>>> import eincalc as ec
>>> W, x, y = ec.tensors("W[m,n] x[n] y[m]")
>>> h = ec.tanh(W @ x)
>>> print(ec.grad(ec.sum((h - y) ** 2), W))
2 ((1 - t1[p]**2) (t1[p] - y[p]) x[q])[p,q]
  where t1[p] = tanh(W[p,i] x[i])
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Callable, Hashable, Iterator
from typing import TypeVar

from .expr import Expr
from .indices import Index
from .names import positional_names, rename, separate_bound
from .nodes import Const, Contract, Named, Tensor
from .traversal import postorder, walk

SMALL = 4
"""Nodes written out from which a sub-expression used more than once is named (``tanh(W[i,j] x[j])`` has 4)."""
DEPTH = 24
"""Levels of nesting a printed piece may have below the nearest name."""
PREFIX = "t"
"""Automatic names are this letter and a number: ``t1``, ``t2`` (``t₁`` in matrix notation)."""


def display(expr: Expr) -> Expr:
    """``expr`` with its automatic intermediates as `Named` nodes (``t1``, …), kept on the node.

    >>> import eincalc as ec
    >>> x, y = ec.tensors("x[n] y[n]")
    >>> h = ec.exp(x + y)
    >>> from eincalc.frontend.printing import line_text
    >>> line_text(display(ec.sum(h * h) * ec.sum(h)))
    'Σ((t1[i] t1[i])[i]) Σ(t1[j])'
    >>> line_text(display(ec.sum(h * h)))  # used twice, but by one node
    'Σ((t1[i] t1[i])[i])'

    """
    memo = expr.memo()
    if "display" not in memo:
        memo["display"] = _Plan(expr).rewrite()
    result: Expr = memo["display"]
    return result


def named_apart(expr: Expr) -> Expr:
    """``expr`` with each of the user's intermediates that shares its name with another definition renamed as
    `display()` names it (``h``, ``h2``, … for ``ec.let("h", …)`` in a loop), and nothing else named; the
    expression itself when no two definitions share a name."""
    nodes = list(postorder(expr))
    renamed = _apart(nodes, _taken(nodes))
    if not renamed:
        return expr
    done: dict[int, Expr] = {}
    for node in nodes:
        done[id(node)] = _under_new_name(node.map_children(lambda child: done[id(child)]), node, renamed)
    return done[id(expr)]


def _under_new_name(rewritten: Expr, node: Expr, renamed: dict[tuple[str, Expr], str]) -> Expr:
    """``rewritten`` (``node`` with its children's uses), under its new name if ``node`` is a user's intermediate
    that `_apart()` renamed."""
    if not isinstance(node, Named) or (node.name, node.body) not in renamed:
        return rewritten
    assert isinstance(rewritten, Named)
    name = renamed[node.name, node.body]
    return Named(name, rewritten.body, rewritten.indices, rewritten.adjoint, positional=rewritten.positional)


def is_automatic(name: str) -> bool:
    """Whether ``name`` has the form of an automatic intermediate's name (``t1``, ``t12``).

    >>> is_automatic("t3"), is_automatic("t"), is_automatic("theta")
    (True, False, False)
    """
    return name.startswith(PREFIX) and name[len(PREFIX) :].isdigit() and name[len(PREFIX) :].isascii()


def key(node: Expr) -> Expr:
    """``node`` with its free indices named by position (``i, j, …``): equal for every labelling of the same
    sub-expression (kept on the node)."""
    memo = node.memo()
    found: Expr | None = memo.get("key")
    if found is None:
        free = node.free
        target = (Index(name, k.dim) for name, k in zip(positional_names(len(free)), free, strict=True))
        found = memo["key"] = rename(node, dict(zip(free, target, strict=True)))
    return found


class _Plan:
    """Which sub-expressions of one expression get names, and the expression rewritten with them."""

    def __init__(self, root: Expr) -> None:
        self.root = root
        self.order = _postorder(root, self.children)
        uses: Counter[Expr] = Counter(child for node in self.order for child in self.children(node))
        user_bodies = {key(n.body) for n in self.order if isinstance(n, Named)}
        taken = _taken(self.order)
        self.renamed = _apart(self.order, taken)
        self.names: dict[Expr, str] = {}
        fresh = _fresh_names(taken)
        height: dict[Expr, int] = {}
        for node in self.order:
            below = [
                0 if child in self.names or isinstance(child, Named) else height[child] for child in self.children(node)
            ]
            height[node] = 1 + max(below, default=-1)
            named = (
                ((uses[node] > 1 and node.tree_size >= SMALL) or height[node] > DEPTH)
                and not _trivial(node)
                and node is not root
                and not isinstance(node, Named)
                and node not in user_bodies
            )
            if named:
                self.names[node] = next(fresh)
                height[node] = 0

    def children(self, node: Expr) -> list[Expr]:
        """The keys of ``node``'s children: the distinct sub-expressions it uses, up to free index names."""
        kept: list[Expr] = node.memo().get("child keys")  # type: ignore[assignment]
        if kept is None:
            kept = [key(child) for child in node.children()]
            node.memo()["child keys"] = kept
        return kept

    def rewrite(self) -> Expr:
        """The root with every use of a named key replaced by a reference to its one definition.

        Two kinds of job, each done once, children first: the *use* of a node (a reference, if its key is
        named, else the node with its children's uses) and the *definition* of a named key (the key with
        its children's uses).
        """
        done: dict[tuple[Expr, bool], Expr] = {}

        def named(node: Expr) -> bool:
            return key(node) in self.names

        def needs(job: tuple[Expr, bool]) -> list[tuple[Expr, bool]]:
            node, definition = job
            if not definition and named(node):
                return [(key(node), True)]
            return [(child, False) for child in node.children()]

        def use(child: Expr) -> Expr:
            return done[child, False]

        for node, definition in _postorder((self.root, False), needs):
            if not definition and named(node):
                shape = key(node)
                done[node, False] = Named(self.names[shape], done[shape, True], node.free, positional=node.positional)
            else:
                done[node, definition] = _under_new_name(node.map_children(use), node, self.renamed)
        return done[self.root, False]


def _trivial(node: Expr) -> bool:
    """Whether ``node`` is never worth a name: a leaf (tensor, delta, constant, a name), or a product of
    constants and at most one trivial factor (``-y[i,j]``, ``2 W[j,i]``).

    >>> import eincalc as ec
    >>> y, W = ec.tensors("y[m,n] W[m,n]")
    >>> _trivial(-y), _trivial(2 * (-y)), _trivial(-(y * W)), _trivial(ec.exp(y))
    (True, True, False, False)
    """
    while isinstance(node, Contract):  # down a chain of products of constants and one factor, without recursion
        varying = [f for f in node.factors if not isinstance(f, Const)]
        if len(varying) > 1:
            return False
        if not varying:
            return True
        node = varying[0]
    return isinstance(node, Named) or not node.children()


def as_used(expr: Expr, earlier: tuple[Expr, ...] = ()) -> list[Named]:
    """The intermediates ``expr`` prints with (automatic and the user's), each after the ones it uses.

    An automatic one is defined with the index names of its first use in the printed text: in the lines
    of ``earlier`` (expressions printed above ``expr``'s line, their definitions below them all, as a
    rewrite ``before = after``), else in ``expr``'s line, else in the earliest definition that uses it.
    Where it is used with different index names the first use decides (``t1[j]`` then ``t1[p]``: defined
    as ``t1[j]``); uses are met in the order the printers write a node's children.  The printer names the
    summed indices apart from them.  A user's intermediate (`eincalc.let()`) keeps the index names the
    user wrote: its definition is the user's text, and it reads back to the very same node.

    >>> import eincalc as ec
    >>> W, a = ec.tensors("W[m,n] a[m]")
    >>> gate = ec.parse("(σ(W[i,j] a[i]) (1 - σ(W[i,j] a[i])))[j]", W, a)
    >>> [(d.name, str(d.body)) for d in as_used(gate)]
    [('t1', 'σ(W[i,j] a[i])')]
    >>> print(gate)
    (t1[j] (1 - t1[j]))[j]
      where t1[j] = σ(W[i,j] a[i])
    """
    kept: dict[tuple[Expr, ...], list[Named]] = expr.memo().setdefault("as used", {})
    if earlier not in kept:
        kept[earlier] = _as_used(expr, earlier)
    return kept[earlier]


def _as_used(expr: Expr, earlier: tuple[Expr, ...]) -> list[Named]:
    """What `as_used()` keeps on the node: the definitions named from the last to the first."""
    pieces = definitions(display(expr))
    first: dict[tuple[str, Expr], tuple[int, tuple[Index, ...]]] = {}
    for line in (*earlier, expr):  # a name means the same body in every line: its (name, body) is the key
        _note_uses(display(line), 0, first)
    shown: list[Named] = []
    for rank in range(len(pieces), 0, -1):  # a definition is used only by the line and the ones after it
        named = pieces[rank - 1]
        used_at = first[named.name, named.body][1] if is_automatic(named.name) else ()
        body = _renamed_to(named.body, used_at)
        _note_uses(body, rank, first)
        shown.append(Named(named.name, body, body.free, named.adjoint, positional=named.positional))
    return shown[::-1]


def _renamed_to(body: Expr, indices: tuple[Index, ...]) -> Expr:
    """``body`` with its free indices named ``indices`` (in order); as it is when none are given."""
    return rename(body, dict(zip(body.free, indices, strict=True))) if indices else body


def _note_uses(piece: Expr, rank: int, first: dict[tuple[str, Expr], tuple[int, tuple[Index, ...]]]) -> None:
    """Record, for each intermediate ``piece`` uses, the indices of its first use as printed, where ``piece``
    (the line, ``rank`` 0, or the ``rank``-th definition) comes before the use recorded so far."""
    for node in walk(separate_bound(piece), enter=lambda n: not isinstance(n, Named), shown=True):
        if isinstance(node, Named):
            use = (node.name, node.body)
            if use not in first or rank < first[use][0]:
                first[use] = (rank, node.indices)


def definitions(expr: Expr) -> list[Named]:
    """The named intermediates ``expr`` refers to, each after the ones it uses."""
    seen: dict[tuple[str, Expr], Named] = {}
    for sub in postorder(expr):
        if isinstance(sub, Named):
            seen.setdefault((sub.name, sub.body), sub)
    return list(seen.values())


_T = TypeVar("_T", bound=Hashable)


def _postorder(root: _T, children: Callable[[_T], list[_T]]) -> list[_T]:
    """``root`` and everything reachable through ``children``, each after all of its children (no recursion)."""
    order: list[_T] = []
    seen: set[_T] = {root}
    stack: list[tuple[_T, Iterator[_T]]] = [(root, iter(children(root)))]
    while stack:
        item, pending = stack[-1]
        child = next((c for c in pending if c not in seen), None)
        if child is None:
            stack.pop()
            order.append(item)
        else:
            seen.add(child)
            stack.append((child, iter(children(child))))
    return order


def _taken(nodes: list[Expr]) -> set[str]:
    """The names the tensors and named intermediates among ``nodes`` have."""
    return {n.spec.name for n in nodes if isinstance(n, Tensor)} | {n.name for n in nodes if isinstance(n, Named)}


def _fresh_names(taken: set[str]) -> Iterator[str]:
    """``t1, t2, …`` without the names ``taken``."""
    return (name for name in (f"{PREFIX}{n}" for n in itertools.count(1)) if name not in taken)


def _apart(nodes: list[Expr], taken: set[str]) -> dict[tuple[str, Expr], str]:
    """New names for the user's intermediates among ``nodes`` (in definition order) that share a name with a
    tensor or an earlier, different definition: ``h``, ``h2``, ``h3`` for three ``ec.let("h", …)`` in a loop,
    skipping the names ``taken`` (`_taken()` of ``nodes``), to which each new name is added, so every printed
    form shows one name per definition.

    >>> import eincalc as ec
    >>> x, W, h2 = ec.tensors("x[n] W[n,n] h2[n]")
    >>> h = x
    >>> for _ in range(3):
    ...     h = ec.let("h", ec.tanh(W @ h))
    >>> print(h + h2)
    h4[i] + h2[i]
      where h[i] = tanh(W[i,j] x[j])
      where h3[i] = tanh(W[i,j] h[j])
      where h4[i] = tanh(W[i,j] h3[j])
    """
    bodies: dict[str, list[Expr | None]] = {n.spec.name: [None] for n in nodes if isinstance(n, Tensor)}
    renamed: dict[tuple[str, Expr], str] = {}
    for node in nodes:
        if not isinstance(node, Named):
            continue
        seen = bodies.setdefault(node.name, [])
        if node.body in seen:
            continue
        seen.append(node.body)
        if len(seen) > 1:
            name = next(f"{node.name}{n}" for n in itertools.count(len(seen)) if f"{node.name}{n}" not in taken)
            taken.add(name)
            renamed[node.name, node.body] = name
    return renamed
