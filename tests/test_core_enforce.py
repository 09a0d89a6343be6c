"""Service-level enforcement (router/core/enforce.py): deadline order,
early escalation on the estimated wait, protection of queues under target,
and that each action is published with its reason."""

from __future__ import annotations

from router.core import events as ev
from router.core.commands import RingAgent, RunAction, StartTimer
from router.core.facts import Fact
from router.core.enforce import CHECK_EVERY, FINAL_SAMPLE
from router.core.engine import Engine
from router.core.patterns import compile_pattern
from router.core.table import Action, Enforcement, Match
from support.tables import agent, queue, req, rule, step, table

T0 = 100_000.0
ARRIVAL = Enforcement(order="arrival", early_escalation=False, protection=False)


def two_queues(enforcement: Enforcement = Enforcement(), fast_priority: int = 0):
    """'fast' must answer 80% within 10 s, 'slow' within 60 s; agent a1 can
    take both; dnis 1 goes to fast, anything else to slow."""
    fast = queue("fast", step(0, req(both=1)), sl=(80.0, 10.0), priority=fast_priority)
    slow = queue("slow", step(0, req(both=1)), sl=(80.0, 60.0))
    rules = [rule("fast", fast, Match(dnis=(compile_pattern("1"),)))]
    return table([agent("a1", both=5)], [fast, slow], rules, default="slow", enforcement=enforcement)


def logged_in(tbl, *agents, at=T0 - 100) -> Engine:
    engine = Engine(tbl)
    for aid in agents:
        engine.handle(ev.AgentLogin(aid), at)
    return engine


def busy_then_free(engine: Engine, aid: str, call: str, at: float, free_at: float) -> list:
    """`aid` takes `call` at `at` (it must be ringing them) and hangs up at `free_at`."""
    engine.handle(ev.AgentAnswered(call, aid), at)
    return engine.handle(ev.CallEnded(call), free_at)


def rung(commands) -> list[tuple[str, str]]:
    return [(c.call_id, c.agent_id) for c in commands if isinstance(c, RingAgent)]


def actions(commands) -> list[dict]:
    return [dict(c.data) for c in commands if isinstance(c, Fact) and c.kind == "sla.action"]


def test_deadline_order_serves_the_call_closest_to_missing_its_threshold():
    engine = logged_in(two_queues(), "a1")
    engine.handle(ev.CallWaiting("busy", dnis="9"), T0 - 50)  # a1 takes it
    engine.handle(ev.CallWaiting("old-slow", dnis="9"), T0)  # deadline T0 + 60
    engine.handle(ev.CallWaiting("new-fast", dnis="1"), T0 + 20)  # deadline T0 + 30
    assert [c.id for c in engine.line()] == ["busy", "new-fast", "old-slow"]
    assert rung(busy_then_free(engine, "a1", "busy", T0 - 49, T0 + 21)) == [("new-fast", "a1")]


def test_arrival_order_serves_the_oldest_call_of_the_highest_priority():
    engine = logged_in(two_queues(ARRIVAL), "a1")
    engine.handle(ev.CallWaiting("busy", dnis="9"), T0 - 50)
    engine.handle(ev.CallWaiting("old-slow", dnis="9"), T0)
    engine.handle(ev.CallWaiting("new-fast", dnis="1"), T0 + 20)
    assert rung(busy_then_free(engine, "a1", "busy", T0 - 49, T0 + 21)) == [("old-slow", "a1")]


def test_each_priority_point_brings_the_deadline_forward_by_the_weight():
    tbl = two_queues(Enforcement(priority_weight=2.0), fast_priority=0)
    engine = logged_in(tbl, "a1")
    engine.handle(ev.CallWaiting("busy", dnis="9"), T0 - 50)
    engine.handle(ev.CallWaiting("slow", dnis="9"), T0)
    engine.handle(ev.CallWaiting("fast", dnis="1"), T0 + 55)
    keys = {c.id: c.line_key[0] for c in engine.line()}
    assert keys == {"busy": T0 - 50 + 60, "slow": T0 + 60, "fast": T0 + 65}
    # With priority 10 at 2 s a point, fast's deadline comes 20 s earlier: first.
    tbl = two_queues(Enforcement(priority_weight=2.0), fast_priority=10)
    engine = logged_in(tbl, "a1")
    for cid, dnis, at in (("busy", "9", T0 - 50), ("slow", "9", T0), ("fast", "1", T0 + 55)):
        engine.handle(ev.CallWaiting(cid, dnis=dnis), at)
    assert engine.line()[1].id == "fast" and engine.line()[1].line_key[0] == T0 + 45


