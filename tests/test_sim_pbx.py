"""The PBX simulator (router/sim/pbx) against real TCP with a minimal AMI
client written here (not panoramisk), checked against what a real Asterisk
22.10.1 sent in tests/fixtures/ami/ (the header orders below were copied
from those traces, and are re-read and compared too)."""

from __future__ import annotations

import asyncio
import re

import pytest

from router.sim.pbx import PbxSimulator
from router.sim.pbx.protocol import AbsurdInput, Framer
from support.paths import AMI_TRACES
from support.tables import agent, queue, req, step, table

SPEED = 50.0  # 1 simulated second = 20 ms
TRACES = AMI_TRACES

BLOCK = ["Channel", "ChannelState", "ChannelStateDesc", "CallerIDNum", "CallerIDName",
         "ConnectedLineNum", "ConnectedLineName", "Language", "AccountCode", "Context", "Exten",
         "Priority", "Uniqueid", "Linkedid"]
# Header orders as recorded (resync_snapshot.ami, router_flow_basic.ami, agent_no_answer.ami).
EXPECTED_ORDER = {
    "CoreShowChannel": ["Event", "ActionID", *BLOCK, "Application", "ApplicationData", "Duration",
                        "BridgeId"],
    "CoreShowChannelsComplete": ["Event", "ActionID", "EventList", "ListItems"],
    "Status": ["Event", "Privilege", *BLOCK, "Type", "DNID", "EffectiveConnectedLineNum",
               "EffectiveConnectedLineName", "TimeToHangup", "BridgeID", "Application", "Data",
               "Nativeformats", "Readformat", "Readtrans", "Writeformat", "Writetrans",
               "Callgroup", "Pickupgroup", "Seconds", "ActionID"],  # Variable lines before ActionID
    "StatusComplete": ["Event", "ActionID", "EventList", "ListItems", "Items"],
    "DeviceStateChange/list": ["Event", "ActionID", "Device", "State"],
    "DeviceStateListComplete": ["Event", "ActionID", "EventList", "ListItems"],
    "OriginateResponse": ["Event", "Privilege", "ActionID", "Response", "Channel", "Context",
                          "Exten", "Reason", "Uniqueid", "CallerIDNum", "CallerIDName"],
    "Hangup": ["Event", "Privilege", *BLOCK, "Cause", "Cause-txt"],
    "BridgeEnter": ["Event", "Privilege", "BridgeUniqueid", "BridgeType", "BridgeTechnology",
                    "BridgeCreator", "BridgeName", "BridgeNumChannels", "BridgeVideoSourceMode",
                    *BLOCK],
    "Newchannel": ["Event", "Privilege", *BLOCK],
    "DialBegin": ["Event", "Privilege", *["Dest" + k for k in BLOCK], "DialString"],
    "FullyBooted": ["Event", "Privilege", "Uptime", "LastReload", "Status"],
    "ListResponse": ["Response", "ActionID", "EventList", "Message"],
}


# -- a minimal AMI client ---------------------------------------------------

Msg = list[tuple[str, str]]


def get(msg: Msg, key: str, default: str | None = None) -> str | None:
    return next((v for k, v in msg if k == key), default)


def keys(msg: Msg) -> list[str]:
    return [k for k, _ in msg]


def is_event(name: str, **fields: str):
    return lambda m: get(m, "Event") == name and all(get(m, k) == v for k, v in fields.items())


class Client:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.banner = b""
        self.messages: list[Msg] = []
        self.raw: list[bytes] = []
        self.closed = asyncio.Event()
        self._new = asyncio.Event()
        self._task: asyncio.Task | None = None
        self._seq = 0

    @classmethod
    async def open(cls, port: int) -> Client:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        client = cls(reader, writer)
        client.banner = await asyncio.wait_for(reader.readline(), 5)
        client._task = asyncio.create_task(client._read())
        return client

    async def _read(self) -> None:
        lines: Msg = []
        raw = b""
        try:
            while True:
                line = await self.reader.readline()
                if not line:
                    break
                raw += line
                if line in (b"\r\n", b"\n"):
                    self.messages.append(lines)
                    self.raw.append(raw)
                    lines, raw = [], b""
                    self._new.set()
                else:
                    k, _, v = line.decode("utf-8").rstrip("\r\n").partition(": ")
                    lines.append((k, v))
        except (ConnectionError, OSError):
            pass
        finally:
            self.closed.set()
            self._new.set()

    def send_raw(self, data: bytes) -> None:
        self.writer.write(data)

    def send(self, action: str, **headers) -> str:
        """Send an action (a list value repeats the header); returns its ActionID."""
        self._seq += 1
        action_id = headers.pop("ActionID", f"t-{self._seq}")
        lines = [f"Action: {action}", f"ActionID: {action_id}"]
        for k, v in headers.items():
            lines += [f"{k}: {x}" for x in (v if isinstance(v, list) else [v])]
        self.send_raw(("\r\n".join(lines) + "\r\n\r\n").encode())
        return action_id

    async def wait(self, pred, start: int = 0, timeout: float = 5.0) -> tuple[int, Msg]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        i = start
        while True:
            while i < len(self.messages):
                if pred(self.messages[i]):
                    return i, self.messages[i]
                i += 1
            if self.closed.is_set():
                raise AssertionError("connection closed while waiting")
            self._new.clear()
            await asyncio.wait_for(self._new.wait(), max(0.001, deadline - loop.time()))

    async def action(self, action: str, **headers) -> Msg:
        action_id = self.send(action, **headers)
        return (await self.wait(lambda m: get(m, "Response") is not None
                                and get(m, "ActionID") == action_id))[1]

    async def listing(self, action: str, complete: str, **headers) -> tuple[Msg, list[Msg], Msg]:
        action_id = self.send(action, **headers)
        start, resp = await self.wait(lambda m: get(m, "Response") and get(m, "ActionID") == action_id)
        end, done = await self.wait(is_event(complete, ActionID=action_id), start)
        items = [m for m in self.messages[start + 1:end] if get(m, "ActionID") == action_id]
        return resp, items, done

    async def close(self) -> None:
        self.writer.close()
        try:
            await self.writer.wait_closed()
        except (ConnectionError, OSError):
            pass
        if self._task is not None:
            await asyncio.gather(self._task, return_exceptions=True)


