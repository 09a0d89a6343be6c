"""Is the replay biased? Simulated days of the sample config and
examples/traffic.yaml put on record, then each day replayed through the
same config with several seeds: per queue, the replay's mean minus the
recorded figure, averaged over the days (± 95% interval over the days).

    .venv/bin/python -m bench.replay_bias [--days 7] [--seeds 10] [--date 2026-11-23] [--seed 11]
        [--answered-only] [--asked-when-done]

Two switches put back what the replay did before, to measure what each
change is worth: --answered-only draws answer delays from the answered
rings alone (plus the share that rang out), as if no caller had hung up
on a long ring; --asked-when-done asks for a logout when it happened and
for a pause when it began (records before revision 0005).

With the same config an unbiased replay gives back the recorded day up to
noise, so each difference's interval should contain 0 (docs/WHATIF.md,
"Replay a recorded day").
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

from sqlalchemy import and_, select

from bench.record_day import record_days, sample_centre
from router.whatif.compare import mean_ci
from router.whatif.km import Curve, kaplan_meier
from router.whatif.records_db import CALLS, OFFERS, SESSIONS, open_records
from router.whatif.replay import load_day
from router.whatif.replay_run import Figures, recorded
from router.whatif.replay_seeds import METRICS, replay_seeds, summary


def _answered_only(engine, day) -> Curve:
    """The rings' curve as if every ring not answered had rung out: the
    answered ones' times, the unanswered share never answered."""
    o, c = OFFERS.c, CALLS.c
    where = and_(c.kind == "inbound", c.local_date == day.date.isoformat(),
                 o.outcome.in_(("answered", "no-answer", "timeout")))
    with engine.connect() as conn:
        rows = conn.execute(select(o.ended_at - o.rung_at, o.outcome)
                            .select_from(OFFERS.join(CALLS, c.call_id == o.call_id)).where(where)).all()
    answered = kaplan_meier((t, 1, 0) for t, k in rows if k == "answered")
    missed = sum(k != "answered" for _, k in rows) / len(rows)
    return replace(answered, survival=tuple(missed + (1 - missed) * s for s in answered.survival))


def _logouts_when_done(engine, day) -> list[tuple[str, float, float]]:
    s = SESSIONS.c
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(select(s.agent_id, s.login_at, s.logout_at)
                                               .where(and_(s.login_at < day.end, s.logout_at > day.start))
                                               .order_by(s.login_at, s.agent_id)).all()]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.replay_bias", description=__doc__.splitlines()[0])
    p.add_argument("--days", type=int, default=7)
    p.add_argument("--seeds", type=int, default=10)
    p.add_argument("--date", type=date.fromisoformat, default=date(2026, 11, 23))
    p.add_argument("--seed", type=int, default=11, help="the seed of the recorded days")
    p.add_argument("--answered-only", action="store_true", help="answer delays of the answered rings alone")
    p.add_argument("--asked-when-done", action="store_true", help="logouts and pauses asked for when done")
    args = p.parse_args(argv)
    table, profile, tz = sample_centre()
    diffs: dict[tuple[str, str], list[float]] = {}
    days: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:{Path(tmp) / 'days.db'}"
        record_days(table, profile, args.date, args.days, url, seed=args.seed, tz=tz)
        engine = open_records(url)
        for n in range(args.days):
            day = load_day(engine, args.date + timedelta(days=n), tz)
            days.append(day.date.strftime("%a %Y-%m-%d"))
            if args.answered_only:
                day.answering = _answered_only(engine, day)
            if args.asked_when_done:
                day.sessions = _logouts_when_done(engine, day)
                day.pauses = [(*p[:4], None) for p in day.pauses]
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
    # per day, all queues: a day of few calls (a Sunday) swings the mean
    print("per day, all queues (replay mean minus recorded):")
    for n, name in enumerate(days):
        print(f"  {name}  " + " ".join(f"{metric} {diffs[('(all)', metric)][n]:+6.2f}{unit}"
                                     for metric, unit, _ in METRICS if metric != "answered"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
