"""Events: what the engine is told. Frozen, so a recorded stream replays
exactly; adapters (AMI, MQTT, timers) translate the outside world into these.

Every event names its call and/or agent by id. An event that does not fit the
engine's state (an unknown call, an answer from an agent the call is not
ringing) is not an error: the engine answers it safely and carries on, because
real PBX traffic is full of late and duplicated messages.
"""

from __future__ import annotations

from dataclasses import dataclass

from router.core.quick import quick
from router.core.table import RoutingTable

#: AgentNoAnswer.reason values (from OriginateResponse's Reason on Asterisk).
NO_ANSWER_REASONS = ("no-answer", "busy", "congestion", "failed")


@quick
@dataclass(frozen=True, slots=True)
class CallWaiting:
    """The dialplan handed a call to the router; the caller is on hold."""

    call_id: str
    dnis: str = ""
    caller_num: str = ""
    caller_name: str = ""
    variables: tuple[tuple[str, str], ...] = ()  # IVR variables, in order
    pbx: str = ""
    waited: float = 0.0  # seconds the caller had already held (a call found by resync)


@quick
@dataclass(frozen=True)
class CallLeft:
    """The caller hung up before being answered (an abandon)."""

    call_id: str


@quick
@dataclass(frozen=True)
class AgentOffered:
    """The agent's phone is ringing with the call (the PBX confirmed it)."""

    call_id: str
    agent_id: str


@quick
@dataclass(frozen=True)
class AgentAnswered:
    """The agent answered and is being bridged to the caller."""

    call_id: str
    agent_id: str


@quick
@dataclass(frozen=True)
class AgentNoAnswer:
    """The offer failed: reason is one of NO_ANSWER_REASONS."""

    call_id: str
    agent_id: str
    reason: str = "no-answer"


@quick
@dataclass(frozen=True)
class CallEnded:
    """A leg of an answered call hung up. `agent_id` names the agent whose
    leg it was ("" for the call as a whole): only the leg of the agent the
    call is connected to ends it. The hang-up of a stale leg (an offer
    withdrawn, answered late and hung up by the router) ends nothing."""

    call_id: str
    agent_id: str = ""


@quick
@dataclass(frozen=True)
class AgentLogin:
    agent_id: str


@quick
@dataclass(frozen=True)
class AgentLogout:
    agent_id: str


@quick
@dataclass(frozen=True)
class AgentPause:
    agent_id: str
    reason: str = "break"


@quick
@dataclass(frozen=True)
class AgentUnpause:
    agent_id: str


@quick
@dataclass(frozen=True)
class AgentDevice:
    """The agent's phone is busy (in use, ringing) or free, whoever caused
    it: an agent on a personal call must not be offered a queue call."""

    agent_id: str
    busy: bool
    # The phone cannot be reached (Asterisk's UNAVAILABLE: a PJSIP phone not
    # registered; INVALID, UNKNOWN): the agent is paused "unreachable".
    unreachable: bool = False


@quick
@dataclass(frozen=True)
class PbxSnapshot:
    """What one PBX has right now, read from its listings after a (re)connect.
    The PBX is the truth: the engine reconciles its own view of that PBX's
    calls with this (calls gone are abandoned or ended, offers that never
    connected go back in line, calls and conversations it did not know are
    taken on)."""

    pbx: str
    waiting: tuple[CallWaiting, ...] = ()  # callers holding for the router, `waited` set
    connected: tuple[tuple[str, str], ...] = ()  # (call id, agent id) talking
    ringing: tuple[tuple[str, str], ...] = ()  # (call id, agent id) agent leg not yet answered
    devices: tuple[tuple[str, bool], ...] = ()  # (agent id, phone busy)
    # Agents (of `devices`) whose phone cannot be reached: AgentDevice.unreachable.
    unreachable: tuple[str, ...] = ()


@quick
@dataclass(frozen=True)
class CallMove:
    """A supervisor moves a call not yet answered to another queue. It keeps
    its place in line (arrival) and its rule's extra skills; escalation
    starts again in the new queue, whose closed/full checks do not apply (a
    person decided). A ringing offer is withdrawn first."""

    call_id: str
    queue: str


@quick
@dataclass(frozen=True)
class CallPriority:
    """A supervisor sets a call's priority (higher is served first). It
    sticks through config reloads, unlike a rule's priority."""

    call_id: str
    priority: int


@quick
@dataclass(frozen=True)
class CallbackPromised:
    """A callback the router owes: the engine places it (rings an agent,
    who then dials `number`) when the line reaches its place. Raised by the
    engine itself when a call leaves by a `callback` action; fed from the
    state file after a restart (`attempts` so far), so none is forgotten."""

    call_id: str  # the callback's own id ("cb-" + the call's)
    number: str
    queue: str
    priority: int
    arrived: float  # the caller's original arrival: the place in line
    attempts: int = 0
    caller_name: str = ""
    dnis: str = ""
    pbx: str = ""
    origin: str = ""  # the call it was promised on
    # The rule's extra skills (language...): the agent who calls back must
    # be one who could have served the call.
    skills: tuple[tuple[str, int], ...] = ()
    retry_at: float = 0.0  # a failed attempt's retry: parked until then


@quick
@dataclass(frozen=True)
class CallbackResult:
    """How the agent's dial to the customer ended (Asterisk's DIALSTATUS:
    ANSWER, NOANSWER, BUSY, CONGESTION, CHANUNAVAIL, CANCEL)."""

    call_id: str
    status: str


@quick
@dataclass(frozen=True)
class SurveyAnswered:
    """The caller of an ended call pressed a satisfaction score (1-5) in
    the survey the dialplan runs after the agent hangs up (core/survey.py)."""

    call_id: str
    score: int


@quick
@dataclass(frozen=True)
class RecordingStarted:
    """The agent leg of the call's offer started recording it (AMI
    `MixMonitorStart` on the leg the router originated). Only then does the
    call's record name a recording: a PBX without app_mixmonitor connects
    the call unrecorded (router-agent runs MixMonitor in TryExec)."""

    call_id: str
    agent_id: str


@quick
@dataclass(frozen=True)
class TimerFired:
    """A StartTimer came due. kind and ref are those of the StartTimer."""

    kind: str
    ref: str


@quick
@dataclass(frozen=True)
class ConfigReplaced:
    """A new, fully validated routing table is to be used from now on."""

    table: RoutingTable


@quick
@dataclass(frozen=True)
class OffersStopped:
    """The router stops gracefully: from now on no call is offered (no agent
    reserved, no RingAgent). Legs ringing already may still be answered;
    waiting callers stay in the dialplan, for its fallback or the next
    router's resync."""


Event = (
    CallWaiting | CallLeft | AgentOffered | AgentAnswered | AgentNoAnswer | CallEnded
    | AgentLogin | AgentLogout | AgentPause | AgentUnpause | AgentDevice | PbxSnapshot | TimerFired | ConfigReplaced
    | CallMove | CallPriority | SurveyAnswered | RecordingStarted | OffersStopped
)
