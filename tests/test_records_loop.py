"""The records never fsync on the event loop's thread (issue 16: routing
never waits for the disk): the subscriber as `router run --records` builds
it (router/records/setup.py), started, fed and stopped from a running
asyncio loop; every os.fsync is counted with the thread that made it. Under
`router run` the records run in a child process (router/records/recordsproc.py):
a SIGKILL of the router loses nothing it had sent there."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time

from pathlib import Path

import pytest

from router.config import load_config
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
sys.path.insert(0, sys.argv[2])
from pathlib import Path
from router.config import load_config
from router.records.setup import RecordsSettings, open_records
from test_records_proc import START, TICK, feed, half_hour

if __name__ == "__main__":  # the records process is spawned: it imports this module again
    table = load_config(sys.argv[3])
    facts = half_hour(table)
    clock = [START]
    settings = RecordsSettings("sqlite:" + sys.argv[1] + "/r.db", None, Path(sys.argv[1]) / "spool")
    records = open_records(settings, lambda: table, db_process=True)
    records.start(lambda: clock[0])
    next_tick = feed(records, facts[:-60], clock, START + TICK)
    while not records.caught_up():
        time.sleep(0.01)
    # The child stops reading (the test wakes it after this process is
    # gone): the last batches stay in the pipe, unread, when it is killed.
    os.kill(records.pid, signal.SIGSTOP)
    feed(records, facts[-60:], clock, next_tick)
    while records._outbox:  # every batch written to the pipe (not yet assembled)
        time.sleep(0.01)
    print("sent", records.status.get("seq", 0), records._seq, records.pid, flush=True)
    os.kill(os.getpid(), signal.SIGKILL)
"""


def test_a_sigkilled_router_loses_nothing_it_sent_to_the_records_process(tmp_path):
    from test_records_proc import ROOT, half_hour, on_record

    tests = str(Path(__file__).resolve().parent)
    script = tmp_path / "killed.py"
    script.write_text(KILLED, encoding="utf-8")
    # (Popen and the first line, not run(): the stopped child holds the
    # output pipe open, so waiting for its end would wait for the child)
    errors = tmp_path / "stderr"
    with open(errors, "w") as err:
        proc = subprocess.Popen([sys.executable, str(script), str(tmp_path), tests, str(ROOT / "config")],
                                stdout=subprocess.PIPE, stderr=err, text=True, cwd=ROOT)
    try:
        line = proc.stdout.readline()
        returncode = proc.wait(timeout=120)
    finally:
        proc.stdout.close()
    assert returncode == -signal.SIGKILL and line.startswith("sent "), errors.read_text()
    _, assembled, made, child = line.split()
    os.kill(int(child), signal.SIGCONT)  # the orphan reads on
    # killed before the child had all of it: the pipe held the rest (the
    # child was stopped for that: on a fast machine it kept up in 6 runs of 10)
    assert int(assembled) < int(made)
    table = load_config(ROOT / "config")
    facts = half_hour(table)
    end = facts[-1][1]
    finished = {fact.call for fact, at in facts
                if isinstance(fact, (f.CallCompleted, f.CallAbandoned)) and at < end - 300}
    # The orphaned child reads the pipe to its end, assembles, writes and ends.
    deadline = time.monotonic() + 60
    def recorded() -> set:
        try:
            return on_record(tmp_path / "r.db")
        except sqlite3.OperationalError:  # (stopped early, the child had not made its tables yet)
            return set()

    while time.monotonic() < deadline and not (finished <= recorded()):
        time.sleep(0.2)
    assert finished <= on_record(tmp_path / "r.db")
