"""Engine cost in machine instructions per event, counted by valgrind.

Wall-clock figures move with whatever else the machine does; instruction
counts do not (valgrind --tool=callgrind counts the same total for the same
binary, inputs and environment). This runs the engine-alone world of
bench.engine_alone (1,000 agents, about 100 callers waiting, 50 calls/s,
seed 1) twice under callgrind, for a short and a long stretch after the same
warm-up, and divides the difference by the difference in events: start-up,
imports and the warm-up cancel out, leaving the steady-state cost of one
`Engine.handle`.

    .venv/bin/python bench/instructions.py            # about 3 minutes
    .venv/bin/python bench/instructions.py --tree DIR # another checkout (e.g. a worktree of main)

Compare two commits by running it in two checkouts. Needs valgrind (Debian).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
WORLD = """
import sys
from bench.engine_alone import World
w = World(1000, 100, 50.0, 1)
w.run(20.0)
w.timing = True
w.run(float(sys.argv[1]))
print("EVENTS", len(w.all_ns))
"""


def count(tree: Path, seconds: float) -> tuple[int, int]:
    """(instructions, events) of one run of `seconds` simulated seconds."""
    env = dict(os.environ, PYTHONPATH=str(tree))
    out = subprocess.run(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable, "-c", WORLD,
         str(seconds)], cwd=tree, env=env, capture_output=True, text=True, check=True)
    instructions = int(re.search(r"Collected : (\d+)", out.stderr).group(1))
    events = int(re.search(r"EVENTS (\d+)", out.stdout).group(1))
    return instructions, events


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tree", type=Path, default=HERE.parent, help="checkout to measure")
    parser.add_argument("--short", type=float, default=5.0, help="simulated seconds, short run")
    parser.add_argument("--long", type=float, default=25.0, help="simulated seconds, long run")
    args = parser.parse_args(argv)
    if shutil.which("valgrind") is None:
        print("valgrind is not installed (apt-get install valgrind)", file=sys.stderr)
        return 2
    i1, e1 = count(args.tree, args.short)
    i2, e2 = count(args.tree, args.long)
    per_event = (i2 - i1) / (e2 - e1)
    print(f"{args.tree}: {e2 - e1} events, {per_event:,.0f} instructions per Engine.handle "
          f"(runs: {i1:,} / {i2:,} instructions)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
