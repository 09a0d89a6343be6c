"""Commands: what the engine asks the outside world to do. Frozen dataclasses;
adapters carry them out (AMI for rings and actions, a scheduler for timers,
and the facts of router/core/facts/ go to every subscriber).
"""

from __future__ import annotations

from dataclasses import dataclass

from router.core.facts import Fact
from router.core.quick import quick
from router.core.table import Action


@quick
@dataclass(frozen=True)
class RingAgent:
    """Ring the agent's endpoint and, when answered, bridge it to the call.
    The PBX reports back with AgentOffered / AgentAnswered / AgentNoAnswer."""

    call_id: str
    agent_id: str
    endpoint: str
    timeout: float  # seconds
    queue: str
    caller_num: str = ""
    caller_name: str = ""
    dial: str = ""  # a callback: once the agent answers, dial this number
    survey: bool = False  # the caller goes on to the survey when the agent hangs up
    recording: str = ""  # record the bridge to this file ("": not recorded)


@quick
@dataclass(frozen=True)
class CancelRing:
    """Hang up the agent leg of this offer (the caller left, the agent paused,
    or the agent answered a call that is no longer theirs)."""

    call_id: str
    agent_id: str


@quick
@dataclass(frozen=True)
class StartTimer:
    """Deliver TimerFired(kind, ref) at time `at`. A timer with the same kind
    and ref replaces the earlier one."""

    kind: str
    ref: str
    at: float


@quick
@dataclass(frozen=True)
class CancelTimer:
    kind: str
    ref: str


@quick
@dataclass(frozen=True)
class RunAction:
    """Take the call out of routing this way (voicemail, callback, transfer,
    hangup). reason: closed, full or max-wait."""

    call_id: str
    action: Action
    reason: str
    queue: str


#: Published facts (router/core/facts/) travel with the commands; every
#: consumer subscribes to them by type (router/runtime/subscribers.py).
Command = RingAgent | CancelRing | StartTimer | CancelTimer | RunAction | Fact
