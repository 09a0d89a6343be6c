"""The MQTT bus against a real mosquitto (Debian's), started per test on a
free loopback port with the project's ACL (deploy/mqtt/router.acl), and the
router routing the PBX simulator over loopback TCP."""

from __future__ import annotations

import asyncio
import gc
import json
import logging
import shutil
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import aiomqtt
import pytest

from router.config import load_config
from router.core import events as ev
from router.runtime.daemon import Clock, Router
from router.mqtt import MqttBus, MqttSettings
from router.mqtt.schema import FIELDS, SCHEMA_VERSION
from router.sim.pbx import PbxSimulator
from router.sim.traffic import Behaviour
from support.mosquitto import USERS, Mosquitto
from support.waiting import until

ROOT = Path(__file__).resolve().parent.parent
TABLE = load_config(ROOT / "config")
SPEED = 20.0
MONDAY_10AM = datetime(2026, 11, 23, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai")).timestamp()
STEADY = Behaviour(mean_patience=10_000, answer_delay=(1.0, 1.0), no_answer_rate=0.0, mean_talk=30, min_talk=30)


@pytest.fixture
def broker(tmp_path):
    b = Mosquitto(tmp_path)
    b.start()
    yield b
    b.stop()


class Listener:
    """A client of the bus (a wallboard, an agent's desktop, a supervisor's
    console): collects what it receives, publishes commands."""

    def __init__(self, broker: Mosquitto, user: str, topics: list[str]) -> None:
        self.broker, self.user, self.topics = broker, user, topics
        self.messages: list[tuple[str, bytes, bool]] = []
        self._task: asyncio.Task | None = None
        self._client: aiomqtt.Client | None = None
        self._ready = asyncio.Event()

    async def __aenter__(self) -> "Listener":
        self._task = asyncio.ensure_future(self._run())
        await asyncio.wait_for(self._ready.wait(), 5)
        return self

    async def __aexit__(self, *exc) -> None:
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)

    async def _run(self) -> None:
        async with aiomqtt.Client("127.0.0.1", self.broker.port, username=self.user,
                                  password=USERS[self.user], identifier=f"test-{self.user}") as client:
            self._client = client
            for topic in self.topics:
                await client.subscribe(topic, qos=1)
            self._ready.set()
            async for m in client.messages:
                self.messages.append((m.topic.value, bytes(m.payload), bool(m.retain)))

    async def send(self, topic: str, body) -> None:
        raw = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode()
        await self._client.publish(topic, raw, qos=1)

    def payloads(self, topic: str) -> list[dict]:
        return [json.loads(raw) for t, raw, _ in self.messages if t == topic and raw]

    def last(self, topic: str) -> dict | None:
        found = self.payloads(topic)
        return found[-1] if found else None

    def replies(self, topic: str, rid) -> list[dict]:
        return [p for p in self.payloads(topic) if p.get("id") == rid]


class Centre:
    """PBX simulator + router + MQTT bus on the test broker."""

    def __init__(self, broker: Mosquitto, agents=(), behaviour=STEADY, calls_per_hour=0.0, buffer=10_000,
                 config_dir=None):
        self.broker = broker
        self.pbx = PbxSimulator(TABLE, speed=SPEED, seed=1, calls_per_hour=calls_per_hour, behaviour=behaviour,
                                login_agents=False)
        self.router = Router(TABLE, Clock(SPEED, start=MONDAY_10AM))
        self.settings = MqttSettings(port=broker.port, username="router", password=USERS["router"],
                                     stats_interval=0.2, sl_min_calls=1, buffer=buffer, reconnect_max=0.5)
        self.bus = MqttBus(self.router, self.settings, config_dir=str(config_dir) if config_dir else None)
        self.agents = agents

    async def __aenter__(self) -> "Centre":
        await self.pbx.start()
        self.router.add_pbx("sim", "127.0.0.1", self.pbx.port, self.pbx.username, self.pbx.secret, reconnect=1.0)
        await self.router.start()
        await until(lambda: self.router.resyncs.get("sim", 0) >= 1)
        self.bus.start()
        await until(lambda: self.bus.connected)
        return self

    async def __aexit__(self, *exc) -> None:
        await self.bus.stop()
        await self.router.stop()
        await self.pbx.stop()

    def state(self, agent: str) -> str:
        return self.router.engine.agents[agent].status.value

    def record(self, call: str):
        return self.pbx.records[call]


