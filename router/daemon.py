"""The composition root: one engine, a clock, timers, and AMI links.

Everything that touches the outside lives here or in the adapters; the engine
only sees events and returns commands. The loop is:

    AMI message -> Translator -> domain events -> Engine.handle(event, now)
    -> commands -> AMI actions / timers / published events

Every command is carried out without blocking the loop: AMI actions are sent
by tasks (bounded by timeouts), so routing never waits on the network.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Callable

from router.ami.link import Link
from router.ami.translate import Translator, header
from router.core import events as ev
from router.core.commands import CancelRing, CancelTimer, Publish, RingAgent, RunAction, StartTimer
from router.core.engine import Engine
from router.core.table import RoutingTable
from router.stats import Tally

log = logging.getLogger("router")

#: Extra seconds, past the ring timeout, to wait for an Originate's result.
ORIGINATE_MARGIN = 10.0


class Clock:
    """Wall-clock seconds, or accelerated ones for simulations: `now()`
    advances `speed` seconds per real second from `start`."""

    def __init__(self, speed: float = 1.0, start: float | None = None) -> None:
        self.speed = speed
        self._t0 = time.time() if start is None else start
        self._m0 = time.monotonic()

    def now(self) -> float:
        return self._t0 + (time.monotonic() - self._m0) * self.speed

    def real_delay(self, at: float) -> float:
        return max(0.0, (at - self.now()) / self.speed)


class Router:
    def __init__(self, table: RoutingTable, clock: Clock, *,
                 on_publish: Callable[[Publish, float], None] | None = None) -> None:
        self.table = table
        self.clock = clock
        self.engine = Engine(table)
        self.tally = Tally(table)
        self.links: dict[str, Link] = {}
        self.translators: dict[str, Translator] = {}
        self.events_handled = 0
        self._on_publish = on_publish or (lambda p, now: None)
        self._timers: dict[tuple[str, str], asyncio.TimerHandle] = {}
        self._call_pbx: dict[str, str] = {}
        self._tasks: set[asyncio.Task] = set()

    # -- wiring
    def add_pbx(self, name: str, host: str, port: int, username: str, secret: str, **link_options) -> Link:
        self.translators[name] = Translator(self.table, pbx=name)
        link = Link(name, host, port, username, secret, on_message=self._on_message,
                    on_up=self._on_up, **link_options)
        self.links[name] = link
        return link

    async def start(self) -> None:
        for link in self.links.values():
            await link.start()

    async def stop(self) -> None:
        for handle in self._timers.values():
            handle.cancel()
        self._timers.clear()
        for link in self.links.values():
            await link.close()
        for task in list(self._tasks):
            task.cancel()

    @property
    def connected(self) -> dict[str, bool]:
        return {name: link.up for name, link in self.links.items()}

    # -- events in
    def _on_up(self, link: Link) -> None:
        # Rebuilding state from Asterisk's listings after a reconnect is not
        # built yet (see the open issue); until then a fresh login starts clean.
        log.info("pbx %s is up", link.name)

    def _on_message(self, link: Link, message) -> None:
        for event in self.translators[link.name].event(message):
            if isinstance(event, ev.CallWaiting):
                self._call_pbx[event.call_id] = link.name
            self.feed(event)

    def feed(self, event) -> None:
        """Hand one domain event to the engine and carry out its commands."""
        now = self.clock.now()
        self.events_handled += 1
        for command in self.engine.handle(event, now):
            try:
                self._execute(command, now)
            except Exception:  # one bad command must not stop the others
                log.exception("could not carry out %r", command)

    # -- commands out
    def _execute(self, c, now: float) -> None:
        if isinstance(c, Publish):
            self.tally.observe(c)
            self._on_publish(c, now)
            if c.kind.startswith("call.") and c.kind[5:] in ("abandoned", "overflowed", "closed", "ended"):
                self._call_pbx.pop(c.data.get("call"), None)
        elif isinstance(c, StartTimer):
            old = self._timers.pop((c.kind, c.ref), None)
            if old:
                old.cancel()
            loop = asyncio.get_running_loop()
            self._timers[(c.kind, c.ref)] = loop.call_later(self.clock.real_delay(c.at), self._fire, c.kind, c.ref)
        elif isinstance(c, CancelTimer):
            old = self._timers.pop((c.kind, c.ref), None)
            if old:
                old.cancel()
        elif isinstance(c, RingAgent):
            pbx = self._pbx_of(c.call_id)
            action = self.translators[pbx].ring(c)
            self._spawn(self._originate(pbx, action, c.timeout))
        elif isinstance(c, CancelRing):
            pbx = self._pbx_of(c.call_id)
            action = self.translators[pbx].cancel(c)
            if action:
                self._spawn(self.links[pbx].send(action))
        elif isinstance(c, RunAction):
            pbx = self._pbx_of(c.call_id)
            self._spawn(self._send_in_order(pbx, self.translators[pbx].run_action(c)))

    def _pbx_of(self, call_id: str) -> str:
        return self._call_pbx.get(call_id) or next(iter(self.links))

    def _fire(self, kind: str, ref: str) -> None:
        self._timers.pop((kind, ref), None)
        self.feed(ev.TimerFired(kind, ref))

    def _spawn(self, coro) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _send_in_order(self, pbx: str, actions: list[dict]) -> None:
        for action in actions:
            await self.links[pbx].send(action)

    async def _originate(self, pbx: str, action: dict, ring_timeout: float) -> None:
        """Send an Originate. Its OriginateResponse arrives as an event (see
        RouterProtocol); if instead Asterisk refuses it or nothing comes back,
        report a failed offer so the call goes back in line."""
        reply = await self.links[pbx].send(action, timeout=ring_timeout / self.clock.speed + ORIGINATE_MARGIN)
        first = reply[0] if isinstance(reply, list) and reply else reply
        if first is not None and header(first, "Response") != "Error":
            return
        reason = header(first, "Message") if first is not None else "no reply"
        log.warning("pbx %s: Originate %s failed: %s", pbx, action.get("ActionID"), reason)
        failure = {"Event": "OriginateResponse", "ActionID": action["ActionID"], "Response": "Failure", "Reason": "0"}
        for event in self.translators[pbx].event(failure):
            self.feed(event)
