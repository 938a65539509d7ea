"""The ``eincalc`` command line.

``eincalc derive "W @ a" --tensors "W[m,n] a[n] g[m]" --vjp W --upstream g``
prints the expression in index form, its Jacobian with Kronecker deltas, the
contraction with the upstream gradient after the deltas are eliminated, and the
matrix form.

``eincalc explain "W @ a" --tensors "W[m,n] a[n] g[m]" --wrt W --upstream g``
prints the whole derivation step by step (``--format text|markdown|latex|numpy``,
``--detail teaching|full|result``), and ``eincalc walkthrough
backprop|chain-rule|sigmoid-gate`` prints a worked answer.

Both ``derive`` and ``explain`` take ``--let NAME=EXPR`` (repeatable) to name
intermediates, so a network is explained layer by layer::

    eincalc explain "0.5 * sum(square(a2 - y))" --tensors "W1[n0,n1] W2[n1,n2] x[n0] y[n2]" \
        --let "z1=W1[i,j] x[i]" --let "a1=sigmoid(z1)" --let "z2=W2[j,k] a1[j]" --let "a2=sigmoid(z2)" \
        --wrt W1 --name E

and ``--values NAME=VALUE`` (numbers or JSON arrays) to print the computational
graph at that point: forward values, local gradients and gradients, gate by
gate.  The losses ``cross_entropy``, ``mse`` and ``binary_cross_entropy`` can be
used in the text.  Bad input prints one error (with a caret under the offending
position) on stderr and exits with status 2.
"""

from __future__ import annotations

import argparse
import functools
import re
import sys
from collections.abc import Sequence

from .build import tensors as declare
from .cli_input import read_network, read_values
from .codegen import codegen
from .diff import grad, jacobian, vjp
from .errors import EincalcError, NoMatrixForm, ParseError, UnknownNameError, UnsupportedError
from .evaluate import evaluate
from .explain import DETAILS, KINDS, Derivation, explain
from .expr import Expr, Tensor
from .graph import graph_at, show
from .matrix import to_matrix
from .parse import parse
from .parse_matrix import parse_matrix


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="eincalc", description="Tensor calculus in index notation.")
    commands = parser.add_subparsers(dest="command", required=True)
    declarations = argparse.ArgumentParser(add_help=False)
    declarations.add_argument("expression", help='e.g. "W @ a", "W[i,j] a[j]", or with --syntax matrix "x\'*A*x"')
    declarations.add_argument("--tensors", required=True, help='declarations, e.g. "W[m,n] a[n] g[m]"')
    declarations.add_argument("--symmetric", default="", metavar="NAMES",
                              help="square matrices equal to their transpose")
    declarations.add_argument("--simplex", default="", metavar="NAMES",
                              help="vectors whose entries sum to one (labels)")
    declarations.add_argument("--upstream", metavar="G", help="the upstream gradient tensor, shaped like the output")
    declarations.add_argument("--rows", action="store_true", help="row-vector convention in the matrix form")
    declarations.add_argument("--syntax", choices=("index", "matrix"), default="index",
                              help="matrix: read EXPRESSION as matrix notation (x'*A*x, Wᵀ g), strictly typed")
    declarations.add_argument("--let", action="append", default=[], metavar="NAME=EXPR",
                              help="name an intermediate (repeatable, in order); later text may use NAME")
    declarations.add_argument("--values", action="extend", nargs="+", default=[], metavar="NAME=VALUE",
                              help="values (numbers or JSON arrays): print the computational graph at that point")
    declarations.add_argument("--name", help="what the output is called (default f)")

    derive = commands.add_parser("derive", parents=[declarations], help="differentiate and show each form")
    target = derive.add_mutually_exclusive_group(required=True)
    target.add_argument("--vjp", metavar="X", help="contract an upstream gradient with d(expr)/dX")
    target.add_argument("--grad", metavar="X", help="gradient of a scalar expression with respect to X")
    target.add_argument("--jacobian", metavar="X", help="the Jacobian d(expr)/dX only")
    derive.add_argument("--format", choices=("text", "numpy"), default="text",
                        help="numpy: standalone NumPy source computing the result (runs without eincalc)")

    steps = commands.add_parser("explain", parents=[declarations], help="derive step by step, with reasons")
    steps.add_argument("--wrt", required=True, metavar="X", help="the tensor to differentiate with respect to")
    steps.add_argument("--kind", choices=KINDS, help="default: vjp with --upstream, grad for a scalar, else jacobian")
    steps.add_argument("--detail", choices=DETAILS, default="teaching",
                       help="teaching: the steps a learner needs; full: every rewrite; result: the answer and checks")
    steps.add_argument("--format", choices=("text", "markdown", "latex", "numpy"), default="text")

    from .walkthroughs import WALKTHROUGHS  # the walk-throughs run this command line

    worked = commands.add_parser("walkthrough", help="print a worked answer")
    worked.add_argument("name", choices=sorted(WALKTHROUGHS))
    worked.add_argument("--format", choices=("text", "markdown"), default="text")
    return parser


