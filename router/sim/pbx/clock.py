"""Simulated time on top of the asyncio loop.

Every delay in the simulator (ring, talk, patience, Originate Timeout, hold
limit) is in simulated seconds and runs `speed` times faster in real time,
so a test at speed 50 sees a 15 s ring timeout after 0.3 s. Everything the
PBX reports about time (Uniqueid epochs, Duration, Seconds, Ping Timestamp)
uses the same simulated clock, so the numbers a router reads stay
consistent with the delays it asked for.
"""

from __future__ import annotations

import asyncio
import time
import traceback
from typing import Callable


class Clock:
    def __init__(self, speed: float = 1.0) -> None:
        if not speed > 0:
            raise ValueError("speed must be > 0")
        self.speed = float(speed)
        self.errors: list[str] = []  # exceptions raised in scheduled callbacks
        self._loop: asyncio.AbstractEventLoop | None = None
        self._t0 = 0.0
        self._epoch = 0.0
        self._handles: set[asyncio.Handle] = set()
        self._prune_at = 1024

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._t0 = self._loop.time()
        self._epoch = time.time()

    @property
    def started(self) -> bool:
        return self._loop is not None

    def now(self) -> float:
        """Simulated seconds since start()."""
        if self._loop is None:
            raise RuntimeError("the PBX simulator is not started")
        return (self._loop.time() - self._t0) * self.speed

    def wall(self) -> float:
        """Simulated Unix time (what the PBX's own clock shows)."""
        return self._epoch + self.now()

    def later(self, delay: float, fn: Callable, *args) -> asyncio.TimerHandle:
        """Run fn(*args) after `delay` simulated seconds."""
        if self._loop is None:
            raise RuntimeError("the PBX simulator is not started")
        holder: list[asyncio.Handle] = []
        handle = self._loop.call_later(max(0.0, delay) / self.speed, self._run, holder, fn, args)
        holder.append(handle)
        self._handles.add(handle)
        if len(self._handles) > self._prune_at:
            # Handles cancelled by their owners (a caller's patience timer
            # when the call is answered) stay here until pruned: without
            # this, a long run (bench/soak.py) grows by every call's timers.
            self._handles = {h for h in self._handles if not h.cancelled()}
            self._prune_at = max(1024, 2 * len(self._handles))
        return handle

    def soon(self, fn: Callable, *args) -> None:
        """Run fn(*args) on the next loop turn: after whatever is being
        written now (Asterisk answers an action before its events)."""
        self.later(0.0, fn, *args)

    async def sleep(self, delay: float) -> None:
        await asyncio.sleep(max(0.0, delay) / self.speed)

    def cancel_all(self) -> None:
        for handle in self._handles:
            handle.cancel()
        self._handles.clear()

    def _run(self, holder: list, fn: Callable, args: tuple) -> None:
        self._handles.discard(holder[0])
        # A bug in one flow must not kill the loop or the other calls: keep
        # the traceback where tests can assert on it (`PbxSimulator.errors`).
        try:
            fn(*args)
        except Exception:  # noqa: BLE001
            self.errors.append(traceback.format_exc())
