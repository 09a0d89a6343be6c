"""Property tests of the engine's guarantees over random event sequences.

A tiny pure "world" plays the PBX: it honours the engine's timers, answers or
misses the rings it was asked for, and also throws in events that make no
sense (answers nobody asked for, unknown calls, duplicate arrivals, spurious
timers, config swaps). After every event the guarantees of
router/core/engine.py are checked; at the end every call is hung up and each
must have had exactly one outcome.
"""

from __future__ import annotations

from dataclasses import replace

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from router.core import events as ev
from router.core.commands import CancelRing, CancelTimer, Publish, RingAgent, StartTimer
from router.core.engine import Engine
from router.core.state import AgentStatus, CallStatus, OUTCOMES
from router.core.table import Action, Match, Strategy
from router.core.patterns import compile_pattern
from tables import agent, queue, req, rule, step, table

CALLS = [f"c{i}" for i in range(8)]
AGENTS = ["a0", "a1", "a2", "a3", "a4", "ghost"]


def _table_one():
    sales = queue("sales", step(0, req(sales=7)), step(10, req(sales=3)),
                  step(25, req(sales=3), req(general=1)), step(40, action=Action("voicemail", "8000")),
                  priority=5, max_waiting=3, overflow=Action("queue", "general"))
    general = queue("general", step(0, req(general=1)), strategy=Strategy.ROUND_ROBIN, wrapup=3)
    vip = queue("vip", step(0, req(vip=5)), step(15, req(sales=1)), priority=20,
                strategy=Strategy.BEST_SKILLED, max_waiting=2, overflow=Action("hangup"))
    agents = [agent("a0", sales=8, general=2), agent("a1", sales=4, max_no_answer=2),
              agent("a2", general=5, wrapup=2.0), agent("a3", vip=9, sales=2),
              agent("a4", general=1, vip=5, max_no_answer=0)]
    rules = [rule("vip", vip, Match(dnis=(compile_pattern("_9X"),))),
             rule("sales-cantonese", sales, Match(dnis=(compile_pattern("8000"),),
                                                  vars=(("lang", ("yue",)),)), skills=(("general", 2),)),
             rule("sales", sales, Match(dnis=(compile_pattern("8000"),)))]
    return table(agents, [sales, general, vip], rules, default="general", no_answer_rest=2.0)


def _table_two():
    """A reload: a4 gone, sales escalates differently, general is random."""
    sales = queue("sales", step(0, req(sales=3)), step(20, action=Action("callback")), priority=1)
    general = queue("general", step(0, req(general=1)), strategy=Strategy.RANDOM)
    vip = queue("vip", step(0, req(vip=1)), priority=30, strategy=Strategy.FEWEST_CALLS)
    agents = [agent("a0", sales=8, general=2), agent("a1", sales=4), agent("a2", general=5),
              agent("a3", vip=9, sales=2)]
    rules = [rule("vip", vip, Match(dnis=(compile_pattern("_9X"),))),
             rule("sales", sales, Match(dnis=(compile_pattern("8000"),)))]
    return table(agents, [sales, general, vip], rules, default="general", no_answer_rest=0.0)


TABLES = [_table_one(), _table_two()]

