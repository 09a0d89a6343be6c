"""Reading the commands the core returns."""

from __future__ import annotations

from router.core.facts import Fact


def published(commands, kind: str) -> list[dict]:
    """The data of every Fact of `kind` among `commands`, in order."""
    return [dict(c.data) for c in commands if isinstance(c, Fact) and c.kind == kind]
