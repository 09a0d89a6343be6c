"""Example-based tests of the routing engine (router/core/engine.py and
router/core/agents.py): each test plays a short, explicit event sequence and
asserts the exact commands or the exact state that follow.

The property tests (test_core_properties.py) check the invariants over random
sequences; these pin down the concrete behaviour promised in docs/RULES.md
and in the engine's docstrings.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from tests.support.facts import Published
from router.core import events as ev
from router.core.commands import CancelRing, CancelTimer, RingAgent, RunAction, StartTimer
from router.core.facts import Fact
from router.core.enforce import CHECK_EVERY
from router.core.engine import MIN_RETRY, RING_GRACE, Engine
from router.core.patterns import compile_pattern
from router.core.state import AgentStatus, CallStatus
from router.core.table import Action, Calendar, Match, RoutingTable, Strategy, merge_skills
from support.commands import published
from support.tables import agent, queue, req, rule, step, table

T0 = 1_000.0

# --------------------------------------------------------------- helpers


def engine_for(tbl: RoutingTable, *logins: str, at: float = T0 - 100) -> Engine:
    """A fresh engine with `logins` logged in (in that order) at `at`."""
    engine = Engine(tbl)
    for aid in logins:
        engine.handle(ev.AgentLogin(aid), at)
    return engine


def arrive(engine: Engine, cid: str, at: float, dnis: str = "", caller_num: str = "",
           caller_name: str = "", variables: tuple = (), pbx: str = "") -> list:
    return engine.handle(ev.CallWaiting(cid, dnis=dnis, caller_num=caller_num,
                                        caller_name=caller_name, variables=variables, pbx=pbx), at)


def rings(commands: list) -> list[tuple[str, str]]:
    return [(c.call_id, c.agent_id) for c in commands if isinstance(c, RingAgent)]


def kinds(commands: list) -> list[str]:
    return [c.kind for c in commands if isinstance(c, Fact)]


def status(engine: Engine, aid: str) -> AgentStatus:
    return engine.agents[aid].status


def line_ids(engine: Engine) -> list[str]:
    return [c.id for c in engine.line()]


def agent_state(aid: str, state: str, reason: str = "") -> Published:
    return Published("agent.state", {"agent": aid, "state": state, "reason": reason})


def answer_and_end(engine: Engine, cid: str, aid: str, answered: float, ended: float) -> list:
    """Answer the offer of `cid` to `aid` and hang up; return the end's commands."""
    engine.handle(ev.AgentAnswered(cid, aid), answered)
    return engine.handle(ev.CallEnded(cid), ended)


def with_calendar(tbl: RoutingTable, cal: Calendar) -> RoutingTable:
    return replace(tbl, calendars=RoutingTable.freeze({cal.name: cal}))


def shanghai(y: int, mo: int, d: int, h: int, mi: int = 0) -> float:
    return datetime(y, mo, d, h, mi, tzinfo=ZoneInfo("Asia/Shanghai")).timestamp()


# The escalation of docs/RULES.md: sales>=7, then sales>=3 from 20 s, then
# also general's agents from 45 s, then a callback at 90 s.
def sales_queue(**kw):
    return queue("sales", step(0, req(sales=7)), step(20, req(sales=3)),
                 step(45, req(sales=3), req(general=1)), step(90, action=Action("callback")),
                 priority=10, **kw)


def escalation_table(**kw) -> RoutingTable:
    agents = [agent("senior", sales=8), agent("junior", sales=4), agent("gen", general=2),
              agent("billing", billing=9)]
    return table(agents, [sales_queue(), queue("general", step(0, req(general=1)))], **kw)


def simple_table(*agents_, wrapup: float = 0.0, ring_timeout: float = 15.0,
                 strategy: Strategy = Strategy.LONGEST_IDLE, no_answer_rest: float = 5.0,
                 **queue_kw) -> RoutingTable:
    """One queue 'support' any agent with support>=1 may take."""
    agents_ = agents_ or (agent("a1", support=5), agent("a2", support=5))
    q = queue("support", step(0, req(support=1)), wrapup=wrapup, ring_timeout=ring_timeout,
              strategy=strategy, **queue_kw)
    return table(list(agents_), [q], no_answer_rest=no_answer_rest)


# --------------------------------------------------------------- arrival


def test_call_with_free_eligible_agent_rings_that_agent_with_ring_guard_and_offer_published():
    tbl = table([agent("a1", sales=5)], [queue("sales", step(0, req(sales=3)), priority=10)])
    engine = engine_for(tbl, "a1")
    commands = arrive(engine, "c1", T0, dnis="8000", caller_num="13800001111", caller_name="王五",
                      pbx="pbx1")
    assert commands == [
        Published("call.waiting", {"call": "c1", "queue": "sales", "rule": "default", "priority": 10,
                                 "dnis": "8000", "caller_num": "13800001111", "caller_name": "王五",
                                 "pbx": "pbx1"}),
        agent_state("a1", "reserved"),
        RingAgent("c1", "a1", "PJSIP/a1", 15.0, "sales", "13800001111", "王五"),
        StartTimer("ring", "c1", T0 + 15.0 + RING_GRACE),
        Published("call.offered", {"call": "c1", "queue": "sales", "agent": "a1", "offer": 1}),
        StartTimer("sla", "check", T0 + CHECK_EVERY),  # enforcement checks while calls wait
    ]
    assert engine.calls["c1"].status is CallStatus.RINGING
    assert engine.calls["c1"].agent == "a1"
    assert status(engine, "a1") is AgentStatus.RESERVED


def test_call_with_free_agent_in_escalating_queue_also_arms_the_next_step_timer():
    engine = engine_for(escalation_table(), "senior")
    commands = arrive(engine, "c1", T0)
    assert [c for c in commands if not isinstance(c, Fact)] == [
        StartTimer("step", "c1", T0 + 20),
        RingAgent("c1", "senior", "PJSIP/senior", 15.0, "sales", "", ""),
        StartTimer("ring", "c1", T0 + 15.0 + RING_GRACE),
        StartTimer("sla", "check", T0 + CHECK_EVERY),
    ]


def test_call_without_eligible_agent_waits_with_step_timer_at_entered_plus_next_after():
    engine = engine_for(escalation_table(), "junior", "gen", "billing")  # none is sales>=7
    commands = arrive(engine, "c1", T0)
    assert commands == [
        Published("call.waiting", {"call": "c1", "queue": "sales", "rule": "default", "priority": 10,
                                 "dnis": "", "caller_num": "", "caller_name": "", "pbx": ""}),
        StartTimer("step", "c1", T0 + 20),
        StartTimer("sla", "check", T0 + CHECK_EVERY),
    ]
    call = engine.calls["c1"]
    assert (call.status, call.step, call.entered, call.arrived) == (CallStatus.WAITING, 0, T0, T0)
    assert line_ids(engine) == ["c1"]
    assert engine.waiting_in("sales") == 1


def test_duplicate_call_waiting_is_ignored():
    engine = engine_for(escalation_table())
    arrive(engine, "c1", T0)
    assert arrive(engine, "c1", T0 + 1) == [
        Published("router.ignored", {"event": "CallWaiting", "why": "call already known"})]
    assert engine.calls["c1"].arrived == T0


# ------------------------------------------------------------ escalation


def test_escalation_at_20s_widens_from_sales_7_to_sales_3():
    engine = engine_for(escalation_table(), "junior", "gen")
    arrive(engine, "c1", T0)
    commands = engine.handle(ev.TimerFired("step", "c1"), T0 + 20)
    assert commands == [
        Published("call.escalated", {"call": "c1", "queue": "sales", "step": 1, "source": "step@20"}),
        StartTimer("step", "c1", T0 + 45),
        agent_state("junior", "reserved"),
        RingAgent("c1", "junior", "PJSIP/junior", 15.0, "sales", "", ""),
        StartTimer("ring", "c1", T0 + 20 + 15.0 + RING_GRACE),
        Published("call.offered", {"call": "c1", "queue": "sales", "agent": "junior", "offer": 1}),
    ]