# -- fixtures ---------------------------------------------------------------

def two_agents():
    return table([agent("1001"), agent("1002")], [queue("sales", step(0, req()))])


@pytest.fixture
async def sim():
    s = PbxSimulator(two_agents(), speed=SPEED, login_agents=False)
    await s.start()
    yield s
    await s.stop()
    assert s.errors == []


@pytest.fixture
async def connect():
    opened: list[Client] = []

    async def _connect(port: int, login: bool = True, **extra) -> Client:
        client = await Client.open(port)
        opened.append(client)
        if login:
            resp = await client.action("Login", Username="router", Secret="sim-secret", **extra)
            assert get(resp, "Response") == "Success", resp
        return client

    yield _connect
    for client in opened:
        await client.close()


async def sim_sleep(seconds: float) -> None:
    await asyncio.sleep(seconds / SPEED)


def originate(client: Client, sim: PbxSimulator, call_id: str, agent_id: str = "1001",
              leg: str = "rtr-1", timeout_ms: int = 15000, **extra) -> str:
    caller = sim.callers.caller(call_id)
    return client.send("Originate", Channel=f"PJSIP/{agent_id}", Context="router-agent",
                       Exten=agent_id, Priority="1", Timeout=str(timeout_ms), Async="true",
                       ChannelId=leg, CallerID='"王五" <13800138000>',
                       Variable=[f"ROUTER_CALLER={caller.name}", f"ROUTER_CALL={call_id}",
                                 f"ROUTER_AGENT={agent_id}"], **extra)


# -- connection, login, simple actions --------------------------------------

async def test_banner_login_and_fully_booted(sim, connect):
    client = await connect(sim.port, login=False)
    assert client.banner == b"Asterisk Call Manager/11.0.0\r\n"
    resp = await client.action("Login", ActionID="lab-1", Username="router", Secret="sim-secret")
    assert resp == [("Response", "Success"), ("ActionID", "lab-1"),
                    ("Message", "Authentication accepted")]
    _, booted = await client.wait(is_event("FullyBooted"))
    assert keys(booted) == EXPECTED_ORDER["FullyBooted"]
    assert get(booted, "Privilege") == "system,all" and get(booted, "Status") == "Fully Booted"
    assert any(e["Action"] == "Login" and e["Secret"] == "********" for e in sim.actions_log)


async def test_bad_secret_is_refused_and_closed(sim, connect):
    client = await connect(sim.port, login=False)
    resp = await client.action("Login", Username="router", Secret="wrong")
    assert get(resp, "Response") == "Error" and get(resp, "Message") == "Authentication failed"
    await asyncio.wait_for(client.closed.wait(), 5)


async def test_actions_before_login_are_refused_but_the_connection_stays(sim, connect):
    client = await connect(sim.port, login=False)
    resp = await client.action("Ping")
    assert get(resp, "Response") == "Error" and get(resp, "Message") == "Permission denied"
    sim.place_call()  # no events before login
    resp = await client.action("Login", Username="ROUTER", Secret="sim-secret")  # user: any case
    assert get(resp, "Message") == "Authentication accepted"
    assert not any(get(m, "Event") == "Newchannel" for m in client.messages)


