"""A discrete-event simulation of a contact centre around the pure engine.

Virtual time, one seeded random generator, no I/O: the same seed gives the
same run. It plays the PBX (rings, answers, no-answers, hang-ups) and the
clock (the engine's timers) exactly as the engine's commands ask, and keeps
its own record of what happened per queue, independent of the engine's.
"""

from __future__ import annotations

import heapq
import random
from dataclasses import dataclass, field
from typing import Callable

from router.core import events as ev
from router.core.commands import CancelRing, CancelTimer, Publish, RingAgent, RunAction, StartTimer
from router.core.engine import Engine
from router.core.table import RoutingTable
from router.sim import traffic
from router.stats import Tally, queue_now


@dataclass(order=True)
class _Due:
    at: float
    seq: int
    what: tuple = field(compare=False)


class Simulation:
    def __init__(self, table: RoutingTable, *, seed: int = 1, calls_per_hour: float = 600.0,
                 start: float = 0.0, behaviour: traffic.Behaviour = traffic.Behaviour(),
                 log: Callable[[float, str], None] | None = None, agents: int | None = None) -> None:
        self.table = table
        self.engine = Engine(table)
        self.rng = random.Random(seed)
        self.behaviour = behaviour
        self.rate = calls_per_hour / 3600.0
        self.now = start
        self.log = log or (lambda t, line: None)
        self.types = traffic.call_types(table, self.rng)
        self.tally = Tally(table)
        self._due: list[_Due] = []
        self._seq = 0
        self._timers: dict[tuple[str, str], int] = {}  # live version per timer key
        self._rings: set[tuple[str, str]] = set()  # offers not yet resolved or cancelled
        self._answered: set[str] = set()
        self._names: dict[str, str] = {}
        self._next_call = 0
        self._agents = agents  # how many log in; None: each with behaviour.logged_in_share

    # -- scheduling
    def _at(self, at: float, *what) -> None:
        self._seq += 1
        heapq.heappush(self._due, _Due(at, self._seq, what))

    def start(self) -> None:
        """Log agents in and schedule the first arrival."""
        ids = list(self.table.agents)
        if self._agents is not None:
            chosen = set(self.rng.sample(ids, self._agents))
        else:
            chosen = {a for a in ids if self.rng.random() < self.behaviour.logged_in_share}
        for agent_id in ids:
            if agent_id in chosen:
                self._feed(ev.AgentLogin(agent_id))
        self._at(self.now + self.rng.expovariate(self.rate), "arrival")

    def run_until(self, until: float) -> None:
        while self._due and self._due[0].at <= until:
            due = heapq.heappop(self._due)
            self.now = max(self.now, due.at)
            self._happen(*due.what)
        self.now = until

    # -- the world acting
    def _happen(self, kind: str, *args) -> None:
        if kind == "arrival":
            self._arrive()
            self._at(self.now + self.rng.expovariate(self.rate), "arrival")
        elif kind == "timer":
            key, version = args
            if self._timers.get(key) == version:
                del self._timers[key]
                self._feed(ev.TimerFired(*key))
        elif kind in ("answer", "no_answer"):
            call_id, agent_id = args
            if (call_id, agent_id) in self._rings:
                self._rings.discard((call_id, agent_id))
                if kind == "answer":
                    self._answered.add(call_id)
                    self._feed(ev.AgentOffered(call_id, agent_id))
                    self._feed(ev.AgentAnswered(call_id, agent_id))
                    talk = max(self.behaviour.min_talk, self.rng.expovariate(1 / self.behaviour.mean_talk))
                    self._at(self.now + talk, "hangup", call_id)
                else:
                    self._feed(ev.AgentNoAnswer(call_id, agent_id, "no-answer"))
        elif kind == "patience":
            call_id = args[0]
            if call_id in self.engine.calls and call_id not in self._answered:
                self._feed(ev.CallLeft(call_id))
        elif kind == "hangup":
            self._feed(ev.CallEnded(args[0]))

    def _arrive(self) -> None:
        self._next_call += 1
        call_id = f"sim-{self._next_call:06d}"
        call_type = traffic.pick(self.types, self.rng)
        name = traffic.caller_name(self.rng)
        self._names[call_id] = name
        self._feed(ev.CallWaiting(call_id, dnis=call_type.dnis, caller_name=name,
                                  caller_num=traffic.caller_number(call_type, self.rng),
                                  variables=call_type.variables, pbx="sim"))
        self._at(self.now + self.rng.expovariate(1 / self.behaviour.mean_patience), "patience", call_id)

    # -- the engine and its commands
    def _feed(self, event) -> None:
        for command in self.engine.handle(event, self.now):
            self._carry_out(command)

    def _carry_out(self, c) -> None:
        if isinstance(c, StartTimer):
            version = self._timers.get((c.kind, c.ref), 0) + 1
            self._timers[(c.kind, c.ref)] = version
            self._at(c.at, "timer", (c.kind, c.ref), version)
        elif isinstance(c, CancelTimer):
            self._timers.pop((c.kind, c.ref), None)
        elif isinstance(c, RingAgent):
            self._rings.add((c.call_id, c.agent_id))
            lo, hi = self.behaviour.answer_delay
            delay = self.rng.uniform(lo, hi)
            if self.rng.random() < self.behaviour.no_answer_rate or delay >= c.timeout:
                self._at(self.now + c.timeout, "no_answer", c.call_id, c.agent_id)
            else:
                self._at(self.now + delay, "answer", c.call_id, c.agent_id)
            agent = self.table.agents[c.agent_id]
            self.log(self.now, f"ring   {c.agent_id} {agent.name} for {c.call_id} {c.caller_name} ({c.queue})")
        elif isinstance(c, CancelRing):
            self._rings.discard((c.call_id, c.agent_id))
        elif isinstance(c, RunAction):
            self.log(self.now, f"action {c.call_id} leaves {c.queue}: {c.action.describe()} ({c.reason})")
        elif isinstance(c, Publish):
            self._record(c)

    def _record(self, p: Publish) -> None:
        self.tally.observe(p)
        d = p.data
        if p.kind == "call.waiting":
            self.log(self.now, f"call   {d['call']} {d['caller_name']} dnis {d['dnis']} -> "
                               f"{d['queue']} (rule {d['rule']}, priority {d['priority']})")
        elif p.kind == "call.moved":
            self.log(self.now, f"moved  {d['call']} {d['source']} -> {d['to']} ({d['reason']})")
        elif p.kind == "call.answered":
            self.log(self.now, f"answer {d['call']} by {d['agent']} after {d['wait']:.1f}s ({d['queue']})")
        elif p.kind == "call.abandoned":
            self.log(self.now, f"abandon {d['call']} after {d['wait']:.1f}s ({d['queue']})")

    # -- live figures for the summary line
    def queue_now(self, name: str) -> tuple[int, float, int]:
        """(calls waiting, longest wait in seconds, eligible agents free)."""
        return queue_now(self.engine, self.table, name, self.now)
