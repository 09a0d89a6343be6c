"""The records writer: the event loop hands it rows, it never makes routing
wait for the database.

    writer = RecordWriter(lambda: open_store(url, password), spool_dir, registry=metrics.registry)
    writer.start()
    writer.put(rows)          # from the loop: appends to a deque, no I/O, no lock wait
    ...
    writer.stop(timeout=5)    # what is not in the database stays in the spool

Two threads: the spooler drains the deque every BATCH_SECONDS, appends the
rows to the spool (spool.py) and fsyncs it; the database thread writes what
the spool holds, up to `batch_rows` rows per transaction, and commits the
spool's cursor. Under `router run` all of it runs in the records process
(recordsproc.py), not the router's. A row put more than about BATCH_SECONDS + one fsync
before a SIGKILL is on disk, whatever the database does; a database that is
slow, locked or down only makes the spool grow (bounded) while the database
thread retries with backoff. On start, the spool a killed run left is
written first (inserts ignore rows already there).

Nothing dies silently: each thread catches, logs, counts and goes on;
`health()` and the metrics (metrics.py) show the backlog and the failures.
"""

from __future__ import annotations

import logging
import operator
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from pathlib import Path

from sqlalchemy import exc as sa_exc

from router.records.model import Row
from router.records.schema import FIELDS
from router.records.spool import Spool, encode

log = logging.getLogger("router.records")

BATCH_SECONDS = 0.2
#: table -> the row's values in column order, in one C call (the spooler
#: thread holds the GIL the event loop needs while it encodes)
_VALUES = {table: operator.attrgetter(*names) for table, names in FIELDS.items()}
#: Between "still failing" log lines while the database stays unusable.
LOG_EVERY = 60.0


