"""Decision latency through the real daemon and the PBX simulator over
loopback TCP.

The PBX simulator runs in a child process (its own core: the box has two),
without its traffic model: this module drives it. All agents log in, N + W
callers dial in (N are answered, W wait), then new callers arrive at `rate`
per second (Poisson) and are topped up to keep about W in line; agents talk
an exponential time with mean 0.9 N / rate, so agents free up as calls
arrive. The router (router.runtime.daemon.Router with its panoramisk Link) runs in
this process with the latency probe (router/ami/probe.py) installed after
the warm-up: from the AMI chunk that made a decision possible reaching the
router's socket to the Originate written to it.

The child also reports its CPU use: a simulator near 100% of a core is the
bottleneck, and the figures then say more about it than about the router.

Also counted in the window: the router process's full (generation 2)
garbage collections and the longest. The probe does not see them: events
that arrive during one wait in the socket, before the probe's clock starts.
The router runs with router/process/heap.py installed, as under `router run`.
"""

from __future__ import annotations

import asyncio
import gc
import multiprocessing as mp
import os
import random
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

from bench.loop_cpu import RecordsLoopCpu, per_decision
from bench.stats import summarise
from bench.tables import call_mix, make_table
from router.ami import probe
from router.process.compose import Options, PbxAddress, build
from router.sim.traffic import Behaviour


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def _pbx_main(conn, agents: int, waiting: int, rate: float, seed: int) -> None:
    from router.sim.pbx import PbxSimulator

    table = make_table(agents, seed)
    behaviour = Behaviour(mean_patience=10 ** 9, answer_delay=(0.05, 0.2), no_answer_rate=0.0,
                          mean_talk=0.9 * agents / rate, min_talk=1.0)
    pbx = PbxSimulator(table, speed=1.0, seed=seed, behaviour=behaviour, hold_limit=10 ** 6,
                       login_agents=False)
    conn.send(await pbx.start())
    rng = random.Random(seed)
    loop = asyncio.get_running_loop()
    while not conn.poll():  # until the router is connected
        await asyncio.sleep(0.05)
    conn.recv()
    # Agents log in by feature code, in batches: 10,000 at once would
    # overflow the simulator's per-client backlog (it cuts slow readers).
    for i, agent_id in enumerate(table.agents):
        pbx.agent_login(agent_id)
        if i % 200 == 199:
            await asyncio.sleep(0.02)
    while not conn.poll():  # until the router has them all
        await asyncio.sleep(0.05)
    conn.recv()
    for i in range(agents + waiting):
        dnis, variables = call_mix(rng)
        pbx.place_call(dnis, f"1390000{i:05d}", "李四", variables)
        if i % 100 == 99:
            # Slowly enough for the simulator: at 10,000 agents it answers a
            # few hundred Originates a second (see RESULTS.md).
            await asyncio.sleep(max(0.05, agents / 40_000))
    conn.send("placed")
    cpu0, t0 = _cpu(), loop.time()
    n = 0
    while not conn.poll():
        await asyncio.sleep(rng.expovariate(rate))
        n += 1
        dnis, variables = call_mix(rng)
        pbx.place_call(dnis, f"1370000{n:05d}", "张三", variables)
        if n % 25 == 0:
            live = sum(1 for r in pbx.records.values() if r.outcome is None and r.answered is None)
            for k in range(max(0, min(50, waiting - live))):
                dnis, variables = call_mix(rng)
                pbx.place_call(dnis, f"1360000{n:05d}{k}", "赵六", variables)
    conn.recv()
    await asyncio.sleep(0)
    live = sum(1 for r in pbx.records.values() if r.outcome is None and r.answered is None)
    conn.send({"cpu_share": (_cpu() - cpu0) / max(1e-9, loop.time() - t0), "waiting": live,
               "errors": len(pbx.errors), "anomalies": len(pbx.anomalies)})
    await pbx.stop()


def _pbx_process(conn, agents: int, waiting: int, rate: float, seed: int) -> None:
    asyncio.run(_pbx_main(conn, agents, waiting, rate, seed))


