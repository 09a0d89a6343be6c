"""Facts: what the router tells the world. One frozen dataclass per fact.

The engine (and, for its own audit, the router) appends facts to the
commands it returns; every consumer (metrics, MQTT, the console, the state
file, the records) subscribes to them by type. This module is the catalogue:
`CATALOGUE` lists every fact, and adapters derive their wire formats from it
(docs/MQTT.md, router/mqtt/schema.py).

Each fact has a dotted `kind` (the MQTT event name, e.g. "call.answered")
and `data`: its payload as a flat JSON-able mapping, the fields named in
`PAYLOAD`, in order. Fields beyond `PAYLOAD` (a call's IVR variables, the
arrival time) are for in-process subscribers such as the records.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from functools import cache
from typing import Any, ClassVar

Vars = tuple[tuple[str, str], ...]


@cache
def _field_names(cls: type) -> tuple[str, ...]:
    return tuple(f.name for f in fields(cls))


@dataclass(frozen=True, slots=True)
class Fact:
    """Base of every published fact."""

    kind: ClassVar[str] = ""
    #: the payload fields, in order (all fields when empty)
    PAYLOAD: ClassVar[tuple[str, ...]] = ()
    #: payload fields left out when None
    OMIT_NONE: ClassVar[frozenset[str]] = frozenset()

    @property
    def data(self) -> dict[str, Any]:
        """The payload: a flat mapping of JSON-able values."""
        names = self.PAYLOAD or _field_names(type(self))
        out = {}
        for name in names:
            value = getattr(self, name)
            if value is None and name in self.OMIT_NONE:
                continue
            out[name] = value
        return out


# ------------------------------------------------------------------ calls
@dataclass(frozen=True, slots=True)
class CallQueued(Fact):
    """A new call was classified by a rule and filed in its first queue."""

    kind: ClassVar[str] = "call.waiting"
    PAYLOAD: ClassVar[tuple[str, ...]] = ("call", "queue", "rule", "priority", "dnis", "caller_num",
                                          "caller_name", "pbx")
    call: str
    queue: str
    rule: str
    priority: int
    dnis: str
    caller_num: str
    caller_name: str
    pbx: str
    variables: Vars = ()
    arrived: float = 0.0  # when the router got the call (a resync keeps the caller's wait)


@dataclass(frozen=True, slots=True)
class CallEscalated(Fact):
    """The call reached escalation step `step` of its queue."""

    kind: ClassVar[str] = "call.escalated"
    call: str
    queue: str
    step: int
    source: str


@dataclass(frozen=True, slots=True)
class CallMoved(Fact):
    """The call left queue `source` for queue `to` (reason: a rule's
    closed/full/max-wait action, or "supervisor")."""

    kind: ClassVar[str] = "call.moved"
    call: str
    source: str
    to: str
    reason: str


@dataclass(frozen=True, slots=True)
class CallReprioritised(Fact):
    """A supervisor set the call's priority."""

    kind: ClassVar[str] = "call.priority"
    call: str
    queue: str
    priority: int


@dataclass(frozen=True, slots=True)
class CallOffered(Fact):
    """An agent is being rung with the call (offer number `offer`)."""

    kind: ClassVar[str] = "call.offered"
    PAYLOAD: ClassVar[tuple[str, ...]] = ("call", "queue", "agent", "offer")
    call: str
    queue: str
    agent: str
    offer: int


@dataclass(frozen=True, slots=True)
class CallRinging(Fact):
    """The PBX reports the agent's leg of the offer up and ringing."""

    kind: ClassVar[str] = "call.ringing"
    call: str
    agent: str


@dataclass(frozen=True, slots=True)
class OfferFailed(Fact):
    """The offer to `agent` failed (reason: no-answer, timeout, busy, ...);
    the call is back at its place in line."""

    kind: ClassVar[str] = "call.no_answer"
    call: str
    agent: str
    reason: str


@dataclass(frozen=True, slots=True)
class CallAnswered(Fact):
    """Outcome: the agent answered; `wait` from arrival to answer."""

    kind: ClassVar[str] = "call.answered"
    call: str
    queue: str
    agent: str
    wait: float


