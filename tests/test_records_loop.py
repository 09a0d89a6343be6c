"""The records never fsync on the event loop's thread (issue 16: routing
never waits for the disk): the subscriber as `router run --records` builds
it (router/records/setup.py), started, fed and stopped from a running
asyncio loop; every os.fsync is counted with the thread that made it."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import threading

from router.core import facts as f
from router.records.setup import RecordsSettings, open_records
from test_records_assemble import T0, centre
from test_records_subscriber import queued


def test_no_fsync_of_the_spool_or_the_checkpoint_runs_on_the_loop(tmp_path, monkeypatch):
    fsyncs: list[str] = []
    real = os.fsync

    def spy(fd):
        fsyncs.append(threading.current_thread().name)
        return real(fd)

    monkeypatch.setattr(os, "fsync", spy)
    table = centre()
    settings = RecordsSettings(f"sqlite:{tmp_path / 'r.db'}", None, tmp_path / "spool")

    async def run() -> str:
        records = open_records(settings, lambda: table)
        records.start(lambda: T0 + 30)
        records(queued("c1"), T0)
        records(f.CallAbandoned("c1", "sales", 30.0), T0 + 30)
        await asyncio.sleep(0.6)  # the spooler's and the checkpoint's rounds (0.2 s each)
        records.stop()
        return threading.current_thread().name

    loop_thread = asyncio.run(run())
    assert loop_thread not in fsyncs, fsyncs
    assert {"records-spooler", "records-checkpoint"} <= set(fsyncs), fsyncs
    with sqlite3.connect(tmp_path / "r.db") as db:  # the row went all the way
        assert db.execute("SELECT outcome FROM calls WHERE call_id = 'c1'").fetchall() == [("abandoned",)]
