"""Retention: the running router deletes records older than `keep_days`,
once a day, on the writer's database thread (never the event loop).

    retention = Retention(keep_days=400)                       # --records-keep-days 400
    retention = Retention(lambda: router.table.records.keep_days)  # the config's records.keep_days
    RecordWriter(factory, spool_dir, upkeep=retention)   # called when the spool is written out

The first prune is due at once (a router started after a long stop catches
up), then every PRUNE_EVERY seconds; one that fails (the database is down)
is tried again RETRY_AFTER later. When `keep_days` is the config's, it is
read at every round: a reload that changes it (router/runtime/reload.py
swaps the table whole; a rejected one keeps the old) makes a prune due at
once, so the new retention applies without waiting for the next day. The
cut is wall-clock time, as for `router records prune`
(router/records/cli.py), with the same default.
"""

from __future__ import annotations

import logging
import time
from typing import Callable

from router.core.table import KEEP_DAYS

log = logging.getLogger("router.records")

#: Seconds between two prunes of the running router.
PRUNE_EVERY = 86400.0
#: Seconds before a failed prune is tried again.
RETRY_AFTER = 3600.0


class Retention:
    """The writer's upkeep hook: `retention(get_store)` prunes when due.

    `get_store()` returns the writer's Store (opening it if need be); it
    is only called when a prune is due, so an idle writer costs a clock
    read (and a look at the table's `records.keep_days`) per round.
    `keep_days`: a number of days (a flag), or a function returning the
    number in force (the running config's)."""

    def __init__(self, keep_days: int | Callable[[], int] = KEEP_DAYS, clock: Callable[[], float] = time.time,
                 every: float = PRUNE_EVERY, retry: float = RETRY_AFTER) -> None:
        if not callable(keep_days) and keep_days < 1:
            raise ValueError("keep_days must be at least 1")
        self._days = keep_days if callable(keep_days) else (lambda: keep_days)
        self.clock, self.every, self.retry = clock, every, retry
        self.next_at = float("-inf")
        self.pruned = 0  # rows deleted so far
        self.last_error = ""
        self.pruned_with: int | None = None  # keep_days of the last prune that ran

    @property
    def keep_days(self) -> int:
        """The retention in force now (the config's may change on a reload)."""
        return self._days()

    def __call__(self, get_store: Callable[[], object]) -> None:
        now = self.clock()
        days = self.keep_days
        if now < self.next_at and days == self.pruned_with:
            return
        before = now - days * 86400
        try:
            deleted = get_store().prune(before)
        except Exception as err:  # noqa: BLE001 (the database is down or locked: tried again later)
            text = str(err).strip().splitlines()
            self.last_error = f"{type(err).__name__}: {text[0] if text else ''}"
            self.next_at = now + self.retry
            log.warning("records: pruning rows older than %d days failed (%s); trying again in %.0f s",
                        days, self.last_error, self.retry)
            self.pruned_with = days  # a failure is retried on its own schedule, not at every round
            return
        self.pruned += deleted
        self.pruned_with = days
        self.last_error = ""
        self.next_at = now + self.every
        log.info("records: deleted %d rows older than %d days (before %s)", deleted, days,
                 time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(before)))