def test_escalation_at_45s_also_admits_the_general_queues_agents():
    engine = engine_for(escalation_table(), "gen", "billing")
    arrive(engine, "c1", T0)
    at20 = engine.handle(ev.TimerFired("step", "c1"), T0 + 20)
    assert rings(at20) == []  # general agent is not sales>=3
    at45 = engine.handle(ev.TimerFired("step", "c1"), T0 + 45)
    assert published(at45, "call.escalated") == [
        {"call": "c1", "queue": "sales", "step": 2, "source": "step@45"}]
    assert StartTimer("step", "c1", T0 + 90) in at45
    assert rings(at45) == [("c1", "gen")]  # never billing


def test_step_timer_firing_early_only_rearms_the_timer():
    engine = engine_for(escalation_table(), "junior")
    arrive(engine, "c1", T0)
    assert engine.handle(ev.TimerFired("step", "c1"), T0 + 10) == [StartTimer("step", "c1", T0 + 20)]
    assert engine.calls["c1"].step == 0


def test_step_timer_firing_late_jumps_to_the_step_for_the_time_waited():
    engine = engine_for(escalation_table(), "gen")
    arrive(engine, "c1", T0)
    commands = engine.handle(ev.TimerFired("step", "c1"), T0 + 50)
    assert published(commands, "call.escalated") == [
        {"call": "c1", "queue": "sales", "step": 2, "source": "step@45"}]
    assert rings(commands) == [("c1", "gen")]


def test_action_step_ends_the_wait_with_max_wait_and_call_overflowed():
    engine = engine_for(escalation_table(), "billing")
    arrive(engine, "c1", T0)
    for t in (20, 45):
        engine.handle(ev.TimerFired("step", "c1"), T0 + t)
    commands = engine.handle(ev.TimerFired("step", "c1"), T0 + 90)
    assert commands == [
        Published("call.escalated", {"call": "c1", "queue": "sales", "step": 3, "source": "step@90"}),
        RunAction("c1", Action("callback"), "max-wait", "sales"),
        CancelTimer("step", "c1"),
        Published("call.overflowed", {"call": "c1", "queue": "sales", "wait": 90.0,
                                    "reason": "max-wait", "action": "callback"}),
        # No caller number: the callback cannot be made, and says so at once.
        Published("callback.failed", {"call": "cb-c1", "origin": "c1", "queue": "sales",
                                    "reason": "no-number", "attempts": 0}),
    ]
    assert "c1" not in engine.calls
    assert engine.line() == [] and engine.waiting_in("sales") == 0


def test_action_step_while_ringing_waits_then_no_answer_runs_the_action():
    engine = engine_for(escalation_table())
    arrive(engine, "c1", T0)
    engine.handle(ev.AgentLogin("senior"), T0 + 85)  # offered at 85 s
    at90 = engine.handle(ev.TimerFired("step", "c1"), T0 + 90)
    assert at90 == [Published("call.escalated",
                            {"call": "c1", "queue": "sales", "step": 3, "source": "step@90"})]
    assert engine.calls["c1"].status is CallStatus.RINGING
    assert status(engine, "senior") is AgentStatus.RESERVED

    commands = engine.handle(ev.AgentNoAnswer("c1", "senior"), T0 + 95)
    assert RunAction("c1", Action("callback"), "max-wait", "sales") in commands
    assert kinds(commands).count("call.overflowed") == 1
    assert published(commands, "call.no_answer") == [
        {"call": "c1", "agent": "senior", "reason": "no-answer"}]
    assert "c1" not in engine.calls
    assert status(engine, "senior") is AgentStatus.WRAPUP


def test_action_step_while_ringing_then_answer_means_answered_not_overflowed():
    engine = engine_for(escalation_table())
    arrive(engine, "c1", T0)
    engine.handle(ev.AgentLogin("senior"), T0 + 85)
    engine.handle(ev.TimerFired("step", "c1"), T0 + 90)
    commands = engine.handle(ev.AgentAnswered("c1", "senior"), T0 + 95)
    assert not [c for c in commands if isinstance(c, RunAction)]
    assert published(commands, "call.answered") == [
        {"call": "c1", "queue": "sales", "agent": "senior", "wait": 95.0}]
    assert "call.overflowed" not in kinds(commands)
    assert engine.calls["c1"].status is CallStatus.CONNECTED
    assert status(engine, "senior") is AgentStatus.ON_CALL


def test_action_step_while_ringing_then_ring_guard_runs_the_action():
    engine = engine_for(escalation_table())
    arrive(engine, "c1", T0)
    engine.handle(ev.AgentLogin("senior"), T0 + 85)
    engine.handle(ev.TimerFired("step", "c1"), T0 + 90)
    commands = engine.handle(ev.TimerFired("ring", "c1"), T0 + 85 + 15 + RING_GRACE)
    assert commands[0] == CancelRing("c1", "senior")
    assert RunAction("c1", Action("callback"), "max-wait", "sales") in commands
    assert "c1" not in engine.calls


# -------------------------------------------------------------- no-answer


def test_no_answer_puts_agent_to_rest_and_keeps_the_call_waiting():
    engine = engine_for(simple_table(), "a1")
    arrive(engine, "c1", T0)
    commands = engine.handle(ev.AgentNoAnswer("c1", "a1"), T0 + 3)
    assert commands == [
        CancelTimer("ring", "c1"),
        Published("call.no_answer", {"call": "c1", "agent": "a1", "reason": "no-answer"}),
        agent_state("a1", "wrapup"),
        StartTimer("wrapup", "a1", T0 + 3 + 5.0),
    ]
    assert engine.calls["c1"].status is CallStatus.WAITING
    assert engine.calls["c1"].agent is None
    assert engine.agents["a1"].misses == 1


def test_no_answer_reason_from_pbx_is_published():
    engine = engine_for(simple_table(), "a1")
    arrive(engine, "c1", T0)
    commands = engine.handle(ev.AgentNoAnswer("c1", "a1", "busy"), T0 + 1)
    assert published(commands, "call.no_answer") == [{"call": "c1", "agent": "a1", "reason": "busy"}]


@pytest.mark.parametrize("reason", ["busy", "congestion", "failed"])
def test_technical_failures_rest_the_agent_but_never_auto_pause(reason):
    """A PBX or network fault must not pause agents: only no-answers count."""
    engine = engine_for(simple_table(), "a1")
    for n in range(5):
        arrive(engine, f"c{n}", T0 + 10 * n)
        engine.handle(ev.AgentNoAnswer(f"c{n}", "a1", reason), T0 + 10 * n + 1)
        engine.handle(ev.TimerFired("wrapup", "a1"), T0 + 10 * n + 7)
        engine.handle(ev.CallLeft(f"c{n}"), T0 + 10 * n + 8)
    assert engine.agents["a1"].misses == 0
    assert status(engine, "a1") is AgentStatus.AVAILABLE


def test_rest_after_no_answer_ends_on_wrapup_timer_and_agent_is_offered_again():
    engine = engine_for(simple_table(), "a1")
    arrive(engine, "c1", T0)
    engine.handle(ev.AgentNoAnswer("c1", "a1"), T0 + 3)
    assert engine.handle(ev.TimerFired("wrapup", "a1"), T0 + 6) == []  # early: still resting
    assert status(engine, "a1") is AgentStatus.WRAPUP
    commands = engine.handle(ev.TimerFired("wrapup", "a1"), T0 + 8)
    assert commands[:2] == [CancelTimer("wrapup", "a1"), agent_state("a1", "available")]
    assert rings(commands) == [("c1", "a1")]
    assert published(commands, "call.offered") == [
        {"call": "c1", "queue": "support", "agent": "a1", "offer": 2}]


def test_no_answer_keeps_the_calls_place_ahead_of_newer_calls():
    engine = engine_for(simple_table(), "a1")
    arrive(engine, "c1", T0 + 1)
    arrive(engine, "c2", T0 + 2)
    engine.handle(ev.AgentNoAnswer("c1", "a1"), T0 + 3)
    assert line_ids(engine) == ["c1", "c2"]
    commands = engine.handle(ev.AgentLogin("a2"), T0 + 4)
    assert rings(commands) == [("c1", "a2")]


