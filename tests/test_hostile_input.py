"""Hostile and broken AMI input (router/ami/framing.py, translate.py):
hypothesis throws random bytes, splits, invalid UTF-8, missing and repeated
fields, huge values and unknown events at the framing and the translation.
Never a crash; what the router does not use is counted by kind (bounded)
and logged once per kind; nothing from outside reaches an action's header
with a control character in it. Then the same over TCP against the
simulator: garbage on the wire costs at most a reconnect, never a call.
"""

from __future__ import annotations

import logging

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support.centre import ROOT, Behaviour, Centre

from router.ami.framing import Framer, FramingError
from router.ami.protocol import incoming
from router.ami.translate import MAX_IGNORED_KINDS, Translator
from router.config import load_config
from router.core import events as ev
from router.core.commands import CancelRing, RingAgent, RunAction
from router.core.table import Action

TABLE = load_config(ROOT / "config")
FAST = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

STREAM = (
    "Asterisk Call Manager/11.0.0\r\n"
    "Event: UserEvent\r\nPrivilege: user,all\r\nChannel: PJSIP/trunk-00000001\r\nCallerIDNum: 13800138000\r\n"
    "CallerIDName: 王五\r\nUniqueid: 1700000000.1\r\nUserEvent: RouterCallWaiting\r\nDNIS: 4008002000\r\n"
    "Vars: lang=yue&menu=3\r\n\r\n"
    "Response: Success\r\nActionID: 7\r\nMessage: Originate successfully queued\r\n\r\n"
    "Event: CoreShowChannelMap\r\nChannel: PJSIP/1002-00000002\r\nConnected: 陈静\r\n\n"  # asterisk issue 761
    "Event: Hangup\nUniqueid: 1700000000.1\nCause: 16\nCause-txt: Normal Clearing\n\n"
).encode("utf-8")


def frame(chunks) -> list:
    framer = Framer()
    out = []
    for chunk in chunks:
        out.extend(framer.feed(chunk))
    return out


WHOLE = frame([STREAM])


def test_the_reference_stream_frames_into_four_messages():
    assert [dict(m).get("Event", dict(m).get("Response")) for m in WHOLE] == \
        ["UserEvent", "Success", "CoreShowChannelMap", "Hangup"]
    assert dict(WHOLE[0])["CallerIDName"] == "王五"


def test_a_split_at_every_byte_boundary_gives_the_same_messages():
    for i in range(len(STREAM) + 1):
        assert frame([STREAM[:i], STREAM[i:]]) == WHOLE, i


@FAST
@given(st.lists(st.integers(min_value=0, max_value=len(STREAM)), max_size=12))
def test_any_number_of_splits_gives_the_same_messages(cuts):
    points = sorted(set(cuts))
    chunks = [STREAM[a:b] for a, b in zip([0] + points, points + [len(STREAM)])]
    assert frame(chunks) == WHOLE


@FAST
@given(st.lists(st.binary(max_size=300), max_size=20))
def test_random_bytes_never_crash_the_framer(chunks):
    framer = Framer(max_message=4096)
    for chunk in chunks:
        try:
            messages = framer.feed(chunk)
        except FramingError:  # too big: the link drops the connection (and reconnects)
            continue
        for headers in messages:
            for key, value in headers:
                assert isinstance(key, str) and isinstance(value, str)
                assert "\n" not in key + value


def test_invalid_utf8_becomes_replacement_characters_not_an_error():
    data = b"Asterisk Call Manager/11.0.0\r\nEvent: UserEvent\r\nCallerIDName: \xff\xfe\xe7\x8e\r\n\r\n"
    [headers] = frame([data])
    assert dict(headers)["CallerIDName"] == "\ufffd\ufffd\ufffd"


def test_a_message_without_end_cannot_eat_memory():
    framer = Framer(max_message=10_000)
    framer.feed(b"Asterisk Call Manager/11.0.0\r\nEvent: UserEvent\r\n")
    try:
        for _ in range(100):
            framer.feed(b"X-Junk: " + b"a" * 1000 + b"\r\n")
    except FramingError as err:
        assert "over 10000 characters" in str(err)
    else:
        raise AssertionError("an endless message was accepted")


