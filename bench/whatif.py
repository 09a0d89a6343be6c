"""What-if speed: a simulated week of a 200-agent centre at 2,000 calls/h.

    .venv/bin/python -m bench.whatif            # the week (about 336,000 calls)
    .venv/bin/python -m bench.whatif --hours 2  # a short run (the smoke test)

The centre is the sample config (config/) with its 42 agents cloned to 200
(same skills and teams, new ids) and the `business` calendar open around
the clock, so that every call of the week is routed by the real rules
rather than sent to a closed queue's voicemail. The traffic is the sample
profile's call mix (examples/traffic.yaml, Monday 10:00 shares) scaled to
2,000 calls/h in every half hour of the week, with its talk, after-call
work, patience and answer behaviour; all 200 agents on duty (no roster).
About 57% occupancy: 2,000 calls/h x ~204 s handle time = 113 Erlangs.

Measured: wall-clock and CPU seconds of `run_profile` alone (the config
and profile are built first), calls offered, and calls per CPU second.
The CPU time is the figure to quote on a shared machine; the wall time is
what the admin waits. The build measured is printed: pure Python, or
compiled (`bash scripts/build-compiled.sh`: setup.py's modules, mypyc).
The section "What-if simulation speed" of bench/RESULTS.md is rewritten
with the figures of each full run.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo

from router.config import load_config
from router.whatif.profile import Profile
from router.whatif.profile_file import read_profile
from router.whatif.run import run_profile

ROOT = Path(__file__).resolve().parent.parent
HEADING = "## What-if simulation speed"


def centre(agents: int = 200):
    """The sample config with `agents` agents and business hours all week."""
    table = load_config(ROOT / "config")
    base = list(table.agents.values())
    clones = {}
    for i in range(agents):
        agent_id = str(3001 + i)
        clones[agent_id] = replace(base[i % len(base)], id=agent_id, endpoint=f"PJSIP/{agent_id}")
    calendars = {name: replace(c, weekly=tuple((d, 0, 24 * 60) for d in range(7)), holidays=frozenset())
                 for name, c in table.calendars.items()}
    return replace(table, agents=clones, calendars=calendars)


def traffic(table, calls_per_hour: float = 2000.0) -> Profile:
    """The sample profile's mix at Monday 10:00, `calls_per_hour` all week."""
    sample, errors = read_profile(ROOT / "examples" / "traffic.yaml")
    assert not errors, errors
    index = 20  # 10:00-10:30
    total = sum(c.arrivals[0][index] for c in sample.calls)
    per_interval = calls_per_hour * sample.interval / 3600.0
    calls = []
    for c in sample.calls:
        share = c.arrivals[0][index] / total
        if share:
            row = tuple([per_interval * share] * sample.intervals)
            calls.append(replace(c, arrivals=(row,) * 7))
    return replace(sample, calls=tuple(calls), roster=None)


def build() -> str:
    """Which router this process runs: compiled (setup.py) or pure Python."""
    import router.core.sla as sla

    return "compiled (scripts/build-compiled.sh)" if not sla.__file__.endswith(".py") else "pure Python"


def week_speed(agents: int = 200, calls_per_hour: float = 2000.0, hours: float | None = None,
               seed: int = 1) -> dict:
    table = centre(agents)
    profile = traffic(table, calls_per_hour)
    wall, cpu = time.perf_counter(), time.process_time()
    outcome = run_profile(table, profile, start=date(2026, 11, 23), days=7, seed=seed,
                          tz=ZoneInfo("Asia/Shanghai"), hours=hours)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    offered = sum(q.offered for q in outcome.tally.queues.values())
    answered = sum(q.answered for q in outcome.tally.queues.values())
    return {"build": build(), "agents": agents, "calls_per_hour": calls_per_hour, "hours": hours or 168.0,
            "offered": offered,
            "answered": answered, "wall_s": wall, "cpu_s": cpu, "calls_per_cpu_s": offered / cpu if cpu else 0.0,
            "occupancy": {q: outcome.metrics(q)["occupancy"] for q in table.queues},
            "SL": {q: outcome.metrics(q)["SL"] for q in table.queues}}


def section(r: dict, command: str) -> str:
    sl = ", ".join(f"{q} {v:.0f}%" for q, v in r["SL"].items())
    occ = ", ".join(f"{q} {v:.0f}%" for q, v in r["occupancy"].items())
    return (f"{HEADING}\n\nCommand: `{command}` — {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
            f"Python {sys.version.split()[0]}, {r['build']}. How it is measured: the docstring of bench/whatif.py.\n\n"
            "| agents | calls/h | simulated hours | calls offered | wall s | CPU s | calls per CPU s |\n"
            "|--------|---------|-----------------|---------------|--------|-------|-----------------|\n"
            f"| {r['agents']} | {r['calls_per_hour']:,.0f} | {r['hours']:g} | {r['offered']:,} | "
            f"{r['wall_s']:.1f} | {r['cpu_s']:.1f} | {r['calls_per_cpu_s']:,.0f} |\n\n"
            f"Service level per queue in that week: {sl}. Occupancy: {occ}.\n")


def write_section(path: Path, text: str) -> None:
    """Replace this bench's section of RESULTS.md (or append it)."""
    prior = path.read_text(encoding="utf-8") if path.exists() else ""
    if HEADING in prior:
        head, rest = prior.split(HEADING, 1)
        tail = rest[rest.find("\n## "):] if "\n## " in rest else ""
        prior = head.rstrip("\n") + "\n\n" + text + tail
    else:
        prior = prior.rstrip("\n") + "\n\n" + text
    path.write_text(prior, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.whatif", description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=float, help="simulate only this many hours (default the whole week)")
    parser.add_argument("--out", default=str(ROOT / "bench" / "RESULTS.md"))
    args = parser.parse_args(argv)
    r = week_speed(hours=args.hours)
    command = "python -m bench.whatif" + (f" --hours {args.hours:g}" if args.hours else "")
    text = section(r, command)
    print(text)
    if args.hours is None:
        write_section(Path(args.out), text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
