"""Replaying the real Asterisk 22 traces through framing and translation."""

from __future__ import annotations

import pytest

from router.ami.framing import Framer
from router.ami.protocol import incoming
from router.ami.trace import read_trace, received_stream
from router.ami.translate import Leg, Translator
from router.core import events as ev
from support.paths import AMI_TRACES
from support.tables import agent, queue, req, step, table

TRACES = AMI_TRACES
FILES = sorted(TRACES.glob("*.ami"))
TABLE = table([agent("1001", sales=5), agent("1002", sales=5)], [queue("sales", step(0, req(sales=1)))])


def replay(name: str, legs: list[Leg] = (), chunk: int = 4096) -> tuple[list, Translator, Framer]:
    stream = received_stream(read_trace(TRACES / name))
    framer, translator = Framer(), Translator(TABLE, pbx="lab")
    for leg in legs:  # as Translator.ring registers them, with the trace's ActionID
        translator.legs[leg.leg_id] = leg
        translator.originates["lab-3"] = leg
    out = []
    for i in range(0, len(stream), chunk):
        for headers in framer.feed(stream[i:i + chunk]):
            out += translator.event(incoming(headers))
    return out, translator, framer


def test_the_traces_are_there():
    assert len(FILES) == 7, f"expected the 7 recorded traces in {TRACES}"


def test_router_flow_basic_gives_the_call_flow():
    # The trace's Originate had no ChannelId; register the leg under the
    # Uniqueid Asterisk gave it, as the router does with the one it chooses.
    events, translator, framer = replay("router_flow_basic.ami", [Leg("1795454840.2", "1795454839.0", "1001")])
    assert framer.banner == "11.0.0"
    assert events == [
        ev.CallWaiting("1795454839.0", dnis="5000", caller_num="13800138000", caller_name="Zhang Wei", pbx="lab"),
        ev.AgentOffered("1795454839.0", "1001"),
        ev.AgentAnswered("1795454839.0", "1001"),
        ev.CallEnded("1795454839.0", "1001"),
        ev.CallLeft("1795454839.0"),
    ]
    assert translator.legs == {} and translator.calls == {}


def test_chinese_names_survive_any_split_of_the_stream():
    stream = received_stream(read_trace(TRACES / "answered_and_completed.ami"))
    whole = Framer().feed(stream)
    for chunk in (1, 2, 3, 7):
        framer, parts = Framer(), []
        for i in range(0, len(stream), chunk):
            parts += framer.feed(stream[i:i + chunk])
        assert parts == whole
    names = {value for headers in whole for key, value in headers if key == "CallerIDName"}
    assert "李娜" in names


def test_agent_no_answer_is_a_no_answer_and_the_caller_then_leaves():
    events, _, _ = replay("agent_no_answer.ami", [Leg(*_first_agent_leg("agent_no_answer.ami"))])
    kinds = [type(e).__name__ for e in events]
    assert kinds == ["CallWaiting", "AgentOffered", "AgentNoAnswer", "CallLeft"]
    assert events[2].reason == "no-answer"


def test_caller_abandons_while_waiting():
    events, _, _ = replay("caller_abandons_waiting.ami")
    assert [type(e).__name__ for e in events] == ["CallWaiting", "CallLeft"]
    assert events[0].caller_name == "王五"


def test_caller_abandons_while_agent_rings_is_seen_before_the_agent_answers():
    events, _, _ = replay("caller_abandons_while_agent_rings.ami",
                          [Leg(*_first_agent_leg("caller_abandons_while_agent_rings.ami"))])
    kinds = [type(e).__name__ for e in events]
    # The router hears the caller leave while the agent still rings: that is
    # when it must hang up the agent leg (the trace shows the ghost call that
    # follows when nobody does).
    assert kinds.index("CallLeft") < kinds.index("AgentAnswered")


def test_device_state_of_an_agent_endpoint_becomes_agent_presence():
    t = table([agent("1001", sales=5)], [queue("sales", step(0, req(sales=1)))])
    translator = Translator(t)
    assert translator.event({"Event": "DeviceStateChange", "Device": "PJSIP/1001", "State": "INUSE"}) == \
        [ev.AgentDevice("1001", True)]
    assert translator.event({"Event": "DeviceStateChange", "Device": "PJSIP/1001", "State": "NOT_INUSE"}) == \
        [ev.AgentDevice("1001", False)]
    assert translator.event({"Event": "DeviceStateChange", "Device": "PJSIP/9999", "State": "INUSE"}) == []


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_every_trace_byte_by_byte_and_every_message_cut_short(path):
    """Feeding one byte at a time passes through every truncation point of
    the stream; each message is also translated with its headers cut at
    every point. Nothing may raise."""
    stream = received_stream(read_trace(path))
    framer, translator = Framer(), Translator(TABLE)
    messages = []
    for i in range(len(stream)):
        for headers in framer.feed(stream[i:i + 1]):
            messages.append(headers)
            translator.event(incoming(headers))
    assert messages, path
    cut = Translator(TABLE)
    for headers in messages:
        for n in range(len(headers)):
            cut.event(incoming(headers[:n]))


def _first_agent_leg(name: str) -> tuple[str, str, str]:
    """(agent leg Uniqueid, call id, agent) from a trace: the first
    Newchannel in context `agents` and the RouterCallWaiting before it."""
    call = None
    for r in read_trace(TRACES / name):
        if r.sent:
            continue
        text = r.raw.decode()
        fields = dict(line.split(": ", 1) for line in text.split("\r\n") if ": " in line)
        if fields.get("UserEvent") == "RouterCallWaiting" and call is None:
            call = fields["Uniqueid"]
        if fields.get("Event") == "Newchannel" and fields.get("Context") == "agents" and call:
            return fields["Uniqueid"], call, fields["Exten"]
    raise AssertionError(f"no agent leg in {name}")


def test_device_state_is_read_only_for_agents_on_this_pbx():
    from dataclasses import replace

    from router.core.table import RoutingTable

    agents = {**TABLE.agents, "1001": replace(TABLE.agents["1001"], pbx="beijing")}
    table = replace(TABLE, agents=RoutingTable.freeze(agents))
    busy = {"Event": "DeviceStateChange", "Device": TABLE.agents["1001"].endpoint, "State": "INUSE"}
    assert Translator(table, pbx="shanghai").event(busy) == []  # a namesake phone on another server
    assert Translator(table, pbx="beijing").event(busy) == [ev.AgentDevice("1001", True)]
