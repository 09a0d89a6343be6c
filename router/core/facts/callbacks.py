"""Facts of a promised callback: queued, placed, retrying, done, failed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from router.core.facts.base import Fact
from router.core.quick import quick


@quick
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


@quick
@dataclass(frozen=True, slots=True)
class CallbackPlaced(Fact):
    """The agent answered a callback; the dialplan now dials the customer."""

    kind: ClassVar[str] = "callback.placed"
    call: str
    queue: str
    agent: str
    attempt: int
    number: str


@quick
@dataclass(frozen=True, slots=True)
class CallbackRetrying(Fact):
    """An attempt failed; the callback is parked until `retry_at`."""

    kind: ClassVar[str] = "callback.retry"
    call: str
    queue: str
    reason: str
    attempts: int
    retry_at: float


@quick
@dataclass(frozen=True, slots=True)
class CallbackDone(Fact):
    """The customer was reached."""

    kind: ClassVar[str] = "callback.done"
    call: str
    queue: str
    agent: str
    attempts: int
    result: str


@quick
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
