"""Property tests of the engine's guarantees over random event sequences.

A tiny pure "world" plays the PBX (and the daemon's state file): it honours
the engine's timers, answers or misses the rings it was asked for, and also
throws in events that make no sense (answers nobody asked for, unknown
calls, duplicate arrivals, spurious timers, config swaps), late answers and
hang-ups of offers already withdrawn, unreachable phones, queues that close
while calls wait in them or move into them, callbacks with a rule's extra
skills, AMI outages of any length followed by listings in any order, and
router restarts from the state file. After every event the guarantees of
router/core/engine.py are checked, and these (issue 12):

- a caller still on the PBX is never finished (abandoned) by the router;
- a connected call ends only by its own legs;
- every promised callback keeps its call's skills and is placed only in its
  queue's hours; no unreachable agent is offered a call;
- the SL counters add up: every finished call is counted once per window,
  in the queue it finished in (docs/SERVICE-LEVEL.md).

At the end every caller is hung up and each must have had exactly one
outcome. CI runs a few hundred sequences; `python -m bench.fuzz --minutes
10` runs the same world for as long as asked.
"""

from __future__ import annotations

import random
import tempfile
from dataclasses import replace
from pathlib import Path

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tests.support.facts import Published
from router.core import events as ev
from router.core.calendar import is_open
from router.core.commands import CancelRing, CancelTimer, RingAgent, StartTimer
from router.core.facts import Fact
from router.core.engine import Engine
from router.core.state import AgentStatus, CallStatus, OUTCOMES
from router.core.table import Action, Calendar, Match, RoutingTable, Strategy
from router.core.patterns import compile_pattern
from router.runtime.state_file import AgentStateFile
from support.tables import agent, fire_timers, queue, req, rule, step, table

CALLS = [f"c{i}" for i in range(8)]
AGENTS = ["a0", "a1", "a2", "a3", "a4", "ghost"]
NUMBERS = ["", "13800001111"]  # a caller without a number cannot be called back
#: Open ten minutes, closed ten (and the same shifted by five): queues
#: close while calls wait in them and while calls move into them.
FLIP = Calendar("flip", "UTC", tuple((d, m, m + 10) for d in range(7) for m in range(0, 1440, 20)))
FLOP = Calendar("flop", "UTC", tuple((d, m, m + 10) for d in range(7) for m in range(5, 1430, 20)))
CALENDARS = RoutingTable.freeze({"flip": FLIP, "flop": FLOP})
CARE_YUE = Match(dnis=(compile_pattern("7000"),), vars=(("lang", ("yue",)),))


def _table_one():
    sales = queue("sales", step(0, req(sales=7)), step(10, req(sales=3)),
                  step(25, req(sales=3), req(general=1)), step(40, action=Action("voicemail", "8000")),
                  priority=5, max_waiting=3, overflow=Action("queue", "general"))
    general = queue("general", step(0, req(general=1)), strategy=Strategy.ROUND_ROBIN, wrapup=3,
                    hours="flip", closed=Action("voicemail", "9000"))
    vip = queue("vip", step(0, req(vip=5)), step(15, req(sales=1)), priority=20,
                strategy=Strategy.BEST_SKILLED, max_waiting=2, overflow=Action("hangup"))
    care = queue("care", step(0, req(general=1)), step(15, req(general=1), req(sales=3)),
                 step(30, action=Action("callback")), hours="flop", closed=Action("callback"))
    agents = [agent("a0", sales=8, general=2), agent("a1", sales=4, max_no_answer=2),
              agent("a2", general=5, wrapup=2.0), agent("a3", vip=9, sales=2),
              agent("a4", general=1, vip=5, max_no_answer=0)]
    rules = [rule("vip", vip, Match(dnis=(compile_pattern("_9X"),))),
             rule("sales-cantonese", sales, Match(dnis=(compile_pattern("8000"),),
                                                  vars=(("lang", ("yue",)),)), skills=(("general", 2),)),
             rule("sales", sales, Match(dnis=(compile_pattern("8000"),))),
             rule("care-yue", care, CARE_YUE, skills=(("general", 2),)),
             rule("care", care, Match(dnis=(compile_pattern("7000"),)))]
    return replace(table(agents, [sales, general, vip, care], rules, default="general", no_answer_rest=2.0),
                   calendars=CALENDARS)