def escalating(enforcement: Enforcement = Enforcement()):
    """sales: 0 s seniors (sales>=7), 30 s anyone with sales>=3, 120 s voicemail."""
    sales = queue("sales", step(0, req(sales=7)), step(30, req(sales=3)),
                  step(120, action=Action("voicemail", "8000")), sl=(80.0, 20.0))
    return table([agent("senior", sales=8), agent("junior", sales=4)], [sales], enforcement=enforcement)


def with_handle_time(engine: Engine, seconds: float, at: float) -> None:
    """Teach the engine's service-level book a handle time."""
    engine.sla.ended("sales", seconds, at)


def test_a_call_whose_estimated_wait_misses_the_threshold_escalates_at_the_next_check():
    engine = logged_in(escalating(), "senior", "junior")
    engine.handle(ev.AgentPause("junior", "break"), T0 - 90)
    engine.handle(ev.CallWaiting("first"), T0 - 10)  # the senior takes it
    engine.handle(ev.AgentAnswered("first", "senior"), T0 - 9)
    engine.handle(ev.AgentUnpause("junior"), T0 - 5)  # junior: too junior for step 0
    with_handle_time(engine, 200.0, T0 - 1)  # a long handle time: one senior per 200 s
    out = engine.handle(ev.CallWaiting("c1"), T0)
    assert rung(out) == []
    out = engine.handle(ev.TimerFired("sla", "check"), T0 + CHECK_EVERY)
    # EWT = 1 call x 200 s / 1 senior: far past 20 s. Step 1 now, not at 30 s.
    assert actions(out) == [{"queue": "sales", "action": "escalate", "reason": "ewt", "call": "c1",
                             "ewt": 200.0, "step": 1}]
    assert rung(out) == [("c1", "junior")]
    assert engine.calls["c1"].step == 1


def test_without_early_escalation_the_call_waits_for_the_step_time():
    engine = logged_in(escalating(Enforcement(early_escalation=False)), "senior", "junior")
    engine.handle(ev.AgentPause("junior", "break"), T0 - 90)
    engine.handle(ev.CallWaiting("first"), T0 - 10)
    engine.handle(ev.AgentAnswered("first", "senior"), T0 - 9)
    engine.handle(ev.AgentUnpause("junior"), T0 - 5)
    with_handle_time(engine, 200.0, T0 - 1)
    engine.handle(ev.CallWaiting("c1"), T0)
    assert rung(engine.handle(ev.TimerFired("sla", "check"), T0 + CHECK_EVERY)) == []
    assert rung(engine.handle(ev.TimerFired("step", "c1"), T0 + 30)) == [("c1", "junior")]


def test_no_history_no_estimate_no_early_step():
    engine = logged_in(escalating(), "senior", "junior")
    engine.handle(ev.AgentPause("senior", "meal"), T0 - 90)  # no answers, no handle time yet
    engine.handle(ev.CallWaiting("c1"), T0)
    out = engine.handle(ev.TimerFired("sla", "check"), T0 + CHECK_EVERY)
    assert actions(out) == [] and rung(out) == []


def test_a_call_whose_estimated_wait_passes_max_wait_gets_the_final_action_now():
    sales = queue("sales", step(0, req(sales=7)), step(60, action=Action("voicemail", "8000")),
                  sl=(80.0, 20.0))
    engine = logged_in(table([agent("senior", sales=8)], [sales]), "senior")
    engine.handle(ev.CallWaiting("first"), T0 - 10)
    engine.handle(ev.AgentAnswered("first", "senior"), T0 - 9)
    engine.sla.ended("sales", 300.0, T0 - 1)
    engine.handle(ev.CallWaiting("c1"), T0)
    # One handled call is no basis for turning a caller away...
    assert actions(engine.handle(ev.TimerFired("sla", "check"), T0 + 1)) == []
    for _ in range(FINAL_SAMPLE - 1):
        engine.sla.ended("sales", 300.0, T0 + 2)
    # ... five are.
    out = engine.handle(ev.TimerFired("sla", "check"), T0 + CHECK_EVERY)
    assert actions(out) == [{"queue": "sales", "action": "final", "reason": "ewt", "call": "c1", "ewt": 300.0}]
    assert [c.action.kind for c in out if isinstance(c, RunAction)] == ["voicemail"]
    assert [c.kind for c in out if isinstance(c, Fact) and c.kind.startswith("call.")] == [
        "call.escalated", "call.overflowed"]
    assert "c1" not in engine.calls


def missed(engine: Engine, queue: str, n: int, at: float) -> None:
    for _ in range(n):
        engine.sla.abandoned(queue, 60.0, at)


def met(engine: Engine, queue: str, n: int, at: float) -> None:
    for _ in range(n):
        engine.sla.answered(queue, 1.0, at)


