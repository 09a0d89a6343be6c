"""The records assembler (router/records/assemble.py), fed by the real engine:
events in, the engine's facts to the assembler, rows out. Pure: no I/O."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from router.core import events as ev
from router.core.commands import StartTimer
from router.core.engine import Engine
from router.core.facts import Fact
from router.core.table import Action, Calendar, Enforcement, RoutingTable
from router.records.assemble import RESYNC_GRACE, STALE_AFTER, RecordAssembler
from router.records.survey import SURVEY_WAIT
from router.records.model import (AgentSessionRow, AgentStateRow, CallbackRow, CallRow, CallStepRow, OfferRow,
                                  SurveyRow)
from support.tables import agent, queue, req, step, table

OFF = Enforcement(early_escalation=False, protection=False)
SH = ZoneInfo("Asia/Shanghai")
#: 2026-11-23 09:07:00 in Shanghai
T0 = datetime(2026, 11, 23, 9, 7, tzinfo=SH).timestamp()


def centre(wrapup: float = 10.0, **kw) -> RoutingTable:
    sales = queue("sales", step(0, req(sales=1)), step(60, action=kw.pop("final", Action("voicemail", "100"))),
                  wrapup=wrapup, **kw)
    support = queue("support", step(0, req(sales=1)), wrapup=wrapup)
    t = table([agent("a1", team="red", sales=5), agent("a2", team="blue", sales=5)], [sales, support],
              enforcement=OFF, no_answer_rest=2.0)
    # one calendar, so the centre's zone is Shanghai (always open)
    cal = Calendar("always", "Asia/Shanghai", tuple((d, 0, 1440) for d in range(7)))
    return RoutingTable(t.skills, t.teams, t.agents, t.queues, RoutingTable.freeze({"always": cal}), t.rules,
                        t.default, t.settings)


class Feed:
    """The engine and the assembler, with the engine's timers."""

    def __init__(self, t: RoutingTable, asm: RecordAssembler | None = None) -> None:
        self.engine = Engine(t)
        self.asm = asm or RecordAssembler(lambda: self.engine.table)
        self.rows: list = []
        self.timers: dict = {}

    def __call__(self, event, at: float) -> list:
        self.fire(at)
        return self._handle(event, at)

    def _handle(self, event, at):
        out = self.engine.handle(event, at)
        for c in out:
            if isinstance(c, Fact):
                self.rows += self.asm.handle(c, at)
            elif isinstance(c, StartTimer):
                self.timers[(c.kind, c.ref)] = c.at
        self.rows += self.asm.tick(at)
        return out

    def fire(self, until: float) -> None:
        while True:
            due = sorted((at, key) for key, at in self.timers.items() if at <= until)
            if not due:
                return
            at, key = due[0]
            del self.timers[key]
            self._handle(ev.TimerFired(*key), at)

    def of(self, kind: type) -> list:
        return [r for r in self.rows if isinstance(r, kind)]

    def call(self, call_id: str) -> CallRow:
        (row,) = [r for r in self.of(CallRow) if r.call_id == call_id]
        return row

    def offers(self, call_id: str) -> list[tuple[str, str]]:
        return [(o.agent_id, o.outcome) for o in self.of(OfferRow) if o.call_id == call_id]


def logged_in(t: RoutingTable, *agents: str, at: float = T0 - 600) -> Feed:
    feed = Feed(t)
    for a in agents:
        feed(ev.AgentLogin(a), at)
    return feed


