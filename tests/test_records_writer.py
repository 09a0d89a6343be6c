"""The records writer (router/records/writer.py, spool.py, metrics.py):
rows reach the database exactly once, a SIGKILL loses nothing put more
than a second before it, a database outage only grows the bounded spool,
bad rows and corrupt spool lines are counted and skipped."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from prometheus_client import CollectorRegistry

from router.records.schema import TABLES
from router.records.spool import Spool
from router.records.store import open_store
from router.records.writer import RecordWriter
from support.postgres import PASSWORD
from test_records_store import T0, call_rows, sample_rows

CHILD = Path(__file__).parent / "support" / "records_child.py"


def counts(store) -> dict[str, int]:
    with store.engine.connect() as conn:
        return {t: conn.execute(sa.select(sa.func.count()).select_from(TABLES[t])).scalar() for t in TABLES}


def counts_at(url: str) -> dict[str, int]:
    store = open_store(url)
    try:
        return counts(store)
    finally:
        store.close()


def expected(rows) -> dict[str, int]:
    out = {t: 0 for t in TABLES}
    for row in rows:
        out[row.TABLE] += 1
    return out


def metric(registry, name, labels=None) -> float:
    return registry.get_sample_value(name, labels or {})


def test_rows_put_land_in_sqlite_once_with_their_metrics(tmp_path):
    url = f"sqlite:{tmp_path / 'r.db'}"
    registry = CollectorRegistry()
    writer = RecordWriter(lambda: open_store(url), tmp_path / "spool", registry=registry)
    writer.start()
    rows = sample_rows(300)
    for at in range(0, len(rows), 11):
        writer.put(rows[at:at + 11])
    writer.put(rows[:50])  # resent: ignored by the database
    assert writer.flush(20)
    store = open_store(url)
    assert counts(store) == expected(rows)
    store.close()
    assert metric(registry, "router_records_written_total", {"table": "calls"}) >= 300
    assert metric(registry, "router_records_backlog_rows") == 0
    assert metric(registry, "router_records_last_success_timestamp_seconds") > time.time() - 60
    assert metric(registry, "router_records_write_failures_total") == 0
    health = writer.health()
    assert health["running"] and health["backlog_rows"] == 0 and health["last_error"] == ""
    writer.stop(5)
    assert not writer.health()["running"]


@pytest.mark.parametrize("database", ["up", "down"])
def test_a_sigkill_loses_nothing_put_more_than_a_second_before(tmp_path, database):
    url = f"sqlite:{tmp_path / 'r.db'}"
    spool = tmp_path / "spool"
    child = subprocess.Popen([sys.executable, str(CHILD), str(spool), url if database == "up" else "none", "300"],
                             stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(Path.cwd())})
    log: list[tuple[str, float]] = []
    reader = threading.Thread(target=lambda: log.extend((w[0], float(w[1])) for w in
                                                        (line.split() for line in child.stdout)))
    reader.start()
    deadline = time.monotonic() + 30
    while len(log) < 600 and time.monotonic() < deadline:  # two seconds of calls at 300/s, however slow the start
        time.sleep(0.05)
    killed_at = time.time()
    child.send_signal(signal.SIGKILL)
    child.wait(10)
    reader.join(10)
    child.stdout.close()
    finished = {cid for cid, at in log if at < killed_at - 1.0}
    assert len(finished) > 100  # the child did run
    writer = RecordWriter(lambda: open_store(url), spool)
    assert writer.spool.recovered_rows > 0 if database == "down" else True
    writer.start()
    assert writer.flush(30)
    writer.stop(5)
    store = open_store(url)
    with store.engine.connect() as conn:
        calls = set(conn.execute(sa.select(TABLES["calls"].c.call_id)).scalars())
        offers = conn.execute(sa.select(sa.func.count()).select_from(TABLES["offers"])).scalar()
    assert finished <= calls, sorted(finished - calls)[:5]
    assert calls <= {cid for cid, _ in log} | {f"call-{len(log)}"}  # nothing invented
    assert offers == 2 * len(calls)
    store.close()


def test_a_postgresql_outage_only_grows_the_spool_and_everything_lands_once(postgres):
    url = postgres.create_database("outage")
    registry = CollectorRegistry()
    writer = RecordWriter(lambda: open_store(url, PASSWORD), Path(postgres.dir) / "spool-outage",
                          registry=registry, max_backoff=0.5)
    writer.start()
    before = sample_rows(200)
    writer.put(before)
    assert writer.flush(30)
    postgres.stop()
    try:
        during = [call_rows(1000 + i, 1_795_100_000.0 + i) for i in range(2000)]
        done = 0
        for rows in during:  # put() returns at once though the database is gone
            writer.put(rows)
            done += 1
        assert done == 2000
        deadline = time.monotonic() + 20
        while metric(registry, "router_records_write_failures_total") < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert metric(registry, "router_records_write_failures_total") >= 2
        assert not writer.flush(0.5)
        waiting = sum(len(r) for r in during)
        assert metric(registry, "router_records_backlog_rows") == waiting
        assert metric(registry, "router_records_spool_bytes") > 0
        assert writer.health()["last_error"]
    finally:
        postgres.start()
    assert writer.flush(60)
    assert metric(registry, "router_records_backlog_rows") == 0
    assert metric(registry, "router_records_dropped_total") == 0
    writer.stop(5)
    store = open_store(url, PASSWORD)
    assert counts(store) == expected(before + [r for rows in during for r in rows])
    store.close()


def test_the_spool_stays_within_its_bound_and_counts_what_it_drops(tmp_path, caplog):
    up = threading.Event()
    url = f"sqlite:{tmp_path / 'r.db'}"

    def factory():
        if not up.is_set():
            raise RuntimeError("database down")
        return open_store(url)

    registry = CollectorRegistry()
    bound = 300_000
    writer = RecordWriter(factory, tmp_path / "spool", registry=registry, max_spool_bytes=bound, max_backoff=0.2)
    writer.start()
    rows = sample_rows(2000)  # about 3 MB of spool
    for at in range(0, len(rows), 100):
        writer.put(rows[at:at + 100])
        time.sleep(0.005)
        assert writer.spool.bytes() <= bound
    deadline = time.monotonic() + 20
    while (writer._queue or writer._in_hand) and time.monotonic() < deadline:  # all spooled (or dropped)
        time.sleep(0.05)
    assert writer.spool.bytes() <= bound
    dropped = metric(registry, "router_records_dropped_total")
    assert dropped > 0
    assert dropped + writer.backlog() == len(rows)
    assert "records spool over its bound" in caplog.text
    assert writer.failures > 0 and "database down" in writer.health()["last_error"]
    up.set()
    assert writer.flush(30)
    writer.stop(5)
    assert sum(counts_at(url).values()) == len(rows) - dropped


def test_a_row_the_database_refuses_is_skipped_and_counted(tmp_path):
    """The refusal comes back as an error of that row, so the one row is
    skipped, not the batch."""
    url = f"sqlite:{tmp_path / 'r.db'}"
    store = lambda: open_store(url)  # noqa: E731
    writer = RecordWriter(store, tmp_path / "spool")
    writer.start()
    good = sample_rows(3)
    bad = call_rows(99, 1.0)[1].__class__("call-99", 1, 1.0, "queued", None, "")  # queue is NOT NULL
    writer.put(good[:5] + [bad] + good[5:])
    assert writer.flush(60)
    writer.stop(5)
    assert writer.rejected == 1 and writer.dropped == 1
    assert counts_at(url) == expected(good)


def test_a_spool_left_with_a_cut_line_and_garbage_is_replayed(tmp_path):
    spool_dir = tmp_path / "spool"
    spool = Spool(spool_dir, 10**8)
    rows = sample_rows(5)
    from router.records.schema import FIELDS
    from router.records.spool import encode

    lines = [encode(r.TABLE, [getattr(r, f) for f in FIELDS[r.TABLE]]) for r in rows]
    spool.append([], lines[:20] + [b'["calls",[1,2]]\n', b"not json\n"] + lines[20:])
    spool.sync()
    spool.close()
    with open(spool.current.path, "ab") as handle:
        handle.write(lines[0][:30])  # killed in the middle of a line
    url = f"sqlite:{tmp_path / 'r.db'}"
    writer = RecordWriter(lambda: open_store(url), spool_dir)
    assert writer.spool.recovered_rows == len(rows) + 2
    writer.start()
    assert writer.flush(20)
    writer.stop(5)
    assert writer.rejected == 2
    assert counts_at(url) == expected(rows)


def test_each_put_is_on_disk_well_within_the_loss_budget(tmp_path):
    # The SIGKILL budget (1 s) holds because the spooler writes every
    # BATCH_SECONDS whatever the database does: five puts in a row, each
    # found in the spool file within 0.9 s, with the database down.
    def factory():
        raise ConnectionError("down")

    writer = RecordWriter(factory, tmp_path / "spool", max_backoff=0.2)
    writer.start()
    try:
        for i in range(5):
            writer.put(call_rows(500 + i, T0))
            seen_by = time.monotonic() + 0.9
            needle = f'"call-{500 + i}"'.encode()
            while needle not in b"".join(p.read_bytes() for p in (tmp_path / "spool").glob("*.jsonl")):
                assert time.monotonic() < seen_by, f"call-{500 + i} not in the spool after 0.9 s"
                time.sleep(0.01)
    finally:
        writer.stop(1)


def test_a_row_spooled_by_a_router_before_revision_0005_reads_with_the_new_columns_empty():
    from router.records.model import AgentSessionRow, AgentStateRow
    from router.records.schema import FIELDS
    from router.records.spool import decode, encode

    state = next(r for r in call_rows(0, T0) if isinstance(r, AgentStateRow) and r.asked_at)
    session = next(r for r in call_rows(0, T0) if isinstance(r, AgentSessionRow))
    old = [getattr(state, f) for f in FIELDS["agent_states"]][:-1]  # no asked_at
    assert decode(encode("agent_states", old)) == ("agent_states", {**dict(zip(FIELDS["agent_states"], old)),
                                                                    "asked_at": None})
    now = [getattr(session, f) for f in FIELDS["agent_sessions"]]
    assert decode(encode("agent_sessions", now))[1]["logout_asked_at"] == T0 + 3500
    with pytest.raises(ValueError, match="11 values for 7 columns"):
        decode(encode("agent_sessions", now[:-1] + [1, 2, 3, 4, 5]))
    with pytest.raises(ValueError, match="4 values"):
        decode(encode("agent_sessions", now[:4]))
