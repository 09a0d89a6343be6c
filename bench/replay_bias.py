"""Is the replay biased? Simulated days of the sample config and
examples/traffic.yaml put on record, then each day replayed through the
same config with several seeds: per queue, the replay's mean minus the
recorded figure, averaged over the days (± 95% interval over the days).

    .venv/bin/python -m bench.replay_bias [--days 7] [--seeds 10] [--date 2026-11-23] [--seed 11]

With the same config an unbiased replay gives back the recorded day up to
noise, so each difference's interval should contain 0 (docs/WHATIF.md,
"Replay a recorded day").
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
from datetime import date, timedelta
from pathlib import Path

from bench.record_day import record_days
from router.config import load_config
from router.records.localtime import zone_of
from router.whatif.compare import mean_ci
from router.whatif.profile_file import read_profile
from router.whatif.records_db import open_records
from router.whatif.replay import load_day
from router.whatif.replay_run import Figures, recorded
from router.whatif.replay_seeds import METRICS, replay_seeds, summary


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.replay_bias", description=__doc__.splitlines()[0])
    p.add_argument("--days", type=int, default=7)
    p.add_argument("--seeds", type=int, default=10)
    p.add_argument("--date", type=date.fromisoformat, default=date(2026, 11, 23))
    p.add_argument("--seed", type=int, default=11, help="the seed of the recorded days")
    args = p.parse_args(argv)
    table = load_config("config")
    profile, errors = read_profile("examples/traffic.yaml", table)
    if profile is None:
        print("\n".join(errors), file=sys.stderr)
        return 1
    tz = zone_of(table)
    diffs: dict[tuple[str, str], list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:{Path(tmp) / 'days.db'}"
        record_days(table, profile, args.date, args.days, url, seed=args.seed, tz=tz)
        engine = open_records(url)
        for n in range(args.days):
            day = load_day(engine, args.date + timedelta(days=n), tz)
            before = recorded(engine, day)
            runs, _ = replay_seeds(table, day, list(range(1, args.seeds + 1)))
            before["(all)"] = Figures.total(before.values())
            for run in runs:
                run["(all)"] = Figures.total(run.values())
            for q, stats in summary(runs).items():
                for name, _, value in METRICS:
                    if name == "answered":
                        continue
                    got, rec = stats[name][0], value(before.get(q, Figures()))
                    if not (math.isnan(got) or math.isnan(rec)):
                        diffs.setdefault((q, name), []).append(got - rec)
        engine.dispose()
    print(f"replay minus recorded, same config: {args.days} day(s) from {args.date} (seed {args.seed}), "
          f"each replayed with seeds 1-{args.seeds}; mean over the days ± 95% interval")
    print(f"{'queue':<11} " + " ".join(f"{name:>14}" for name, _, _ in METRICS if name != "answered"))
    for q in [*table.queues, "(all)"]:
        cells = []
        for name, unit, _ in METRICS:
            if name == "answered":
                continue
            mean, half = mean_ci(diffs.get((q, name), []))
            cells.append("-" if math.isnan(mean) else f"{mean:+.2f}{unit} ±{half:.2f}")
        print(f"{q:<11} " + " ".join(f"{c:>14}" for c in cells))
    return 0


if __name__ == "__main__":
    sys.exit(main())
