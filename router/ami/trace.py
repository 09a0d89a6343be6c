"""Reading the recorded AMI traces (`## <unix time> <<|>>` then the raw
message). Used by the replay tests and handy for debugging a capture."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from router.ami.framing import to_message

__all__ = ["Record", "read_trace", "received_stream", "to_message"]


@dataclass(frozen=True)
class Record:
    time: float
    sent: bool  # True: sent to Asterisk (>>); False: received (<<)
    raw: bytes  # the message as on the wire, CRLF line ends, blank line at the end


def read_trace(path: str | Path) -> list[Record]:
    records: list[Record] = []
    head: tuple[float, bool] | None = None
    lines: list[bytes] = []

    def flush() -> None:
        if head is not None and lines:
            body = b"\r\n".join(lines) + b"\r\n"
            if not body.startswith(b"Asterisk Call Manager/"):
                body += b"\r\n"
            records.append(Record(head[0], head[1], body))

    for line in Path(path).read_bytes().split(b"\n"):
        line = line.rstrip(b"\r")
        if line.startswith(b"## "):
            flush()
            _, stamp, direction = line.decode().split(" ", 2)
            head, lines = (float(stamp), direction.strip() == ">>"), []
        elif line:
            lines.append(line)
    flush()
    return records


def received_stream(records: list[Record]) -> bytes:
    """Everything Asterisk sent, as one byte stream."""
    return b"".join(r.raw for r in records if not r.sent)