async def _until(condition, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {seconds:.0f}s waiting for {what}")
        await asyncio.sleep(0.05)


async def _router_side(conn, agents: int, waiting: int, seconds: float, warmup: float, seed: int,
                       records: str | None = None, password: str | None = None) -> dict:
    table = make_table(agents, seed)
    cleanup: list = []
    records_cpu = RecordsLoopCpu(None)
    port = conn.recv()
    # Built as `router run` builds it (router/process/compose.py), short GCs too. A
    # patient watchdog: the simulator, busy with the start-up burst, may
    # take seconds to answer a Ping (a real Asterisk does not).
    app = build(Options(table, pbxs=(PbxAddress("sim", "127.0.0.1", port, "router", "sim-secret"),),
                        link={"ping_interval": 30, "ping_timeout": 120}, tuned_gc=True))
    router = app.router
    subscriber = None
    if records:  # as `router run --records URL` (router/process/compose.py, App._start_records)
        from router.records.setup import RecordsSettings, open_records

        # SQLite's spool sits beside its file; a server's, in a temp dir removed after the run.
        spool = Path(f"{records.removeprefix('sqlite:')}.spool") if records.startswith("sqlite:") \
            else Path(tempfile.mkdtemp(prefix="bench-spool-"))
        cleanup.append(lambda: shutil.rmtree(spool, ignore_errors=True))
        subscriber = open_records(RecordsSettings(records, password, spool), lambda: router.table,
                                  db_process=not os.environ.get("BENCH_RECORDS_IN_PROCESS"))
        if os.environ.get("BENCH_RECORDS_NO_WRITER"):  # diagnosis: the subscriber's own cost, rows dropped
            if not hasattr(subscriber, "assembler"):  # the records process's writer is out of reach
                raise SystemExit("bench.tcp: BENCH_RECORDS_NO_WRITER needs BENCH_RECORDS_IN_PROCESS=1")
            subscriber.writer = _NullWriter()
        subscriber.start(router.clock.now)
        records_cpu = RecordsLoopCpu(subscriber)
        router.subscribe(records_cpu.wrap(subscriber), "records")
    # Calls the router has filed since the start: under load the first
    # callers may finish before the last ones arrive, so the count of calls
    # held now (engine.calls) might never reach agents + waiting.
    seen: set[str] = set()
    from router.core.facts import CallQueued
    from router.runtime.subscribers import by_type

    count_calls = router.subscribe(by_type({CallQueued: lambda fact, now: seen.add(fact.call)}), "bench")
    await app.start()
    engine = router.engine
    try:
        await _until(lambda: router.resyncs.get("sim", 0) >= 1, 30, "the router's first resync")
        conn.send("login")
        await _until(lambda: sum(1 for a in engine.agents.values() if a.status.value == "available") == agents,
                     300, "agents to log in")
        conn.send("go")
        await _until(conn.poll, 600, "the start-up callers")
        conn.recv()
        await _until(lambda: len(seen) >= agents + waiting, 600, "the start-up callers")
        router.unsubscribe(count_calls)
        await asyncio.sleep(warmup)
        meter = probe.Probe()
        full_gc: list[float] = []  # pauses of full (generation 2) collections, seconds
        gc_start = [0.0]

        def on_gc(phase: str, info: dict) -> None:
            if phase == "start":
                gc_start[0] = time.perf_counter()
            elif info["generation"] == 2:
                full_gc.append(time.perf_counter() - gc_start[0])

        probe.install(meter)
        gc.callbacks.append(on_gc)
        records_cpu.reset()
        cpu0, t0, events0, loop0 = _cpu(), time.monotonic(), router.events_handled, time.thread_time()
        await asyncio.sleep(seconds)
        loop_cpu = time.thread_time() - loop0
        records_window = records_cpu.read()
        gc.callbacks.remove(on_gc)
        probe.install(None)
        elapsed = time.monotonic() - t0
        router_cpu = (_cpu() - cpu0) / elapsed
        events = router.events_handled - events0
        conn.send("stop")
        sim = conn.recv()
    finally:
        probe.install(None)
        await app.stop()
        if subscriber is not None:
            subscriber.stop()
        for undo in cleanup:
            undo()
    rows = subscriber.rows if subscriber is not None else 0
    in_line = sum(1 for c in engine.calls.values() if c.status.value == "waiting")
    return {"agents": agents, "waiting_target": waiting, "waiting_end": in_line,
            "latency": summarise(meter.samples, scale=1e3), "timer_originates": meter.stale,
            "events_per_s": events / elapsed, "router_cpu_share": router_cpu,
            "full_gc": len(full_gc), "full_gc_max_ms": max(full_gc, default=0.0) * 1e3,
            "sim_cpu_share": sim["cpu_share"], "sim_errors": sim["errors"], "record_rows": rows,
            **per_decision(loop_cpu, records_window, len(meter.samples))}


class _NullWriter:
    """Stands for the records writer in a diagnosis run: takes rows, keeps none."""

    def put(self, rows) -> None:
        pass

    def start(self) -> None:
        pass

    def stop(self, timeout: float = 5.0) -> None:
        pass


def _tests_on_path() -> None:
    tests = str(Path(__file__).resolve().parent.parent / "tests")
    if tests not in sys.path:
        sys.path.insert(0, tests)


def postgres_missing() -> str | None:
    """Why `records="postgres"` cannot run here (None: it can): the server
    programs tests/support/postgres.py starts are not installed."""
    _tests_on_path()
    from support.postgres import pg_bin

    try:
        pg_bin("initdb")
        pg_bin("pg_ctl")
    except RuntimeError as err:
        return str(err)
    return None


def throwaway_postgres():
    """A throw-away PostgreSQL server and a new database on it, as the tests
    start one (tests/support/postgres.py, reused: the bench is one command).
    Returns (server, url, password); server.close() removes it."""
    _tests_on_path()
    from support.postgres import PASSWORD, Postgres

    server = Postgres()
    try:
        return server, server.create_database("bench"), PASSWORD
    except BaseException:
        server.close()
        raise


def tcp_latency(agents: int, waiting: int, rate: float = 50.0, seconds: float = 20.0,
                warmup: float = 5.0, seed: int = 1, records: str | None = None,
                password: str | None = None) -> dict:
    """Decision latency (ms) over loopback TCP; see the module docstring.
    `records`: None (off), `sqlite:PATH`, `postgresql://...` (with
    `password`), or `postgres`: a throw-away server started for the run."""
    if records == "postgres":
        server, url, password = throwaway_postgres()
        try:
            return tcp_latency(agents, waiting, rate, seconds, warmup, seed, url, password)
        finally:
            server.close()
    ctx = mp.get_context("fork")
    here, there = ctx.Pipe()
    child = ctx.Process(target=_pbx_process, args=(there, agents, waiting, rate, seed), daemon=True)
    child.start()
    try:
        return asyncio.run(_router_side(here, agents, waiting, seconds, warmup, seed, records, password))
    finally:
        child.join(10)
        if child.is_alive():
            child.kill()


if __name__ == "__main__":  # one size alone: python -m bench.tcp 1000 500 [--records sqlite:PATH|postgres|URL]
    import argparse
    import json

    parser = argparse.ArgumentParser(prog="python -m bench.tcp", description="decision latency over TCP, one size")
    parser.add_argument("agents", type=int)
    parser.add_argument("waiting", type=int)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--records", metavar="URL", help="records on, as router run --records: sqlite:PATH, postgresql://... "
                        "(password from $BENCH_RECORDS_PASSWORD), or postgres: a throw-away server")
    args = parser.parse_args()
    print(json.dumps(tcp_latency(args.agents, args.waiting, seconds=args.seconds,
                                 warmup=min(10.0, args.seconds * 2), records=args.records,
                                 password=os.environ.get("BENCH_RECORDS_PASSWORD")), indent=1))