def check_schema(payload: dict) -> None:
    assert payload["v"] == SCHEMA_VERSION
    event = payload["event"]
    assert event in FIELDS, event
    missing = [k for k in FIELDS[event] if k not in payload]
    assert not missing, f"{event} lacks {missing}: {payload}"
    datetime.fromisoformat(payload["at"])


# ------------------------------------------------------------------ events out
async def test_events_arrive_as_documented_during_a_simulated_run(broker):
    async with Centre(broker) as centre, \
            Listener(broker, "wallboard", ["router/status", "router/call/#", "router/queue/#",
                                           "router/agent/+/state", "router/alert/#"]) as wall, \
            Listener(broker, "1002", ["router/agent/1002/#", "router/reply/agent/1002"]) as desk:
        await desk.send("router/cmd/agent/1002/login", {"id": "l1"})
        await until(lambda: centre.state("1002") == "available")
        await until(lambda: desk.replies("router/reply/agent/1002", "l1"))
        assert desk.replies("router/reply/agent/1002", "l1")[0]["ok"] is True
        call = centre.pbx.place_call(dnis="4008001000", caller_name="陈静", variables={"lang": "yue"})
        await until(lambda: centre.record(call).outcome == "answered")
        await until(lambda: wall.last("router/call/answered") is not None)
        centre.pbx.hangup_caller(call)
        await until(lambda: wall.last("router/call/ended") is not None, 10)
        await until(lambda: wall.last("router/queue/sales/stats") and
                    wall.last("router/queue/sales/stats")["answered"] == 1)

    # Every payload follows the documented schema.
    for topic, raw, _ in wall.messages + desk.messages:
        if raw:
            check_schema(json.loads(raw))
    assert wall.payloads("router/status")[0]["status"] == "online"
    waiting = wall.last("router/call/waiting")
    assert (waiting["call"], waiting["queue"], waiting["rule"]) == (call, "sales", "sales-cantonese")
    assert waiting["caller_name"] == "陈静"
    raw = next(raw for t, raw, _ in wall.messages if t == "router/call/waiting")
    assert "陈静".encode() in raw  # UTF-8 intact, not \u escapes
    offered = wall.last("router/call/offered")
    assert offered["agent"] == "1002" and offered["variables"] == {"lang": "yue"}
    answered = wall.last("router/call/answered")
    assert answered["agent"] == "1002" and answered["final"] is False and answered["wait"] >= 0
    assert wall.last("router/call/ended")["final"] is True
    # The agent's desktop gets its screen-pop and its own state.
    pop = desk.last("router/agent/1002/call")
    assert pop["caller_name"] == "陈静" and pop["event"] in ("call.answered", "call.ringing", "call.ended")
    assert [p["event"] for p in desk.payloads("router/agent/1002/call")][:2] == ["call.offered", "call.ringing"]
    states = [p["state"] for p in wall.payloads("router/agent/1002/state")]
    assert "available" in states and "on_call" in states
    assert wall.last("router/agent/1002/state")["name"] == "王芳"
    stats = wall.last("router/queue/sales/stats")
    assert stats["target"] == 80.0 and stats["within"] == 20.0 and stats["service_level"] == 100.0
    # Retained topics are retained: a late subscriber gets them at once.
    async with Listener(broker, "wallboard", ["router/agent/+/state", "router/queue/+/stats"]) as late:
        await until(lambda: late.last("router/agent/1002/state") and late.last("router/queue/support/stats"))
        assert all(retain for _, _, retain in late.messages)
    # The router said goodbye: status offline, retained.
    async with Listener(broker, "wallboard", ["router/status"]) as late:
        await until(lambda: late.last("router/status"))
        assert late.last("router/status")["status"] == "offline"