def _table_two():
    """A reload: a4 gone, sales escalates differently, general is random
    and always open, care has no hours."""
    sales = queue("sales", step(0, req(sales=3)), step(20, action=Action("callback")), priority=1)
    general = queue("general", step(0, req(general=1)), strategy=Strategy.RANDOM)
    vip = queue("vip", step(0, req(vip=1)), priority=30, strategy=Strategy.FEWEST_CALLS)
    care = queue("care", step(0, req(general=1)), step(20, action=Action("callback")))
    agents = [agent("a0", sales=8, general=2), agent("a1", sales=4), agent("a2", general=5),
              agent("a3", vip=9, sales=2)]
    rules = [rule("vip", vip, Match(dnis=(compile_pattern("_9X"),))),
             rule("sales", sales, Match(dnis=(compile_pattern("8000"),))),
             rule("care-yue", care, CARE_YUE, skills=(("general", 2),))]
    return replace(table(agents, [sales, general, vip, care], rules, default="general", no_answer_rest=0.0),
                   calendars=CALENDARS)


TABLES = [_table_one(), _table_two()]

DNIS = ["8000", "91", "5555", "7000"]
VARS = [(), (("lang", "yue"),)]

ARRIVE = st.tuples(st.just("arrive"), st.sampled_from(CALLS), st.sampled_from(DNIS), st.sampled_from(VARS),
                   st.sampled_from(NUMBERS))
ANSWER = st.tuples(st.just("answer_ring"), st.integers(0, 3))
ADVANCE = st.tuples(st.just("advance"), st.floats(0.1, 30.0))

step_st = st.one_of(
    ARRIVE, ARRIVE, ARRIVE, ANSWER, ADVANCE,  # (listed again: more calls, answers and time)
    st.tuples(st.just("leave"), st.sampled_from(CALLS)),
    st.tuples(st.just("end"), st.sampled_from(CALLS), st.sampled_from(["agent", "caller"])),
    st.tuples(st.just("answer_ring"), st.integers(0, 3)),
    st.tuples(st.just("miss_ring"), st.integers(0, 3), st.sampled_from(ev.NO_ANSWER_REASONS)),
    st.tuples(st.just("offered_ring"), st.integers(0, 3)),
    st.tuples(st.just("bogus_answer"), st.sampled_from(CALLS), st.sampled_from(AGENTS)),
    st.tuples(st.just("bogus_miss"), st.sampled_from(CALLS), st.sampled_from(AGENTS)),
    # Offers the router withdrew: the leg answers late, or some agent leg
    # that is not the connected one hangs up.
    st.tuples(st.just("late_answer"), st.integers(0, 3)),
    st.tuples(st.just("stale_hangup"), st.sampled_from(CALLS + ["cb-" + c for c in CALLS[:3]]),
              st.sampled_from(AGENTS)),
    st.tuples(st.sampled_from(["login", "logout", "pause", "unpause"]), st.sampled_from(AGENTS)),
    st.tuples(st.just("advance"), st.floats(0.1, 30.0)),
    st.tuples(st.just("advance"), st.floats(30.0, 700.0)),  # across opening hours
    st.tuples(st.just("device"), st.sampled_from(AGENTS), st.sampled_from(["free", "busy", "unreachable"])),
    st.tuples(st.just("spurious_timer"), st.sampled_from(["step", "ring", "wrapup", "callback", "bogus"]),
              st.sampled_from(CALLS + AGENTS + ["cb-c0"])),
    st.tuples(st.just("reload"), st.integers(0, 1)),
    # A supervisor (over MQTT) moves a call or sets its priority.
    st.tuples(st.just("move"), st.sampled_from(CALLS + ["cb-c0", "cb-c1"]),
              st.sampled_from(["sales", "general", "vip", "care", "nope"])),
    st.tuples(st.just("priority"), st.sampled_from(CALLS), st.integers(0, 100)),
    # A callback's dial to the customer ends (reported before the agent leg).
    st.tuples(st.just("cb_result"), st.integers(0, 3), st.sampled_from(["ANSWER", "NOANSWER", "BUSY"])),
    # The AMI link: while it is down the engine hears nothing and its rings
    # and cancels never reach the PBX; a snapshot of the PBX's truth comes
    # some time after the link is back, its listings in any order.
    st.tuples(st.just("link"), st.booleans()),
    st.tuples(st.just("snapshot"), st.booleans(), st.integers(0, 2**16)),
    # The router process is killed and started again: a new engine from the
    # state file, then the listings.
    st.tuples(st.just("restart"), st.integers(0, 2**16)),
)


