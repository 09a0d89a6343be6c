"""What the records cost the router's process per decision, measured
without the noise of latency percentiles (issue 16): the CPU time of the
event loop's thread inside the records subscriber's callbacks, and the CPU
time of the records threads (which hold the GIL the loop needs while they
run Python). bench/tcp.py installs it when records are on.

    meter = RecordsLoopCpu(subscriber)         # wraps its assemble and tick
    router.subscribe(meter.wrap(subscriber), "records")
    meter.reset(); ...; figures = per_decision(loop_cpu, meter.read(), decisions)
"""

from __future__ import annotations

import threading
import time


def per_decision(loop_cpu: float, records: dict, decisions: int) -> dict:
    """CPU microseconds per decision in the window: the loop thread's, the
    part of it spent in the records subscriber's callbacks, and the records
    threads of the router's process (they hold the GIL the loop needs while
    they run Python; the records process's CPU is another process's)."""
    n = max(1, decisions)
    return {"loop_cpu_us": loop_cpu / n * 1e6, "records_loop_us": records["loop"] / n * 1e6,
            "records_loop_us_by_part": {k: v / n * 1e6 for k, v in records["parts"].items()},
            "records_loop_callbacks": records["calls"],
            "records_threads_us": records["threads"] / n * 1e6,
            "records_threads_us_by_name": {k: v / n * 1e6 for k, v in records["by_thread"].items()}}


class RecordsLoopCpu:
    """CPU time (time.thread_time) the event loop's thread spends in the
    records subscriber's callbacks: the fact (`__call__`), the batch
    (`assemble`, from call_soon) and the tick; and the CPU time of the
    records threads in this process (per-thread CPU clocks). Thread CPU,
    not wall time: on a shared machine the wall time of a callback counts
    whatever else ran meanwhile. The clock's own cost (a system call here)
    is measured at the start and taken off."""

    def __init__(self, subscriber) -> None:
        self.subscriber = subscriber
        self.loop = 0.0
        self.calls = 0
        self.parts: dict[str, float] = {}  # fact / assemble / tick -> seconds
        self._depth = 0
        self._threads0: dict[str, float] = {}
        clock = time.thread_time
        t = clock()
        for _ in range(1000):
            clock()
        self.clock_cost = (clock() - t) / 1001  # one reading's share counted inside a timed call
        if subscriber is None:
            return
        for name in ("assemble", "tick"):  # looked up on the instance by call_soon / _tick_soon
            setattr(subscriber, name, self._timed(getattr(subscriber, name), name))

    def _timed(self, function, part: str):
        clock = time.thread_time

        def timed(*args):
            if self._depth:  # tick calls assemble: counted once, as the tick's
                return function(*args)
            self._depth += 1
            t = clock()
            try:
                return function(*args)
            finally:
                spent = clock() - t - self.clock_cost
                self.loop += spent
                self.calls += 1
                self.parts[part] = self.parts.get(part, 0.0) + spent
                self._depth -= 1
        return timed

    def wrap(self, subscriber):
        return self._timed(subscriber, "fact")

    def _thread_cpu(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for thread in threading.enumerate():
            if thread.name.startswith("records-") and thread.ident is not None:
                try:
                    out[thread.name] = time.clock_gettime(time.pthread_getcpuclockid(thread.ident))
                except (OSError, ProcessLookupError):  # ended meanwhile
                    pass
        return out

    def reset(self) -> None:
        self.loop = 0.0
        self.calls = 0
        self.parts = {}
        self._threads0 = self._thread_cpu()

    def read(self) -> dict:
        now = self._thread_cpu()
        by = {k: v - self._threads0.get(k, 0.0) for k, v in now.items()}
        return {"loop": self.loop, "parts": dict(self.parts), "calls": self.calls, "threads": sum(by.values()), "by_thread": by}