def test_an_answered_call_goes_on_record_when_its_wrap_up_ends():
    feed = logged_in(centre(wrapup=10.0), "a1")
    feed(ev.CallWaiting("c1", dnis="800", caller_num="13800001111", caller_name="王五",
                        variables=(("lang", "中文"), ("tier", "gold")), pbx="sim"), T0)
    feed(ev.AgentAnswered("c1", "a1"), T0 + 3)
    feed(ev.CallEnded("c1", "a1"), T0 + 63)
    assert feed.of(CallRow) == []  # in wrap-up: not yet
    feed.fire(T0 + 80)
    row = feed.call("c1")
    assert (row.outcome, row.answered_by, row.team, row.first_queue, row.final_queue) == \
        ("answered", "a1", "red", "sales", "sales")
    assert (row.wait, row.talk, row.wrapup, row.offers, row.moves) == (3.0, 60.0, 10.0, 1, 0)
    assert (row.sl_threshold, row.sl_counted, row.sl_met, row.short_abandon) == (20.0, True, True, False)
    assert (row.caller_name, json.loads(row.variables)) == ("王五", {"lang": "中文", "tier": "gold"})
    assert "中文" in row.variables  # UTF-8 kept, not \u-escaped
    assert (row.local_date, row.local_minute) == ("2026-11-23", 9 * 60 + 7)
    assert feed.offers("c1") == [("a1", "answered")]
    assert [s.kind for s in feed.of(CallStepRow)] == ["queued"]


def test_no_wrap_up_means_on_record_at_the_hang_up():
    feed = logged_in(centre(wrapup=0.0), "a1")
    feed(ev.CallWaiting("c1"), T0)
    feed(ev.AgentAnswered("c1", "a1"), T0 + 30)
    feed(ev.CallEnded("c1", "a1"), T0 + 40)
    row = feed.call("c1")
    assert (row.wrapup, row.sl_met, row.sl_counted, row.finished_at, row.ended_at) == \
        (0.0, False, True, T0 + 30, T0 + 40)


def test_failed_offers_keep_their_reason_and_a_new_offer_withdraws_nothing_closed():
    feed = logged_in(centre(), "a1", "a2")
    feed(ev.CallWaiting("c1"), T0)
    first = feed.engine.calls["c1"].agent
    feed(ev.AgentNoAnswer("c1", first, "no-answer"), T0 + 15)
    second = feed.engine.calls["c1"].agent
    feed(ev.AgentNoAnswer("c1", second, "busy"), T0 + 16)
    feed.fire(T0 + 30)  # rests over: rung again
    third = feed.engine.calls["c1"].agent
    feed(ev.AgentAnswered("c1", third), T0 + 35)
    feed(ev.CallEnded("c1", third), T0 + 50)
    feed.fire(T0 + 100)
    assert feed.offers("c1") == [(first, "no-answer"), (second, "busy"), (third, "answered")]
    assert feed.call("c1").offers == 3


def test_abandoned_while_ringing_withdraws_the_offer_and_short_abandons_are_not_counted():
    feed = logged_in(centre(), "a1")
    feed(ev.CallWaiting("c1"), T0)
    feed(ev.CallLeft("c1"), T0 + 12)
    feed(ev.CallWaiting("c2"), T0 + 20)  # a1 rests after the withdrawn offer? no: rings c2
    feed(ev.CallLeft("c2"), T0 + 22)
    long, short = feed.call("c1"), feed.call("c2")
    assert (long.outcome, long.sl_counted, long.short_abandon, long.wait) == ("abandoned", True, False, 12.0)
    assert (short.outcome, short.sl_counted, short.short_abandon) == ("abandoned", False, True)
    assert feed.offers("c1") == [("a1", "withdrawn")]


def test_overflow_and_moves():
    t = centre(final=Action("queue", "support"))
    feed = logged_in(t)
    feed(ev.CallWaiting("c1"), T0)
    feed.fire(T0 + 60)  # max wait: moved to support
    feed(ev.AgentLogin("a1"), T0 + 70)
    feed(ev.CallMove("c1", "sales"), T0 + 71)  # a supervisor, while a1 rings
    feed(ev.CallLeft("c1"), T0 + 90)
    row = feed.call("c1")
    assert (row.first_queue, row.final_queue, row.moves, row.outcome) == ("sales", "sales", 2, "abandoned")
    steps = [(s.kind, s.queue) for s in feed.of(CallStepRow) if s.call_id == "c1"]
    assert steps[0] == ("queued", "sales") and ("moved", "support") in steps and steps[-1][0] in ("moved", "escalated")
    assert [(s.kind, s.detail) for s in feed.of(CallStepRow) if s.kind == "moved"] == \
        [("moved", "sales->support max-wait"), ("moved", "support->sales supervisor")]
    assert [o.outcome for o in feed.of(OfferRow)] == ["withdrawn", "withdrawn"]  # moved, then hung up


