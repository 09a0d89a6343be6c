"""Facts of the service: an agent's state, and the service-level
enforcement's actions on queues and calls."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from router.core.facts.base import Fact
from router.core.quick import quick


@quick
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
@quick
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


@quick
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


@quick
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
