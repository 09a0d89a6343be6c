"""The engine's own records of calls and agents.

These are mutable and private to the engine (events and commands are the
frozen, public surface). Read them through `Engine.calls` / `Engine.agents`
for explain, metrics and tests; never change them from outside.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from router.core.events import CallWaiting
from router.core.table import Rule, Step


class AgentStatus(str, Enum):
    LOGGED_OUT = "logged_out"
    AVAILABLE = "available"
    RESERVED = "reserved"  # ringing with an offer
    ON_CALL = "on_call"
    WRAPUP = "wrapup"
    PAUSED = "paused"


class CallStatus(str, Enum):
    """Where a call in routing is; it changes only as calls.py's TRANSITIONS allow."""

    WAITING = "waiting"
    RINGING = "ringing"
    CONNECTED = "connected"


#: The outcomes of a call never answered (call.<outcome>, its last event).
UNANSWERED = ("abandoned", "overflowed", "closed")
#: The outcomes that end a call's time in routing; each call gets exactly one.
OUTCOMES = ("answered", *UNANSWERED)
#: The call.<kind> events after which the call is gone: an unanswered
#: outcome, or call.ended for an answered call.
FINISHED = (*UNANSWERED, "ended")


@dataclass(slots=True)
class CallRec:
    id: str
    info: CallWaiting
    rule: Rule
    queue: str
    priority: int
    arrived: float  # when the router got the call: its place in line
    entered: float  # when it entered its current queue: the escalation clock
    seq: int  # arrival counter: the last tie-break of the order
    steps: tuple[Step, ...]
    step: int = 0
    early: int = 0  # step taken early by enforcement (enforce.py rule 2); time brings the rest
    status: CallStatus = CallStatus.WAITING
    agent: str | None = None  # ringing or connected agent
    offers: int = 0
    ring_until: float = 0.0  # when the current offer's ring guard is due
    hops: int = 0  # queue-to-queue moves, a guard against loops
    line_key: tuple[float, float, int] = (0.0, 0.0, 0)  # set by the engine on entering the line
    answered_at: float | None = None  # when an agent answered (for handle time)
    pinned_priority: int | None = None  # set by a supervisor; survives reloads
    moved: bool = False  # put in its queue by a supervisor; survives reloads
    callback: bool = False  # a promised callback (callbacks.py), not a caller on hold
    attempts: int = 0  # callbacks: dials to the customer that failed so far
    result: str = ""  # callbacks: DIALSTATUS of the current attempt
    queued: bool = False  # has waited in an open queue (else "closed" means it arrived while closed)
    survey: bool = False  # its last offer asked for the survey (survey.py)
    recording: str = ""  # its last offer's recording file (survey.py)
    recording_started: bool = False  # the PBX said that offer's recording started (survey.py)
    in_line: bool = False  # in the engine's line (waiting or ringing)
    filed: tuple | None = None  # (dispatch group, line_key) it is filed under (dispatch.py)

    @property
    def order(self) -> tuple[float, float, int]:
        """Sort key of the line (lower is served first): see enforce.py."""
        return self.line_key


@dataclass(slots=True)
class AgentRec:
    id: str
    status: AgentStatus = AgentStatus.LOGGED_OUT
    reason: str = ""  # pause reason
    idle_since: float = 0.0
    calls_taken: int = 0
    misses: int = 0  # consecutive missed offers
    call: str | None = None
    rest_until: float = 0.0  # end of wrap-up / rest
    device_busy: bool = False  # the phone is in use (maybe not by us)
    unreachable: bool = False  # the phone cannot be reached (not registered): offered nothing
    # What to do when the current call or wrap-up ends (a pause or logout
    # asked for mid-call): (status, reason) or None.
    pending: tuple[AgentStatus, str] | None = field(default=None)