def test_an_offer_withdrawn_by_a_pause_ends_at_the_pause():
    feed = logged_in(centre(), "a1", "a2")
    feed(ev.CallWaiting("c1"), T0)
    first = feed.engine.calls["c1"].agent
    feed(ev.AgentPause(first, "break"), T0 + 4)  # while it rings: the call is offered to the other
    second = feed.engine.calls["c1"].agent
    feed(ev.AgentAnswered("c1", second), T0 + 6)
    feed(ev.CallEnded("c1", second), T0 + 20)
    feed.fire(T0 + 60)
    offers = [(o.agent_id, o.outcome, o.rung_at - T0, o.ended_at - T0) for o in feed.of(OfferRow)]
    assert offers == [(first, "withdrawn", 0.0, 4.0), (second, "answered", 4.0, 6.0)]


def test_a_call_arriving_while_its_queue_is_closed_is_not_counted():
    t = centre(hours="never", closed=Action("voicemail", "200"))
    never = Calendar("never", "Asia/Shanghai", ())
    t = RoutingTable(t.skills, t.teams, t.agents, t.queues, RoutingTable.freeze({**t.calendars, "never": never}),
                     t.rules, t.default, t.settings)
    feed = logged_in(t, "a1")
    feed(ev.CallWaiting("c1"), T0)
    row = feed.call("c1")
    assert (row.outcome, row.reason, row.action, row.sl_counted, row.wait, row.offers) == \
        ("closed", "closed", "voicemail 200", False, 0.0, 0)


def surveyed_and_recorded(wrapup: float) -> RoutingTable:
    from dataclasses import replace

    t = centre(wrapup=wrapup)
    queues = {**t.queues, "sales": replace(t.queues["sales"], survey=True, record=True)}
    return replace(t, queues=RoutingTable.freeze(queues))


@pytest.mark.parametrize("wrapup", [0.0, 10.0])
def test_the_survey_score_and_the_recording_are_on_the_call_record(wrapup):
    feed = logged_in(surveyed_and_recorded(wrapup), "a1")
    feed(ev.CallWaiting("c1", caller_name="王五"), T0)
    feed(ev.AgentAnswered("c1", "a1"), T0 + 2)
    feed(ev.RecordingStarted("c1", "a1"), T0 + 2)  # MixMonitorStart
    feed(ev.CallEnded("c1", "a1"), T0 + 30)
    feed.fire(T0 + 30 + wrapup + 1)
    assert feed.of(CallRow) == []  # waits for the score
    feed(ev.SurveyAnswered("c1", 4), T0 + 45)
    row = feed.call("c1")
    assert (row.survey_score, row.wrapup) == (4, wrapup)
    assert row.recording and row.recording.endswith("c1.wav")


def test_a_survey_never_answered_is_given_up_on():
    feed = logged_in(surveyed_and_recorded(0.0), "a1")
    feed(ev.CallWaiting("c1"), T0)
    feed(ev.AgentAnswered("c1", "a1"), T0 + 2)
    feed(ev.CallEnded("c1", "a1"), T0 + 30)
    feed.rows += feed.asm.tick(T0 + 30 + SURVEY_WAIT)
    assert feed.call("c1").survey_score is None
    assert feed.of(SurveyRow) == []


def test_a_late_score_is_on_record_as_a_row_of_its_own():
    feed = logged_in(surveyed_and_recorded(0.0), "a1")
    feed(ev.CallWaiting("c1"), T0)
    feed(ev.AgentAnswered("c1", "a1"), T0 + 2)
    feed(ev.CallEnded("c1", "a1"), T0 + 30)
    feed.rows += feed.asm.tick(T0 + 30 + SURVEY_WAIT)
    assert feed.call("c1").survey_score is None  # the call row is written once, without it
    feed(ev.SurveyAnswered("c1", 5), T0 + 30 + SURVEY_WAIT + 200)
    assert feed.of(SurveyRow) == [SurveyRow("c1", 5, T0 + 30 + SURVEY_WAIT + 200)]
    assert len(feed.of(CallRow)) == 1
    feed(ev.SurveyAnswered("c1", 2), T0 + 30 + SURVEY_WAIT + 210)  # the engine takes one score per call
    assert len(feed.of(SurveyRow)) == 1