async def test_ping_unknown_action_missing_action_and_logoff(sim, connect):
    client = await connect(sim.port)
    resp = await client.action("Ping", ActionID="p-1")
    assert keys(resp) == ["Response", "ActionID", "Ping", "Timestamp"]
    assert get(resp, "Ping") == "Pong" and re.fullmatch(r"\d+\.\d{6}", get(resp, "Timestamp"))
    resp = await client.action("Frobnicate", ActionID="x-9")
    assert get(resp, "Response") == "Error" and get(resp, "ActionID") == "x-9"
    assert get(resp, "Message").startswith("Invalid/unknown command: Frobnicate")
    client.send_raw(b"ActionID: no-action\r\n\r\n")
    _, resp = await client.wait(lambda m: get(m, "ActionID") == "no-action")
    assert get(resp, "Message") == "Missing action in request"
    resp = await client.action("Logoff")
    assert get(resp, "Response") == "Goodbye" and get(resp, "Message") == "Thanks for all the fish."
    await asyncio.wait_for(client.closed.wait(), 5)


async def test_events_off_at_login_is_honoured(sim, connect):
    quiet = await connect(sim.port, Events="off")
    loud = await connect(sim.port)
    call_id = sim.place_call()
    await loud.wait(is_event("UserEvent", Uniqueid=call_id))
    resp, items, _ = await quiet.listing("CoreShowChannels", "CoreShowChannelsComplete")
    assert len(items) == 1  # listings still answer
    assert [m for m in quiet.messages if get(m, "Event") and get(m, "ActionID") is None] == []
    resp = await quiet.action("Events", EventMask="call")
    assert get(resp, "Events") == "On"
    sim.hangup_caller(call_id)
    await quiet.wait(is_event("Hangup", Uniqueid=call_id))


# -- an inbound call ---------------------------------------------------------

async def test_call_waiting_user_event_keeps_utf8_and_reaches_every_client(sim, connect):
    clients = [await connect(sim.port) for _ in range(3)]
    call_id = sim.place_call(dnis="4000000001", caller_num="13800138000", caller_name="王五",
                             variables={"menu": "3", "lang": "yue", "tier": "gold"})
    for client in clients:
        i, ev = await client.wait(is_event("UserEvent", UserEvent="RouterCallWaiting"))
        assert keys(ev) == ["Event", "Privilege", *BLOCK, "UserEvent", "DNIS", "Vars"]
        assert get(ev, "Privilege") == "user,all"
        assert get(ev, "Uniqueid") == call_id and get(ev, "Channel").startswith("PJSIP/trunk-")
        assert get(ev, "DNIS") == "4000000001" and get(ev, "Vars") == "menu=3&lang=yue&tier=gold"
        assert get(ev, "CallerIDName") == "王五"
        assert "CallerIDName: 王五\r\n".encode("utf-8") in client.raw[i]  # raw UTF-8 bytes
    assert re.fullmatch(r"\d{10}\.\d+", call_id)
    record = sim.records[call_id]
    assert record.outcome is None and record.caller_name == "王五"
    resp = await clients[0].action("Getvar", Channel=call_id, Variable="ROUTER_VARS")
    assert keys(resp) == ["Response", "ActionID", "Variable", "Value"]
    assert get(resp, "Value") == "menu=3&lang=yue&tier=gold"


async def test_listings_have_the_formats_of_resync_snapshot(sim, connect):
    client = await connect(sim.port)
    waiting = sim.place_call(caller_name="陈静", variables={"menu": "1"})
    talking = sim.place_call(caller_name="李娜")
    sim.set_agent("1001", answer_delay=0.5, talk=600)
    originate(client, sim, talking, "1001", "rtr-7")
    await client.wait(is_event("BridgeEnter", Uniqueid="rtr-7"))
    await sim_sleep(2)

    resp, items, done = await client.listing("CoreShowChannels", "CoreShowChannelsComplete")
    assert keys(resp) == EXPECTED_ORDER["ListResponse"]
    assert get(resp, "Message") == "Channels will follow"
    assert [keys(m) for m in items] == [EXPECTED_ORDER["CoreShowChannel"]] * 3
    assert keys(done) == EXPECTED_ORDER["CoreShowChannelsComplete"]
    assert get(done, "EventList") == "Complete" and get(done, "ListItems") == "3"
    by_id = {get(m, "Uniqueid"): m for m in items}
    assert get(by_id[waiting], "Application") == "MusicOnHold"
    assert get(by_id[waiting], "Context") == "router-in"
    assert re.fullmatch(r"00:\d\d:\d\d", get(by_id[waiting], "Duration"))
    assert get(by_id[waiting], "Duration") != "00:00:00"
    assert get(by_id[waiting], "BridgeId") == ""
    assert get(by_id[talking], "Application") == ""  # pulled into the bridge
    assert get(by_id["rtr-7"], "Application") == "Bridge"
    assert get(by_id["rtr-7"], "BridgeId") == get(by_id[talking], "BridgeId") != ""

    resp, items, done = await client.listing(
        "Status", "StatusComplete", Variables="ROUTER_DNIS,ROUTER_VARS,ROUTER_CALL,ROUTER_AGENT")
    assert get(resp, "Message") == "Channel status will follow"
    for m in items:
        assert [k for k in keys(m) if k != "Variable"] == EXPECTED_ORDER["Status"]
        assert keys(m)[-5:] == ["Variable"] * 4 + ["ActionID"]
        assert get(m, "Privilege") == "Call"
    assert keys(done) == EXPECTED_ORDER["StatusComplete"] and get(done, "Items") == "3"
    variables = {get(m, "Uniqueid"): [v for k, v in m if k == "Variable"] for m in items}
    assert variables[waiting] == ["ROUTER_DNIS=4000000000", "ROUTER_VARS=menu=1",
                                  "ROUTER_CALL=(null)", "ROUTER_AGENT=(null)"]
    assert variables["rtr-7"][2:] == [f"ROUTER_CALL={talking}", "ROUTER_AGENT=1001"]

    resp, items, done = await client.listing("DeviceStateList", "DeviceStateListComplete")
    assert get(resp, "Message") == "Device State Changes will follow"
    assert [keys(m) for m in items] == [EXPECTED_ORDER["DeviceStateChange/list"]] * 3
    states = {get(m, "Device"): get(m, "State") for m in items}
    assert states == {"PJSIP/1001": "INUSE", "PJSIP/1002": "NOT_INUSE", "PJSIP/trunk": "INUSE"}
    assert keys(done) == EXPECTED_ORDER["DeviceStateListComplete"]


