"""What a simulated call costs in work items: engine events, commands and
facts, and entries through the simulation's event heap, per call offered.

    .venv/bin/python -m bench.whatif_counts            # 3 simulated hours
    .venv/bin/python -m bench.whatif_counts --hours 24

The centre and traffic of bench/whatif.py (200 agents, 2,000 calls/h). The
counts are exact (no clock): they say where a week's time can still be
saved by doing less rather than doing it faster (bench/RESULTS.md, "What-if
speed: where the time goes"). Facts that no subscriber follows are not built
(`Engine.unfollowed`) and so are not counted.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from datetime import date
from zoneinfo import ZoneInfo

from bench.whatif import centre, traffic
from router.sim.discrete import Simulation
from router.whatif.run import run_profile


class _Counting(Simulation):
    """The simulation, counting what goes through it."""

    events: Counter = Counter()
    commands: Counter = Counter()
    scheduled: Counter = Counter()

    def feed(self, event) -> None:
        self.events[type(event).__name__] += 1
        super().feed(event)

    def _how(self, kind: type):
        how = super()._how(kind)

        def counted(*args, how=how):  # a fact's handler (fact, now) or a command's (sim, command)
            command = args[0] if isinstance(how, tuple) else args[1]
            name = type(command).__name__
            self.commands[f"{name}:{command.kind}" if name.endswith("Timer") else name] += 1
            if isinstance(how, tuple):
                for handler in how:
                    handler(*args)
            else:
                how(*args)

        # (a fact's tuple of handlers becomes one counting handler)
        self._carry[kind] = (counted,) if isinstance(how, tuple) else counted
        return self._carry[kind]

    def at(self, at: float, *what) -> None:  # (timers are pushed by `_start_timer`: StartTimer above)
        self.scheduled[what[0]] += 1
        super().at(at, *what)

    _KINDS = {**Simulation._KINDS, "event": feed}


def counts(hours: float = 3.0) -> dict:
    table = centre(200)
    profile = traffic(table)
    for c in (_Counting.events, _Counting.commands, _Counting.scheduled):
        c.clear()
    outcome = run_profile(table, profile, start=date(2026, 11, 23), days=7, seed=1,
                          tz=ZoneInfo("Asia/Shanghai"), hours=hours, simulation=_Counting)
    calls = sum(q.offered for q in outcome.tally.queues.values())
    return {"calls": calls, "events": dict(_Counting.events), "commands": dict(_Counting.commands),
            "scheduled": dict(_Counting.scheduled)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.whatif_counts", description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=float, default=3.0)
    args = parser.parse_args(argv)
    r = counts(args.hours)
    n = r["calls"]
    r["scheduled"]["timer"] = sum(v for k, v in r["commands"].items() if k.startswith("StartTimer"))
    print(f"{n:,} calls offered in {args.hours:g} simulated hours; per call:")
    for what in ("events", "commands", "scheduled"):
        items = sorted(r[what].items(), key=lambda kv: -kv[1])
        total = sum(v for _, v in items)
        print(f"  {what} {total / n:.2f}: " + ", ".join(f"{k} {v / n:.2f}" for k, v in items))
    return 0


if __name__ == "__main__":
    sys.exit(main())