def test_consecutive_misses_reaching_max_no_answer_pause_the_agent():
    engine = engine_for(simple_table(agent("a1", support=5, max_no_answer=2), no_answer_rest=0.0), "a1")
    arrive(engine, "c1", T0)
    first = engine.handle(ev.AgentNoAnswer("c1", "a1"), T0 + 1)
    assert rings(first) == []  # rest 0 still means the 1 s floor (MIN_RETRY)
    assert rings(engine.handle(ev.TimerFired("wrapup", "a1"), T0 + 2)) == [("c1", "a1")]
    second = engine.handle(ev.AgentNoAnswer("c1", "a1"), T0 + 3)
    assert agent_state("a1", "paused", "no-answer") in second
    assert rings(second) == []
    rec = engine.agents["a1"]
    assert (rec.status, rec.reason, rec.misses) == (AgentStatus.PAUSED, "no-answer", 2)
    assert engine.calls["c1"].status is CallStatus.WAITING


def test_a_busy_phone_is_not_re_rung_in_a_loop_even_with_rest_zero():
    engine = engine_for(simple_table(agent("a1", support=5), no_answer_rest=0.0), "a1")
    arrive(engine, "c1", T0)
    commands = engine.handle(ev.AgentNoAnswer("c1", "a1", "busy"), T0 + 0.1)
    assert rings(commands) == []
    assert StartTimer("wrapup", "a1", T0 + 0.1 + MIN_RETRY) in commands


def test_max_no_answer_zero_never_pauses_the_agent():
    engine = engine_for(simple_table(agent("a1", support=5, max_no_answer=0), no_answer_rest=0.0), "a1")
    arrive(engine, "c1", T0)
    for i in range(10):
        commands = engine.handle(ev.AgentNoAnswer("c1", "a1"), T0 + 1 + 2 * i)
        commands += engine.handle(ev.TimerFired("wrapup", "a1"), T0 + 2 + 2 * i)
        assert rings(commands) == [("c1", "a1")]
        assert "paused" not in [p["state"] for p in published(commands, "agent.state")]
    assert engine.agents["a1"].misses == 10


def test_answer_resets_the_consecutive_miss_count():
    engine = engine_for(simple_table(agent("a1", support=5, max_no_answer=2), no_answer_rest=0.0), "a1")
    arrive(engine, "c1", T0)
    engine.handle(ev.AgentNoAnswer("c1", "a1"), T0 + 1)
    assert engine.agents["a1"].misses == 1
    engine.handle(ev.TimerFired("wrapup", "a1"), T0 + 2)  # rest over: offered again
    answer_and_end(engine, "c1", "a1", T0 + 2, T0 + 30)
    assert engine.agents["a1"].misses == 0
    arrive(engine, "c2", T0 + 40)
    engine.handle(ev.AgentNoAnswer("c2", "a1"), T0 + 41)
    assert engine.agents["a1"].misses == 1
    commands = engine.handle(ev.TimerFired("wrapup", "a1"), T0 + 42)
    assert status(engine, "a1") is AgentStatus.RESERVED  # offered again, not paused
    assert rings(commands) == [("c2", "a1")]


def test_ring_guard_withdraws_an_offer_the_pbx_never_reported():
    engine = engine_for(simple_table(), "a1")
    arrive(engine, "c1", T0)
    commands = engine.handle(ev.TimerFired("ring", "c1"), T0 + 15 + RING_GRACE)
    assert commands == [
        CancelRing("c1", "a1"),
        CancelTimer("ring", "c1"),
        Published("call.no_answer", {"call": "c1", "agent": "a1", "reason": "timeout"}),
        agent_state("a1", "wrapup"),
        StartTimer("wrapup", "a1", T0 + 20 + 5.0),
    ]
    assert engine.agents["a1"].misses == 0  # a lost PBX reply is not the agent's miss
    assert engine.calls["c1"].status is CallStatus.WAITING


def test_ring_timer_for_a_call_no_longer_ringing_is_ignored():
    engine = engine_for(simple_table(), "a1")
    arrive(engine, "c1", T0)
    engine.handle(ev.AgentNoAnswer("c1", "a1"), T0 + 3)
    assert engine.handle(ev.TimerFired("ring", "c1"), T0 + 20) == []


def test_stale_ring_timer_does_not_withdraw_a_newer_offer():
    """engine.py: "A timer firing late, twice, or after its reason is gone is
    harmless: each handler re-derives what to do from the state and the time."
    The PBX reports a1's no-answer at 19.9 s; the call is re-offered to a2 with
    a ring guard due at 19.9 + 15 + 5. The first offer's guard (due at 20 s)
    was already on its way and arrives at 20 s: a2's 0.1 s old offer must stand."""
    engine = engine_for(simple_table(), "a1", "a2")
    arrive(engine, "c1", T0)
    assert engine.calls["c1"].agent == "a1"
    commands = engine.handle(ev.AgentNoAnswer("c1", "a1"), T0 + 19.9)
    assert rings(commands) == [("c1", "a2")]
    assert StartTimer("ring", "c1", T0 + 19.9 + 15 + RING_GRACE) in commands
    stale = engine.handle(ev.TimerFired("ring", "c1"), T0 + 20)
    assert CancelRing("c1", "a2") not in stale
    assert engine.calls["c1"].agent == "a2"
    assert status(engine, "a2") is AgentStatus.RESERVED
    assert engine.agents["a2"].misses == 0


def test_ring_guard_fired_twice_does_not_withdraw_the_re_offer():
    """The same guard delivered twice (engine.py promises that is harmless):
    the first delivery moves the call from a1 to a2, the second must not
    take it from a2 the same instant and charge a2 a miss."""
    engine = engine_for(simple_table(), "a1", "a2")
    arrive(engine, "c1", T0)
    first = engine.handle(ev.TimerFired("ring", "c1"), T0 + 20)
    assert rings(first) == [("c1", "a2")]
    again = engine.handle(ev.TimerFired("ring", "c1"), T0 + 20)
    assert again == []
    assert engine.calls["c1"].agent == "a2"
    assert engine.agents["a2"].misses == 0


# ---------------------------------------------------------------- abandon


def test_abandon_while_waiting_publishes_abandoned_and_leaves_agents_alone():
    engine = engine_for(escalation_table(), "gen")
    arrive(engine, "c1", T0)
    commands = engine.handle(ev.CallLeft("c1"), T0 + 7)
    assert commands == [
        CancelTimer("step", "c1"),
        Published("call.abandoned", {"call": "c1", "queue": "sales", "wait": 7.0}),
    ]
    assert "c1" not in engine.calls and engine.line() == []
    assert engine.waiting_in("sales") == 0
    assert status(engine, "gen") is AgentStatus.AVAILABLE


def test_abandon_while_ringing_cancels_ring_and_agent_keeps_its_idle_since():
    engine = Engine(simple_table())
    engine.handle(ev.AgentLogin("a1"), T0)
    engine.handle(ev.AgentLogin("a2"), T0 + 5)
    assert rings(arrive(engine, "c1", T0 + 10)) == [("c1", "a1")]
    commands = engine.handle(ev.CallLeft("c1"), T0 + 12)
    assert commands == [
        CancelRing("c1", "a1"),
        CancelTimer("ring", "c1"),
        agent_state("a1", "available"),
        CancelTimer("step", "c1"),
        Published("call.abandoned", {"call": "c1", "queue": "support", "wait": 2.0}),
    ]
    assert engine.agents["a1"].idle_since == T0
    assert engine.agents["a1"].misses == 0
    # Still the longest idle: the next call goes to a1, not a2.
    assert rings(arrive(engine, "c2", T0 + 13)) == [("c2", "a1")]


def test_a_leg_that_appears_after_its_caller_left_is_hung_up_again():
    """The caller hung up while the Originate was on its way: the first
    Hangup found no channel yet. When the leg shows up (AgentOffered, from its
    Newchannel) the router hangs it up again, else the agent would answer for
    nobody."""
    engine = Engine(simple_table())
    engine.handle(ev.AgentLogin("a1"), T0)
    assert rings(arrive(engine, "c1", T0 + 10)) == [("c1", "a1")]
    assert CancelRing("c1", "a1") in engine.handle(ev.CallLeft("c1"), T0 + 10.1)
    late = engine.handle(ev.AgentOffered("c1", "a1"), T0 + 10.2)
    assert late[0] == CancelRing("c1", "a1")
    assert kinds(late) == ["router.ignored"] and len(late) == 2
    # A leg of a withdrawn offer for a call still waiting: hung up too, and
    # the call's own state is untouched.
    arrive(engine, "c2", T0 + 20)  # rings a1 (available again)
    engine.handle(ev.AgentNoAnswer("c2", "a1", "busy"), T0 + 21)
    assert engine.handle(ev.AgentOffered("c2", "a1"), T0 + 21.5)[0] == CancelRing("c2", "a1")
    assert engine.calls["c2"].status is CallStatus.WAITING