# Fewer kinds of step, so that outages land in the middle of offers and calls.
resync_st = st.one_of(
    st.tuples(st.just("arrive"), st.sampled_from(CALLS[:4]), st.sampled_from(["8000", "91", "5555"]), st.just(()),
              st.just("")),
    st.tuples(st.just("login"), st.sampled_from(AGENTS[:5])),
    st.tuples(st.just("answer_ring"), st.integers(0, 3)),
    st.tuples(st.just("miss_ring"), st.integers(0, 3), st.just("no-answer")),
    st.tuples(st.just("leave"), st.sampled_from(CALLS[:4])),
    st.tuples(st.just("end"), st.sampled_from(CALLS[:4]), st.sampled_from(["agent", "caller"])),
    st.tuples(st.just("advance"), st.floats(0.1, 30.0)),
    st.tuples(st.just("late_answer"), st.integers(0, 3)),
    # (so that an agent freed by a lost ring goes to another call than the
    # one it answered unheard: the snapshot then contradicts a reservation)
    st.tuples(st.just("priority"), st.sampled_from(CALLS[:4]), st.integers(0, 100)),
    st.tuples(st.just("link"), st.booleans()),
    st.tuples(st.just("snapshot"), st.booleans(), st.integers(0, 2**16)),
    st.tuples(st.just("restart"), st.integers(0, 2**16)),
)


