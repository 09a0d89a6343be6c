"""The AMI wire format, read and written the way Asterisk 22 does it.

Reading follows main/manager.c (get_input, do_message, astman_get_header):

- a line ends at "\\r\\n" or at a bare "\\n" (a lone "\\r" is *not* a line end,
  it stays inside the value);
- lines are collected until an empty line, which ends the message; an empty
  message still counts (Asterisk answers it "Missing action in request");
- a header is "Key: Value": the key is everything before the first ':'
  (case-insensitive when looked up), the value what follows with leading
  blanks and control characters skipped;
- a lookup takes the *first* header with that key; repeated headers (several
  `Variable:`) stay in order;
- a line over 1024 bytes spoils its message ("Failed to parse message: line
  too long") and more than 128 lines too ("Too many lines in message or
  allocation failure"); the connection stays open.

What Asterisk tolerates but a simulator has no reason to: a line over 64 KiB,
a NUL byte or bytes that are not UTF-8 raise `AbsurdInput`, and the server
closes that client (AMI is UTF-8 text; a peer sending binary is broken).

Writing: `Key: Value\\r\\n` per header, in the order given, and a blank line.
Values are written as they are, as Asterisk does (it never escapes).
"""

from __future__ import annotations

import re

MAX_LINE = 1024  # manager.c: inbuf[1025], line end included
MAX_HEADERS = 128  # AST_MAX_MANAGER_HEADERS
ABSURD_LINE = 64 * 1024  # the simulator's own limit: beyond it the client is cut

# ast_skip_blanks() skips every byte below 33, not only spaces and tabs.
_BLANKS = "".join(chr(c) for c in range(33))

Pairs = list[tuple[str, str]]


class AbsurdInput(Exception):
    """Input no AMI client would send; the server drops the connection."""


class Message:
    """One AMI message as received: headers in arrival order.

    `error` is set when the framing spoiled it (too long a line, too many
    lines); such a message is answered with that error and never executed.
    """

    __slots__ = ("headers", "error")

    def __init__(self, headers: list[tuple[str, str | None]] | None = None,
                 error: str | None = None) -> None:
        # (key, value); value None for a line without ':' (kept for the log)
        self.headers = headers or []
        self.error = error

    @classmethod
    def from_lines(cls, lines: list[str], error: str | None = None) -> Message:
        headers: list[tuple[str, str | None]] = []
        for line in lines:
            key, sep, value = line.partition(":")
            headers.append((key, value.lstrip(_BLANKS)) if sep else (line, None))
        return cls(headers, error)

    def get(self, key: str, *, skip_empty: bool = False) -> str:
        """The first value of `key` (case-insensitive), "" when absent, as
        astman_get_header; `skip_empty` as GET_HEADER_SKIP_EMPTY."""
        want = key.lower()
        for k, v in self.headers:
            if v is not None and k.lower() == want and (v or not skip_empty):
                return v
        return ""

    def get_all(self, key: str) -> list[str]:
        want = key.lower()
        return [v for k, v in self.headers if v is not None and k.lower() == want]

    def to_log(self, client: int) -> dict:
        """The message as a dict for `actions_log`: the first value of each
        key (as spelt by the sender), plus `_headers` (every (key, value)
        in order, value None for a line without ':'), `_client` and
        `_error`. A Login's Secret is masked, as in the recorded traces."""
        masked = [(k, "********" if v is not None and k.lower() == "secret" else v)
                  for k, v in self.headers]
        entry: dict = {}
        for k, v in masked:
            if v is not None and k not in entry:
                entry[k] = v
        entry["_headers"] = masked
        entry["_client"] = client
        entry["_error"] = self.error
        return entry