async def test_abandon_and_service_level_alert(broker):
    async with Centre(broker) as centre, \
            Listener(broker, "wallboard", ["router/call/#", "router/alert/#"]) as wall:
        call = centre.pbx.place_call(dnis="4008001000", caller_name="李雷")
        await until(lambda: wall.last("router/call/waiting"))
        await asyncio.sleep(10 / SPEED)  # a short abandon (under 5 s) would not count
        centre.pbx.hangup_caller(call)
        await until(lambda: wall.last("router/call/abandoned"))
        await until(lambda: wall.last("router/alert/service-level/sales"))
    abandoned = wall.last("router/call/abandoned")
    assert abandoned["call"] == call and abandoned["final"] is True
    alert = wall.last("router/alert/service-level/sales")
    check_schema(alert)
    assert alert["state"] == "breached" and alert["service_level"] == 0.0 and alert["target"] == 80.0


async def test_last_will_says_offline_when_the_router_dies(broker):
    centre = Centre(broker)
    async with Listener(broker, "wallboard", ["router/status"]) as wall:
        await centre.__aenter__()
        await until(lambda: wall.last("router/status") and wall.last("router/status")["status"] == "online")
        # Die without a goodbye: the broker sees the connection drop and
        # publishes the will.
        await centre.bus.abort()
        await until(lambda: wall.last("router/status")["status"] == "offline", 10)
        assert wall.last("router/status")["run"] == centre.router.run_id
        await centre.router.stop()
        await centre.pbx.stop()


# ------------------------------------------------------------------ commands in
async def test_commands_change_agent_state_and_routing(broker):
    async with Centre(broker) as centre, \
            Listener(broker, "1008", ["router/reply/agent/1008"]) as agent, \
            Listener(broker, "supervisor", ["router/reply/supervisor", "router/call/#",
                                            "router/agent/1008/skills"]) as boss:
        await agent.send("router/cmd/agent/1008/login", {"id": 1})
        await until(lambda: centre.state("1008") == "available")
        await agent.send("router/cmd/agent/1008/pause", {"id": 2, "reason": "午饭"})
        await until(lambda: centre.state("1008") == "paused")
        assert centre.router.engine.agents["1008"].reason == "午饭"
        await until(lambda: agent.replies("router/reply/agent/1008", 2))
        assert agent.replies("router/reply/agent/1008", 2)[0] == {
            **agent.replies("router/reply/agent/1008", 2)[0], "ok": True, "state": "paused", "reason": "午饭"}
        # A paused agent is not offered calls; two sales calls wait.
        first = centre.pbx.place_call(dnis="4008001000", caller_name="甲")
        second = centre.pbx.place_call(dnis="4008001000", caller_name="乙")
        await until(lambda: len(centre.router.engine.line()) == 2)
        # The supervisor raises the second call's priority and moves the first to support.
        await boss.send("router/cmd/supervisor/priority", {"id": "p", "call": second, "priority": 60})
        await boss.send("router/cmd/supervisor/move", {"id": "m", "call": first, "queue": "support"})
        await until(lambda: boss.replies("router/reply/supervisor", "m"))
        assert boss.replies("router/reply/supervisor", "p")[0]["ok"] is True
        assert boss.replies("router/reply/supervisor", "m")[0]["queue"] == "support"
        assert centre.router.engine.calls[first].queue == "support"
        assert [c.id for c in centre.router.engine.line()] == [second, first]
        await until(lambda: boss.last("router/call/moved"))
        assert boss.last("router/call/moved")["reason"] == "supervisor"
        # 1008 has sales 5, no support skill: the supervisor gives it one.
        assert "support" not in TABLE.agents["1008"].skills
        await boss.send("router/cmd/supervisor/skills", {"id": "s", "agent": "1008", "skills": {"support": 8}})
        await until(lambda: boss.replies("router/reply/supervisor", "s"))
        assert centre.router.table.agents["1008"].skills["support"] == 8
        await until(lambda: boss.last("router/agent/1008/skills")
                    and boss.last("router/agent/1008/skills")["skills"].get("support") == 8)
        # Unpause once both calls are past sales' 20 s seniors-only step
        # (1008 has sales 5): the higher-priority call goes first.
        await asyncio.sleep(22 / SPEED)
        await agent.send("router/cmd/agent/1008/unpause", {"id": 3})
        await until(lambda: centre.record(second).outcome == "answered")
        assert centre.record(second).agent == "1008"
        assert centre.record(first).offers == []
        # Logout mid-call takes effect when the call ends.
        await agent.send("router/cmd/agent/1008/logout", {"id": 4})
        await until(lambda: agent.replies("router/reply/agent/1008", 4))
        assert agent.replies("router/reply/agent/1008", 4)[0]["pending"] == "logged_out"
        centre.pbx.hangup_caller(second)
        await until(lambda: centre.state("1008") == "logged_out", 10)
        assert centre.record(first).offers == []