def test_a_queue_under_target_is_served_before_queues_above_target_plus_reserve():
    engine = logged_in(two_queues(), "a1")
    missed(engine, "fast", 5, T0 - 60)  # fast at 0%: under its 80%
    met(engine, "slow", 10, T0 - 60)  # slow at 100%: a lender (80% + 5 points reserve)
    engine.handle(ev.CallWaiting("busy", dnis="9"), T0 - 50)
    engine.handle(ev.CallWaiting("slow-call", dnis="9"), T0 - 40)  # deadline T0 + 20
    engine.handle(ev.CallWaiting("fast-call", dnis="1"), T0)  # deadline T0 + 10... and later
    out = engine.handle(ev.TimerFired("sla", "check"), T0 + 1)
    assert actions(out) == [{"queue": "fast", "action": "protect", "reason": "below_target",
                             "level": 0.0, "target": 0.8}]
    assert engine.protected == {"fast"}
    # busy (ringing a1) and slow-call are the lender's: after fast-call.
    assert engine.serving_order() == ["fast-call", "busy", "slow-call"]
    assert rung(busy_then_free(engine, "a1", "busy", T0 + 2, T0 + 3)) == [("fast-call", "a1")]


def test_a_lenders_call_ahead_in_line_waits_for_the_protected_queues_call():
    engine = logged_in(two_queues(), "a1")
    missed(engine, "fast", 5, T0 - 60)
    met(engine, "slow", 10, T0 - 60)
    engine.handle(ev.CallWaiting("busy", dnis="9"), T0 - 50)  # a1 takes it
    engine.handle(ev.CallWaiting("slow-call", dnis="9"), T0 - 49)  # deadline T0 + 11
    engine.handle(ev.TimerFired("sla", "check"), T0 + 1)
    assert engine.protected == {"fast"}
    engine.handle(ev.CallWaiting("fast-call", dnis="1"), T0 + 2)  # deadline T0 + 12: behind slow-call
    assert [c.id for c in engine.line()] == ["busy", "slow-call", "fast-call"]
    assert rung(busy_then_free(engine, "a1", "busy", T0 + 3, T0 + 4)) == [("fast-call", "a1")]


def test_a_lender_within_its_reserve_keeps_its_place():
    engine = logged_in(two_queues(Enforcement(reserve=25.0)), "a1")
    missed(engine, "fast", 5, T0 - 60)
    met(engine, "slow", 10, T0 - 60)  # 100% is not above 80% + 25 points
    engine.handle(ev.CallWaiting("busy", dnis="9"), T0 - 50)
    engine.handle(ev.CallWaiting("slow-call", dnis="9"), T0 - 60)
    engine.handle(ev.CallWaiting("fast-call", dnis="1"), T0)
    engine.handle(ev.TimerFired("sla", "check"), T0 + 1)
    assert engine.protected == {"fast"}
    assert engine.serving_order() == ["slow-call", "busy", "fast-call"]


def test_protection_ends_when_the_queue_is_back_at_target():
    engine = logged_in(two_queues(), "a1")
    missed(engine, "fast", 1, T0 - 60)
    engine.handle(ev.CallWaiting("c1", dnis="9"), T0)  # keeps the check timer running
    engine.handle(ev.TimerFired("sla", "check"), T0 + 1)
    assert engine.protected == {"fast"}
    met(engine, "fast", 4, T0 + 2)  # 4 of 5: 80%, at target
    out = engine.handle(ev.TimerFired("sla", "check"), T0 + 6)
    assert actions(out) == [{"queue": "fast", "action": "release", "reason": "recovered",
                             "level": 0.8, "target": 0.8}]
    assert engine.protected == set()


def test_no_protection_when_it_is_turned_off():
    engine = logged_in(two_queues(Enforcement(protection=False)), "a1")
    missed(engine, "fast", 5, T0 - 60)
    engine.handle(ev.CallWaiting("c1", dnis="9"), T0)
    out = engine.handle(ev.TimerFired("sla", "check"), T0 + 1)
    assert actions(out) == [] and engine.protected == set()


def test_the_check_timer_stops_when_nothing_waits_and_nothing_is_protected():
    engine = logged_in(two_queues(), "a1")
    out = engine.handle(ev.CallWaiting("c1", dnis="9"), T0)  # a1 rings at once
    assert StartTimer("sla", "check", T0 + CHECK_EVERY) in out
    engine.handle(ev.AgentAnswered("c1", "a1"), T0 + 1)
    out = engine.handle(ev.TimerFired("sla", "check"), T0 + CHECK_EVERY)
    assert not [c for c in out if isinstance(c, StartTimer)]
