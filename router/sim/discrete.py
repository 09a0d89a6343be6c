"""A discrete-event simulation of a contact centre around the pure engine.

Virtual time, one seeded random generator, no I/O: the same seed gives the
same run. It plays the PBX (rings, answers, no-answers, hang-ups) and the
clock (the engine's timers) exactly as the engine's commands ask, and keeps
its own record of what happened per queue, independent of the engine's.

Who calls and how people behave is a `World`: `Flat` (below) derives call
types from the rules and draws times from `traffic.Behaviour`; a traffic
profile gives the centre's own traffic (`router.whatif.world`).
"""

from __future__ import annotations

import heapq
import random
from typing import Any, Callable, ClassVar, Protocol

from mypy_extensions import mypyc_attr

from router.core import events as ev
from router.core import facts as f
from router.core.commands import CancelRing, CancelTimer, RingAgent, RunAction, StartTimer
from router.core.engine import Engine
from router.core.facts import CATALOGUE, Fact
from router.core.table import RoutingTable
from router.sim import traffic
from router.runtime.tally import Tally, queue_now
from router.runtime.subscribers import Subscriber, Subscribers, by_type


#: Seconds the agent leg of a callback whose dial failed lasts (the dial
#: rings out, or is busy, and the agent hangs up).
FAILED_DIAL = 20.0


def _ignore(sim: "Simulation", command) -> None:
    """Commands the simulation has nothing to do for (they only matter to a PBX)."""


class World(Protocol):
    """The callers and agents around the engine. Each method draws from the
    simulation's generator in a fixed order, so a seed fixes the run."""

    def begin(self, sim: "Simulation") -> None:
        """Log agents in (sim.feed) and schedule anything of their own
        (sim.at: "event", "pause", "unpause", or "call" with a function)."""

    def next_arrival(self, now: float) -> float | None:
        """When the next caller arrives (None: nobody more)."""

    def new_call(self, call_id: str, now: float) -> ev.CallWaiting:
        """The arriving call, as the dialplan hands it over."""

    def patience(self, call_id: str) -> float:
        """Seconds the caller waits before hanging up (inf: never)."""

    def ring(self, call_id: str, agent_id: str, timeout: float) -> float | None:
        """Seconds until the agent answers, or None if the offer rings out."""

    def talk(self, call_id: str) -> float:
        """Seconds the conversation lasts."""

    def after_call(self, call_id: str, agent_id: str) -> float:
        """Seconds of after-call work; beyond the config's wrap-up the agent
        is paused for the rest (0: only the config's wrap-up)."""

    # Optional: dial(call_id) -> the DIALSTATUS of a callback's dial to the
    # customer once its agent answered ("ANSWER", "NOANSWER", "BUSY", ...).
    # A world without it reports no result, which the engine counts as made
    # (core/callbacks.py rule 3), and draws nothing for it.


# (tests subclass it, also when compiled: setup.py)
@mypyc_attr(allow_interpreted_subclasses=True)
class Flat:
    """Poisson arrivals at one rate, one call type per rule (traffic.call_types),
    exponential talk and patience from `behaviour`."""

    def __init__(self, table: RoutingTable, rng: random.Random, behaviour: traffic.Behaviour,
                 calls_per_hour: float, agents: int | None) -> None:
        self.table, self.rng, self.behaviour = table, rng, behaviour
        self.rate = calls_per_hour / 3600.0
        self.agents = agents  # how many log in; None: each with behaviour.logged_in_share
        self.types = traffic.call_types(table, rng)

    def begin(self, sim: "Simulation") -> None:
        ids = list(self.table.agents)
        if self.agents is not None:
            chosen = set(self.rng.sample(ids, self.agents))
        else:
            chosen = {a for a in ids if self.rng.random() < self.behaviour.logged_in_share}
        for agent_id in ids:
            if agent_id in chosen:
                sim.feed(ev.AgentLogin(agent_id))

    def next_arrival(self, now: float) -> float:
        return now + self.rng.expovariate(self.rate)

    def new_call(self, call_id: str, now: float) -> ev.CallWaiting:
        call_type = traffic.pick(self.types, self.rng)
        name = traffic.caller_name(self.rng)
        return ev.CallWaiting(call_id, dnis=call_type.dnis, caller_name=name,
                              caller_num=traffic.caller_number(call_type, self.rng),
                              variables=call_type.variables, pbx="sim")

    def patience(self, call_id: str) -> float:
        return self.rng.expovariate(1 / self.behaviour.mean_patience)

    def ring(self, call_id: str, agent_id: str, timeout: float) -> float | None:
        lo, hi = self.behaviour.answer_delay
        delay = self.rng.uniform(lo, hi)
        return None if self.rng.random() < self.behaviour.no_answer_rate or delay >= timeout else delay

    def talk(self, call_id: str) -> float:
        return max(self.behaviour.min_talk, self.rng.expovariate(1 / self.behaviour.mean_talk))

    def after_call(self, call_id: str, agent_id: str) -> float:
        return 0.0