EVENT_NAMES = st.sampled_from(["UserEvent", "Newchannel", "OriginateResponse", "Hangup", "DeviceStateChange",
                               "userevent", "HANGUP", "", "FullyBooted", "Newexten", "Bogus\x00Event"])
HEADER_NAMES = st.sampled_from(["UserEvent", "Uniqueid", "Channel", "CallerIDNum", "CallerIDName", "DNIS", "Vars",
                                "Agent", "Command", "Reason", "ActionID", "Response", "Device", "State",
                                "Linkedid", "X-Unknown"])
VALUES = st.one_of(
    st.sampled_from(["RouterCallWaiting", "RouterAgent", "login", "pause", "unpause", "logout", "Success",
                     "Failure", "3", "5", "INUSE", "PJSIP/1014", "1014", "<unknown>", "a=b&c", "&&==&"]),
    st.text(max_size=40),
    st.tuples(st.text(max_size=5), st.integers(1000, 20_000)).map(lambda t: (t[0] or "王") * t[1]),  # huge
)


@st.composite
def ami_events(draw):
    headers = [("Event", draw(EVENT_NAMES))] if draw(st.integers(0, 9)) else []  # now and then none
    for _ in range(draw(st.integers(0, 12))):  # missing, repeated and unknown fields
        headers.append((draw(HEADER_NAMES), draw(VALUES)))
    return incoming(headers)  # as the link makes them (an AmiEvent or a Message)


@FAST
@given(st.lists(ami_events(), max_size=30))
def test_translation_never_crashes_and_actions_stay_clean(messages):
    t = Translator(TABLE, pbx="sim", run="r1")
    for message in messages:
        for event in t.event(message):
            assert type(event).__module__ == ev.__name__
            if isinstance(event, ev.CallWaiting):
                ring = t.ring(RingAgent(event.call_id, "1014", "PJSIP/1014", 15.0, "support",
                                        caller_name=event.caller_name, caller_num=event.caller_num))
                redirect = t.run_action(RunAction(event.call_id, Action("voicemail", "8000@sales", "x"),
                                                  "full", "support"))
                cancel = t.cancel(CancelRing(event.call_id, "1014"))
                for action in [ring, cancel, *redirect]:
                    for value in (action or {}).values():
                        for text in value if isinstance(value, list) else [value]:
                            assert not any(ord(c) < 32 or 0x7f <= ord(c) < 0xa0 for c in text), action
                            assert len(text) <= 300
    assert len(t.ignored) <= MAX_IGNORED_KINDS + 1


def test_unused_input_is_counted_by_kind_and_the_kinds_are_bounded():
    t = Translator(TABLE, pbx="sim")
    for n in range(MAX_IGNORED_KINDS + 50):
        t.event(incoming([("Event", f"Made-up-{n}")]))
    t.event(incoming([("Event", "UserEvent"), ("UserEvent", "RouterCallWaiting")]))  # no Uniqueid
    t.event(incoming([("Event", "Made-up-0")]))
    assert t.ignored["Made-up-0"] == 2
    assert t.ignored["(other kinds)"] == 51
    assert len(t.ignored) == MAX_IGNORED_KINDS + 1


STEADY = Behaviour(mean_patience=10_000, answer_delay=(1.0, 1.0), no_answer_rate=0.0, mean_talk=30, min_talk=30)


