"""The ``eincalc`` command line.

``eincalc derive "W @ a" --tensors "W[m,n] a[n] g[m]" --wrt W --upstream g``
prints the expression in index form, its Jacobian with Kronecker deltas, the
contraction with the upstream gradient after the deltas are eliminated, and the
matrix form.  ``python -m eincalc`` is the same program.

``eincalc explain "W @ a" --tensors "W[m,n] a[n] g[m]" --wrt W --upstream g``
prints the whole derivation step by step (``--format text|markdown|latex|numpy``,
``--detail teaching|full|result``), and ``eincalc walkthrough
backprop|chain-rule|sigmoid-gate`` prints a worked answer.

``derive`` and ``explain`` take the same flags for what to differentiate:
``--wrt X``, ``--upstream G`` and ``--kind vjp|grad|jacobian|hessian`` (by
default ``vjp`` with ``--upstream``, else ``grad`` for a scalar and ``jacobian``
otherwise).  Both take ``--let NAME=EXPR`` (repeatable) to name intermediates,
so a network is explained layer by layer::

    eincalc explain "0.5 * sum(square(a2 - y))" --tensors "W1[n0,n1] W2[n1,n2] x[n0] y[n2]" \
        --let "z1=W1[i,j] x[i]" --let "a1=sigmoid(z1)" --let "z2=W2[j,k] a1[j]" --let "a2=sigmoid(z2)" \
        --wrt W1 --name E

and ``--values NAME=VALUE`` (numbers or JSON arrays) to print the computational
graph at that point: forward values, local gradients and gradients, gate by
gate.  The losses ``cross_entropy``, ``mse`` and ``binary_cross_entropy`` can be
used in the text.

The exit status is 0 on success, 1 when eincalc refuses the input (an
``EincalcError``: one error on stderr, with a caret under the offending
position), and 2 for a usage error (an unknown flag, a missing argument, flags
that do not go together), as argparse reports them.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from ..core.errors import EincalcError
from .commands import derive, explained, explanation, parser_and_commands
from .walkthroughs import WALKTHROUGHS

__all__ = ["explanation", "main"]


def _parser() -> argparse.ArgumentParser:
    """The whole command line: ``derive``, ``explain`` and ``walkthrough``."""
    parser, commands = parser_and_commands()
    worked = commands.add_parser("walkthrough", help="print a worked answer")
    worked.add_argument("name", choices=sorted(WALKTHROUGHS))
    worked.add_argument("--format", choices=("text", "markdown"), default="text")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status: 0 done, 1 input eincalc refuses, 2 a usage error."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command == "derive" and args.values and args.format != "text":
        parser.error("--values goes with --format text: the graph at that point is a table")
    try:
        if args.command == "walkthrough":
            lines = [WALKTHROUGHS[args.name](args.format).rstrip("\n")]
        else:
            lines = explained(args) if args.command == "explain" else derive(args)
    except EincalcError as error:
        print(f"eincalc: error: {error}", file=sys.stderr)
        return 1
    return _write("\n".join(lines))


def _write(text: str) -> int:
    """Print ``text``; return 0, or 1 with one line on stderr when the output cannot take it."""
    try:
        print(text, flush=True)
    except UnicodeEncodeError as error:
        print(
            f"eincalc: error: the output's encoding ({error.encoding}) cannot write "
            f"{error.object[error.start : error.end]!a}; set PYTHONIOENCODING=utf-8",
            file=sys.stderr,
        )
        return 1
    except BrokenPipeError:  # the reader stopped early (eincalc … | head): nothing more to say
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # so the flush at exit does not fail again
        return 1
    except OSError as error:
        print(f"eincalc: error: cannot write the output: {error.strerror or error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