def test_expected_header_orders_are_those_of_the_traces():
    seen: dict[str, list[str]] = {}
    for name in ("resync_snapshot", "router_flow_basic", "agent_no_answer"):
        text = (TRACES / f"{name}.ami").read_text(encoding="utf-8")
        for block in re.split(r"^## \S+ <<\n", text, flags=re.M)[1:]:
            lines = block.split("\n## ")[0].strip("\n").split("\n")
            if not lines[0].startswith(("Event: ", "Response: ")):
                continue
            ks = [line.split(":", 1)[0] for line in lines]
            label = lines[0].split(": ", 1)[1] if lines[0].startswith("Event") else "Response"
            if label == "DeviceStateChange" and "ActionID" in ks:
                label = "DeviceStateChange/list"
            if label == "Response" and "EventList" in ks:
                label = "ListResponse"
            if label == "Status":
                ks = [k for k in ks if k != "Variable"]
            seen.setdefault(label, ks)
    for label, order in EXPECTED_ORDER.items():
        assert seen[label] == order, label


# -- agent legs ----------------------------------------------------------------

async def test_originate_answered_bridged_and_ended(sim, connect):
    client = await connect(sim.port)
    call_id = sim.place_call()
    sim.agent_login("1001")
    sim.set_agent("1001", answer_delay=1.0, talk=3.0)
    action_id = originate(client, sim, call_id, "1001", "rtr-1")
    i_resp, resp = await client.wait(lambda m: get(m, "ActionID") == action_id)
    assert resp == [("Response", "Success"), ("ActionID", action_id),
                    ("Message", "Originate successfully queued")]
    i_new, new = await client.wait(is_event("Newchannel", Uniqueid="rtr-1"))
    assert i_resp < i_new and keys(new) == EXPECTED_ORDER["Newchannel"]
    assert re.fullmatch(r"PJSIP/1001-[0-9a-f]{8}", get(new, "Channel"))
    _, dial = await client.wait(is_event("DialBegin", DestUniqueid="rtr-1"))
    assert keys(dial) == EXPECTED_ORDER["DialBegin"] and get(dial, "DialString") == "1001"
    await client.wait(is_event("DeviceStateChange", Device="PJSIP/1001", State="RINGING"))
    _, ok = await client.wait(is_event("OriginateResponse", Uniqueid="rtr-1"))
    assert keys(ok) == EXPECTED_ORDER["OriginateResponse"]
    assert get(ok, "Response") == "Success" and get(ok, "Reason") == "4"
    assert get(ok, "ActionID") == action_id and get(ok, "Channel") == get(new, "Channel")
    assert get(ok, "CallerIDName") == "王五" and get(ok, "CallerIDNum") == "13800138000"
    i_in, enter1 = await client.wait(is_event("BridgeEnter"))
    _, enter2 = await client.wait(is_event("BridgeEnter"), i_in + 1)
    assert keys(enter1) == EXPECTED_ORDER["BridgeEnter"]
    assert [get(enter1, "Uniqueid"), get(enter2, "Uniqueid")] == [call_id, "rtr-1"]
    assert get(enter1, "BridgeUniqueid") == get(enter2, "BridgeUniqueid")
    assert get(enter2, "Linkedid") == call_id  # the leg joins the caller's linkedid
    _, up = await client.wait(is_event("DeviceStateChange", Device="PJSIP/1001"), i_in)
    i_leg, leg_gone = await client.wait(is_event("Hangup", Uniqueid="rtr-1"))
    i_call, call_gone = await client.wait(is_event("Hangup", Uniqueid=call_id))
    assert keys(leg_gone) == EXPECTED_ORDER["Hangup"]
    assert get(leg_gone, "Cause") == "16" and get(leg_gone, "Cause-txt") == "Normal Clearing"
    await client.wait(is_event("DeviceStateChange", Device="PJSIP/1001", State="NOT_INUSE"), i_leg)
    await client.wait(is_event("BridgeDestroy"), i_call)
    names = [get(m, "Event") for m in client.messages[i_in:i_call + 1]]
    assert names.index("HangupRequest") < names.index("BridgeLeave") < names.index("Hangup")
    record = sim.records[call_id]
    assert (record.outcome, record.agent, record.offers) == ("answered", "1001", ["1001"])
    assert record.waited is not None and record.answered <= record.ended
    assert sim.ghost_calls == 0 and sim.double_connects == 0 and sim.anomalies == []


