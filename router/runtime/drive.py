"""Driving the pure engine: each domain event is stamped with the clock's
time and handed to `Engine.handle`, and every command it returns is
carried out at once, without blocking the loop:

- StartTimer / CancelTimer: a timer of the event loop, whose firing comes
  back as a TimerFired event;
- RingAgent, CancelRing, RunAction: to the session of the call's PBX
  (router/ami/session.py), which translates and writes them;
- published facts: to `on_fact` (the router's subscribers).

One bad command is logged and never stops the others.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Callable

from router.ami.session import PbxSession
from router.runtime.clock import Clock
from router.core import events as ev
from router.core.commands import CancelRing, CancelTimer, RingAgent, RunAction, StartTimer
from router.core.facts import Fact
from router.core.engine import Engine

log = logging.getLogger("router")


class EngineDriver:
    """The engine, its clock and timers, and the PBX sessions its commands
    go to. `call_pbx` maps a call id to the name of the PBX it is on (kept
    by the router and its sessions); a call not in it is on the first PBX."""

    def __init__(self, engine: Engine, clock: Clock, sessions: dict[str, PbxSession],
                 call_pbx: dict[str, str], on_fact: Callable[[object, float], None]) -> None:
        self.engine = engine
        self.clock = clock
        self.sessions = sessions
        self.call_pbx = call_pbx
        self._on_fact = on_fact
        self.timers: dict[tuple[str, str], asyncio.TimerHandle] = {}
        self.events_handled = 0
        self.metrics = None  # router.metrics.Metrics: fed each event's decision latency

    def feed(self, event) -> None:
        """Hand one domain event to the engine and carry out its commands."""
        started = time.perf_counter()
        now = self.clock.now()
        self.events_handled += 1
        for command in self.engine.handle(event, now):
            try:
                self.execute(command, now)
            except Exception:  # one bad command must not stop the others
                log.exception("could not carry out %r", command)
        if self.metrics is not None:  # the decision latency: event in -> commands issued
            self.metrics.observe_decision(time.perf_counter() - started)

    def execute(self, c, now: float) -> None:
        if isinstance(c, Fact):
            self._on_fact(c, now)
        elif isinstance(c, StartTimer):
            old = self.timers.pop((c.kind, c.ref), None)
            if old:
                old.cancel()
            loop = asyncio.get_running_loop()
            self.timers[(c.kind, c.ref)] = loop.call_later(self.clock.real_delay(c.at), self._fire, c.kind, c.ref)
        elif isinstance(c, CancelTimer):
            old = self.timers.pop((c.kind, c.ref), None)
            if old:
                old.cancel()
        elif isinstance(c, RingAgent):
            self.sessions[self._pbx_of(c.call_id)].ring(c)
        elif isinstance(c, CancelRing):
            # The call may be over (no pbx on record): the leg says where it is.
            pbx = self.call_pbx.get(c.call_id) or next(
                (name for name, s in self.sessions.items() if s.translator.leg_for(c.call_id, c.agent_id)),
                self._pbx_of(c.call_id))
            self.sessions[pbx].cancel(c)
        elif isinstance(c, RunAction):
            self.sessions[self._pbx_of(c.call_id)].run_action(c)

    def _pbx_of(self, call_id: str) -> str:
        return self.call_pbx.get(call_id) or next(iter(self.sessions))

    def _fire(self, kind: str, ref: str) -> None:
        self.timers.pop((kind, ref), None)
        self.feed(ev.TimerFired(kind, ref))

    def cancel_timers(self) -> None:
        for handle in self.timers.values():
            handle.cancel()
        self.timers.clear()
