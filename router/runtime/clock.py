"""The router's clock: wall-clock seconds, or accelerated ones for
simulations. The engine never reads it; the daemon stamps each event with
`now()` and turns the engine's timer deadlines into real delays."""

from __future__ import annotations

import time


class Clock:
    """Wall-clock seconds, or accelerated ones for simulations: `now()`
    advances `speed` seconds per real second from `start`."""

    def __init__(self, speed: float = 1.0, start: float | None = None) -> None:
        self.speed = speed
        self._start = start
        self.anchor()

    def anchor(self) -> None:
        """Count from now: `now()` reads `start` (or the wall clock) at this
        moment. A simulated run anchors its clock once the simulator is up,
        so that its simulated time starts with the routing."""
        self._t0 = time.time() if self._start is None else self._start
        self._m0 = time.monotonic()

    def now(self) -> float:
        return self._t0 + (time.monotonic() - self._m0) * self.speed

    def real_delay(self, at: float) -> float:
        return max(0.0, (at - self.now()) / self.speed)
