"""Topics and payloads of the MQTT bus (the contract is docs/MQTT.md).

Every payload is a UTF-8 JSON object with `v` (SCHEMA_VERSION), `event` and
`at` (router/mqtt/wire.py). `FIELDS`, the keys each event always carries,
is derived: for the events that publish facts, from the fact catalogue
(router/core/facts/) and the keys the bus adds (router/mqtt/outgoing.py);
for the bus's own events, from the modules that write them.
"""

from __future__ import annotations

from dataclasses import fields as dataclass_fields

from router.core.facts import CATALOGUE, Fact
from router.mqtt import outgoing, stats
from router.mqtt.wire import SCHEMA_VERSION, iso, payload  # noqa: F401  (the envelope, here too)

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


def always(kind: type[Fact]) -> tuple[str, ...]:
    """The payload keys every fact of this type carries (not those left out when None)."""
    names = kind.PAYLOAD or tuple(f.name for f in dataclass_fields(kind))
    return tuple(n for n in names if n not in kind.OMIT_NONE)


def _derived() -> dict[str, tuple[str, ...]]:
    """event -> the keys of every fact sent as it (those all its facts
    carry) followed by the keys the bus adds."""
    out: dict[str, tuple[str, ...]] = {}
    for kind in CATALOGUE:
        event = outgoing.EVENTS.get(kind)
        if event is None:
            continue  # not sent on MQTT (router.ignored, control.command)
        keys = always(kind)
        out[event] = keys if event not in out else tuple(k for k in out[event] if k in keys)
    return {event: keys + tuple(k for k in outgoing.ADDED.get(event, ()) if k not in keys)
            for event, keys in out.items()}


#: The call events, sent on <prefix>/call/<name> (derived from router/mqtt/outgoing.py).
CALL_EVENTS: tuple[str, ...] = tuple(dict.fromkeys(
    e[len("call."):] for e in outgoing.EVENTS.values() if e.startswith("call.")))
#: Call events also sent to the agent they name, on <prefix>/agent/<id>/call
#: (the screen-pop feed of the agent's desktop).
AGENT_CALL_EVENTS: tuple[str, ...] = tuple(t.kind[len("call."):] for t in outgoing.SCREEN_POP)

#: The keys every payload of each event carries (besides v, event, at); the
#: tests check published payloads against this, docs/MQTT.md explains them.
FIELDS: dict[str, tuple[str, ...]] = {
    "router.status": ("status", "run", "client"),  # router/mqtt/bus.py
    **_derived(),
    **outgoing.OWN_FIELDS,
    **stats.FIELDS,
    "reply": ("id", "command", "ok"),  # router/mqtt/incoming.py
}