# (subclassed by tests and bench/whatif_counts.py, also when compiled: setup.py)
@mypyc_attr(allow_interpreted_subclasses=True)
class Simulation:
    def __init__(self, table: RoutingTable, *, seed: int = 1, calls_per_hour: float = 600.0,
                 start: float = 0.0, behaviour: traffic.Behaviour = traffic.Behaviour(),
                 log: Callable[[float, str], None] | None = None, agents: int | None = None,
                 world: Callable[[RoutingTable, random.Random], World] | None = None) -> None:
        self.table = table
        self.engine = Engine(table)
        self.rng = random.Random(seed)
        self.now = start
        self.log = log
        self.world: World = (world(table, self.rng) if world is not None
                             else Flat(table, self.rng, behaviour, calls_per_hour, agents))
        self.tally = Tally(table)
        #: Who follows the facts (router/runtime/subscribers.py): the tally, the log
        #: lines, and whoever `subscribe`s (a fault is raised: no routing to protect).
        self.subscribers = Subscribers(catch=False)
        self._carry: dict[type, Any] = {}  # command type -> how (`_how`)
        # (read off the class as Python does: a subclass may give its own,
        # which a compiled class's attribute would not see; setup.py)
        self._kinds: dict[str, Callable] = getattr(type(self), "_KINDS")
        self.subscribe(self.tally.on_fact)
        if log is not None:
            self.subscribe(by_type({f.CallQueued: self._log_queued, f.CallMoved: self._log_moved,
                                    f.CallAnswered: self._log_answered, f.CallAbandoned: self._log_abandoned}))
        # (time, sequence, what): the sequence breaks ties in order of
        # scheduling and keeps tuples from ever comparing `what`.
        self._due: list[tuple[float, int, Any, tuple]] = []
        self._seq = 0
        self._timers: dict[tuple[str, str], int] = {}  # live version per timer key
        self._rings: set[tuple[str, str]] = set()  # offers not yet resolved or cancelled
        self._recorded: set[tuple[str, str]] = set()  # those of them to record (MixMonitor starts on answer)
        self._answered: set[str] = set()
        self._connected: dict[str, str] = {}  # call -> its agent, while they talk
        self._paused_for: dict[str, set[str]] = {}  # agent -> reasons the world has them paused
        self._next_call = 0
        self._arriving = True  # False after stop_arrivals (a warm-down: calls in progress finish)
        #: The simulation's own record of callbacks: "cb-<call>" -> the dial
        #: status of each attempt the world made ("" when the world reports
        #: none), from the moment the call left by a callback action.
        self.callbacks: dict[str, list[str]] = {}
        self._dial_results: dict[str, str] = {}  # callback -> the status the dialplan reports at hang-up
        self._dial = getattr(self.world, "dial", None)

    def subscribe(self, subscriber: Subscriber) -> Subscriber:
        """Hand every fact from now on to `subscriber(fact, now)`."""
        self.subscribers.subscribe(subscriber)
        self._unfollowed()
        self._carry.clear()  # the facts' handlers have changed
        return subscriber

    def _unfollowed(self) -> None:
        # The engine builds no fact that no subscriber follows (`Engine.unfollowed`):
        # in a what-if week most of them were built for nobody.
        self.engine.unfollowed = frozenset(t for t in CATALOGUE if not self.subscribers.follows(t))

    # -- scheduling
    def at(self, at: float, *what) -> None:
        """Schedule `what` at `at`: a kind ("event", "pause", "unpause", or
        the simulation's own) and its arguments."""
        self._seq += 1
        # The kind's handler is looked up here, once, rather than compared
        # against every kind at each of the millions of pops of a week.
        heapq.heappush(self._due, (at, self._seq, self._kinds[what[0]], what[1:]))

    def start(self) -> None:
        """Log agents in and schedule the first arrival."""
        self.world.begin(self)
        first = self.world.next_arrival(self.now)
        if first is not None:
            self.at(first, "arrival")

    def next_due(self) -> float | None:
        """When the next thing is scheduled to happen (None: nothing is)."""
        return self._due[0][0] if self._due else None

    @property
    def arrivals(self) -> int:
        """Calls that have arrived so far (the calls offered to the router)."""
        return self._next_call

    def stop_arrivals(self) -> None:
        """No call arrives from now on; the rest of the world goes on (the
        calls in progress are answered, abandoned, ended, wrapped up)."""
        self._arriving = False

    def run_until(self, until: float) -> None:
        due, pop = self._due, heapq.heappop
        while due and due[0][0] <= until:
            at, _, happen, args = pop(due)
            if at > self.now:
                self.now = at
            happen(self, *args)
        self.now = until

    # -- the world acting
    def _timer(self, key: tuple[str, str], version: int) -> None:
        if self._timers.get(key) == version:
            del self._timers[key]
            self.feed(ev.TimerFired(*key))

    def _answer(self, call_id: str, agent_id: str) -> None:
        if (call_id, agent_id) in self._rings:
            self._rings.discard((call_id, agent_id))
            self._answered.add(call_id)
            self.feed(ev.AgentOffered(call_id, agent_id))
            self.feed(ev.AgentAnswered(call_id, agent_id))
            if self._recorded:
                self._recording(call_id, agent_id)
            call = self.engine.calls.get(call_id)
            if call is not None and call.callback and self._callback_dialled(call_id):
                talk = FAILED_DIAL
            else:
                talk = self.world.talk(call_id)
            self._connected[call_id] = agent_id
            self.at(self.now + talk, "hangup", call_id)

    def _callback_dialled(self, call_id: str) -> bool:
        """The agent answered a callback: the dialplan dials the customer.
        True when that dial failed (the leg ends after FAILED_DIAL)."""
        status = self._dial(call_id) if self._dial is not None else ""
        self.callbacks.setdefault(call_id, []).append(status)
        if status:
            self._dial_results[call_id] = status
        return status not in ("", "ANSWER")

    def _recording(self, call_id: str, agent_id: str) -> None:
        """router-agent's MixMonitor starts as the agent answers."""
        if (call_id, agent_id) in self._recorded:
            self._recorded.discard((call_id, agent_id))
            self.feed(ev.RecordingStarted(call_id, agent_id))

    def _no_answer(self, call_id: str, agent_id: str) -> None:
        if (call_id, agent_id) in self._rings:
            self._rings.discard((call_id, agent_id))
            self._recorded.discard((call_id, agent_id))
            self.feed(ev.AgentNoAnswer(call_id, agent_id, "no-answer"))

    def _arrival(self) -> None:
        if not self._arriving:
            return
        self._arrive()
        after = self.world.next_arrival(self.now)
        if after is not None:
            self.at(after, "arrival")

    def _call(self, fn, *args) -> None:
        """The world's own action at a moment: sim.at(t, "call", fn, *args)."""
        fn(*args)

    def _patience(self, call_id: str) -> None:
        if call_id not in self._answered and call_id in self.engine.calls:
            self.feed(ev.CallLeft(call_id))

    def _arrive(self) -> None:
        self._next_call += 1
        call_id = f"sim-{self._next_call:06d}"
        self.feed(self.world.new_call(call_id, self.now))
        patience = self.world.patience(call_id)
        if patience != float("inf"):
            self.at(self.now + patience, "patience", call_id)

    def _hang_up(self, call_id: str) -> None:
        call = self.engine.calls.get(call_id)
        agent_id = self._connected.pop(call_id, None)
        self._answered.discard(call_id)
        status = self._dial_results.pop(call_id, None)
        if status is not None:  # reported before the agent leg ends, as router-callback does
            self.feed(ev.CallbackResult(call_id, status))
        self.feed(ev.CallEnded(call_id))
        if agent_id is None:
            return
        config, queue = self.table.agents.get(agent_id), self.table.queues.get(call.queue) if call else None
        wrapup = config.wrapup if config and config.wrapup is not None else (queue.wrapup if queue else 0.0)
        work = self.world.after_call(call_id, agent_id)
        if work > wrapup:  # more after-call work than the config grants: paused for the rest
            self.pause(agent_id, "after-call work")
            self.at(self.now + work, "unpause", agent_id, "after-call work")

    def pause(self, agent_id: str, reason: str) -> None:
        """The world pauses an agent (a break, after-call work); reasons stack."""
        reasons = self._paused_for.setdefault(agent_id, set())
        if not reasons:
            self.feed(ev.AgentPause(agent_id, reason))
        reasons.add(reason)

    def unpause(self, agent_id: str, reason: str) -> None:
        reasons = self._paused_for.get(agent_id)
        if reasons and reason in reasons:
            reasons.discard(reason)
            if not reasons:
                self.feed(ev.AgentUnpause(agent_id))

    # -- the engine and its commands
    def feed(self, event) -> None:
        carry, now = self._carry, self.now
        for command in self.engine.handle(event, now):
            how = carry.get(type(command))
            if how is None:
                how = self._how(type(command))
            if how.__class__ is tuple:  # a fact: its subscribers' handlers, called directly
                for handler in how:
                    handler(command, now)
            else:
                how(self, command)

    def _how(self, kind: type):
        """How to carry out a command of type `kind`: the simulation's
        handler, or for a fact the tuple of its subscribers' handlers
        (looked up once per type: the isinstance chain per command cost a
        tenth of a week's run, `Subscribers.publish` per fact another few
        hundredths)."""
        how: Any = getattr(type(self), "_CARRY").get(kind)
        if how is None:
            how = self.subscribers.handlers_for(kind) if issubclass(kind, Fact) else _ignore
        self._carry[kind] = how
        return how

    def _start_timer(self, c: StartTimer) -> None:
        key = (c.kind, c.ref)
        version = self._timers.get(key, 0) + 1
        self._timers[key] = version
        self._seq += 1  # (`at`, spelt out: three timers a call)
        heapq.heappush(self._due, (c.at, self._seq, _TIMER, (key, version)))

    def _cancel_timer(self, c: CancelTimer) -> None:
        self._timers.pop((c.kind, c.ref), None)

    def _ring(self, c: RingAgent) -> None:
        self._rings.add((c.call_id, c.agent_id))
        if c.recording:
            self._recorded.add((c.call_id, c.agent_id))
        delay = self.world.ring(c.call_id, c.agent_id, c.timeout)
        if delay is None:
            self.at(self.now + c.timeout, "no_answer", c.call_id, c.agent_id)
        else:
            self.at(self.now + delay, "answer", c.call_id, c.agent_id)
        if self.log:
            agent = self.table.agents[c.agent_id]
            self.log(self.now, f"ring   {c.agent_id} {agent.name} for {c.call_id} {c.caller_name} ({c.queue})")

    def _cancel_ring(self, c: CancelRing) -> None:
        self._rings.discard((c.call_id, c.agent_id))
        self._recorded.discard((c.call_id, c.agent_id))

    def _run_action(self, c: RunAction) -> None:
        if c.action.kind == "callback":
            self.callbacks.setdefault(f"cb-{c.call_id}", [])  # core/callbacks.py rule 1: its id
        if self.log:
            self.log(self.now, f"action {c.call_id} leaves {c.queue}: {c.action.describe()} ({c.reason})")

    #: How each command is carried out, and what `at` may schedule: the
    #: world's kinds ("event", "pause", "unpause", "call") and the
    #: simulation's own. Filled in below the class (a compiled class cannot
    #: name its own methods in its body).
    _CARRY: ClassVar[dict[type, Callable]] = {}
    _KINDS: ClassVar[dict[str, Callable]] = {}

    # -- the log lines (`log`)
    def _say(self, now: float, line: str) -> None:
        log = self.log
        assert log is not None  # (the log lines are subscribed only with a log)
        log(now, line)

    def _log_queued(self, d: f.CallQueued, now: float) -> None:
        self._say(now, f"call   {d.call} {d.caller_name} dnis {d.dnis} -> {d.queue} "
                       f"(rule {d.rule}, priority {d.priority})")

    def _log_moved(self, d: f.CallMoved, now: float) -> None:
        self._say(now, f"moved  {d.call} {d.source} -> {d.to} ({d.reason})")

    def _log_answered(self, d: f.CallAnswered, now: float) -> None:
        self._say(now, f"answer {d.call} by {d.agent} after {d.wait:.1f}s ({d.queue})")

    def _log_abandoned(self, d: f.CallAbandoned, now: float) -> None:
        self._say(now, f"abandon {d.call} after {d.wait:.1f}s ({d.queue})")

    # -- live figures for the summary line
    def queue_now(self, name: str) -> tuple[int, float, int]:
        """(calls waiting, longest wait in seconds, eligible agents free)."""
        return queue_now(self.engine, self.table, name, self.now)


Simulation._CARRY.update({StartTimer: Simulation._start_timer, CancelTimer: Simulation._cancel_timer,
                          RingAgent: Simulation._ring, CancelRing: Simulation._cancel_ring,
                          RunAction: Simulation._run_action})
Simulation._KINDS.update({"timer": Simulation._timer, "answer": Simulation._answer,
                          "no_answer": Simulation._no_answer, "hangup": Simulation._hang_up,
                          "arrival": Simulation._arrival, "patience": Simulation._patience,
                          "pause": Simulation.pause, "unpause": Simulation.unpause, "event": Simulation.feed,
                          "call": Simulation._call})
_TIMER = Simulation._timer  # (`_start_timer` pushes it: three timers a call)
