"""Is one weekday's replay biased? The same day recorded many times.

    .venv/bin/python -m bench.replay_day_bias [--date 2026-11-29] [--before 6] [--recordings 23]
        [--seeds 5] [--seed 11]

bench/replay_bias.py replays the days of one recorded week: a day of few
calls (a Sunday: about 80 answered calls, its VIP queue staffed by one
agent at a time) is then one draw, and three of them say little. This
records the sample config and examples/traffic.yaml `--recordings` times
with independent seeds (`--seed`, `--seed` + 1, ...), each run from
`--before` days ahead of `--date` so that the day starts from the state the
days before leave (0: from an empty centre at its midnight), and replays
`--date` of each recording through the same config with `--seeds` seeds.

Printed: per recording, each queue's recorded abandon rate beside the
replay's mean; then per queue and metric the mean over the recordings of
(replay mean - recorded) ± its 95% interval over the recordings. An
unbiased replay has every interval around 0 (docs/WHATIF.md, "Is the
replay biased?").
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import tempfile
from datetime import date, timedelta
from pathlib import Path

from bench.record_day import record_days, sample_centre
from router.whatif.compare import mean_ci
from router.whatif.records_db import open_records
from router.whatif.replay import load_day
from router.whatif.replay_run import recorded
from router.whatif.replay_seeds import METRICS, replay_seeds, summary


def one_recording(table, profile, day: date, before: int, seed: int, seeds: int, tz) -> tuple[dict, dict]:
    """(recorded figures, replay summary) of `day` in one recording."""
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:{Path(tmp) / 'days.db'}"
        record_days(table, profile, day - timedelta(days=before), before + 1, url, seed=seed, tz=tz)
        engine = open_records(url)
        try:
            loaded = load_day(engine, day, tz)
            before_figures = recorded(engine, loaded)
            runs, _ = replay_seeds(table, loaded, list(range(1, seeds + 1)))
        finally:
            engine.dispose()
    return before_figures, summary(runs)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.replay_day_bias", description=__doc__.splitlines()[0])
    p.add_argument("--date", type=date.fromisoformat, default=date(2026, 11, 29))
    p.add_argument("--before", type=int, default=6, help="days recorded ahead of --date (default 6)")
    p.add_argument("--recordings", type=int, default=23)
    p.add_argument("--seeds", type=int, default=5, help="replays of each recording (default 5)")
    p.add_argument("--seed", type=int, default=11, help="the first recording's seed")
    args = p.parse_args(argv)
    if args.recordings < 2 or args.seeds < 1 or args.before < 0:
        p.error("--recordings must be at least 2, --seeds at least 1, --before at least 0")
    table, profile, tz = sample_centre()
    diffs: dict[tuple[str, str], list[float]] = {}
    print(f"{args.date:%a %Y-%m-%d}, recorded {args.recordings} times after {args.before} day(s) "
          f"(seeds {args.seed}-{args.seed + args.recordings - 1}), each replayed with seeds 1-{args.seeds}")
    for n in range(args.recordings):
        seed = args.seed + n
        rec, stats = one_recording(table, profile, args.date, args.before, seed, args.seeds, tz)
        cells = []
        for q in table.queues:
            if q not in rec or q not in stats:
                continue
            for name, _, value in METRICS:
                got, was = stats[q][name][0], value(rec[q])
                if name != "answered" and not (math.isnan(got) or math.isnan(was)):
                    diffs.setdefault((q, name), []).append(got - was)
            if rec[q].answered:
                cells.append(f"{q} {rec[q].abandon:4.1f} -> {stats[q]['abandon'][0]:4.1f}")
        print(f"  seed {seed:3d}  abandon % recorded -> replayed: " + ", ".join(cells), flush=True)
    names = [name for name, _, _ in METRICS if name != "answered"]
    print("replay minus recorded, mean over the recordings ± 95% interval (sd of one recording)")
    print(f"{'queue':<11} " + " ".join(f"{name:>24}" for name in names))
    for q in table.queues:
        cells = []
        for name, unit, _ in METRICS:
            if name == "answered":
                continue
            xs = diffs.get((q, name), [])
            if len(xs) < 2:
                cells.append("-")
                continue
            mean, half = mean_ci(xs)
            cells.append(f"{mean:+.2f}{unit} ±{half:.2f} (sd {statistics.stdev(xs):.2f})")
        if any(c != "-" for c in cells):
            print(f"{q:<11} " + " ".join(f"{c:>24}" for c in cells))
    return 0


if __name__ == "__main__":
    sys.exit(main())
