"""Supervisor events in the engine: moving a waiting call to another queue
and setting its priority (sent over MQTT by a supervisor's console)."""

from __future__ import annotations

from router.core import events as ev
from router.core.commands import CancelRing, RingAgent
from router.core.engine import Engine
from router.core.state import AgentStatus, CallStatus
from support.commands import published
from support.tables import agent, queue, req, step, table

T0 = 1_000.0


def centre():
    agents = [agent("s1", sales=8), agent("t1", support=5)]
    return table(agents, [queue("sales", step(0, req(sales=5)), priority=10),
                          queue("support", step(0, req(support=1)), step(30, req(sales=1)), priority=20)])


def test_a_waiting_call_moved_to_another_queue_is_offered_there():
    engine = Engine(centre())
    engine.handle(ev.CallWaiting("c1"), T0)  # default rule: sales; nobody logged in
    engine.handle(ev.AgentLogin("t1"), T0 + 1)
    assert engine.calls["c1"].status is CallStatus.WAITING
    out = engine.handle(ev.CallMove("c1", "support"), T0 + 5)
    assert published(out, "call.moved") == [{"call": "c1", "source": "sales", "to": "support", "reason": "supervisor"}]
    assert [(c.call_id, c.agent_id) for c in out if isinstance(c, RingAgent)] == [("c1", "t1")]
    # Its escalation restarts in the new queue; its place in line (arrival) stays.
    assert engine.calls["c1"].entered == T0 + 5 and engine.calls["c1"].arrived == T0


def test_moving_a_ringing_call_withdraws_the_offer_without_fault():
    engine = Engine(centre())
    engine.handle(ev.AgentLogin("s1"), T0)
    engine.handle(ev.CallWaiting("c1"), T0)
    assert engine.calls["c1"].agent == "s1"
    out = engine.handle(ev.CallMove("c1", "support"), T0 + 2)
    assert any(isinstance(c, CancelRing) and c.agent_id == "s1" for c in out)
    assert engine.agents["s1"].status is AgentStatus.AVAILABLE and engine.agents["s1"].misses == 0
    assert engine.calls["c1"].queue == "support" and engine.calls["c1"].status is CallStatus.WAITING


def test_priority_reorders_the_line_and_survives_a_config_reload():
    engine = Engine(centre())
    for cid in ("c1", "c2", "c3"):
        engine.handle(ev.CallWaiting(cid), T0)
    out = engine.handle(ev.CallPriority("c3", 50), T0 + 1)
    assert published(out, "call.priority") == [{"call": "c3", "queue": "sales", "priority": 50}]
    assert [c.id for c in engine.line()] == ["c3", "c1", "c2"]
    engine.handle(ev.CallMove("c2", "support"), T0 + 2)
    engine.handle(ev.ConfigReplaced(centre()), T0 + 3)
    # c2 keeps its rule's priority (10) in support: its place after c1 stays
    assert [c.id for c in engine.line()] == ["c3", "c1", "c2"]
    assert engine.calls["c3"].priority == 50
    assert engine.calls["c2"].queue == "support"  # a supervisor's move is kept too
    engine.handle(ev.AgentLogin("s1"), T0 + 4)
    assert engine.calls["c3"].agent == "s1"


def test_supervisor_events_for_unknown_or_answered_calls_are_ignored():
    engine = Engine(centre())
    engine.handle(ev.AgentLogin("s1"), T0)
    engine.handle(ev.CallWaiting("c1"), T0)
    engine.handle(ev.AgentAnswered("c1", "s1"), T0 + 1)
    for event in (ev.CallMove("c1", "support"), ev.CallPriority("c1", 5), ev.CallMove("nope", "support"),
                  ev.CallPriority("nope", 1)):
        out = engine.handle(event, T0 + 2)
        assert [c.kind for c in out if hasattr(c, "kind")] == ["router.ignored"]
    assert engine.calls["c1"].status is CallStatus.CONNECTED
