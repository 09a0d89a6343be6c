"""Facts of the router itself: an input it could not apply, the audit of a
control command, and a PBX's state rebuilt."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from router.core.facts.base import Fact
from router.core.quick import quick


@quick
@dataclass(frozen=True, slots=True)
class EventIgnored(Fact):
    """An input the engine could not apply (unknown call, stale offer...)."""

    kind: ClassVar[str] = "router.ignored"
    event: str
    why: str


@quick
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


@quick
@dataclass(frozen=True, slots=True)
class PbxResynced(Fact):
    """The engine has applied a PBX's snapshot (after every (re)connect):
    every call it shows has had its facts. A consumer holding a call of
    that PBX that no fact mentioned since its own restart now knows the
    call ended while nobody watched (records: router/records/resume.py)."""

    kind: ClassVar[str] = "router.resynced"
    pbx: str
