"""Callbacks that keep the caller's place (router/core/callbacks.py)."""

from __future__ import annotations

from router.core import events as ev
from router.core.callbacks import ATTEMPTS, RETRY_AFTER
from router.core.commands import RingAgent, RunAction, StartTimer
from router.core.engine import Engine
from router.core.state import CallStatus
from router.core.table import Action, Enforcement
from support.commands import published
from support.tables import agent, queue, req, step, table

T0 = 50_000.0
OFF = Enforcement(early_escalation=False, protection=False)
NUMBER = "+8613800001111"


def sales_table():
    """sales: seniors (sales>=7) only, a callback at 60 s."""
    sales = queue("sales", step(0, req(sales=7)), step(60, action=Action("callback")))
    return table([agent("senior", sales=8), agent("other", sales=9)], [sales], enforcement=OFF)


def rings(commands) -> list[RingAgent]:
    return [c for c in commands if isinstance(c, RingAgent)]


def promised(engine: Engine, call: str = "c1", at: float = T0, number: str = NUMBER) -> list:
    """`call` arrives at `at` with nobody to take it and gets its callback at 60 s."""
    engine.handle(ev.CallWaiting(call, caller_num=number, caller_name="李娜", pbx="sim"), at)
    return engine.handle(ev.TimerFired("step", call), at + 60)


def test_a_callback_action_promises_a_callback_at_the_callers_place():
    engine = Engine(sales_table())
    engine.handle(ev.CallWaiting("c0", caller_num="1"), T0 - 10)  # came earlier
    out = promised(engine)
    assert [c.action.kind for c in out if isinstance(c, RunAction)] == ["callback"]
    assert published(out, "call.overflowed")[0]["call"] == "c1"
    (p,) = published(out, "callback.promised")
    assert (p["call"], p["origin"], p["number"], p["arrived"], p["caller_name"]) == ("cb-c1", "c1", NUMBER, T0, "李娜")
    engine.handle(ev.CallWaiting("c2", caller_num="2"), T0 + 61)  # comes later
    # c0's own callback also comes at its 60 s; the line keeps arrival order.
    engine.handle(ev.TimerFired("step", "c0"), T0 + 50)
    assert [c.id for c in engine.line()] == ["cb-c0", "cb-c1", "c2"]
    assert engine.waiting_in("sales") == 1  # callbacks hold no line: max_waiting counts callers


def test_the_callback_is_placed_when_an_agent_frees_at_its_place():
    engine = Engine(sales_table())
    promised(engine)
    engine.handle(ev.CallWaiting("c2", caller_num="2"), T0 + 61)
    out = engine.handle(ev.AgentLogin("senior"), T0 + 70)
    (ring,) = rings(out)
    assert (ring.call_id, ring.agent_id, ring.dial) == ("cb-c1", "senior", NUMBER)
    out = engine.handle(ev.AgentAnswered("cb-c1", "senior"), T0 + 72)
    assert published(out, "callback.placed") == [{"call": "cb-c1", "queue": "sales", "agent": "senior",
                                                   "attempt": 1, "number": NUMBER}]
    assert published(out, "call.answered") == []  # a callback is not an answered call
    engine.handle(ev.CallbackResult("cb-c1", "ANSWER"), T0 + 200)
    out = engine.handle(ev.CallEnded("cb-c1"), T0 + 200)
    assert published(out, "callback.done") == [{"call": "cb-c1", "queue": "sales", "agent": "senior",
                                                "attempts": 1, "result": "ANSWER"}]
    assert "cb-c1" not in engine.calls
    assert engine.agents["senior"].call == "c2"  # no wrap-up in this queue: the next caller


def test_a_customer_who_does_not_answer_is_tried_again_then_reported():
    engine = Engine(sales_table())
    engine.handle(ev.AgentLogin("senior"), T0 - 100)
    engine.handle(ev.AgentPause("senior", "meal"), T0 - 99)
    promised(engine)
    at = T0 + 100
    for attempt in range(1, ATTEMPTS + 1):
        out = engine.handle(ev.AgentUnpause("senior"), at)
        assert [r.call_id for r in rings(out)] == ["cb-c1"], attempt
        engine.handle(ev.AgentAnswered("cb-c1", "senior"), at + 1)
        engine.handle(ev.CallbackResult("cb-c1", "NOANSWER"), at + 30)
        engine.handle(ev.AgentPause("senior", "meal"), at + 30)  # pending until the leg ends
        out = engine.handle(ev.CallEnded("cb-c1"), at + 31)
        if attempt < ATTEMPTS:
            assert published(out, "callback.retry") == [{"call": "cb-c1", "queue": "sales", "reason": "noanswer",
                                                         "attempts": attempt, "retry_at": at + 31 + RETRY_AFTER}]
            assert StartTimer("callback", "cb-c1", at + 31 + RETRY_AFTER) in out
            assert "cb-c1" not in engine.calls and "cb-c1" in engine.parked
            engine.handle(ev.TimerFired("callback", "cb-c1"), at + 31 + RETRY_AFTER)
            assert engine.calls["cb-c1"].status is CallStatus.WAITING
            at += 31 + RETRY_AFTER + 1
        else:
            assert published(out, "callback.failed") == [{"call": "cb-c1", "queue": "sales",
                                                          "reason": "noanswer", "attempts": ATTEMPTS}]
    assert "cb-c1" not in engine.calls and "cb-c1" not in engine.parked


