"""The ``eincalc`` command line.

``eincalc derive "W @ a" --tensors "W[m,n] a[n] g[m]" --vjp W --upstream g``
prints the expression in index form, its Jacobian with Kronecker deltas, the
contraction with the upstream gradient after the deltas are eliminated, and the
matrix form.

``eincalc explain "W @ a" --tensors "W[m,n] a[n] g[m]" --wrt W --upstream g``
prints the whole derivation step by step (``--format text|markdown|latex|numpy``),
and ``eincalc walkthrough backprop|chain-rule|sigmoid-gate`` prints a worked
answer.  Bad input prints one error (with a caret under the offending
position) on stderr and exits with status 2.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Sequence

from .build import tensors as declare
from .codegen import codegen
from .diff import grad, jacobian, vjp
from .errors import EincalcError, NoMatrixForm, ParseError, UnknownNameError
from .explain import KINDS, explain
from .expr import Expr, Tensor
from .matrix import to_matrix
from .parse import parse
from .walkthroughs import WALKTHROUGHS


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="eincalc", description="Tensor calculus in index notation.")
    commands = parser.add_subparsers(dest="command", required=True)
    declarations = argparse.ArgumentParser(add_help=False)
    declarations.add_argument("expression", help='e.g. "W @ a" or "W[i,j] a[j]"')
    declarations.add_argument("--tensors", required=True, help='declarations, e.g. "W[m,n] a[n] g[m]"')
    declarations.add_argument("--symmetric", default="", metavar="NAMES",
                              help="square matrices equal to their transpose")
    declarations.add_argument("--simplex", default="", metavar="NAMES",
                              help="vectors whose entries sum to one (labels)")
    declarations.add_argument("--upstream", metavar="G", help="the upstream gradient tensor, shaped like the output")
    declarations.add_argument("--rows", action="store_true", help="row-vector convention in the matrix form")

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
    steps.add_argument("--name", help="what the output is called (default f)")
    steps.add_argument("--format", choices=("text", "markdown", "latex", "numpy"), default="text")

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
    return parse(args.expression, *declared.values()), declared


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
    lines = [f"expression    {expr}    ({_shape(expr)})"]
    name = args.vjp or args.grad or args.jacobian
    wrt = _tensor(name, declared, "variable")
    jac = jacobian(expr, wrt)
    lines.append(f"Jacobian      {jac}    (rank {jac.rank}: {_shape(jac)})")
    if args.jacobian:
        if args.format == "numpy":
            return [codegen(jac, name=f"jacobian_{name}")]
        return lines + _matrix_line(jac, args.rows, wrt)
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
        return [codegen(result, name=f"d_{name}")]
    return lines + _matrix_line(result, args.rows, wrt)


def explained(args: argparse.Namespace) -> list[str]:
    """The lines ``eincalc explain`` prints."""
    expr, declared = _read(args)
    wrt = _tensor(args.wrt, declared, "variable")
    upstream = None if args.upstream is None else _tensor(args.upstream, declared, "upstream gradient")
    derivation = explain(expr, wrt, upstream=upstream, kind=args.kind, name=args.name, rows=args.rows)
    render = {"text": derivation.text, "markdown": derivation.markdown, "latex": derivation.latex,
              "numpy": derivation.numpy}[args.format]
    return [render()]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    args = _parser().parse_args(argv)
    try:
        if args.command == "walkthrough":
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
