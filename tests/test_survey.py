"""Satisfaction survey and recordings (issue 16): the queue keys, the core's
facts (core/survey.py), the translator's Originate variables and
RouterSurvey UserEvent, and the score histogram. Pure: no I/O."""

from __future__ import annotations

from dataclasses import replace

import pytest
from prometheus_client import CollectorRegistry

from router.ami.translate import Translator
from router.config import check_config, load_config
from router.core import events as ev
from router.core import facts
from router.core.commands import RingAgent
from router.core.engine import Engine
from router.core.survey import MAX_PENDING, SURVEY_WINDOW, recording_path
from router.core.table import Settings
from router.metrics.events import EventMetrics
from router.mqtt.schema import CALL_EVENTS, FIELDS
from support.commands import published
from support.paths import ROOT
from support.tables import agent, queue, req, step, table

T0 = 1_000.0
RECORDINGS = "/srv/rec"


def survey_table(survey=True, record=True, recordings_dir=RECORDINGS):
    care = replace(queue("care", step(0, req(care=1))), survey=survey, record=record)
    plain = queue("plain", step(0, req(care=1)))
    tbl = table([agent("a1", care=5), agent("a2", care=5)], [care, plain])
    return replace(tbl, settings=Settings(recordings_dir=recordings_dir))


def engine_with(tbl, *logins):
    engine = Engine(tbl)
    for aid in logins:
        engine.handle(ev.AgentLogin(aid), T0 - 100)
    return engine


def ring_of(commands) -> RingAgent:
    (ring,) = [c for c in commands if isinstance(c, RingAgent)]
    return ring


def talk(engine, cid="c1", aid="a1", at=T0, ended=T0 + 60):
    """A call that rings `aid`, is answered and ends; the commands of each step."""
    offer = engine.handle(ev.CallWaiting(cid), at)
    answer = engine.handle(ev.AgentAnswered(cid, aid), at + 2)
    end = engine.handle(ev.CallEnded(cid, aid), ended)
    return offer, answer, end


# ----------------------------------------------------------------- config


def test_the_sample_config_turns_survey_and_record_on_where_it_says():
    tbl = load_config(ROOT / "config")
    assert {q.name for q in tbl.queues.values() if q.survey} == {"complaints", "aftersales"}
    assert {q.name for q in tbl.queues.values() if q.record} == {"complaints", "vip"}
    assert tbl.settings.recordings_dir == "/var/spool/asterisk/monitor/router"


def test_survey_and_record_default_off_and_compile_into_the_queue(tmp_path):
    path = tmp_path / "all.yaml"
    path.write_text("""\
settings:
  recordings_dir: /data/rec/
skills: {care: }
agents:
  - {id: "1001", endpoint: PJSIP/1001, skills: {care: 5}}
queues:
  care:
    service_level: {target: 80%, within: 20s}
    skills: {care: 3}
    survey: true
    record: false
  other:
    service_level: {target: 80%, within: 20s}
    skills: {care: 3}
routing:
  default: {queue: care}
""", encoding="utf-8")
    tbl = load_config(path)
    assert (tbl.queues["care"].survey, tbl.queues["care"].record) == (True, False)
    assert (tbl.queues["other"].survey, tbl.queues["other"].record) == (False, False)
    assert tbl.settings.recordings_dir == "/data/rec"  # the trailing slash dropped


def test_bad_survey_record_and_recordings_dir_are_exact_errors(monkeypatch):
    monkeypatch.chdir(ROOT)
    result = check_config("tests/broken/survey_record.yaml")
    found = [(p.line, p.path) for p in result.errors]
    assert found == [(4, "settings.recordings_dir"), (15, "queues.sales.survey"), (16, "queues.sales.record"),
                     (20, "queues.after.survey"), (21, "queues.after.record")]
    assert result.table is None


# ------------------------------------------------------------------- core


def test_an_offer_from_a_survey_and_record_queue_says_so_and_others_do_not():
    engine = engine_with(survey_table(), "a1")
    ring = ring_of(engine.handle(ev.CallWaiting("c1"), T0))
    assert ring.survey is True and ring.recording == f"{RECORDINGS}/c1.wav"
    plain = engine_with(survey_table(survey=False, record=False), "a1")
    ring = ring_of(plain.handle(ev.CallWaiting("c1"), T0))
    assert ring.survey is False and ring.recording == ""


def test_the_offer_follows_the_queue_the_call_is_in_at_the_time():
    tbl = survey_table()
    tbl = replace(tbl, default=replace(tbl.default, queue="plain", steps=tbl.queues["plain"].steps))
    engine = engine_with(tbl)
    engine.handle(ev.CallWaiting("c1"), T0)  # in `plain`, nobody logged in
    engine.handle(ev.CallMove("c1", "care"), T0 + 5)
    ring = ring_of(engine.handle(ev.AgentLogin("a1"), T0 + 6))
    assert ring.queue == "care" and ring.survey and ring.recording.endswith("/c1.wav")