class World:
    """Plays the PBX, the clock and the daemon's state file around one
    engine (a new one after a restart), checking as it goes."""

    def __init__(self, check: bool = True) -> None:
        self.table_index = 0
        self.engine = Engine(TABLES[0])
        self.check = check
        self.now = 1_000.0
        self.timers: dict[tuple[str, str], float] = {}
        self.rings: list[tuple[str, str]] = []  # open offers (call, agent), oldest first
        self.withdrawn: list[tuple[str, str]] = []  # legs the router hung up while they rang
        self.connected: dict[str, str] = {}  # call -> agent
        self.live: set[str] = set()  # calls between call.waiting and their outcome
        self.outcomes: dict[str, list[str]] = {}  # call -> outcomes (per lifetime, appended)
        self.log: list = []
        self.arrivals: dict[str, ev.CallWaiting] = {}  # live callers on the PBX, as they arrived
        self.arrived_at: dict[str, float] = {}
        self.devices: dict[str, tuple[bool, bool]] = {}  # agent -> (busy, unreachable), as the PBX has it
        self.skills: dict[str, tuple] = {}  # live call -> its rule's extra skills
        self.promised_skills: dict[str, tuple] = {}  # callback -> the skills it was promised with
        self.sl: dict[str, list[float]] = {}  # queue -> SL bounds (met_lo, met_hi, counted_lo, counted_hi)
        self.link_up = True
        self.blind = False  # events were missed since the last snapshot
        self.later: list = []  # PBX answers to deliver after the current event
        self._dir = tempfile.TemporaryDirectory(prefix="router-world-")
        self.state = AgentStateFile(Path(self._dir.name) / "agents.json")

    def close(self) -> None:
        self._dir.cleanup()

    # -- feeding the engine
    def hear(self, event) -> list:
        """An event from the PBX: the engine hears it only over a live link."""
        if self.link_up:
            return self.feed(event)
        return []

    def feed(self, event) -> list:
        assert len(self.log) < 20_000, "the engine and the PBX are in a loop"
        commands = self.engine.handle(event, self.now)
        self.log.append((self.now, event, commands))
        self.event = event
        for c in commands:
            self._apply(c)
        if self.check:
            check_state(self.engine)
            check_order(self.engine, commands)
            self.check_issue12()
        else:  # (check_issue12 follows the calls' skills, which _promised compares with)
            self.note_skills()
        while self.later:
            self.feed(self.later.pop(0))
        return commands

    def _apply(self, c) -> None:
        if isinstance(c, StartTimer):
            assert c.at >= self.now - 1e-9, f"timer in the past: {c}"
            self.timers[(c.kind, c.ref)] = c.at
        elif isinstance(c, CancelTimer):
            self.timers.pop((c.kind, c.ref), None)
        elif isinstance(c, RingAgent):
            self._ringing(c)
        elif isinstance(c, CancelRing) and not self.link_up:
            return
        elif isinstance(c, CancelRing):
            if (c.call_id, c.agent_id) in self.rings:
                self.rings.remove((c.call_id, c.agent_id))
                self.withdrawn.append((c.call_id, c.agent_id))
        elif isinstance(c, Fact):
            self._published(c)

    def _ringing(self, c: RingAgent) -> None:
        engine = self.engine
        if self.check:
            assert not engine.agents[c.agent_id].unreachable, f"{c.agent_id}'s phone is unreachable"
            if c.dial:  # a callback is placed only in its queue's hours
                hours = engine.table.queues[c.queue].hours
                assert hours is None or is_open(engine.table.calendars[hours], self.now), \
                    f"{c.call_id} dialled while {c.queue} is closed"
        if not self.link_up:
            return  # never reaches the PBX
        if not self.blind:  # the engine knows all: it must never ask for these
            assert all(a != c.agent_id for _, a in self.rings), f"{c.agent_id} offered two calls at once"
            assert all(k != c.call_id for k, _ in self.rings), f"{c.call_id} rings two agents at once"
            assert c.agent_id not in self.connected.values(), f"{c.agent_id} offered a call while on one"
            assert c.call_id not in self.connected, f"{c.call_id} offered while connected"
        busy = any(a == c.agent_id for _, a in self.rings) or c.agent_id in self.connected.values()
        gone = c.call_id not in self.arrivals and not c.dial  # (a callback's leg dials out itself)
        if busy or gone or c.call_id in self.connected or self.devices.get(c.agent_id, (0, 0))[1]:
            self.later.append(ev.AgentNoAnswer(c.call_id, c.agent_id, "busy"))
        else:
            self.rings.append((c.call_id, c.agent_id))

    def _published(self, c: Fact) -> None:
        call, d = c.data.get("call"), c.data
        self.state.on_fact(c, self.now)  # as the daemon keeps agents and callbacks in the state file
        if c.kind == "callback.promised":
            self._promised(call, d)
        if c.kind == "call.waiting":
            table = self.engine.table
            self.skills[call] = next(r.skills for r in (*table.rules, table.default) if r.name == d["rule"])
            assert call not in self.live, f"{call} arrived twice while live"
            self.live.add(call)
            self.outcomes.setdefault(call, []).append("")
        elif c.kind.startswith("call.") and c.kind[5:] in OUTCOMES:
            assert call in self.live, f"{c.kind} for {call}, which is not live"
            assert self.outcomes[call][-1] == "", f"second outcome {c.kind} for {call}"
            if c.kind == "call.abandoned":
                assert call not in self.arrivals, f"{call} abandoned by the router; the caller still holds"
            if c.kind == "call.closed":  # "arrived while closed": never waited in a queue
                assert self.log[-1][1] is self.event and any(
                    p == Published("call.waiting", p.data) and p.data["call"] == call
                    for p in self.log[-1][2] if isinstance(p, Fact)), f"{call} closed after waiting"
            self.outcomes[call][-1] = c.kind[5:]
            self._count_sl(c.kind[5:], d)
            if c.kind != "call.answered":
                self.live.discard(call)
                self._pbx_forgets(call)
        elif c.kind == "call.ended":
            assert self.outcomes[call][-1] in ("answered", "restarted"), (call, self.outcomes[call])
            assert self.connected.get(call) != d["agent"], f"{call} ended while its leg with {d['agent']} is up"
            self.live.discard(call)
            self._pbx_forgets(call)

    def _promised(self, call: str, d: dict) -> None:
        """A callback keeps its call's skills, across restarts too."""
        skills = tuple(map(tuple, d["skills"]))
        if isinstance(self.event, ev.CallbackPromised):  # restored from the state file
            assert skills == self.promised_skills.get(call, skills), f"{call} lost its skills in a restart"
            return
        if not isinstance(self.event, ev.ConfigReplaced):  # (a reload may re-classify the call first)
            assert skills == self.skills[d["origin"]], f"{call} lost its skills"
        self.promised_skills[call] = skills

    def _count_sl(self, outcome: str, d: dict) -> None:
        """What docs/SERVICE-LEVEL.md says the SL book must count (bounds:
        the published wait is rounded to the millisecond)."""
        sl = self.sl.setdefault(d["queue"], [0, 0, 0, 0])
        wait = d["wait"]
        if outcome == "answered":
            within = self.engine.table.queues[d["queue"]].service_level.within
            sl[0] += wait <= within - 0.002
            sl[1] += wait <= within + 0.002
            sl[2] += 1
            sl[3] += 1
        elif outcome == "abandoned":
            short = self.engine.sla.short_abandon
            sl[2] += wait >= short + 0.002
            sl[3] += wait >= short - 0.002
        elif outcome == "overflowed":
            sl[2] += 1
            sl[3] += 1

    def check_issue12(self) -> None:
        engine = self.engine
        for name, (met_lo, met_hi, lo, hi) in self.sl.items():
            if name in engine.table.queues:
                met, counted = engine.sla.counts(name, "today", self.now)
                assert lo <= counted <= hi and met_lo <= met <= met_hi, (name, met, counted, self.sl[name])
        for rec in [*engine.calls.values(), *engine.parked.values()]:
            if rec.callback:  # every step needs at least the skills it was promised with
                for step_ in rec.steps:
                    assert step_.action is None, f"{rec.id} can leave by an action"
                    for requirement in step_.requirements:
                        levels = dict(requirement.skills)
                        assert all(levels.get(k, 0) >= v for k, v in rec.rule.skills), (rec.id, requirement)
            elif rec.id in self.live:
                self.skills[rec.id] = rec.rule.skills

    def note_skills(self) -> None:
        for rec in self.engine.calls.values():
            if not rec.callback and rec.id in self.live:
                self.skills[rec.id] = rec.rule.skills

    def step(self, action: tuple) -> None:
        kind = action[0]
        if kind == "arrive":
            if action[1] in self.arrivals:
                return self.hear(ev.CallWaiting(action[1], dnis=action[2]))  # a duplicate: ignored
            cb = f"cb-{action[1]}"
            if action[1] in self.engine.calls or cb in self.engine.calls or cb in self.engine.parked \
                    or cb in self.connected or cb in self.state.callbacks:
                # The engine missed this id's end (the link was down), or the
                # id's callback is still owed: a real PBX never gives a new
                # call the Uniqueid of an old one.
                return
            call = ev.CallWaiting(action[1], dnis=action[2], caller_name="王五", variables=action[3],
                                  caller_num=action[4])
            self.arrivals[action[1]], self.arrived_at[action[1]] = call, self.now
            self.hear(call)
        elif kind == "link":
            self.link_up = action[1]
            self.blind = self.blind or not action[1]
        elif kind == "snapshot":
            if self.link_up:
                self.snapshot(devices=action[1], seed=action[2])
        elif kind == "restart":
            self.restart(action[1])
        elif kind == "leave":
            if action[1] in self.arrivals:
                self._pbx_forgets(action[1])
            self.hear(ev.CallLeft(action[1]))
        elif kind == "end":
            agent_id = self.connected.get(action[1])
            if agent_id is None:
                return
            self._pbx_forgets(action[1])
            if action[2] == "caller" and not action[1].startswith("cb-"):
                self.hear(ev.CallLeft(action[1]))  # the caller's channel hangs up
            else:
                self.hear(ev.CallEnded(action[1], agent_id))
        elif kind in ("answer_ring", "miss_ring", "offered_ring"):
            if not self.rings:
                return
            call, agent_id = self.rings[action[1] % len(self.rings)]
            if kind == "offered_ring":
                return self.hear(ev.AgentOffered(call, agent_id))
            self.rings.remove((call, agent_id))
            if kind == "answer_ring":
                if call in self.connected:  # the dialplan's BRIDGEPEER check: that leg hangs up
                    self.withdrawn.append((call, agent_id))
                    return self.hear(ev.AgentAnswered(call, agent_id))
                self.connected[call] = agent_id
                self.hear(ev.AgentAnswered(call, agent_id))
            else:
                self.hear(ev.AgentNoAnswer(call, agent_id, action[2]))
        elif kind == "late_answer":
            if not self.withdrawn or not self.link_up or self.blind:
                # (after an outage the engine may have offered the same call
                # to the same agent again, unheard by the PBX: the legs are
                # then as ambiguous to it as in the case below)
                return
            call, agent_id = self.withdrawn.pop(action[1] % len(self.withdrawn))
            if (call, agent_id) in self.rings or self.connected.get(call) == agent_id:
                # The same agent rung for the same call again: the engine
                # cannot tell the legs apart (the translator's cancelled
                # mark does, tests/test_core_review.py); left out here.
                return
            out = self.feed(ev.AgentAnswered(call, agent_id))
            if not self.blind:  # (else the engine may rightly think that leg is connected)
                assert CancelRing(call, agent_id) in out, "a late answer's leg left up"
        elif kind == "stale_hangup":
            # Some agent leg of the call that is not its connected one.
            call, agent_id = action[1], action[2]
            if self.link_up and self.connected.get(call) != agent_id:
                out = self.feed(ev.CallEnded(call, agent_id))
                assert not [c for c in out if isinstance(c, Fact) and c.kind in (
                    "call.abandoned", "call.ended", "callback.done", "callback.retry")], \
                    f"a stale leg of {agent_id} ended {call}"
        elif kind == "bogus_answer":
            if not self.link_up or self.blind or (action[1], action[2]) in self.rings or action[1] in self.connected:
                return  # that would be a real answer, not a bogus one
            self.feed(ev.AgentAnswered(action[1], action[2]))
            # An answered leg nobody asked for must be hung up, or the agent
            # is bridged to nobody (or to a call another agent has).
            assert CancelRing(action[1], action[2]) in self.log[-1][2], "stray answered leg left up"
        elif kind == "bogus_miss":
            if self.link_up and (action[1], action[2]) not in self.rings:
                self.feed(ev.AgentNoAnswer(action[1], action[2]))
        elif kind == "login":
            self.hear(ev.AgentLogin(action[1]))
        elif kind == "logout":
            self.hear(ev.AgentLogout(action[1]))
        elif kind == "pause":
            self.hear(ev.AgentPause(action[1], "meal"))
        elif kind == "unpause":
            self.hear(ev.AgentUnpause(action[1]))
        elif kind == "advance":
            self.advance(action[1])
        elif kind == "device":
            busy, unreachable = action[2] == "busy", action[2] == "unreachable"
            self.devices[action[1]] = (busy, unreachable)
            self.hear(ev.AgentDevice(action[1], busy, unreachable))
        elif kind == "spurious_timer":
            self.feed(ev.TimerFired(action[1], action[2]))
        elif kind == "reload":
            self.table_index = action[1]
            self.feed(ev.ConfigReplaced(TABLES[action[1]]))
        elif kind == "move":
            self.feed(ev.CallMove(action[1], action[2]))
        elif kind == "priority":
            self.feed(ev.CallPriority(action[1], action[2]))
        elif kind == "cb_result":
            talking = [c for c in self.connected if c.startswith("cb-")]
            if talking:
                self.hear(ev.CallbackResult(talking[action[1] % len(talking)], action[2]))

    def _pbx_forgets(self, call: str) -> None:
        self.arrivals.pop(call, None)
        self.connected.pop(call, None)
        self.rings = [(c, a) for c, a in self.rings if c != call]

    def restart(self, seed: int) -> None:
        """The router is killed and started again: a new engine fed the state
        file, then the PBX's listings (the link is up again: a new process)."""
        self.state.save()
        self.log.append(("restart", self.table_index))
        self.engine = Engine(TABLES[self.table_index])
        self.timers.clear()
        self.sl.clear()  # a new SL book
        for call in self.live:  # the old process took their outcome with it
            self.outcomes[call][-1] = "restarted"
        self.live.clear()
        # The daemon feeds the state file before its AMI links are up: what
        # the engine asks for then never reaches the PBX, and it knows
        # nothing of the PBX until the listings.
        self.link_up, self.blind = False, True
        for event in AgentStateFile(self.state.path).load():
            self.feed(event)
        self.link_up = True
        self.snapshot(devices=True, seed=seed)

    def snapshot(self, devices: bool, seed: int = 0) -> None:
        """Tell the engine the PBX's truth (its listings in some order), then
        check it agrees."""
        order = random.Random(seed)
        holding = [replace(info, waited=self.now - self.arrived_at[c])
                   for c, info in self.arrivals.items() if c not in self.connected]
        connected, ringing = list(self.connected.items()), list(self.rings)
        phones = [(a, self.devices.get(a, (False, False))) for a in AGENTS] if devices else []
        for listing in (holding, connected, ringing, phones):
            order.shuffle(listing)
        snap = ev.PbxSnapshot("", waiting=tuple(holding), connected=tuple(connected), ringing=tuple(ringing),
                              devices=tuple((a, busy) for a, (busy, _) in phones),
                              unreachable=tuple(a for a, (_, off) in phones if off))
        self.feed(snap)
        engine = self.engine
        for call, agent_id in self.connected.items():
            rec = engine.calls.get(call)
            assert rec is not None and rec.status is CallStatus.CONNECTED and rec.agent == agent_id, (call, rec)
        for call, agent_id in self.rings:
            rec = engine.calls[call]
            assert rec.status is CallStatus.RINGING and rec.agent == agent_id, (call, rec)
        for call, rec in engine.calls.items():
            assert rec.callback or call in self.arrivals, f"{call} left the PBX but the engine still has it"
        for call in self.arrivals:
            assert call in engine.calls, f"{call} holds on the PBX but the engine does not know it"
        for rec in engine.calls.values():
            if rec.status is CallStatus.RINGING:
                assert (rec.id, rec.agent) in self.rings, f"engine rings {rec.agent} for {rec.id}; the PBX does not"
            elif rec.status is CallStatus.CONNECTED:
                assert self.connected.get(rec.id) == rec.agent, f"engine has {rec.id} talking; the PBX does not"
        self.blind = False

    def advance(self, seconds: float) -> None:
        until = self.now + seconds
        fire_timers(self.timers, until, self._fire)
        self.now = until

    def _fire(self, key: tuple[str, str], at: float) -> None:
        self.now = max(self.now, at)
        self.feed(ev.TimerFired(*key))

    def hang_up_everything(self) -> None:
        self.link_up = True
        if self.blind:
            self.snapshot(devices=False)
        for call, agent_id in list(self.connected.items()):
            self._pbx_forgets(call)
            self.feed(ev.CallEnded(call, agent_id))
        for call in list(self.engine.calls):
            rec = self.engine.calls.get(call)  # (a callback may have been parked meanwhile)
            if rec is not None and not rec.callback:
                self._pbx_forgets(call)
                self.feed(ev.CallLeft(call))


