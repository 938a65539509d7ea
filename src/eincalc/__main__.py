"""``python -m eincalc``: the command line, as the ``eincalc`` script runs it."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
