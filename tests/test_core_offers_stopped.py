"""OffersStopped (a graceful stop, router/runtime/reload.py `drain`): from then on
the engine offers nothing, so no agent is reserved for a ring the router
would not send; what rings already may still be answered."""

from __future__ import annotations

from router.core import events as ev
from router.core.commands import RingAgent
from router.core.engine import Engine
from support.tables import agent, queue, req, step, table

T0 = 1_000.0
TABLE = table([agent("a1", sales=5), agent("a2", sales=5)], [queue("sales", step(0, req(sales=3)))])


def waiting(cid: str) -> ev.CallWaiting:
    return ev.CallWaiting(cid, dnis="", caller_num="", caller_name="", variables=(), pbx="")


def test_after_offers_stopped_a_waiting_call_and_a_free_agent_stay_apart():
    engine = Engine(TABLE)
    engine.handle(ev.AgentLogin("a1"), T0)
    assert engine.handle(ev.OffersStopped(), T0) == []
    commands = engine.handle(waiting("c1"), T0 + 1)
    assert not [c for c in commands if isinstance(c, RingAgent)]
    assert engine.agents["a1"].status.value == "available"
    assert engine.calls["c1"].status.value == "waiting"
    # Nor when another agent frees up later.
    assert not [c for c in engine.handle(ev.AgentLogin("a2"), T0 + 2) if isinstance(c, RingAgent)]


def test_a_leg_ringing_when_offers_stop_may_still_be_answered():
    engine = Engine(TABLE)
    engine.handle(ev.AgentLogin("a1"), T0)
    rung = [c for c in engine.handle(waiting("c1"), T0 + 1) if isinstance(c, RingAgent)]
    assert [(c.call_id, c.agent_id) for c in rung] == [("c1", "a1")]
    engine.handle(ev.OffersStopped(), T0 + 2)
    engine.handle(ev.AgentOffered("c1", "a1"), T0 + 2)
    engine.handle(ev.AgentAnswered("c1", "a1"), T0 + 3)
    assert engine.agents["a1"].status.value == "on_call"
    assert engine.calls["c1"].status.value == "connected"
