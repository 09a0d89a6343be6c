"""Where does a replay's agent time differ from the day's? Simulated days
of the sample config and examples/traffic.yaml put on record (counting, as
they run, the logouts and pauses asked for mid-call and how long each
waited for its call), then each day replayed once through the same config:
per state, the agent-hours on record beside the replay's, over the day.

    .venv/bin/python -m bench.replay_agents [--days 2] [--date 2026-11-23] [--seed 11] [--replay-seed 1]

An unbiased replay gives the day's agent time back up to the noise of one
replay (answer delays and no-answers redrawn); time logged in or available
that the replay adds every day is capacity the day did not have
(docs/WHATIF.md, "Is the replay biased?").
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections import defaultdict
from datetime import date, timedelta
from pathlib import Path

from sqlalchemy import and_, func, select

from router.core import facts as f
from router.sim.discrete import Simulation
from router.whatif.records_db import STATES, open_records
from router.whatif.replay import ReplayWorld, load_day
from router.whatif.replay_run import SPILL
from bench.record_day import record_days, sample_centre

#: The states compared, in the order printed (the records' names).
STATES_SHOWN = ("available", "reserved", "on_call", "wrapup", "paused")


class Asked:
    """Logouts and pauses asked for while the agent was on a call: how
    many, and the seconds each waited for its call to end."""

    def __init__(self) -> None:
        self.waiting: dict[str, tuple[str, float]] = {}  # agent -> (what, asked at)
        self.waits: dict[str, list[float]] = defaultdict(list)  # "logged_out"/"paused" -> waits

    def on_fact(self, fact, now: float) -> None:
        if type(fact) is not f.AgentStateChanged:
            return
        if fact.pending in ("logged_out", "paused") and fact.agent not in self.waiting:
            self.waiting[fact.agent] = (fact.pending, now)
        elif fact.pending is None or fact.pending == "":
            asked = self.waiting.pop(fact.agent, None)
            if asked is not None and fact.pending is None and fact.state == asked[0]:
                self.waits[asked[0]].append(now - asked[1])


class Clock:
    """Seconds per (agent, state) of a run's agent facts within [a, b)."""

    def __init__(self, a: float, b: float) -> None:
        self.a, self.b = a, b
        self.since: dict[str, tuple[str, float]] = {}
        self.time: dict[tuple[str, str], float] = defaultdict(float)

    def on_fact(self, fact, now: float) -> None:
        if type(fact) is not f.AgentStateChanged:
            return
        self._close(fact.agent, now)
        state = "unreachable" if fact.state == "paused" and fact.reason == "unreachable" else fact.state
        if state != "logged_out":
            self.since[fact.agent] = (state, now)

    def _close(self, agent: str, now: float) -> None:
        was = self.since.pop(agent, None)
        if was is not None:
            lo, hi = max(was[1], self.a), min(now, self.b)
            if hi > lo:
                self.time[(agent, was[0])] += hi - lo

    def close_all(self, now: float) -> None:
        for agent in list(self.since):
            self._close(agent, now)


def record(table, profile, first: date, days: int, url: str, seed: int, tz) -> Asked:
    """bench/record_day.py's record_days, with the asked-for counted."""
    asked = Asked()
    record_days(table, profile, first, days, url, seed=seed, tz=tz, also=(asked.on_fact,))
    return asked


def on_record(engine, a: float, b: float) -> dict[tuple[str, str], float]:
    """Seconds per (agent, state) on record within [a, b) (intervals are cut
    at quarter hours, so at midnight)."""
    st = STATES.c
    with engine.connect() as conn:
        rows = conn.execute(select(st.agent_id, st.state, func.sum(st.duration))
                            .where(and_(st.started_at >= a, st.started_at < b))
                            .group_by(st.agent_id, st.state)).all()
    return {(agent, state): total for agent, state, total in rows}


def _hours(time: dict[tuple[str, str], float], state: str | None = None) -> float:
    return sum(v for (_, s), v in time.items() if state is None or s == state) / 3600.0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.replay_agents", description=__doc__.splitlines()[0])
    p.add_argument("--days", type=int, default=2)
    p.add_argument("--date", type=date.fromisoformat, default=date(2026, 11, 23))
    p.add_argument("--seed", type=int, default=11, help="the seed of the recorded days")
    p.add_argument("--replay-seed", type=int, default=1)
    args = p.parse_args(argv)
    table, profile, tz = sample_centre()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:{Path(tmp) / 'days.db'}"
        asked = record(table, profile, args.date, args.days, url, args.seed, tz)
        for what, waits in sorted(asked.waits.items()):
            mean = sum(waits) / len(waits) if waits else 0.0
            print(f"asked for mid-call, {args.days} day(s): {what:<10} {len(waits):5d} "
                  f"({len(waits) / args.days:.1f} a day), waited for the call {mean:.0f} s on average, "
                  f"{sum(waits) / 3600 / args.days:.2f} agent-hours a day")
        engine = open_records(url)
        print(f"agent-hours per state, recorded (rec) and replayed with seed {args.replay_seed} (sim)")
        print(f"{'day':<11} " + " ".join(f"{s:>22}" for s in ("logged in", *STATES_SHOWN)))
        for n in range(args.days):
            day = load_day(engine, args.date + timedelta(days=n), tz)
            rec = on_record(engine, day.start, day.end)
            clock = Clock(day.start, day.end)
            sim = Simulation(table, start=day.start, seed=args.replay_seed,
                             world=lambda t, rng: ReplayWorld(t, rng, day))
            sim.subscribe(clock.on_fact)
            sim.start()
            sim.run_until(day.end + SPILL)
            clock.close_all(day.end)
            cells = []
            for state in (None, *STATES_SHOWN):
                a, b = _hours(rec, state), _hours(clock.time, state)
                cells.append(f"{a:7.2f} {b:7.2f} {b - a:+6.2f}")
            print(f"{day.date.isoformat():<11} " + " ".join(f"{c:>22}" for c in cells))
        engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
