"""Supervisor commands from the shell (`router agent ...`, `router call ...`).

They take the MQTT supervisor commands' own path (docs/MQTT.md): the same
topic and payload are checked by `router.mqtt.commands.parse`, so the same
refusals apply; with an MQTT bus the bus itself carries the command out
(`MqttBus.handle_command`: skill overrides kept over reloads, the reply
published on P/reply/supervisor with the id `control:<user>`). Without a
bus the checked request's events are fed to the router here.

Audit: every command, accepted or refused, is logged (logger
router.control: who, what, the outcome) and published as a
`ControlCommand` fact to the router's subscribers (the status view's
recent actions).
"""

from __future__ import annotations

import json
import logging

from router.core.facts import ControlCommand
from router.mqtt import commands
from router.mqtt.schema import Topics

log = logging.getLogger("router.control")

#: The supervisor commands the shell may send (reload has `router reload`).
COMMANDS = ("login", "logout", "pause", "unpause", "skills", "move", "priority")


def execute(router, bus, user: str, command: str, body: dict, overrides: commands.SkillOverrides) -> dict:
    """Carry out one supervisor command for `user`; the reply as a dict
    (`ok`, and `reason` when refused, or the agent's / call's state)."""
    topics = bus.topics if bus is not None else Topics("router")
    topic = f"{topics.prefix}/cmd/supervisor/{command}"
    if command not in COMMANDS:
        reply = {"ok": False, "reason": f"unknown command {command!r}; use one of {', '.join(COMMANDS)}"}
        return _audit(router, user, command, body, reply)
    raw = json.dumps({**body, "id": f"control:{user}"}, ensure_ascii=False).encode("utf-8")
    try:
        request = commands.parse(topics, topic, raw, router.table, router.engine)
    except commands.Refused as refusal:
        request = None
        reply = {"ok": False, "reason": str(refusal)}
    if bus is not None:
        bus.handle_command(topic, raw)  # the MQTT path, refusal or not: its reply is published
    elif request is not None:
        if request.skills is not None:
            overrides.changes.setdefault(request.agent, {}).update(request.skills)
            router.table_filter = overrides
            router.replace_table(router.table)
        for event in request.events:
            router.feed(event)
    if request is not None:
        reply = {"ok": True, **_state(router, request)}
    return _audit(router, user, command, body, reply)


def _state(router, request) -> dict:
    out = {}
    if request.agent:
        rec = router.engine.agents[request.agent]
        out.update(agent=request.agent, state=rec.status.value, reason=rec.reason,
                   pending=None if rec.pending is None else rec.pending[0].value)
        if request.skills is not None:
            out["skills"] = dict(sorted(router.table.agents[request.agent].skills.items()))
    if request.call:
        call = router.engine.calls.get(request.call)
        out.update(call=request.call, queue=call.queue if call else None, priority=call.priority if call else None)
    return out


def _audit(router, user: str, command: str, body: dict, reply: dict) -> dict:
    what = " ".join(f"{k}={v}" for k, v in body.items())
    if reply["ok"]:
        log.info("control: %s: %s %s: accepted", user, command, what)
    else:
        log.warning("control: %s: %s %s: refused: %s", user, command, what, reply["reason"])
    router.publish(ControlCommand(command, user, reply["ok"], reply.get("reason"),
                                  tuple((k, str(v)) for k, v in body.items())))
    return reply
