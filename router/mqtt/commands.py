"""Incoming commands: topic + payload -> a checked request, or a refusal.

Pure: reads the routing table and the engine's state, changes nothing. A
refusal carries the reason sent back on the reply topic; a refused command
changes nothing.

Authorisation by topic (the broker's ACL, deploy/mqtt/acl, decides who may
publish where; this decides what each topic may do):

- <prefix>/cmd/agent/<id>/<login|logout|pause|unpause>: only agent <id>
  (a payload naming another agent is refused as unauthorised); skill
  changes, call moves, priorities and reloads are not agent commands.
- <prefix>/cmd/supervisor/<command>: any agent's state, skills, moving a
  waiting call, its priority, config reload.
"""

from __future__ import annotations

import json
import unicodedata
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any

from router.core import events as ev
from router.core.state import AgentStatus, CallStatus
from router.mqtt.schema import AGENT_COMMANDS, MAX_COMMAND_BYTES, SUPERVISOR_COMMANDS, Topics

MAX_REASON = 40
MAX_LEVEL = 10
MAX_PRIORITY = 100
#: Payload keys each command accepts (besides "id", the caller's correlation id).
KEYS = {
    "login": {"agent"}, "logout": {"agent"}, "pause": {"agent", "reason"}, "unpause": {"agent"},
    "skills": {"agent", "skills"}, "move": {"call", "queue"}, "priority": {"call", "priority"}, "reload": set(),
}


class Refused(Exception):
    """A command refused; str() is the reason sent back."""


@dataclass
class Request:
    """A valid command: feed `events` (in order), or change `skills` of
    `agent`, or `reload` the config."""

    command: str
    reply_topic: str
    request_id: Any = None
    events: list = field(default_factory=list)
    agent: str | None = None
    call: str | None = None
    skills: dict[str, int] | None = None
    reload: bool = False


def reply_topic(topics: Topics, topic: str) -> str:
    """Where the answer to a command on `topic` goes (also for bad ones)."""
    parts = topics.command_parts(topic) or []
    if len(parts) >= 2 and parts[0] == "agent" and parts[1]:
        return topics.agent_reply(parts[1])
    return topics.supervisor_reply


def request_id(raw: bytes) -> Any:
    """The "id" of a payload, for the reply, even when the rest is bad
    (None for a payload over the size limit: it is not parsed at all)."""
    if len(raw) > MAX_COMMAND_BYTES:
        return None
    try:
        body = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None
    value = body.get("id") if isinstance(body, dict) else None
    return value if isinstance(value, (str, int)) and not isinstance(value, bool) else None


def parse(topics: Topics, topic: str, raw: bytes, table, engine) -> Request:
    """The checked request for one message; raises Refused with the reason."""
    reply = reply_topic(topics, topic)
    parts = topics.command_parts(topic)
    if parts is None:
        raise Refused(f"not a command topic: {topic}")
    body = _body(raw)
    rid = body.pop("id", None)
    if rid is not None and (isinstance(rid, bool) or not isinstance(rid, (str, int))):
        raise Refused("'id' must be a string or an integer")
    if parts[0] == "agent":
        if len(parts) != 3 or not parts[1]:
            raise Refused(f"agent commands are {topics.prefix}/cmd/agent/<agent id>/<command>")
        agent, command = parts[1], parts[2]
        if command in SUPERVISOR_COMMANDS and command not in AGENT_COMMANDS:
            raise Refused(f"unauthorised: '{command}' is a supervisor command, not an agent's")
        if command not in AGENT_COMMANDS:
            raise Refused(f"unknown agent command '{command}'; use one of {', '.join(AGENT_COMMANDS)}")
        named = body.get("agent", agent)
        if named != agent:
            raise Refused(f"unauthorised: this topic is agent {agent}'s; it cannot change agent {named!r}")
        body["agent"] = agent
    elif parts[0] == "supervisor":
        if len(parts) != 2:
            raise Refused(f"supervisor commands are {topics.prefix}/cmd/supervisor/<command>")
        command = parts[1]
        if command not in SUPERVISOR_COMMANDS:
            raise Refused(f"unknown supervisor command '{command}'; use one of {', '.join(SUPERVISOR_COMMANDS)}")
    else:
        raise Refused(f"unknown command topic {topic}: use {topics.prefix}/cmd/agent/<id>/<command> "
                      f"or {topics.prefix}/cmd/supervisor/<command>")
    unknown = sorted(set(body) - KEYS[command])
    if unknown:
        raise Refused(f"'{command}' takes no {', '.join(repr(k) for k in unknown)}"
                      + (f"; it takes {', '.join(sorted(KEYS[command]))}" if KEYS[command] else ""))
    request = Request(command, reply, rid)
    _CHECKS[command](request, body, table, engine)
    return request


