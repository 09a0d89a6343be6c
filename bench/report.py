"""`router report` over a month of a 200-agent centre (issue 16: under 5 s
from SQLite for about 400,000 calls).

    .venv/bin/python -m bench.report            # 30 days, 200 agents (~400,000 calls)
    .venv/bin/python -m bench.report --quick    # 2 days, 20 agents (seconds)

The records are generated once into an SQLite file made by the writer's
store (its schema, keys and indexes), cached under /tmp by size and seed:
each agent works an 8-hour shift a day (early 08:00-16:00 or late
14:00-22:00, a 15-minute break and a 30-minute lunch), between calls it is
available, then rung, on the call and in wrap-up; about one offer in ten
rings out and that caller abandons (some short), overflows or takes a
callback. Calls, offers, queued steps, callbacks, agent states cut at
every quarter hour and sessions are written with executemany.

Then `router report` runs as a user runs it (a new process, the table on
stdout) and each run's wall time is printed, with report_figures alone.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import sqlite3
import subprocess
import sys
import time
from dataclasses import fields
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from router.records import model
from router.records.store import open_store

TZ = ZoneInfo("Asia/Shanghai")
QUEUES = (("sales", 30), ("support", 25), ("general", 20), ("aftersales", 12), ("complaints", 8), ("vip", 5))
TEAMS = ("sales", "service", "care")
FIRST_DAY = date(2026, 11, 2)
ROOT = Path(__file__).resolve().parent.parent
#: Of the generator and the schema: a cached file of another version is not reused.
VERSION = 3


def _insert(conn: sqlite3.Connection, row_type: type, rows: list[tuple]) -> None:
    names = [f.name for f in fields(row_type)]
    conn.executemany(f"INSERT INTO {row_type.TABLE} ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})",
                     rows)


class Day:
    """One day's rows, as tuples in the tables' column order."""

    def __init__(self, day: date, rng: random.Random) -> None:
        self.day, self.rng = day, rng
        self.midnight = datetime(day.year, day.month, day.day, tzinfo=TZ).timestamp()
        self.calls, self.offers, self.steps, self.callbacks, self.states, self.sessions = [], [], [], [], [], []
        self.n = 0

    def local(self, at: float) -> tuple[str, int]:
        moment = datetime.fromtimestamp(at, TZ)
        return moment.date().isoformat(), moment.hour * 60 + moment.minute

    def state(self, agent: str, team: str, state: str, reason: str, call: str | None, start: float, end: float):
        at = start
        while at < end:  # cut at every quarter hour, as the subscriber does
            cut = min(end, (at // 900 + 1) * 900)
            # asked_at: this bench's agents pause at once (the moment asked is not kept)
            self.states.append((agent, team, state, reason, call, at, cut, *self.local(at), cut - at, None))
            at = cut

    def call(self, queue: str, arrived: float, outcome: str, wait: float, agent=None, team=None, talk=None,
             wrapup=None) -> str:
        self.n += 1
        call_id = f"{self.day:%Y%m%d}-{self.n:06d}"
        short = outcome == "abandoned" and wait < 5
        counted = outcome in ("answered", "overflowed", "callback") or (outcome == "abandoned" and not short)
        callback_id = f"cb-{call_id}" if outcome == "callback" else None
        answered_at = arrived + wait if outcome == "answered" else None
        self.calls.append((call_id, "inbound", "pbx1", "4008", "13800000000", "王五", "{}", "r", queue, queue,
                           arrived, *self.local(arrived), arrived + wait, outcome, "", "", wait, agent, team,
                           answered_at, None if talk is None else answered_at + talk, talk, wrapup, 1, 0, 20.0,
                           counted, outcome == "answered" and wait <= 20, short, callback_id, None,
                           self.rng.choice((None, None, 3, 4, 5)) if outcome == "answered" else None, None))
        self.steps.append((call_id, 1, arrived, "queued", queue, ""))
        if callback_id:
            done = self.rng.random() < 0.8
            self.callbacks.append((callback_id, call_id, queue, "13800000000", arrived + wait, self.local(arrived)[0],
                                   arrived + wait + 900, "done" if done else "failed", "" if done else "no-answer",
                                   1 if done else 3, None))
        return call_id

    def shift(self, agent: str, team: str, start: float, weights) -> None:
        """One agent's shift: calls back to back with idle time between."""
        rng, t, end = self.rng, start, start + 8 * 3600
        pauses = [(start + 2 * 3600, 900, "break"), (start + 4 * 3600, 1800, "lunch")]
        self.sessions.append((agent, team, start, end, self.local(start)[0], end - start, None))
        while t < end:
            if pauses and t >= pauses[0][0]:
                _, length, reason = pauses.pop(0)
                self.state(agent, team, "paused", reason, None, t, min(end, t + length))
                t = min(end, t + length)
                continue
            idle = rng.expovariate(1 / 140)
            if t + idle >= end - 600:  # no new call in the last ten minutes
                self.state(agent, team, "available", "", None, t, end)
                t = end
                break
            self.state(agent, team, "available", "", None, t, t + idle)
            t += idle
            queue = rng.choices([q for q, _ in QUEUES], weights)[0]
            if rng.random() < 0.1:  # rings out; the caller does not wait for another agent
                wait = 5 + 12 + rng.expovariate(1 / 30)
                outcome = rng.choices(("abandoned", "overflowed", "callback"), (6, 2, 2))[0]
                call_id = self.call(queue, t - 5, outcome, wait if outcome == "abandoned" or wait > 60 else 60)
                self.offers.append((call_id, 1, agent, team, queue, t, t + 12, "no-answer"))
                self.state(agent, team, "reserved", "", call_id, t, t + 12)
                t += 12
                continue
            wait = min(300.0, rng.expovariate(1 / 15))
            talk, wrapup = 20 + rng.expovariate(1 / 240), 15.0
            call_id = self.call(queue, t + 4 - wait, "answered", wait, agent, team, talk, wrapup)
            self.offers.append((call_id, 1, agent, team, queue, t, t + 4, "answered"))
            self.state(agent, team, "reserved", "", call_id, t, t + 4)
            self.state(agent, team, "on_call", "", call_id, t + 4, t + 4 + talk)
            self.state(agent, team, "wrapup", "", call_id, t + 4 + talk, t + 4 + talk + wrapup)
            t += 4 + talk + wrapup
        # an agent still on a call at the shift's end logs out after it: the session ends then
        if t > end:
            self.sessions[-1] = (agent, team, start, t, self.local(start)[0], t - start, None)

    def short_abandons(self, count: int) -> None:
        for _ in range(count):
            at = self.midnight + self.rng.uniform(8 * 3600, 22 * 3600)
            self.call(self.rng.choice(QUEUES)[0], at, "abandoned", self.rng.uniform(0.5, 4.9))

    def write(self, conn: sqlite3.Connection) -> None:
        for row_type, rows in ((model.CallRow, self.calls), (model.OfferRow, self.offers),
                               (model.CallStepRow, self.steps), (model.CallbackRow, self.callbacks),
                               (model.AgentStateRow, self.states), (model.AgentSessionRow, self.sessions)):
            _insert(conn, row_type, rows)


