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
from router.ami.resync import RESYNC_ACTIONS, build_snapshot, items
from router.ami.translate import Translator, header
from router.core import events as ev
from router.core.commands import CancelRing, CancelTimer, Publish, RingAgent, RunAction, StartTimer
from router.core.engine import Engine
from router.core.table import RoutingTable
from router.state import AgentStateFile
from router.stats import Tally

log = logging.getLogger("router")

#: Real seconds between an agent state change and saving the state file.
SAVE_DELAY = 0.2
#: Extra seconds, past the ring timeout, to wait for an Originate's result.
ORIGINATE_MARGIN = 10.0


def _base36(n: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while n:
        n, r = divmod(n, 36)
        out = digits[r] + out
    return out or "0"


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
                 on_publish: Callable[[Publish, float], None] | None = None,
                 state_file: str | None = None, resync_timeout: float = 10.0) -> None:
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
        self.run_id = _base36(int(time.time() * 1000))  # unique per router run
        self.resync_timeout = resync_timeout
        self.resyncs: dict[str, int] = {}  # completed snapshots per pbx
        self._held: dict[str, list] = {}  # pbx -> AMI events held during its resync
        self._state = AgentStateFile(state_file) if state_file else None
        self._save_handle: asyncio.TimerHandle | None = None

    # -- wiring
    def add_pbx(self, name: str, host: str, port: int, username: str, secret: str, **link_options) -> Link:
        self.translators[name] = Translator(self.table, pbx=name, run=self.run_id)
        link_options.setdefault("events", Translator.EVENTS)  # the rest is dropped unparsed
        link = Link(name, host, port, username, secret, on_message=self._on_message,
                    on_up=self._on_up, **link_options)
        self.links[name] = link
        return link

    async def start(self) -> None:
        if self._state is not None:
            for event in self._state.load():
                self.feed(event)
        for link in self.links.values():
            await link.start()

    def _state_changed(self, agent: str, state: str, reason: str) -> None:
        """Save agent states soon after a change (batched: one write for a
        burst), so that a crash loses at most that moment."""
        self._state.record(agent, state, reason)
        if self._state.dirty and self._save_handle is None:
            self._save_handle = asyncio.get_running_loop().call_later(SAVE_DELAY, self._save_now)

    def _save_now(self) -> None:
        self._save_handle = None
        self._state.save()

    async def stop(self) -> None:
        if self._state is not None:
            if self._save_handle is not None:
                self._save_handle.cancel()
            self._state.save()
        for handle in self._timers.values():
            handle.cancel()
        self._timers.clear()
        for link in self.links.values():
            await link.close()
        for task in list(self._tasks):
            task.cancel()

    async def abort(self) -> None:
        """Die as a SIGKILL would: connections dropped, no goodbyes, nothing
        saved beyond what already is (for tests of restarts)."""
        for handle in self._timers.values():
            handle.cancel()
        for task in list(self._tasks):
            task.cancel()
        for link in self.links.values():
            link.closing = True
            if link._watchdog:
                link._watchdog.cancel()
            transport = getattr(link.manager.protocol, "transport", None)
            if transport is not None:
                transport.abort()

    @property
    def connected(self) -> dict[str, bool]:
        return {name: link.up for name, link in self.links.items()}

    # -- events in
    def _on_up(self, link: Link) -> None:
        self._spawn(self._resync(link))

    async def _resync(self, link: Link) -> None:
        """After every login: read what the PBX has and reconcile. Events
        that arrive meanwhile are held and replayed after the snapshot, so a
        caller who hangs up during the listings is not taken on as waiting."""
        name = link.name
        self._held[name] = []
        # Originates sent while the listings are read are not in them yet:
        # the snapshot must keep those legs, or they could not be cancelled.
        before = set(self.translators[name].originates)
        try:
            replies = []
            for action in RESYNC_ACTIONS:
                reply = await link.send(action, timeout=self.resync_timeout)
                if reply is None:
                    log.error("pbx %s: %s got no reply; state not rebuilt", name, action["Action"])
                    return
                replies.append(reply)
            snapshot = build_snapshot(self.translators[name], items(replies[0], "CoreShowChannel"),
                                      items(replies[1], "Status"), items(replies[2], "DeviceStateChange"),
                                      pending=set(self.translators[name].originates) - before)
            for call in snapshot.waiting:
                self._call_pbx[call.call_id] = name
            for call_id, _ in snapshot.connected + snapshot.ringing:
                self._call_pbx[call_id] = name
            self.feed(snapshot)
            self.resyncs[name] = self.resyncs.get(name, 0) + 1
            log.info("pbx %s: state rebuilt: %d waiting, %d talking, %d ringing", name,
                     len(snapshot.waiting), len(snapshot.connected), len(snapshot.ringing))
        finally:
            for message in self._held.pop(name, []):
                self._translate(link, message)

    def _on_message(self, link: Link, message) -> None:
        held = self._held.get(link.name)
        if held is not None:
            held.append(message)
        else:
            self._translate(link, message)

    def _translate(self, link: Link, message) -> None:
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
            if self._state is not None and c.kind == "agent.state":
                self._state_changed(c.data["agent"], c.data["state"], c.data["reason"])
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
        RouterProtocol); if instead Asterisk refuses it, report a failed
        offer so that the call goes back in line."""
        reply = await self.links[pbx].send(action, timeout=ring_timeout / self.clock.speed + ORIGINATE_MARGIN)
        first = reply[0] if isinstance(reply, list) and reply else reply
        if first is None or header(first, "Response") != "Error":
            # Answered, or no reply (link down, response lost): what really
            # happened is read back at the next snapshot, and the engine's
            # ring guard covers the meantime. Guessing "failed" here could
            # re-offer a call that an agent is already talking to.
            return
        reason = header(first, "Message")
        log.warning("pbx %s: Originate %s failed: %s", pbx, action.get("ActionID"), reason)
        failure = {"Event": "OriginateResponse", "ActionID": action["ActionID"], "Response": "Failure", "Reason": "0"}
        for event in self.translators[pbx].event(failure):
            self.feed(event)
