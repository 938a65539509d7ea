"""The ``derive`` and ``explain`` commands: their flags, what they print, and `explanation()`, the derivation
``eincalc explain`` prints (the walk-throughs run it; the command line itself is `eincalc.cli`)."""

from __future__ import annotations

import argparse
import functools
import re
from collections.abc import Sequence

from .. import __version__
from ..calculus.diff import grad, jacobian, vjp
from ..calculus.hessian import hessian
from ..core.arguments import output_name
from ..core.errors import NoMatrixForm, ParseError, UnknownNameError
from ..core.expr import Expr
from ..core.nodes import Tensor
from ..explain.derivation import DETAILS, KINDS, Derivation, explain, resolve_kind
from ..explain.graph import graph_at, show
from ..frontend.build import tensors as declare
from ..frontend.parse import parse
from ..frontend.parse_matrix import parse_matrix
from ..frontend.printing import text_lines
from ..matrix.view import to_matrix
from ..numeric.codegen import codegen
from ..numeric.evaluate import evaluate
from .input import read_network, read_values


def _parser() -> argparse.ArgumentParser:
    """The parser of ``derive`` and ``explain`` (`eincalc.cli` adds ``walkthrough``, whose pages run this one)."""
    return parser_and_commands()[0]


def parser_and_commands() -> tuple[argparse.ArgumentParser, argparse._SubParsersAction[argparse.ArgumentParser]]:
    """The parser of ``derive`` and ``explain``, and its sub-commands, for a caller to add more."""
    parser = argparse.ArgumentParser(prog="eincalc", description="Tensor calculus in index notation.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    declarations = argparse.ArgumentParser(add_help=False)
    declarations.add_argument("expression", help='e.g. "W @ a", "W[i,j] a[j]", or with --syntax matrix "x\'*A*x"')
    declarations.add_argument("--tensors", required=True, help='declarations, e.g. "W[m,n] a[n] g[m]"')
    declarations.add_argument(
        "--symmetric", default="", metavar="NAMES", help="square matrices equal to their transpose"
    )
    declarations.add_argument(
        "--simplex",
        default="",
        metavar="NAMES",
        help="tensors whose entries sum to one along their last axis (labels; a matrix's rows)",
    )
    declarations.add_argument("--wrt", required=True, metavar="X", help="the tensor to differentiate with respect to")
    declarations.add_argument("--upstream", metavar="G", help="the upstream gradient tensor, shaped like the output")
    declarations.add_argument(
        "--kind", choices=KINDS, help="default: vjp with --upstream, grad for a scalar, else jacobian"
    )
    declarations.add_argument("--rows", action="store_true", help="row-vector convention in the matrix form")
    declarations.add_argument(
        "--syntax",
        choices=("index", "matrix"),
        default="index",
        help="matrix: read EXPRESSION as matrix notation (x'*A*x, Wᵀ g), strictly typed",
    )
    declarations.add_argument(
        "--let",
        action="append",
        default=[],
        metavar="NAME=EXPR",
        help="name an intermediate (repeatable, in order); later text may use NAME",
    )
    declarations.add_argument(
        "--values",
        action="extend",
        nargs="+",
        default=[],
        metavar="NAME=VALUE",
        help="values (numbers or JSON arrays): print the computational graph at that point",
    )
    declarations.add_argument("--name", help="what the output is called (default f, or g when a tensor is f)")

    derive = commands.add_parser("derive", parents=[declarations], help="differentiate and show each form")
    derive.add_argument(
        "--format",
        choices=("text", "numpy"),
        default="text",
        help="numpy: standalone NumPy source computing the result (runs without eincalc)",
    )

    steps = commands.add_parser("explain", parents=[declarations], help="derive step by step, with reasons")
    steps.add_argument(
        "--detail",
        choices=DETAILS,
        default="teaching",
        help="teaching: the steps a learner needs; full: every rewrite; result: the answer and checks",
    )
    steps.add_argument("--format", choices=("text", "markdown", "latex", "numpy"), default="text")
    return parser, commands


def _tensor(name: str, declared: dict[str, Tensor], role: str) -> Tensor:
    try:
        return declared[name]
    except KeyError:
        raise UnknownNameError(f"{role} {name!r} is not declared; declared tensors: {', '.join(declared)}") from None


def _shape(expr: Expr) -> str:
    return " × ".join(expr.shape) if expr.shape else "scalar"


def _matrix_line(expr: Expr, rows: bool, wrt: Tensor) -> list[str]:
    try:
        form = to_matrix(expr, rows=rows, sizes_from=[wrt])
    except NoMatrixForm as reason:  # its first line: the expression is printed above
        return [f"matrix form   none: {str(reason).splitlines()[0]}"]
    return [f"matrix form   {form.text}", f"numpy         {form.numpy}"]


def _read(args: argparse.Namespace) -> tuple[Expr, dict[str, Tensor]]:
    """The declared tensors and the parsed expression; a declaration error points at its column."""
    try:
        found = declare(args.tensors, symmetric=args.symmetric, simplex=args.simplex)
    except ParseError as error:
        raise error.with_context(args.tensors, _column(str(error), args.tensors)) from None
    declared = {t.spec.name: t for t in found}
    reader = functools.partial(parse_matrix, rows=args.rows) if args.syntax == "matrix" else parse
    return read_network(args.expression, args.let, declared, reader), declared


def _column(message: str, text: str) -> int | None:
    """Where in ``text`` a declaration error points: its column, or the first quoted piece found in ``text``."""
    column = re.search(r"at column (\d+)", message)
    if column:
        return int(column.group(1))
    for quoted in re.findall(r"'([^']+)'", message):
        if quoted in text:
            return text.index(quoted)
    return None


def derive(args: argparse.Namespace) -> list[str]:
    """The lines ``eincalc derive`` prints."""
    expr, declared = _read(args)
    wrt = _tensor(args.wrt, declared, "variable")
    upstream = None if args.upstream is None else _tensor(args.upstream, declared, "upstream gradient")
    kind = resolve_kind(expr, upstream, args.kind)
    name = output_name(args.name, expr, wrt, upstream)  # refused as explain refuses it, with or without --values
    jac = jacobian(expr, wrt)
    shown = [("Jacobian", jac)]
    if kind == "vjp":
        assert upstream is not None  # resolve_kind: a vjp has an upstream gradient
        shown.append(("contracted", vjp(expr, wrt, upstream)))
    elif kind != "jacobian":
        shown.append(("gradient", grad(expr, wrt)))
    if kind == "hessian":
        shown.append(("Hessian", hessian(expr, wrt)))
    result = shown[-1][1]
    if args.format == "numpy":
        return [codegen(result, name=f"{_CODE_NAMES[kind]}_{args.wrt}")]
    lines = _labelled("expression", expr, _shape(expr))
    for label, form in shown:
        lines += _labelled(label, form, _rank(form) if label == "Jacobian" else _shape(form))
    derivative = None if kind == "jacobian" else (wrt, result)
    graph = _graph_lines(args.values, name, expr, declared, upstream, derivative)
    return lines + _matrix_line(result, args.rows, wrt) + graph


_CODE_NAMES = {"jacobian": "jacobian", "vjp": "d", "grad": "d", "hessian": "hessian"}
"""The generated function's name, before the variable's: ``d_W`` for a gradient."""


def _labelled(label: str, expr: Expr, shape: str) -> list[str]:
    """``label``, ``expr``'s line and its shape, then its where-clauses beneath the expression."""
    line, clauses = text_lines(expr)
    return [f"{label:<13} {line}    ({shape})", *(f"{'':<16}{clause}" for clause in clauses)]


def _rank(expr: Expr) -> str:
    return f"rank {expr.rank}: {_shape(expr)}"


def _graph_lines(
    items: Sequence[str],
    name: str,
    expr: Expr,
    declared: dict[str, Tensor],
    upstream: Tensor | None,
    derivative: tuple[Tensor, Expr] | None,
) -> list[str]:
    """The computational graph of the output ``name`` at ``--values`` (``items``), and the derivative there."""
    if not items:
        return []
    values = read_values(items, declared)
    drawn = graph_at(expr, values, name=name, upstream=upstream)
    lines = ["graph at the given values", *(f"  {row}" for row in drawn.text().splitlines())]
    lines += [f"  · {fact}" for fact in drawn.facts()]
    if derivative is not None:
        wrt, result = derivative
        lines.append(
            f"derivative    {show(evaluate(result, values, dims=drawn.sizes))}    (∂/∂{wrt.spec.name} at these values)"
        )
    return lines


def explanation(arguments: Sequence[str]) -> Derivation:
    """The derivation ``eincalc explain ARGUMENTS`` prints."""
    return _derivation(_parser().parse_args(["explain", *arguments]))


def explained(args: argparse.Namespace) -> list[str]:
    """The lines ``eincalc explain`` prints."""
    derivation = _derivation(args)
    render = {
        "text": derivation.text,
        "markdown": derivation.markdown,
        "latex": derivation.latex,
        "numpy": derivation.numpy,
    }[args.format]
    return [render()]


def _derivation(args: argparse.Namespace) -> Derivation:
    expr, declared = _read(args)
    wrt = _tensor(args.wrt, declared, "variable")
    upstream = None if args.upstream is None else _tensor(args.upstream, declared, "upstream gradient")
    values = read_values(args.values, declared) if args.values else None
    return explain(
        expr, wrt, upstream=upstream, kind=args.kind, name=args.name, rows=args.rows, detail=args.detail, values=values
    )
