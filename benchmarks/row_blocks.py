"""eincalc with and without row blocks (`eincalc.numeric.blocking`), side by side: ``python benchmarks/row_blocks.py``.

Each case is compiled twice, once with the row-wise steps grouped into row
blocks and once with every step over whole arrays, and both run interleaved
with the hand-written NumPy of the same row (median [min–max] of ``--repeats``
rounds, one BLAS thread, CPU time by default); the ratio is the blocked
program's median over the unblocked one's.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from run import _limit_blas, _pin_threads


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--clock", choices=("wall", "cpu"), default="cpu")
    options = parser.parse_args()
    _pin_threads(1)
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import numeric
    import timing
    from frameworks import Frameworks
    from timing import Row, interleaved, render

    from eincalc.numeric import fastplan

    timing.clock = timing.CLOCKS[options.clock]
    limits = _limit_blas(1)
    makers = {
        "B1 MLP 256×784→512→512→10": lambda: numeric.mlp_case(256, (784, 512, 512, 10), Frameworks(1)),
        "B4 attention T=512, d=64": lambda: numeric.attention_case(512, 64, Frameworks(1)),
        "B4 attention T=2048, d=64": lambda: numeric.attention_case(2048, 64, Frameworks(1)),
    }
    grouped = fastplan.schedule
    rows = []
    for name, make in makers.items():
        blocked = make()
        fastplan.schedule = lambda args, row_steps, nbytes: (list(range(len(args))), [])
        whole: Any = make()
        whole.eincalc()  # planned now, without groups
        fastplan.schedule = grouped
        seconds = interleaved(
            {"eincalc": blocked.eincalc, "no blocks": whole.eincalc, "NumPy": blocked.numpy}, options.repeats
        )
        rows.append(Row(name.split()[0], name.split(" ", 1)[1], seconds, baseline="no blocks"))
        print(f"  measured {name}", file=sys.stderr)
    print(
        f"eincalc with row blocks against eincalc without, median [min–max] of {options.repeats} rounds, "
        f"{options.clock} clock, load average {os.getloadavg()[0]:.1f} at the end"
    )
    print(render(rows, ("eincalc", "no blocks", "NumPy")))
    del limits
    return 0


if __name__ == "__main__":
    sys.exit(main())
