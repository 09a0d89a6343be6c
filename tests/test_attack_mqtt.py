"""Attacks on the MQTT bus (issue 13, items 1-5), against a real mosquitto
started with the shipped ACL and broker settings (deploy/mqtt/), the router
routing the PBX simulator: deep and huge payloads, retained commands, a
stolen client id, a flood of bad commands from one agent."""

from __future__ import annotations

import asyncio
import json
import logging

import aiomqtt

from router.metrics import Metrics
from router.mqtt.schema import MAX_COMMAND_BYTES
from support.mosquitto import USERS
from test_mqtt import Centre, Listener, broker  # noqa: F401  (the fixture)
from test_metrics import http_get
from support.waiting import until


def client(broker, user: str, identifier: str | None = None) -> aiomqtt.Client:
    return aiomqtt.Client("127.0.0.1", broker.port, username=user, password=USERS[user],
                          identifier=identifier or f"attack-{user}")


async def test_deep_and_oversized_payloads_are_refused_and_the_bus_keeps_working(broker, caplog):
    caplog.set_level(logging.INFO, logger="router.mqtt")
    async with Centre(broker) as centre, Listener(broker, "wallboard", ["router/status"]) as wall, \
            Listener(broker, "1001", ["router/reply/agent/1001"]) as desk:
        await until(lambda: wall.last("router/status"))
        for raw in (b"[" * 2000, b"{\"\":" * 1010, b"[" * 6000):  # under and over the 4 KiB limit
            await desk.send("router/cmd/agent/1001/unpause", raw)
        # The id of an oversized payload is not even read (no parsing over the limit).
        big = json.dumps({"id": "big", "pad": "x" * MAX_COMMAND_BYTES}).encode()
        await desk.send("router/cmd/agent/1001/login", big)
        await desk.send("router/cmd/agent/1001/login", {"id": "after"})
        await until(lambda: desk.replies("router/reply/agent/1001", "after"))
        assert desk.replies("router/reply/agent/1001", "after")[0]["ok"] is True
        reasons = [p["reason"] for p in desk.payloads("router/reply/agent/1001") if not p["ok"]]
        assert reasons[:2] == ["payload is nested too deeply"] * 2
        assert all("over the 4096-byte limit" in r for r in reasons[2:4]) and len(reasons) == 4
        assert not desk.replies("router/reply/agent/1001", "big")
        assert centre.state("1001") == "available"
        assert centre.bus.connects == 1 and centre.bus.task_restarts == 0
        assert wall.last("router/status")["status"] == "online"


async def test_a_packet_over_the_brokers_limit_never_reaches_the_router(broker):
    async with Centre(broker) as centre, Listener(broker, "1002", ["router/reply/agent/1002"]) as desk:
        try:
            async with client(broker, "1001") as attacker:
                await attacker.publish("router/cmd/agent/1001/login", b"[" * 200_000, qos=1, timeout=5)
        except aiomqtt.MqttError:
            pass  # the broker closed the connection that sent it (max_packet_size)
        await desk.send("router/cmd/agent/1002/login", {"id": "l"})
        await until(lambda: desk.replies("router/reply/agent/1002", "l"))
        assert centre.bus.commands_refused == 0  # the 200 KB message was never delivered
        assert "1001" in broker.log() and centre.state("1001") == "logged_out"


async def test_retained_commands_are_refused_at_connect_and_live(broker):
    async with client(broker, "1001") as attacker:  # before the router starts: the broker keeps it
        await attacker.publish("router/cmd/agent/1001/login", b'{"id": "old"}', qos=1, retain=True)
    async with Centre(broker) as centre, Listener(broker, "1001", ["router/reply/agent/1001"]) as desk:
        await until(lambda: centre.bus.commands_ok + centre.bus.commands_refused >= 1)
        assert centre.state("1001") == "logged_out" and centre.bus.commands_retained == 1
        await desk._client.publish("router/cmd/agent/1001/login", b'{"id": "live"}', qos=1, retain=True)
        await until(lambda: desk.replies("router/reply/agent/1001", "live"))
        reply = desk.replies("router/reply/agent/1001", "live")[0]
        assert reply["ok"] is False and "retained" in reply["reason"]
        assert centre.state("1001") == "logged_out" and centre.bus.commands_retained == 2
        await desk.send("router/cmd/agent/1001/login", {"id": "plain"})
        await until(lambda: desk.replies("router/reply/agent/1001", "plain"))
        assert centre.state("1001") == "available"