def test_recording_is_published_apart_from_an_unchanged_answer_once_the_pbx_says_it_started():
    engine = engine_with(survey_table(), "a1")
    engine.handle(ev.CallWaiting("c1"), T0)
    answer = engine.handle(ev.AgentAnswered("c1", "a1"), T0 + 2)
    assert published(answer, "call.answered") == [{"call": "c1", "queue": "care", "agent": "a1", "wait": 2.0}]
    assert published(answer, "call.recording") == []  # no MixMonitorStart yet
    started = engine.handle(ev.RecordingStarted("c1", "a1"), T0 + 2)
    assert published(started, "call.recording") == [
        {"call": "c1", "queue": "care", "agent": "a1", "path": f"{RECORDINGS}/c1.wav"}]
    assert published(engine.handle(ev.RecordingStarted("c1", "a1"), T0 + 3), "call.recording") == []  # once
    plain = engine_with(survey_table(record=False), "a1")
    plain.handle(ev.CallWaiting("c1"), T0)
    plain.handle(ev.AgentAnswered("c1", "a1"), T0 + 2)
    assert published(plain.handle(ev.RecordingStarted("c1", "a1"), T0 + 2), "call.recording") == []


def test_a_recording_started_before_the_answer_reached_us_is_published_on_the_answer():
    """MixMonitorStart and the OriginateResponse may come in either order."""
    engine = engine_with(survey_table(), "a1")
    engine.handle(ev.CallWaiting("c1"), T0)
    assert published(engine.handle(ev.RecordingStarted("c1", "a1"), T0 + 2), "call.recording") == []
    answer = engine.handle(ev.AgentAnswered("c1", "a1"), T0 + 2)
    assert published(answer, "call.recording") == [
        {"call": "c1", "queue": "care", "agent": "a1", "path": f"{RECORDINGS}/c1.wav"}]


def test_no_recording_is_published_when_the_pbx_never_starts_it():
    engine = engine_with(survey_table(), "a1")
    _, answer, end = talk(engine)
    assert published(answer, "call.recording") == published(end, "call.recording") == []


@pytest.mark.parametrize("call_id, name", [("1795455140.266", "1795455140.266.wav"),
                                           ("../../etc/passwd", "_.._etc_passwd.wav"),
                                           ("a,b/c${X}", "a_b_c__X_.wav"), ("", "call.wav")])
def test_a_recording_path_never_leaves_its_directory(call_id, name):
    path = recording_path("/srv/rec/", call_id)
    assert path == f"/srv/rec/{name}"
    assert path.count("/") == 3 and "," not in path


def test_a_score_after_the_end_gets_the_calls_queue_and_agent():
    engine = engine_with(survey_table(), "a1")
    talk(engine)
    out = engine.handle(ev.SurveyAnswered("c1", 4), T0 + 70)
    assert published(out, "call.survey") == [{"call": "c1", "queue": "care", "agent": "a1", "score": 4}]


def test_a_score_for_an_unknown_or_long_gone_call_is_still_published_without_queue():
    engine = engine_with(survey_table(), "a1")
    out = engine.handle(ev.SurveyAnswered("never-seen", 5), T0)
    assert published(out, "call.survey") == [{"call": "never-seen", "queue": "", "agent": "", "score": 5}]
    talk(engine)
    out = engine.handle(ev.SurveyAnswered("c1", 2), T0 + 60 + SURVEY_WINDOW + 1)
    assert published(out, "call.survey") == [{"call": "c1", "queue": "", "agent": "", "score": 2}]


@pytest.mark.parametrize("score", [0, 6, -1, True, 3.0, "3"])
def test_a_score_not_1_to_5_is_ignored(score):
    engine = engine_with(survey_table(), "a1")
    talk(engine)
    out = engine.handle(ev.SurveyAnswered("c1", score), T0 + 70)
    assert published(out, "call.survey") == []
    assert published(out, "router.ignored") == [{"event": "SurveyAnswered", "why": "survey score not 1-5"}]
    # the call's survey is still open for a real score
    assert published(engine.handle(ev.SurveyAnswered("c1", 3), T0 + 71), "call.survey")[0]["queue"] == "care"


def test_a_second_score_for_the_same_call_is_ignored():
    engine = engine_with(survey_table(), "a1")
    talk(engine)
    engine.handle(ev.SurveyAnswered("c1", 4), T0 + 70)
    out = engine.handle(ev.SurveyAnswered("c1", 1), T0 + 71)
    assert published(out, "call.survey") == []
    assert published(out, "router.ignored")[0]["why"] == "survey already answered"


def test_calls_without_the_survey_are_not_remembered_and_memory_is_bounded():
    engine = engine_with(survey_table(survey=False), "a1")
    talk(engine)
    assert engine._surveys == {}
    engine = engine_with(survey_table(), "a1")
    t = T0
    for n in range(5):
        talk(engine, f"c{n}", at=t, ended=t + 10)
        t += 20
    assert list(engine._surveys) == [f"c{n}" for n in range(5)]  # end order
    talk(engine, "late", at=t + SURVEY_WINDOW, ended=t + SURVEY_WINDOW + 10)
    assert list(engine._surveys) == ["late"]  # the others aged out
    assert MAX_PENDING >= 10_000


