"""The property-test world of tests/test_core_properties.py, run for as
long as asked: random event sequences (longer than CI's) through the engine,
with every guarantee and issue-12 invariant checked after every event.

    .venv/bin/python -m bench.fuzz --minutes 10
    .venv/bin/python -m bench.fuzz --minutes 1 --max-steps 300

Prints the number of sequences tried (and of events fed); on a failure,
hypothesis shrinks it and the minimal sequence is printed, exit status 1.
CI runs a few hundred sequences of the same world (tests/test_core_properties.py).
"""

from __future__ import annotations

import argparse
import sys
import time
import traceback
from pathlib import Path

TESTS = Path(__file__).resolve().parent.parent / "tests"
#: Sequences per hypothesis run; runs repeat until the time is up.
BATCH = 200


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.fuzz", description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="how long to run (default 10)")
    parser.add_argument("--max-steps", type=int, default=200, help="longest sequence (default 200)")
    args = parser.parse_args(argv)

    sys.path.insert(0, str(TESTS))  # the world lives with the property tests (and tests/support/tables.py)
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import strategies as st

    import test_core_properties as world

    counts = {"sequences": 0, "events": 0}
    sequences = st.lists(world.step_st, min_size=20, max_size=args.max_steps)
    outages = st.lists(world.resync_st, min_size=20, max_size=args.max_steps)

    @settings(max_examples=BATCH, deadline=None, database=None, derandomize=False,
              phases=[Phase.generate, Phase.shrink], suppress_health_check=list(HealthCheck))
    @given(st.one_of(sequences, outages))
    def run(actions):
        played = world.play(actions)
        world.check_finished(played)
        counts["sequences"] += 1
        counts["events"] += len(played.log)

    started = time.monotonic()
    deadline = started + args.minutes * 60.0
    while time.monotonic() < deadline:
        try:
            run()
        except Exception as err:  # the shrunk sequence is in the exception's notes
            traceback.print_exception(err, file=sys.stdout)
            print(f"FAILED after {counts['sequences']} sequences: {type(err).__name__}: {err}", flush=True)
            return 1
    elapsed = time.monotonic() - started
    print(f"bench.fuzz: {counts['sequences']} sequences ({counts['events']} events) in {elapsed / 60:.1f} min, "
          f"up to {args.max_steps} steps each: no guarantee broken", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
