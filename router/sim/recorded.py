"""`router simulate --records URL`: the simulated day (or week) on record,
as `router run --records` would write it (issue 18 fits traffic from it).

The simulation runs far faster than a database writes, so it waits while
the writer's backlog is over BACKLOG rows (never drops them); at the end
the agents' open intervals and sessions end with the simulated time and
everything is written before the command returns. Calls still open at the
end (waiting, talking, in wrap-up) are not on record.
"""

from __future__ import annotations

import time
from typing import Callable

#: Rows the writer may hold before the simulation waits for it.
BACKLOG = 100_000


class SimRecords:
    def __init__(self, settings, table_getter: Callable, start: float, out) -> None:
        from router.records.setup import open_records

        self.settings, self.out = settings, out
        self.now = start
        self.subscriber = open_records(settings, table_getter, checkpoint=False)
        self.subscriber.start(lambda: self.now)

    def tick(self, t: float) -> None:
        self.now = t
        self.subscriber.tick(t)
        while self.subscriber.writer.backlog() > BACKLOG:
            time.sleep(0.05)

    def finish(self, t: float) -> None:
        self.now = t
        self.tick(t)
        rows: list = []
        self.subscriber.assembler.agents.close_all(t, rows)
        self.subscriber.writer.put(rows)
        written = self.subscriber.writer.flush(600)
        self.subscriber.stop()
        total = self.subscriber.rows + len(rows)
        state = "written" if written else "spooled (the database did not take them all: see the log)"
        print(f"records: {total} rows {state} to {self.settings.url}", file=self.out, flush=True)
