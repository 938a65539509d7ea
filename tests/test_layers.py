"""The package's layers, read from its import graph: imports only point down, and no module imports itself back.

Every import counts, the ones inside functions included: a deferred import is still a dependency.  A node kind
reaches what the layers above give it (operators, printers, the matrix view, the ops/ node kinds) through the
registrations those layers make when imported (`eincalc.core.registry`), never by importing them.

Run as a script, this module prints the import picture (modules per layer, imports, cycles, upward imports):
``python tests/test_layers.py``, or ``python tests/test_layers.py --at REV`` for the package at a git revision.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import eincalc

PACKAGE = Path(eincalc.__file__).parent

# Lowest first: a layer may import only from layers before it (and from itself).
LAYERS = ("core", "frontend", "numeric", "matrix", "calculus", "ops", "testing", "explain", "views", "cli")


def module_name(path: Path, root: Path) -> str:
    """The dotted name of a module file under ``root`` (the package's parent).

    >>> module_name(Path("/r/eincalc/core/expr.py"), Path("/r"))
    'eincalc.core.expr'
    >>> module_name(Path("/r/eincalc/testing/__init__.py"), Path("/r"))
    'eincalc.testing'
    """
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_names(tree: ast.AST, module: str, is_package: bool, modules: set[str]) -> Iterator[str]:
    """Every module a module imports, at any depth of its code (``from m import x``: m.x if that is a module, else m).

    >>> sorted(imported_names(ast.parse("from . import b, c"), "p.a", False, {"p", "p.b"}))
    ['p', 'p.b']
    """
    here = module.split(".") if is_package else module.split(".")[:-1]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = ".".join(here[: len(here) - node.level + 1]) if node.level else ""
            source = ".".join(part for part in (base, node.module or "") if part)
            for alias in node.names:
                yield f"{source}.{alias.name}" if f"{source}.{alias.name}" in modules else source


def without_annotation_imports(tree: ast.Module) -> ast.Module:
    """``tree`` without its ``if TYPE_CHECKING:`` blocks: imports there name types for the checker and never run.

    >>> code = "import a\\nif TYPE_CHECKING:\\n    import b\\nelse:\\n    import c"
    >>> sorted(imported_names(without_annotation_imports(ast.parse(code)), "p.m", False, set()))
    ['a', 'c']
    """

    class Strip(ast.NodeTransformer):
        def visit_If(self, node: ast.If) -> ast.AST | list[ast.stmt]:
            self.generic_visit(node)
            names = {getattr(node.test, "id", None), getattr(node.test, "attr", None)}
            return node.orelse if "TYPE_CHECKING" in names else node

    return Strip().visit(tree)


def import_graph(package: Path = PACKAGE, *, annotations: bool = True) -> dict[str, set[str]]:
    """Module → the package's modules it imports (only names that are modules of the package); without
    ``annotations``, the imports that run only: those under ``if TYPE_CHECKING:`` are left out."""
    root = package.parent
    files = {module_name(path, root): path for path in sorted(package.rglob("*.py"))}
    trees = {name: ast.parse(path.read_text()) for name, path in files.items()}
    if not annotations:
        trees = {name: without_annotation_imports(tree) for name, tree in trees.items()}
    return {
        name: {
            target
            for target in imported_names(trees[name], name, files[name].name == "__init__.py", set(files))
            if target in files and target != name
        }
        for name in files
    }


def layer_of(module: str) -> str:
    """The subpackage a module belongs to ('' for the package's own façade modules).

    >>> layer_of("eincalc.core.expr"), layer_of("eincalc.testing"), layer_of("eincalc")
    ('core', 'testing', '')
    """
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in LAYERS else ""


def layer_edges(graph: dict[str, set[str]]) -> set[tuple[str, str]]:
    """The imports between different layers, as (importing layer, imported layer); the façade is left out."""
    edges = {(layer_of(source), layer_of(target)) for source, targets in graph.items() for target in targets}
    return {(a, b) for a, b in edges if a and b and a != b}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one member (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for start in graph:
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is None:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        found.append(sorted(component))
            elif child not in index:
                index[child] = low[child] = len(index)
                stack.append(child)
                on_stack.add(child)
                work.append((child, iter(sorted(graph.get(child, ())))))
            elif child in on_stack:
                low[node] = min(low[node], index[child])
    return found


def upward(edges: set[tuple[str, str]]) -> list[tuple[str, str]]:
    """The layer edges that point up the order."""
    return sorted((a, b) for a, b in edges if LAYERS.index(b) > LAYERS.index(a))


def test_every_module_sits_in_a_layer() -> None:
    outside = [name for name in import_graph() if not layer_of(name) and name.count(".") > 0]
    assert outside == [name for name in outside if name.split(".")[-1] in ("__main__", "strategies")], outside


def upward_imports(graph: dict[str, set[str]]) -> set[tuple[str, str]]:
    """The module imports that point up the layer order."""
    return {
        (source, target)
        for source, targets in graph.items()
        for target in targets
        if layer_of(source) and layer_of(target) and LAYERS.index(layer_of(target)) > LAYERS.index(layer_of(source))
    }


def test_imports_only_point_down() -> None:
    """No module imports one of a layer above it, not even to name a type (``if TYPE_CHECKING:`` imports count)."""
    assert sorted(upward_imports(import_graph())) == []


def test_no_module_imports_itself_back() -> None:
    """No import cycle between modules, through any number of them: each strongly connected component of the
    graph of imports that run (module level or inside a function) is a single module."""
    assert cycles(import_graph(annotations=False)) == []


def test_the_checks_see_an_upward_import_and_a_cycle() -> None:
    graph = {"eincalc.core.a": {"eincalc.frontend.b"}, "eincalc.frontend.b": {"eincalc.core.a"}}
    assert upward(layer_edges(graph)) == [("core", "frontend")]
    assert upward_imports(graph) == {("eincalc.core.a", "eincalc.frontend.b")}
    assert cycles(graph) == [["eincalc.core.a", "eincalc.frontend.b"]]


def picture(graph: dict[str, set[str]], running: dict[str, set[str]]) -> list[str]:
    """The import picture as lines: modules per layer, imports, cycles (of the ``running`` imports, and of all of
    ``graph``, ``if TYPE_CHECKING:`` imports included) and the imports that point up."""
    per_layer = {layer: sum(1 for name in graph if layer_of(name) == layer) for layer in LAYERS}
    runtime_cycles, all_cycles = cycles(running), cycles(graph)
    up = sorted(upward_imports(graph))
    return [
        "modules per layer: "
        + ", ".join(f"{layer} {n}" for layer, n in per_layer.items() if n)
        + f" (+ {sum(1 for name in graph if not layer_of(name))} façade modules)",
        f"intra-package imports (module -> module): {sum(map(len, graph.values()))}"
        f" ({sum(map(len, running.values()))} that run)",
        f"import cycles: {len(runtime_cycles)}, sizes {sorted(map(len, runtime_cycles), reverse=True)}"
        f" (with type-only imports: {len(all_cycles)}, sizes {sorted(map(len, all_cycles), reverse=True)})",
        f"upward imports: {len(up)} between modules, {len(upward(layer_edges(graph)))} between layers",
        *(f"  {source} -> {target}" for source, target in up),
    ]


def main(argv: list[str]) -> None:
    """Print the import picture of the package here, or with ``--at REV`` of ``src/eincalc`` at a git revision."""
    import subprocess
    import tarfile
    import tempfile
    from io import BytesIO

    package = PACKAGE
    with tempfile.TemporaryDirectory() as scratch:
        if argv[:1] == ["--at"]:
            archive = subprocess.run(["git", "archive", argv[1], "src/eincalc"], capture_output=True, check=True)
            with tarfile.open(fileobj=BytesIO(archive.stdout)) as tar:
                tar.extractall(scratch, filter="data")
            package = Path(scratch, "src", "eincalc")
        print("\n".join(picture(import_graph(package), import_graph(package, annotations=False))))


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])
