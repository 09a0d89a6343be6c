"""The records database in a child process (router/records/dbproc.py): the
rows land once, a killed child is started again and nothing is lost, a row
the database refuses is still skipped and counted (tests/test_records_writer.py,
parametrized over both stores), PostgreSQL works too."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from router.records.dbproc import StoreProcess
from router.records.store import RecordsError
from router.records.writer import RecordWriter
from support.postgres import PASSWORD
from test_records_store import call_rows, sample_rows
from test_records_writer import counts_at, expected, metric


def test_rows_land_through_the_child_and_a_killed_child_is_started_again(tmp_path):
    url = f"sqlite:{tmp_path / 'r.db'}"
    registry = CollectorRegistry()
    stores: list[StoreProcess] = []

    def factory():
        stores.append(StoreProcess(url))
        return stores[-1]

    writer = RecordWriter(factory, tmp_path / "spool", registry=registry, max_backoff=0.2)
    writer.start()
    first = sample_rows(100)
    writer.put(first)
    assert writer.flush(60)
    (store,) = stores
    child = store.pid
    assert child is not None and child != os.getpid()
    restarts = StoreProcess.restarts
    os.kill(child, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while store._proc.is_alive() and time.monotonic() < deadline:
        time.sleep(0.02)
    later = [call_rows(500 + i, 1_795_100_000.0 + i) for i in range(50)]
    for rows in later:
        writer.put(rows)
    assert writer.flush(60)
    assert store.pid not in (None, child)  # the same proxy, a new child
    assert StoreProcess.restarts == restarts + 1
    assert metric(registry, "router_records_db_process_restarts_total") == restarts + 1
    assert metric(registry, "router_records_dropped_total") == 0
    writer.stop(5)
    assert store.pid is None  # stopped with the writer
    assert counts_at(url) == expected(first + [r for rows in later for r in rows])


def test_a_database_the_child_cannot_open_raises_its_reason(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(RecordsError, match="FileExistsError|OperationalError"):
        StoreProcess(f"sqlite:{tmp_path / 'file' / 'under-a-file.db'}")


def test_postgresql_through_the_child(postgres):
    url = postgres.create_database("child")
    writer = RecordWriter(lambda: StoreProcess(url, PASSWORD), Path(postgres.dir) / "spool-child")
    writer.start()
    rows = sample_rows(200)
    writer.put(rows)
    assert writer.flush(60)
    writer.stop(5)
    from router.records.store import open_store
    from test_records_writer import counts

    store = open_store(url, PASSWORD)
    assert counts(store) == expected(rows)
    store.close()
