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
from router.runtime.tally import Tally, summary_lines

SUMMARY_EVERY = 60.0  # simulated seconds


def run_simulation(table: RoutingTable, *, tz: ZoneInfo, start: float, duration: float, speed: float,
                   seed: int, calls_per_hour: float, quiet: bool, out=None, agents: int | None = None,
                   records=None) -> int:
    out = out or sys.stdout  # looked up per call: tests swap sys.stdout
    def clock(t: float) -> str:
        return datetime.fromtimestamp(t, tz).strftime("%H:%M:%S")

    def log(t: float, line: str) -> None:
        if not quiet:
            print(f"{clock(t)}  {line}", file=out, flush=True)

    from router.sim.recorded import SimRecords

    recorded = SimRecords(records, lambda: sim.engine.table, start, out) if records else None
    sim = Simulation(table, seed=seed, calls_per_hour=calls_per_hour, start=start, agents=agents,
                     log=None if quiet else log)  # quiet: no line is even formatted
    if recorded:
        sim.subscribe(recorded.subscriber)
    print(f"simulating {duration:.0f}s from {datetime.fromtimestamp(start, tz):%Y-%m-%d %H:%M %Z} "
          f"at {calls_per_hour:.0f} calls/h, seed {seed}, speed {'max' if not speed else f'{speed:g}x'}",
          file=out, flush=True)
    sim.start()
    began = time.monotonic()
    t = start
    while t < start + duration:
        t = min(t + SUMMARY_EVERY, start + duration)
        sim.run_until(t)
        if recorded:
            recorded.tick(t)
        if speed:
            delay = began + (t - start) / speed - time.monotonic()
            if delay > 0:
                time.sleep(delay)
        if not quiet or t >= start + duration:
            print(f"{clock(t)}  ---- summary", file=out)
            for line in summary_lines(sim.engine, sim.tally, t):
                print(f"{clock(t)}  {line}", file=out, flush=True)
    print(report(sim.tally), file=out, flush=True)
    if recorded:  # the report above is of the simulated time; the records hold every call offered in it
        recorded.finish(recorded.warm_down(sim, t))
    return 0


def report(tally: Tally) -> str:
    """The what-if table: per queue offered, answered, SL, ASA, abandons."""
    rows = [f"{'queue':<11} {'offered':>7} {'answered':>8} {'SL':>5} {'target':>10} {'ASA':>6} "
            f"{'abandon':>7} {'overflow':>8}"]
    for name, r in tally.queues.items():
        target = tally.table.queues[name].service_level
        sl = r.service_level()
        asa = r.wait_total / r.answered if r.answered else 0.0
        abandon = 100.0 * r.abandoned / r.offered if r.offered else 0.0
        rows.append(f"{name:<11} {r.offered:7d} {r.answered:8d} {'-' if sl is None else f'{sl:.0f}%':>5} "
                    f"{f'{target.percent:g}%/{target.within:g}s':>10} {asa:5.1f}s {abandon:6.1f}% "
                    f"{r.overflowed + r.closed:8d}")
    return "\n".join(rows)