def test_a_queues_callback_retry_sets_the_wait_before_the_next_attempt():
    from dataclasses import replace
    t = sales_table()
    t = replace(t, queues={**t.queues, "sales": replace(t.queues["sales"], callback_retry=20.0)})
    engine = Engine(t)
    promised(engine)
    out = engine.handle(ev.AgentLogin("senior"), T0 + 70)
    assert [r.call_id for r in rings(out)] == ["cb-c1"]
    engine.handle(ev.AgentAnswered("cb-c1", "senior"), T0 + 71)
    engine.handle(ev.CallbackResult("cb-c1", "CHANUNAVAIL"), T0 + 72)
    out = engine.handle(ev.CallEnded("cb-c1"), T0 + 72)
    assert published(out, "callback.retry")[0]["retry_at"] == T0 + 92  # not T0 + 72 + RETRY_AFTER
    assert StartTimer("callback", "cb-c1", T0 + 92) in out
    out = engine.handle(ev.TimerFired("callback", "cb-c1"), T0 + 92)
    assert [(r.call_id, r.agent_id) for r in rings(out)] == [("cb-c1", "senior")]  # the second attempt


def test_an_agent_who_misses_the_ring_uses_up_no_attempt():
    engine = Engine(sales_table())
    promised(engine)
    engine.handle(ev.AgentLogin("senior"), T0 + 70)
    engine.handle(ev.AgentLogin("other"), T0 + 70)  # busy with nothing: the next in line
    out = engine.handle(ev.AgentNoAnswer("cb-c1", "senior", "no-answer"), T0 + 85)
    call = engine.calls["cb-c1"]
    assert call.attempts == 0
    assert [(r.call_id, r.agent_id) for r in rings(out)] == [("cb-c1", "other")]


def test_a_caller_hang_up_event_never_abandons_a_callback():
    engine = Engine(sales_table())
    promised(engine)
    out = engine.handle(ev.CallLeft("cb-c1"), T0 + 61)
    assert published(out, "call.abandoned") == [] and "cb-c1" in engine.calls


def test_no_number_no_promise():
    engine = Engine(sales_table())
    out = promised(engine, number="anonymous")
    assert published(out, "callback.failed") == [{"call": "cb-c1", "origin": "c1", "queue": "sales",
                                                  "reason": "no-number", "attempts": 0}]
    assert engine.line() == []


def test_a_restored_callback_is_placed_and_a_duplicate_ignored():
    engine = Engine(sales_table())
    promise = ev.CallbackPromised("cb-x", NUMBER, "sales", 0, T0 - 500, attempts=1, pbx="sim")
    out = engine.handle(promise, T0)
    assert published(out, "callback.promised")[0]["attempts"] == 1
    assert published(engine.handle(promise, T0 + 1), "router.ignored")
    out = engine.handle(ev.AgentLogin("senior"), T0 + 2)
    assert [(r.call_id, r.dial) for r in rings(out)] == [("cb-x", NUMBER)]


def test_a_reload_keeps_the_callback_without_final_actions():
    engine = Engine(sales_table())
    promised(engine)
    sales = queue("sales", step(0, req(sales=7)), step(10, req(sales=1)), step(30, action=Action("voicemail", "1")))
    engine.handle(ev.ConfigReplaced(table([agent("senior", sales=8)], [sales], enforcement=OFF)), T0 + 100)
    call = engine.calls["cb-c1"]
    assert [s.action for s in call.steps] == [None, None] and call.step == 1
    out = engine.handle(ev.TimerFired("step", "cb-c1"), T0 + 500)  # long past the new max wait
    assert not [c for c in out if isinstance(c, RunAction)] and "cb-c1" in engine.calls


def test_a_supervisor_move_keeps_the_callback_without_final_actions():
    support = queue("support", step(0, req(sales=9)), step(20, action=Action("callback")))
    engine = Engine(table([agent("senior", sales=8), agent("other", sales=9)],
                          [queue("sales", step(0, req(sales=7)), step(60, action=Action("callback"))), support],
                          enforcement=OFF))
    promised(engine)
    engine.handle(ev.CallMove("cb-c1", "support"), T0 + 70)
    call = engine.calls["cb-c1"]
    assert call.queue == "support" and [s.action for s in call.steps] == [None]
    out = engine.handle(ev.TimerFired("step", "cb-c1"), T0 + 500)  # long past support's callback step
    assert not [c for c in out if isinstance(c, RunAction)] and "cb-c1" in engine.calls
    assert not published(out, "callback.promised")


def test_snapshot_keeps_a_callback_whose_agent_is_dialing_and_ends_one_whose_leg_is_gone():
    engine = Engine(sales_table())
    promised(engine)
    engine.handle(ev.AgentLogin("senior"), T0 + 70)
    engine.handle(ev.AgentAnswered("cb-c1", "senior"), T0 + 72)
    # The leg is up and dialing the customer: listed, not bridged ("ringing").
    engine.handle(ev.PbxSnapshot("sim", ringing=(("cb-c1", "senior"),)), T0 + 80)
    assert engine.calls["cb-c1"].status is CallStatus.CONNECTED
    out = engine.handle(ev.PbxSnapshot("sim"), T0 + 300)  # gone while we were away
    assert published(out, "callback.done")[0]["result"] == "unknown"
    assert "cb-c1" not in engine.calls
