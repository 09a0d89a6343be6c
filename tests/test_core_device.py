"""Agent presence follows the phone's device state."""

from router.core import events as ev
from router.core.commands import RingAgent
from router.core.engine import Engine
from router.core.state import AgentStatus
from support.tables import agent, queue, req, step, table


def _engine():
    t = table([agent("a1", sales=5), agent("a2", sales=5)], [queue("sales", step(0, req(sales=1)))])
    e = Engine(t)
    e.handle(ev.AgentLogin("a1"), 0)
    return e


def test_personal_call_pauses_the_agent_and_no_call_is_offered():
    e = _engine()
    e.handle(ev.AgentDevice("a1", busy=True), 1)
    assert (e.agents["a1"].status, e.agents["a1"].reason) == (AgentStatus.PAUSED, "device-busy")
    assert not [c for c in e.handle(ev.CallWaiting("c1"), 2) if isinstance(c, RingAgent)]
    out = e.handle(ev.AgentDevice("a1", busy=False), 30)
    assert RingAgent("c1", "a1", "PJSIP/a1", 15.0, "sales", "", "") in out


def test_device_state_of_our_own_offer_is_ignored():
    e = _engine()
    e.handle(ev.CallWaiting("c1"), 1)
    e.handle(ev.AgentDevice("a1", busy=True), 1.1)  # the phone rings with our offer
    assert e.agents["a1"].status is AgentStatus.RESERVED
    e.handle(ev.AgentAnswered("c1", "a1"), 3)
    e.handle(ev.AgentDevice("a1", busy=False), 9)
    e.handle(ev.CallEnded("c1"), 9.1)
    assert e.agents["a1"].status is AgentStatus.AVAILABLE


def test_stale_busy_after_a_call_holds_the_agent_until_free():
    e = _engine()
    e.handle(ev.CallWaiting("c1"), 1)
    e.handle(ev.AgentAnswered("c1", "a1"), 2)
    e.handle(ev.AgentDevice("a1", busy=True), 2.1)
    e.handle(ev.CallEnded("c1"), 9)  # wrap-up 0: would be available, but the phone is busy
    assert e.agents["a1"].reason == "device-busy"
    e.handle(ev.AgentDevice("a1", busy=False), 9.2)
    assert e.agents["a1"].status is AgentStatus.AVAILABLE


def test_manual_pause_is_not_lifted_by_the_phone_going_free():
    e = _engine()
    e.handle(ev.AgentDevice("a1", busy=True), 1)
    e.handle(ev.AgentPause("a1", "lunch"), 2)
    e.handle(ev.AgentDevice("a1", busy=False), 3)
    assert (e.agents["a1"].status, e.agents["a1"].reason) == (AgentStatus.PAUSED, "lunch")
