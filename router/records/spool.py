"""The writer's local spool: every row goes here (and is fsynced) before the
database, so that a killed router or a database that is down loses nothing.

Segments `NNNNNNNN.jsonl` in one directory, each line one row as
`["table", [values in column order]]` (UTF-8 JSON). One thread appends (the
spooler), another reads from the committed cursor and commits it once the
rows are in the database (the database thread); a lock guards the shared
bookkeeping. Committed segments are deleted; when the database has caught
up the current segment is started afresh, so the spool stays small while
the database keeps up. On start the segments a killed run left are read
again from their beginning (the inserts ignore rows already there).

Bounded: when the segments add up to more than `max_bytes`, the oldest one
is deleted and its unwritten rows are counted in `dropped` (and logged by
the writer): never silently.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

from router.records.schema import FIELDS, REQUIRED

log = logging.getLogger("router.records")

#: When the database has caught up and the current segment is at least this
#: big, it is replaced by an empty one (a restart then re-reads at most this).
RESTART_AT = 256 * 1024
#: Rows of the newest appends also kept in memory, so that the database
#: thread reads them back from the file only after it fell behind.
CACHE_ROWS = 20_000


@dataclass
class Segment:
    number: int
    path: Path
    size: int = 0  # bytes written (whole lines only)
    rows: int = 0


@dataclass
class Chunk:
    """Rows read from the spool for one database transaction."""

    by_table: dict[str, list[dict]]
    count: int
    end: tuple[int, int, int]  # cursor after it: (segment, offset, rows of that segment)
    corrupt: int = 0  # lines skipped: not a row this code can read
    cached: bool = field(default=False)


def encode(table: str, values: list) -> bytes:
    return json.dumps([table, values], ensure_ascii=False, separators=(",", ":")).encode("utf-8") + b"\n"


def decode(line: bytes) -> tuple[str, dict]:
    """(table, column dict) of one spool line; ValueError if it is not one."""
    table, values = json.loads(line)
    names = FIELDS[table]
    if not REQUIRED[table] <= len(values) <= len(names):
        raise ValueError(f"{table}: {len(values)} values for {len(names)} columns")
    # a row spooled by an older router lacks the columns added since (None)
    return table, dict(zip(names, [*values, *[None] * (len(names) - len(values))]))


class Spool:
    """Append-only JSON-lines segments under `directory`, at most `max_bytes`."""

    def __init__(self, directory: Path, max_bytes: int, segment_bytes: int | None = None) -> None:
        self.dir = Path(directory)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.max_bytes = max_bytes
        self.segment_bytes = segment_bytes or max(64 * 1024, min(64 * 1024 * 1024, max_bytes // 8))
        self.lock = threading.Lock()
        self.dropped = 0
        self.segments: dict[int, Segment] = {}
        for path in sorted(self.dir.glob("*.jsonl")):
            if path.stem.isdigit():
                self.segments[int(path.stem)] = self._recover(path)
        self.recovered_rows = sum(s.rows for s in self.segments.values())
        first = min(self.segments, default=1)
        self.cursor = (first, 0, 0)  # nothing of the old segments is known to be in the database
        self._cache: deque[tuple[tuple[int, int, int], tuple[int, int, int], list[tuple[str, dict]]]] = deque()
        self._cached_rows = 0
        self._open(max(self.segments, default=0) + 1)
        self._account()

    @staticmethod
    def _recover(path: Path) -> Segment:
        """A segment left by an earlier run; a line cut by a kill is cut off."""
        data = path.read_bytes()
        whole = data.rfind(b"\n") + 1
        if whole < len(data):
            log.warning("records spool %s: dropping %d bytes of a line cut short (the router was killed "
                        "while writing it)", path, len(data) - whole)
            with open(path, "r+b") as handle:
                handle.truncate(whole)
        return Segment(int(path.stem), path, whole, data.count(b"\n", 0, whole))

    def _open(self, number: int) -> None:
        path = self.dir / f"{number:08d}.jsonl"
        self.current = Segment(number, path)
        self.segments[number] = self.current
        self._file = None  # opened by the first append (a writer never started leaves no file open)

    # -- the spooler thread
    def append(self, rows: list[tuple[str, dict]], lines: list[bytes]) -> None:
        """Write `lines` (the encoded `rows`) at the end; OSError (disk
        full) leaves the spool as it was and the caller keeps the rows."""
        data = b"".join(lines)
        with self.lock:
            seg = self.current
            start = (seg.number, seg.size, seg.rows)
            if self._file is None:
                self._file = open(seg.path, "ab")
            try:
                self._file.write(data)
                self._file.flush()
            except OSError:
                self._file.truncate(seg.size)  # no half line for the next append to follow
                raise
            seg.size += len(data)
            seg.rows += len(lines)
            self._cache.append((start, (seg.number, seg.size, seg.rows), rows))
            self._cached_rows += len(rows)
            while self._cached_rows > CACHE_ROWS and len(self._cache) > 1:
                self._cached_rows -= len(self._cache.popleft()[2])
            if seg.size >= self.segment_bytes:
                os.fsync(self._file.fileno())  # sync() syncs only the current segment
                self._close_file()
                self._open(seg.number + 1)
            self._bound()
            self._account()

    def sync(self) -> None:
        """fsync the current segment (older ones were synced when closed)."""
        with self.lock:  # held: the database thread may replace the current segment
            if self._file is not None:
                self._file.flush()
                os.fsync(self._file.fileno())

    def _bound(self) -> None:
        while sum(s.size for s in self.segments.values()) > self.max_bytes and len(self.segments) > 1:
            oldest = self.segments.pop(min(self.segments))
            number, _offset, consumed = self.cursor
            # before the cursor: all in the database (read() moved past it);
            # at the cursor: what is not yet committed (rows the database
            # thread is writing just now count as lost: an over-count of
            # at most one transaction, never an under-count)
            lost = 0 if oldest.number < number else oldest.rows - consumed if oldest.number == number else oldest.rows
            self.dropped += lost
            log.error("records spool over its bound (%d bytes): deleted its oldest segment %s with %d rows "
                      "not yet in the database", self.max_bytes, oldest.path.name, lost)
            oldest.path.unlink(missing_ok=True)
            if number <= oldest.number:
                self.cursor = (min(self.segments), 0, 0)
            self._cache = deque(c for c in self._cache if c[0][0] in self.segments)
            self._cached_rows = sum(len(c[2]) for c in self._cache)

    # -- the database thread
    def read(self, max_rows: int) -> Chunk | None:
        """Up to `max_rows` rows after the cursor (None: none)."""
        with self.lock:
            number, offset, consumed = self.cursor
            if number not in self.segments:  # dropped by the bound
                number, offset, consumed = self.cursor = (min(self.segments), 0, 0)
            for start, end, rows in self._cache:
                if start == (number, offset, consumed) and len(rows) <= max_rows:
                    by_table: dict[str, list[dict]] = {}
                    for table, values in rows:
                        by_table.setdefault(table, []).append(values)
                    return Chunk(by_table, len(rows), end, cached=True)
            seg = self.segments[number]
            if offset >= seg.size:
                later = [n for n in self.segments if n > number]
                if not later:
                    return None
                number, offset, consumed = self.cursor = (min(later), 0, 0)
                seg = self.segments[number]
                if seg.size == 0:  # the current segment, nothing in it yet (its file is made by the first append)
                    return None
            size = seg.size
        try:
            with open(seg.path, "rb") as handle:  # outside the lock: the spooler only appends after `size`
                handle.seek(offset)
                data = handle.read(min(size - offset, 4 * 1024 * 1024))
        except FileNotFoundError:  # dropped by the bound meanwhile (counted there): the next read goes on
            return None
        data = data[:data.rfind(b"\n") + 1]
        by_table = {}
        count = corrupt = 0
        pos = 0
        while pos < len(data) and count + corrupt < max_rows:
            end = data.index(b"\n", pos) + 1
            try:
                table, values = decode(data[pos:end])
                by_table.setdefault(table, []).append(values)
                count += 1
            except (ValueError, KeyError, TypeError):
                corrupt += 1
            pos = end
        return Chunk(by_table, count, (number, offset + pos, consumed + count + corrupt), corrupt)

    def commit(self, end: tuple[int, int, int]) -> None:
        """The rows up to `end` are in the database: delete what is done."""
        with self.lock:
            number = end[0]
            if number not in self.segments:
                return  # dropped meanwhile (counted then)
            self.cursor = end
            for old in [n for n in self.segments if n < number]:
                self.segments.pop(old).path.unlink(missing_ok=True)
            seg = self.segments[number]
            if seg is self.current and end[1] >= seg.size and seg.size >= RESTART_AT:
                self._close_file()
                self.segments.pop(number).path.unlink(missing_ok=True)
                self._open(number + 1)
                self.cursor = (number + 1, 0, 0)
                self._cache.clear()
                self._cached_rows = 0
            self._account()

    def _account(self) -> None:
        """Refresh the totals that bytes() and pending() return (under the lock)."""
        number, _offset, consumed = self.cursor
        self._bytes = sum(s.size for s in self.segments.values())
        self._pending = sum(s.rows for n, s in self.segments.items() if n >= number) - consumed

    # -- read by anyone, without the lock (a scrape in the event loop must not wait for an fsync)
    def bytes(self) -> int:
        """Bytes of the segments on disk."""
        return self._bytes

    def pending(self) -> int:
        """Rows in the spool not yet known to be in the database."""
        return self._pending

    def _close_file(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def close(self) -> None:
        with self.lock:
            self._close_file()
