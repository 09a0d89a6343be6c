"""The records' CPU per call in the router's process, deterministic
(issue 16): the facts of a simulated hour replayed through the records as
`router run --records` builds them (router/records/setup.py: the records
process, router/records/recordsproc.py).

    .venv/bin/python -m bench.records_loop            # 1 simulated hour, 1,800 calls/h, best of 5
    .venv/bin/python -m bench.records_loop --repeat 1 --calls-per-hour 600

The simulation (router/sim/discrete.py, the stock config/, seed 5) runs
first and its facts are kept; each repeat then feeds them, in order, to a
fresh records process in a fresh spool directory, ticking it every 0.25 s
of simulated time as the event loop does, with no event loop. Measured
with per-thread CPU clocks, so that the machine's load does not count:

- "loop": the CPU of the calling thread in the records (each fact's
  append, and at each tick the batch's encoding and pickling): what the
  event loop spends on the records under `router run`;
- "threads": the CPU of the records threads of the router's process (the
  one that writes batches to the pipe, the one that reads the child's
  status) until every row is in the database: they hold the GIL the loop
  needs while they run Python. The replay goes as fast as it can: 14,400
  ticks in seconds, so these threads handle far more batches and statuses
  per call than in real time (4 batches a second).

The records process itself (assembly, spool, checkpoint, database) is
another process: not counted. Best (least) of the repeats, in microseconds
per call offered.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

from router.config import load_config
from router.core import facts as f
from router.records.setup import RecordsSettings, open_records
from router.sim.discrete import Simulation

ROOT = Path(__file__).resolve().parent.parent
TICK = 0.25
START = 1_800_000_000.0  # a Friday morning (UTC) in 2027


def simulated_facts(calls_per_hour: float, seconds: float, seed: int = 5) -> tuple[list, int, object]:
    """(fact, now) of `seconds` of the stock centre, the calls offered, the table."""
    table = load_config(ROOT / "config")
    sim = Simulation(table, seed=seed, calls_per_hour=calls_per_hour, start=START)
    facts: list = []
    sim.subscribe(lambda fact, now: facts.append((fact, now)))
    sim.start()
    sim.run_until(START + seconds)
    return facts, sum(1 for fact, _ in facts if isinstance(fact, f.CallQueued)), table


def _thread_cpu() -> dict[str, float]:
    out = {}
    for thread in threading.enumerate():
        if thread.name.startswith("records-") and thread.ident is not None:
            out[thread.name] = time.clock_gettime(time.pthread_getcpuclockid(thread.ident))
    return out


def replay(facts: list, table, workdir: Path) -> dict:
    """One replay through a fresh subscriber; CPU seconds by part."""
    settings = RecordsSettings(f"sqlite:{workdir / 'records.db'}", None, workdir / "spool")
    now = [START]
    records = open_records(settings, lambda: table, db_process=True)
    records.start(lambda: now[0])
    try:
        clock = time.thread_time
        next_tick = START + TICK
        t0 = clock()
        for fact, at in facts:
            while at >= next_tick:  # the loop's tick, between the facts
                now[0] = next_tick
                records.tick(next_tick)
                next_tick += TICK
            now[0] = at
            records(fact, at)
        records.tick(now[0])
        loop = clock() - t0
        if not records.writer.flush(300):
            raise RuntimeError("the records writer did not catch up within 300 s")
        time.sleep(2 * TICK)  # the checkpoint's last round
        threads = _thread_cpu()
    finally:
        records.stop()
    return {"loop": loop, "threads": sum(threads.values()), "by_thread": threads, "rows": records.rows}


def measure(calls_per_hour: float = 1800.0, seconds: float = 3600.0, repeat: int = 5, log=print) -> dict:
    facts, calls, table = simulated_facts(calls_per_hour, seconds)
    log(f"{len(facts)} facts, {calls} calls offered in {seconds:.0f} simulated seconds")
    runs = []
    for _ in range(repeat):
        workdir = Path(tempfile.mkdtemp(prefix="bench-records-loop-"))
        try:
            runs.append(replay(facts, table, workdir))
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
    best = min(runs, key=lambda r: r["loop"])
    least = min(runs, key=lambda r: r["threads"])  # its threads, one by one
    per = 1e6 / max(1, calls)
    return {"calls": calls, "facts": len(facts), "rows": best["rows"], "repeat": repeat,
            "loop_us": best["loop"] * per, "loop_us_all": sorted(r["loop"] * per for r in runs),
            "threads_us": least["threads"] * per,
            "by_thread_us": {k: v * per for k, v in least["by_thread"].items()}}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.records_loop", description=__doc__.splitlines()[0])
    parser.add_argument("--calls-per-hour", type=float, default=1800.0)
    parser.add_argument("--seconds", type=float, default=3600.0)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    r = measure(args.calls_per_hour, args.seconds, args.repeat, log=lambda s: print(s, file=sys.stderr))
    print(f"records on the loop: {r['loop_us']:.0f} us CPU per call (best of {r['repeat']}; all: "
          + ", ".join(f"{x:.0f}" for x in r["loop_us_all"]) + ")")
    print(f"records threads: {r['threads_us']:.0f} us CPU per call ("
          + ", ".join(f"{k} {v:.0f}" for k, v in sorted(r["by_thread_us"].items())) + ")")
    print(f"{r['calls']} calls, {r['facts']} facts, {r['rows']} rows")
    return 0


if __name__ == "__main__":
    sys.exit(main())