#: Logged in at the start of every sequence (the sequence logs them out
#: at will): random sequences rarely log in enough agents by themselves to
#: reach offers, answers, callbacks and resyncs of conversations.
STAFF = AGENTS[:5]


def play(actions, check: bool = True) -> World:
    """One sequence through a fresh world; every caller hung up at the end."""
    world = World(check=check)
    try:
        for agent_id in STAFF:
            world.step(("login", agent_id))
        for action in actions:
            world.step(action)
        world.hang_up_everything()
    finally:
        world.close()
    return world


def check_finished(world: World) -> None:
    """Every caller had exactly one outcome; only callbacks (no caller
    holds for them) may still be owed."""
    engine = world.engine
    assert all(c.callback and c.status is not CallStatus.CONNECTED for c in engine.calls.values()), engine.calls
    assert all(c.callback for c in engine.line())
    for call, lifetimes in world.outcomes.items():
        for outcome in lifetimes:
            assert outcome in (*OUTCOMES, "restarted"), f"{call} ended without an outcome: {lifetimes}"


def check_state(engine: Engine) -> None:
    """Rules 1-3 of the engine, read off its state."""
    holders: dict[str, str] = {}
    for call in engine.calls.values():
        if call.status is CallStatus.WAITING:
            assert call.agent is None
            continue
        rec = engine.agents[call.agent]
        assert call.agent not in holders, f"{call.agent} holds two calls"
        holders[call.agent] = call.id
        want = AgentStatus.RESERVED if call.status is CallStatus.RINGING else AgentStatus.ON_CALL
        assert rec.status is want and rec.call == call.id, (call, rec)
    for rec in engine.agents.values():
        if rec.status in (AgentStatus.RESERVED, AgentStatus.ON_CALL):
            assert holders.get(rec.id) == rec.call, rec
        else:
            assert rec.call is None, rec
    line = engine.line()
    assert [c.order for c in line] == sorted(c.order for c in line)
    for call in line:  # the deadline key, as enforce.py rule 1 defines it
        within = engine.table.queues[call.queue].service_level.within
        weight = engine.table.settings.enforcement.priority_weight
        assert call.order == (call.arrived + within - weight * call.priority, 0.0, call.seq), call
    assert {c.id for c in line} == {c.id for c in engine.calls.values()
                                    if c.status is not CallStatus.CONNECTED}
    # Work conservation: no free agent is eligible for a waiting call.
    free = [engine.table.agents[r.id] for r in engine.agents.values() if r.status is AgentStatus.AVAILABLE]
    for call in line:
        if call.status is CallStatus.WAITING:
            step_ = call.steps[call.step]
            assert step_.action is None, f"{call.id} waits on an action step"
            for cfg in free:
                assert not step_.eligible(cfg), f"{cfg.id} idles while {call.id} could take it"