async def test_supervisor_reload_applies_a_good_config_and_refuses_a_bad_one(broker, tmp_path):
    config = tmp_path / "config"
    shutil.copytree(ROOT / "config", config)
    async with Centre(broker, config_dir=config) as centre, \
            Listener(broker, "supervisor", ["router/reply/supervisor"]) as boss:
        queues = config / "queues.yaml"
        queues.write_text(queues.read_text(encoding="utf-8").replace("ring_timeout: 15s", "ring_timeout: 17s", 1),
                          encoding="utf-8")
        await boss.send("router/cmd/supervisor/reload", {"id": "r1"})
        await until(lambda: boss.replies("router/reply/supervisor", "r1"))
        reply = boss.replies("router/reply/supervisor", "r1")[0]
        assert reply["ok"] is True, reply
        assert centre.router.table.digest != TABLE.digest
        good = centre.router.table
        (config / "agents.yaml").write_text("agents: [oops", encoding="utf-8")
        await boss.send("router/cmd/supervisor/reload", {"id": "r2"})
        await until(lambda: boss.replies("router/reply/supervisor", "r2"))
        reply = boss.replies("router/reply/supervisor", "r2")[0]
        assert reply["ok"] is False and "rejected" in reply["reason"] and reply["errors"]
        assert centre.router.table is good


