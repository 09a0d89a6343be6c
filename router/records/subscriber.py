"""The records subscriber: the router's published facts to the records.

    records = RecordsSubscriber(RecordAssembler(lambda: router.table), writer, checkpoint)
    records.start(router.clock.now)      # restores the checkpoint, starts the threads and the tick
    router.subscribe(records, "records") # called as records(fact, now)
    ...
    records.stop()

A fact costs the decision that published it one list append: the
assembly (the assembler's bookkeeping, writer.put) runs once per burst of
facts, in a callback the loop runs after the one that published them, so
after the Originates that callback decided were written (an AMI event never
waits for the records between its arrival and its Originate). Without a
running loop (a simulation, a test) each fact is assembled at once. Each
fact keeps the routing table in force when it was published: a reload
between a fact and its assembly does not change how it is judged.
No I/O, no lock wait on the loop either way. The writer's threads
write the rows (writer.py), the checkpoint's thread the open state
(checkpoint.py). Nothing here ever raises into routing: an error is
logged (once a minute at most), counted (`router_records_subscriber_errors`)
and the next fact goes on.
"""

from __future__ import annotations

import asyncio
import logging
import time
from itertools import islice
from typing import Callable

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from router.records.assemble import RecordAssembler

log = logging.getLogger("router.records")

#: Real seconds between two ticks (quarter-hour cuts, checkpoint submits).
TICK = 0.25
LOG_EVERY = 60.0


class RecordsSubscriber:
    """`__call__(fact, now)`: one published fact; the assembler's handler
    table (keyed by fact type) decides what it means for the records."""

    def __init__(self, assembler: RecordAssembler, writer, checkpoint=None, registry=None) -> None:
        self.assembler = assembler
        self.writer = writer
        self.checkpoint = checkpoint
        self.errors = 0
        self.rows = 0
        self._last_log = float("-inf")
        self._clock: Callable[[], float] | None = None
        self._handle: asyncio.TimerHandle | None = None
        self._loop: asyncio.AbstractEventLoop | None = None  # set by start() on a running loop
        #: (fact, now, table) published, not yet assembled; `_scheduled`: the batch is on the loop
        self._pending: list[tuple] = []
        self._scheduled = False
        # The assembler reads the table through its getter: during a batch it
        # gets the table each fact was published under, else the live one.
        self._live_table = assembler.table_getter
        self._table = None
        assembler.table_getter = self._table_now
        if registry is not None:
            registry.register(SubscriberCollector(self))

    def __call__(self, fact, now: float) -> None:
        self._pending.append((fact, now, self._live_table()))
        if self._loop is None:
            self.assemble()
        elif not self._scheduled:
            try:
                self._loop.call_soon(self.assemble)
                self._scheduled = True
            except RuntimeError:  # that loop is closed (stopped without stop()): at once
                self._loop = None
                self.assemble()

    def _table_now(self):
        table = self._table
        return table if table is not None else self._live_table()

    def assemble(self) -> None:
        """Apply the facts published so far, in order (the loop calls it
        once per burst; tick and stop call it first)."""
        self._scheduled = False
        pending, self._pending = self._pending, []
        out: list = []
        handle = self.assembler.handle
        for fact, now, table in pending:
            self._table = table
            try:
                rows = handle(fact, now)
                if rows:
                    out.extend(rows)
            except Exception:  # noqa: BLE001 (records never stop routing)
                self._failed(f"fact {type(fact).__name__}")
        self._table = None
        if out:
            self.rows += len(out)
            try:
                self.writer.put(out)
            except Exception:  # noqa: BLE001
                self._failed("writer.put")

    def start(self, clock: Callable[[], float]) -> int:
        """Restore what the last run left (its rows go to the writer), start
        the writer, the checkpoint and the tick (on the running loop, if
        any: `tick` may be called by hand instead). Returns the open calls
        restored."""
        self._clock = clock
        restored = 0
        if self.checkpoint is not None:
            items, saved_at = self.checkpoint.load()
            if saved_at is not None:
                rows = self.assembler.restore(items, saved_at, clock())
                restored = len(self.assembler.calls)
                self.rows += len(rows)
                self.writer.put(rows)
                log.info("records: restored %d open calls and %d agent intervals from the checkpoint "
                         "(saved %.1fs before this start)", restored, sum(k.startswith("a:") for k in items),
                         clock() - saved_at)
            self.checkpoint.start()
            self.checkpoint.submit(self.assembler.changes(), clock())
        self.writer.start()
        try:
            self._loop = asyncio.get_running_loop()
            self._handle = self._loop.call_later(TICK, self._tick_soon)
        except RuntimeError:  # no loop (a simulation run by hand): the caller ticks
            self._loop = self._handle = None
        return restored

    def _tick_soon(self) -> None:
        self.tick(self._clock())
        self._handle = asyncio.get_running_loop().call_later(TICK, self._tick_soon)

    def tick(self, now: float) -> None:
        """Cut intervals, expire old calls, hand changes (and `now`, the
        moment they are true of) to the checkpoint."""
        self.assemble()
        try:
            rows = self.assembler.tick(now)
            if rows:
                self.rows += len(rows)
                self.writer.put(rows)
            if self.checkpoint is not None:
                # Every tick, changes or none: the checkpoint's time is where
                # a restart ends the agents' intervals and sessions, so an
                # idle minute before a kill is still logged-in time.
                self.checkpoint.submit(self.assembler.changes(), now)
        except Exception:  # noqa: BLE001
            self._failed("tick")

    def stop(self, timeout: float = 5.0) -> None:
        """A last tick and checkpoint; then the threads stop (what is not in
        the database stays in the spool, open calls in the checkpoint)."""
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
        if self._clock is not None:
            self.tick(self._clock())
        else:
            self.assemble()
        self._loop = None  # facts after the stop: at once (there is no batch to come)
        if self.checkpoint is not None:
            self.checkpoint.stop(timeout)
        self.writer.stop(timeout)

    def open_calls(self) -> tuple[int, list[str]]:
        """(calls the records hold open, a few of their ids)."""
        calls = self.assembler.calls
        return len(calls), list(islice(calls, 5))

    def _failed(self, what: str) -> None:
        self.errors += 1
        now = time.monotonic()
        if now - self._last_log >= LOG_EVERY:
            self._last_log = now
            log.exception("records: %s failed (%d errors so far; routing goes on)", what, self.errors)


class SubscriberCollector(Collector):
    """The subscriber's errors and open calls, of a RecordsSubscriber or
    of the records process (recordsproc.py), which answer alike."""

    def __init__(self, subscriber) -> None:
        self.s = subscriber

    def collect(self):
        errors = CounterMetricFamily("router_records_subscriber_errors", "Facts (or ticks) the records "
                                     "subscriber failed on; routing went on")
        errors.add_metric([], self.s.errors)
        open_calls = GaugeMetricFamily("router_records_open_calls", "Calls the records hold open (not yet "
                                       "finished, or in their agent's wrap-up)")
        open_calls.add_metric([], self.s.open_calls()[0])
        yield from (errors, open_calls)
