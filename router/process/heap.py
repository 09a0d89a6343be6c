"""Short full garbage collections for the running router.

Why: CPython's full (generation 2) collection walks every tracked object.
At 10,000 agents and 5,000 callers that is about 130,000 objects and 40-48
ms of the event loop, about every 15 s of traffic; events that arrive
meanwhile wait in the socket (bench/RESULTS.md, "Limits").

What: after each full collection the objects that survived it are frozen
(`gc.freeze()`): later full collections walk only what is newer, a few
milliseconds (4-8 ms in the same benchmark). What a frozen object holds is
still freed by reference counting as usual; only garbage *cycles* among
frozen objects wait, until the next thaw: every `thaw_every` seconds
everything is unfrozen and collected once (one long pause an hour instead
of hundreds), then frozen again.

One per process, as the collector is: `router run` installs it once the
router has started and removes it when it stops (router/present/run_modes.py), and
the benchmark does the same around the router it measures. The tests'
routers run without it.
"""

from __future__ import annotations

import asyncio
import gc
import logging

log = logging.getLogger("router.process.heap")

#: Seconds between thaws (full collections of everything, frozen included).
THAW_EVERY = 3600.0

_installed: "FreezeSurvivors | None" = None


class FreezeSurvivors:
    def __init__(self, loop: asyncio.AbstractEventLoop, thaw_every: float = THAW_EVERY) -> None:
        self.loop = loop
        self.thaw_every = thaw_every
        self.freezes = 0
        self.thaws = 0
        self._thawing = False
        self._freeze_due = False
        self._thaw_handle: asyncio.TimerHandle | None = None

    def _on_gc(self, phase: str, info: dict) -> None:
        # Not gc.freeze() from inside the collector: after it, from the loop.
        if phase == "stop" and info["generation"] == 2 and not self._thawing and not self._freeze_due:
            if self.loop.is_closed():
                return
            self._freeze_due = True
            self.loop.call_soon_threadsafe(self._freeze)

    def _freeze(self) -> None:
        self._freeze_due = False
        if _installed is self:  # not after uninstall
            gc.freeze()
            self.freezes += 1

    def thaw(self) -> None:
        """Unfreeze, collect everything once, freeze what is left."""
        self._thawing = True
        try:
            gc.unfreeze()
            found = gc.collect()
        finally:
            self._thawing = False
        gc.freeze()
        self.thaws += 1
        log.debug("heap: thawed and collected (%d unreachable objects)", found)

    def _scheduled_thaw(self) -> None:
        self.thaw()
        self._thaw_handle = self.loop.call_later(self.thaw_every, self._scheduled_thaw)


def install(loop: asyncio.AbstractEventLoop, thaw_every: float = THAW_EVERY) -> FreezeSurvivors:
    """Start freezing the survivors of full collections in this process."""
    global _installed
    if _installed is None:
        _installed = FreezeSurvivors(loop, thaw_every)
        gc.callbacks.append(_installed._on_gc)
        _installed._thaw_handle = loop.call_later(thaw_every, _installed._scheduled_thaw)
    return _installed


def uninstall() -> None:
    """Stop, and give every frozen object back to the collector."""
    global _installed
    if _installed is None:
        return
    if _installed._on_gc in gc.callbacks:
        gc.callbacks.remove(_installed._on_gc)
    if _installed._thaw_handle is not None:
        _installed._thaw_handle.cancel()
    _installed = None
    gc.unfreeze()
