"""Facts of a call's way through routing, from queued to its outcome and
the end of its conversation (recording and survey included)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from router.core.facts.base import Fact, Vars
from router.core.quick import quick


@quick
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


@quick
@dataclass(frozen=True, slots=True)
class CallEscalated(Fact):
    """The call reached escalation step `step` of its queue."""

    kind: ClassVar[str] = "call.escalated"
    call: str
    queue: str
    step: int
    source: str


@quick
@dataclass(frozen=True, slots=True)
class CallMoved(Fact):
    """The call left queue `source` for queue `to` (reason: a rule's
    closed/full/max-wait action, or "supervisor")."""

    kind: ClassVar[str] = "call.moved"
    call: str
    source: str
    to: str
    reason: str


@quick
@dataclass(frozen=True, slots=True)
class CallReprioritised(Fact):
    """A supervisor set the call's priority."""

    kind: ClassVar[str] = "call.priority"
    call: str
    queue: str
    priority: int


@quick
@dataclass(frozen=True, slots=True)
class CallOffered(Fact):
    """An agent is being rung with the call (offer number `offer`)."""

    kind: ClassVar[str] = "call.offered"
    PAYLOAD: ClassVar[tuple[str, ...]] = ("call", "queue", "agent", "offer")
    call: str
    queue: str
    agent: str
    offer: int


@quick
@dataclass(frozen=True, slots=True)
class CallRinging(Fact):
    """The PBX reports the agent's leg of the offer up and ringing."""

    kind: ClassVar[str] = "call.ringing"
    call: str
    agent: str


@quick
@dataclass(frozen=True, slots=True)
class OfferFailed(Fact):
    """The offer to `agent` failed (reason: no-answer, timeout, busy, ...);
    the call is back at its place in line."""

    kind: ClassVar[str] = "call.no_answer"
    call: str
    agent: str
    reason: str


@quick
@dataclass(frozen=True, slots=True)
class CallAnswered(Fact):
    """Outcome: the agent answered; `wait` from arrival to answer."""

    kind: ClassVar[str] = "call.answered"
    call: str
    queue: str
    agent: str
    wait: float


@quick
@dataclass(frozen=True, slots=True)
class CallAbandoned(Fact):
    """Outcome: the caller hung up before an answer."""

    kind: ClassVar[str] = "call.abandoned"
    call: str
    queue: str
    wait: float


@quick
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


@quick
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


@quick
@dataclass(frozen=True, slots=True)
class CallCompleted(Fact):
    """An answered call's conversation ended; its agent goes to wrap-up."""

    kind: ClassVar[str] = "call.ended"
    PAYLOAD: ClassVar[tuple[str, ...]] = ("call", "queue", "agent")
    call: str
    queue: str
    agent: str
    wrapup: float = 0.0  # the wrap-up that now starts, seconds


@quick
@dataclass(frozen=True, slots=True)
class CallRecorded(Fact):
    """The answered call is being recorded to `path` on the PBX (a queue
    with `record: true`; core/survey.py). Sent beside CallAnswered."""

    kind: ClassVar[str] = "call.recording"
    call: str
    queue: str
    agent: str
    path: str


@quick
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
