"""Soak: an accelerated simulated week at a busy centre's load, in one
process (the PBX simulator and the router over loopback TCP, as `router run
--simulate`), reporting memory and open asyncio tasks at the start, every
simulated day, and the end. Both should stay flat.

    .venv/bin/python bench/soak.py                      # 7 days, 700 calls/h, 1000x (about 10 minutes)
    .venv/bin/python bench/soak.py --days 0.02 --report 10m --speed 200   # a 10-second smoke run

Memory is the process's VmRSS from /proc/self/status. So that it measures
the router and the PBX's live state, not the test bookkeeping, the
simulator's records of finished calls and its log of received actions are
harvested into counters every simulated hour (they grow by design).
The table's last columns are the router's own structures that could leak:
calls it tracks, timers, agent legs and Originates awaiting a response.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from collections import Counter
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from router.config import load_config  # noqa: E402
from router.config.values import parse_duration  # noqa: E402
from router.process.compose import Options, Simulation, build  # noqa: E402
from router.sim.traffic import Behaviour  # noqa: E402

MONDAY = datetime(2026, 11, 23, 0, 0, tzinfo=ZoneInfo("Asia/Shanghai")).timestamp()
HARVEST = 3600.0  # simulated seconds between harvests of finished calls


def label(seconds: float) -> str:
    """1d, 36h, 5m: simulated time since the start."""
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds / size:.0f}{unit}"
    return f"{seconds:.0f}s"


def rss_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


class Soak:
    def __init__(self, args: argparse.Namespace, out) -> None:
        self.args, self.out = args, out
        self.table = load_config(args.config)
        behaviour = Behaviour(mean_patience=120, answer_delay=(1.0, 6.0), no_answer_rate=0.05,
                              mean_talk=150, min_talk=20)
        self.app = build(Options(self.table, simulation=Simulation(
            seed=args.seed, calls_per_hour=args.calls_per_hour, behaviour=behaviour, hold_limit=600.0),
            speed=args.speed, start=MONDAY))
        self.pbx, self.router = self.app.simulator, self.app.router
        self.outcomes: Counter[str] = Counter()
        self.actions = 0
        self.rows: list[tuple] = []

    def harvest(self) -> None:
        records = self.pbx.records
        for call_id in [c for c, r in records.items() if r.ended is not None]:
            self.outcomes[records.pop(call_id).outcome] += 1
        self.actions += len(self.pbx.server.actions_log)
        self.pbx.server.actions_log.clear()

    def row(self, label: str, started: float) -> None:
        r = self.router
        legs = sum(len(t.legs) for t in r.translators.values())
        originates = sum(len(t.originates) for t in r.translators.values())
        calls = sum(self.outcomes.values())
        self.rows.append((label, time.monotonic() - started, rss_mb(), len(asyncio.all_tasks()), calls,
                          len(r.engine.calls), len(r.driver.timers), legs, originates, r.events_handled))
        self.print_row(self.rows[-1])

    def print_header(self) -> None:
        print(f"{'sim time':>9} {'real s':>7} {'RSS MB':>7} {'tasks':>6} {'calls':>7} {'tracked':>7} "
              f"{'timers':>6} {'legs':>5} {'origs':>5} {'events':>9}", file=self.out, flush=True)

    def print_row(self, row: tuple) -> None:
        print(f"{row[0]:>9} {row[1]:7.0f} {row[2]:7.1f} {row[3]:6d} {row[4]:7d} {row[5]:7d} {row[6]:6d} "
              f"{row[7]:5d} {row[8]:5d} {row[9]:9d}", file=self.out, flush=True)

    async def run(self) -> int:
        args = self.args
        total = args.days * 86400.0
        await self.app.start()
        started = time.monotonic()
        print(f"soak: {args.days:g} simulated day(s) at {args.calls_per_hour:g} calls/h, {args.speed:g}x, "
              f"seed {args.seed}, {len(self.table.agents)} agents; report every {args.report / 3600:g}h",
              file=self.out, flush=True)
        self.print_header()
        self.row("start", started)
        clock = self.pbx.clock
        next_report, next_harvest = args.report, HARVEST
        try:
            while clock.now() < total:
                await asyncio.sleep(min(1.0, max(0.01, (min(next_report, next_harvest, total) - clock.now())
                                                 / args.speed)))
                if clock.now() >= next_harvest:
                    self.harvest()
                    next_harvest += HARVEST
                if clock.now() >= next_report and clock.now() < total:
                    self.harvest()
                    self.row(label(next_report), started)
                    next_report += args.report
            self.harvest()
            self.row("end", started)
        finally:
            await self.app.stop()
        outcomes = ", ".join(f"{k} {v}" for k, v in self.outcomes.most_common())
        print(f"calls finished: {sum(self.outcomes.values())} ({outcomes}); actions received by the PBX "
              f"{self.actions}; ghost calls {self.pbx.ghost_calls} (plus {self.pbx.ghost_races} answer/hang-up "
              f"races, counted apart), "
              f"double connects {self.pbx.double_connects}, simulator errors {len(self.pbx.errors)}",
              file=self.out, flush=True)
        first, last = self.rows[0], self.rows[-1]
        print(f"RSS {first[2]:.1f} MB at start, {last[2]:.1f} MB at the end; asyncio tasks {first[3]} -> {last[3]}",
              file=self.out, flush=True)
        return 0


def main(argv: list[str] | None = None, out=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default=str(ROOT / "config"))
    parser.add_argument("--days", type=float, default=7.0, help="simulated days (default 7)")
    parser.add_argument("--speed", type=float, default=1000.0, help="simulated seconds per real second")
    parser.add_argument("--calls-per-hour", type=float, default=700.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--report", type=parse_duration, default=86400.0, help="report interval (default 24h)")
    args = parser.parse_args(argv)
    if os.path.exists("/proc/self/status") is False:
        print("soak: needs /proc/self/status (Linux)", file=sys.stderr)
        return 2
    return asyncio.run(Soak(args, out or sys.stdout).run())


if __name__ == "__main__":
    sys.exit(main())
