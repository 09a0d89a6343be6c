"""The rows of the call and agent records: the contract between the records
subscriber (which builds them from the core's published facts), the writer
(which stores them, SQLite or PostgreSQL) and `router report` (which reads
them back).

One dataclass per table; `TABLE` names it and the fields are its columns, in
order. Times are UNIX seconds (float, UTC). Each row that reports group by
time also carries `local_date` (YYYY-MM-DD) and `local_minute` (minutes
since local midnight, 0-1439) in the centre's time zone (that of the first
calendar, else UTC; the same zone as the service level's `today`), taken
when the row was built: a report buckets by 15/30/60 minutes, day, week or
month in SQL without converting time zones there.

Durations are seconds. Strings are UTF-8 (caller names are often Chinese).
Nothing here does I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

#: CallRow.outcome: every call gets exactly one. "callback" is an overflow by
#: a callback action (it counts as an overflow in the service level).
CALL_OUTCOMES = ("answered", "abandoned", "overflowed", "closed", "callback")
#: OfferRow.outcome. The unanswered ones are the reasons the core gives for a
#: failed offer (core AgentNoAnswer.reason, "timeout" for the ring guard);
#: "withdrawn" is an offer the router took back (caller hung up, moved,
#: agent paused or unreachable).
OFFER_OUTCOMES = ("answered", "no-answer", "timeout", "busy", "congestion", "failed", "withdrawn")
#: CallStepRow.kind: what happened to a call on its way, in time order.
STEP_KINDS = ("queued", "escalated", "moved", "priority")
#: AgentStateRow.state: the agent states (core AgentStatus values, with
#: "unreachable" split out of paused so that reports show it apart).
AGENT_STATES = ("available", "reserved", "on_call", "wrapup", "paused", "unreachable")


@dataclass(frozen=True, slots=True)
class CallRow:
    """One call (or one promised callback, `kind` "callback"), written once,
    when it is over: after the conversation and the agent's wrap-up for an
    answered call, at its outcome for any other."""

    TABLE: ClassVar[str] = "calls"

    call_id: str
    kind: str  # "inbound" or "callback"
    pbx: str
    dnis: str
    caller_num: str
    caller_name: str
    variables: str  # the IVR variables as a JSON object (UTF-8, in order)
    rule: str
    first_queue: str
    final_queue: str
    arrived_at: float
    local_date: str  # of arrived_at
    local_minute: int  # of arrived_at
    finished_at: float  # the outcome (answer, abandon, overflow, close)
    outcome: str  # CALL_OUTCOMES
    reason: str  # overflow/closed: closed, full, max-wait, risk...; else ""
    action: str  # the action that took the call out of routing, described; else ""
    wait: float  # arrived_at to finished_at (answered: to the answer)
    answered_by: str | None  # agent id
    team: str | None  # the answering agent's team
    answered_at: float | None
    ended_at: float | None  # the conversation ended
    talk: float | None  # answered_at to ended_at
    wrapup: float | None  # the agent's wrap-up after this call
    offers: int  # offers made (rings), the answered one included
    moves: int  # queue moves (by rules or supervisors)
    sl_threshold: float | None  # the final queue's `within` when it finished
    sl_counted: bool  # in the SL denominator (docs/SERVICE-LEVEL.md)
    sl_met: bool  # answered within sl_threshold
    short_abandon: bool  # abandoned before the queue's short_abandon
    callback_id: str | None  # the callback promised on this call
    origin_call_id: str | None  # kind "callback": the call it was promised on
    survey_score: int | None  # 1-5, from the satisfaction survey
    recording: str | None  # path of the MixMonitor file


@dataclass(frozen=True, slots=True)
class CallStepRow:
    """A call's way through routing: queued, escalated (step index), moved
    (from → to, reason), reprioritised."""

    TABLE: ClassVar[str] = "call_steps"

    call_id: str
    seq: int  # 1, 2, ... within the call
    at: float
    kind: str  # STEP_KINDS
    queue: str  # the queue it is in after this step
    detail: str  # escalated: step index and source; moved: "from->to reason"; priority: the value


@dataclass(frozen=True, slots=True)
class OfferRow:
    """One offer (one ring of one agent) of a call."""

    TABLE: ClassVar[str] = "offers"

    call_id: str
    seq: int  # 1, 2, ... within the call
    agent_id: str
    team: str
    queue: str
    rung_at: float
    ended_at: float  # answered, failed or withdrawn
    outcome: str  # OFFER_OUTCOMES


@dataclass(frozen=True, slots=True)
class CallbackRow:
    """A promised callback, linked to the call it was promised on; its own
    call (the dial-out) is a CallRow of kind "callback" with the same id."""

    TABLE: ClassVar[str] = "callbacks"

    callback_id: str
    origin_call_id: str
    queue: str
    number: str
    promised_at: float
    local_date: str  # of promised_at
    finished_at: float
    outcome: str  # "done" or "failed"
    reason: str  # failed: why (busy, no-answer, ...); else ""
    attempts: int
    agent_id: str | None  # the agent who placed the successful attempt


@dataclass(frozen=True, slots=True)
class AgentStateRow:
    """One interval of one agent in one state. Intervals are cut at every
    local quarter hour (00, 15, 30, 45), so that a report sums time per
    state per 15-minute bucket in SQL, and they tile each session exactly:
    per agent, the durations between login and logout add up to the
    logged-in time."""

    TABLE: ClassVar[str] = "agent_states"

    agent_id: str
    team: str
    state: str  # AGENT_STATES
    reason: str  # paused/unreachable: the reason; else ""
    call_id: str | None  # reserved/on_call/wrapup: the call
    started_at: float
    ended_at: float
    local_date: str  # of started_at
    local_minute: int  # of started_at
    duration: float  # ended_at - started_at
    #: paused/unreachable: when the pause was asked for, on every quarter
    #: piece of it; before the pause began when asked for mid-call (it
    #: waits for the call). None: another state, or records from before
    #: revision 0005. (The replay asks for the pause at this moment.)
    asked_at: float | None = None


@dataclass(frozen=True, slots=True)
class AgentSessionRow:
    """One login-to-logout session of an agent."""

    TABLE: ClassVar[str] = "agent_sessions"

    agent_id: str
    team: str
    login_at: float
    logout_at: float
    local_date: str  # of login_at
    duration: float
    #: When the logout was asked for: before logout_at when asked for
    #: mid-call (it waits for the call). None: not known (a session cut by
    #: a router stop, or records from before revision 0005).
    logout_asked_at: float | None = None


@dataclass(frozen=True, slots=True)
class SurveyRow:
    """A satisfaction score that came after its call was on record (later
    than records/survey.py SURVEY_WAIT after the conversation ended): the
    call row is written once, so the score is a row of its own, keyed by
    the call. Reports count it with the call (its bucket, agent, team) when
    the call row has no score of its own."""

    TABLE: ClassVar[str] = "surveys"

    call_id: str
    score: int  # 1-5
    scored_at: float


Row = CallRow | CallStepRow | OfferRow | CallbackRow | AgentStateRow | AgentSessionRow | SurveyRow
ROW_TYPES: tuple[type, ...] = (CallRow, CallStepRow, OfferRow, CallbackRow, AgentStateRow, AgentSessionRow,
                               SurveyRow)