async def test_malformed_and_unauthorised_commands_are_refused_with_a_reason(broker):
    async with Centre(broker) as centre, \
            Listener(broker, "1001", ["router/reply/agent/#"]) as agent, \
            Listener(broker, "supervisor", ["router/reply/supervisor", "router/reply/agent/#"]) as boss:
        bad_agent = [
            ("router/cmd/agent/1001/pause", b"not json", "not JSON"),
            ("router/cmd/agent/1001/pause", json.dumps([1]).encode(), "JSON object"),
            ("router/cmd/agent/1001/pause", b"\xff\xfe", "not UTF-8"),
            ("router/cmd/agent/1001/pause", {"reason": "lunch"}, "logged out"),
            ("router/cmd/agent/1001/unpause", {}, "not paused"),
            ("router/cmd/agent/1001/dance", {}, "unknown agent command"),
            ("router/cmd/agent/1001/login", {"agent": "1002"}, "unauthorised"),
            ("router/cmd/agent/1001/skills", {"skills": {"vip": 10}}, "unauthorised"),
            ("router/cmd/agent/1001/move", {"call": "x", "queue": "vip"}, "unauthorised"),
            ("router/cmd/agent/1001/login", {"colour": "red"}, "takes no 'colour'"),
            ("router/cmd/agent/1001/pause", {"reason": "x" * 41}, "at most 40"),
            ("router/cmd/agent/1001/login", b"{" + b" " * 5000 + b"}", "over the 4096-byte limit"),
        ]
        for n, (topic, body, _) in enumerate(bad_agent):
            if isinstance(body, dict):
                body = {**body, "id": n}
            await agent.send(topic, body)
        bad_boss = [
            ("router/cmd/supervisor/skills", {"agent": "1001", "skills": {"salse": 5}}, "unknown skill 'salse'"),
            ("router/cmd/supervisor/skills", {"agent": "1001", "skills": {"sales": 11}}, "integer 0-10"),
            ("router/cmd/supervisor/skills", {"agent": "9999", "skills": {"sales": 5}}, "unknown agent"),
            ("router/cmd/supervisor/move", {"call": "nope", "queue": "vip"}, "no call 'nope'"),
            ("router/cmd/supervisor/priority", {"call": "nope", "priority": 5}, "no call 'nope'"),
            ("router/cmd/supervisor/fire", {}, "unknown supervisor command"),
            ("router/cmd/supervisor/login", {}, "'agent' (an agent id) is required"),
            ("router/cmd/supervisor/reload", {}, "without a config directory"),
        ]
        for n, (topic, body, _) in enumerate(bad_boss):
            await boss.send(topic, {**body, "id": 100 + n})
        await until(lambda: len(agent.payloads("router/reply/agent/1001")) == len(bad_agent))
        await until(lambda: len(boss.payloads("router/reply/supervisor")) == len(bad_boss))
        replies = agent.payloads("router/reply/agent/1001")
        got = {p["id"]: p for p in replies}
        for n, (topic, body, reason) in enumerate(bad_agent):
            reply = got.get(n) if isinstance(body, dict) else next(
                (p for p in replies if reason in p["reason"]), None)
            assert reply is not None and reply["ok"] is False and reason in reply["reason"], (topic, body, reply)
            check_schema(reply)
        got = {p["id"]: p for p in boss.payloads("router/reply/supervisor")}
        for n, (topic, body, reason) in enumerate(bad_boss):
            assert got[100 + n]["ok"] is False and reason in got[100 + n]["reason"], (topic, got[100 + n])
        # Nothing changed.
        assert centre.state("1001") == "logged_out"
        assert centre.router.table is TABLE
        assert centre.bus.commands_ok == 0
        # The broker's ACL: agent 1001 cannot command agent 1002, nor
        # supervisor topics, nor read 1002's replies.
        await agent.send("router/cmd/agent/1002/login", {"id": "sneaky"})
        await agent.send("router/cmd/supervisor/login", {"id": "sneaky2", "agent": "1001"})
        await boss.send("router/cmd/agent/1002/unpause", {"id": "probe"})  # not allowed for supervisors either
        await boss.send("router/cmd/supervisor/pause", {"id": "boss", "agent": "1002", "reason": "x"})
        await until(lambda: boss.replies("router/reply/supervisor", "boss"))
        await asyncio.sleep(0.3)
        assert centre.state("1002") == "logged_out" and centre.state("1001") == "logged_out"
        assert not agent.replies("router/reply/agent/1002", "probe")
        assert all(t == "router/reply/agent/1001" for t, _, _ in agent.messages)
        assert "denied" in broker.log().lower()