async def test_no_answer_fails_with_reason_3_after_the_timeout(sim, connect):
    client = await connect(sim.port)
    call_id = sim.place_call()
    sim.set_agent("1001", answers=False)
    originate(client, sim, call_id, "1001", "rtr-2", timeout_ms=3000)
    i_ring, _ = await client.wait(is_event("Newstate", Uniqueid="rtr-2", ChannelStateDesc="Ringing"))
    i_h, gone = await client.wait(is_event("Hangup", Uniqueid="rtr-2"), timeout=5)
    assert get(gone, "Cause") == "19" and get(gone, "Cause-txt") == "User alerting, no answer"
    i_f, fail = await client.wait(is_event("OriginateResponse", Uniqueid="rtr-2"))
    assert i_h < i_f
    assert (get(fail, "Response"), get(fail, "Reason"), get(fail, "Channel")) == \
        ("Failure", "3", "PJSIP/1001")
    await client.wait(is_event("DeviceStateChange", Device="PJSIP/1001", State="NOT_INUSE"), i_h)
    assert sim.callers.caller(call_id) is not None  # the caller keeps waiting
    assert sim.records[call_id].outcome is None and sim.records[call_id].offers == ["1001"]


async def test_busy_phone_fails_at_once_with_reason_5(sim, connect):
    client = await connect(sim.port)
    call_id = sim.place_call()
    sim.agent_personal_call("1001", 60)
    await client.wait(is_event("DeviceStateChange", Device="PJSIP/1001", State="INUSE"))
    originate(client, sim, call_id, "1001", "rtr-3")
    _, fail = await client.wait(is_event("OriginateResponse", Uniqueid="rtr-3"), timeout=1)
    assert get(fail, "Response") == "Failure" and get(fail, "Reason") == "5"
    _, gone = await client.wait(is_event("Hangup", Uniqueid="rtr-3"))
    assert get(gone, "Cause") == "17"
    assert sim.records[call_id].offers == []  # never rang


async def test_unknown_endpoint_and_taken_channel_id_fail_with_reason_0(sim, connect):
    client = await connect(sim.port)
    call_id = sim.place_call()
    client.send("Originate", Channel="PJSIP/9999", Context="router-agent", Exten="9999",
                Priority="1", Async="true", ChannelId="rtr-8")
    _, fail = await client.wait(is_event("OriginateResponse", Uniqueid="rtr-8"))
    assert (get(fail, "Reason"), get(fail, "Channel")) == ("0", "PJSIP/9999")
    client.send("Originate", Channel="PJSIP/1001", Context="router-agent", Exten="1001",
                Priority="1", Async="true", ChannelId=call_id)
    _, fail = await client.wait(is_event("OriginateResponse", Uniqueid=call_id))
    assert get(fail, "Reason") == "0" and get(fail, "CallerIDNum") == "<unknown>"
    resp = await client.action("Originate", Channel="PJSIP/1001", Context="nowhere", Exten="1",
                               Priority="1", Async="true")
    assert get(resp, "Message") == "Extension does not exist."
    resp = await client.action("Originate", Context="router-agent", Exten="1", Priority="1")
    assert get(resp, "Message") == "Channel not specified"


async def test_caller_leaving_while_the_agent_rings_makes_a_ghost_call(sim, connect):
    client = await connect(sim.port)
    call_id = sim.place_call()
    sim.set_agent("1001", answer_delay=2.0, talk=5)
    originate(client, sim, call_id, "1001", "rtr-4")
    await client.wait(is_event("DialState", DestUniqueid="rtr-4"))
    sim.hangup_caller(call_id)  # and nobody withdraws the offer
    _, ok = await client.wait(is_event("OriginateResponse", Uniqueid="rtr-4"))
    assert get(ok, "Response") == "Success"  # the agent still answers ...
    await client.wait(is_event("Hangup", Uniqueid="rtr-4"))  # ... for nobody
    assert sim.ghost_calls == 1
    assert sim.records[call_id].outcome == "abandoned"
    assert any("GHOST CALL" in a for a in sim.anomalies)