def _tensor(name: str, declared: dict[str, Tensor], role: str) -> Tensor:
    try:
        return declared[name]
    except KeyError:
        raise UnknownNameError(
            f"{role} {name!r} is not declared; declared tensors: {', '.join(declared)}"
        ) from None


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
    if args.values and args.format != "text":
        raise UnsupportedError("--values goes with --format text: the graph at that point is a table")
    lines = [f"expression    {expr}    ({_shape(expr)})"]
    variable = args.vjp or args.grad or args.jacobian
    wrt = _tensor(variable, declared, "variable")
    jac = jacobian(expr, wrt)
    lines.append(f"Jacobian      {jac}    (rank {jac.rank}: {_shape(jac)})")
    upstream = None
    if args.jacobian:
        if args.format == "numpy":
            return [codegen(jac, name=f"jacobian_{variable}")]
        return lines + _matrix_line(jac, args.rows, wrt) + _graph_lines(args, expr, declared, None, None)
    if args.grad:
        result = grad(expr, wrt)
        lines.append(f"gradient      {result}    ({_shape(result)})")
    else:
        if args.upstream is None:
            raise UnknownNameError("--vjp needs --upstream G: the gradient arriving from above, shaped like the output")
        upstream = _tensor(args.upstream, declared, "upstream gradient")
        result = vjp(expr, wrt, upstream)
        lines.append(f"contracted    {result}    ({_shape(result)})")
    if args.format == "numpy":
        return [codegen(result, name=f"d_{variable}")]
    graph_lines = _graph_lines(args, expr, declared, upstream, (wrt, result))
    return lines + _matrix_line(result, args.rows, wrt) + graph_lines


def _graph_lines(args: argparse.Namespace, expr: Expr, declared: dict[str, Tensor], upstream: Tensor | None,
                 derivative: tuple[Tensor, Expr] | None) -> list[str]:
    """The computational graph at ``--values``, and the derivative evaluated there."""
    if not args.values:
        return []
    values = read_values(args.values, declared)
    drawn = graph_at(expr, values, name=args.name or "f", upstream=upstream)
    lines = ["graph at the given values", *(f"  {row}" for row in drawn.text().splitlines())]
    lines += [f"  · {fact}" for fact in drawn.facts()]
    if derivative is not None:
        wrt, result = derivative
        lines.append(f"derivative    {show(evaluate(result, values, dims=drawn.sizes))}    (∂/∂{wrt.spec.name} at "
                     "these values)")
    return lines


def explanation(arguments: Sequence[str]) -> Derivation:
    """The derivation ``eincalc explain ARGUMENTS`` prints."""
    return _derivation(_parser().parse_args(["explain", *arguments]))


def explained(args: argparse.Namespace) -> list[str]:
    """The lines ``eincalc explain`` prints."""
    derivation = _derivation(args)
    render = {"text": derivation.text, "markdown": derivation.markdown, "latex": derivation.latex,
              "numpy": derivation.numpy}[args.format]
    return [render()]


def _derivation(args: argparse.Namespace) -> Derivation:
    expr, declared = _read(args)
    wrt = _tensor(args.wrt, declared, "variable")
    upstream = None if args.upstream is None else _tensor(args.upstream, declared, "upstream gradient")
    values = read_values(args.values, declared) if args.values else None
    return explain(expr, wrt, upstream=upstream, kind=args.kind, name=args.name, rows=args.rows,
                   detail=args.detail, values=values)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    args = _parser().parse_args(argv)
    try:
        if args.command == "walkthrough":
            from .walkthroughs import WALKTHROUGHS

            lines = [WALKTHROUGHS[args.name](args.format).rstrip("\n")]
        else:
            lines = explained(args) if args.command == "explain" else derive(args)
    except EincalcError as error:
        print(f"eincalc: error: {error}", file=sys.stderr)
        return 2
    print("\n".join(lines))
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
