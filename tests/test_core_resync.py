"""Reconciling the engine with a PbxSnapshot: the table in router/core/resync.py."""

from __future__ import annotations

from router.core import events as ev
from router.core import facts as f
from router.core.commands import CancelRing, RingAgent
from router.core.engine import Engine
from router.core.state import AgentStatus, CallStatus
from support.tables import agent, queue, req, step, table

T0 = 1_000.0
TABLE = table([agent("a", s=1), agent("b", s=1), agent("c", s=1)],
              [queue("q", step(0, req(s=1)), step(60, req(s=1)))])


def engine_with(*logged_in: str) -> Engine:
    e = Engine(TABLE)
    for aid in logged_in:
        e.handle(ev.AgentLogin(aid), T0)
    return e


def snap(waiting=(), connected=(), ringing=(), devices=()):
    return ev.PbxSnapshot("", tuple(ev.CallWaiting(c, waited=w) for c, w in waiting), tuple(connected),
                          tuple(ringing), tuple(devices))


def ringing_call(e: Engine, agent_id: str) -> None:
    for other in ("a", "b", "c"):
        if other != agent_id and e.agents[other].status is AgentStatus.AVAILABLE:
            e.handle(ev.AgentPause(other, "x"), T0)
    e.handle(ev.CallWaiting("k"), T0 + 1)
    assert e.calls["k"].agent == agent_id


def test_waiting_call_answered_while_away_becomes_answered():
    e = engine_with()
    e.handle(ev.CallWaiting("k"), T0)
    e.handle(ev.AgentLogin("a"), T0 + 1)  # rings a
    out = e.handle(snap(connected=[("k", "a")]), T0 + 5)
    assert e.calls["k"].status is CallStatus.CONNECTED and e.agents["a"].status is AgentStatus.ON_CALL
    assert [p.kind for p in out if hasattr(p, "kind")].count("call.answered") == 1


def test_two_legs_ringing_for_one_call_keeps_the_engines_and_hangs_up_the_other():
    e = engine_with("a", "b")
    ringing_call(e, "a")
    out = e.handle(snap(waiting=[("k", 2)], ringing=[("k", "b"), ("k", "a")]), T0 + 3)
    assert e.calls["k"].agent == "a" and e.calls["k"].status is CallStatus.RINGING
    assert CancelRing("k", "b") in out and CancelRing("k", "a") not in out


def test_ringing_another_agent_on_the_pbx_moves_the_offer_there():
    e = engine_with("a", "b")
    ringing_call(e, "a")
    e.handle(ev.AgentUnpause("b"), T0 + 1.5)
    out = e.handle(snap(waiting=[("k", 2)], ringing=[("k", "b")]), T0 + 3)
    assert e.calls["k"].agent == "b" and e.agents["b"].status is AgentStatus.RESERVED
    assert e.agents["a"].status is AgentStatus.AVAILABLE and not [c for c in out if isinstance(c, CancelRing)]


def test_offer_missing_on_the_pbx_goes_back_in_line_without_a_miss():
    e = engine_with("a")
    ringing_call(e, "a")
    e.handle(snap(waiting=[("k", 3)]), T0 + 4)
    assert e.calls["k"].status is CallStatus.WAITING
    assert e.agents["a"].misses == 0 and e.agents["a"].status is AgentStatus.WRAPUP


def test_caller_gone_while_ringing_is_abandoned_and_the_agent_freed():
    e = engine_with("a")
    ringing_call(e, "a")
    out = e.handle(snap(), T0 + 4)
    assert "k" not in e.calls and e.agents["a"].status is AgentStatus.AVAILABLE
    assert [p.kind for p in out if hasattr(p, "kind") and p.kind == "call.abandoned"]


def test_conversation_over_while_away_ends_with_wrap_up():
    e = engine_with("a")
    e.handle(ev.CallWaiting("k"), T0)
    e.handle(ev.AgentAnswered("k", "a"), T0 + 2)
    e.handle(snap(), T0 + 60)
    assert "k" not in e.calls and e.agents["a"].status is AgentStatus.AVAILABLE  # wrap-up 0


def test_after_a_restart_waiting_callers_keep_their_wait_and_are_routed():
    e = engine_with("a")
    out = e.handle(snap(waiting=[("new", 5), ("old", 70)]), T0)
    assert e.calls["old"].arrived == T0 - 70 and e.calls["old"].step == 1  # already past 60 s
    rings = [c for c in out if isinstance(c, RingAgent)]
    assert [r.call_id for r in rings] == ["old"]  # the longest waiting first


def test_after_a_restart_agents_talking_are_known_busy_and_wrap_up_after():
    e = engine_with()
    e.handle(snap(connected=[("k", "b")]), T0)
    assert e.agents["b"].status is AgentStatus.ON_CALL
    assert not [c for c in e.handle(ev.CallWaiting("n"), T0 + 1) if isinstance(c, RingAgent)]
    out = e.handle(ev.CallEnded("k"), T0 + 30)
    assert RingAgent("n", "b", "PJSIP/b", 15.0, "q") in out  # free again: takes the waiting call


def test_ring_for_a_caller_no_longer_holding_is_hung_up():
    e = engine_with()
    out = e.handle(snap(ringing=[("ghost", "c")]), T0)
    assert out == [CancelRing("ghost", "c"), f.PbxResynced("")]  # the snapshot applied: its fact last


def test_devices_in_the_snapshot_set_presence():
    e = engine_with("a")
    e.handle(snap(devices=[("a", True)]), T0)
    assert (e.agents["a"].status, e.agents["a"].reason) == (AgentStatus.PAUSED, "device-busy")


def test_leg_ringing_for_a_caller_who_is_gone_is_hung_up_and_the_call_abandoned():
    e = engine_with("a")
    ringing_call(e, "a")
    out = e.handle(snap(ringing=[("k", "a")]), T0 + 4)  # the leg rings, the caller no longer holds
    assert "k" not in e.calls and CancelRing("k", "a") in out
    assert e.agents["a"].status is AgentStatus.AVAILABLE