def test_a_score_in_time_is_on_the_call_row_only():
    feed = logged_in(surveyed_and_recorded(0.0), "a1")
    feed(ev.CallWaiting("c1"), T0)
    feed(ev.AgentAnswered("c1", "a1"), T0 + 2)
    feed(ev.CallEnded("c1", "a1"), T0 + 30)
    feed(ev.SurveyAnswered("c1", 3), T0 + 40)
    assert feed.call("c1").survey_score == 3 and feed.of(SurveyRow) == []


def test_overflow_to_voicemail_is_a_miss():
    feed = logged_in(centre())
    feed(ev.CallWaiting("c1"), T0)
    feed.fire(T0 + 61)
    row = feed.call("c1")
    assert (row.outcome, row.reason, row.action, row.sl_counted, row.sl_met, row.wait) == \
        ("overflowed", "max-wait", "voicemail 100", True, False, 60.0)


def test_a_callback_is_on_record_twice_linked():
    feed = logged_in(centre(final=Action("callback")))
    feed(ev.CallWaiting("c1", caller_num="+8613800001111", caller_name="李娜"), T0)
    feed.fire(T0 + 60)
    origin = feed.call("c1")
    assert (origin.outcome, origin.callback_id, origin.sl_counted) == ("callback", "cb-c1", True)
    feed(ev.AgentLogin("a1"), T0 + 100)
    feed(ev.AgentAnswered("cb-c1", "a1"), T0 + 105)
    feed(ev.CallbackResult("cb-c1", "ANSWER"), T0 + 110)
    feed(ev.CallEnded("cb-c1", "a1"), T0 + 200)
    feed.fire(T0 + 300)
    cb = feed.call("cb-c1")
    assert (cb.kind, cb.origin_call_id, cb.outcome, cb.answered_by, cb.sl_counted, cb.caller_name) == \
        ("callback", "c1", "answered", "a1", False, "李娜")
    assert cb.wrapup == 10.0 and cb.talk == 95.0
    (link,) = feed.of(CallbackRow)
    assert (link.callback_id, link.origin_call_id, link.outcome, link.attempts, link.agent_id, link.number) == \
        ("cb-c1", "c1", "done", 1, "a1", "+8613800001111")
    assert link.promised_at == T0 + 60 and link.finished_at == T0 + 200


def test_a_callback_without_a_number_fails_at_once():
    feed = logged_in(centre(final=Action("callback")))
    feed(ev.CallWaiting("c1", caller_num=""), T0)
    feed.fire(T0 + 60)
    (link,) = feed.of(CallbackRow)
    assert (link.callback_id, link.origin_call_id, link.outcome, link.reason) == ("cb-c1", "c1", "failed", "no-number")


def test_agent_intervals_are_cut_at_quarter_hours_and_tile_the_session():
    feed = logged_in(centre(wrapup=10.0), "a1", at=T0)  # 09:07
    feed(ev.AgentPause("a1", "lunch"), T0 + 400)
    feed(ev.AgentUnpause("a1"), T0 + 1900)  # 09:38:40
    feed(ev.CallWaiting("c1"), T0 + 2000)
    feed(ev.AgentAnswered("c1", "a1"), T0 + 2004)
    feed(ev.CallEnded("c1", "a1"), T0 + 2100)
    feed(ev.AgentDevice("a1", busy=False, unreachable=True), T0 + 2500)
    feed(ev.AgentDevice("a1", busy=False, unreachable=False), T0 + 2600)
    feed(ev.AgentLogout("a1"), T0 + 3300)  # 10:02
    states = feed.of(AgentStateRow)
    (session,) = feed.of(AgentSessionRow)
    assert session.duration == 3300.0 and session.team == "red"
    assert sum(s.duration for s in states) == pytest.approx(3300.0, abs=1e-6)
    for a, b in zip(states, states[1:]):
        assert a.ended_at == b.started_at  # no gap, no overlap
    for s in states:
        assert s.local_minute // 15 == (s.local_minute + s.duration / 60 - 1e-9) // 15  # within one quarter
    by_state = defaultdict(float)
    for s in states:
        by_state[s.state, s.reason] += s.duration
    assert by_state["paused", "lunch"] == 1500.0
    assert by_state["reserved", ""] == 4.0 and by_state["on_call", ""] == 96.0 and by_state["wrapup", ""] == 10.0
    assert by_state["unreachable", "unreachable"] == 100.0
    assert {s.call_id for s in states if s.state in ("reserved", "on_call", "wrapup")} == {"c1"}
    assert [s.local_minute for s in states[:2]] == [9 * 60 + 7, 9 * 60 + 13]  # 09:07, then the pause at 09:13:40