step_st = st.one_of(
    st.tuples(st.just("arrive"), st.sampled_from(CALLS), st.sampled_from(["8000", "91", "5555"]),
              st.sampled_from([(), (("lang", "yue"),)])),
    st.tuples(st.just("leave"), st.sampled_from(CALLS)),
    st.tuples(st.just("end"), st.sampled_from(CALLS)),
    st.tuples(st.just("answer_ring"), st.integers(0, 3)),
    st.tuples(st.just("miss_ring"), st.integers(0, 3), st.sampled_from(ev.NO_ANSWER_REASONS)),
    st.tuples(st.just("offered_ring"), st.integers(0, 3)),
    st.tuples(st.just("bogus_answer"), st.sampled_from(CALLS), st.sampled_from(AGENTS)),
    st.tuples(st.just("bogus_miss"), st.sampled_from(CALLS), st.sampled_from(AGENTS)),
    st.tuples(st.sampled_from(["login", "logout", "pause", "unpause"]), st.sampled_from(AGENTS)),
    st.tuples(st.just("advance"), st.floats(0.1, 30.0)),
    st.tuples(st.just("device"), st.sampled_from(AGENTS), st.booleans()),
    st.tuples(st.just("spurious_timer"), st.sampled_from(["step", "ring", "wrapup", "bogus"]),
              st.sampled_from(CALLS + AGENTS)),
    st.tuples(st.just("reload"), st.integers(0, 1)),
    # A supervisor (over MQTT) moves a call or sets its priority.
    st.tuples(st.just("move"), st.sampled_from(CALLS), st.sampled_from(["sales", "general", "vip", "nope"])),
    st.tuples(st.just("priority"), st.sampled_from(CALLS), st.integers(0, 100)),
    # The AMI link: while it is down the engine hears nothing and its rings
    # and cancels never reach the PBX; a snapshot of the PBX's truth comes
    # some time after the link is back.
    st.tuples(st.just("link"), st.booleans()),
    st.tuples(st.just("snapshot"), st.booleans()),
)


# Fewer kinds of step, so that outages land in the middle of offers and calls.
resync_st = st.one_of(
    st.tuples(st.just("arrive"), st.sampled_from(CALLS[:4]), st.sampled_from(["8000", "91", "5555"]), st.just(())),
    st.tuples(st.just("login"), st.sampled_from(AGENTS[:5])),
    st.tuples(st.just("answer_ring"), st.integers(0, 3)),
    st.tuples(st.just("miss_ring"), st.integers(0, 3), st.just("no-answer")),
    st.tuples(st.just("leave"), st.sampled_from(CALLS[:4])),
    st.tuples(st.just("end"), st.sampled_from(CALLS[:4])),
    st.tuples(st.just("advance"), st.floats(0.1, 30.0)),
    st.tuples(st.just("link"), st.booleans()),
    st.tuples(st.just("snapshot"), st.booleans()),
)