# ------------------------------------------------------------------ outages
async def test_broker_restart_mid_run_loses_no_routing_and_the_client_comes_back(broker):
    agents = ["1001", "1002", "1005", "1008"]
    async with Centre(broker) as centre:
        for agent in agents:
            centre.router.feed(ev.AgentLogin(agent))
        before = [centre.pbx.place_call(dnis="4008001000", caller_name=f"早{i}") for i in range(2)]
        await until(lambda: all(centre.record(c).outcome == "answered" for c in before))
        broker.stop()
        await until(lambda: not centre.bus.connected)
        published = centre.bus.published
        # Calls keep being routed while the broker is down.
        during = [centre.pbx.place_call(dnis="4008001000", caller_name=f"中{i}") for i in range(2)]
        await until(lambda: all(centre.record(c).outcome == "answered" for c in during))
        assert centre.bus.published == published
        held = len(centre.bus._events)  # noqa: SLF001
        assert held > 0 and centre.bus.dropped == 0
        broker.start()
        await until(lambda: centre.bus.connected and centre.bus.connects == 2, 10)
        # The held events are delivered, retained state is sent again, and
        # commands work again (resubscribed).
        async with Listener(broker, "supervisor", ["router/#"]) as boss:
            await until(lambda: boss.last("router/agent/1001/state") and boss.last("router/status"))
            assert boss.last("router/status")["status"] == "online"
            assert boss.last("router/agent/1008/state")["state"] in ("on_call", "available", "wrapup", "reserved")
            await boss.send("router/cmd/supervisor/pause", {"id": "after", "agent": "1001", "reason": "meeting"})
            await until(lambda: boss.replies("router/reply/supervisor", "after"))
            await until(lambda: not centre.bus._events)  # noqa: SLF001
        after = centre.pbx.place_call(dnis="4008001000", caller_name="晚")
        await until(lambda: centre.record(after).outcome == "answered")
        assert centre.pbx.ghost_calls == 0 and centre.pbx.errors == []


async def test_events_are_bounded_and_counted_while_no_broker_is_reachable(tmp_path):
    from support.ports import free_port

    router = Router(TABLE, Clock(SPEED, start=MONDAY_10AM))
    bus = MqttBus(router, MqttSettings(port=free_port(), buffer=5, reconnect_max=0.2))
    bus.start()
    try:
        await asyncio.sleep(0.3)
        assert not bus.connected
        for i in range(20):
            router.feed(ev.CallWaiting(f"c{i}", dnis="4008001000"))
        assert len(router.engine.line()) == 20  # routing went on
        assert len(bus._events) == 5 and bus.dropped > 0  # noqa: SLF001
    finally:
        await bus.stop()
        await router.stop()


# paho-mqtt 2.2 leaks the socket of a failed TLS handshake (it is never
# closed, only collected): collected here, its ResourceWarning is expected.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning", "ignore::ResourceWarning")
async def test_tls_with_the_brokers_ca(tmp_path):
    broker = Mosquitto(tmp_path, tls=True)
    broker.start()
    try:
        router = Router(TABLE, Clock(SPEED, start=MONDAY_10AM))
        bus = MqttBus(router, MqttSettings(port=broker.port, username="router", password=USERS["router"],
                                           ca_file=str(broker.ca), reconnect_max=0.5))
        bus.start()
        await until(lambda: bus.connected)
        router.feed(ev.AgentLogin("1001"))
        await until(lambda: bus.published > 0 and not bus._events and not bus._dirty)  # noqa: SLF001
        await bus.stop()
        await router.stop()
        # Without the CA the broker's certificate is not trusted: no connection.
        router = Router(TABLE, Clock())
        bus = MqttBus(router, MqttSettings(port=broker.port, username="router", password=USERS["router"],
                                           tls=True, reconnect_max=0.2))
        bus.start()
        await asyncio.sleep(1.0)
        assert not bus.connected and bus.connects == 0
        await bus.stop()
        await router.stop()
        gc.collect()
    finally:
        broker.stop()


