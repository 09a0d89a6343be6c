"""The envelope of every MQTT payload: UTF-8 JSON with `v` (SCHEMA_VERSION),
`event` and `at` (ISO 8601 time with offset, from the router's clock). Names
travel as they are (王芳, not \\u738b\\u82b3)."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any, Mapping

SCHEMA_VERSION = 1


def iso(now: float) -> str:
    return datetime.fromtimestamp(now, timezone.utc).isoformat(timespec="milliseconds")


def payload(event: str, now: float, data: Mapping[str, Any]) -> bytes:
    body = {"v": SCHEMA_VERSION, "event": event, "at": iso(now)}
    body.update(data)
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