def test_call_left_for_unknown_call_is_ignored():
    engine = Engine(simple_table())
    assert engine.handle(ev.CallLeft("nope"), T0) == [
        Published("router.ignored", {"event": "CallLeft", "why": "unknown call"})]


# ------------------------------------------------------ late/stray answers


def test_answer_from_an_agent_the_call_is_not_ringing_hangs_up_that_leg():
    engine = engine_for(simple_table(), "a1", "a2")
    arrive(engine, "c1", T0)  # rings a1
    commands = engine.handle(ev.AgentAnswered("c1", "a2"), T0 + 1)
    assert commands == [
        CancelRing("c1", "a2"),
        Published("router.ignored", {"event": "AgentAnswered",
                                   "why": "answer to an offer no longer open; agent leg hung up"}),
    ]
    assert engine.calls["c1"].status is CallStatus.RINGING and engine.calls["c1"].agent == "a1"
    assert status(engine, "a1") is AgentStatus.RESERVED
    assert status(engine, "a2") is AgentStatus.AVAILABLE


def test_answer_for_an_abandoned_call_hangs_up_the_agent_leg():
    engine = engine_for(simple_table(), "a1")
    arrive(engine, "c1", T0)
    engine.handle(ev.CallLeft("c1"), T0 + 2)
    commands = engine.handle(ev.AgentAnswered("c1", "a1"), T0 + 3)
    assert commands[0] == CancelRing("c1", "a1")
    assert kinds(commands) == ["router.ignored"]
    assert status(engine, "a1") is AgentStatus.AVAILABLE


def test_answer_after_ring_guard_withdrew_the_offer_hangs_up_the_agent_leg():
    engine = engine_for(simple_table(), "a1")
    arrive(engine, "c1", T0)
    engine.handle(ev.TimerFired("ring", "c1"), T0 + 20)
    commands = engine.handle(ev.AgentAnswered("c1", "a1"), T0 + 21)
    assert commands[0] == CancelRing("c1", "a1")
    assert engine.calls["c1"].status is CallStatus.WAITING


def test_duplicate_answer_for_a_connected_call_is_ignored_without_cancel_ring():
    engine = engine_for(simple_table(), "a1")
    arrive(engine, "c1", T0)
    engine.handle(ev.AgentAnswered("c1", "a1"), T0 + 2)
    commands = engine.handle(ev.AgentAnswered("c1", "a1"), T0 + 2.5)
    assert commands == [Published("router.ignored", {"event": "AgentAnswered", "why": "already answered"})]
    assert engine.calls["c1"].status is CallStatus.CONNECTED
    assert engine.agents["a1"].calls_taken == 1


def test_answer_for_a_call_connected_to_another_agent_hangs_up_that_leg():
    engine = engine_for(simple_table(), "a1", "a2")
    arrive(engine, "c1", T0)
    engine.handle(ev.AgentAnswered("c1", "a1"), T0 + 2)
    commands = engine.handle(ev.AgentAnswered("c1", "a2"), T0 + 3)
    assert commands[0] == CancelRing("c1", "a2")
    assert engine.calls["c1"].agent == "a1"


def test_answer_connects_call_and_cancels_its_timers():
    engine = engine_for(escalation_table(), "senior")
    arrive(engine, "c1", T0)
    commands = engine.handle(ev.AgentAnswered("c1", "senior"), T0 + 4)
    assert commands == [
        CancelTimer("ring", "c1"),
        agent_state("senior", "on_call"),
        CancelTimer("step", "c1"),
        Published("call.answered", {"call": "c1", "queue": "sales", "agent": "senior", "wait": 4.0}),
    ]
    assert engine.line() == [] and engine.waiting_in("sales") == 0
    assert engine.agents["senior"].calls_taken == 1


def test_offered_confirmation_publishes_ringing_only_for_the_open_offer():
    engine = engine_for(simple_table(), "a1", "a2")
    arrive(engine, "c1", T0)
    assert engine.handle(ev.AgentOffered("c1", "a1"), T0 + 0.2) == [
        Published("call.ringing", {"call": "c1", "agent": "a1"})]
    assert kinds(engine.handle(ev.AgentOffered("c1", "a2"), T0 + 0.3)) == ["router.ignored"]


# ------------------------------------------------------------ end, wrap-up


def test_call_end_puts_agent_in_the_queues_wrapup_then_available():
    engine = engine_for(simple_table(wrapup=10.0), "a1")
    arrive(engine, "c1", T0)
    commands = answer_and_end(engine, "c1", "a1", T0 + 2, T0 + 60)
    assert commands == [
        Published("call.ended", {"call": "c1", "queue": "support", "agent": "a1"}),
        agent_state("a1", "wrapup"),
        StartTimer("wrapup", "a1", T0 + 70),
    ]
    assert "c1" not in engine.calls
    commands = engine.handle(ev.TimerFired("wrapup", "a1"), T0 + 70)
    assert commands == [CancelTimer("wrapup", "a1"), agent_state("a1", "available")]
    assert engine.agents["a1"].idle_since == T0 + 70


def test_agents_own_wrapup_overrides_the_queues():
    engine = engine_for(simple_table(agent("a1", support=5, wrapup=3.0), wrapup=10.0), "a1")
    arrive(engine, "c1", T0)
    commands = answer_and_end(engine, "c1", "a1", T0 + 2, T0 + 60)
    assert StartTimer("wrapup", "a1", T0 + 63) in commands


def test_agents_own_wrapup_of_zero_overrides_the_queues_and_frees_at_once():
    engine = engine_for(simple_table(agent("a1", support=5, wrapup=0.0), wrapup=10.0), "a1")
    arrive(engine, "c1", T0)
    commands = answer_and_end(engine, "c1", "a1", T0 + 2, T0 + 60)
    assert agent_state("a1", "available") in commands
    assert not [c for c in commands if isinstance(c, StartTimer)]


def test_wrapup_zero_makes_agent_available_at_once_for_the_next_waiting_call():
    engine = engine_for(simple_table(wrapup=0.0), "a1")
    arrive(engine, "c1", T0)
    arrive(engine, "c2", T0 + 1)
    commands = answer_and_end(engine, "c1", "a1", T0 + 2, T0 + 60)
    assert commands[:2] == [
        Published("call.ended", {"call": "c1", "queue": "support", "agent": "a1"}),
        agent_state("a1", "available"),
    ]
    assert rings(commands) == [("c2", "a1")]


def test_call_left_on_a_connected_call_counts_as_call_end():
    engine = engine_for(simple_table(), "a1")
    arrive(engine, "c1", T0)
    engine.handle(ev.AgentAnswered("c1", "a1"), T0 + 1)
    commands = engine.handle(ev.CallLeft("c1"), T0 + 5)
    assert kinds(commands)[0] == "call.ended"
    assert "call.abandoned" not in kinds(commands)


# ----------------------------------------------------------- pause/logout


def test_pause_while_available_takes_agent_out_of_routing():
    engine = engine_for(simple_table(), "a1")
    assert engine.handle(ev.AgentPause("a1", "lunch"), T0) == [agent_state("a1", "paused", "lunch")]
    assert rings(arrive(engine, "c1", T0 + 1)) == []
    commands = engine.handle(ev.AgentUnpause("a1"), T0 + 2)
    assert commands[0] == agent_state("a1", "available")
    assert rings(commands) == [("c1", "a1")]


def test_logout_while_available():
    engine = engine_for(simple_table(), "a1")
    assert engine.handle(ev.AgentLogout("a1"), T0) == [agent_state("a1", "logged_out")]
    assert rings(arrive(engine, "c1", T0 + 1)) == []


def test_pause_while_in_wrapup_cancels_the_wrapup_timer():
    engine = engine_for(simple_table(wrapup=10.0), "a1")
    arrive(engine, "c1", T0)
    answer_and_end(engine, "c1", "a1", T0 + 1, T0 + 5)
    assert engine.handle(ev.AgentPause("a1", "meal"), T0 + 6) == [
        CancelTimer("wrapup", "a1"), agent_state("a1", "paused", "meal")]
    assert engine.handle(ev.TimerFired("wrapup", "a1"), T0 + 15) == []
    assert status(engine, "a1") is AgentStatus.PAUSED


