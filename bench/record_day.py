"""Call records of simulated days, written the way a running router writes
them: the simulation's facts through the records assembler
(router/records/assemble.py, ticked every simulated minute as the records
subscriber ticks it) into a records database.

    .venv/bin/python -m bench.record_day sqlite:/tmp/records.db \\
        [--config config] [--traffic examples/traffic.yaml] [--date 2026-11-23] [--days 1] [--seed 11]

For `router traffic fit` and `router simulate --replay` (docs/WHATIF.md):
`router simulate --records` records the plain flat-traffic simulation;
this records a traffic profile's days with their roster. The replay tests
use it.
"""

from __future__ import annotations

import argparse
import sys
from datetime import date, timedelta

from router.records.assemble import RecordAssembler
from router.records.store import open_store
from router.sim.discrete import Simulation
from router.whatif.world import ProfileWorld, midnight

#: After the last day the simulation runs on this long, so late calls finish.
SPILL = 2 * 3600.0


def sample_centre():
    """(the sample config, examples/traffic.yaml read against it, its time
    zone): the centre the replay benches record. Run from the checkout."""
    from router.config import load_config
    from router.records.localtime import zone_of
    from router.whatif.profile_file import read_profile

    table = load_config("config")
    profile, errors = read_profile("examples/traffic.yaml", table)
    if profile is None:
        raise SystemExit("\n".join(errors))
    return table, profile, zone_of(table)


def record_days(table, profile, first: date, days: int, url: str, *, seed: int = 11, tz, also=()) -> int:
    """Simulate `days` days of `profile` from `first` and write their
    records to `url`; returns the number of rows written. `also`: more
    subscribers to the simulation's facts (bench/replay_agents.py counts)."""
    day0 = midnight(first, tz)
    end = midnight(first + timedelta(days=days), tz) + SPILL
    sim = Simulation(table, start=day0, seed=seed,
                     world=lambda t, rng: ProfileWorld(t, rng, profile, first, days, tz))
    asm = RecordAssembler(lambda: table)
    rows: list = []
    sim.subscribe(lambda fact, now: rows.extend(asm.handle(fact, now)))
    for subscriber in also:
        sim.subscribe(subscriber)
    sim.start()
    t = day0
    while t < end:
        t += 60.0
        sim.run_until(t)
        rows.extend(asm.tick(t))
    store = open_store(url)
    try:
        store.write(rows)
    finally:
        store.close()
    return len(rows)


def main(argv: list[str] | None = None) -> int:
    from zoneinfo import ZoneInfo

    from router.config import load_config
    from router.whatif.profile_file import read_profile

    p = argparse.ArgumentParser(prog="python -m bench.record_day", description=__doc__.splitlines()[0])
    p.add_argument("records", metavar="URL")
    p.add_argument("--config", default="config")
    p.add_argument("--traffic", default="examples/traffic.yaml")
    p.add_argument("--date", default="2026-11-23", type=date.fromisoformat)
    p.add_argument("--days", default=1, type=int)
    p.add_argument("--seed", default=11, type=int)
    args = p.parse_args(argv)
    table = load_config(args.config)
    profile, errors = read_profile(args.traffic, table)
    for problem in errors:
        print(problem, file=sys.stderr)
    if profile is None:
        return 1
    tz = ZoneInfo(profile.timezone or next((c.timezone for c in table.calendars.values()), "UTC"))
    n = record_days(table, profile, args.date, args.days, args.records, seed=args.seed, tz=tz)
    print(f"{n} record rows of {args.days} simulated day(s) from {args.date} written to {args.records}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
