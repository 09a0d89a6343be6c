"""Engine alone: `Engine.handle` latency per event, no I/O.

A small discrete-event world drives the pure engine: N agents logged in, all
on calls, W callers waiting, new calls arriving at `rate` per second
(Poisson), talk times exponential with mean 0.9 N / rate (agents free up a
little faster than calls arrive) and one extra caller added at an arrival
whenever the line is shorter than W, so the line stays near W; each offer answered half a
second later, the engine's own timers honoured. After a warm-up every
`engine.handle` call is timed with perf_counter_ns; a "decision" is an event
whose commands include a RingAgent (an agent freed with callers waiting, or
a call arriving with an eligible agent free).

This isolates routing cost from the AMI client and the network, which the
TCP scenario (bench.tcp) includes.
"""

from __future__ import annotations

import heapq
import random
import time

from bench.stats import summarise
from bench.tables import call_mix, make_table
from router.core import events as ev
from router.core.commands import CancelTimer, RingAgent, StartTimer
from router.core.engine import Engine

ANSWER_DELAY = 0.5
#: Timers further away are not kept: the tables' last step (voicemail after
#: an hour) would otherwise fill the heap with dead entries (the heap only
#: drops a cancelled timer when it comes due), and the long memory run would
#: measure the harness instead of the engine. No bench caller waits that long.
TIMER_HORIZON = 600.0
START = 1_700_000_000.0


class World:
    """Feeds the engine and keeps the future in a heap of (time, seq, event)."""

    def __init__(self, agents: int, waiting: int, rate: float, seed: int) -> None:
        self.rng = random.Random(seed)
        self.table = make_table(agents, seed)
        self.engine = Engine(self.table)
        self.rate = rate
        self.mean_talk = 0.9 * agents / rate
        self.target = waiting
        self.now = START
        self.heap: list = []
        self.seq = 0
        self.timers: dict[tuple[str, str], float] = {}
        self.calls = 0
        self.timing = False
        self.all_ns: list[int] = []
        self.decision_ns: list[int] = []
        for aid in self.table.agents:
            self.feed(ev.AgentLogin(aid))
        # Everyone busy, then `waiting` more callers in line.
        for _ in range(agents + waiting):
            self.feed(self.new_call())
        self.answer_all_now()

    def at(self, t: float, event) -> None:
        self.seq += 1
        heapq.heappush(self.heap, (t, self.seq, event))

    def new_call(self) -> ev.CallWaiting:
        self.calls += 1
        dnis, variables = call_mix(self.rng)
        return ev.CallWaiting(f"call-{self.calls}", dnis, f"1380000{self.calls:05d}", "王五",
                              tuple(variables.items()), "sim")

    def feed(self, event) -> None:
        t0 = time.perf_counter_ns()
        commands = self.engine.handle(event, self.now)
        spent = time.perf_counter_ns() - t0
        decided = False
        for c in commands:
            if isinstance(c, RingAgent):
                decided = True
                self.at(self.now + ANSWER_DELAY, ev.AgentAnswered(c.call_id, c.agent_id))
            elif isinstance(c, StartTimer) and c.at - self.now <= TIMER_HORIZON:
                self.timers[(c.kind, c.ref)] = c.at
                self.at(c.at, ev.TimerFired(c.kind, c.ref))
            elif isinstance(c, CancelTimer):
                self.timers.pop((c.kind, c.ref), None)
        if isinstance(event, ev.AgentAnswered) and event.call_id in self.engine.calls:
            self.at(self.now + self.rng.expovariate(1 / self.mean_talk), ev.CallEnded(event.call_id))
        if self.timing:
            self.all_ns.append(spent)
            if decided:
                self.decision_ns.append(spent)

    def answer_all_now(self) -> None:
        """Answer the start-up offers at once (the centre is already busy)."""
        pending = [e for _, _, e in self.heap if isinstance(e, ev.AgentAnswered)]
        self.heap = [x for x in self.heap if not isinstance(x[2], ev.AgentAnswered)]
        heapq.heapify(self.heap)
        for event in pending:
            self.feed(event)

    def run(self, seconds: float) -> None:
        end = self.now + seconds
        next_arrival = self.now + self.rng.expovariate(self.rate)
        while True:
            t_next = self.heap[0][0] if self.heap else end
            if next_arrival <= t_next:
                if next_arrival > end:
                    break
                self.now = next_arrival
                self.feed(self.new_call())
                if self.in_line() < self.target:
                    self.feed(self.new_call())
                next_arrival += self.rng.expovariate(self.rate)
                continue
            if t_next > end:
                break
            t, _, event = heapq.heappop(self.heap)
            self.now = t
            if isinstance(event, ev.TimerFired) and self.timers.get((event.kind, event.ref)) != t:
                continue  # cancelled or replaced
            self.feed(event)

    def in_line(self) -> int:
        """Calls waiting or ringing (the engine's own per-queue counts)."""
        return sum(self.engine._in_queue.values())

    def waiting(self) -> int:
        return sum(1 for c in self.engine.calls.values() if c.status.value == "waiting")


def engine_latency(agents: int, waiting: int, rate: float = 50.0, seconds: float = 20.0,
                   warmup: float = 20.0, seed: int = 1) -> dict:
    """Per-event `Engine.handle` latency (ms) in a centre of `agents` agents
    with about `waiting` callers in line."""
    world = World(agents, waiting, rate, seed)
    world.run(warmup)
    world.timing = True
    waiting_before = world.waiting()
    world.run(seconds)
    available = len(world.engine._available)
    return {"agents": agents, "waiting": waiting, "waiting_start": waiting_before,
            "waiting_end": world.waiting(), "available_end": available,
            "events": summarise(world.all_ns, scale=1e-6),
            "decisions": summarise(world.decision_ns, scale=1e-6)}