def test_pause_while_ringing_withdraws_offer_call_keeps_place_no_miss():
    engine = engine_for(simple_table(), "a1")
    arrive(engine, "c1", T0)
    arrive(engine, "c2", T0 + 1)
    commands = engine.handle(ev.AgentPause("a1", "break"), T0 + 2)
    assert commands == [
        agent_state("a1", "paused", "break"),
        CancelRing("c1", "a1"),
        CancelTimer("ring", "c1"),
    ]
    assert engine.agents["a1"].misses == 0
    assert engine.calls["c1"].status is CallStatus.WAITING and engine.calls["c1"].agent is None
    assert line_ids(engine) == ["c1", "c2"]
    assert rings(engine.handle(ev.AgentLogin("a2"), T0 + 3)) == [("c1", "a2")]


def test_logout_while_ringing_withdraws_offer_to_the_next_free_agent():
    engine = engine_for(simple_table(), "a1", "a2")
    arrive(engine, "c1", T0)  # a1
    commands = engine.handle(ev.AgentLogout("a1"), T0 + 2)
    assert commands[:3] == [agent_state("a1", "logged_out"), CancelRing("c1", "a1"),
                            CancelTimer("ring", "c1")]
    assert "call.no_answer" not in kinds(commands)
    assert rings(commands) == [("c1", "a2")]
    assert engine.agents["a1"].misses == 0


def test_pause_while_on_call_takes_effect_after_the_call_without_wrapup():
    engine = engine_for(simple_table(wrapup=10.0), "a1")
    arrive(engine, "c1", T0)
    engine.handle(ev.AgentAnswered("c1", "a1"), T0 + 1)
    # Published (issue 12): the state file must know it across a restart.
    assert engine.handle(ev.AgentPause("a1", "meeting"), T0 + 2) == [
        Published("agent.state", {"agent": "a1", "state": "on_call", "reason": "",
                                 "pending": "paused", "pending_reason": "meeting"})]
    assert status(engine, "a1") is AgentStatus.ON_CALL
    arrive(engine, "c2", T0 + 3)
    commands = engine.handle(ev.CallEnded("c1"), T0 + 30)
    assert commands == [
        Published("call.ended", {"call": "c1", "queue": "support", "agent": "a1"}),
        agent_state("a1", "paused", "meeting"),
    ]
    assert engine.agents["a1"].pending is None


def test_logout_while_on_call_takes_effect_after_the_call_without_wrapup():
    engine = engine_for(simple_table(wrapup=10.0), "a1")
    arrive(engine, "c1", T0)
    engine.handle(ev.AgentAnswered("c1", "a1"), T0 + 1)
    assert engine.handle(ev.AgentLogout("a1"), T0 + 2) == [
        Published("agent.state", {"agent": "a1", "state": "on_call", "reason": "",
                                 "pending": "logged_out", "pending_reason": ""})]
    commands = engine.handle(ev.CallEnded("c1"), T0 + 30)
    assert commands == [
        Published("call.ended", {"call": "c1", "queue": "support", "agent": "a1"}),
        agent_state("a1", "logged_out"),
    ]


def test_unpause_on_a_call_clears_the_pending_pause():
    engine = engine_for(simple_table(wrapup=10.0), "a1")
    arrive(engine, "c1", T0)
    engine.handle(ev.AgentAnswered("c1", "a1"), T0 + 1)
    engine.handle(ev.AgentPause("a1", "meeting"), T0 + 2)
    assert engine.handle(ev.AgentUnpause("a1"), T0 + 3) == [
        Published("agent.state", {"agent": "a1", "state": "on_call", "reason": "",
                                 "pending": "", "pending_reason": ""})]
    commands = engine.handle(ev.CallEnded("c1"), T0 + 30)
    assert agent_state("a1", "wrapup") in commands
    assert StartTimer("wrapup", "a1", T0 + 40) in commands
    engine.handle(ev.TimerFired("wrapup", "a1"), T0 + 40)
    assert status(engine, "a1") is AgentStatus.AVAILABLE


def test_login_on_a_call_clears_the_pending_logout():
    engine = engine_for(simple_table(), "a1")
    arrive(engine, "c1", T0)
    engine.handle(ev.AgentAnswered("c1", "a1"), T0 + 1)
    engine.handle(ev.AgentLogout("a1"), T0 + 2)
    engine.handle(ev.AgentLogin("a1"), T0 + 3)
    engine.handle(ev.CallEnded("c1"), T0 + 30)
    assert status(engine, "a1") is AgentStatus.AVAILABLE


def test_unpause_of_an_agent_not_paused_is_ignored():
    engine = engine_for(simple_table(), "a1")
    assert engine.handle(ev.AgentUnpause("a1"), T0) == [
        Published("router.ignored", {"event": "AgentUnpause", "why": "agent is available, not paused"})]


def test_pause_of_a_logged_out_agent_is_ignored():
    engine = Engine(simple_table())
    assert engine.handle(ev.AgentPause("a1"), T0) == [
        Published("router.ignored", {"event": "AgentPause", "why": "agent is logged out"})]
    assert status(engine, "a1") is AgentStatus.LOGGED_OUT


def test_events_for_unknown_agents_are_ignored():
    engine = Engine(simple_table())
    for event in (ev.AgentLogin("ghost"), ev.AgentLogout("ghost"), ev.AgentPause("ghost"),
                  ev.AgentUnpause("ghost")):
        assert engine.handle(event, T0) == [
            Published("router.ignored", {"event": type(event).__name__, "why": "unknown agent"})]
    assert "ghost" not in engine.agents


def test_unknown_event_type_is_ignored():
    engine = Engine(simple_table())
    assert engine.handle(object(), T0) == [
        Published("router.ignored", {"event": "object", "why": "unknown event type"})]


# ------------------------------------------------------------- strategies


def test_longest_idle_picks_earliest_idle_since():
    engine = Engine(simple_table(agent("a1", support=5), agent("a2", support=5), agent("a3", support=5)))
    engine.handle(ev.AgentLogin("a1"), T0 + 5)
    engine.handle(ev.AgentLogin("a3"), T0)
    engine.handle(ev.AgentLogin("a2"), T0 + 2)
    assert rings(arrive(engine, "c1", T0 + 10)) == [("c1", "a3")]


def test_longest_idle_ties_break_by_agent_id():
    engine = Engine(simple_table(agent("b", support=5), agent("a", support=5), agent("c", support=5)))
    for aid in ("c", "b", "a"):
        engine.handle(ev.AgentLogin(aid), T0)
    assert rings(arrive(engine, "c1", T0 + 10)) == [("c1", "a")]


def test_longest_idle_sends_an_agent_back_after_a_call():
    engine = engine_for(simple_table(), "a1", "a2")
    arrive(engine, "c1", T0)  # a1 (tie by id)
    answer_and_end(engine, "c1", "a1", T0 + 1, T0 + 30)
    assert engine.agents["a1"].idle_since == T0 + 30
    assert rings(arrive(engine, "c2", T0 + 31)) == [("c2", "a2")]


def test_fewest_calls_prefers_fewer_calls_then_longest_idle():
    tbl = simple_table(agent("a1", support=5), agent("a2", support=5), agent("a3", support=5),
                       strategy=Strategy.FEWEST_CALLS)
    engine = engine_for(tbl, "a1", at=T0)
    for i, t in enumerate((10, 20)):
        arrive(engine, f"x{i}", T0 + t)
        answer_and_end(engine, f"x{i}", "a1", T0 + t + 1, T0 + t + 5)
    assert engine.agents["a1"].calls_taken == 2  # idle since 25: the longest idle of all
    engine.handle(ev.AgentLogin("a2"), T0 + 100)
    engine.handle(ev.AgentLogin("a3"), T0 + 50)
    assert rings(arrive(engine, "c1", T0 + 200)) == [("c1", "a3")]  # 0 calls, idle longer than a2
    engine.handle(ev.AgentAnswered("c1", "a3"), T0 + 201)
    assert rings(arrive(engine, "c2", T0 + 202)) == [("c2", "a2")]


