"""Topics and payloads of the MQTT bus (the contract is docs/MQTT.md).

Every payload is a UTF-8 JSON object with `v` (SCHEMA_VERSION), `event` and
`at` (ISO 8601 time with offset, from the router's clock). Names travel as
they are (王芳, not \\u738b\\u82b3).
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any, Mapping

SCHEMA_VERSION = 1

#: Engine publish kinds sent as call events, on <prefix>/call/<kind>.
CALL_EVENTS = ("waiting", "escalated", "moved", "priority", "offered", "ringing", "no_answer",
               "answered", "abandoned", "overflowed", "closed", "ended", "callback",
               "recording", "survey")  # (the last two: core/survey.py)
#: Call events also sent to the agent they name, on <prefix>/agent/<id>/call
#: (the screen-pop feed of the agent's desktop).
AGENT_CALL_EVENTS = ("offered", "ringing", "no_answer", "answered", "ended")
#: Agent commands (topic <prefix>/cmd/agent/<id>/<command>).
AGENT_COMMANDS = ("login", "logout", "pause", "unpause")
#: Supervisor commands (topic <prefix>/cmd/supervisor/<command>).
SUPERVISOR_COMMANDS = AGENT_COMMANDS + ("skills", "move", "priority", "reload")
#: Largest command payload accepted, in bytes.
MAX_COMMAND_BYTES = 4096


class Topics:
    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.status = f"{prefix}/status"
        self.commands = f"{prefix}/cmd/#"
        self.supervisor_reply = f"{prefix}/reply/supervisor"
        self.sla_action = f"{prefix}/sla/action"

    def call(self, kind: str) -> str:
        return f"{self.prefix}/call/{kind}"

    def agent_state(self, agent: str) -> str:
        return f"{self.prefix}/agent/{agent}/state"

    def agent_skills(self, agent: str) -> str:
        return f"{self.prefix}/agent/{agent}/skills"

    def agent_call(self, agent: str) -> str:
        return f"{self.prefix}/agent/{agent}/call"

    def queue_stats(self, queue: str) -> str:
        return f"{self.prefix}/queue/{queue}/stats"

    def sl_alert(self, queue: str) -> str:
        return f"{self.prefix}/alert/service-level/{queue}"

    def agent_reply(self, agent: str) -> str:
        return f"{self.prefix}/reply/agent/{agent}"

    def command_parts(self, topic: str) -> list[str] | None:
        """The levels after <prefix>/cmd/, or None for a topic outside it."""
        head = f"{self.prefix}/cmd/"
        return topic[len(head):].split("/") if topic.startswith(head) else None


def iso(now: float) -> str:
    return datetime.fromtimestamp(now, timezone.utc).isoformat(timespec="milliseconds")


def payload(event: str, now: float, data: Mapping[str, Any]) -> bytes:
    body = {"v": SCHEMA_VERSION, "event": event, "at": iso(now)}
    body.update(data)
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


#: The keys every payload of each event carries (besides v, event, at); the
#: tests check published payloads against this, docs/MQTT.md explains them.
FIELDS: dict[str, tuple[str, ...]] = {
    "router.status": ("status", "run", "client"),
    "call.waiting": ("call", "queue", "rule", "priority", "dnis", "caller_num", "caller_name", "pbx"),
    "call.escalated": ("call", "queue", "step", "source"),
    "call.moved": ("call", "source", "to", "reason"),
    "call.priority": ("call", "queue", "priority"),
    "call.offered": ("call", "queue", "agent", "offer", "caller_num", "caller_name", "dnis", "variables"),
    "call.ringing": ("call", "agent", "queue", "caller_num", "caller_name"),
    "call.no_answer": ("call", "agent", "reason", "caller_num", "caller_name"),
    "call.answered": ("call", "queue", "agent", "wait", "final", "caller_num", "caller_name", "dnis",
                      "variables"),
    "call.abandoned": ("call", "queue", "wait", "final"),
    "call.overflowed": ("call", "queue", "wait", "reason", "action", "final"),
    "call.closed": ("call", "queue", "wait", "reason", "action", "final"),
    "call.ended": ("call", "queue", "agent", "final", "caller_num", "caller_name"),
    "call.callback": ("call", "queue", "state", "reason", "caller_num", "caller_name"),
    "call.recording": ("call", "queue", "agent", "path"),
    "call.survey": ("call", "queue", "agent", "score"),
    "agent.state": ("agent", "name", "team", "state", "reason", "call", "pending"),
    "agent.skills": ("agent", "skills"),
    "queue.stats": ("queue", "title", "waiting", "longest_wait", "agents_free", "offered", "answered",
                    "abandoned", "overflowed", "closed", "service_level", "sl_15m", "sl_1h", "sl_today",
                    "protected", "target", "within", "avg_wait"),
    "sla.action": ("queue", "action", "reason"),
    "alert.service_level": ("queue", "state", "service_level", "target", "within", "finished", "waiting",
                            "longest_wait"),
    "reply": ("id", "command", "ok"),
}