class Framer:
    """Turns the bytes of one connection into Messages (pure, no I/O)."""

    def __init__(self) -> None:
        self._buf = bytearray()
        self._lines: list[str] = []
        self._error: str | None = None

    def feed(self, data: bytes) -> list[Message]:
        self._buf += data
        out = []
        while True:
            end = self._buf.find(b"\n")
            if end < 0:
                if len(self._buf) > ABSURD_LINE:
                    raise AbsurdInput(f"a line of over {ABSURD_LINE} bytes")
                return out
            raw = bytes(self._buf[:end])
            del self._buf[:end + 1]
            # Asterisk's 1024-byte buffer must hold the line with its end.
            too_long = end + 1 > MAX_LINE
            if raw.endswith(b"\r"):
                raw = raw[:-1]
            if len(raw) > ABSURD_LINE:
                raise AbsurdInput(f"a line of over {ABSURD_LINE} bytes")
            if b"\x00" in raw:
                raise AbsurdInput("a NUL byte")
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise AbsurdInput("bytes that are not UTF-8") from exc
            if not line:
                out.append(Message.from_lines(self._lines, self._error))
                self._lines, self._error = [], None
            elif too_long:
                self._error = self._error or "Failed to parse message: line too long"
            elif len(self._lines) >= MAX_HEADERS:
                self._error = self._error or "Too many lines in message or allocation failure"
            else:
                self._lines.append(line)


def encode(pairs: Pairs) -> bytes:
    """One message on the wire, headers in the given order."""
    return ("".join(f"{k}: {v}\r\n" for k, v in pairs) + "\r\n").encode("utf-8")


def response(msg: Message, kind: str, message: str | None = None, *extra: tuple[str, str]) -> Pairs:
    """astman_send_response_full: Response, ActionID (when given), Message."""
    pairs = [("Response", kind)]
    action_id = msg.get("ActionID")
    if action_id:
        pairs.append(("ActionID", action_id))
    if message is not None:
        pairs.append(("Message", message))
    pairs.extend(extra)
    return pairs


def error(msg: Message, message: str) -> Pairs:
    return response(msg, "Error", message)


def list_ack(msg: Message, message: str) -> Pairs:
    """astman_send_listack: Response, ActionID, EventList: start, Message."""
    pairs = [("Response", "Success")]
    action_id = msg.get("ActionID")
    if action_id:
        pairs.append(("ActionID", action_id))
    return pairs + [("EventList", "start"), ("Message", message)]


def list_complete(msg: Message, event: str, items: int) -> Pairs:
    """astman_send_list_complete_start: Event, ActionID, EventList, ListItems."""
    pairs = [("Event", event)]
    action_id = msg.get("ActionID")
    if action_id:
        pairs.append(("ActionID", action_id))
    return pairs + [("EventList", "Complete"), ("ListItems", str(items))]


def parse_callerid(text: str) -> tuple[str, str]:
    """(name, number) from a CallerID value such as `"王五" <13800138000>`,
    after ast_callerid_parse and ast_shrink_phone_number: a bare value is
    the number when it looks like one, else the name."""
    text = text.strip()
    lt = text.rfind("<")
    gt = text.find(">", lt + 1) if lt >= 0 else -1
    if lt >= 0 and gt >= 0:
        name, number = text[:lt].strip(), text[lt + 1:gt]
    elif text and all(c.isdigit() or c in "+-(). *#" for c in text):
        name, number = "", text
    else:
        name, number = text, ""
    if len(name) >= 2 and name[0] == name[-1] == '"':
        name = name[1:-1]
    number = "".join(c for i, c in enumerate(number)
                     if c not in "()-. " and (c != "+" or i == 0))
    return name, number


# Header values as manager.c reads them (sscanf, ast_true, ast_false).
_INT = re.compile(r"\s*([+-]?\d+)")


def scan_int(text: str) -> int | None:
    """sscanf("%30d"): a leading integer, trailing text ignored."""
    m = _INT.match(text)
    return int(m.group(1)) if m else None


def ast_true(text: str) -> bool:
    return text.strip().lower() in ("yes", "true", "y", "t", "1", "on")


def ast_false(text: str) -> bool:
    return text.strip().lower() in ("no", "false", "n", "f", "0", "off")