def test_round_robin_rotates_in_id_order_and_wraps():
    tbl = simple_table(agent("a2", support=5), agent("a3", support=5), agent("a1", support=5),
                       strategy=Strategy.ROUND_ROBIN)
    engine = Engine(tbl)
    engine.handle(ev.AgentLogin("a3"), T0 - 30)  # longest idle: RR must not care
    engine.handle(ev.AgentLogin("a2"), T0 - 20)
    engine.handle(ev.AgentLogin("a1"), T0 - 10)
    served = []
    for i in range(5):
        cid = f"c{i}"
        (pair,) = rings(arrive(engine, cid, T0 + 10 * i))
        served.append(pair[1])
        answer_and_end(engine, cid, pair[1], T0 + 10 * i + 1, T0 + 10 * i + 2)
    assert served == ["a1", "a2", "a3", "a1", "a2"]


def test_round_robin_skips_busy_agents_to_the_next_id():
    tbl = simple_table(agent("a1", support=5), agent("a2", support=5), agent("a3", support=5),
                       strategy=Strategy.ROUND_ROBIN)
    engine = engine_for(tbl, "a1", "a2", "a3")
    assert rings(arrive(engine, "c1", T0)) == [("c1", "a1")]
    engine.handle(ev.AgentAnswered("c1", "a1"), T0 + 1)
    assert rings(arrive(engine, "c2", T0 + 2)) == [("c2", "a2")]
    engine.handle(ev.AgentAnswered("c2", "a2"), T0 + 3)
    engine.handle(ev.CallEnded("c1"), T0 + 4)
    assert rings(arrive(engine, "c3", T0 + 5)) == [("c3", "a3")]
    engine.handle(ev.AgentAnswered("c3", "a3"), T0 + 6)
    assert rings(arrive(engine, "c4", T0 + 7)) == [("c4", "a1")]  # wraps past busy a2


def test_best_skilled_picks_highest_level_sum_of_the_requirement_skills():
    agents_ = [agent("a1", sales=5, english=5),                # 10
               agent("a2", sales=9, english=2),                # 11
               agent("a3", sales=9, english=1, mandarin=10),   # 10: mandarin is not asked for
               agent("a4", sales=8, english=3)]                # 11, idle longer than a2
    q = queue("sales", step(0, req(sales=3, english=1)), strategy=Strategy.BEST_SKILLED)
    engine = Engine(table(agents_, [q]))
    engine.handle(ev.AgentLogin("a1"), T0 - 50)
    engine.handle(ev.AgentLogin("a3"), T0 - 40)
    engine.handle(ev.AgentLogin("a4"), T0 - 20)
    engine.handle(ev.AgentLogin("a2"), T0 - 10)
    assert rings(arrive(engine, "c1", T0)) == [("c1", "a4")]
    assert rings(arrive(engine, "c2", T0 + 1)) == [("c2", "a2")]
    assert rings(arrive(engine, "c3", T0 + 2)) == [("c3", "a1")]  # 10 vs 10: a1 idle longer


def test_best_skilled_counts_the_rules_extra_skills():
    agents_ = [agent("a1", sales=9, cantonese=1), agent("a2", sales=4, cantonese=9)]
    q = queue("sales", step(0, req(sales=3)), strategy=Strategy.BEST_SKILLED)
    yue = rule("yue", q, Match(dnis=(compile_pattern("8001"),)), skills=(("cantonese", 1),))
    engine = engine_for(table(agents_, [q], [yue]), "a1", "a2")
    assert rings(arrive(engine, "c1", T0, dnis="8001")) == [("c1", "a2")]  # 13 vs 10


def _random_choice(call_id: str, login_order: tuple[str, ...]) -> str:
    tbl = simple_table(*(agent(a, support=5) for a in ("a1", "a2", "a3", "a4")),
                       strategy=Strategy.RANDOM)
    engine = Engine(tbl)
    for i, aid in enumerate(login_order):
        engine.handle(ev.AgentLogin(aid), T0 - i)
    (pair,) = rings(arrive(engine, call_id, T0))
    return pair[1]


def test_random_is_deterministic_for_the_same_inputs():
    order = ("a1", "a2", "a3", "a4")
    for i in range(10):
        assert _random_choice(f"call-{i}", order) == _random_choice(f"call-{i}", order)
    # Not even login order (nor idle time) changes the draw.
    assert [_random_choice(f"call-{i}", order) for i in range(10)] == \
        [_random_choice(f"call-{i}", tuple(reversed(order))) for i in range(10)]


def test_random_spreads_different_calls_over_all_agents():
    chosen = [_random_choice(f"call-{i}", ("a1", "a2", "a3", "a4")) for i in range(40)]
    assert set(chosen) == {"a1", "a2", "a3", "a4"}
    assert max(chosen.count(a) for a in set(chosen)) < 25


# ---------------------------------------------------------- line priority


def _priority_table() -> RoutingTable:
    general = queue("general", step(0, req(support=1)))
    vip = queue("vip", step(0, req(support=1)), priority=20)
    rules = [rule("vip", vip, Match(dnis=(compile_pattern("9000"),)))]
    return table([agent("a1", support=5)], [general, vip], rules, default="general")


def test_higher_priority_call_arriving_later_is_served_first():
    engine = engine_for(_priority_table(), "a1")
    arrive(engine, "busy", T0)
    engine.handle(ev.AgentAnswered("busy", "a1"), T0 + 1)
    arrive(engine, "c1", T0 + 2)  # general, priority 0
    arrive(engine, "c2", T0 + 3, dnis="9000")  # vip, priority 20
    assert line_ids(engine) == ["c2", "c1"]
    commands = engine.handle(ev.CallEnded("busy"), T0 + 10)
    assert rings(commands) == [("c2", "a1")]


def test_equal_priority_calls_are_served_in_arrival_order_across_queues():
    tbl = table([agent("a1", support=5, billing=5)],
                [queue("support", step(0, req(support=1))), queue("billing", step(0, req(billing=1)))],
                [rule("billing", queue("billing", step(0, req(billing=1))),
                      Match(dnis=(compile_pattern("7000"),)))])
    engine = Engine(tbl)
    arrive(engine, "c1", T0 + 1, dnis="7000")  # billing
    arrive(engine, "c2", T0 + 2)  # support
    arrive(engine, "c3", T0 + 3, dnis="7000")
    assert line_ids(engine) == ["c1", "c2", "c3"]
    assert rings(engine.handle(ev.AgentLogin("a1"), T0 + 4)) == [("c1", "a1")]


def test_a_free_agent_skips_calls_ahead_that_it_is_not_eligible_for():
    seniors = queue("sales", step(0, req(sales=7)))
    anyone = queue("easy", step(0, req(sales=1)))
    tbl = table([agent("junior", sales=4)], [seniors, anyone],
                [rule("easy", anyone, Match(dnis=(compile_pattern("1"),)))])
    engine = engine_for(tbl, "junior")
    arrive(engine, "c1", T0)  # sales: needs sales>=7
    assert rings(arrive(engine, "c2", T0 + 1, dnis="1")) == [("c2", "junior")]
    assert engine.calls["c1"].status is CallStatus.WAITING
    assert line_ids(engine) == ["c1", "c2"]


# ------------------------------------------------------- queues: calendar


BUSINESS = Calendar("business", "Asia/Shanghai",
                    tuple((d, 8 * 60 + 30, 20 * 60) for d in range(5)))  # mon-fri 08:30-20:00
MON_21H_SHANGHAI = 1772456400.0  # 2026-03-02 13:00 UTC (open, were it UTC)
MON_09H_SHANGHAI = 1772413200.0  # 2026-03-02 01:00 UTC (closed, were it UTC)


def _calendar_table() -> RoutingTable:
    q = queue("sales", step(0, req(sales=1)), hours="business",
              closed=Action("voicemail", "8000@sales", announce="closed-msg"))
    return with_calendar(table([agent("a1", sales=5)], [q]), BUSINESS)


def test_epoch_constants_are_the_shanghai_times_they_claim():
    assert shanghai(2026, 3, 2, 21) == MON_21H_SHANGHAI
    assert shanghai(2026, 3, 2, 9) == MON_09H_SHANGHAI


