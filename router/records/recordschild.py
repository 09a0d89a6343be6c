"""The records process's side (recordsproc.py): facts in from the pipe,
the records subscriber as the router's process used to run it, status and
log records back.

Run by `multiprocessing` (spawn): `serve(conn)`. The first message is the
settings, whether to checkpoint, the start time and the table's slice;
then batches `(seq, items, now)` until None or the end of the pipe (the
router's process is gone, even by SIGKILL: what it sent is still
assembled, spooled and checkpointed). SIGINT and SIGTERM are ignored: a
Ctrl-C or a unit's stop reaches the whole process group, and this child
must finish what the router sent it; it ends when the pipe does.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import pickle
import signal
import threading
import time
from pathlib import Path

#: Real seconds between two status reports (recordsproc.STATUS_EVERY).
STATUS_EVERY = 0.1
#: Seconds this child waits for the one a killed router left to finish.
LOCK_WAIT = 60.0
#: Seconds the writer may take at the end to write what it holds.
STOP_TIMEOUT = 5.0


class _PipeHandler(logging.Handler):
    """Log records to the parent, which logs them under their own names."""

    def __init__(self, send) -> None:
        super().__init__(logging.INFO)
        self.send = send

    def emit(self, record: logging.LogRecord) -> None:
        try:
            record.msg = self.format(record) if record.exc_info else record.getMessage()
            record.args, record.exc_info, record.exc_text = None, None, None
            self.send(("log", record))
        except Exception:  # noqa: BLE001 (a log line never stops the records)
            pass


@contextlib.contextmanager
def spool_lock(path: Path, timeout: float = LOCK_WAIT):
    """Hold `path` locked (flock) while the records run on its spool:
    wait for the child a killed router left, which is still assembling
    and writing what it was sent; after `timeout` seconds go on without it
    (a child that hangs must not keep the records off) and say so."""
    log = logging.getLogger("router.records")
    with open(path, "ab") as handle:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    log.error("records: %s still locked by an earlier records process after %.0fs; "
                              "going on without it", path, timeout)
                    yield
                    return
                time.sleep(0.05)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _status(sub, seq: int) -> dict:
    w = sub.writer
    open_calls, sample = sub.open_calls()
    return {"seq": seq, "rows": sub.rows, "errors": sub.errors, "open_calls": open_calls,
            "open_sample": sample, "backlog": w.backlog(), "spool_bytes": w.spool.bytes(),
            "written": dict(w.written), "failures": w.failures, "dropped": w.dropped,
            "last_success": w.last_success, "health": w.health(),
            "pruned": w.upkeep.pruned if w.upkeep is not None else 0,
            "keep_days": w.upkeep.keep_days if w.upkeep is not None else None,
            "next_at": w.upkeep.next_at if w.upkeep is not None else float("-inf")}


def serve(conn) -> None:
    """The child (see the module doc)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    lock = threading.Lock()  # the writer's threads log too

    def send(message) -> None:
        with lock:
            try:
                conn.send(message)
            except OSError:  # the router is gone: nobody to tell
                pass

    root = logging.getLogger()
    root.handlers = [_PipeHandler(send)]
    root.setLevel(logging.INFO)

    from router.records.setup import RecordsSettings, open_records

    (url, password, spool, keep_days, prune), checkpoint, now, table = conn.recv()
    settings = RecordsSettings(url, password, Path(spool), keep_days, prune)
    current = [table]  # the slice in force: each fact is assembled under the one it came after
    clock = [now]
    Path(spool).mkdir(parents=True, exist_ok=True)
    with spool_lock(Path(spool) / "records.lock"):  # after a killed router's child
        sub = open_records(settings, lambda: current[0], checkpoint=checkpoint, db_process=False)
        sub.start(lambda: clock[0])
        seq = 0
        last = float("-inf")
        while True:
            got = False
            try:
                if conn.poll(STATUS_EVERY):
                    message = pickle.loads(conn.recv_bytes())
                    if message is None:
                        break
                    got = True
                    seq = _apply(sub, message, current, clock)
            except (EOFError, OSError):  # the router's process is gone
                break
            except Exception:  # noqa: BLE001 (never die: counted, logged)
                sub._failed("a batch from the router")
            # After a burst of batches (nothing more to read) or every
            # STATUS_EVERY: a status per batch would cost the router's
            # process an unpickling per tick while it catches up.
            if (got and not conn.poll(0)) or time.monotonic() - last >= STATUS_EVERY:
                last = time.monotonic()
                send(("status", _status(sub, seq)))
        sub.stop(STOP_TIMEOUT)
        send(("status", _status(sub, seq)))


def _apply(sub, message, current: list, clock: list) -> int:
    seq, items, now = message
    for item in items:
        if type(item) is tuple:
            cls, at, values = item
            try:
                fact = cls(*values)
            except Exception:  # noqa: BLE001
                sub._failed(f"rebuilding a {getattr(cls, '__name__', cls)}")
                continue
            sub(fact, at)
        else:
            current[0] = item
    if now is not None:
        clock[0] = now
        sub.tick(now)
    return seq
