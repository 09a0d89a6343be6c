"""The router: one engine and the PBX sessions it routes on, as
router/process/compose.py wires them. The loop of one call:

    AMI bytes -> framing (ami/framing.py, ami/protocol.py) -> the PBX's
    session (ami/session.py) -> Translator (ami/translate.py) -> domain
    events -> EngineDriver (drive.py) -> Engine.handle(event, now) ->
    commands -> the session -> Translator -> AMI actions written on the link

Here: the router's own state beside the engine (the agent state file,
where each call is, reloads and the graceful stop) and what the engine
publishes, handed to its consumers. Every command is carried out without
blocking the loop: AMI actions are written at once and their replies
handled when they come (bounded by timeouts), so routing never waits on
the network.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Callable

from router.runtime import reload as reloading
from router.ami.link import Link
from router.ami.rebuild import HELD_LIMIT, REBUILD_RETRY
from router.ami.session import PbxSession
from router.ami.translate import UNUSED_EVENTS, Translator
from router.runtime.clock import Clock
from router.core import events as ev
from router.core import facts as f
from router.core.engine import Engine
from router.core.facts import Fact
from router.core.table import RoutingTable
from router.runtime.drive import EngineDriver
from router.runtime.state_file import AgentStateFile
from router.runtime.tally import QueueTally, Tally
from router.runtime.subscribers import Subscriber, Subscribers, by_type

__all__ = ["Clock", "Router"]

log = logging.getLogger("router")

#: Real seconds between an agent state change and saving the state file.
SAVE_DELAY = 0.2


def _base36(n: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while n:
        n, r = divmod(n, 36)
        out = digits[r] + out
    return out or "0"


class Router:
    """One engine routing on the PBXs of `add_pbx`; see the module doc."""

    def __init__(self, table: RoutingTable, clock: Clock, *,
                 state_file: str | None = None, resync_timeout: float = 10.0) -> None:
        self.table = table
        self.clock = clock
        self.engine = Engine(table)
        self.tally = Tally(table)
        #: One session per PBX (router/ami/session.py), by name.
        self.sessions: dict[str, PbxSession] = {}
        #: Everyone who follows the published facts (router/runtime/subscribers.py):
        #: the tally, the state file and the call->PBX map here; the console,
        #: the metrics, the MQTT bus and the control view as they are started.
        self.subscribers = Subscribers()
        self._call_pbx: dict[str, str] = {}  # call id -> the PBX it is on
        self.driver = EngineDriver(self.engine, clock, self.sessions, self._call_pbx, self.subscribers.publish)
        self.run_id = _base36(int(time.time() * 1000))  # unique per router run
        self.resync_timeout = resync_timeout
        self._rebuild_settings: dict[str, object] = {}  # held_limit, retry: for every session
        self._state = AgentStateFile(state_file, on_dirty=self._save_soon) if state_file else None
        self._save_handle: asyncio.TimerHandle | None = None
        #: False after a reload that failed (the old table kept running).
        self.reload_ok = True
        self._reloading: asyncio.Task | None = None
        self._reload_again = False
        self.metrics = None  # router.metrics.Metrics, see attach_metrics
        #: Applied to every table swapped in (reload or skill change): the
        #: MQTT bus keeps supervisors' skill changes across reloads with it.
        self.table_filter: Callable[[RoutingTable], RoutingTable] = lambda table: table
        self.subscribe(self.tally.on_fact, "tally")
        if self._state is not None:
            self.subscribe(self._state.on_fact, "state file")
        # A call's PBX comes from the session it arrived on (PbxSession's
        # `placed`); a callback has no AMI origin, so its CallbackQueued says.
        self.subscribe(by_type({
            f.CallbackQueued: self._callback_filed,
            **dict.fromkeys((f.CallAbandoned, f.CallOverflowed, f.CallClosed, f.CallCompleted, f.CallbackDone,
                             f.CallbackFailed), self._call_gone)}), "call pbx")

    def subscribe(self, subscriber: Subscriber, name: str | None = None) -> Subscriber:
        """Hand every fact published from now on to `subscriber(fact, now)`
        (see router/runtime/subscribers.py); returns it, for `unsubscribe`."""
        return self.subscribers.subscribe(subscriber, name)

    def unsubscribe(self, subscriber: Subscriber) -> None:
        self.subscribers.unsubscribe(subscriber)

    def attach_metrics(self, metrics) -> None:
        """Subscribe `metrics` (router.metrics.Metrics) to the facts and give
        it every event's decision latency and every reload's outcome."""
        self.metrics = metrics
        self.subscribe(metrics.observe, "metrics")
        self.driver.metrics = metrics

    # -- wiring
    def add_pbx(self, name: str, host: str, port: int, username: str, secret: str, **link_options) -> Link:
        """Route on one more PBX: its Translator, its Link, its session."""
        translator = Translator(self.table, pbx=name, run=self.run_id)
        # Known Asterisk events the translator does not use are dropped
        # unparsed (most of the AMI traffic); unknown kinds get through, to be
        # counted and logged once per kind.
        link_options.setdefault("drop_events", frozenset(e.lower() for e in UNUSED_EVENTS))

        def make_link(on_message, on_up) -> Link:
            return Link(name, host, port, username, secret, on_message=on_message, on_up=on_up, **link_options)

        session = PbxSession(name, translator, make_link, feed=self.driver.feed, placed=self._call_pbx.__setitem__,
                             speed=self.clock.speed, resync_timeout=self.resync_timeout)
        if "held_limit" in self._rebuild_settings:
            session.rebuild.held_limit = self._rebuild_settings["held_limit"]
        if "retry" in self._rebuild_settings:
            session.rebuild.retry = self._rebuild_settings["retry"]
        self.sessions[name] = session
        return session.link

    # -- the PBXs, as the metrics, the control API and the tests read them
    @property
    def links(self) -> dict[str, Link]:
        return {name: s.link for name, s in self.sessions.items()}

    @property
    def translators(self) -> dict[str, Translator]:
        return {name: s.translator for name, s in self.sessions.items()}

    @property
    def connected(self) -> dict[str, bool]:
        return {name: s.link.up for name, s in self.sessions.items()}

    @property
    def resyncs(self) -> dict[str, int]:
        """Completed state rebuilds per PBX."""
        return {name: s.rebuild.resyncs for name, s in self.sessions.items() if s.rebuild.resyncs}

    @property
    def stale(self) -> dict[str, str]:
        """PBX -> why its last rebuild failed, while one is retried (nothing is offered there)."""
        return {name: s.rebuild.stale for name, s in self.sessions.items() if s.rebuild.stale is not None}

    @property
    def rebuild_failures(self) -> dict[str, int]:
        """Failed state rebuilds per PBX, so far."""
        return {name: s.rebuild.failures for name, s in self.sessions.items() if s.rebuild.failures}

    @property
    def held_limit(self) -> int:
        """AMI events a PBX's session holds while its state is rebuilt."""
        return self._rebuild_settings.get("held_limit", HELD_LIMIT)

    @held_limit.setter
    def held_limit(self, limit: int) -> None:
        self._rebuild_settings["held_limit"] = limit
        for s in self.sessions.values():
            s.rebuild.held_limit = limit

    @property
    def rebuild_retry(self) -> tuple[float, float]:
        """(first, longest) real seconds between two failed rebuilds."""
        return self._rebuild_settings.get("retry", REBUILD_RETRY)

    @rebuild_retry.setter
    def rebuild_retry(self, retry: tuple[float, float]) -> None:
        self._rebuild_settings["retry"] = retry
        for s in self.sessions.values():
            s.rebuild.retry = retry

    @property
    def events_handled(self) -> int:
        return self.driver.events_handled

    async def start(self) -> None:
        unknown = sorted({a.pbx for a in self.table.agents.values() if a.pbx and a.pbx not in self.links})
        if unknown:  # such agents are never offered a call: say so at once
            log.warning("agents are on pbx %s, which this router is not connected to (--ami NAME=HOST)",
                        ", ".join(unknown))
        if self._state is not None:
            for event in self._state.load():
                self.feed(event)
        for session in self.sessions.values():
            await session.link.start()

    def _callback_filed(self, fact: f.CallbackQueued, now: float) -> None:
        """A callback's agent is rung on the PBX its call came from."""
        if fact.pbx in self.links:
            self._call_pbx[fact.call] = fact.pbx

    def _call_gone(self, fact: Fact, now: float) -> None:
        self._call_pbx.pop(fact.call, None)

    def _save_soon(self) -> None:
        """Save the state file soon after a change (batched: one write for
        a burst), so that a crash loses at most that moment."""
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
        self.driver.cancel_timers()
        for session in self.sessions.values():
            await session.close()

    def reload(self, config_dir: str) -> bool:
        """Load and check the config at `config_dir` and swap it in whole;
        see router.runtime.reload."""
        return self.reload_done(reloading.reload_router(self, config_dir))

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
        try:
            while True:
                self._reload_again = False
                self.reload_done(await reloading.reload_in_thread(self, config_dir))
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
        """Graceful stop, first half: see router.runtime.reload.drain."""
        await reloading.drain(self, timeout)

    def stop_offering(self) -> None:
        """No new offers from now on (a graceful stop): the engine is told,
        so no agent is reserved for a ring that will not happen."""
        self.feed(ev.OffersStopped())

    async def abort(self) -> None:
        """Die as a SIGKILL would: connections dropped, no goodbyes, nothing
        saved beyond what already is (for tests of restarts)."""
        self.driver.cancel_timers()
        for session in self.sessions.values():
            session.abort()

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

    def feed(self, event) -> None:
        """Hand one domain event to the engine and carry out its commands."""
        self.driver.feed(event)

    def publish(self, fact: Fact) -> None:
        """Publish a fact of the router's own (not the engine's), e.g. the
        audit of a control command, to every subscriber."""
        self.subscribers.publish(fact, self.clock.now())