class World:
    """Plays the PBX and the clock around one engine, checking as it goes."""

    def __init__(self, check: bool = True) -> None:
        self.engine = Engine(TABLES[0])
        self.check = check
        self.now = 1_000.0
        self.timers: dict[tuple[str, str], float] = {}
        self.rings: list[tuple[str, str]] = []  # open offers (call, agent), oldest first
        self.connected: dict[str, str] = {}  # call -> agent
        self.live: set[str] = set()  # calls between call.waiting and their outcome
        self.outcomes: dict[str, list[str]] = {}  # call -> outcomes (per lifetime, appended)
        self.log: list = []
        self.arrivals: dict[str, ev.CallWaiting] = {}  # live callers on the PBX, as they arrived
        self.arrived_at: dict[str, float] = {}
        self.link_up = True
        self.blind = False  # events were missed since the last snapshot
        self.later: list = []  # PBX answers to deliver after the current event

    # -- feeding the engine
    def hear(self, event) -> None:
        """An event from the PBX: the engine hears it only over a live link."""
        if self.link_up:
            self.feed(event)

    def feed(self, event) -> None:
        assert len(self.log) < 20_000, "the engine and the PBX are in a loop"
        commands = self.engine.handle(event, self.now)
        self.log.append((self.now, event, commands))
        for c in commands:
            self._apply(c)
        if self.check:
            check_state(self.engine)
            check_order(self.engine, commands)
        while self.later:
            self.feed(self.later.pop(0))

    def _apply(self, c) -> None:
        if isinstance(c, StartTimer):
            assert c.at >= self.now - 1e-9, f"timer in the past: {c}"
            self.timers[(c.kind, c.ref)] = c.at
        elif isinstance(c, CancelTimer):
            self.timers.pop((c.kind, c.ref), None)
        elif isinstance(c, RingAgent):
            if not self.link_up:
                return  # never reaches the PBX
            if not self.blind:  # the engine knows all: it must never ask for these
                assert all(a != c.agent_id for _, a in self.rings), f"{c.agent_id} offered two calls at once"
                assert all(k != c.call_id for k, _ in self.rings), f"{c.call_id} rings two agents at once"
                assert c.agent_id not in self.connected.values(), f"{c.agent_id} offered a call while on one"
                assert c.call_id not in self.connected, f"{c.call_id} offered while connected"
            busy = any(a == c.agent_id for _, a in self.rings) or c.agent_id in self.connected.values()
            if busy or c.call_id not in self.arrivals or c.call_id in self.connected:
                self.later.append(ev.AgentNoAnswer(c.call_id, c.agent_id, "busy"))
            else:
                self.rings.append((c.call_id, c.agent_id))
        elif isinstance(c, CancelRing) and not self.link_up:
            return
        elif isinstance(c, CancelRing):
            if (c.call_id, c.agent_id) in self.rings:
                self.rings.remove((c.call_id, c.agent_id))
        elif isinstance(c, Publish):
            call = c.data.get("call")
            if c.kind == "call.waiting":
                assert call not in self.live, f"{call} arrived twice while live"
                self.live.add(call)
                self.outcomes.setdefault(call, []).append("")
            elif c.kind.startswith("call.") and c.kind[5:] in OUTCOMES:
                assert call in self.live, f"{c.kind} for {call}, which is not live"
                assert self.outcomes[call][-1] == "", f"second outcome {c.kind} for {call}"
                self.outcomes[call][-1] = c.kind[5:]
                if c.kind != "call.answered":
                    self.live.discard(call)
                    self._pbx_forgets(call)
            elif c.kind == "call.ended":
                assert self.outcomes[call][-1] == "answered"
                self.live.discard(call)
                self._pbx_forgets(call)

    def step(self, action: tuple) -> None:
        kind = action[0]
        if kind == "arrive":
            if action[1] in self.arrivals:
                return self.hear(ev.CallWaiting(action[1], dnis=action[2]))  # a duplicate: ignored
            if action[1] in self.engine.calls:
                # The engine missed this id's end (the link was down): a real
                # PBX never gives a new call the Uniqueid of an old one.
                return
            call = ev.CallWaiting(action[1], dnis=action[2], caller_name="王五", variables=action[3])
            self.arrivals[action[1]], self.arrived_at[action[1]] = call, self.now
            self.hear(call)
        elif kind == "link":
            self.link_up = action[1]
            self.blind = self.blind or not action[1]
        elif kind == "snapshot":
            if self.link_up:
                self.snapshot(devices=action[1])
        elif kind == "leave":
            self._pbx_forgets(action[1])
            self.hear(ev.CallLeft(action[1]))
        elif kind == "end":
            if action[1] in self.connected:
                self._pbx_forgets(action[1])
            self.hear(ev.CallEnded(action[1]))
        elif kind in ("answer_ring", "miss_ring", "offered_ring"):
            if not self.rings:
                return
            call, agent_id = self.rings[action[1] % len(self.rings)]
            if kind == "offered_ring":
                return self.hear(ev.AgentOffered(call, agent_id))
            self.rings.remove((call, agent_id))
            if kind == "answer_ring":
                if call in self.connected:  # the dialplan's BRIDGEPEER check: that leg hangs up
                    return self.hear(ev.AgentAnswered(call, agent_id))
                self.connected[call] = agent_id
                self.hear(ev.AgentAnswered(call, agent_id))
            else:
                self.hear(ev.AgentNoAnswer(call, agent_id, action[2]))
        elif kind == "bogus_answer":
            if not self.link_up or (action[1], action[2]) in self.rings or action[1] in self.connected:
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
            self.hear(ev.AgentDevice(action[1], action[2]))
        elif kind == "spurious_timer":
            self.feed(ev.TimerFired(action[1], action[2]))
        elif kind == "reload":
            self.feed(ev.ConfigReplaced(TABLES[action[1]]))
        elif kind == "move":
            self.feed(ev.CallMove(action[1], action[2]))
        elif kind == "priority":
            self.feed(ev.CallPriority(action[1], action[2]))

    def _pbx_forgets(self, call: str) -> None:
        self.arrivals.pop(call, None)
        self.connected.pop(call, None)
        self.rings = [(c, a) for c, a in self.rings if c != call]

    def snapshot(self, devices: bool) -> None:
        """Tell the engine the PBX's truth, then check it agrees."""
        holding = tuple(replace(info, waited=self.now - self.arrived_at[c])
                        for c, info in self.arrivals.items() if c not in self.connected)
        snap = ev.PbxSnapshot("", waiting=holding, connected=tuple(self.connected.items()),
                              ringing=tuple(self.rings),
                              devices=tuple((a, False) for a in AGENTS) if devices else ())
        self.feed(snap)
        engine = self.engine
        for call, agent_id in self.connected.items():
            rec = engine.calls.get(call)
            assert rec is not None and rec.status is CallStatus.CONNECTED and rec.agent == agent_id, (call, rec)
        for call, agent_id in self.rings:
            rec = engine.calls[call]
            assert rec.status is CallStatus.RINGING and rec.agent == agent_id, (call, rec)
        for call in engine.calls:
            assert call in self.arrivals, f"{call} left the PBX but the engine still has it"
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
        while self.timers:
            key, at = min(self.timers.items(), key=lambda kv: (kv[1], kv[0]))
            if at > until:
                break
            del self.timers[key]
            self.now = max(self.now, at)
            self.feed(ev.TimerFired(*key))
        self.now = until

    def hang_up_everything(self) -> None:
        self.link_up = True
        if self.blind:
            self.snapshot(devices=False)
        for call in list(self.engine.calls):
            self._pbx_forgets(call)
            self.feed(ev.CallLeft(call))


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


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(step_st, max_size=80))
def test_guarantees_hold_over_random_sequences(actions):
    world = World()
    for action in actions:
        world.step(action)
    world.hang_up_everything()
    assert not world.engine.calls and not world.engine.line()
    for call, lifetimes in world.outcomes.items():
        for outcome in lifetimes:
            assert outcome in OUTCOMES, f"{call} ended without an outcome: {lifetimes}"


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(resync_st, max_size=60))
def test_snapshots_after_outages_bring_the_engine_in_line_with_the_pbx(actions):
    """Calls arrive, are answered, missed or left while the link is down;
    after each snapshot the engine agrees with the PBX (World.snapshot) and
    every guarantee still holds."""
    world = World()
    for action in actions:
        world.step(action)
    world.hang_up_everything()
    assert not world.engine.calls
    for call, lifetimes in world.outcomes.items():
        assert all(outcome in OUTCOMES for outcome in lifetimes), (call, lifetimes)


@settings(max_examples=100, deadline=None)
@given(st.lists(step_st, max_size=60))
def test_same_events_same_commands(actions):
    first, second = World(check=False), World(check=False)
    for action in actions:
        first.step(action)
        second.step(action)
    assert first.log == second.log


@settings(max_examples=150, deadline=None)
@given(st.lists(step_st, max_size=60))
def test_replaying_the_recorded_events_gives_the_same_commands(actions):
    """Determinism as an adapter sees it: record (time, event), replay into a
    fresh engine, compare every command list."""
    world = World(check=False)
    for action in actions:
        world.step(action)
    fresh = Engine(TABLES[0])
    for now, event, commands in world.log:
        assert fresh.handle(event, now) == commands
