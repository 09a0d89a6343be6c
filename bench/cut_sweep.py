"""AMI cuts under traffic, over many seeds: the scenario of
tests/test_e2e.py::test_ami_connection_cut_mid_traffic_loses_no_call (1,500
calls/h, the AMI connection dropped three times, a minute apart), run once
per seed, printing per run the calls, the ghost calls the router could have
prevented, the answer/hang-up races on the wire, the ghost calls of callers
who left while no router was connected, and double connects.

A correct router shows 0 in "ghost" and "double" on every row; "race" and
"outage" are the network's doing (see router/sim/pbx/legs.py). The test runs
one seed; this finds the rare interleavings one seed does not.

    .venv/bin/python bench/cut_sweep.py 1 2 3 4 5 6 7 8     # about 25 s a seed
"""

from __future__ import annotations

import asyncio
import logging
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from support.centre import Centre  # noqa: E402
from test_e2e import CUT_TRAFFIC, traffic_with_ami_cuts  # noqa: E402


async def one(seed: int) -> tuple:
    async with Centre(behaviour=CUT_TRAFFIC, calls_per_hour=1500, seed=seed) as centre:
        await traffic_with_ami_cuts(centre)
        w = centre.pbx.world
        return (seed, len(centre.pbx.records), w.ghost_calls, w.ghost_races, w.ghost_outages, w.double_connects,
                list(w.anomalies))


async def main(seeds: list[int]) -> int:
    logging.disable(logging.CRITICAL)  # the cuts log a lot; the table is the result
    print(f"{'seed':>4} {'calls':>5} {'ghost':>5} {'race':>4} {'outage':>6} {'double':>6}")
    bad = 0
    for seed in seeds:
        seed, calls, ghost, race, outage, double, anomalies = await one(seed)
        bad += ghost + double
        print(f"{seed:>4} {calls:>5} {ghost:>5} {race:>4} {outage:>6} {double:>6}", flush=True)
        for line in anomalies:
            print(f"      {line}")
    print(f"router-preventable ghost calls and double connects: {bad}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main([int(a) for a in sys.argv[1:]] or list(range(1, 9)))))
