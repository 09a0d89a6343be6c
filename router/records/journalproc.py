"""The checkpoint's journal written by a child process (checkpoint.py,
`Checkpoint(path, process=True)`, as under `router run`): the JSON encoding
of every changed open call and agent, the fsync and the compaction run
there, so they never hold the GIL the router's event loop needs. The
router's checkpoint thread only folds the changes into its copy of the
state and sends them down a pipe (pickle: about a tenth of the JSON's CPU).

    child = JournalProcess(path, live, saved_at)   # the child rewrites the journal compacted from `live`
    child.send([(changes, now), ...])              # appended and fsynced by the child
    child.close()                                  # the child writes what it has and ends

Loss budget: what was sent is in the pipe, so a SIGKILL of the router loses
none of it: the child reads to the end of the pipe, writes, fsyncs and ends.
The child holds a lock (`open.journal.lock`, flock) while it lives, and
`journal_lock` waits for it: the next router reads the journal only after a
killed router's child has written its last lines. A child that dies is
started again by the checkpoint with the whole state (counted in its
`restarts`).
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import multiprocessing as mp
import time
from pathlib import Path

log = logging.getLogger("router.records")

#: Seconds `journal_lock` waits for an earlier child to finish its journal.
LOCK_WAIT = 10.0


def _lock_path(path: Path) -> Path:
    return path.with_name(path.name + ".lock")


@contextlib.contextmanager
def journal_lock(path: Path, timeout: float = LOCK_WAIT):
    """Hold the journal's lock (wait for a child still writing it: one a
    killed router left); after `timeout` seconds, go on without it (a child
    that hangs must not stop the router from starting) and say so."""
    with open(_lock_path(path), "ab") as handle:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    log.error("records checkpoint %s: still locked by an earlier journal process after %.0fs; "
                              "reading it anyway", path, timeout)
                    yield
                    return
                time.sleep(0.05)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _serve(conn) -> None:
    """The child: rewrite the journal from the state it is given, then
    append and fsync each batch, until the pipe ends (or None)."""
    from router.records.checkpoint import Checkpoint

    path, live, saved_at = conn.recv()
    path = Path(path)
    with open(_lock_path(path), "ab") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # an earlier child finishes first
        journal = Checkpoint(path)  # its writing half, used here in one thread
        journal.restore_state(live, saved_at)
        failed = not journal.write_round(rewrite=True)
        while True:
            try:
                batch = conn.recv()
            except EOFError:  # the router is gone (even by SIGKILL): what was sent is written
                batch = None
            if batch is not None:
                journal.queue(batch)
            failed = not journal.write_round(rewrite=failed)  # after a failure: a whole new file
            if batch is None:
                break
        journal.close_file()


class JournalProcess:
    """The parent's end: a spawned child running `_serve`."""

    def __init__(self, path: Path, live: dict, saved_at: float) -> None:
        ctx = mp.get_context("spawn")  # a fork of a process with threads and a loop is not safe
        reader, writer = ctx.Pipe(duplex=False)
        self.proc = ctx.Process(target=_serve, args=(reader,), name="router-records-journal", daemon=True)
        self.proc.start()
        reader.close()
        self.conn = writer
        self.conn.send((str(path), live, saved_at))

    def alive(self) -> bool:
        return self.proc.is_alive()

    def send(self, batch: list) -> None:
        """Hand `batch` ([(changes, now), ...]) to the child; OSError if it
        is gone."""
        self.conn.send(batch)

    def close(self, timeout: float = 5.0) -> bool:
        """The child writes what it was sent and ends; False if it did not
        within `timeout` (it is killed then)."""
        try:
            self.conn.send(None)
        except OSError:
            pass
        self.conn.close()
        self.proc.join(timeout)
        if self.proc.is_alive():
            self.proc.kill()
            self.proc.join(1.0)
            return False
        return True
