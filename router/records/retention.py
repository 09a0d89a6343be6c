"""Retention: the running router deletes records older than `keep_days`,
once a day, on the writer's database thread (never the event loop).

    retention = Retention(keep_days=400)
    RecordWriter(factory, spool_dir, upkeep=retention)   # called when the spool is written out

The first prune is due at once (a router started after a long stop catches
up), then every PRUNE_EVERY seconds; one that fails (the database is down)
is tried again RETRY_AFTER later. The cut is wall-clock time, as for
`router records prune` (router/records/cli.py), with the same default.
"""

from __future__ import annotations

import logging
import time
from typing import Callable

log = logging.getLogger("router.records")

#: Retention when none is given (issue 16: a bit over a year, for
#: year-on-year monthly reports); `router records prune` uses it too.
KEEP_DAYS = 400
#: Seconds between two prunes of the running router.
PRUNE_EVERY = 86400.0
#: Seconds before a failed prune is tried again.
RETRY_AFTER = 3600.0


class Retention:
    """The writer's upkeep hook: `retention(get_store)` prunes when due.

    `get_store()` returns the writer's Store (opening it if need be); it
    is only called when a prune is due, so an idle writer costs a clock
    read per round."""

    def __init__(self, keep_days: int = KEEP_DAYS, clock: Callable[[], float] = time.time,
                 every: float = PRUNE_EVERY, retry: float = RETRY_AFTER) -> None:
        if keep_days < 1:
            raise ValueError("keep_days must be at least 1")
        self.keep_days, self.clock, self.every, self.retry = keep_days, clock, every, retry
        self.next_at = float("-inf")
        self.pruned = 0  # rows deleted so far
        self.last_error = ""

    def __call__(self, get_store: Callable[[], object]) -> None:
        now = self.clock()
        if now < self.next_at:
            return
        before = now - self.keep_days * 86400
        try:
            deleted = get_store().prune(before)
        except Exception as err:  # noqa: BLE001 (the database is down or locked: tried again later)
            text = str(err).strip().splitlines()
            self.last_error = f"{type(err).__name__}: {text[0] if text else ''}"
            self.next_at = now + self.retry
            log.warning("records: pruning rows older than %d days failed (%s); trying again in %.0f s",
                        self.keep_days, self.last_error, self.retry)
            return
        self.pruned += deleted
        self.last_error = ""
        self.next_at = now + self.every
        log.info("records: deleted %d rows older than %d days (before %s)", deleted, self.keep_days,
                 time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(before)))
