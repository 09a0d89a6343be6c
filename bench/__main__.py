"""Run the benchmarks, print the tables, write bench/RESULTS.md.

    .venv/bin/python -m bench            # full run (about 10 minutes on 2 cores)
    .venv/bin/python -m bench --quick    # tiny sizes, seconds (the CI smoke run)
    .venv/bin/python -m bench --out FILE # write the report elsewhere

Sections: engine alone (Engine.handle per event) across sizes; decision
latency through the daemon and the PBX simulator over loopback TCP;
throughput against bare panoramisk; memory; resync. Figures are measured
on this machine in this run, never copied.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

from bench.engine_alone import engine_latency
from bench.memory import long_run, per_item
from bench.resync import resync_time
from bench.stats import table
from bench.tcp import postgres_missing, tcp_latency
from bench.throughput import throughput

HERE = Path(__file__).resolve().parent
#: The stock app_queue on a real Asterisk 22 (../shared/FIELD-NOTES.md):
#: agent freed with a caller waiting -> agent rung.
APP_QUEUE = {"p50": 323.0, "max": 807.0}
BACKENDS = {"sqlite": "SQLite", "postgres": "PostgreSQL"}

FULL = {
    "grid": [(a, w) for a in (100, 1_000, 10_000) for w in (10, 100, 1_000, 5_000)],
    "engine_seconds": 20.0,
    "tcp": [(1_000, 500), (10_000, 5_000)],
    # again with records on, as `router run --records` (PostgreSQL: a throw-away server)
    "tcp_records": [(1_000, 500, "sqlite"), (1_000, 500, "postgres")],
    "tcp_seconds": 20.0,
    "throughput": (1_000, 20_000),
    "memory": (10_000, 5_000),
    "long_run_minutes": 60.0,
    "resync": (10_000, 5_000),
}
QUICK = {
    "grid": [(20, 5), (50, 10)],
    "engine_seconds": 2.0,
    "tcp": [(20, 5)],
    "tcp_records": [(20, 5, "sqlite")],  # a PostgreSQL server's start-up would double the smoke run
    "tcp_seconds": 1.0,
    "throughput": (20, 100),
    "memory": (50, 20),
    "long_run_minutes": 1.0,
    "resync": (20, 30),
}


def _fresh(function, *args):
    """function(*args) in a new Python process (multiprocessing spawn)."""
    import multiprocessing as mp

    with mp.get_context("spawn").Pool(1) as pool:
        return pool.apply(function, args)


def _tcp_records(agents: int, waiting: int, backend: str, seconds: float, log) -> dict:
    """bench.tcp with records on `backend` ("sqlite": a file in a temporary
    directory, "postgres": a throw-away server), or why it was not measured."""
    missing = postgres_missing() if backend == "postgres" else None
    if missing:
        log(f"records on PostgreSQL: not measured: {missing}")
        return {"agents": agents, "waiting_target": waiting, "backend": backend, "error": missing}
    with tempfile.TemporaryDirectory(prefix="bench-records-") as tmp:
        try:
            r = tcp_latency(agents, waiting, seconds=seconds, warmup=min(10.0, seconds * 2),
                            records=f"sqlite:{tmp}/records.db" if backend == "sqlite" else backend)
        except TimeoutError as err:
            r = {"agents": agents, "waiting_target": waiting, "error": str(err)}
    return dict(r, backend=backend)


def run(sizes: dict, log=print) -> dict:
    """Every measurement; returns them as plain data (also for the smoke test)."""
    results: dict = {}
    log("engine alone: Engine.handle per event ...")
    results["engine"] = [engine_latency(a, w, seconds=sizes["engine_seconds"],
                                        warmup=min(20.0, sizes["engine_seconds"] * 5))
                         for a, w in sizes["grid"]]
    log("decision latency over loopback TCP ...")
    results["tcp"], results["tcp_records"] = [], []
    with_records = list(sizes.get("tcp_records", ()))
    for a, w in sizes["tcp"]:
        try:
            results["tcp"].append(tcp_latency(a, w, seconds=sizes["tcp_seconds"],
                                              warmup=min(10.0, sizes["tcp_seconds"] * 2)))
        except TimeoutError as err:  # say so in the report, keep going
            results["tcp"].append({"agents": a, "waiting_target": w, "error": str(err)})
        # The same size with records on right after it (the machine's load
        # then is as alike as a shared machine allows), the others after all.
        for entry in [e for e in with_records if e[:2] == (a, w)]:
            results["tcp_records"].append(_tcp_records(*entry, sizes["tcp_seconds"], log))
            with_records.remove(entry)
    for entry in with_records:
        results["tcp_records"].append(_tcp_records(*entry, sizes["tcp_seconds"], log))
    log("throughput ...")
    results["throughput"] = throughput(*sizes["throughput"])
    log("memory ...")
    # In fresh interpreters: RSS deltas mean nothing in a process whose
    # heap the earlier sections already grew.
    results["memory"] = _fresh(per_item, *sizes["memory"])
    results["long_run"] = _fresh(long_run, min(1000, sizes["memory"][0]), min(500, sizes["memory"][1]),
                                 sizes["long_run_minutes"])
    log("resync ...")
    results["resync"] = resync_time(*sizes["resync"])
    return results


def report(r: dict, command: str) -> str:
    """RESULTS.md text."""
    out = ["# Benchmark results\n",
           f"Command: `{command}` — {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
           f"Python {platform.python_version()}, {os.cpu_count()} CPUs ({platform.machine()}).\n",
           "Latencies in milliseconds. How each figure is measured: the docstrings of "
           "bench/engine_alone.py, bench/tcp.py, bench/throughput.py, bench/memory.py, bench/resync.py.\n"]
    out.append("## Decision latency over loopback TCP (daemon + PBX simulator)\n")
    out.append("From the AMI chunk that made the decision possible reaching the router's socket "
               "to the Originate written to it; 50 new calls/s; simulator in its own process.\n")
    out.append("Records on: the same run with `router run --records` as built by router/process/compose.py; "
               "'records CPU' is the records' CPU time per decision in microseconds, the event loop's thread "
               "inside the records callbacks + the records threads of the router's process (bench/loop_cpu.py; "
               "the records process, router/records/recordsproc.py, is not counted). Interleaved rounds: `python -m bench.records_latency`.\n")
    rows = [["app_queue (Asterisk 22, FIELD-NOTES)", "-", "-", "-", APP_QUEUE["p50"], "-", APP_QUEUE["max"], "-", "-", "-",
             "-", "-"]]
    records = {(t["agents"], t["waiting_target"]): [] for t in r["tcp"]}
    for t in r.get("tcp_records", ()):  # each right under the same size, records off
        records.setdefault((t["agents"], t["waiting_target"]), []).append(t)
    ordered = []
    for t in r["tcp"]:
        ordered += [t] + records.pop((t["agents"], t["waiting_target"]), [])
    ordered += [t for rest in records.values() for t in rest]
    for t in ordered:
        who = f"router: {t['agents']:,} agents" + (f", records on ({BACKENDS[t['backend']]})" if "backend" in t else "")
        if "error" in t:
            rows.append([who, t["waiting_target"], "-", "-", "-", "-", "-", "-", "-",
                         "-", "-", "NOT MEASURED: " + t["error"]])
            continue
        lat = t["latency"]
        cpu = f"{t['records_loop_us']:.0f} + {t['records_threads_us']:.0f}" if "backend" in t else "-"
        rows.append([who, t["waiting_target"], t["waiting_end"], lat["count"],
                     lat["p50"], lat["p99"], lat["max"], cpu, t["events_per_s"], t["router_cpu_share"],
                     t["sim_cpu_share"], f"{t['full_gc']} ({t['full_gc_max_ms']:.1f} ms)"])
    out.append(table(["who", "waiting (target)", "waiting (end)", "decisions", "p50", "p99", "max",
                      "records CPU (us/decision, loop + threads)", "AMI events/s", "router CPU", "simulator CPU",
                      "full GCs (longest)"], rows) + "\n")
    out.append("## Engine alone: `Engine.handle` per event (growth curve)\n")
    out.append("No I/O. All agents busy, about W callers in line, 50 new calls/s. "
               "'decision' = an event that rang an agent.\n")
    rows = [[e["agents"], e["waiting"], e["waiting_start"], e["available_end"], e["events"]["count"],
             e["events"]["p50"], e["events"]["p99"], e["decisions"]["p50"], e["decisions"]["p99"],
             e["decisions"]["max"]] for e in r["engine"]]
    out.append(table(["agents", "W", "in line", "free (idle, ineligible)", "events", "event p50", "event p99",
                      "decision p50", "decision p99", "decision max"], rows) + "\n")
    t = r["throughput"]
    out.append("## Throughput (recorded simulator stream over loopback TCP)\n")
    out.append(table(["events", "MB", "bare panoramisk ev/s", "router (routing on) ev/s", "router / panoramisk"],
                     [[t["events"], t["bytes"] / 2 ** 20, t["baseline_events_per_s"],
                       t["routed_events_per_s"], f"{t['ratio']:.0%}"]]) + "\n")
    m, lr = r["memory"], r["long_run"]
    out.append("## Memory\n")
    out.append(table(["agents", "waiting", "per agent (tracemalloc)", "per agent (RSS)",
                      "per waiting call (tracemalloc)", "per waiting call (RSS)"],
                     [[m["agents"], m["waiting"], f"{m['agent_bytes_traced']:.0f} B",
                       f"{m['agent_bytes_rss']:.0f} B", f"{m['call_bytes_traced']:.0f} B",
                       f"{m['call_bytes_rss']:.0f} B"]]) + "\n")
    out.append(f"Long run (engine alone, {lr['agents']} agents, ~{lr['waiting']} waiting, "
               f"{lr['sim_minutes']:g} simulated minutes, {lr['calls']:,} calls): RSS samples "
               f"{lr['rss_mb']} MB, growth {lr['growth_mb']} MB.\n")
    s = r["resync"]
    out.append("## Resync\n")
    out.append(table(["agents", "live channels", "calls found", "seconds (login -> state rebuilt)"],
                     [[s["agents"], s["channels"], s["calls_found"], s["seconds"]]]) + "\n")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes (smoke run)")
    parser.add_argument("--out", default=str(HERE / "RESULTS.md"))
    args = parser.parse_args(argv)
    command = "python -m bench" + (" --quick" if args.quick else "")
    sizes = dict(QUICK if args.quick else FULL)
    results = run(sizes, log=lambda s: print(s, file=sys.stderr, flush=True))
    text = report(results, command)
    print(text)
    prior = Path(args.out).read_text(encoding="utf-8") if Path(args.out).exists() else ""
    notes = prior[prior.index("## Changes"):] if "## Changes" in prior else ""
    Path(args.out).write_text(text + ("\n" + notes if notes else ""), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
