"""Defects found by a review that drove the engine (and the real Translator)
with hand-built event sequences (issue 12). One test per defect; each failed
before its fix."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timezone

import pytest

from router.ami.translate import Translator
from router.core import events as ev
from router.core.callbacks import RETRY_AFTER
from router.core.commands import CancelRing, RingAgent, RunAction, StartTimer
from router.core.facts import Fact
from router.core.engine import Engine
from router.core.erlang import required_agents
from router.core.patterns import compile_pattern
from router.core.sla import SlaBook
from router.core.state import AgentStatus, CallStatus
from router.core.table import Action, Calendar, Enforcement, Match, RoutingTable
from support.commands import published
from support.tables import agent, fire_timers, queue, req, rule, step, table
from test_config_errors import GOOD

OFF = Enforcement(early_escalation=False, protection=False)
NUMBER = "+8613800001111"


def rings(commands) -> list[RingAgent]:
    return [c for c in commands if isinstance(c, RingAgent)]


def utc(*args) -> float:
    return datetime(*args, tzinfo=timezone.utc).timestamp()


class Clock:
    """Feeds an engine and fires its timers in order, collecting every command."""

    def __init__(self, engine: Engine, now: float) -> None:
        self.engine, self.now = engine, now
        self.timers: dict[tuple[str, str], float] = {}
        self.out: list = []

    def feed(self, event, at: float | None = None) -> list:
        if at is not None:
            self.run_until(at)
        out = self.engine.handle(event, self.now)
        for c in out:
            if isinstance(c, StartTimer):
                self.timers[(c.kind, c.ref)] = c.at
        self.out.extend((self.now, c) for c in out)
        return out

    def run_until(self, until: float) -> None:
        fire_timers(self.timers, until, self._fire)
        self.now = max(self.now, until)

    def _fire(self, key: tuple[str, str], at: float) -> None:
        self.now = max(self.now, at)
        self.feed(ev.TimerFired(*key))


# ------------------------------------------------- 1. callbacks keep skills
def english_table():
    support = queue("support", step(0, req(support=5)), step(120, action=Action("callback")))
    other = queue("other", step(0, req(support=1)))
    agents = [agent("1015", support=9), agent("1020", support=6, english=6)]
    english = rule("english", support, Match(dnis=(compile_pattern("4008002000"),)), skills=(("english", 5),))
    return table(agents, [support, other], [english], default="support", enforcement=OFF)


def promised_english(engine: Engine, t0: float = 10_000.0) -> list:
    engine.handle(ev.CallWaiting("c1", dnis="4008002000", caller_num=NUMBER,
                                 variables=(("lang", "en"),)), t0)
    return engine.handle(ev.TimerFired("step", "c1"), t0 + 120)


def test_a_callback_keeps_the_rules_extra_skills():
    engine = Engine(english_table())
    out = promised_english(engine)
    (p,) = published(out, "callback.promised")
    assert p["skills"] == [["english", 5]]
    assert not rings(engine.handle(ev.AgentLogin("1015"), 10_130))  # support 9, no English
    (ring,) = rings(engine.handle(ev.AgentLogin("1020"), 10_131))
    assert (ring.call_id, ring.agent_id) == ("cb-c1", "1020")


def test_a_callback_keeps_its_skills_across_reload_and_move():
    engine = Engine(english_table())
    promised_english(engine)
    engine.handle(ev.ConfigReplaced(english_table()), 10_125)
    assert not rings(engine.handle(ev.AgentLogin("1015"), 10_130))
    engine.handle(ev.CallMove("cb-c1", "other"), 10_131)
    assert all(("english", 5) in r.skills for s in engine.calls["cb-c1"].steps for r in s.requirements)
    assert not rings(engine.handle(ev.TimerFired("step", "cb-c1"), 10_140))


def test_a_callback_keeps_its_skills_across_a_restart(tmp_path):
    from router.runtime.state_file import AgentStateFile

    engine = Engine(english_table())
    out = promised_english(engine)
    saved = AgentStateFile(tmp_path / "agents.json")
    for data in published(out, "callback.promised"):
        saved.record_callback("promised", data)
    saved.save()
    (restored,) = AgentStateFile(tmp_path / "agents.json").load()
    fresh = Engine(english_table())
    fresh.handle(restored, 20_000)
    assert not rings(fresh.handle(ev.AgentLogin("1015"), 20_001))
    assert [r.agent_id for r in rings(fresh.handle(ev.AgentLogin("1020"), 20_002))] == ["1020"]


# ------------------------------------------- 2. stale agent legs' hang-ups
def two_agents():
    sales = queue("sales", step(0, req(sales=1)))
    return table([agent("A", sales=5), agent("B", sales=5)], [sales], enforcement=OFF)


def drive(engine: Engine, tr: Translator, event, now: float) -> list:
    out = engine.handle(event, now)
    for c in out:
        if isinstance(c, RingAgent):
            tr.ring(c)
        elif isinstance(c, CancelRing):
            tr.cancel(c)
    return out


def leg_of(tr: Translator, agent_id: str) -> str:
    return next(leg.leg_id for leg in tr.legs.values() if leg.agent_id == agent_id)


@pytest.mark.parametrize("b_answered", [False, True])
def test_the_hang_up_of_a_withdrawn_leg_does_not_end_the_callers_call(b_answered):
    tbl = two_agents()
    engine, tr = Engine(tbl), Translator(tbl, pbx="p")
    drive(engine, tr, ev.AgentLogin("A"), 0)
    tr.event({"Event": "UserEvent", "UserEvent": "RouterCallWaiting", "Uniqueid": "c1", "Channel": "PJSIP/t-1"})
    assert [r.agent_id for r in rings(drive(engine, tr, ev.CallWaiting("c1", pbx="p"), 1))] == ["A"]
    a_leg = leg_of(tr, "A")
    drive(engine, tr, ev.AgentPause("A", "meal"), 2)  # the offer is withdrawn, the leg is hung up
    assert [r.agent_id for r in rings(drive(engine, tr, ev.AgentLogin("B"), 3))] == ["B"]
    if b_answered:
        drive(engine, tr, ev.AgentAnswered("c1", "B"), 4)
    # A's late answer, then A's leg hangs up.
    for msg in ({"Event": "OriginateResponse", "ActionID": a_leg, "Response": "Success", "Uniqueid": a_leg},
                {"Event": "Hangup", "Uniqueid": a_leg}):
        for e in tr.event(msg):
            out = drive(engine, tr, e, 5)
            assert not published(out, "call.abandoned") and not published(out, "call.ended"), e
            assert CancelRing("c1", "B") not in out
    call = engine.calls["c1"]
    assert call.agent == "B"
    assert call.status is (CallStatus.CONNECTED if b_answered else CallStatus.RINGING)
    assert engine.agents["B"].status is (AgentStatus.ON_CALL if b_answered else AgentStatus.RESERVED)


def test_the_hang_up_of_the_connected_leg_ends_the_call():
    tbl = two_agents()
    engine, tr = Engine(tbl), Translator(tbl, pbx="p")
    drive(engine, tr, ev.AgentLogin("A"), 0)
    drive(engine, tr, ev.CallWaiting("c1", pbx="p"), 1)
    leg = leg_of(tr, "A")
    (answered,) = tr.event({"Event": "OriginateResponse", "ActionID": leg, "Response": "Success", "Uniqueid": leg})
    drive(engine, tr, answered, 2)
    (ended,) = tr.event({"Event": "Hangup", "Uniqueid": leg})
    assert ended == ev.CallEnded("c1", "A")
    assert published(drive(engine, tr, ended, 30), "call.ended")[0]["agent"] == "A"


# ---------------------------------------------- 3. a callback-only queue
def test_a_queue_whose_only_step_is_a_callback_promises_once():
    only = queue("cb", step(0, action=Action("callback")))
    engine = Engine(table([agent("a", x=1)], [only], enforcement=OFF))
    engine.handle(ev.AgentLogin("a"), 0)
    out = engine.handle(ev.CallWaiting("c1", caller_num=NUMBER), 1)
    assert [c.action.kind for c in out if isinstance(c, RunAction)] == ["callback"]
    assert [p["call"] for p in published(out, "callback.promised")] == ["cb-c1"]
    assert len(published(out, "call.overflowed")) == 1
    assert engine.sla.counts("cb", "1h", 1) == (0, 1)


def test_check_rejects_a_callback_that_no_agent_could_place(tmp_path):
    from router.config import check_config

    path = tmp_path / "all.yaml"
    path.write_text(CONFIG.replace("ESCALATION", "      - after: 0s\n        action: {action: callback}\n"),
                    encoding="utf-8")
    result = check_config(path)
    assert result.table is None
    assert any("callback" in str(p) and "queues.sales.escalation[1]" in str(p) for p in result.errors), \
        [str(p) for p in result.errors]


#: A good config with a place for escalation steps and one rule.
CONFIG = GOOD.replace("    skills: {sales: 3}\n", "    skills: {sales: 3}\n    escalation:\nESCALATION") + """\
  rules:
    - name: x
      when: {dnis: "4008"}
      queue: sales