def generate(path: Path, days: int, agents: int, seed: int) -> dict:
    """Write the records file; returns row counts."""
    open_store(f"sqlite:{path}").close()  # the writer's schema, keys and indexes
    rng = random.Random(seed)
    weights = [w for _, w in QUEUES]
    counts = dict.fromkeys(("calls", "offers", "agent_states"), 0)
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA synchronous=OFF")
    for d in range(days):
        day = Day(FIRST_DAY + timedelta(days=d), rng)
        for a in range(agents):
            start = day.midnight + (8 if a % 2 == 0 else 14) * 3600 + rng.uniform(0, 600)
            day.shift(str(1000 + a), TEAMS[a % len(TEAMS)], start, weights)
        day.short_abandons(len(day.calls) // 50)
        with conn:
            day.write(conn)
        counts["calls"] += len(day.calls)
        counts["offers"] += len(day.offers)
        counts["agent_states"] += len(day.states)
    conn.close()
    return counts


def _timed(argv: list[str]) -> tuple[float, float, str]:
    """(wall seconds, CPU seconds of the child, stdout) of one `router` run.
    Both are printed: on a shared machine the wall time includes waiting
    for a core."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "router", *argv], capture_output=True, text=True, cwd=ROOT)
    elapsed = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"router {' '.join(argv)} failed: {done.stderr}")
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    return elapsed, cpu, done.stdout


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.report", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="2 days, 20 agents")
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--agents", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--cache", default="/tmp/router-bench-report", help="where the generated file is kept")
    args = parser.parse_args(argv)
    days, agents = (2, 20) if args.quick else (args.days, args.agents)
    cache = Path(args.cache)
    cache.mkdir(parents=True, exist_ok=True)
    path = cache / f"records-v{VERSION}-{days}d-{agents}a-s{args.seed}.db"
    if not path.exists():
        started = time.perf_counter()
        partial = path.with_suffix(".partial")
        for stale in cache.glob(partial.name + "*"):
            stale.unlink()
        counts = generate(partial, days, agents, args.seed)
        partial.rename(path)
        print(f"generated {path} in {time.perf_counter() - started:.1f} s: "
              + ", ".join(f"{n:,} {t}" for t, n in counts.items()))
    conn = sqlite3.connect(path)
    sizes = {t: conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]
             for t in ("calls", "offers", "call_steps", "callbacks", "agent_states", "agent_sessions")}
    conn.close()
    print(f"records: {path} ({os.path.getsize(path) / 1e6:.0f} MB): " + ", ".join(f"{n:,} {t}" for t, n in sizes.items()))
    first, last = FIRST_DAY.isoformat(), (FIRST_DAY + timedelta(days=days - 1)).isoformat()
    base = ["report", "--records", f"sqlite:{path}", "--from", first, "--to", last]
    runs = [("queues by day", ["--by", "day"]), ("agents by day", ["--by", "day", "--what", "agents"]),
            ("teams by day", ["--by", "day", "--what", "teams"]), ("queues by interval30", ["--by", "interval30"]),
            ("queues by month", ["--by", "month"]), ("all by week, JSON", ["--by", "week", "--what", "all",
                                                                           "--format", "json"])]
    print(f"\n`router report` over {first}..{last} ({sizes['calls']:,} calls), a new process each "
          f"(load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores):")
    for name, flags in runs:
        elapsed, cpu, out = _timed(base + flags)
        print(f"  {name:<22} wall {elapsed:6.2f} s  cpu {cpu:6.2f} s  ({out.count(chr(10)):,} lines out)")
    from router.report.figures import report_figures
    from router.report.source import open_records

    engine = open_records(f"sqlite:{path}")
    started, cpu = time.perf_counter(), time.process_time()
    report_figures(engine, first, last, "day")
    print(f"  report_figures(all views, by day) in-process: wall {time.perf_counter() - started:.2f} s  "
          f"cpu {time.process_time() - cpu:.2f} s")
    engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
