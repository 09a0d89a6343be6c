"""The records in a child process (`router run --records`): the assembly,
the spool's JSON, the checkpoint and the database writes all run there, so
none of them holds the GIL the router's event loop needs (issue 16:
routing latency unchanged with records on).

    records = RecordsProcess(settings, lambda: router.table, registry=registry)
    records.start(router.clock.now)      # the child restores the checkpoint; the tick starts
    router.subscribe(records, "records") # called as records(fact, now): one list append
    ...
    records.stop()

On the loop a fact costs a list append (and, after a reload, the table's
slice: tableslice.py). Every TICK the tick encodes what was published
since the last one as compact tuples (the fact's class, `now`, its field
values: about a third of pickling the dataclasses), pickles the batch with
the tick's time and queues the bytes; a thread of this process writes them
to the pipe (the write waits without the GIL). The child
(`_serve`) rebuilds the facts and feeds them, in order, to a
RecordsSubscriber as the router's process used to run it (the table each
fact was published under travels with it), ticking it at each batch's
time; its writer and checkpoint threads are the child's.

Loss budget: a batch in the pipe outlives a SIGKILL of the router: the
child reads to the end of the pipe, assembles, spools and checkpoints what
it got, and ends. It holds `records.lock` (flock, in the spool directory)
while it lives, and a new child waits for it before it reads the spool and
the checkpoint: the next router's records start where the killed one's
child stopped. A fact is in the pipe at most TICK after it was published.

Back from the child, on the same pipe, read by a thread of this process:
its status (backlog, counters, open calls) every STATUS_EVERY, for the
metrics, `flush` and `open_calls`; and its log records, re-emitted here
under their own logger names. A child that dies is started again (counted:
`router_records_db_process_restarts`); the facts it held and had not yet
checkpointed are lost with it, like those of a killed router's threads.
"""

from __future__ import annotations

import atexit
import logging
import multiprocessing as mp
import operator
import pickle
import threading
import time
from collections import deque
from dataclasses import fields
from typing import Callable

from router.records.recordschild import serve as _serve
from router.records.recordsview import WriterView
from router.records.subscriber import SubscriberCollector
from router.records.tableslice import table_slice

log = logging.getLogger("router.records")

#: Real seconds between two batches (and ticks).
TICK = 0.25
#: Real seconds between two status reports of the child.
STATUS_EVERY = 0.1
#: Bytes of batches kept for the pipe at most. A child that hangs (or is
#: still starting while a replay feeds facts faster than real time) fills
#: it; at 50 calls/s (about 30 kB/s of batches) this is more than 2 hours.
#: Counted in bytes, not batches: a batch holds a tick's facts, few or many.
MAX_OUTBOX_BYTES = 256 * 1024 * 1024


def _getter(cls: type) -> Callable:
    """Field values of a fact of `cls`, as a tuple, in one C call."""
    names = [f.name for f in fields(cls)]
    if len(names) == 1:
        one = operator.attrgetter(names[0])
        return lambda fact: (one(fact),)
    return operator.attrgetter(*names) if names else (lambda fact: ())


