"""The records never fsync on the event loop's thread (issue 16: routing
never waits for the disk): the subscriber as `router run --records` builds
it (router/records/setup.py), started, fed and stopped from a running
asyncio loop; every os.fsync is counted with the thread that made it. Under
`router run` the checkpoint's journal is written by a child process
(router/records/journalproc.py): a SIGKILL of the router loses nothing it
was sent."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time

import pytest

from router.core import facts as f
from router.records.checkpoint import Checkpoint
from router.records.setup import RecordsSettings, open_records
from test_records_assemble import T0, centre
from test_records_subscriber import queued


@pytest.mark.parametrize("db_process", [False, True], ids=["threads", "router-run"])
def test_no_fsync_of_the_spool_or_the_checkpoint_runs_on_the_loop(tmp_path, monkeypatch, db_process):
    fsyncs: list[str] = []
    real = os.fsync

    def spy(fd):
        fsyncs.append(threading.current_thread().name)
        return real(fd)

    monkeypatch.setattr(os, "fsync", spy)
    table = centre()
    settings = RecordsSettings(f"sqlite:{tmp_path / 'r.db'}", None, tmp_path / "spool")

    async def run() -> str:
        records = open_records(settings, lambda: table, db_process=db_process)
        records.start(lambda: T0 + 30)
        records(queued("c1"), T0)
        records(f.CallAbandoned("c1", "sales", 30.0), T0 + 30)
        await asyncio.sleep(0.6)  # the spooler's and the checkpoint's rounds (0.2 s each)
        records.stop()
        return threading.current_thread().name

    loop_thread = asyncio.run(run())
    assert loop_thread not in fsyncs, fsyncs
    # under router run every fsync is the records process's (recordsproc.py): none in this one
    assert set(fsyncs) == (set() if db_process else {"records-spooler", "records-checkpoint"}), fsyncs
    items, saved_at = Checkpoint(settings.spool_dir / "open.journal").load()
    assert saved_at == T0 + 30 and "c:c1" in items  # on record, kept a while (assemble.py rule 5)
    with sqlite3.connect(tmp_path / "r.db") as db:  # the row went all the way
        assert db.execute("SELECT outcome FROM calls WHERE call_id = 'c1'").fetchall() == [("abandoned",)]


KILLED = """
import os, signal, sys, time
from router.records.checkpoint import Checkpoint
cp = Checkpoint(sys.argv[1], process=True)
cp.load()
cp.start()
cp.submit({"c:1": ["王五", 1]}, 10.0)
time.sleep(0.5)  # the checkpoint thread has sent it: in the pipe or written
cp.submit({"c:2": ["李娜", 2], "c:1": None}, 11.0)
time.sleep(0.5)
print("sent", flush=True)
os.kill(os.getpid(), signal.SIGKILL)
"""


def test_a_sigkilled_router_loses_nothing_it_sent_to_the_journal_process(tmp_path):
    journal = tmp_path / "open.journal"
    proc = subprocess.run([sys.executable, "-c", KILLED, str(journal)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == -signal.SIGKILL and "sent" in proc.stdout, proc.stderr
    # The next run's load waits for the killed run's journal process (its lock), then reads.
    items, saved_at = Checkpoint(journal, process=True).load()
    assert (items, saved_at) == ({"c:2": ["李娜", 2]}, 11.0)


def test_a_journal_process_that_dies_is_started_again_with_the_whole_state(tmp_path):
    journal = tmp_path / "open.journal"
    cp = Checkpoint(journal, process=True)
    cp.load()
    cp.start()
    cp.submit({"c:1": ["王五", 1], "a:1001": [7]}, 10.0)
    deadline = time.monotonic() + 30
    while (cp._child is None or not journal.exists() or b"c:1" not in journal.read_bytes()) \
            and time.monotonic() < deadline:
        time.sleep(0.05)
    cp._child.proc.kill()
    cp._child.proc.join(5)
    cp.submit({"c:2": ["李娜", 2], "c:1": None}, 11.0)
    cp.stop(15)
    assert cp.restarts == 1
    assert Checkpoint(journal, process=True).load() == ({"a:1001": [7], "c:2": ["李娜", 2]}, 11.0)