def test_a_pause_and_a_logout_asked_for_mid_call_keep_the_moment_they_were_asked_for():
    feed = logged_in(centre(wrapup=10.0), "a1", at=T0)
    feed(ev.AgentPause("a1", "coffee"), T0 + 10)  # idle: at once
    feed(ev.AgentUnpause("a1"), T0 + 70)
    feed(ev.CallWaiting("c1"), T0 + 100)
    feed(ev.AgentAnswered("c1", "a1"), T0 + 104)
    feed(ev.AgentPause("a1", "lunch"), T0 + 150)  # mid-call: waits for the call (no wrap-up)
    feed(ev.CallEnded("c1", "a1"), T0 + 400)
    feed(ev.AgentUnpause("a1"), T0 + 1800)  # 09:37: the lunch crossed 09:15 and 09:30
    feed(ev.CallWaiting("c2"), T0 + 1900)
    feed(ev.AgentAnswered("c2", "a1"), T0 + 1904)
    feed(ev.AgentPause("a1", "break"), T0 + 1950)  # asked for mid-call, then called off
    feed(ev.AgentUnpause("a1"), T0 + 1960)
    feed(ev.AgentLogout("a1"), T0 + 2000)  # mid-call: waits for the call
    feed(ev.CallEnded("c2", "a1"), T0 + 2300)
    paused = [(s.reason, s.started_at, s.asked_at) for s in feed.of(AgentStateRow) if s.state == "paused"]
    assert paused == [("coffee", T0 + 10, T0 + 10), ("lunch", T0 + 400, T0 + 150),
                      ("lunch", T0 + 480, T0 + 150), ("lunch", T0 + 1380, T0 + 150)]
    assert all(s.asked_at is None for s in feed.of(AgentStateRow) if s.state != "paused")
    (session,) = feed.of(AgentSessionRow)
    assert (session.logout_at, session.logout_asked_at) == (T0 + 2300, T0 + 2000)
    # a logout asked for when idle: asked and done at once
    feed(ev.AgentLogin("a2"), T0)
    feed(ev.AgentLogout("a2"), T0 + 50)
    assert [s.logout_asked_at for s in feed.of(AgentSessionRow) if s.agent_id == "a2"] == [T0 + 50]


def test_an_open_interval_checkpoints_its_pending_moment_and_reads_an_older_checkpoint():
    from router.records.agentlog import OpenState

    feed = logged_in(centre(), "a1", at=T0)
    feed(ev.CallWaiting("c1"), T0 + 100)
    feed(ev.AgentAnswered("c1", "a1"), T0 + 104)
    feed(ev.AgentPause("a1", "lunch"), T0 + 150)
    item = json.loads(json.dumps(feed.asm.changes()["a:a1"]))
    assert OpenState.load(item).pending == ("paused", T0 + 150)
    old = OpenState.load(item[:8])  # a checkpoint written before the asked-for moments
    assert (old.state, old.call, old.asked_at, old.pending) == ("on_call", "c1", None, None)


