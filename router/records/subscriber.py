"""The records subscriber: the router's published facts to the records.

    records = RecordsSubscriber(RecordAssembler(lambda: router.table), writer, checkpoint)
    records.start(router.clock.now)      # restores the checkpoint, starts the threads and the tick
    router.listeners.append(records)     # called as records(fact, now)
    ...
    records.stop()

A call costs the loop the assembler's bookkeeping and a deque append per
finished call (writer.put): no I/O, no lock wait. The writer's threads
write the rows (writer.py), the checkpoint's thread the open state
(checkpoint.py). Nothing here ever raises into routing: an error is
logged (once a minute at most), counted (`router_records_subscriber_errors`)
and the next fact goes on.
"""

from __future__ import annotations

import asyncio
import logging
import time
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
        if registry is not None:
            registry.register(_Collector(self))

    def __call__(self, fact, now: float) -> None:
        try:
            rows = self.assembler.handle(fact, now)
            if rows:
                self.rows += len(rows)
                self.writer.put(rows)
        except Exception:  # noqa: BLE001 (records never stop routing)
            self._failed(f"fact {type(fact).__name__}")

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
            self._handle = asyncio.get_running_loop().call_later(TICK, self._tick_soon)
        except RuntimeError:  # no loop (a simulation run by hand): the caller ticks
            self._handle = None
        return restored

    def _tick_soon(self) -> None:
        self.tick(self._clock())
        self._handle = asyncio.get_running_loop().call_later(TICK, self._tick_soon)

    def tick(self, now: float) -> None:
        """Cut intervals, expire old calls, hand changes to the checkpoint."""
        try:
            rows = self.assembler.tick(now)
            if rows:
                self.rows += len(rows)
                self.writer.put(rows)
            if self.checkpoint is not None:
                changes = self.assembler.changes()
                if changes:
                    self.checkpoint.submit(changes, now)
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
        if self.checkpoint is not None:
            self.checkpoint.stop(timeout)
        self.writer.stop(timeout)

    def _failed(self, what: str) -> None:
        self.errors += 1
        now = time.monotonic()
        if now - self._last_log >= LOG_EVERY:
            self._last_log = now
            log.exception("records: %s failed (%d errors so far; routing goes on)", what, self.errors)


class _Collector(Collector):
    def __init__(self, subscriber: RecordsSubscriber) -> None:
        self.s = subscriber

    def collect(self):
        errors = CounterMetricFamily("router_records_subscriber_errors", "Facts (or ticks) the records "
                                     "subscriber failed on; routing went on")
        errors.add_metric([], self.s.errors)
        open_calls = GaugeMetricFamily("router_records_open_calls", "Calls the records hold open (not yet "
                                       "finished, or in their agent's wrap-up)")
        open_calls.add_metric([], len(self.s.assembler.calls))
        yield from (errors, open_calls)