class RecordsProcess:
    """The records subscriber's interface (subscriber.py), its work in a
    child process (see the module doc)."""

    restarts = 0  # children started again after one died, this process's total (for the metrics)

    def __init__(self, settings, table_getter: Callable, registry=None, checkpoint: bool = True) -> None:
        self.settings = settings
        self.checkpoint = checkpoint
        self._table_getter = table_getter
        self._table = None  # the table whose slice was last queued
        self._pending: list = []  # (fact, now), or a TableSlice: in force from there on
        self._getters: dict[type, Callable] = {}
        self._outbox: deque = deque()
        self._outbox_bytes = 0
        self._outbox_lock = threading.Lock()  # the byte count: the loop adds, the sender takes away
        self._wake = threading.Event()
        self._seq = 0  # batches made
        self._clock: Callable[[], float] | None = None
        self._handle = None
        self._loop = None
        self._proc = self._conn = None
        self._sender: threading.Thread | None = None
        self._stopping = False
        self._exiting = False  # the interpreter exits without stop(): see _at_exit
        self._last_log = float("-inf")
        self.own_errors = 0
        self.dropped_batches = 0
        self.status: dict = {}
        self.writer = WriterView(self)
        if registry is not None:
            from router.records.metrics import RecordsCollector

            registry.register(RecordsCollector(self.writer))
            registry.register(SubscriberCollector(self))

    # -- the loop's side
    def __call__(self, fact, now: float) -> None:
        table = self._table_getter()
        if table is not self._table:
            self._table = table
            self._pending.append(table_slice(table))
        self._pending.append((fact, now))

    def assemble(self, now: float | None = None) -> None:
        """Encode what was published since the last batch and queue it
        for the child (with `now`: the child ticks at that time)."""
        table = self._table_getter()
        if table is not self._table:  # a reload with no fact since: its records settings count now
            self._table = table
            self._pending.append(table_slice(table))
        pending, self._pending = self._pending, []
        if not pending and now is None:
            return
        items = []
        getters = self._getters
        for item in pending:
            if type(item) is tuple:
                fact, at = item
                cls = type(fact)
                get = getters.get(cls)
                if get is None:
                    get = getters[cls] = _getter(cls)
                items.append((cls, at, get(fact)))
            else:
                items.append(item)
        try:
            blob = pickle.dumps((self._seq + 1, items, now), protocol=5)
        except Exception:  # noqa: BLE001 (records never stop routing)
            return self._failed("encoding a batch")
        if self._outbox_bytes + len(blob) > MAX_OUTBOX_BYTES:
            # Not numbered: `flush` and `caught_up` wait for the batches the child can get.
            self.dropped_batches += 1
            return self._failed(f"the records process does not keep up: {self.dropped_batches} batches dropped")
        self._seq += 1
        with self._outbox_lock:
            self._outbox_bytes += len(blob)
        self._outbox.append(blob)
        self._wake.set()

    def tick(self, now: float) -> None:
        """Send what was published so far; the child ticks at `now`."""
        self.assemble(now)

    # -- control
    def start(self, clock: Callable[[], float]) -> None:
        """Start the child (it restores the checkpoint and the spool of the
        last run, after that run's child, if any, has finished), the
        sending thread and the tick (on the running loop, if any)."""
        import asyncio

        self._clock = clock
        self._start_child()
        # multiprocessing's own exit handler joins the child; with the pipe
        # still open the child would wait for batches forever. Registered
        # after it, this runs first: the child sees the end of the pipe.
        atexit.register(self._at_exit)
        self._sender = threading.Thread(target=self._send, name="records-send", daemon=True)
        self._sender.start()
        try:
            self._loop = asyncio.get_running_loop()
            self._handle = self._loop.call_later(TICK, self._tick_soon)
        except RuntimeError:  # no loop: the caller ticks
            self._loop = self._handle = None

    def _tick_soon(self) -> None:
        self.tick(self._clock())
        self._handle = self._loop.call_later(TICK, self._tick_soon)

    def _start_child(self) -> None:
        ctx = mp.get_context("spawn")  # a fork of a process with threads and a loop is not safe
        here, there = ctx.Pipe()
        proc = ctx.Process(target=_serve, args=(there,), name="router-records", daemon=True)
        proc.start()
        there.close()
        s = self.settings
        table = self._table_getter()
        here.send(((s.url, s.password, str(s.spool_dir), s.keep_days, s.prune), self.checkpoint,
                   self._clock(), table_slice(table)))
        self._table = table
        self._proc, self._conn = proc, here
        threading.Thread(target=self._receive, args=(here,), name="records-status", daemon=True).start()

    def stop(self, timeout: float = 5.0) -> None:
        """A last batch; the child writes what it can within `timeout`
        (the rest stays in its spool, open calls in its checkpoint) and ends."""
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
        if self._clock is not None:
            self.tick(self._clock())
        self._stopping = True
        self._wake.set()
        if self._sender is not None:
            self._sender.join(timeout + 5.0)
            self._sender = None
        proc, conn = self._proc, self._conn
        if proc is not None:
            proc.join(timeout + 10.0)  # its writer's stop(timeout), its checkpoint's last round
            if proc.is_alive():
                log.error("records: the records process did not end within %.0fs; killed", timeout + 10.0)
                proc.kill()
                proc.join(1.0)
            conn.close()
        self._proc = self._conn = None
        atexit.unregister(self._at_exit)

    def _at_exit(self) -> None:
        if self._conn is not None:  # exiting without stop(): the child writes what it got and ends
            self._exiting = self._stopping = True
            try:
                self._conn.close()
            except OSError:
                pass

    # -- this process's threads
    def _send(self) -> None:
        while True:
            self._wake.wait(1.0)
            self._wake.clear()
            while self._outbox:
                blob = self._outbox[0]
                try:
                    if not self._proc.is_alive():
                        raise OSError("the records process died")
                    self._conn.send_bytes(blob)
                except (OSError, TypeError):  # TypeError: the pipe closed under the write (_at_exit)
                    if self._exiting or (self._stopping and not self._proc.is_alive()
                                         and self._proc.exitcode == 0):
                        return
                    RecordsProcess.restarts += 1
                    log.error("records: the records process died (exit code %s); starting it again",
                              self._proc.exitcode)
                    self._conn.close()
                    time.sleep(1.0)  # a child that cannot start (a bad spool directory) is not spun
                    try:
                        self._start_child()
                    except Exception:  # noqa: BLE001 (tried again with the next batch)
                        self._failed("starting the records process")
                        time.sleep(1.0)
                    continue
                self._outbox.popleft()
                with self._outbox_lock:
                    self._outbox_bytes -= len(blob)
            if self._stopping:
                try:
                    self._conn.send_bytes(pickle.dumps(None))
                except OSError:
                    pass
                return

    def _receive(self, conn) -> None:
        while True:
            try:
                kind, value = conn.recv()
            except (EOFError, OSError, TypeError):  # TypeError: closed under the read (_at_exit)
                return
            if kind == "status":
                self.status = value
            elif kind == "log":
                logger = logging.getLogger(value.name)
                if logger.isEnabledFor(value.levelno):  # the child sends INFO and up
                    logger.handle(value)

    def _failed(self, what: str) -> None:
        self.own_errors += 1
        now = time.monotonic()
        if now - self._last_log >= 60.0:
            self._last_log = now
            log.exception("records: %s failed (%d errors so far; routing goes on)", what, self.own_errors)

    # -- queries (the child's last status)
    @property
    def errors(self) -> int:
        """Facts or ticks the records failed on, here and in the child."""
        return self.own_errors + self.status.get("errors", 0)

    @property
    def rows(self) -> int:
        """Rows the child's assembler has made so far."""
        return self.status.get("rows", 0)

    def open_calls(self) -> tuple[int, list[str]]:
        """(calls the records hold open, a few of their ids), as of the
        child's last status."""
        return self.status.get("open_calls", 0), self.status.get("open_sample", [])

    def caught_up(self) -> bool:
        """Has the child assembled every batch made so far?"""
        return not self._outbox and self.status.get("seq", -1) >= self._seq

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None
