"""Facts by kind and payload, for tests that check what the router publishes
as its consumers see it (the MQTT payload): `Published(kind, data)` is equal
to any fact of router/core/facts/ with that kind and exactly that data."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from router.core.facts import Fact


@dataclass(frozen=True, eq=False)
class Published:
    kind: str
    data: Mapping[str, Any] = field(default_factory=dict)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, (Fact, Published)):
            return other.kind == self.kind and dict(other.data) == dict(self.data)
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self.kind)
