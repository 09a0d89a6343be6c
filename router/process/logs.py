"""Structured logs for `router run`: one line per event, on stderr.

    --log-format text   ts=2026-12-01T13:31:53.123Z level=info logger=router.ami msg="AMI pbx1: logged in"
    --log-format json   {"ts": "2026-12-01T13:31:53.123Z", "level": "info", "logger": "router.ami", "msg": "..."}

A traceback stays on the same line (as `exc=` / `"exc"`, newlines escaped),
so a log shipper never splits one event into several. Secrets never reach
a log record in the first place (the AMI secret is only in the Login
action, which is not logged); tests/test_secrets.py checks it.
"""

from __future__ import annotations

import json
import logging
import sys
import time
import unicodedata

FORMATS = ("text", "json")
#: Never raw in a human-readable line: controls (C0, DEL, C1), format
#: characters (bidi overrides, zero-width), line and paragraph separators.
#: A terminal acts on them, and splitlines() or a log viewer breaks a line
#: at U+2028 or U+0085: an agent's topic or a caller's name could fake one.
_UNSAFE_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp"})


def _unsafe(ch: str) -> bool:
    return unicodedata.category(ch) in _UNSAFE_CATEGORIES


def visible(text: str) -> str:
    """`text` with every unsafe character written as an escape (\\x1b,
    \\u2028): shown, not dropped, so the reader sees what came in."""
    if text.isprintable() or not any(_unsafe(ch) for ch in text):
        return text
    return "".join(ch.encode("unicode_escape").decode("ascii") if _unsafe(ch) else ch for ch in text)


def _json_text(value) -> str:
    """json.dumps keeping UTF-8 readable, with the unsafe characters json
    leaves raw (U+2028, U+0085, DEL, C1, bidi) as \\u escapes."""
    text = json.dumps(value, ensure_ascii=False)
    if text.isprintable():
        return text
    return "".join(json.dumps(ch)[1:-1] if _unsafe(ch) else ch for ch in text)


def _stamp(record: logging.LogRecord) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z"


def _quote(value: str) -> str:
    """A logfmt value: bare when safe, else double-quoted with escapes."""
    if value and all(c.isprintable() and c not in ' "=\\' for c in value):
        return value
    return _json_text(value)


class TextFormatter(logging.Formatter):
    """key=value (logfmt), one line per record."""

    def format(self, record: logging.LogRecord) -> str:
        parts = [f"ts={_stamp(record)}", f"level={record.levelname.lower()}",
                 f"logger={_quote(record.name)}", f"msg={_quote(record.getMessage())}"]
        if record.exc_info:
            parts.append(f"exc={_quote(self.formatException(record.exc_info))}")
        return " ".join(parts)


class JsonFormatter(logging.Formatter):
    """One JSON object per line; UTF-8 kept readable (caller names)."""

    def format(self, record: logging.LogRecord) -> str:
        data = {"ts": _stamp(record), "level": record.levelname.lower(), "logger": record.name,
                "msg": record.getMessage()}
        if record.exc_info:
            data["exc"] = self.formatException(record.exc_info)
        return _json_text(data)


def setup_logging(fmt: str = "text", level: str = "info", stream=None) -> logging.Handler:
    """Send the `router` loggers (and panoramisk's) to `stream` (stderr)."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    for name in ("router", "panoramisk"):
        logger = logging.getLogger(name)
        logger.handlers = [h for h in logger.handlers if not getattr(h, "_router_logs", False)]
        handler._router_logs = True  # type: ignore[attr-defined]
        logger.addHandler(handler)
        logger.setLevel(level.upper())
    return handler