async def test_withdrawing_the_ringing_leg_prevents_the_ghost_call(sim, connect):
    client = await connect(sim.port)
    call_id = sim.place_call()
    sim.set_agent("1001", answer_delay=2.0, talk=5)
    originate(client, sim, call_id, "1001", "rtr-5")
    await client.wait(is_event("DialState", DestUniqueid="rtr-5"))
    sim.hangup_caller(call_id)
    await client.wait(is_event("Hangup", Uniqueid=call_id))
    resp = await client.action("Hangup", Channel="rtr-5", Cause="16")  # by the leg id
    assert get(resp, "Response") == "Success" and get(resp, "Message") == "Channel Hungup"
    _, soft = await client.wait(is_event("SoftHangupRequest", Uniqueid="rtr-5"))
    _, gone = await client.wait(is_event("Hangup", Uniqueid="rtr-5"))
    assert get(soft, "Cause") == "16" and get(gone, "Cause") == "16"
    _, fail = await client.wait(is_event("OriginateResponse", Uniqueid="rtr-5"))
    assert get(fail, "Response") == "Failure" and get(fail, "Reason") == "0"
    await sim_sleep(3)  # past the answer delay
    assert sim.ghost_calls == 0
    resp = await client.action("Hangup", Channel="rtr-5")
    assert get(resp, "Response") == "Error" and get(resp, "Message") == "No such channel"


async def test_two_agents_answering_for_one_caller_is_a_double_connect(sim, connect):
    client = await connect(sim.port)
    call_id = sim.place_call()
    sim.set_agent("1001", answer_delay=1.0, talk=10)
    sim.set_agent("1002", answer_delay=2.0, talk=10)
    originate(client, sim, call_id, "1001", "rtr-a")
    originate(client, sim, call_id, "1002", "rtr-b")
    await client.wait(is_event("Hangup", Uniqueid="rtr-b"))
    assert sim.double_connects == 1 and sim.ghost_calls == 0
    assert sim.records[call_id].agent == "1001"
    assert sim.records[call_id].offers == ["1001", "1002"]


async def test_synchronous_originate_answers_after_the_agent_does(sim, connect):
    client = await connect(sim.port)
    call_id = sim.place_call()
    sim.set_agent("1002", answer_delay=1.0, talk=2)
    caller = sim.callers.caller(call_id)
    action_id = client.send("Originate", Channel="PJSIP/1002", Context="router-agent",
                            Exten="1002", Priority="1", Timeout="5000",
                            Variable=f"ROUTER_CALLER={caller.name},ROUTER_CALL={call_id}")
    i_resp, resp = await client.wait(lambda m: get(m, "ActionID") == action_id)
    assert get(resp, "Message") == "Originate successfully queued"
    i_up, _ = await client.wait(is_event("DialEnd", DialStatus="ANSWER"))
    assert i_up < i_resp  # answered first
    assert not any(get(m, "Event") == "OriginateResponse" for m in client.messages)
    await client.wait(is_event("Hangup", Uniqueid=call_id))
    assert sim.records[call_id].agent == "1002"  # comma-separated Variable understood


# -- router actions on callers ---------------------------------------------------

async def test_redirect_to_router_action_records_the_outcome(sim, connect):
    client = await connect(sim.port)
    call_id = sim.place_call()
    channel = sim.callers.caller(call_id).name
    resp = await client.action("Setvar", Channel=channel, Variable="ROUTER_TARGET", Value="8001")
    assert get(resp, "Message") == "Variable Set"
    resp = await client.action("Redirect", Channel=channel, Context="router-action",
                               Exten="voicemail", Priority="1")
    assert get(resp, "Message") == "Redirect successful"
    _, ext = await client.wait(is_event("Newexten", Uniqueid=call_id, Context="router-action"))
    assert get(ext, "Application") == "VoiceMail" and get(ext, "AppData") == "8001,u"
    await client.wait(is_event("Hangup", Uniqueid=call_id))
    record = sim.records[call_id]
    assert (record.outcome, record.target) == ("voicemail", "8001")
    resp = await client.action("Redirect", Channel=channel, Context="router-action",
                               Exten="voicemail", Priority="1")
    assert get(resp, "Message") == f"Channel does not exist: {channel}"


async def test_hold_limit_sends_the_call_to_the_fallback(connect):
    sim = PbxSimulator(two_agents(), speed=SPEED, login_agents=False, hold_limit=4.0)
    await sim.start()
    try:
        client = await connect(sim.port)
        call_id = sim.place_call()
        _, ext = await client.wait(is_event("Newexten", Uniqueid=call_id, Application="Queue"))
        assert get(ext, "AppData") == "router-fallback"
        await client.wait(is_event("Hangup", Uniqueid=call_id))
        assert sim.records[call_id].outcome == "fallback"
        assert 3.5 < sim.records[call_id].waited < 60
    finally:
        await sim.stop()


async def test_patience_abandons_and_hangup_action_on_a_waiting_caller(sim, connect):
    client = await connect(sim.port)
    impatient = sim.place_call(patience=2.0)
    other = sim.place_call(caller_name="赵敏")
    _, req_ev = await client.wait(is_event("HangupRequest", Uniqueid=impatient))
    assert get(req_ev, "Cause") == "16"
    await client.wait(is_event("Hangup", Uniqueid=impatient))
    assert sim.records[impatient].outcome == "abandoned"
    await client.action("Hangup", Channel=sim.callers.caller(other).name)
    await client.wait(is_event("Hangup", Uniqueid=other))
    assert sim.records[other].outcome == "hangup"