@dataclass(frozen=True, slots=True)
class CallAbandoned(Fact):
    """Outcome: the caller hung up before an answer."""

    kind: ClassVar[str] = "call.abandoned"
    call: str
    queue: str
    wait: float


@dataclass(frozen=True, slots=True)
class CallOverflowed(Fact):
    """Outcome: the call left routing by an action (voicemail, callback,
    transfer, hangup) at max wait, when full, or on enforcement."""

    kind: ClassVar[str] = "call.overflowed"
    call: str
    queue: str
    wait: float
    reason: str
    action: str


@dataclass(frozen=True, slots=True)
class CallClosed(Fact):
    """Outcome: the call arrived while its queue was closed and was sent on
    by the queue's closed action."""

    kind: ClassVar[str] = "call.closed"
    call: str
    queue: str
    wait: float
    reason: str
    action: str


@dataclass(frozen=True, slots=True)
class CallCompleted(Fact):
    """An answered call's conversation ended; its agent goes to wrap-up."""

    kind: ClassVar[str] = "call.ended"
    PAYLOAD: ClassVar[tuple[str, ...]] = ("call", "queue", "agent")
    call: str
    queue: str
    agent: str
    wrapup: float = 0.0  # the wrap-up that now starts, seconds


@dataclass(frozen=True, slots=True)
class CallRecorded(Fact):
    """The answered call is being recorded to `path` on the PBX (a queue
    with `record: true`; core/survey.py). Sent beside CallAnswered."""

    kind: ClassVar[str] = "call.recording"
    call: str
    queue: str
    agent: str
    path: str


@dataclass(frozen=True, slots=True)
class CallSurveyed(Fact):
    """The caller gave a satisfaction score (1-5) after the call (a queue
    with `survey: true`; core/survey.py). `queue` and `agent` are "" for a
    call the engine no longer remembers."""

    kind: ClassVar[str] = "call.survey"
    call: str
    queue: str
    agent: str
    score: int


# ------------------------------------------------------------- callbacks
@dataclass(frozen=True, slots=True)
class CallbackQueued(Fact):
    """A callback was promised (or restored after a restart)."""

    kind: ClassVar[str] = "callback.promised"
    call: str
    origin: str
    queue: str
    number: str
    caller_name: str
    priority: int
    arrived: float
    attempts: int
    dnis: str
    pbx: str
    skills: tuple[tuple[str, int], ...]
    retry_at: float | None  # parked until then (a retry kept across a restart)

    @property
    def data(self) -> dict[str, Any]:
        out = Fact.data.fget(self)
        out["skills"] = [list(s) for s in self.skills]
        return out


@dataclass(frozen=True, slots=True)
class CallbackPlaced(Fact):
    """The agent answered a callback; the dialplan now dials the customer."""

    kind: ClassVar[str] = "callback.placed"
    call: str
    queue: str
    agent: str
    attempt: int
    number: str


@dataclass(frozen=True, slots=True)
class CallbackRetrying(Fact):
    """An attempt failed; the callback is parked until `retry_at`."""

    kind: ClassVar[str] = "callback.retry"
    call: str
    queue: str
    reason: str
    attempts: int
    retry_at: float


@dataclass(frozen=True, slots=True)
class CallbackDone(Fact):
    """The customer was reached."""

    kind: ClassVar[str] = "callback.done"
    call: str
    queue: str
    agent: str
    attempts: int
    result: str


@dataclass(frozen=True, slots=True)
class CallbackFailed(Fact):
    """The callback is given up: out of attempts, or no number to call
    (then `origin` names the call it was promised on)."""

    kind: ClassVar[str] = "callback.failed"
    PAYLOAD: ClassVar[tuple[str, ...]] = ("call", "origin", "queue", "reason", "attempts")
    OMIT_NONE: ClassVar[frozenset[str]] = frozenset({"origin"})
    call: str
    queue: str
    reason: str
    attempts: int
    origin: str | None = None