def check_order(engine: Engine, commands: list) -> None:
    """Rule 4: an agent just offered a call could take no call ahead of it."""
    for c in commands:
        if not isinstance(c, RingAgent) or c.call_id not in engine.calls:
            continue
        offered = engine.calls[c.call_id]
        cfg = engine.table.agents.get(c.agent_id)
        for other in engine.line():
            if other.status is CallStatus.WAITING and other.steps[other.step].eligible(cfg):
                assert engine.serving_rank(other) > engine.serving_rank(offered), \
                    f"{c.agent_id} got {offered.id} before {other.id}"


#: Sequences long enough to reach conversations, callbacks and restarts.
SEQUENCES = st.lists(step_st, min_size=20, max_size=80)


#: Found by this test: a callback's leg talking with an agent a reload had
#: removed, then a restart: the new engine had no record of that agent and
#: left the callback waiting, to be offered again (the customer called twice).
REMOVED_AGENT_ON_A_CALLBACK = (
    [("arrive", "c0", "8000", (), ""), ("answer_ring", 0), ("arrive", "c1", "8000", (), ""), ("answer_ring", 0),
     ("advance", 419.0)] + [("arrive", "c0", "8000", (), "")] * 9
    + [("arrive", "c1", "7000", (), "13800001111"), ("advance", 81.0), ("arrive", "c0", "8000", (), ""),
       ("answer_ring", 0), ("reload", 1), ("restart", 0)])


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(SEQUENCES)
@example(REMOVED_AGENT_ON_A_CALLBACK)
def test_guarantees_hold_over_random_sequences(actions):
    check_finished(play(actions))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(resync_st, max_size=60))
def test_snapshots_after_outages_bring_the_engine_in_line_with_the_pbx(actions):
    """Calls arrive, are answered, missed or left while the link is down;
    after each snapshot (listings in any order, after an outage of any
    length, or a restart) the engine agrees with the PBX (World.snapshot)
    and every guarantee still holds."""
    check_finished(play(actions))


@settings(max_examples=100, deadline=None)
@given(st.lists(step_st, max_size=60))
def test_same_events_same_commands(actions):
    assert play(actions, check=False).log == play(actions, check=False).log


@settings(max_examples=150, deadline=None)
@given(st.lists(step_st, max_size=60))
def test_replaying_the_recorded_events_gives_the_same_commands(actions):
    """Determinism as an adapter sees it: record (time, event), replay into a
    fresh engine (a new one at each restart), compare every command list."""
    world = play(actions, check=False)
    fresh = Engine(TABLES[0])
    for entry in world.log:
        if entry[0] == "restart":
            fresh = Engine(TABLES[entry[1]])
            continue
        now, event, commands = entry
        assert fresh.handle(event, now) == commands