# -- agents ------------------------------------------------------------------

async def test_agent_feature_codes_and_personal_calls(sim, connect):
    client = await connect(sim.port)
    sim.agent_pause("1002", "lunch")
    _, ev = await client.wait(is_event("UserEvent", UserEvent="RouterAgent"))
    assert [(k, v) for k, v in ev if k in ("Agent", "Command", "Reason")] == \
        [("Agent", "1002"), ("Command", "pause"), ("Reason", "lunch")]
    assert keys(ev)[-4:] == ["UserEvent", "Agent", "Command", "Reason"]
    sim.agent_login("1001")
    _, ev = await client.wait(is_event("UserEvent", Agent="1001"))
    assert get(ev, "Command") == "login" and get(ev, "Reason") == ""
    i, _ = await client.wait(is_event("DeviceStateChange", Device="PJSIP/1001", State="NOT_INUSE"))
    sim.agent_personal_call("1001", 2.0)
    i, _ = await client.wait(is_event("DeviceStateChange", Device="PJSIP/1001", State="INUSE"), i + 1)
    await client.wait(is_event("DeviceStateChange", Device="PJSIP/1001", State="NOT_INUSE"), i + 1)


async def test_login_agents_logs_every_agent_in_once_a_client_is_there(connect):
    sim = PbxSimulator(two_agents(), speed=SPEED)
    await sim.start()
    try:
        client = await connect(sim.port)
        for agent_id in ("1001", "1002"):
            await client.wait(is_event("UserEvent", Agent=agent_id, Command="login"))
        assert all(p.logged_in for p in sim.phones.by_agent.values())
    finally:
        await sim.stop()


# -- hostile input -----------------------------------------------------------

async def test_a_crlf_in_a_value_becomes_a_header_of_the_same_action(sim, connect):
    """AMI splits on line ends, so a CR LF inside a value (a caller name
    copied unfiltered) makes the rest a header of the *same* action: here a
    second `Action:` and `Channel:` line, which Asterisk ignores because the
    first of each wins. A blank line (CR LF twice) would end the action and
    start a new one, which *is* executed. Both are in actions_log, so a
    router test can assert that no action it sent carries such bytes."""
    client = await connect(sim.port)
    call_id = sim.place_call()
    caller = sim.callers.caller(call_id).name
    sim.set_agent("1001", answer_delay=1, talk=1)
    client.send_raw(("Action: Originate\r\nActionID: inj-1\r\nChannel: PJSIP/1001\r\n"
                     "Context: router-agent\r\nExten: 1001\r\nPriority: 1\r\nAsync: true\r\n"
                     "ChannelId: rtr-inj\r\n"
                     f'CallerID: "Evil" <1>\r\nAction: Hangup\r\nChannel: {caller}\r\n'
                     f"Variable: ROUTER_CALLER={caller}\r\n\r\n").encode())
    _, ok = await client.wait(is_event("OriginateResponse", ActionID="inj-1"))
    assert get(ok, "CallerIDName") == "Evil"
    entry = next(e for e in sim.actions_log if e.get("ActionID") == "inj-1")
    assert entry["Action"] == "Originate" and entry["Channel"] == "PJSIP/1001"
    assert ("Action", "Hangup") in entry["_headers"] and ("Channel", caller) in entry["_headers"]
    await client.wait(is_event("BridgeEnter", Uniqueid=call_id))  # the Hangup did not run

    second = sim.place_call()
    victim = sim.callers.caller(second).name
    client.send_raw((f'Action: Setvar\r\nActionID: inj-2\r\nChannel: {victim}\r\n'
                     f'Variable: ROUTER_ANNOUNCE\r\nValue: x\r\n\r\n'
                     f'Action: Hangup\r\nChannel: {victim}\r\n\r\n').encode())
    await client.wait(is_event("Hangup", Uniqueid=second))  # the injected action ran
    assert [e["Action"] for e in sim.actions_log[-2:]] == ["Setvar", "Hangup"]


async def test_garbage_closes_only_that_client(sim, connect):
    good = await connect(sim.port)
    for garbage in (b"x" * (70 * 1024),  # a line over 64 KiB, no line end
                    b"Action: Ping\r\nActionID: \xff\xfe\r\n\r\n",  # not UTF-8
                    b"Action: Ping\x00\r\n\r\n"):  # NUL
        bad = await connect(sim.port)
        bad.send_raw(garbage)
        await asyncio.wait_for(bad.closed.wait(), 5)
        resp = await good.action("Ping")
        assert get(resp, "Ping") == "Pong"
    assert len(sim.server.notes) == 3