# ---------------------------------------------------------------- agents
@dataclass(frozen=True, slots=True)
class AgentStateChanged(Fact):
    """The agent's state (or what it will be after the call) changed.
    `pending` is the state asked for mid-call ("" when called off); None
    when this fact does not report it."""

    kind: ClassVar[str] = "agent.state"
    PAYLOAD: ClassVar[tuple[str, ...]] = ("agent", "state", "reason", "pending", "pending_reason")
    OMIT_NONE: ClassVar[frozenset[str]] = frozenset({"pending", "pending_reason"})
    agent: str
    state: str
    reason: str
    pending: str | None = None
    pending_reason: str | None = None
    call: str | None = None  # the call the agent is reserved for, on, or wrapping up


# ------------------------------------------------- service-level actions
@dataclass(frozen=True, slots=True)
class QueueProtected(Fact):
    """Enforcement: the queue's short-window SL fell below target; its
    callers are served first."""

    kind: ClassVar[str] = "sla.action"
    PAYLOAD: ClassVar[tuple[str, ...]] = ("queue", "action", "reason", "level", "target")
    queue: str
    level: float
    target: float
    action: str = "protect"
    reason: str = "below_target"


@dataclass(frozen=True, slots=True)
class QueueReleased(Fact):
    """Enforcement: protection ends (reason "recovered", with the level and
    target; or "disabled", enforcement switched off, with neither)."""

    kind: ClassVar[str] = "sla.action"
    PAYLOAD: ClassVar[tuple[str, ...]] = ("queue", "action", "reason", "level", "target")
    queue: str
    reason: str
    level: float | None = None
    target: float | None = None
    action: str = "release"

    @property
    def data(self) -> dict[str, Any]:
        out = Fact.data.fget(self)
        if self.reason == "disabled":
            del out["level"], out["target"]
        return out


@dataclass(frozen=True, slots=True)
class CallHurried(Fact):
    """Enforcement: the call's estimated wait would miss the threshold, so
    it takes its next step now (action "escalate", `step`) or its final
    action ("final")."""

    kind: ClassVar[str] = "sla.action"
    PAYLOAD: ClassVar[tuple[str, ...]] = ("queue", "action", "reason", "call", "ewt", "step")
    OMIT_NONE: ClassVar[frozenset[str]] = frozenset({"step"})
    queue: str
    action: str
    call: str
    ewt: float
    step: int | None = None
    reason: str = "ewt"


# ------------------------------------------------------ the router itself
@dataclass(frozen=True, slots=True)
class EventIgnored(Fact):
    """An input the engine could not apply (unknown call, stale offer...)."""

    kind: ClassVar[str] = "router.ignored"
    event: str
    why: str


@dataclass(frozen=True, slots=True)
class ControlCommand(Fact):
    """Audit of a command on the control socket (`router agent/call ...`):
    who, what, and whether it was accepted."""

    kind: ClassVar[str] = "control.command"
    command: str
    user: str
    ok: bool
    refused: str | None
    args: tuple[tuple[str, str], ...] = ()

    @property
    def data(self) -> dict[str, Any]:
        return {**dict(self.args), "user": self.user, "command": self.command, "ok": self.ok,
                "refused": self.refused}


CALL_FACTS: tuple[type[Fact], ...] = (
    CallQueued, CallEscalated, CallMoved, CallReprioritised, CallOffered, CallRinging, OfferFailed,
    CallAnswered, CallAbandoned, CallOverflowed, CallClosed, CallCompleted, CallRecorded, CallSurveyed)
CALLBACK_FACTS: tuple[type[Fact], ...] = (
    CallbackQueued, CallbackPlaced, CallbackRetrying, CallbackDone, CallbackFailed)
SLA_FACTS: tuple[type[Fact], ...] = (QueueProtected, QueueReleased, CallHurried)
#: Every fact the router publishes.
CATALOGUE: tuple[type[Fact], ...] = (
    *CALL_FACTS, *CALLBACK_FACTS, AgentStateChanged, *SLA_FACTS, EventIgnored, ControlCommand)
#: The call outcomes as facts (each call gets exactly one; core/state.OUTCOMES).
OUTCOME_FACTS: tuple[type[Fact], ...] = (CallAnswered, CallAbandoned, CallOverflowed, CallClosed)