def test_a_callback_is_neither_surveyed_nor_recorded():
    engine = engine_with(survey_table(), "a1")
    ring = ring_of(engine.handle(ev.CallbackPromised("cb-1", "13800138000", "care", 0, T0), T0))
    assert ring.dial == "13800138000" and not ring.survey and ring.recording == ""


def test_the_survey_keeps_the_engine_deterministic():
    def run():
        engine = engine_with(survey_table(), "a1", "a2")
        out = []
        for n in range(6):
            for cmds in talk(engine, f"c{n}", aid=("a1", "a2")[n % 2], at=T0 + 100 * n, ended=T0 + 100 * n + 50):
                out += cmds
            out += engine.handle(ev.SurveyAnswered(f"c{n}", 1 + n % 5), T0 + 100 * n + 60)
        return out
    assert run() == run()


# ------------------------------------------------------------- translator


def test_the_originate_carries_survey_and_recording_only_when_set():
    tr = Translator(survey_table())
    both = tr.ring(RingAgent("c1", "a1", "PJSIP/a1", 15, "care", survey=True, recording="/srv/rec/c1.wav"))
    assert both["Variable"][-2:] == ["ROUTER_SURVEY=1", "ROUTER_RECORDING=/srv/rec/c1.wav"]
    plain = tr.ring(RingAgent("c2", "a1", "PJSIP/a1", 15, "plain"))
    assert not [v for v in plain["Variable"] if v.startswith(("ROUTER_SURVEY", "ROUTER_RECORDING"))]
    # a path that got past everything else still cannot break the dialplan argument or the header
    odd = tr.ring(RingAgent("c3", "a1", "PJSIP/a1", 15, "care", recording="/srv/rec/a,b\r\nX: y.wav"))
    assert odd["Variable"][-1] == "ROUTER_RECORDING=/srv/rec/abXy.wav"


def survey_event(**headers):
    return {"Event": "UserEvent", "UserEvent": "RouterSurvey", "Channel": "PJSIP/trunk-00000001",
            "Uniqueid": "1.7", **headers}


def test_router_survey_becomes_survey_answered():
    tr = Translator(survey_table())
    assert tr.event(survey_event(Call="1.7", Score="5")) == [ev.SurveyAnswered("1.7", 5)]
    assert tr.event(survey_event(Score=" 2 ")) == [ev.SurveyAnswered("1.7", 2)]  # Call from the channel


@pytest.mark.parametrize("headers", [{"Call": "1.7"}, {"Call": "1.7", "Score": ""}, {"Score": "0"},
                                     {"Score": "6"}, {"Score": "4a"}, {"Score": "12"}, {"Score": "٣"},
                                     {"Score": "3\r\nAction: Hangup"}, {"Score": None}, {"Score": 3}])
def test_a_garbled_router_survey_is_ignored_and_counted_never_raised(headers):
    tr = Translator(survey_table())
    assert tr.event(survey_event(**headers)) == []
    assert dict(tr.ignored) == {"RouterSurvey with a Score not 1-5": 1}


def test_repeated_router_survey_headers_count_the_first():
    tr = Translator(survey_table())
    assert tr.event(survey_event(Score=["3", "4"], Call=["", "x"])) == [ev.SurveyAnswered("1.7", 3)]


def test_router_survey_without_any_call_id_is_ignored():
    tr = Translator(survey_table())
    msg = survey_event(Score="3")
    del msg["Uniqueid"]
    assert tr.event(msg) == []
    assert tr.ignored["RouterSurvey without Call"] == 1


# ------------------------------------------------------ metrics and MQTT


def test_scores_fill_the_histogram_of_their_queue():
    registry = CollectorRegistry()
    metrics = EventMetrics(registry, survey_table())
    for score, queue_name in ((5, "care"), (4, "care"), (1, "care"), (3, "")):
        metrics.observe(facts.CallSurveyed("x", queue_name, "a1", score), T0)
    for bad in (0, 6, "5", None, True):  # never from the engine; metrics must not trust it either
        metrics.observe(facts.CallSurveyed("x", "care", "a1", bad), T0)
    sample = registry.get_sample_value
    assert sample("router_survey_score_count", {"queue": "care"}) == 3
    assert sample("router_survey_score_sum", {"queue": "care"}) == 10
    assert sample("router_survey_score_bucket", {"queue": "care", "le": "1.0"}) == 1
    assert sample("router_survey_score_bucket", {"queue": "care", "le": "4.0"}) == 2
    assert sample("router_survey_score_bucket", {"queue": "care", "le": "5.0"}) == 3
    assert sample("router_survey_score_count", {"queue": "none"}) == 1


def test_the_bus_sends_survey_and_recording_with_their_fields():
    assert "survey" in CALL_EVENTS and "recording" in CALL_EVENTS
    for fact in (facts.CallSurveyed("c1", "care", "a1", 4), facts.CallRecorded("c1", "care", "a1", "/r/c1.wav")):
        assert type(fact) in facts.CATALOGUE
        assert tuple(fact.data) == FIELDS[fact.kind]