def test_the_password_is_never_in_repr_or_logs(caplog, tmp_path):
    settings = MqttSettings(username="router", password="s3cr3t-pw")
    assert "s3cr3t-pw" not in repr(settings)

    async def attempt():
        from support.ports import free_port
        router = Router(TABLE, Clock())
        bus = MqttBus(router, MqttSettings(port=free_port(), username="router", password="s3cr3t-pw",
                                           reconnect_max=0.1))
        bus.start()
        await asyncio.sleep(0.5)
        await bus.stop()

    with caplog.at_level(logging.DEBUG):
        asyncio.run(attempt())
    assert caplog.records and not any("s3cr3t-pw" in r.getMessage() for r in caplog.records)


async def test_router_run_simulate_with_mqtt_from_the_command_line(broker, tmp_path):
    secret = tmp_path / "mqtt-password"
    secret.write_text(USERS["router"] + "\n")
    async with Listener(broker, "wallboard", ["router/status", "router/call/#", "router/queue/+/stats"]) as wall:
        proc = await asyncio.create_subprocess_exec(
            str(ROOT / ".venv" / "bin" / "router") if (ROOT / ".venv" / "bin" / "router").exists() else "router",
            "run", str(ROOT / "config"), "--simulate", "--duration", "2m", "--speed", "60", "--quiet",
            "--calls-per-hour", "900", "--mqtt", f"127.0.0.1:{broker.port}", "--mqtt-user", "router",
            "--mqtt-password-file", str(secret), "--mqtt-stats-interval", "0.5",
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        try:
            out, err = await asyncio.wait_for(asyncio.shield(done := asyncio.ensure_future(proc.communicate())), 30)
        except asyncio.TimeoutError:
            # Not left running into the next test (its pipes would fail that
            # one): killed, and what it said is the failure's message.
            proc.kill()
            out, err = await done
            pytest.fail(f"router run --simulate --mqtt did not end within 30 s; it printed:\n"
                        f"{out.decode()[-3000:]}\n{err.decode()[-3000:]}")
        assert proc.returncode == 0, err.decode()
        await until(lambda: wall.last("router/status") and wall.last("router/status")["status"] == "offline")
    assert USERS["router"] not in (out + err).decode()
    assert "MQTT up" in out.decode()
    assert wall.payloads("router/call/waiting") and wall.payloads("router/queue/general/stats")
    for _, raw, _ in wall.messages:
        check_schema(json.loads(raw))


def test_bad_mqtt_options_are_usage_errors(capsys):
    from router.present.cli import main

    assert main(["run", str(ROOT / "config"), "--simulate", "--mqtt", "host:port"]) == 2
    assert "--mqtt 'host:port' must be HOST[:PORT]" in capsys.readouterr().err
    assert main(["run", str(ROOT / "config"), "--simulate", "--mqtt", "h", "--mqtt-prefix", "a/#"]) == 2
    assert "topic prefix 'a/#'" in capsys.readouterr().err
    assert main(["run", str(ROOT / "config"), "--simulate", "--mqtt", "h", "--mqtt-password-file", "/nonexistent"]) == 2
    assert "cannot read the MQTT password file" in capsys.readouterr().err


async def test_enforcement_actions_and_callbacks_are_published(broker):
    from router.core.facts import CallbackRetrying, QueueProtected

    async with Centre(broker) as centre, \
            Listener(broker, "wallboard", ["router/sla/#", "router/call/callback"]) as wall:
        now = centre.router.clock.now()
        centre.bus.on_publish(QueueProtected("sales", level=0.5, target=0.8, reason="below_target"), now)
        centre.bus.on_publish(CallbackRetrying("cb-1", "vip", reason="noanswer", attempts=1, retry_at=now + 300), now)
        await until(lambda: wall.last("router/sla/action") and wall.last("router/call/callback"))
    action = wall.last("router/sla/action")
    check_schema(action)
    assert (action["queue"], action["action"], action["reason"]) == ("sales", "protect", "below_target")
    callback = wall.last("router/call/callback")
    check_schema(callback)
    assert (callback["call"], callback["state"], callback["attempts"]) == ("cb-1", "retry", 1)
