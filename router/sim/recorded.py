"""`router simulate --records URL`: the simulated day (or week) on record,
as `router run --records` would write it (issue 18 fits traffic from it).

The simulation runs far faster than a database writes, so it waits while
the writer's backlog is over BACKLOG rows (never drops them). When the
simulated time is up, a warm-down (`warm_down`): no call arrives any more,
and the simulation goes on until every call in progress is over and on
record (answered, talked, wrapped up, its survey given or given up on;
abandoned; overflowed), at most WARM_DOWN_MAX simulated seconds; so every
call offered is on record. Then the agents' open intervals and sessions
end (they log out), and everything is written before the command returns.
"""

from __future__ import annotations

import time
from typing import Callable

#: Rows the writer may hold before the simulation waits for it.
BACKLOG = 100_000
#: Simulated seconds the warm-down lasts at most: far longer than a
#: caller's patience, a conversation, a wrap-up and a survey; a call still
#: open then (a caller who never gives up, in a queue nobody serves) is
#: counted in the last line, not on record.
WARM_DOWN_MAX = 4 * 3600.0
#: Simulated seconds between two looks at whether every call is on record.
WARM_DOWN_STEP = 10.0


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

    def warm_down(self, sim, t: float) -> float:
        """Stop arrivals at `t` and run `sim` on until no call is open in the
        records (or WARM_DOWN_MAX); returns the simulated time it ended."""
        sim.stop_arrivals()
        calls, parked = self.subscriber.assembler.calls, sim.engine.parked

        def open_calls() -> list[str]:
            # a promised callback parked until its queue's hours is work for
            # another day, not a call in progress: the warm-down does not wait
            return [c for c in calls if c not in parked]

        in_progress, until = len(open_calls()), t + WARM_DOWN_MAX
        while open_calls() and t < until:
            t = min(t + WARM_DOWN_STEP, until)
            sim.run_until(t)
            self.tick(t)
        left = len(open_calls())
        done = f"{left} still open, not on record" if left else "every one on record"
        if len(calls) > left:
            done += f"; {len(calls) - left} promised callbacks wait for their queue's hours, not on record"
        print(f"records: {sim.arrivals} calls offered; warm-down: no more arrivals, the {in_progress} in progress "
              f"went on for {t - (until - WARM_DOWN_MAX):.0f} simulated seconds: {done}", file=self.out, flush=True)
        return t

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