def test_long_intervals_are_on_record_quarter_by_quarter_while_they_run():
    feed = logged_in(centre(), "a1", at=T0)
    feed(ev.AgentPause("a1", "training"), T0 + 60)
    feed.rows += feed.asm.tick(T0 + 3600)
    assert [s.state for s in feed.of(AgentStateRow)] == ["available"] + ["paused"] * 4
    assert feed.of(AgentStateRow)[-1].ended_at == T0 - 7 * 60 + 3600  # 10:00


def test_a_call_left_open_goes_on_record_as_incomplete():
    feed = logged_in(centre(), "a1")
    feed.asm.handle(__import__("router.core.facts", fromlist=["CallQueued"]).CallQueued(
        "lost", "sales", "r", 0, "", "", "", "sim", arrived=T0), T0)
    feed.rows += feed.asm.tick(T0 + STALE_AFTER + 61)
    row = feed.call("lost")
    assert (row.reason, row.outcome, row.sl_counted) == ("incomplete", "abandoned", False)
    assert feed.asm.calls == {}


def test_a_callback_parked_for_a_night_or_a_holiday_stays_open_and_only_a_month_of_silence_ends_it():
    from router.core.facts import CallbackQueued

    feed = logged_in(centre(), "a1")
    feed.asm.handle(CallbackQueued("cb-c9", "c9", "sales", "13800000000", "李四", 0, T0, 0, "", "sim", (),
                                   None), T0)
    for days in (0.6, 3, 9):  # overnight, a weekend, the Spring Festival week
        feed.rows += feed.asm.tick(T0 + days * 86400)
        assert "cb-c9" in feed.asm.calls and not [r for r in feed.of(CallRow) if r.call_id == "cb-c9"], days
    feed.rows += feed.asm.tick(T0 + 31 * 86400 + 61)
    row = feed.call("cb-c9")
    assert (row.kind, row.reason, row.outcome) == ("callback", "incomplete", "overflowed")
    assert feed.asm.calls == {}


def test_a_restart_continues_the_same_records():
    """Kill after a checkpoint: c1 waiting, c2 talking with a1, c3 in a2's
    wrap-up. A new engine and assembler; the resync's facts continue them."""
    t = centre(wrapup=30.0)
    feed = logged_in(t, "a1", "a2")
    feed(ev.CallWaiting("c2", caller_name="张三"), T0)
    feed(ev.AgentAnswered("c2", feed.engine.calls["c2"].agent), T0 + 2)
    talker = feed.engine.calls["c2"].agent
    other = "a2" if talker == "a1" else "a1"
    feed(ev.CallWaiting("c3"), T0 + 5)
    feed(ev.AgentAnswered("c3", other), T0 + 6)
    feed(ev.CallEnded("c3", other), T0 + 20)
    feed(ev.CallWaiting("c1", caller_name="王五"), T0 + 30)
    checkpoint = feed.asm.changes()
    assert all(isinstance(json.loads(json.dumps(v, ensure_ascii=False)), list) for v in checkpoint.values())
    before = list(feed.rows)

    # the restart, 5 s later: the writer's checkpoint back, then the resync
    after = Feed(t)
    restored = after.asm.restore({k: v for k, v in checkpoint.items() if v is not None}, T0 + 30, T0 + 35)
    after.rows += restored
    c3 = after.call("c3")
    assert (c3.outcome, c3.wrapup, c3.talk) == ("answered", 30.0, 14.0)  # the wrap-up it was given
    assert {s.agent_id for s in after.of(AgentSessionRow)} == {"a1", "a2"}
    assert {s.logout_at for s in after.of(AgentSessionRow)} == {T0 + 30}  # the gap starts at the last moment known
    after(ev.AgentLogin(other), T0 + 35)
    after(ev.PbxSnapshot("", waiting=(ev.CallWaiting("c1", caller_name="王五", waited=5.0),),
                         connected=(("c2", talker),)), T0 + 35)
    c1_agent = after.engine.calls["c1"].agent
    assert c1_agent == other
    after(ev.AgentAnswered("c1", c1_agent), T0 + 40)
    after(ev.CallEnded("c2", talker), T0 + 100)
    after(ev.CallEnded("c1", c1_agent), T0 + 120)
    after.fire(T0 + 400)
    c2 = after.call("c2")
    assert (c2.outcome, c2.answered_by, c2.answered_at, c2.ended_at, c2.wait, c2.caller_name) == \
        ("answered", talker, T0 + 2, T0 + 100, 2.0, "张三")
    assert c2.wrapup == 30.0  # the adopted conversation's wrap-up, after the restart
    c1 = after.call("c1")
    assert (c1.arrived_at, c1.first_queue, c1.outcome, c1.wait, c1.caller_name) == \
        (T0 + 30, "sales", "answered", 10.0, "王五")
    assert [s.detail for s in after.of(CallStepRow) if s.call_id == "c1"][-1] == "resync"
    assert not [r for r in before if isinstance(r, CallRow)]  # nothing was on record before the kill
    assert sorted(r.call_id for r in after.of(CallRow)) == ["c1", "c2", "c3"]