def test_call_arriving_when_queue_calendar_is_closed_runs_the_closed_action():
    engine = engine_for(_calendar_table(), "a1", at=MON_21H_SHANGHAI - 60)
    commands = arrive(engine, "c1", MON_21H_SHANGHAI)
    assert commands[1:] == [
        RunAction("c1", Action("voicemail", "8000@sales", "closed-msg"), "closed", "sales"),
        CancelTimer("step", "c1"),
        Published("call.closed", {"call": "c1", "queue": "sales", "wait": 0.0, "reason": "closed",
                                "action": "voicemail 8000@sales (announce closed-msg)"}),
    ]
    assert "c1" not in engine.calls and engine.line() == []
    assert status(engine, "a1") is AgentStatus.AVAILABLE


def test_call_arriving_in_opening_hours_local_time_is_routed():
    engine = engine_for(_calendar_table(), "a1", at=MON_09H_SHANGHAI - 60)
    commands = arrive(engine, "c1", MON_09H_SHANGHAI)
    assert not [c for c in commands if isinstance(c, RunAction)]
    assert rings(commands) == [("c1", "a1")]


# ---------------------------------------------------- queues: max_waiting


def test_max_waiting_reached_runs_the_overflow_action():
    q = queue("sales", step(0, req(sales=1)), max_waiting=1, overflow=Action("voicemail", "8000"))
    engine = Engine(table([agent("a1", sales=5)], [q]))
    arrive(engine, "c1", T0)
    commands = arrive(engine, "c2", T0 + 1)
    assert commands[1:] == [
        RunAction("c2", Action("voicemail", "8000"), "full", "sales"),
        CancelTimer("step", "c2"),
        Published("call.overflowed", {"call": "c2", "queue": "sales", "wait": 0.0, "reason": "full",
                                    "action": "voicemail 8000"}),
    ]
    assert line_ids(engine) == ["c1"] and engine.waiting_in("sales") == 1


def test_max_waiting_frees_a_place_when_a_waiting_call_leaves():
    q = queue("sales", step(0, req(sales=1)), max_waiting=1, overflow=Action("hangup"))
    engine = Engine(table([agent("a1", sales=5)], [q]))
    arrive(engine, "c1", T0)
    engine.handle(ev.CallLeft("c1"), T0 + 1)
    assert "call.overflowed" not in kinds(arrive(engine, "c2", T0 + 2))
    assert line_ids(engine) == ["c2"]


YUE_CALL = {"dnis": "8000", "variables": (("lang", "yue"),)}


def _move_table(sales) -> RoutingTable:
    """sales (as given) may send calls to general; Cantonese callers reach
    sales through rule sales-yue: priority 30, cantonese>=5 on every step."""
    general = queue("general", step(0, req(general=5)), step(20, req(general=1)))
    yue = rule("sales-yue", sales, Match(dnis=(compile_pattern("8000"),), vars=(("lang", ("yue",)),)),
               priority=30, skills=(("cantonese", 5),))
    agents_ = [agent("g-plain", general=9), agent("g-yue", general=2, cantonese=6),
               agent("g-yue-senior", general=6, cantonese=6)]
    return table(agents_, [sales, general], [yue], default="general")


def _full_sales():
    return queue("sales", step(0, req(sales=7)), max_waiting=1, overflow=Action("queue", "general"))


def test_overflow_queue_action_moves_the_call_keeping_priority_and_rule_skills():
    tbl = _move_table(_full_sales())
    engine = engine_for(tbl, "g-plain")  # general>=5 but no Cantonese
    arrive(engine, "c1", T0, **YUE_CALL)
    commands = arrive(engine, "c2", T0 + 5, **YUE_CALL)
    assert commands[1:] == [
        Published("call.moved", {"call": "c2", "source": "sales", "to": "general", "reason": "full"}),
        StartTimer("step", "c2", T0 + 5 + 20),
    ]
    call = engine.calls["c2"]
    assert (call.queue, call.priority, call.entered, call.step) == ("general", 30, T0 + 5, 0)
    assert call.steps == merge_skills(tbl.queues["general"].steps, (("cantonese", 5),))
    assert engine.waiting_in("sales") == 1 and engine.waiting_in("general") == 1
    # Only a Cantonese speaker may take it, at every step of general.
    assert rings(engine.handle(ev.TimerFired("step", "c2"), T0 + 25)) == []
    assert engine.calls["c2"].step == 1
    assert rings(engine.handle(ev.AgentLogin("g-yue-senior"), T0 + 26)) == [("c2", "g-yue-senior")]


def test_moved_call_keeps_its_rules_priority_ahead_of_earlier_calls_in_the_new_queue():
    engine = Engine(_move_table(_full_sales()))
    arrive(engine, "g1", T0)  # default rule: general, priority 0
    arrive(engine, "c1", T0 + 1, **YUE_CALL)
    arrive(engine, "c2", T0 + 2, **YUE_CALL)  # sales full: moved to general
    assert line_ids(engine) == ["c1", "c2", "g1"]
    engine.handle(ev.CallLeft("c1"), T0 + 3)
    assert rings(engine.handle(ev.AgentLogin("g-yue-senior"), T0 + 4)) == [("c2", "g-yue-senior")]


def test_max_wait_queue_action_restarts_the_escalation_clock_in_the_new_queue():
    sales = queue("sales", step(0, req(sales=7)), step(30, action=Action("queue", "general")))
    engine = engine_for(_move_table(sales), "g-yue")  # general 2: only from general's 20 s step
    arrive(engine, "c1", T0, **YUE_CALL)
    commands = engine.handle(ev.TimerFired("step", "c1"), T0 + 30)
    assert published(commands, "call.moved") == [
        {"call": "c1", "source": "sales", "to": "general", "reason": "max-wait"}]
    assert StartTimer("step", "c1", T0 + 30 + 20) in commands
    assert not [c for c in commands if isinstance(c, RunAction)]
    assert rings(commands) == []
    call = engine.calls["c1"]
    assert (call.queue, call.entered, call.step, call.arrived, call.priority) == \
        ("general", T0 + 30, 0, T0, 30)
    assert engine.waiting_in("sales") == 0 and engine.waiting_in("general") == 1
    assert rings(engine.handle(ev.TimerFired("step", "c1"), T0 + 49)) == []
    assert rings(engine.handle(ev.TimerFired("step", "c1"), T0 + 50)) == [("c1", "g-yue")]


def test_move_into_a_full_queue_applies_that_queues_overflow():
    general = queue("general", step(0, req(general=1)), max_waiting=1, overflow=Action("callback"))
    sales = queue("sales", step(0, req(sales=1)), max_waiting=1, overflow=Action("queue", "general"))
    sales_rule = rule("sales", sales, Match(dnis=(compile_pattern("8000"),)))
    engine = Engine(table([agent("a1", general=1)], [sales, general], [sales_rule], default="general"))
    arrive(engine, "g1", T0)
    arrive(engine, "s1", T0 + 1, dnis="8000")
    commands = arrive(engine, "s2", T0 + 2, dnis="8000")
    assert published(commands, "call.moved") == [
        {"call": "s2", "source": "sales", "to": "general", "reason": "full"}]
    assert RunAction("s2", Action("callback"), "full", "general") in commands
    assert published(commands, "call.overflowed")[0]["queue"] == "general"


# -------------------------------------------------------- ConfigReplaced


def _reload_tables():
    sales_old = queue("sales", step(0, req(sales=7)), step(60, req(sales=3)))
    sales_new = queue("sales", step(0, req(sales=7)), step(20, req(sales=3)), step(45, req(sales=1)))
    agents_ = [agent("senior", sales=8), agent("junior", sales=4)]
    return table(agents_, [sales_old]), table(agents_, [sales_new])


def test_reload_keeps_elapsed_time_a_call_waiting_25s_is_at_the_25s_step():
    old, new = _reload_tables()
    engine = engine_for(old, "junior")
    arrive(engine, "c1", T0)
    assert rings(engine.handle(ev.TimerFired("step", "c1"), T0 + 20)) == []  # old: 60 s
    commands = engine.handle(ev.ConfigReplaced(new), T0 + 25)
    assert published(commands, "call.escalated") == [
        {"call": "c1", "queue": "sales", "step": 1, "source": "step@20"}]
    assert StartTimer("step", "c1", T0 + 45) in commands
    assert rings(commands) == [("c1", "junior")]
    assert engine.calls["c1"].entered == T0 and engine.calls["c1"].arrived == T0


