"""The ``eincalc`` command line.

``eincalc derive "W @ a" --tensors "W[m,n] a[n] g[m]" --vjp W --upstream g``
prints the expression in index form, its Jacobian with Kronecker deltas, the
contraction with the upstream gradient after the deltas are eliminated, and the
matrix form.  Bad input prints one error (with a caret under the offending
position) on stderr and exits with status 2.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from .build import tensors as declare
from .diff import grad, jacobian, vjp
from .errors import EincalcError, NoMatrixForm, UnknownNameError
from .expr import Expr, Tensor
from .matrix import to_matrix
from .parse import parse


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="eincalc", description="Tensor calculus in index notation.")
    commands = parser.add_subparsers(dest="command", required=True)
    derive = commands.add_parser("derive", help="differentiate an expression and show each form")
    derive.add_argument("expression", help='e.g. "W @ a" or "W[i,j] a[j]"')
    derive.add_argument("--tensors", required=True, help='declarations, e.g. "W[m,n] a[n] g[m]"')
    target = derive.add_mutually_exclusive_group(required=True)
    target.add_argument("--vjp", metavar="X", help="contract an upstream gradient with d(expr)/dX")
    target.add_argument("--grad", metavar="X", help="gradient of a scalar expression with respect to X")
    target.add_argument("--jacobian", metavar="X", help="the Jacobian d(expr)/dX only")
    derive.add_argument("--upstream", metavar="G", help="the upstream gradient tensor (with --vjp)")
    derive.add_argument("--rows", action="store_true", help="row-vector convention in the matrix form")
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


def _matrix_line(expr: Expr, rows: bool) -> list[str]:
    try:
        form = to_matrix(expr, rows=rows)
    except NoMatrixForm as reason:
        return [f"matrix form   none: {reason}"]
    return [f"matrix form   {form.text}", f"numpy         {form.numpy}"]


def derive(args: argparse.Namespace) -> list[str]:
    """The lines ``eincalc derive`` prints."""
    declared = {t.spec.name: t for t in declare(args.tensors)}
    expr = parse(args.expression, *declared.values())
    lines = [f"expression    {expr}    ({_shape(expr)})"]
    name = args.vjp or args.grad or args.jacobian
    wrt = _tensor(name, declared, "variable")
    J = jacobian(expr, wrt)
    lines.append(f"Jacobian      {J}    (rank {J.rank}: {_shape(J)})")
    if args.jacobian:
        return lines + _matrix_line(J, args.rows)
    if args.grad:
        result = grad(expr, wrt)
        lines.append(f"gradient      {result}    ({_shape(result)})")
    else:
        if args.upstream is None:
            raise UnknownNameError("--vjp needs --upstream G: the gradient arriving from above, shaped like the output")
        upstream = _tensor(args.upstream, declared, "upstream gradient")
        result = vjp(expr, wrt, upstream)
        lines.append(f"contracted    {result}    ({_shape(result)})")
    return lines + _matrix_line(result, args.rows)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    args = _parser().parse_args(argv)
    try:
        lines = derive(args)
    except EincalcError as error:
        print(f"eincalc: error: {error}", file=sys.stderr)
        return 2
    print("\n".join(lines))
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
