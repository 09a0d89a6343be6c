"""`router run --simulate`: the engine routing a simulated contact centre,
printed live: one line per routing decision and, every simulated minute, one
summary line per queue (waiting, longest wait, service level, agents free).

This drives the engine directly in virtual time; it is the stand-in until the
AMI adapter and the TCP PBX simulator take over the run command.
"""

from __future__ import annotations

import sys
import time
from datetime import datetime
from zoneinfo import ZoneInfo

from router.core.table import RoutingTable
from router.sim.discrete import Simulation

SUMMARY_EVERY = 60.0  # simulated seconds


def _sl(value: float | None) -> str:
    return "  -  " if value is None else f"{value:4.0f}%"


def run_simulation(table: RoutingTable, *, tz: ZoneInfo, start: float, duration: float, speed: float,
                   seed: int, calls_per_hour: float, quiet: bool, out=None) -> int:
    out = out or sys.stdout  # looked up per call: tests swap sys.stdout
    def clock(t: float) -> str:
        return datetime.fromtimestamp(t, tz).strftime("%H:%M:%S")

    def log(t: float, line: str) -> None:
        if not quiet:
            print(f"{clock(t)}  {line}", file=out, flush=True)

    sim = Simulation(table, seed=seed, calls_per_hour=calls_per_hour, start=start, log=log)
    print(f"simulating {duration:.0f}s from {datetime.fromtimestamp(start, tz):%Y-%m-%d %H:%M %Z} "
          f"at {calls_per_hour:.0f} calls/h, seed {seed}, speed {'max' if not speed else f'{speed:g}x'}",
          file=out, flush=True)
    sim.start()
    began = time.monotonic()
    t = start
    while t < start + duration:
        t = min(t + SUMMARY_EVERY, start + duration)
        sim.run_until(t)
        if speed:
            delay = began + (t - start) / speed - time.monotonic()
            if delay > 0:
                time.sleep(delay)
        print(f"{clock(t)}  ---- summary", file=out)
        for name in table.queues:
            waiting, longest, free = sim.queue_now(name)
            r = sim.records[name]
            print(f"{clock(t)}  {name:<11} waiting {waiting:3d}  longest {longest:5.0f}s  "
                  f"SL {_sl(r.service_level())}  answered {r.answered:4d}  abandoned {r.abandoned:3d}  "
                  f"overflowed {r.overflowed + r.closed:3d}  free agents {free:2d}", file=out, flush=True)
    return 0