def _body(raw: bytes) -> dict:
    if len(raw) > MAX_COMMAND_BYTES:
        raise Refused(f"payload of {len(raw)} bytes is over the {MAX_COMMAND_BYTES}-byte limit")
    if not raw.strip():
        return {}
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise Refused("payload is not UTF-8") from None
    try:
        body = json.loads(text)
    except ValueError as err:
        raise Refused(f"payload is not JSON: {err}") from None
    except RecursionError:  # `[[[[...`: not a ValueError, and it must not reach the bus task
        raise Refused("payload is nested too deeply") from None
    if not isinstance(body, dict):
        raise Refused("payload must be a JSON object, e.g. {\"reason\": \"lunch\"}")
    return body


def _agent(body: dict, table, engine) -> str:
    agent = body.get("agent")
    if not isinstance(agent, str) or not agent:
        raise Refused("'agent' (an agent id) is required")
    if agent not in table.agents or agent not in engine.agents:
        raise Refused(f"unknown agent {agent!r}")
    return agent


def _login(r: Request, body, table, engine) -> None:
    r.agent = _agent(body, table, engine)
    r.events.append(ev.AgentLogin(r.agent))


def _logout(r: Request, body, table, engine) -> None:
    r.agent = _agent(body, table, engine)
    r.events.append(ev.AgentLogout(r.agent))


def _pause(r: Request, body, table, engine) -> None:
    r.agent = _agent(body, table, engine)
    reason = body.get("reason", "break")
    if not isinstance(reason, str) or not reason.strip():
        raise Refused("'reason' must be a non-empty string, e.g. \"lunch\"")
    if len(reason) > MAX_REASON or any(unicodedata.category(ch).startswith("C") for ch in reason):
        raise Refused(f"'reason' must be at most {MAX_REASON} printable characters")
    if engine.agents[r.agent].status is AgentStatus.LOGGED_OUT:
        raise Refused(f"agent {r.agent} is logged out; log in first")
    r.events.append(ev.AgentPause(r.agent, reason.strip()))


def _unpause(r: Request, body, table, engine) -> None:
    r.agent = _agent(body, table, engine)
    rec = engine.agents[r.agent]
    pending_pause = rec.pending is not None and rec.pending[0] is AgentStatus.PAUSED
    if rec.status is not AgentStatus.PAUSED and not pending_pause:
        raise Refused(f"agent {r.agent} is {rec.status.value}, not paused")
    r.events.append(ev.AgentUnpause(r.agent))


def _level(skill: str, level) -> int:
    if isinstance(level, bool) or not isinstance(level, int) or not 0 <= level <= MAX_LEVEL:
        raise Refused(f"skill {skill!r}: level must be an integer 0-{MAX_LEVEL} (0 removes the skill)")
    return level


def _skills(r: Request, body, table, engine) -> None:
    r.agent = _agent(body, table, engine)
    skills = body.get("skills")
    if not isinstance(skills, dict) or not skills:
        raise Refused("'skills' must be an object of skill: level, e.g. {\"sales\": 7}")
    for skill, level in skills.items():
        if skill not in table.skills:
            raise Refused(f"unknown skill {skill!r}")
        _level(skill, level)
    r.skills = dict(skills)


def _call(body, engine) -> str:
    call = body.get("call")
    if not isinstance(call, str) or not call:
        raise Refused("'call' (a call id) is required")
    rec = engine.calls.get(call)
    if rec is None:
        raise Refused(f"no call {call!r} is waiting")
    if rec.status is CallStatus.CONNECTED:
        raise Refused(f"call {call!r} is already answered")
    return call


def _move(r: Request, body, table, engine) -> None:
    r.call = _call(body, engine)
    queue = body.get("queue")
    if not isinstance(queue, str) or queue not in table.queues:
        raise Refused(f"unknown queue {queue!r}")
    if engine.calls[r.call].queue == queue:
        raise Refused(f"call {r.call!r} is already in queue {queue}")
    r.events.append(ev.CallMove(r.call, queue))


def _priority(r: Request, body, table, engine) -> None:
    r.call = _call(body, engine)
    priority = body.get("priority")
    if isinstance(priority, bool) or not isinstance(priority, int) or not 0 <= priority <= MAX_PRIORITY:
        raise Refused(f"'priority' must be an integer 0-{MAX_PRIORITY}")
    r.events.append(ev.CallPriority(r.call, priority))


def _reload(r: Request, body, table, engine) -> None:
    r.reload = True


_CHECKS = {"login": _login, "logout": _logout, "pause": _pause, "unpause": _unpause,
           "skills": _skills, "move": _move, "priority": _priority, "reload": _reload}


class SkillOverrides:
    """Supervisors' skill changes (`skills` commands, from MQTT or the
    control socket), applied to every table the router takes: set as
    `router.table_filter`, they survive reloads. A level of 0 removes the
    skill; a skill the table no longer has is left out."""

    def __init__(self) -> None:
        self.changes: dict[str, dict[str, int]] = {}

    def __call__(self, table):
        agents = dict(table.agents)
        for agent, changes in self.changes.items():
            if agent in agents:
                skills = {**agents[agent].skills, **{s: n for s, n in changes.items() if s in table.skills}}
                skills = {s: n for s, n in skills.items() if n}
                agents[agent] = replace(agents[agent], skills=MappingProxyType(skills))
        return replace(table, agents=MappingProxyType(agents))
