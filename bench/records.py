"""The records writer's speed and its spool during an outage (issue 16).

    .venv/bin/python -m bench.records            # SQLite and PostgreSQL
    .venv/bin/python -m bench.records --quick    # small sizes, seconds
    .venv/bin/python -m bench.records --no-postgresql

Each finished call is 9 rows: 1 CallRow, 2 OfferRow, 2 CallStepRow and 4
AgentStateRow, put as one `put()` per call, as the records subscriber does.

- sustained: CALLS calls put as fast as the loop can, then flush: calls/s
  from the first put to the last row committed (the writer's ceiling; the
  issue's target is 500 calls/s), and the put() cost per call;
- paced: 500 calls/s for SECONDS, the largest backlog seen and the time to
  drain after the last put (a writer that keeps up drains in ~0.2-0.5 s);
- outage: the database down while 30,000 calls' rows are put (10 minutes at
  50 calls/s, fed at once): the spool's size, then the time to catch up.

PostgreSQL is a real server (Debian's, fsync on) started in a temporary
directory by tests/support/postgres.py; SQLite a file in a temporary one.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

from router.records.model import AgentStateRow, CallRow, CallStepRow, OfferRow
from router.records.store import open_store
from router.records.writer import RecordWriter

ROOT = Path(__file__).resolve().parent.parent
T0 = 1_800_000_000.0
STATES = ("reserved", "on_call", "wrapup", "available")


def call_rows(i: int) -> list:
    """The 9 rows of finished call `i` (Chinese caller name)."""
    cid, at, agent = f"bench-{i}", T0 + i * 0.01, f"a{i % 200}"
    rows = [CallRow(cid, "inbound", "pbx1", "4000", f"1380013{i:04d}", "王小明", '{"lang":"zh"}', "default",
                    "sales", "sales", at, "2027-01-15", 540, at + 8.0, "answered", "", "", 8.0, agent, "team1",
                    at + 8.0, at + 190.0, 182.0, 15.0, 2, 0, 20.0, True, True, False, None, None, None, None),
            CallStepRow(cid, 1, at, "queued", "sales", ""),
            CallStepRow(cid, 2, at + 4, "escalated", "sales", "1 default"),
            OfferRow(cid, 1, f"a{(i + 1) % 200}", "team1", "sales", at + 1, at + 4, "no-answer"),
            OfferRow(cid, 2, agent, "team1", "sales", at + 4, at + 8, "answered")]
    for k, state in enumerate(STATES):
        start = at + 4 + k * 60
        rows.append(AgentStateRow(agent, "team1", state, "", cid, start, start + 60, "2027-01-15", 540, 60.0))
    return rows


def wait_spooled(writer: RecordWriter, seconds: float = 120.0) -> None:
    deadline = time.monotonic() + seconds
    while (writer._queue or writer._in_hand) and time.monotonic() < deadline:
        time.sleep(0.01)


def sustained(factory, workdir: Path, calls: int) -> dict:
    rows = [call_rows(i) for i in range(calls)]
    writer = RecordWriter(factory, workdir / "spool-sustained")
    writer.start()
    start = time.perf_counter()
    for r in rows:
        writer.put(r)
    put_s = time.perf_counter() - start
    ok = writer.flush(600)
    elapsed = time.perf_counter() - start
    writer.stop(5)
    return {"calls": calls, "ok": ok, "calls_per_s": calls / elapsed, "rows_per_s": 9 * calls / elapsed,
            "put_us_per_call": put_s / calls * 1e6}


def paced(factory, workdir: Path, rate: float, seconds: float) -> dict:
    writer = RecordWriter(factory, workdir / "spool-paced")
    writer.start()
    start = time.perf_counter()
    biggest, i = 0, 0
    while (now := time.perf_counter() - start) < seconds:
        due = int(now * rate)
        while i < due:
            writer.put(call_rows(1_000_000 + i))
            i += 1
        biggest = max(biggest, writer.backlog())
        time.sleep(0.002)
    last_put = time.perf_counter()
    ok = writer.flush(600)
    drain = time.perf_counter() - last_put
    writer.stop(5)
    return {"rate": rate, "seconds": seconds, "calls": i, "ok": ok, "max_backlog_rows": biggest, "drain_s": drain}


def outage(factory, workdir: Path, calls: int) -> dict:
    up = {"now": False}

    def flaky():
        if not up["now"]:
            raise ConnectionError("database down (benchmark)")
        return factory()

    writer = RecordWriter(flaky, workdir / "spool-outage", max_backoff=0.5)
    writer.start()
    for i in range(calls):
        writer.put(call_rows(2_000_000 + i))
    wait_spooled(writer)
    spool_bytes, backlog = writer.spool.bytes(), writer.backlog()
    up["now"] = True
    start = time.perf_counter()
    ok = writer.flush(600)
    catch_up = time.perf_counter() - start
    writer.stop(5)
    return {"calls": calls, "spool_mb": spool_bytes / 2**20, "backlog_rows": backlog, "ok": ok,
            "catch_up_s": catch_up, "dropped": writer.dropped}


def run_all(name: str, url: str, password: str | None, workdir: Path, quick: bool, log=print) -> dict:
    factory = (lambda: open_store(url, password))
    open_store(url, password).close()  # migrated before the clock starts
    results = {"sustained": sustained(factory, workdir, 2_000 if quick else 20_000),
               "paced": paced(factory, workdir, 500.0, 2.0 if quick else 10.0),
               "outage": outage(factory, workdir, 3_000 if quick else 30_000)}
    s, p, o = results["sustained"], results["paced"], results["outage"]
    log(f"{name}: sustained {s['calls_per_s']:.0f} calls/s ({s['rows_per_s']:.0f} rows/s, {s['calls']} calls, "
        f"put {s['put_us_per_call']:.1f} us/call, all written: {s['ok']})")
    log(f"{name}: paced {p['rate']:.0f} calls/s for {p['seconds']:.0f} s: {p['calls']} calls, largest backlog "
        f"{p['max_backlog_rows']} rows, drained {p['drain_s']:.2f} s after the last put (all written: {p['ok']})")
    log(f"{name}: outage, {o['calls']} calls put with the database down: spool {o['spool_mb']:.1f} MiB "
        f"({o['backlog_rows']} rows), caught up in {o['catch_up_s']:.1f} s once back, dropped {o['dropped']} "
        f"(all written: {o['ok']})")
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.records")
    parser.add_argument("--quick", action="store_true", help="small sizes (seconds)")
    parser.add_argument("--no-postgresql", action="store_true", help="SQLite only")
    args = parser.parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="bench-records-"))
    try:
        run_all("SQLite", f"sqlite:{workdir / 'records.db'}", None, workdir / "sqlite", args.quick)
        if not args.no_postgresql:
            sys.path.insert(0, str(ROOT / "tests"))
            from support.postgres import PASSWORD, Postgres

            server = Postgres(fsync=True)
            try:
                run_all("PostgreSQL", server.create_database("bench"), PASSWORD, workdir / "pg", args.quick)
            finally:
                server.close()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
