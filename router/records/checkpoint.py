"""The assembler's open state on disk, so that a killed router's calls in
flight get complete records after the restart (assemble.py rule 6).

    cp = Checkpoint(spool_dir / "open.journal")
    items, saved_at = cp.load()          # before start: the last run's state
    cp.start()
    cp.submit(assembler.changes(), now)  # from the loop: a deque append, no I/O
    cp.stop()

A journal of JSON lines `[key, state]` (state null: gone) and `["@",
saved_at]`, appended and fsynced every INTERVAL seconds by a thread of its
own, never by the caller (nor by start or stop: the first compacted write
and the last drain are the thread's). Under `router run` all of this runs
in the records process (recordsproc.py), not the router's. The writer keeps the latest state per
key and, when the journal holds several times more lines than live keys,
rewrites it compacted (a new file, fsynced, renamed over the old one): the
file stays proportional to the calls and agents open, not to the traffic.
A line cut by a kill is ignored on load.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections import deque
from pathlib import Path

log = logging.getLogger("router.records")

#: Seconds between two appends (and fsyncs) of the journal.
INTERVAL = 0.2
#: Compact when the journal has this many lines more than live keys, times 3.
SLACK = 2000


class Checkpoint:
    """The open state's journal (one writer thread)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._queue: deque = deque()
        self._live: dict[str, list] = {}
        self._lines = 0
        self._saved_at = 0.0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._file = None
        self.errors = 0
        self.last_error = ""

    def load(self) -> tuple[dict[str, list], float | None]:
        """The state the last run left: key -> state, and when it was saved
        (None: no checkpoint)."""
        live: dict[str, list] = {}
        saved_at = None
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return live, None
        for line in data.split(b"\n"):
            if not line:
                continue
            try:
                key, value = json.loads(line)
            except (ValueError, TypeError):  # a line cut by a kill (the last one)
                log.warning("records checkpoint %s: ignoring a line cut short", self.path)
                continue
            if key == "@":
                saved_at = value
            elif value is None:
                live.pop(key, None)
            else:
                live[key] = value
        self._live, self._saved_at = dict(live), saved_at or 0.0
        return live, saved_at

    def submit(self, changes: dict[str, list | None], now: float) -> None:
        """Queue `changes` (assembler.changes()) as of `now`; never blocks."""
        self._queue.append((changes, now))

    def start(self) -> None:
        """Start the thread; its first write is the state just loaded (or
        nothing), compacted: on the thread, as every fsync of the journal."""
        self._thread = threading.Thread(target=self._run, name="records-checkpoint", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """The thread writes what was submitted before the stop, closes the
        journal and ends; waits `timeout` seconds at most for it."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():  # a disk that hangs: the last submits may be lost, say so
                log.error("records checkpoint %s: not written within %.0fs of the stop", self.path, timeout)
            self._thread = None

    # -- the thread
    def _run(self) -> None:
        delay = 0.0  # the compacted rewrite of the loaded state comes first
        rewrite = True
        while True:
            stopping = self._stop.wait(delay)
            delay = INTERVAL
            rewrite = not self.write_round(rewrite)  # after a failure: a whole new file
            if stopping:
                break
        self.close_file()

    def write_round(self, rewrite: bool = False) -> bool:
        """Append what was submitted (compacted `rewrite` first, or when
        the journal grew too long) and fsync; False (logged, counted) when
        it failed."""
        try:
            if rewrite:
                self._rewrite()
            self._drain()
            return True
        except Exception as err:  # noqa: BLE001 (never die: log, count, retry next round)
            self.errors += 1
            self.last_error = str(err)
            log.exception("records checkpoint %s: write failed (retried)", self.path)
            return False

    def close_file(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def _fold(self, changes: dict, now: float) -> None:
        for key, value in changes.items():
            if value is None:
                self._live.pop(key, None)
            else:
                self._live[key] = value
        self._saved_at = now

    def _drain(self) -> None:
        lines = []
        while self._queue:
            changes, now = self._queue.popleft()
            self._fold(changes, now)
            for key, value in changes.items():
                lines.append(json.dumps([key, value], ensure_ascii=False, separators=(",", ":")))
            lines.append(json.dumps(["@", now]))
        if not lines:
            return
        if self._file is None or self._lines + len(lines) > 3 * len(self._live) + SLACK:
            return self._rewrite()
        self._file.write(("\n".join(lines) + "\n").encode())
        self._file.flush()
        os.fsync(self._file.fileno())
        self._lines += len(lines)

    def _rewrite(self) -> None:
        tmp = self.path.with_suffix(".tmp")
        with open(tmp, "wb") as handle:
            for key, value in self._live.items():
                handle.write(json.dumps([key, value], ensure_ascii=False, separators=(",", ":")).encode() + b"\n")
            handle.write(json.dumps(["@", self._saved_at]).encode() + b"\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, self.path)
        dir_fd = os.open(self.path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
        if self._file is not None:
            self._file.close()
        self._file = open(self.path, "ab")
        self._lines = len(self._live) + 1