async def test_an_agent_cannot_take_over_the_routers_client_id(broker):
    async with Centre(broker) as centre:
        async with client(broker, "1001", identifier="router") as attacker:
            await attacker.subscribe("router/reply/agent/1001", qos=1)
            await attacker.publish("router/cmd/agent/1001/login", b'{"id": "x"}', qos=1)
            async for message in attacker.messages:  # the router answered: it is still on the bus
                assert json.loads(message.payload)["id"] == "x"
                break
        assert centre.bus.connects == 1 and centre.bus.connected
        assert centre.state("1001") == "available"


async def test_a_takeover_with_the_routers_credentials_is_detected_and_logged(broker, caplog):
    caplog.set_level(logging.WARNING, logger="router.mqtt")
    async with Centre(broker) as centre:
        for n in range(4):  # the thief keeps connecting; each time the broker drops the router
            connects = centre.bus.connects
            async with client(broker, "router", identifier="thief"):
                await until(lambda: not centre.bus.connected)
            await until(lambda: centre.bus.connects > connects, 10)
        assert centre.bus.takeovers >= 1
        assert any("client-id takeover" in r.getMessage() for r in caplog.records)


async def test_a_flood_of_bad_commands_is_rate_limited_and_evicts_no_event(broker, caplog):
    caplog.set_level(logging.INFO, logger="router.mqtt")
    async with Centre(broker, buffer=200) as centre, \
            Listener(broker, "wallboard", ["router/call/waiting"]) as wall:
        calls = []
        async with client(broker, "1001") as attacker:
            for n in range(3000):
                await attacker.publish("router/cmd/agent/1001/pause", b'{"bogus": 1}', qos=0)
                if n % 600 == 0:
                    calls.append(centre.pbx.place_call(dnis="4008001000", caller_name=f"客{n}"))
            await attacker.publish("router/cmd/agent/1001/pa\u2028use", b"{}", qos=1)
        await until(lambda: {p["call"] for p in wall.payloads("router/call/waiting")} >= set(calls), 10)
        bus = centre.bus
        await until(lambda: bus.commands_limited + bus.commands_refused >= 3000, 10)
        assert bus.dropped == 0
        assert bus.commands_limited > 2000 and bus.commands_refused <= 100
        refused_lines = [r for r in caplog.records if "refused" in r.getMessage()]
        assert len(refused_lines) <= 2, len(refused_lines)
        bus._refusals.flush(asyncio.get_running_loop().time(), force=True)  # the window's summary
        summary = [r.getMessage() for r in caplog.records if "more command(s) from agent 1001" in r.getMessage()]
        assert len(summary) == 1


async def test_a_failed_bus_session_is_logged_restarted_and_shown_in_health_and_metrics(broker, caplog):
    async with Centre(broker) as centre, Listener(broker, "1001", ["router/reply/agent/1001"]) as desk:
        metrics = Metrics(centre.router)
        port = await metrics.serve("127.0.0.1", 0)
        try:
            bus = centre.bus
            real_send = bus._send
            calls = []

            async def broken_send(client):  # a bug in the sender, once
                calls.append(1)
                if len(calls) == 1:
                    raise RuntimeError("sender bug")
                await real_send(client)

            bus._send = broken_send
            bus._client._client.disconnect()  # a new session runs the broken sender
            await until(lambda: bus.connects >= 3 and bus.connected, 10)  # the failed one, then a good one
            assert bus.task_restarts == 1
            assert any("sender bug" in r.getMessage() for r in caplog.records if r.levelname == "ERROR")
            status, _, body = await http_get(port, "/healthz")
            health = json.loads(body)
            assert status == 200 and health["mqtt"]["task_restarts"] == 1
            assert "sender bug" in health["mqtt"]["last_error"]
            _, _, page = await http_get(port, "/metrics")
            assert b"router_mqtt_task_restarts_total 1.0" in page and b"router_mqtt_connected 1.0" in page
            await desk.send("router/cmd/agent/1001/login", {"id": "after"})
            await until(lambda: desk.replies("router/reply/agent/1001", "after"))
        finally:
            await metrics.stop()
