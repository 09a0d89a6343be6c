"""Reading the commands the core returns."""

from __future__ import annotations

from router.core.commands import Publish


def published(commands, kind: str) -> list[dict]:
    """The data of every Publish of `kind` among `commands`, in order."""
    return [dict(c.data) for c in commands if isinstance(c, Publish) and c.kind == kind]