class RecordWriter:
    """Rows in (`put`, from any thread), rows in the database (a thread).

    `store_factory()` returns a Store (router.records.store.open_store); it
    is called on the database thread, again after it failed."""

    def __init__(self, store_factory: Callable[[], object], spool_dir: Path, registry=None,
                 max_spool_bytes: int = 512 * 1024 * 1024, batch_rows: int = 1000,
                 max_queue_rows: int = 500_000, max_backoff: float = 10.0,
                 upkeep: Callable[[Callable[[], object]], None] | None = None) -> None:
        self.store_factory = store_factory
        self.upkeep = upkeep  # e.g. retention.Retention: called on the database thread when the spool is empty
        self.spool = Spool(Path(spool_dir), max_spool_bytes)
        self.batch_rows = batch_rows
        self.max_queue_rows = max_queue_rows
        self.max_backoff = max_backoff
        self._queue: deque = deque()
        self._in_hand = 0  # drained from the queue, not yet in the spool
        self._stop = threading.Event()
        self._spooled = threading.Event()  # wakes the database thread
        self._threads: list[threading.Thread] = []
        self._store = None
        self._deadline = float("inf")  # stop(): the database thread gives up then
        # counters (read by health() and the metrics at any time)
        self.written: dict[str, int] = {table: 0 for table in FIELDS}
        self.failures = 0
        self.queue_dropped = 0  # put() over max_queue_rows, or rows that could not be encoded
        self.rejected = 0  # rows the database refused one by one (bad data), or corrupt spool lines
        self.last_error = ""
        self.last_success: float | None = None
        self.thread_errors = 0
        self._last_logged = float("-inf")  # put()'s last "queue full" log line
        self._last_failure_log = float("-inf")
        self._backoff = 0.0
        if registry is not None:
            from router.records.metrics import RecordsCollector

            registry.register(RecordsCollector(self))

    # -- the loop's side
    def put(self, rows: Sequence[Row]) -> None:
        """Queue `rows` for the records; never blocks, never raises on a
        full queue (it counts and logs the rows it must drop)."""
        if len(self._queue) >= self.max_queue_rows:
            self.queue_dropped += len(rows)
            now = time.monotonic()
            if now - self._last_logged >= LOG_EVERY:
                self._last_logged = now
                log.error("records: the writer's queue is full (%d rows: the spool cannot be written); "
                          "%d rows dropped so far", self.max_queue_rows, self.queue_dropped)
            return
        self._queue.extend(rows)

    # -- control
    def start(self) -> None:
        if self.spool.recovered_rows:
            log.info("records: %d rows in the spool from an earlier run; writing them first",
                     self.spool.recovered_rows)
        for name, target in (("records-spooler", self._spooler), ("records-db", self._database)):
            thread = threading.Thread(target=self._guard, args=(target,), name=name, daemon=True)
            thread.start()
            self._threads.append(thread)

    def backlog(self) -> int:
        """Rows put but not yet in the database."""
        return len(self._queue) + self._in_hand + self.spool.pending()

    @property
    def dropped(self) -> int:
        return self.queue_dropped + self.rejected + self.spool.dropped

    def flush(self, timeout: float) -> bool:
        """Wait until every row put so far is in the database; False when
        that did not happen within `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while self.backlog():
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.01)
        return True

    def stop(self, timeout: float = 5.0) -> None:
        """Spool what is queued, write to the database what it takes within
        `timeout`, and stop; the rest stays in the spool for the next start."""
        self._deadline = time.monotonic() + timeout
        self._stop.set()
        self._spooled.set()
        for thread in self._threads:
            thread.join(max(0.1, self._deadline - time.monotonic() + 1.0))
        self._threads.clear()
        self.spool.close()
        if self._store is not None:
            try:
                self._store.close()
            except Exception:  # noqa: BLE001 (closing: nothing left to lose)
                log.exception("records: closing the database failed")
            self._store = None

    def health(self) -> dict:
        return {"backlog_rows": self.backlog(), "spool_bytes": self.spool.bytes(), "last_error": self.last_error,
                "last_success": self.last_success, "write_failures": self.failures, "dropped_rows": self.dropped,
                "thread_errors": self.thread_errors, "running": all(t.is_alive() for t in self._threads) and bool(self._threads)}

    # -- the threads
    def _guard(self, target: Callable[[], bool]) -> None:
        """Run `target` until it says it is done; an unexpected error is
        logged and counted, and the thread goes on."""
        while True:
            try:
                if target():
                    return
            except Exception:  # noqa: BLE001 (the writer must outlive any one error)
                self.thread_errors += 1
                self.last_error = f"unexpected error in {threading.current_thread().name} (see the log)"
                if self._stop.is_set() and time.monotonic() >= self._deadline:
                    log.exception("records: unexpected error in %s while stopping", threading.current_thread().name)
                    return
                log.exception("records: unexpected error in %s (it goes on)", threading.current_thread().name)
                time.sleep(0.5)

    def _spooler(self) -> bool:
        """One round: drain, encode, append, fsync. True when stopped."""
        stopping = self._stop.wait(BATCH_SECONDS)
        count = len(self._queue)
        if count:
            self._in_hand = count
            rows = [self._queue.popleft() for _ in range(count)]
            try:
                self._append(rows)
            except OSError as err:
                if self._stop.is_set():  # stopping, and the disk is still full: nowhere to keep them
                    self.queue_dropped += count
                    self._in_hand = 0
                    log.error("records: %d rows lost at stop: cannot write the spool: %s", count, err)
                    return True
                self._queue.extendleft(reversed(rows))  # kept, in order, for the next round
                self._in_hand = 0
                self._fail(f"cannot write the records spool: {err}")
                self._stop.wait(1.0)
                return False
            self._in_hand = 0
            self._spooled.set()
        return stopping and not self._queue

    def _append(self, rows: list[Row]) -> None:
        for at in range(0, len(rows), self.batch_rows):
            decoded, lines = [], []
            for row in rows[at:at + self.batch_rows]:
                try:
                    table = row.TABLE
                    values = list(_VALUES[table](row))
                    line = encode(table, values)
                except (AttributeError, KeyError, TypeError, ValueError) as err:
                    self.queue_dropped += 1
                    log.error("records: dropped a row that cannot be stored (%r): %s", row, err)
                    continue
                decoded.append((table, dict(zip(FIELDS[table], values))))
                lines.append(line)
            if lines:
                self.spool.append(decoded, lines)
        self.spool.sync()

    def _database(self) -> bool:
        """One round: write one chunk of the spool. True when stopped."""
        if self._stop.is_set() and (time.monotonic() >= self._deadline
                                    or not self._spooler_busy() and self.spool.pending() == 0):
            return True
        chunk = self.spool.read(self.batch_rows)
        if chunk is None:
            if self.upkeep is not None and not self._stop.is_set():
                self.upkeep(self._get_store)
            self._spooled.wait(BATCH_SECONDS)
            self._spooled.clear()
            return False
        try:
            if self._store is None:
                self._store = self.store_factory()
            if chunk.count:
                self._write(chunk.by_table)
        except Exception as err:  # noqa: BLE001 (down, locked, disk full, refused: retried from the spool)
            text = str(err).strip().splitlines()
            self._fail(f"{type(err).__name__}: {text[0] if text else ''}")
            self._backoff = min(self.max_backoff, max(0.25, self._backoff * 2))
            wait = self._backoff if not self._stop.is_set() else min(self._backoff, self._deadline - time.monotonic())
            time.sleep(max(0.0, wait)) if self._stop.is_set() else self._stop.wait(wait)
            return False
        if chunk.corrupt:
            self.rejected += chunk.corrupt
            log.error("records spool: skipped %d lines that are not rows this router can read", chunk.corrupt)
        self.spool.commit(chunk.end)
        for table, values in chunk.by_table.items():
            self.written[table] += len(values)
        if self.last_error:
            log.warning("records: written to the database again (%d failures so far)", self.failures)
            self.last_error = ""
        self.last_success = time.time()
        self._backoff = 0.0
        return False

    def _get_store(self):
        if self._store is None:
            self._store = self.store_factory()
        return self._store

    def _spooler_busy(self) -> bool:
        return bool(self._queue or self._in_hand) and self._threads[0].is_alive()

    def _write(self, by_table: dict[str, list[dict]]) -> None:
        """One transaction; when the database refuses the chunk as bad data
        (a constraint, a value it cannot store), the rows are written one
        by one and those it refuses are skipped, counted and logged, so
        that one bad row never holds back the others."""
        try:
            self._store.write_dicts(by_table)
            return
        except (sa_exc.IntegrityError, sa_exc.DataError):
            pass
        for table, values in by_table.items():
            for value in values:
                try:
                    self._store.write_dicts({table: [value]})
                except (sa_exc.IntegrityError, sa_exc.DataError) as err:
                    self.rejected += 1
                    log.error("records: the database refused a %s row, skipped: %s (%s)", table,
                              str(err).strip().splitlines()[0], value)

    def _fail(self, message: str) -> None:
        self.failures += 1
        first = not self.last_error
        self.last_error = message
        now = time.monotonic()
        if first or now - self._last_failure_log >= LOG_EVERY:
            self._last_failure_log = now
            log.error("records: %s (%d failures so far; %d rows wait in the spool, %d bytes)", message,
                      self.failures, self.backlog(), self.spool.bytes())
