"""Strict parsers for the value types of docs/RULES.md.

Each parser takes the text exactly as the admin typed it (never a value
YAML guessed) and returns the typed value, or raises ValueError whose
message quotes the bad text and says what to write instead. Keeping them
pure text -> value functions makes the accepted forms easy to test.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal, InvalidOperation

from router.config.errors import is_control, quote

MAX_DURATION = 24 * 3600  # a day: longer is surely a typo in a call router

_DURATION = re.compile(r"(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?")
_UNIT_WORDS = [  # what admins write instead of h/m/s, for the hint
    (r"(?:hours?|hrs?)", "h"),
    (r"(?:minutes?|mins?)", "m"),
    (r"(?:seconds?|secs?)", "s"),
]
_OFF_WORDS = {"off", "no", "false", "none", "never", "n"}


def _compact(seconds: int) -> str:
    """90 -> "1m30s": the canonical spelling of a duration."""
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    text = (f"{h}h" if h else "") + (f"{m}m" if m else "") + (f"{s}s" if s else "")
    return text or "0s"


def _duration_seconds(text: str) -> int | None:
    if text.isdigit():
        return int(text)
    found = _DURATION.fullmatch(text)
    if not found or not any(found.groups()):
        return None
    h, m, s = (int(g) if g else 0 for g in found.groups())
    return h * 3600 + m * 60 + s


def parse_duration(text: str) -> float:
    """`20`, `20s`, `2m`, `1m30s`, `1h` -> seconds (float)."""
    seconds = _duration_seconds(text)
    if seconds is not None:
        if seconds > MAX_DURATION:
            raise ValueError(f"{quote(text)} is too long; a duration is at most 24h")
        return float(seconds)
    bad = f"{quote(text)} is not a duration"
    if text.strip().startswith("-"):
        raise ValueError(f"{bad}; it cannot be negative")
    clock = re.fullmatch(r"(\d+):(\d\d)(?::(\d\d))?", text)
    if clock:  # 1:30 (m:ss) or 1:30:00 (h:mm:ss), the YAML 1.1 sexagesimal trap
        parts = [int(p) for p in clock.groups() if p is not None]
        total = parts[0] * 60 + parts[1] if len(parts) == 2 else parts[0] * 3600 + parts[1] * 60 + parts[2]
        both = f"{total}s" if _compact(total) == f"{total}s" else f"{total}s or {_compact(total)}"
        raise ValueError(f"{bad}; write {both}")
    if "." in text or "," in text:
        raise ValueError(f"{bad}; use whole numbers, e.g. 1m30s rather than 1.5m")
    spelled = text.lower()
    for words, unit in _UNIT_WORDS:
        spelled = re.sub(rf"(\d)\s*{words}\b", rf"\1{unit}", spelled)
    spelled = re.sub(r"\s+", "", spelled)
    fixed = _duration_seconds(spelled)
    if fixed is not None:
        raise ValueError(f"{bad}; write {spelled}")
    raise ValueError(f"{bad}; write seconds like 20 or 20s, or 2m, 1m30s, 1h")


def parse_percent(text: str) -> float:
    """`80%` or `80` -> 80.0; 0 < p <= 100. A bare fraction such as 0.8 is
    refused rather than guessed: it is far more likely to mean 80%."""
    body, sign = (text[:-1], True) if text.endswith("%") else (text, False)
    if not re.fullmatch(r"\d+(?:\.\d+)?", body):
        raise ValueError(f"{quote(text)} is not a percent; write e.g. 80%")
    try:
        value = Decimal(body)
    except InvalidOperation:  # pragma: no cover - the regex already ensures it
        raise ValueError(f"{quote(text)} is not a percent; write e.g. 80%") from None
    if not sign and "." in body and value <= 1:
        hint = f"{(value * 100).normalize():f}%"
        raise ValueError(f"{quote(text)} is not a percent; write {hint} for {hint[:-1]} percent")
    if not 0 < value <= 100:
        raise ValueError(f"{quote(text)} is out of range; a percent must be more than 0 and at most 100")
    return float(value)


def parse_boolean(text: str) -> bool:
    """`true` or `false` only: YAML 1.1's yes/no/on/off are refused, since
    an admin who writes `on` may mean a name as easily as a switch."""
    if text in ("true", "false"):
        return text == "true"
    raise ValueError(f"{quote(text)} is not true or false; write true or false")


def parse_points(text: str) -> float:
    """Percentage points, 0-100: `5%` or `5`."""
    body = text[:-1] if text.endswith("%") else text
    if not re.fullmatch(r"\d+(?:\.\d+)?", body) or not 0 <= float(body) <= 100:
        raise ValueError(f"{quote(text)} is not percentage points from 0% to 100%; write e.g. 5%")
    return float(body)


def _whole(text: str, what: str, low: int, high: int, off_hint: bool = False) -> int:
    span = f"a whole number from {low} to {high}"
    if not re.fullmatch(r"[+-]?\d+", text):
        if off_hint and low == 0 and text.lower() in _OFF_WORDS:
            raise ValueError(f"{quote(text)} is not {what}; write 0 to turn this off, or {span}")
        raise ValueError(f"{quote(text)} is not {what}; write {span}")
    value = int(text)
    if not low <= value <= high:
        rule = f"write {span}" if what == "a whole number" else f"{what} is {span}"
        raise ValueError(f"{quote(text)} is out of range; {rule}")
    return value


def parse_level(text: str) -> int:
    """A skill level: whole number 1-10."""
    return _whole(text, "a level", 1, 10)


def parse_priority(text: str) -> int:
    """A call priority: whole number 0-100, higher is served first."""
    return _whole(text, "a priority", 0, 100)


def count_parser(low: int, high: int):
    """A parser for a whole number in [low, high] (`max_no_answer`,
    `max_waiting`)."""

    def parse_count(text: str) -> int:
        return _whole(text, "a whole number", low, high, off_hint=True)

    return parse_count


_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
NAME_RULE = "use only letters, digits, '_', '-' and '.'"


def parse_name(text: str) -> str:
    """A name (skill, team, queue, agent id, ...): ASCII letters, digits,
    `_`, `-`, `.`, starting with a letter or digit, at most 64 characters.
    ASCII only, because names end up in AMI variables and metric labels;
    other text belongs in a title."""
    if not text:
        raise ValueError("a name cannot be empty")
    if _NAME.fullmatch(text):
        if len(text) > 64:
            raise ValueError(f"{quote(text)} is too long for a name ({len(text)} characters; at most 64)")
        return text
    bad = f"{quote(text)} is not a valid name"
    if any(c.isspace() for c in text):
        raise ValueError(f"{bad}; {NAME_RULE} (no spaces)")
    if any(ord(c) > 127 for c in text):
        raise ValueError(f"{bad}; {NAME_RULE} (other text belongs in a title or description)")
    if not text[0].isalnum():
        raise ValueError(f"{bad}; a name must start with a letter or digit")
    raise ValueError(f"{bad}; {NAME_RULE}")


def parse_time(text: str) -> int:
    """A time of day `HH:MM` (00:00-24:00) -> minutes since midnight."""
    found = re.fullmatch(r"(\d\d):(\d\d)", text)
    if not found:
        bad = f"{quote(text)} is not a time of day; write HH:MM (24-hour)"
        loose = re.fullmatch(r"(\d{1,2})(?::(\d\d))?\s*([ap]m)?", text.strip().lower())
        if loose:
            hour, minute = int(loose.group(1)), int(loose.group(2) or 0)
            if loose.group(3) == "pm" and hour < 12:
                hour += 12
            elif loose.group(3) == "am" and hour == 12:
                hour = 0
            if hour < 24 and minute < 60:
                raise ValueError(f"{bad}, e.g. {hour:02d}:{minute:02d}")
        raise ValueError(f"{bad}, e.g. 09:00")
    hour, minute = int(found.group(1)), int(found.group(2))
    if minute > 59 or hour > 24 or (hour == 24 and minute):
        raise ValueError(f"{quote(text)} is out of range; a time of day is 00:00 to 24:00")
    return hour * 60 + minute


def parse_period(text: str) -> tuple[int, int]:
    """Opening hours `HH:MM-HH:MM` -> (open, close) in minutes, close > open."""
    halves = text.split("-")
    if len(halves) != 2:
        raise ValueError(f"{quote(text)} is not a period; write HH:MM-HH:MM, e.g. 08:30-20:00")
    try:
        start, end = parse_time(halves[0].strip()), parse_time(halves[1].strip())
    except ValueError as exc:
        raise ValueError(f"{quote(text)} is not a period: {exc}") from None
    if end <= start:
        raise ValueError(f"{quote(text)} does not end after it starts; "
                         "split overnight hours over two days (e.g. 22:00-24:00 and 00:00-06:00)")
    return start, end


def parse_date(text: str) -> date:
    """A date `YYYY-MM-DD`."""
    found = re.fullmatch(r"(\d{4})-(\d\d)-(\d\d)", text)
    if not found:
        other = re.fullmatch(r"(\d{4})[/.](\d{1,2})[/.](\d{1,2})", text)
        example = f"{other[1]}-{int(other[2]):02d}-{int(other[3]):02d}" if other else "2026-10-01"
        raise ValueError(f"{quote(text)} is not a date; write YYYY-MM-DD, e.g. {example}")
    try:
        return date(int(found[1]), int(found[2]), int(found[3]))
    except ValueError:
        raise ValueError(f"{quote(text)} is not a real date") from None


def parse_text(text: str) -> str:
    """Free text on one line; UTF-8 welcome, control characters refused
    (text may end up in an AMI header, where CR/LF would inject lines)."""
    for ch in text:
        if is_control(ch):
            raise ValueError(f"{quote(text)} contains a control character ({quote(ch)[1:-1]}); "
                             "write it on one line without control characters")
    return text


def parse_required_text(text: str) -> str:
    """Like parse_text, but must not be empty (mailbox, transfer number)."""
    if not text.strip():
        raise ValueError("this cannot be empty")
    return parse_text(text)


#: voicemail.conf section names that app_voicemail reads as settings, never
#: as a mailbox context: a mailbox `8900@general` can never be defined.
RESERVED_VOICEMAIL_CONTEXTS = ("general", "zonemessages")
_MAILBOX = re.compile(r"[^\s@,;|&]+(@[^\s@,;|&]+)?")


def parse_mailbox(text: str) -> str:
    """A voicemail box, `BOX` or `BOX@CONTEXT`, as VoiceMail() takes it."""
    parse_required_text(text)
    if not _MAILBOX.fullmatch(text):
        raise ValueError(f"{quote(text)} is not a mailbox; write BOX@CONTEXT, e.g. 8000@sales "
                         "(no spaces, ',', ';', '|' or '&')")
    box, _, context = text.partition("@")
    if context.lower() in RESERVED_VOICEMAIL_CONTEXTS:
        raise ValueError(f"{quote(text)}: [{context}] in voicemail.conf holds app_voicemail's settings, "
                         f"not mailboxes, so this mailbox cannot exist; use another context, e.g. {box}@default")
    return text


_ENDPOINT = re.compile(r"[A-Za-z][A-Za-z0-9_]*/[^\s,;|]+")


def parse_endpoint(text: str) -> str:
    """What the router rings: TECH/resource, e.g. `PJSIP/1001`."""
    parse_text(text)
    if not _ENDPOINT.fullmatch(text):
        raise ValueError(f"{quote(text)} is not an endpoint; write TECH/resource, e.g. PJSIP/1001 "
                         "(no spaces, ',', ';' or '|')")
    return text


_DIRECTORY = re.compile(r"(/[A-Za-z0-9._+-]+)+/?")


def parse_directory(text: str) -> str:
    """An absolute directory the PBX writes to (`recordings_dir`): only
    letters, digits and `._+-` between slashes, so the path goes into a
    dialplan argument (MixMonitor) without quoting; no `..` step."""
    parse_text(text)
    if not _DIRECTORY.fullmatch(text) or ".." in text.split("/"):
        raise ValueError(f"{quote(text)} is not an absolute directory; write e.g. /var/spool/asterisk/monitor/router "
                         "(letters, digits, '.', '_', '+' and '-' between slashes; no '..')")
    return text.rstrip("/")


DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _day(word: str, whole: str) -> int:
    key = word.strip().lower()
    if key in DAYS:
        return DAYS.index(key)
    bad = f"{quote(word)} is not a day" if word == whole else f"{quote(whole)}: {quote(word)} is not a day"
    if key[:3] in DAYS:  # "monday", "Tues"
        raise ValueError(f"{bad}; write {key[:3]}")
    raise ValueError(f"{bad}; write mon, tue, wed, thu, fri, sat or sun")


def parse_days(text: str) -> list[int]:
    """Weekdays (0 = Monday): `mon`, a range `mon-fri` (may wrap:
    `sun-thu`), or a comma list of those, `sat,sun`."""
    days: list[int] = []
    for item in text.split(","):
        ends = item.split("-")
        if len(ends) > 2:
            raise ValueError(f"{quote(text)} is not a day range; write e.g. mon-fri")
        first = _day(ends[0], text)
        last = _day(ends[-1], text)
        span = (last - first) % 7
        days.extend((first + step) % 7 for step in range(span + 1))
    return days
