"""Decision-latency probe for the benchmarks (bench/), off by default.

Measures, inside the router process, from the moment an AMI chunk is read
from the socket (RouterProtocol.data_received) to the moment an Originate it
caused is written to the socket (the transport.write that carries it).

How the two ends are tied: data_received stores the chunk's receive time in
a context variable. The Originates decided while the chunk's events are
handled are written together when it has been handled (router/ami/protocol.py)
and reported then, in the chunk's own context. An Originate caused by a
timer (an escalation step, the end of a wrap-up) is written at once, in a
context copied when the timer was set, so it carries an older chunk: those
are counted apart (`stale`), never as latency.

Cost when off: one `is not None` test per chunk and per action sent.
"""

from __future__ import annotations

import contextvars
import time

_chunk: contextvars.ContextVar["Chunk | None"] = contextvars.ContextVar("ami_chunk", default=None)


class Chunk:
    __slots__ = ("received", "seq")

    def __init__(self, received: float, seq: int) -> None:
        self.received, self.seq = received, seq


class Probe:
    """Collects Originate latencies (seconds) while installed as `ACTIVE`."""

    def __init__(self) -> None:
        self.samples: list[float] = []
        self.stale = 0  # Originates caused by a timer, not by the latest chunk
        self.chunks = 0

    def received(self) -> None:
        self.chunks += 1
        _chunk.set(Chunk(time.perf_counter(), self.chunks))

    def sent(self, action) -> None:
        if str(action.get("Action", "")).lower() != "originate":
            return
        chunk = _chunk.get()
        if chunk is None or chunk.seq != self.chunks:
            self.stale += 1
        else:
            self.samples.append(time.perf_counter() - chunk.received)

    def reset(self) -> None:
        self.samples.clear()
        self.stale = 0


#: The installed probe, or None (the default: nothing is measured).
ACTIVE: Probe | None = None


def install(probe: Probe | None) -> None:
    """Start (a Probe) or stop (None) measuring, process-wide."""
    global ACTIVE
    ACTIVE = probe
