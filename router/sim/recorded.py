"""`router simulate --records URL`: the simulated day (or week) on record,
as `router run --records` would write it (issue 18 fits traffic from it).

The simulation runs far faster than a database writes, so it waits while
the writer's backlog is over BACKLOG rows (never drops them). When the
simulated time is up, a warm-down (`warm_down`): no call arrives any more,
and the simulation goes on until every call is over and on record
(answered, talked, wrapped up, its survey given or given up on; abandoned;
overflowed) and every promised callback is done or failed, the ones parked
until their queue's hours or between two attempts included. So every call
offered and every callback promised on the simulated day is on record with
its outcome. Then the agents' open intervals and sessions end (they log
out), and everything is written before the command returns.

The warm-down's bound (`bound`): WARM_DOWN_MAX simulated seconds after the
end, or after the latest opening of a parked callback's queue if that is
later (looked at anew as it goes: a retry that falls after closing time
parks the callback until the next opening), and never more than
CALLBACK_HORIZON after the end. WARM_DOWN_MAX covers a call in progress and
a callback's whole retry schedule once its queue is open (ATTEMPTS dials
RETRY_AFTER apart: 10 minutes, plus rings, talks and wrap-ups); the horizon
stops a callback that no agent ever takes (its queue staffed by nobody who
is logged in) from being woken every morning for ever. While only parked
callbacks are open, the clock jumps to the next thing due instead of
stepping: a night costs a few events, not 8,640 steps.
"""

from __future__ import annotations

import time
from typing import Callable

from router.core.calendar import is_open, next_open

#: Rows the writer may hold before the simulation waits for it.
BACKLOG = 100_000
#: Simulated seconds the warm-down lasts at most: far longer than a
#: caller's patience, a conversation, a wrap-up and a survey; a call still
#: open then (a caller who never gives up, in a queue nobody serves) is
#: counted in the last line, not on record.
WARM_DOWN_MAX = 4 * 3600.0
#: Simulated seconds between two looks at whether every call is on record.
WARM_DOWN_STEP = 10.0
#: Simulated seconds after the end past which the warm-down never waits
#: for a parked callback: two weeks, more than any weekly calendar's next
#: opening even across a week of holidays (Spring Festival, National Day).
CALLBACK_HORIZON = 14 * 86400.0


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
        """Stop arrivals at `t` and run `sim` on until no call or callback is
        open in the records (or the bound, module doc); returns the
        simulated time it ended."""
        sim.stop_arrivals()
        calls, parked = self.subscriber.assembler.calls, sim.engine.parked
        began, promised = t, sum(c in parked for c in calls)
        in_progress = len(calls) - promised
        limit = began
        while calls:
            limit = max(limit, self.bound(sim, began, t))  # once extended for a parked callback, it stays
            if t >= limit:
                break
            due = sim.next_due()
            if all(c in parked for c in calls):  # nothing in progress: on to the next thing due
                if due is None:
                    break  # nothing will ever happen again
                t = min(max(due, t + 1e-6), limit)
            else:
                t = min(t + WARM_DOWN_STEP, limit)
            sim.run_until(t)
            self.tick(t)
        left = len(calls)
        waiting = sum(c in parked for c in calls)
        if not left:
            done = "every one on record"
        else:
            done = (f"{left - waiting} calls still in progress and {waiting} callbacks still parked, "
                    "not on record")
        print(f"records: {sim.arrivals} calls offered; warm-down: no more arrivals, the {in_progress} in progress "
              f"and the {promised} callbacks parked (for their queue's hours or a retry) went on for "
              f"{t - began:.0f} simulated seconds: {done}", file=self.out, flush=True)
        return t

    @staticmethod
    def bound(sim, began: float, now: float) -> float:
        """When the warm-down that began at `began` stops at the latest, as
        judged at `now` (module doc)."""
        table, latest = sim.engine.table, began  # not `now`: the bound must not slide on with the clock
        for call in sim.engine.parked.values():
            queue = table.queues.get(call.queue)
            calendar = table.calendars.get(queue.hours) if queue is not None and queue.hours else None
            if calendar is not None and not is_open(calendar, now):
                opens = next_open(calendar, now)
                if opens is not None:
                    latest = max(latest, opens)
        return min(latest + WARM_DOWN_MAX, began + CALLBACK_HORIZON)

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