def test_reload_keeps_arrival_order_of_waiting_calls():
    old, new = _reload_tables()
    engine = Engine(old)
    for i, cid in enumerate(("c3", "c1", "c2")):
        arrive(engine, cid, T0 + i)
    engine.handle(ev.ConfigReplaced(new), T0 + 5)
    assert line_ids(engine) == ["c3", "c1", "c2"]
    assert [c.arrived for c in engine.line()] == [T0, T0 + 1, T0 + 2]
    assert rings(engine.handle(ev.AgentLogin("senior"), T0 + 6)) == [("c3", "senior")]


def test_reload_reclassifies_waiting_calls_under_the_new_rules():
    sales = queue("sales", step(0, req(sales=1)))
    support = queue("support", step(0, req(support=1)), priority=40)
    agents_ = [agent("a1", support=3)]
    old = table(agents_, [sales, support], [rule("s", sales, Match(dnis=(compile_pattern("8000"),)))],
                default="sales")
    new = table(agents_, [sales, support], [rule("s2", support, Match(dnis=(compile_pattern("8000"),)))],
                default="sales")
    engine = Engine(old)
    arrive(engine, "c0", T0)  # default in both
    arrive(engine, "c1", T0 + 1, dnis="8000")
    assert engine.calls["c1"].queue == "sales"
    engine.handle(ev.ConfigReplaced(new), T0 + 10)
    call = engine.calls["c1"]
    assert (call.queue, call.rule.name, call.priority) == ("support", "s2", 40)
    assert engine.waiting_in("sales") == 1 and engine.waiting_in("support") == 1
    assert line_ids(engine) == ["c1", "c0"]  # the new priority puts it first
    assert rings(engine.handle(ev.AgentLogin("a1"), T0 + 11)) == [("c1", "a1")]


def test_reload_removing_an_available_agent_logs_it_out():
    old = simple_table()
    new = simple_table(agent("a2", support=5))
    engine = engine_for(old, "a1", "a2")
    commands = engine.handle(ev.ConfigReplaced(new), T0)
    assert commands == [agent_state("a1", "logged_out", "removed from config")]
    assert status(engine, "a1") is AgentStatus.LOGGED_OUT
    assert kinds(engine.handle(ev.AgentLogin("a1"), T0 + 1)) == ["router.ignored"]
    assert status(engine, "a1") is AgentStatus.LOGGED_OUT


def test_reload_removing_a_ringing_agent_withdraws_the_offer():
    old = simple_table()
    new = simple_table(agent("a2", support=5))
    engine = engine_for(old, "a1")
    arrive(engine, "c1", T0)
    commands = engine.handle(ev.ConfigReplaced(new), T0 + 2)
    assert commands[:3] == [agent_state("a1", "logged_out", "removed from config"),
                            CancelRing("c1", "a1"), CancelTimer("ring", "c1")]
    assert engine.calls["c1"].status is CallStatus.WAITING
    assert line_ids(engine) == ["c1"]
    assert rings(engine.handle(ev.AgentLogin("a2"), T0 + 3)) == [("c1", "a2")]


def test_reload_removing_an_agent_on_a_call_logs_it_out_after_the_call():
    old = simple_table(wrapup=10.0)
    new = simple_table(agent("a2", support=5), wrapup=10.0)
    engine = engine_for(old, "a1")
    arrive(engine, "c1", T0)
    engine.handle(ev.AgentAnswered("c1", "a1"), T0 + 1)
    engine.handle(ev.ConfigReplaced(new), T0 + 2)
    assert status(engine, "a1") is AgentStatus.ON_CALL
    commands = engine.handle(ev.CallEnded("c1"), T0 + 30)
    assert commands == [
        Published("call.ended", {"call": "c1", "queue": "support", "agent": "a1"}),
        agent_state("a1", "logged_out", "removed from config"),
    ]


def test_reload_new_agents_start_logged_out():
    old = simple_table(agent("a1", support=5))
    new = simple_table(agent("a1", support=5), agent("a9", support=5))
    engine = engine_for(old, "a1")
    arrive(engine, "c1", T0)
    arrive(engine, "c2", T0 + 1)
    commands = engine.handle(ev.ConfigReplaced(new), T0 + 2)
    assert rings(commands) == []
    assert status(engine, "a9") is AgentStatus.LOGGED_OUT
    assert rings(engine.handle(ev.AgentLogin("a9"), T0 + 3)) == [("c2", "a9")]


def test_reload_keeps_available_agents_state_and_uses_their_new_skills():
    old, new = _reload_tables()
    promoted = replace(new, agents=RoutingTable.freeze({"senior": new.agents["senior"],
                                                        "junior": agent("junior", sales=7)}))
    engine = engine_for(old, "junior", at=T0 - 50)
    arrive(engine, "c1", T0)
    commands = engine.handle(ev.ConfigReplaced(promoted), T0 + 1)
    assert rings(commands) == [("c1", "junior")]
    assert engine.agents["junior"].idle_since == T0 - 50


def _reload_while_ringing_at_action_step(old_action: Action) -> tuple[Engine, list]:
    """c1 rings a1 when sales' 30 s action step comes (so the action waits for
    the ring); then a reload removes a1 and moves the action to 120 s."""
    old = table([agent("a1", sales=5), agent("a2", sales=5)],
                [queue("sales", step(0, req(sales=1)), step(30, action=old_action)),
                 queue("over", step(0, req(sales=1)))])
    new = table([agent("a2", sales=5)],
                [queue("sales", step(0, req(sales=1)), step(120, action=Action("callback")))])
    engine = Engine(old)
    arrive(engine, "c1", T0)
    engine.handle(ev.AgentLogin("a1"), T0 + 25)
    engine.handle(ev.TimerFired("step", "c1"), T0 + 30)
    assert engine.calls["c1"].status is CallStatus.RINGING
    return engine, engine.handle(ev.ConfigReplaced(new), T0 + 32)


def test_reload_withdrawing_an_offer_judges_the_call_by_the_new_escalation():
    """The new table says the call may wait until 120 s: after 32 s it must
    stay in line, not leave by the old table's 30 s action."""
    engine, commands = _reload_while_ringing_at_action_step(Action("callback"))
    assert CancelRing("c1", "a1") in commands
    assert not [c for c in commands if isinstance(c, RunAction)]
    assert "call.overflowed" not in kinds(commands)
    call = engine.calls["c1"]
    assert (call.status, call.step) == (CallStatus.WAITING, 0)
    assert StartTimer("step", "c1", T0 + 120) in commands


def test_reload_withdrawing_an_offer_does_not_crash_on_a_queue_the_new_table_dropped():
    engine, commands = _reload_while_ringing_at_action_step(Action("queue", "over"))
    assert engine.calls["c1"].queue == "sales"
    assert engine.calls["c1"].status is CallStatus.WAITING


def test_step_timer_firing_at_a_time_that_rounds_short_still_takes_the_step():
    """The timer is due at entered + 10, but (entered + 10) - entered is a
    hair under 10 in floating point: the step must come, not the same timer
    again (that was an endless loop)."""
    t = table([agent("a1", support=1)], [queue("q", step(0, req(support=5)), step(10, req(support=1)))])
    engine = Engine(t)
    entered = 1014.342077175131696
    (due,) = [c.at for c in engine.handle(ev.CallWaiting("c1"), entered)
              if isinstance(c, StartTimer) and c.kind == "step"]
    assert due - entered < 10.0  # the rounding this test is about
    fired = engine.handle(ev.TimerFired("step", "c1"), due)
    assert engine.calls["c1"].step == 1
    assert not [c for c in fired if isinstance(c, StartTimer) and c.kind == "step"]


def test_an_agent_on_one_pbx_is_offered_only_calls_held_there():
    tbl = table([agent("sh", support=5), agent("bj", support=5)], [queue("support", step(0, req(support=1)))])
    agents = {**tbl.agents, "sh": replace(tbl.agents["sh"], pbx="shanghai"),
              "bj": replace(tbl.agents["bj"], pbx="beijing")}
    engine = engine_for(replace(tbl, agents=RoutingTable.freeze(agents)), "sh")
    # A Beijing call waits although the Shanghai agent is free...
    assert rings(arrive(engine, "c1", T0, pbx="beijing")) == []
    # ...takes the Beijing agent when she logs in, and a Shanghai call the other.
    assert rings(engine.handle(ev.AgentLogin("bj"), T0 + 1)) == [("c1", "bj")]
    assert rings(arrive(engine, "c2", T0 + 2, pbx="shanghai")) == [("c2", "sh")]
