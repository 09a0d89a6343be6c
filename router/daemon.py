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
from router.clock import Clock
from router.ami.resync import RESYNC_ACTIONS, build_snapshot, items, listing_failure
from router.ami.translate import UNUSED_EVENTS, Translator, header
from router.core import events as ev
from router.core.commands import CancelRing, CancelTimer, Publish, RingAgent, RunAction, StartTimer
from router.core.facts import Fact
from router.core.engine import Engine
from router.core.state import FINISHED
from router.core.table import RoutingTable
from router.state import AgentStateFile, saved_state
from router.stats import QueueTally, Tally

log = logging.getLogger("router")

#: Real seconds between an agent state change and saving the state file.
SAVE_DELAY = 0.2
#: Extra seconds, past the ring timeout, to wait for an Originate's result.
ORIGINATE_MARGIN = 10.0
#: Real seconds before a failed state rebuild is tried again, doubling up to
#: the second figure while it keeps failing.
REBUILD_RETRY = (1.0, 30.0)
#: AMI events held while a PBX's state is rebuilt; past this the connection
#: is dropped and the rebuild starts again from a new login (a listing that
#: hangs while the PBX keeps talking must not eat the memory).
HELD_LIMIT = 20_000


def _base36(n: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while n:
        n, r = divmod(n, 36)
        out = digits[r] + out
    return out or "0"


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
        #: More observers of published events (the MQTT bus); each is called
        #: synchronously and must not block.
        self.listeners: list[Callable[[Publish, float], None]] = []
        self._timers: dict[tuple[str, str], asyncio.TimerHandle] = {}
        self._call_pbx: dict[str, str] = {}
        self._tasks: set[asyncio.Task] = set()
        self.run_id = _base36(int(time.time() * 1000))  # unique per router run
        self.resync_timeout = resync_timeout
        self.resyncs: dict[str, int] = {}  # completed snapshots per pbx
        #: pbx -> why its last rebuild failed, while one is retried (nothing is offered there)
        self.stale: dict[str, str] = {}
        self.rebuild_failures: dict[str, int] = {}  # pbx -> failed rebuilds so far
        self._held: dict[str, list] = {}  # pbx -> AMI events held during its resync
        self.held_limit = HELD_LIMIT
        self._overflowed: list = []  # stands for the held events of a connection being dropped
        self.rebuild_retry = REBUILD_RETRY
        self._sent: dict[str, set[str]] = {}  # pbx -> leg ids originated on its current connection
        self._logins: dict[str, int] = {}  # pbx -> logins so far (which resync is current)
        self._state = AgentStateFile(state_file) if state_file else None
        self._save_handle: asyncio.TimerHandle | None = None
        #: False after a reload that failed (the old table kept running).
        self.reload_ok = True
        self._reloading: asyncio.Task | None = None
        self._reload_again = False
        #: True once a graceful stop began: no new offers are sent.
        self.draining = False
        self.metrics = None  # router.metrics.Metrics, see attach_metrics
        #: Applied to every table swapped in (reload or skill change): the
        #: MQTT bus keeps supervisors' skill changes across reloads with it.
        self.table_filter: Callable[[RoutingTable], RoutingTable] = lambda table: table

    def attach_metrics(self, metrics) -> None:
        """Feed `metrics` (router.metrics.Metrics) every Publish and every
        event's decision latency."""
        self.metrics = metrics

    # -- wiring
    def add_pbx(self, name: str, host: str, port: int, username: str, secret: str, **link_options) -> Link:
        self.translators[name] = Translator(self.table, pbx=name, run=self.run_id)
        # Known Asterisk events the translator does not use are dropped
        # unparsed (most of the AMI traffic); unknown kinds get through, to be
        # counted and logged once per kind.
        link_options.setdefault("drop_events", frozenset(e.lower() for e in UNUSED_EVENTS))
        link = Link(name, host, port, username, secret, on_message=self._on_message,
                    on_up=self._on_up, **link_options)
        self.links[name] = link
        return link

    async def start(self) -> None:
        unknown = sorted({a.pbx for a in self.table.agents.values() if a.pbx and a.pbx not in self.links})
        if unknown:  # such agents are never offered a call: say so at once
            log.warning("agents are on pbx %s, which this router is not connected to (--ami NAME=HOST)",
                        ", ".join(unknown))
        if self._state is not None:
            for event in self._state.load():
                self.feed(event)
        for link in self.links.values():
            await link.start()

    def _state_changed(self, agent: str, state: str, reason: str) -> None:
        """Save agent states soon after a change (batched: one write for a
        burst), so that a crash loses at most that moment."""
        self._state.record(agent, state, reason)
        self._save_soon()

    def _callback_changed(self, state: str, data) -> None:
        """Keep open callbacks in the state file, and ring their agents on
        the PBX their call came from."""
        if state == "promised" and data.get("pbx") in self.links:
            self._call_pbx[data["call"]] = data["pbx"]
        elif state in ("done", "failed"):
            self._call_pbx.pop(data.get("call"), None)
        if self._state is not None:
            self._state.record_callback(state, data)
            self._save_soon()

    def _save_soon(self) -> None:
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

    def reload(self, config_dir: str) -> bool:
        """Load and check the config at `config_dir` and swap it in whole;
        see router.reload."""
        from router.reload import reload_router

        return self.reload_done(reload_router(self, config_dir))

    def request_reload(self, config_dir: str) -> asyncio.Task | None:
        """Reload `config_dir` without blocking the loop (SIGHUP): read and
        checked in a worker thread, swapped in here. Requests that come
        while one runs are folded into one more reload after it. Returns the
        task of the reload started, None when one was already running."""
        if self._reloading is not None:
            self._reload_again = True
            return None
        self._reloading = asyncio.ensure_future(self._reload_loop(config_dir))
        return self._reloading

    async def _reload_loop(self, config_dir: str) -> None:
        from router.reload import reload_in_thread

        try:
            while True:
                self._reload_again = False
                self.reload_done(await reload_in_thread(self, config_dir))
                if not self._reload_again:
                    return
        except Exception:  # never silently: the running config stays
            log.exception("reload of %s failed; keeping the running config", config_dir)
        finally:
            self._reloading = None

    def reload_done(self, ok: bool) -> bool:
        """Record a reload's outcome (SIGHUP, `router reload` or MQTT)."""
        self.reload_ok = ok
        if self.metrics is not None:  # router_config_reload_success, router_config_info
            self.metrics.set_reload(ok, self.table.digest)
        return ok

    async def drain(self, timeout: float) -> None:
        """Graceful stop, first half: see router.reload.drain."""
        from router.reload import drain

        await drain(self, timeout)

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

    def replace_table(self, table: RoutingTable) -> None:
        """Route by a new, validated table from now on (a reload or a
        supervisor's skill change): agents and calls keep their state.
        `table_filter` (the MQTT bus's skill overrides) applies to every one."""
        table = self.table_filter(table)
        self.table = table
        self.tally.table = table
        for name in table.queues:
            self.tally.queues.setdefault(name, QueueTally())
        for translator in self.translators.values():
            translator.set_table(table)
        self.feed(ev.ConfigReplaced(table))

    @property
    def connected(self) -> dict[str, bool]:
        return {name: link.up for name, link in self.links.items()}

    # -- events in
    def _on_up(self, link: Link) -> None:
        # From the login on, events wait for the snapshot, and the legs
        # originated on this connection are tracked: the listings may not
        # show a leg sent just before or after they were asked for.
        self._held[link.name] = []
        self._sent[link.name] = set()
        self._logins[link.name] = self._logins.get(link.name, 0) + 1
        self._spawn(self._resync(link, self._logins[link.name]))

    async def _resync(self, link: Link, login: int) -> None:
        """After every login: read what the PBX has and reconcile. Events
        that arrive meanwhile are held and replayed after the snapshot, so a
        caller who hangs up during the listings is not taken on as waiting.

        A rebuild that fails (a listing unanswered or answered with an
        error) is tried again with a growing delay: until one succeeds the
        router's view of that PBX is stale (a caller who left may still look
        waiting, an agent talking may look free), so nothing is offered
        there (`stale`, shown in /healthz). Between two attempts the events
        go through as they come: a hangup or an answer must not wait for the
        next attempt (a leg left ringing for a caller who left is a ghost
        call); each attempt holds them again, as the first one did."""
        name = link.name
        delay, longest = self.rebuild_retry
        rebuilt = False
        try:
            while True:
                failure = await self._rebuild(link)
                if failure is None:
                    rebuilt = True
                    return
                if self._logins.get(name) != login or not link.up:
                    return  # the connection is gone: the next login rebuilds
                self.rebuild_failures[name] = self.rebuild_failures.get(name, 0) + 1
                first = name not in self.stale
                self.stale[name] = failure
                log.log(logging.ERROR if first else logging.WARNING,
                        "pbx %s: state not rebuilt (%s); nothing is offered there until it is; "
                        "trying again in %.1fs (%d failed)", name, failure, delay, self.rebuild_failures[name])
                self._replay(link)
                await asyncio.sleep(delay)
                if self._logins.get(name) != login or not link.up:
                    return
                self._held[name] = []  # held again during the next attempt
                delay = min(delay * 2, longest)
        finally:
            # A resync cut short by a new login leaves that login's own
            # resync in charge of the held events.
            if self._logins.get(name) == login:
                if rebuilt:
                    self._sent.pop(name, None)
                self._replay(link)

    def _replay(self, link: Link) -> None:
        """Stop holding `link`'s events; hand on those held, in order."""
        for message in self._held.pop(link.name, []):
            self._translate(link, message)

    async def _rebuild(self, link: Link) -> str | None:
        """One round of listings and the snapshot fed; None when done, else
        why not. An error reply is a failure, never an empty PBX: read as
        "no agent legs", it would free agents still talking."""
        name = link.name
        replies = []
        for action in RESYNC_ACTIONS:
            reply = await link.send(action, timeout=self.resync_timeout)
            failure = listing_failure(reply)
            if failure is not None:
                return f"{action['Action']} {failure}"
            replies.append(reply)
        snapshot = build_snapshot(self.translators[name], items(replies[0], "CoreShowChannel"),
                                  items(replies[1], "Status"), items(replies[2], "DeviceStateChange"),
                                  pending=self._sent.get(name, ()))
        for call in snapshot.waiting:
            self._call_pbx[call.call_id] = name
        for call_id, _ in snapshot.connected + snapshot.ringing:
            self._call_pbx[call_id] = name
        self.feed(snapshot)
        self.resyncs[name] = self.resyncs.get(name, 0) + 1
        if self.stale.pop(name, None) is not None:
            log.warning("pbx %s: state rebuilt after %d failed attempt(s); offering calls there again",
                        name, self.rebuild_failures.get(name, 0))
        log.info("pbx %s: state rebuilt: %d waiting, %d talking, %d ringing", name,
                 len(snapshot.waiting), len(snapshot.connected), len(snapshot.ringing))
        return None

    def _on_message(self, link: Link, message) -> None:
        held = self._held.get(link.name)
        if held is None:
            self._translate(link, message)
        elif held is self._overflowed:
            return  # the rest of a connection being dropped
        elif len(held) < self.held_limit:
            held.append(message)
        else:
            # Bounded: drop the connection; the next login rebuilds from the
            # listings, which supersede every event held so far.
            log.error("pbx %s: %d AMI events held while its state is rebuilt; dropping the connection "
                      "to rebuild from a new login", link.name, len(held))
            self._held[link.name] = self._overflowed
            link.drop()

    def _translate(self, link: Link, message) -> None:
        translator = self.translators[link.name]
        kinds = len(translator.ignored)
        events = translator.event(message)
        if len(translator.ignored) > kinds:  # a new kind of unused input: logged once
            kind = list(translator.ignored)[-1]
            log.log(logging.DEBUG if kind in UNUSED_EVENTS else logging.WARNING,
                    "pbx %s: AMI input not used by the router: %s (further ones only counted)", link.name, kind)
        for event in events:
            if isinstance(event, ev.CallWaiting):
                self._call_pbx[event.call_id] = link.name
            self.feed(event)

    def feed(self, event) -> None:
        """Hand one domain event to the engine and carry out its commands."""
        started = time.perf_counter()
        now = self.clock.now()
        self.events_handled += 1
        for command in self.engine.handle(event, now):
            try:
                self._execute(command, now)
            except Exception:  # one bad command must not stop the others
                log.exception("could not carry out %r", command)
        if self.metrics is not None:  # the decision latency: event in -> commands issued
            self.metrics.observe_decision(time.perf_counter() - started)

    def publish(self, fact: Fact) -> None:
        """Publish a fact of the router's own (not the engine's), e.g. the
        audit of a control command, to the printer and the listeners."""
        self._execute(fact, self.clock.now())

    # -- commands out
    def _execute(self, c, now: float) -> None:
        if isinstance(c, Publish):
            self.tally.observe(c)
            if self._state is not None and c.kind == "agent.state":
                self._state_changed(c.data["agent"], *saved_state(c.data))
            if c.kind.startswith("callback."):
                self._callback_changed(c.kind[9:], c.data)
            self._on_publish(c, now)
            if self.metrics is not None:
                self.metrics.observe(c, now)
            for listener in self.listeners:
                try:
                    listener(c, now)
                except Exception:  # an observer's fault never stops routing
                    log.exception("publish listener failed on %s", c.kind)
            if c.kind.startswith("call.") and c.kind[5:] in FINISHED:
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
            if self.draining:  # stopping: the caller stays in the dialplan
                log.info("stopping: no offer of call %s to agent %s", c.call_id, c.agent_id)
                return
            pbx = self._pbx_of(c.call_id)
            if pbx in self.stale:  # its state is not known: the call may be gone, the agent busy there
                return self._not_offered(pbx, c)
            action = self.translators[pbx].ring(c)
            link = self.links[pbx]
            if link.up and pbx in self._sent:
                # Sent on this connection before its snapshot: the snapshot keeps
                # the leg even if the listings missed it, so it can be cancelled.
                self._sent[pbx].add(action["ActionID"])
            # Written now, in this turn of the loop; its reply is handled when it comes.
            link.send_then(action, lambda reply: self._originate_done(pbx, action, reply),
                           timeout=c.timeout / self.clock.speed + ORIGINATE_MARGIN)
        elif isinstance(c, CancelRing):
            # The call may be over (no pbx on record): the leg says where it is.
            pbx = self._call_pbx.get(c.call_id) or next(
                (name for name, t in self.translators.items() if t.leg_for(c.call_id, c.agent_id)),
                self._pbx_of(c.call_id))
            action = self.translators[pbx].cancel(c)
            if action:
                self.links[pbx].send_then(action)
        elif isinstance(c, RunAction):
            pbx = self._pbx_of(c.call_id)
            self._spawn(self._send_in_order(pbx, self.translators[pbx].run_action(c)))

    def _not_offered(self, pbx: str, c: RingAgent) -> None:
        """Refuse an offer on a PBX whose state is stale, as Asterisk would
        refuse the Originate: the call goes back in line, the agent rests
        briefly (a "failed" offer is not counted against the agent)."""
        log.debug("pbx %s: state not rebuilt: no offer of call %s to agent %s", pbx, c.call_id, c.agent_id)
        asyncio.get_running_loop().call_soon(self.feed, ev.AgentNoAnswer(c.call_id, c.agent_id, "failed"))

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

    def _originate_done(self, pbx: str, action: dict, reply) -> None:
        """The reply of an Originate (None: none came in time). Its
        OriginateResponse arrives as an event (see RouterProtocol); if
        instead Asterisk refuses it, report a failed offer so that the call
        goes back in line."""
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