"""


# ------------------------------- 4. moved at max wait into a closed queue
def with_calendar(tbl: RoutingTable, cal: Calendar) -> RoutingTable:
    return replace(tbl, calendars=RoutingTable.freeze({cal.name: cal}))


def test_a_call_moved_into_a_closed_queue_is_a_miss_where_it_finished():
    day = Calendar("day", "UTC", tuple((d, 9 * 60, 20 * 60) for d in range(7)))
    sales = queue("sales", step(0, req(sales=9)), step(30, action=Action("queue", "general")))
    general = queue("general", step(0, req(general=1)), hours="day", closed=Action("voicemail", "8000"))
    engine = Engine(with_calendar(table([agent("a", sales=1)], [sales, general], enforcement=OFF), day))
    t = utc(2026, 11, 23, 19, 59, 40)
    engine.handle(ev.CallWaiting("c1"), t)
    out = engine.handle(ev.TimerFired("step", "c1"), t + 30)
    assert [(p["queue"], p["reason"]) for p in published(out, "call.overflowed")] == [("general", "closed")]
    assert not published(out, "call.closed")
    assert engine.sla.counts("general", "1h", t + 30) == (0, 1)


def test_a_call_arriving_while_closed_is_still_closed():
    day = Calendar("day", "UTC", tuple((d, 9 * 60, 20 * 60) for d in range(7)))
    general = queue("general", step(0, req(general=1)), hours="day", closed=Action("voicemail", "8000"))
    engine = Engine(with_calendar(table([agent("a", general=1)], [general], enforcement=OFF), day))
    out = engine.handle(ev.CallWaiting("c1"), utc(2026, 11, 23, 21, 0))
    assert published(out, "call.closed") and not published(out, "call.overflowed")


# ------------------------------- 5. early escalation and the final action
def test_early_escalation_does_not_bring_the_final_action_forward():
    sales = queue("sales", step(0, req(sales=7)), step(20, req(sales=5)), step(45, req(sales=3)),
                  step(90, action=Action("voicemail", "8000")), wrapup=0.0)
    engine = Engine(table([agent("a", sales=8)], [sales]))
    clock = Clock(engine, 0.0)
    clock.feed(ev.AgentLogin("a"))
    clock.feed(ev.CallWaiting("c0"), 1)
    clock.feed(ev.AgentAnswered("c0", "a"), 2)
    clock.feed(ev.CallEnded("c0", "a"), 62)  # one handled call: AHT 60 s
    clock.feed(ev.CallWaiting("c1"), 63)
    clock.feed(ev.AgentAnswered("c1", "a"), 64)  # the only agent is busy for long
    clock.feed(ev.CallWaiting("c2"), 70)
    clock.run_until(70 + 89)
    assert not [c for _, c in clock.out if isinstance(c, RunAction)], "the final action came early"
    assert [p["step"] for _, c in clock.out if isinstance(c, Fact) and c.kind == "call.escalated"
            for p in [c.data] if p["call"] == "c2"] == [1, 2]  # widened early all the same
    clock.run_until(70 + 91)
    assert [(t, c.action.kind, c.reason) for t, c in clock.out if isinstance(c, RunAction)] == [
        (160.0, "voicemail", "max-wait")]


# ---------------------------------------------- 6. callbacks and opening hours
def hours_table():
    business = Calendar("business", "UTC", tuple((d, 9 * 60, 18 * 60) for d in range(5)))
    complaints = queue("complaints", step(0, req(complaints=1)), hours="business", closed=Action("callback"))
    return with_calendar(table([agent("night", complaints=5)], [complaints], enforcement=OFF), business)


def test_a_callback_waits_for_its_queues_hours():
    engine = Engine(hours_table())
    clock = Clock(engine, utc(2026, 11, 23, 23, 0))  # a Monday
    clock.feed(ev.AgentLogin("night"))
    clock.feed(ev.CallWaiting("c1", caller_num=NUMBER), utc(2026, 11, 23, 23, 30))
    assert published([c for _, c in clock.out], "callback.promised")
    clock.run_until(utc(2026, 11, 24, 8, 59))
    assert not rings([c for _, c in clock.out]), "the customer was dialled at night"
    clock.run_until(utc(2026, 11, 24, 9, 0))
    assert [(t, r.call_id) for t, r in clock.out if isinstance(r, RingAgent)] == [
        (utc(2026, 11, 24, 9, 0), "cb-c1")]


def test_a_parked_retry_survives_a_restart(tmp_path):
    from router.runtime.state_file import AgentStateFile

    sales = queue("sales", step(0, req(sales=1)), step(60, action=Action("callback")))
    tbl = table([agent("a", sales=5)], [sales], enforcement=OFF)
    engine, saved = Engine(tbl), AgentStateFile(tmp_path / "agents.json")
    t0 = 10_000.0

    def feed(event, at):
        out = engine.handle(event, at)
        for p in out:
            if isinstance(p, Fact) and p.kind.startswith("callback."):
                saved.record_callback(p.kind[9:], p.data)
        return out

    feed(ev.CallWaiting("c1", caller_num=NUMBER), t0)
    feed(ev.TimerFired("step", "c1"), t0 + 60)
    feed(ev.AgentLogin("a"), t0 + 61)
    feed(ev.AgentAnswered("cb-c1", "a"), t0 + 62)
    feed(ev.CallbackResult("cb-c1", "NOANSWER"), t0 + 80)
    (retry,) = published(feed(ev.CallEnded("cb-c1", "a"), t0 + 81), "callback.retry")
    assert retry["retry_at"] == t0 + 81 + RETRY_AFTER
    saved.save()
    (restored,) = AgentStateFile(tmp_path / "agents.json").load()
    fresh = Engine(tbl)
    fresh.handle(ev.AgentLogin("a"), t0 + 100)
    out = fresh.handle(restored, t0 + 101)
    assert not rings(out), "a parked retry was re-dialled at once after the restart"
    assert StartTimer("callback", "cb-c1", t0 + 81 + RETRY_AFTER) in out
    assert [r.call_id for r in rings(fresh.handle(ev.TimerFired("callback", "cb-c1"), t0 + 81 + RETRY_AFTER))] \
        == ["cb-c1"]


# ------------------------------------------------ 7. resync and dict order
@pytest.mark.parametrize("talker_first", [True, False])
def test_resync_the_pbxs_conversation_wins_over_a_reservation_in_any_order(talker_first):
    """The engine holds a0 reserved for `held`; the PBX says a0 talks with
    `talker` (answered while the link was down)."""
    sales = queue("sales", step(0, req(sales=1)))
    engine = Engine(table([agent("a0", sales=5), agent("a1", sales=5)], [sales], enforcement=OFF))
    talker, held = "c3", "c5"
    engine.handle(ev.AgentLogin("a0"), 0)
    first, second = (talker, held) if talker_first else (held, talker)
    engine.handle(ev.CallWaiting(first), 1)   # rings a0
    engine.handle(ev.CallWaiting(second), 2)
    if talker_first:  # make a0 reserved for `held`, which came second
        engine.handle(ev.AgentNoAnswer(talker, "a0", "busy"), 3)
        engine.handle(ev.CallPriority(held, 50), 4)
        engine.handle(ev.TimerFired("wrapup", "a0"), 10)
    assert engine.calls[held].agent == "a0" and engine.calls[held].status is CallStatus.RINGING
    assert list(engine.calls)[0] == first
    snap = ev.PbxSnapshot("", waiting=(ev.CallWaiting(held, waited=20),), connected=((talker, "a0"),))
    out = engine.handle(snap, 21)
    call = engine.calls[talker]
    assert (call.status, call.agent) == (CallStatus.CONNECTED, "a0")
    assert engine.calls[held].status is CallStatus.WAITING
    assert engine.agents["a0"].status is AgentStatus.ON_CALL
    out = engine.handle(ev.AgentLogin("a1"), 22)
    assert [(r.call_id, r.agent_id) for r in rings(out)] == [(held, "a1")]


# --------------------------------------------- 8. patterns and the checker
def test_a_reversed_character_range_is_a_config_error(tmp_path):
    with pytest.raises(ValueError, match="range"):
        compile_pattern("_40080030[9-1]")
    from router.config import check_config

    path = tmp_path / "all.yaml"
    text = CONFIG.replace("ESCALATION", "      - after: 30s\n        require: {sales: 1}\n")
    path.write_text(text.replace('"4008"', '"_40080030[9-1]"'), encoding="utf-8")
    result = check_config(path)
    assert result.table is None
    assert [str(p) for p in result.errors] == [
        f"{path}:20:20: routing.rules[1] (x).when.dnis: '_40080030[9-1]' is not a number pattern: "
        "reversed range '9-1' in '[9-1]'"]


def test_dashes_in_asterisk_patterns_are_ignored():
    pattern = compile_pattern("_1-800-NXX-XXXX")
    assert pattern.matches("18002345678")
    assert not pattern.matches("1-800-234-5678")
    assert compile_pattern("_[1-3]-X").matches("25")


# ---------------------------------------------------------- smaller items
def test_the_sl_books_time_zone_follows_a_reload():
    shanghai = Calendar("c", "Asia/Shanghai", ((0, 0, 1440),))
    newyork = Calendar("c", "America/New_York", ((0, 0, 1440),))
    tbl = table([agent("a", x=1)], [queue("q", step(0, req(x=1)))])
    book = SlaBook(with_calendar(tbl, shanghai))
    assert book.tz.key == "Asia/Shanghai"
    book.replace_table(with_calendar(tbl, newyork))
    assert book.tz.key == "America/New_York"


def test_day_start_hour_is_a_config_key(tmp_path):
    from router.config import check_config

    path = tmp_path / "all.yaml"
    text = CONFIG.replace("ESCALATION", "      - after: 30s\n        require: {sales: 1}\n")
    path.write_text(text + "settings:\n  service_level: {day_start_hour: 6}\n", encoding="utf-8")
    result = check_config(path)
    assert not result.errors, [str(p) for p in result.errors]
    assert result.table.settings.enforcement.day_start_hour == 6
    engine = Engine(result.table)
    assert engine.sla.day_start_hour == 6
    path.write_text(text + "settings:\n  service_level: {day_start_hour: 24}\n", encoding="utf-8")
    assert check_config(path).errors


def test_a_pause_asked_for_mid_call_is_published():
    sales = queue("sales", step(0, req(sales=1)))
    engine = Engine(table([agent("a", sales=5)], [sales], enforcement=OFF))
    engine.handle(ev.AgentLogin("a"), 0)
    engine.handle(ev.CallWaiting("c1"), 1)
    engine.handle(ev.AgentAnswered("c1", "a"), 2)
    (state,) = published(engine.handle(ev.AgentPause("a", "meal"), 3), "agent.state")
    assert (state["state"], state["pending"], state["pending_reason"]) == ("on_call", "paused", "meal")
    (state,) = published(engine.handle(ev.AgentUnpause("a"), 4), "agent.state")
    assert (state["state"], state["pending"]) == ("on_call", "")


def test_a_100_percent_target_caps_required_agents():
    # 100% within a finite time is out of reach in Erlang C (the search
    # stopped wherever floats rounded up to 1.0): it is read as MAX_TARGET.
    from router.core.erlang import MAX_TARGET, service_level

    n = required_agents(0.1, 100.0, 1.0, 20.0)
    assert n == required_agents(0.1, 100.0, MAX_TARGET, 20.0)
    assert service_level(10.0, n, 100.0, 20.0) >= MAX_TARGET > service_level(10.0, n - 1, 100.0, 20.0)


# ------------------------------------------------ unreachable device states
def test_an_unreachable_phone_pauses_its_agent_until_it_is_back():
    tbl = two_agents()
    tr = Translator(tbl)
    engine = Engine(tbl)
    engine.handle(ev.AgentLogin("A"), 0)
    (down,) = tr.event({"Event": "DeviceStateChange", "Device": "PJSIP/A", "State": "UNAVAILABLE"})
    assert down == ev.AgentDevice("A", False, unreachable=True)
    (state,) = published(engine.handle(down, 1), "agent.state")
    assert (state["state"], state["reason"]) == ("paused", "unreachable")
    assert not rings(engine.handle(ev.CallWaiting("c1"), 2))
    (up,) = tr.event({"Event": "DeviceStateChange", "Device": "PJSIP/A", "State": "NOT_INUSE"})
    assert [r.agent_id for r in rings(engine.handle(up, 3))] == ["A"]


def test_an_unreachable_phone_in_a_snapshot_pauses_its_agent():
    tbl = two_agents()
    engine = Engine(tbl)
    engine.handle(ev.AgentLogin("A"), 0)
    engine.handle(ev.PbxSnapshot("", devices=(("A", False),), unreachable=("A",)), 1)
    assert (engine.agents["A"].status, engine.agents["A"].reason) == (AgentStatus.PAUSED, "unreachable")
    engine.handle(ev.PbxSnapshot("", devices=(("A", False),)), 2)
    assert engine.agents["A"].status is AgentStatus.AVAILABLE


@pytest.mark.parametrize("b_answered", [False, True])
def test_the_engine_ignores_the_hang_up_of_a_leg_it_is_not_connected_to(b_answered):
    engine = Engine(two_agents())
    engine.handle(ev.AgentLogin("A"), 0)
    engine.handle(ev.CallWaiting("c1"), 1)
    engine.handle(ev.AgentPause("A", "meal"), 2)
    engine.handle(ev.AgentLogin("B"), 3)
    if b_answered:
        engine.handle(ev.AgentAnswered("c1", "B"), 4)
    out = engine.handle(ev.CallEnded("c1", "A"), 5)
    assert [c.kind for c in out if isinstance(c, Fact)] == ["router.ignored"]
    assert engine.calls["c1"].agent == "B"


def test_a_pause_kept_in_the_state_file_survives_a_conversation_found_at_restart():
    sales = queue("sales", step(0, req(sales=1)))
    engine = Engine(table([agent("a", sales=5)], [sales], enforcement=OFF))
    for e in (ev.AgentLogin("a"), ev.AgentPause("a", "meal")):  # what the state file restores
        engine.handle(e, 0)
    engine.handle(ev.PbxSnapshot("", connected=(("c1", "a"),)), 1)
    assert engine.agents["a"].status is AgentStatus.ON_CALL
    engine.handle(ev.CallEnded("c1", "a"), 30)
    assert (engine.agents["a"].status, engine.agents["a"].reason) == (AgentStatus.PAUSED, "meal")


def test_a_resync_finding_a_parked_callbacks_leg_talking_takes_it_back():
    """Found by the widened property tests: a callback parked (its queue
    closed) while its agent leg, unheard during an outage, was answered.
    The snapshot must reconcile the callback, not adopt a stranger's call."""
    engine = Engine(hours_table())
    t = utc(2026, 11, 24, 17, 59)
    engine.handle(ev.AgentLogin("night"), t)
    engine.handle(ev.CallbackPromised("cb-c1", NUMBER, "complaints", 0, t), t)
    assert engine.calls["cb-c1"].agent == "night"  # rung at 17:59
    engine.handle(ev.AgentNoAnswer("cb-c1", "night", "failed"), t + 1)  # (what the router heard)
    engine.handle(ev.TimerFired("wrapup", "night"), utc(2026, 11, 24, 18, 1))  # closed now: parked
    assert "cb-c1" in engine.parked
    engine.handle(ev.PbxSnapshot("", connected=(("cb-c1", "night"),)), utc(2026, 11, 24, 18, 2))
    call = engine.calls["cb-c1"]
    assert call.callback and (call.status, call.agent) == (CallStatus.CONNECTED, "night")
    assert "cb-c1" not in engine.parked


