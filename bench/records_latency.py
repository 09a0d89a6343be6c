"""Routing latency with records off, on SQLite and on PostgreSQL, in
interleaved rounds (issue 16: "routing latency unchanged with records on").

    .venv/bin/python -m bench.records_latency              # 5 rounds, 1,000 agents, 500 waiting, 20 s each
    .venv/bin/python -m bench.records_latency --rounds 1 --seconds 5

Each run is bench/tcp.py's (the daemon and the PBX simulator over loopback
TCP, 50 calls/s) in a fresh process, off / SQLite / PostgreSQL in turn, so
that a change of the machine's load falls on all three alike. PostgreSQL is
a throw-away server (bench.tcp's `postgres`); without its binaries the
column says why. Prints a Markdown table: p50 / p99 / max in ms, then the
records' CPU per decision in microseconds (event loop thread in the records
callbacks + the records threads of the router's process, bench/loop_cpu.py),
the 1-minute load when the run started, and the medians per column.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.tcp import postgres_missing

ROOT = Path(__file__).resolve().parent.parent

SETTINGS = ("off", "sqlite", "postgres")
TITLES = {"off": "records off", "sqlite": "records on SQLite", "postgres": "records on PostgreSQL"}


def one_run(setting: str, agents: int, waiting: int, seconds: float) -> dict:
    """One `python -m bench.tcp` run with records `setting`, in a process of
    its own (bench.tcp forks the simulator: a pool's worker may not)."""
    with tempfile.TemporaryDirectory(prefix="bench-latency-") as tmp:
        records = {"off": [], "sqlite": ["--records", f"sqlite:{tmp}/records.db"],
                   "postgres": ["--records", "postgres"]}[setting]
        done = subprocess.run([sys.executable, "-m", "bench.tcp", str(agents), str(waiting), "--seconds",
                               str(seconds), *records], capture_output=True, text=True, cwd=ROOT)
    if done.returncode != 0:
        last = done.stderr.strip().splitlines()[-1:] or [f"exit code {done.returncode}"]
        return {"error": last[0]}
    return json.loads(done.stdout)


def cell(r: dict) -> str:
    """One run as `p50 / p99 / max; loop + threads us/decision`."""
    if "error" in r:
        return "NOT MEASURED: " + r["error"]
    lat = r["latency"]
    text = f"{lat['p50']:.2f} / {lat['p99']:.2f} / {lat['max']:.1f}"
    if r.get("record_rows"):
        text += f"; {r['records_loop_us']:.0f} + {r['records_threads_us']:.0f} us [{r['record_rows']} rows]"
    if r.get("full_gc"):
        text += f", {r['full_gc']} full GC"
    return text


def median_cell(runs: list[dict]) -> str:
    ok = [r for r in runs if "latency" in r]
    if not ok:
        return "-"
    med = {k: statistics.median(r["latency"][k] for r in ok) for k in ("p50", "p99", "max")}
    text = f"{med['p50']:.2f} / {med['p99']:.2f} / {med['max']:.1f}"
    if any(r.get("record_rows") for r in ok):
        text += (f"; {statistics.median(r['records_loop_us'] for r in ok):.0f} + "
                 f"{statistics.median(r['records_threads_us'] for r in ok):.0f} us")
    return text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.records_latency", description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--agents", type=int, default=1000)
    parser.add_argument("--waiting", type=int, default=500)
    parser.add_argument("--seconds", type=float, default=20.0)
    args = parser.parse_args(argv)
    settings = [s for s in SETTINGS if s != "postgres" or not postgres_missing()]
    if "postgres" not in settings:
        print(f"PostgreSQL column skipped: {postgres_missing()}", file=sys.stderr)
    runs: dict[str, list[dict]] = {s: [] for s in settings}
    lines = ["| round | load | " + " | ".join(TITLES[s] for s in settings) + " |",
             "| --- | --- |" + " --- |" * len(settings)]
    print(lines[0] + "\n" + lines[1], flush=True)
    for n in range(1, args.rounds + 1):
        load = os.getloadavg()[0]
        row = []
        for setting in settings:
            r = one_run(setting, args.agents, args.waiting, args.seconds)
            runs[setting].append(r)
            row.append(cell(r))
        lines.append(f"| {n} | {load:.2f} | " + " | ".join(row) + " |")
        print(lines[-1], flush=True)
    lines.append("| median | - | " + " | ".join(median_cell(runs[s]) for s in settings) + " |")
    print(lines[-1])
    print(f"\n{args.agents} agents, {args.waiting} waiting, 50 calls/s, {args.seconds:g} s per run; "
          "p50 / p99 / max in ms; records CPU per decision: event loop (records callbacks) + records threads, "
          "in microseconds (bench/loop_cpu.py).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