async def test_long_lines_and_split_utf8_are_handled_like_asterisk(sim, connect):
    client = await connect(sim.port)
    client.send_raw(b"Action: Ping\r\nActionID: long\r\nX: " + b"y" * 2000 + b"\r\n\r\n")
    _, resp = await client.wait(lambda m: get(m, "ActionID") == "long")
    assert get(resp, "Message") == "Failed to parse message: line too long"
    call_id = sim.place_call()
    data = f"Action: Setvar\r\nActionID: sv\r\nChannel: {call_id}\r\nVariable: N\r\nValue: 王五\r\n\r\n"
    raw = data.encode()
    cut = raw.index("王".encode()) + 1  # in the middle of a character
    client.send_raw(raw[:cut])
    await client.writer.drain()
    await asyncio.sleep(0.01)
    client.send_raw(raw[cut:])
    await client.wait(lambda m: get(m, "ActionID") == "sv")
    resp = await client.action("Getvar", Channel=call_id, Variable="N")
    assert get(resp, "Value") == "王五"


def test_framer_rules():
    framer = Framer()
    msgs = framer.feed(b"Action: Ping\nactionid:  a\r\nVariable: A=1\r\nVariable: B=2\r\n"
                       b"weird line\r\nVal: x\ry\r\n\r\n")
    assert len(msgs) == 1
    msg = msgs[0]
    assert msg.get("ACTIONID") == "a" and msg.get_all("Variable") == ["A=1", "B=2"]
    assert msg.get("Val") == "x\ry"  # a lone CR is not a line end
    assert ("weird line", None) in msg.headers
    assert framer.feed(b"\r\n")[0].headers == []  # an empty message
    fits = b"A: " + b"v" * 1019 + b"\r\n\r\n"  # 1024 bytes with its CR LF
    assert framer.feed(fits)[0].error is None
    assert framer.feed(b"A: " + b"v" * 1020 + b"\r\n\r\n")[0].error == \
        "Failed to parse message: line too long"
    many = b"".join(b"H%d: v\r\n" % i for i in range(130)) + b"\r\n"
    assert framer.feed(many)[0].error == "Too many lines in message or allocation failure"
    with pytest.raises(AbsurdInput):
        Framer().feed(b"z" * (64 * 1024 + 1))


# -- connections and traffic -------------------------------------------------------

async def test_drop_clients_cuts_everyone_and_new_clients_can_connect(sim, connect):
    first = await connect(sim.port)
    second = await connect(sim.port)
    sim.drop_clients()
    await asyncio.wait_for(first.closed.wait(), 5)
    await asyncio.wait_for(second.closed.wait(), 5)
    again = await connect(sim.port)
    assert get(await again.action("Ping"), "Ping") == "Pong"


async def test_traffic_arrives_with_call_types_from_the_table(connect):
    sims = []
    for _ in range(2):
        s = PbxSimulator(two_agents(), speed=200, seed=7, calls_per_hour=3600,
                         hold_limit=5.0, login_agents=False)
        await s.start()
        sims.append(s)
    try:
        client = await connect(sims[0].port)
        await client.wait(is_event("UserEvent", UserEvent="RouterCallWaiting"), timeout=5)
        await asyncio.sleep(0.5)
        for s in sims:
            assert len(s.records) >= 3
            assert {r.dnis for r in s.records.values()} == {"4000000000"}
            assert all(r.caller_num.startswith("+86139") for r in s.records.values())
        names = [[r.caller_name for r in s.records.values()] for s in sims]
        n = min(map(len, names))
        assert names[0][:n] == names[1][:n]  # same seed, same callers
    finally:
        for s in sims:
            await s.stop()
        assert all(s.errors == [] for s in sims)


async def test_stop_does_not_wait_for_a_pending_synchronous_originate(connect):
    sim = PbxSimulator(two_agents(), speed=SPEED, login_agents=False)
    await sim.start()
    client = await connect(sim.port)
    sim.set_agent("1001", answers=False)
    client.send("Originate", Channel="PJSIP/1001", Context="router-agent", Exten="1001",
                Priority="1", Timeout="600000")
    await client.wait(is_event("DialState", DialStatus="RINGING"))
    await asyncio.wait_for(sim.stop(), 5)
    await asyncio.wait_for(client.closed.wait(), 5)
    assert sim.errors == []


def test_outage_accounting_counts_a_hang_up_just_before_the_cut_as_unpreventable():
    import random

    from router.sim.pbx.world import World
    from router.sim.traffic import Behaviour

    world = World(None, random.Random(1), Behaviour(), lambda *a, **k: None)
    world.outages.append((100.0, 120.0))
    assert world.in_outage(110.0) and world.in_outage(120.0)
    assert not world.in_outage(99.9)  # the router had the link: its Hangup could go out
    assert world.in_outage(99.9, lead=0.2)  # ... but not in time before the cut
    assert not world.in_outage(99.7, lead=0.2) and not world.in_outage(120.1, lead=0.2)
    world.outage_since = 200.0  # an outage still going on
    assert world.in_outage(250.0) and world.in_outage(199.9, lead=0.2) and not world.in_outage(150.0)