def test_a_restart_takes_on_the_conversation_of_an_agent_removed_from_the_config():
    """Found by the widened property tests: an agent removed by a reload is
    still talking when the router restarts; the call is theirs until it
    ends (as after a reload), then they are logged out."""
    sales = queue("sales", step(0, req(sales=1)))
    engine = Engine(table([agent("a", sales=5)], [sales], enforcement=OFF))
    engine.handle(ev.PbxSnapshot("", connected=(("c1", "gone"),)), 1)
    assert (engine.calls["c1"].status, engine.calls["c1"].agent) == (CallStatus.CONNECTED, "gone")
    assert not rings(engine.handle(ev.CallWaiting("c1"), 2))  # a duplicate, not a new call
    engine.handle(ev.CallEnded("c1", "gone"), 30)
    assert "c1" not in engine.calls and engine.agents["gone"].status is AgentStatus.LOGGED_OUT


# ------------------------- a failed Originate whose reason is in its Hangup
@pytest.mark.parametrize("hangup_first", [False, True])
def test_a_busy_phones_originate_failure_with_reason_0_is_busy_by_its_hangup_cause(hangup_first):
    """Asterisk 22.10.1 (chan_pjsip) answers an Originate to a phone that
    replies 486 Busy Here with OriginateResponse Failure, Reason 0, *before*
    the leg's Hangup (Cause 17); the recorded traces had the Hangup first.
    Either order: the offer failed because the phone was busy."""
    tbl = two_agents()
    engine, tr = Engine(tbl), Translator(tbl, pbx="p")
    drive(engine, tr, ev.AgentLogin("A"), 0)
    drive(engine, tr, ev.CallWaiting("c1", pbx="p"), 1)
    leg = leg_of(tr, "A")
    assert tr.event({"Event": "Newchannel", "Uniqueid": leg, "Channel": "PJSIP/A-1"}) == [ev.AgentOffered("c1", "A")]
    response = {"Event": "OriginateResponse", "ActionID": leg, "Response": "Failure", "Reason": "0",
                "Uniqueid": "<unknown>"}
    hangup = {"Event": "Hangup", "Uniqueid": leg, "Cause": "17"}
    first, second = (hangup, response) if hangup_first else (response, hangup)
    assert tr.event(first) == []
    assert tr.event(second) == [ev.AgentNoAnswer("c1", "A", "busy")]
    assert tr.event(second) == []  # once


def test_an_originate_failure_with_reason_0_and_no_channel_fails_at_once():
    tbl = two_agents()
    engine, tr = Engine(tbl), Translator(tbl, pbx="p")
    drive(engine, tr, ev.AgentLogin("A"), 0)
    drive(engine, tr, ev.CallWaiting("c1", pbx="p"), 1)
    leg = leg_of(tr, "A")
    assert tr.event({"Event": "OriginateResponse", "ActionID": leg, "Response": "Failure", "Reason": "0",
                     "Uniqueid": "<unknown>"}) == [ev.AgentNoAnswer("c1", "A", "failed")]