def test_a_restored_call_not_seen_again_is_flushed_after_the_grace():
    feed = logged_in(centre(), "a1")
    feed(ev.CallWaiting("c1"), T0)
    checkpoint = feed.asm.changes()
    after = Feed(centre())
    after.rows += after.asm.restore({k: v for k, v in checkpoint.items() if v}, T0 + 1, T0 + 10)
    after.rows += after.asm.tick(T0 + 10 + RESYNC_GRACE)
    assert after.call("c1").reason == "incomplete"


def test_calls_a_resync_does_not_show_ended_unseen_and_go_on_record_at_once():
    """Rule 7: killed with c2 talking and c1 waiting; both end during the
    downtime, so the new router's resync shows neither. On record at that
    resync (not RESYNC_GRACE later), ending at the checkpoint's last moment;
    a restored call of another PBX waits for that PBX's own resync."""
    t = centre(wrapup=30.0)
    feed = logged_in(t, "a1", "a2")
    feed(ev.CallWaiting("c2", caller_name="张三"), T0)
    talker = feed.engine.calls["c2"].agent
    feed(ev.AgentAnswered("c2", talker), T0 + 2)
    feed(ev.CallWaiting("c1", caller_name="王五"), T0 + 20)
    feed(ev.CallWaiting("x1", pbx="other"), T0 + 21)
    checkpoint = feed.asm.changes()
    after = Feed(t)
    after.rows += after.asm.restore({k: v for k, v in checkpoint.items() if v}, T0 + 30, T0 + 35)
    assert not after.of(CallRow)
    after(ev.PbxSnapshot(""), T0 + 36)
    c2, c1 = after.call("c2"), after.call("c1")
    assert (c2.outcome, c2.reason, c2.answered_by, c2.wait, c2.ended_at, c2.talk, c2.wrapup) == \
        ("answered", "end unseen", talker, 2.0, T0 + 30, 28.0, 30.0)
    assert (c2.sl_counted, c2.sl_met) == (True, True)  # its answer was seen: judged
    assert (c1.outcome, c1.reason, c1.finished_at, c1.wait, c1.caller_name) == \
        ("abandoned", "end unseen", T0 + 30, 10.0, "王五")
    assert sorted(r.call_id for r in after.of(CallRow)) == ["c1", "c2"]
    assert "x1" in after.asm.calls  # another PBX: not shown by this resync
    after(ev.PbxSnapshot("other"), T0 + 37)
    assert after.call("x1").reason == "end unseen"


def test_calls_on_record_stay_in_the_checkpoint_a_moment_and_are_put_again_after_a_restart():
    feed = logged_in(centre())
    feed(ev.CallWaiting("c1"), T0)
    feed(ev.CallLeft("c1"), T0 + 10)
    checkpoint = feed.asm.changes()
    assert checkpoint["c:c1"][-1] is True  # emitted, still kept
    after = Feed(centre())
    rows = after.asm.restore({k: v for k, v in checkpoint.items() if v}, T0 + 10, T0 + 20)
    assert [r.call_id for r in rows if isinstance(r, CallRow)] == ["c1"]
    feed.rows += feed.asm.tick(T0 + 16)
    assert feed.asm.changes() == {"c:c1": None}
