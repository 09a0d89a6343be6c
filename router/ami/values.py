"""What goes into and comes out of AMI header values, as text: the
control characters kept off the wire, the dialplan's variable lists, the
caller id's "<unknown>", a device state's meaning. Pure functions."""

from __future__ import annotations

from typing import Any

MAX_VALUE = 256
MAX_VARS = 32
#: DeviceStateChange states that mean the phone is in use.
BUSY_STATES = {"INUSE", "BUSY", "RINGING", "RINGINUSE", "ONHOLD"}
#: States that mean the phone cannot be reached: UNAVAILABLE (a PJSIP
#: endpoint with no registered contact), INVALID, UNKNOWN.
UNREACHABLE_STATES = {"UNAVAILABLE", "INVALID", "UNKNOWN"}

#: Never in a header value: C0 and C1 controls, DEL, and the Unicode line and
#: paragraph separators (Python's splitlines() and some log viewers break there).
_UNSAFE = dict.fromkeys((*range(32), *range(0x7f, 0xa0), 0x2028, 0x2029))  # for str.translate: drop


def device_flags(state: str) -> tuple[bool, bool]:
    """(busy, unreachable) for a device state as Asterisk names it."""
    state = state.upper()
    return state in BUSY_STATES, state in UNREACHABLE_STATES


def clean(value: Any, limit: int = MAX_VALUE) -> str:
    """Text safe to put in an AMI header value: control characters and line
    separators dropped, length bounded."""
    text = "" if value is None else str(value)
    return text.translate(_UNSAFE)[:limit]


def parse_vars(text: str) -> tuple[tuple[str, str], ...]:
    """`menu=3&lang=yue` -> (("menu", "3"), ("lang", "yue"))."""
    out = []
    for item in text.split("&"):
        key, sep, value = item.partition("=")
        if sep and key.strip():
            out.append((key.strip(), value.strip()))
    return tuple(out[:MAX_VARS])


def caller_id(value: str) -> str:
    """A CallerIDNum/CallerIDName header's text: "" for Asterisk's "<unknown>"."""
    return "" if value == "<unknown>" else value
