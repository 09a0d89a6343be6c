"""What the router's process sees of the records process (recordsproc.py):
its writer and its retention, read from the child's last status (sent
every 0.1 s), as the metrics (metrics.py), `flush` and the tests read an
in-process RecordWriter and Retention."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from router.records.recordsproc import RecordsProcess


class WriterView:
    """The child's RecordWriter as the metrics and the callers see it:
    backlog, counters and `flush`, from its last status."""

    def __init__(self, records: RecordsProcess) -> None:
        self.records = records
        self.spool = self  # spool.bytes()
        self.upkeep = _Upkeep(records) if records.settings.prune else None

    def _get(self, key, default=0):
        return self.records.status.get(key, default)

    def backlog(self) -> int:
        """Rows not yet in the database (batches not yet assembled: not counted)."""
        return self._get("backlog")

    def bytes(self) -> int:
        return self._get("spool_bytes")

    @property
    def written(self) -> dict[str, int]:
        return self._get("written", {})

    @property
    def failures(self) -> int:
        return self._get("failures")

    @property
    def dropped(self) -> int:
        return self._get("dropped")

    @property
    def last_success(self) -> float | None:
        return self._get("last_success", None)

    @property
    def process_restarts(self) -> int:
        return type(self.records).restarts

    def health(self) -> dict:
        return dict(self._get("health", {}))

    def flush(self, timeout: float) -> bool:
        """Wait until every fact published before the last tick is assembled
        and its rows are in the database; False if not within `timeout`."""
        deadline = time.monotonic() + timeout
        seq = self.records._seq
        while not (self.records.status.get("seq", -1) >= seq and self.backlog() == 0):
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.01)
        return True


class _Upkeep:
    """The child's Retention, as far as a caller reads it."""

    def __init__(self, records: RecordsProcess) -> None:
        self.records = records

    @property
    def pruned(self) -> int:
        return self.records.status.get("pruned", 0)

    @property
    def keep_days(self) -> int | None:
        """The retention in force in the child (None before its first status)."""
        return self.records.status.get("keep_days")

    @property
    def next_at(self) -> float:
        """When the child's next prune is due (wall-clock time)."""
        return self.records.status.get("next_at", float("-inf"))
