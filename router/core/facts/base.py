"""The base of every fact: its kind, its payload fields and `data`."""

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
