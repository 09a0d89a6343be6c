"""The replies one AMI link waits for, each for a bounded time, without a
task or a timer per action.

Why not a task awaiting each reply: the router sends an Originate or a
Hangup for nearly every call, and a task plus `wait_for` per action (or
even a timer each) was a large part of the cost of an event
(bench/RESULTS.md). Here the futures of the replies are kept in one queue
per timeout value (deadlines in it come in order), and one sweep every
REPLY_SWEEP seconds gives up on those past their deadline.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from typing import Any, Callable

log = logging.getLogger("router.ami")

#: How often replies past their deadline are given up on.
REPLY_SWEEP = 0.25


class Replies:
    """The replies awaited on the link named `name`; `closing()` is True
    once the link is closed (no `then` runs after that)."""

    def __init__(self, name: str, closing: Callable[[], bool]) -> None:
        self.name = name
        self._closing = closing
        # timeout -> (deadline, future, action name, timeout), in order.
        self._deadlines: dict[float, deque] = {}
        self._sweeper: asyncio.TimerHandle | None = None

    def wait(self, future: asyncio.Future | None, action: str | None, then: Callable[[Any], None] | None,
             limit: float) -> None:
        """When `future` (the reply of `action`; None: it was not sent)
        resolves, call `then(reply)`; `then(None)` when it was not sent, it
        failed, or no reply came within `limit` seconds (up to REPLY_SWEEP
        later; logged). `then` runs from the event loop, never inside this
        call, and not at all once the link is closed."""
        loop = asyncio.get_running_loop()
        if future is None:
            if then is not None:
                loop.call_soon(self._then, then, None)
            return
        self._deadlines.setdefault(limit, deque()).append((loop.time() + limit, future, action, limit))
        if self._sweeper is None:
            self._sweeper = loop.call_later(REPLY_SWEEP, self._sweep)

        def done(f: asyncio.Future) -> None:
            reply = None
            if not f.cancelled():
                if f.exception() is not None:
                    log.error("AMI %s: %s failed: %s", self.name, action, f.exception())
                else:
                    reply = f.result()
            if then is not None:
                self._then(then, reply)

        future.add_done_callback(done)

    def clear(self) -> None:
        """Stop sweeping and forget every deadline (the link is closed)."""
        if self._sweeper is not None:
            self._sweeper.cancel()
            self._sweeper = None
        self._deadlines.clear()

    def _sweep(self) -> None:
        """Give up on replies past their deadline (their `then` gets None)."""
        loop = asyncio.get_running_loop()
        self._sweeper = None
        now = loop.time()
        for queue in self._deadlines.values():
            while queue and (queue[0][1].done() or queue[0][0] <= now):
                _, future, name, limit = queue.popleft()
                if not future.done():
                    log.error("AMI %s: no reply to %s within %.1fs", self.name, name, limit)
                    future.cancel()
        if any(self._deadlines.values()):
            self._sweeper = loop.call_later(REPLY_SWEEP, self._sweep)

    def _then(self, then: Callable[[Any], None], reply) -> None:
        if self._closing():
            return
        try:
            then(reply)
        except Exception:
            log.exception("AMI %s: error handling a reply", self.name)