async def test_garbage_on_the_wire_costs_at_most_a_reconnect_and_is_logged_once_per_kind(caplog):
    async with Centre(behaviour=STEADY, agents=["1014"]) as centre:
        before = centre.router.resyncs["sim"]
        with caplog.at_level(logging.INFO, logger="router"):
            for session in list(centre.pbx.server.sessions):
                for _ in range(3):
                    session.send_raw(b"Event: Weird\xff\xfe\r\nX: \x00\x01\r\n\r\n")
                session.send_raw("Event: UserEvent\r\nUserEvent: RouterAgent\r\nAgent: 1014\r\n"
                                 "Command: explode\r\n\r\n".encode())
            await centre.sim_seconds(2)
            first = centre.pbx.place_call(dnis="4008002000", caller_name="王五")
            await centre.until(lambda: centre.record(first).outcome == "answered", 5)
            assert centre.router.resyncs["sim"] == before  # nothing here needed a reconnect
            # A message that never ends: past 1 MiB the connection is dropped and rebuilt.
            for session in list(centre.pbx.server.sessions):
                session.send_raw(b"Event: Huge\r\n" + b"X: yyyyyyyyyyyyyyyy\r\n" * 60_000)
            await centre.until(lambda: centre.router.resyncs["sim"] > before, 5)
        unused = [r.getMessage() for r in caplog.records if "not used by the router" in r.getMessage()]
        assert sum("Weird" in m for m in unused) == 1
        assert sum("RouterAgent explode" in m for m in unused) == 1
        translator = centre.router.translators["sim"]
        assert translator.ignored["Weird\ufffd\ufffd"] == 3  # invalid UTF-8 read as U+FFFD
        second = centre.pbx.place_call(dnis="4008002000", caller_name="李娜", patience=400)
        await centre.until(lambda: centre.record(second).offers == ["1014"], 10)
        centre.assert_clean()


HOSTILE_NAMES = {
    "cr": "王五\rAction: Hangup",
    "nul": "李\x00娜\x00Channel: PJSIP/9999",
    "esc_del": "\x1b[2J陈静\x7f",
    "quotes": '赵"敏" <666> Action: Originate',
    "line_sep": "刘\u2028洋\u0085Event: Fake",
    "huge": "王" * 5000,
    "crlf": "周杰\r\nAction: Originate\r\nChannel: PJSIP/9999",
}
ORIGINATE_HEADERS = ["Action", "ActionID", "Channel", "Context", "Exten", "Priority", "Timeout", "Async",
                     "ChannelId", "CallerID", "Variable", "Variable", "Variable"]


async def test_hostile_caller_names_reach_the_wire_as_one_clean_originate_each():
    async with Centre(behaviour=STEADY) as centre:  # every agent logged in
        calls = {centre.pbx.place_call(dnis="4000000000", caller_num=f"1380013800{n}", caller_name=name): key
                 for n, (key, name) in enumerate(HOSTILE_NAMES.items())}
        await centre.until(lambda: all(centre.record(c).offers for c in calls), 5)
        originates = [a for a in centre.pbx.actions_log if a.get("Action") == "Originate"]
        assert len(originates) == len(calls)  # nothing split into a second action
        wire = {}
        for action in originates:
            assert sorted(k for k, _ in action["_headers"]) == sorted(ORIGINATE_HEADERS), action["_headers"]
            for _, value in action["_headers"]:
                assert not any(ord(c) < 32 or 0x7f <= ord(c) < 0xa0 or c in "\u2028\u2029" for c in value), value
            call = dict(v.split("=", 1) for v in [v for k, v in action["_headers"] if k == "Variable"])["ROUTER_CALL"]
            wire[calls[call]] = action["CallerID"]
        assert wire["cr"] == '"王五Action: Hangup" <13800138000>'
        assert wire["nul"] == '"李娜Channel: PJSIP/9999" <13800138001>'
        assert wire["esc_del"] == '"[2J陈静" <13800138002>'
        assert wire["quotes"] == "\"赵'敏' <666> Action: Originate\" <13800138003>"
        assert wire["line_sep"] == '"刘洋Event: Fake" <13800138004>'
        assert wire["huge"] == '"' + "王" * 80 + '" <13800138005>'
        # The PBX itself split CR LF in its own event: the router read the first line only.
        assert wire["crlf"] == '"周杰" <13800138006>'
        assert all(centre.record(c).offers and len(centre.record(c).offers) == 1 for c in calls)
        centre.assert_clean()
