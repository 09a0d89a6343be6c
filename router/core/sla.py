"""The service-level book: per queue, what happened to its calls recently.

Owned and fed by the engine (`answered`, `abandoned`, `overflowed`,
`ended`); read by enforcement and by the metrics. Pure: time comes in with
every call, nothing here reads a clock.

Definition (docs/SERVICE-LEVEL.md has the reasoning and the comparison with
app_queue). For a queue with target "X% within T seconds", over a window:

    SL = answered within T / (answered + abandoned after `short_abandon`
                              + overflowed)

- a call counts in the queue it finished in; its wait is from the moment
  the router got it (a call moved from another queue keeps its wait);
- answered with wait <= T: met; answered later: missed;
- abandoned with wait < `short_abandon`: not counted at all (a wrong number,
  a caller who changed their mind: no agent could have helped);
- any other abandon, before or after T: missed;
- overflowed (left by an action: voicemail, callback, transfer, hangup,
  at max wait or because the queue was full): missed, whatever its wait, so
  that deflecting callers can never raise the service level;
- closed (arrived outside opening hours): not counted.

Windows: "15m" and "1h" roll over event times (in 5-second buckets: to
within 5 s); "today" counts since the start of the local day
(`day_start_hour` in `tz`). Memory is a few hundred buckets per queue,
whatever the call rate; "today" is two counters.

A call's outcome is judged with the threshold in force when it finished.
"""

from __future__ import annotations

from collections import deque
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from router.core import erlang
from router.core.table import RoutingTable

#: Window names and their lengths in seconds ("today" has none: per day).
WINDOWS = ("15m", "1h", "today")
_ROLLING = {"15m": 900.0, "1h": 3600.0}
#: Window of the answer rate used by `ewt` and of the offered load and
#: handle time used by `required_agents`/`handle_time`.
RATE_WINDOW = "15m"
LOAD_WINDOW = "1h"
#: Seconds per bucket of the rolling windows.
STEP = 5.0
#: A rate is never computed over less than this many seconds of history, so
#: the first answer after a start does not read as a huge rate.
MIN_SPAN = 60.0


class _Rolling:
    """Running sums over the last `length` seconds, kept in `STEP`-second
    buckets: memory is bounded by the window, not by the call rate (a
    per-event log held every call of the last hour: 50 MB at 200,000 calls
    an hour). A bucket leaves the window when its first second does, so the
    window is `length` seconds to within one step."""

    __slots__ = ("length", "events", "met", "counted", "arrivals", "answers", "handle_sum", "handles", "first")

    def __init__(self, length: float) -> None:
        self.length = length
        # [bucket index, met, counted, arrivals, answers, handles, handle_sum]
        self.events: deque = deque()
        self.met = self.counted = self.arrivals = self.answers = self.handles = 0
        self.handle_sum = 0.0
        # The first bucket's start (inf: none), so that `expire`, asked at
        # every outcome and read, costs one comparison when nothing is due.
        self.first = float("inf")

    def add(self, t: float, met: int, counted: int, arrival: int, answer: int, handle: float | None) -> None:
        index = int(t // STEP)
        events = self.events
        if events and events[-1][0] == index:
            bucket = events[-1]
        else:
            if not events:
                self.first = index * STEP
            bucket = [index, 0, 0, 0, 0, 0, 0.0]
            events.append(bucket)
        # (spelt out, not a loop over the fields: once per outcome per window)
        bucket[1] += met
        bucket[2] += counted
        bucket[3] += arrival
        bucket[4] += answer
        self.met += met
        self.counted += counted
        self.arrivals += arrival
        self.answers += answer
        if handle is None:  # (adding 0 and 0.0 changed nothing: skipped)
            return
        bucket[5] += 1
        bucket[6] += handle
        self.handles += 1
        self.handle_sum += handle

    def expire(self, now: float) -> None:
        horizon = now - self.length
        if self.first > horizon:
            return
        while self.events and self.events[0][0] * STEP <= horizon:
            _, met, counted, arrivals, answers, handles, handle_sum = self.events.popleft()
            self.met -= met
            self.counted -= counted
            self.arrivals -= arrivals
            self.answers -= answers
            self.handles -= handles
            self.handle_sum -= handle_sum
        if not self.events:
            self.handle_sum = 0.0  # no float drift once empty
        self.first = self.events[0][0] * STEP if self.events else float("inf")


class _QueueBook:
    def __init__(self) -> None:
        self.rolling = {name: _Rolling(length) for name, length in _ROLLING.items()}
        self.day: object = None  # the local day the counters below are for
        self.day_met = 0
        self.day_counted = 0


def judge(outcome: str, wait: float, within: float | None, short_abandon: float) -> tuple[bool, bool]:
    """(counted, met) of one finished call, by the definition above: an
    answer counts, and is met within `within`; an abandon counts from
    `short_abandon` on and is never met; an overflow counts and is never met;
    a closed call does not count. The one judgement the SlaBook, the records
    (router/records/assemble.py) and the replay (router/whatif/replay_run.py) use."""
    if outcome == "answered":
        return True, within is not None and wait <= within
    if outcome == "abandoned":
        return wait >= short_abandon, False
    return outcome == "overflowed", False


class SlaBook:
    """Service level, handle time, estimated wait and required agents per
    queue. Feed it every outcome; read it at any later time."""

    def __init__(self, table: RoutingTable, *, short_abandon: float = 5.0,
                 day_start_hour: int = 0, tz: str | None = None) -> None:
        if not 0 <= day_start_hour < 24:
            raise ValueError("day_start_hour must be 0..23")
        self.short_abandon = short_abandon
        self.day_start_hour = day_start_hour
        self._fixed_tz = tz  # None: the first calendar's, followed through reloads
        self._since: float | None = None  # time of the first event: rates need history
        self._day_kept: tuple | None = None  # (from, until, (tz, day_start_hour), day): `_day`
        self.table = table
        self.queues: dict[str, _QueueBook] = {}
        self.replace_table(table)

    def replace_table(self, table: RoutingTable) -> None:
        """Use a new table: new queues start empty, removed ones are dropped,
        kept ones keep their history (past calls keep their old judgement)."""
        self.table = table
        self.tz = ZoneInfo(self._fixed_tz or next((c.timezone for c in table.calendars.values()), "UTC"))
        self.queues = {name: self.queues.get(name) or _QueueBook() for name in table.queues}

    # ------------------------------------------------------------- feeding
    def answered(self, queue: str, wait: float, now: float) -> None:
        """A call of `queue` was answered after `wait` seconds."""
        q = self._queue(queue, now)
        if q is not None:
            counted, met = judge("answered", wait, self._within(queue), self.short_abandon)
            self._add(q, now, met=int(met), counted=int(counted), answer=1)

    def abandoned(self, queue: str, wait: float, now: float) -> None:
        """The caller hung up after `wait` seconds without an answer."""
        q = self._queue(queue, now)
        if q is not None:
            counted, met = judge("abandoned", wait, self._within(queue), self.short_abandon)
            self._add(q, now, met=int(met), counted=int(counted))

    def overflowed(self, queue: str, wait: float, now: float) -> None:
        """The call left `queue` by an action (voicemail, callback, transfer,
        hangup), at max wait or because the queue was full: always missed."""
        q = self._queue(queue, now)
        if q is not None:
            counted, met = judge("overflowed", wait, self._within(queue), self.short_abandon)
            self._add(q, now, met=int(met), counted=int(counted))

    def ended(self, queue: str, handle: float, now: float) -> None:
        """An answered call of `queue` is over: `handle` is its talk time
        plus the agent's wrap-up, in seconds."""
        q = self._queue(queue, now)
        if q is not None:
            self._expire(q, now)
            for window in q.rolling.values():
                window.add(now, 0, 0, 0, 0, max(0.0, handle))

    # ------------------------------------------------------------- reading
    def counts(self, queue: str, window: str, now: float) -> tuple[int, int]:
        """(calls that met the target, calls counted) in `window`."""
        q = self._queue(queue, now)
        if q is None:
            return 0, 0
        if window == "today":
            return (q.day_met, q.day_counted) if q.day == self._day(now) else (0, 0)
        if window not in _ROLLING:
            raise ValueError(f"unknown window {window!r}; one of {WINDOWS}")
        self._expire(q, now)
        roll = q.rolling[window]
        return roll.met, roll.counted

    def level(self, queue: str, window: str, now: float) -> float | None:
        """Service level 0..1 of `queue` over `window`; None with no counted call."""
        met, counted = self.counts(queue, window, now)
        return None if counted == 0 else met / counted

    def breached(self, queue: str, now: float, min_calls: int, window: str = "15m") -> bool:
        """Whether the queue's service level over `window` counts as
        breached (the MQTT alert): below its target with at least
        `min_calls` calls counted (fewer say too little to alert on)."""
        met, counted = self.counts(queue, window, now)
        if counted == 0 or counted < min_calls:
            return False
        return 100 * (met / counted) < self.table.queues[queue].service_level.percent

    def target(self, queue: str) -> tuple[float, float]:
        """(target fraction 0..1, threshold seconds) of the queue."""
        sl = self.table.queues[queue].service_level
        return sl.percent / 100.0, sl.within

    def handle_time(self, queue: str, now: float) -> float | None:
        """Mean handle time (talk + wrap-up) of the calls ended in the last hour."""
        roll = self._window(queue, LOAD_WINDOW, now)
        if roll is None or roll.handles == 0:
            return None
        return roll.handle_sum / roll.handles

    def handled(self, queue: str, now: float) -> int:
        """Calls of `queue` that ended in the last hour (the handle time's sample)."""
        roll = self._window(queue, LOAD_WINDOW, now)
        return 0 if roll is None else roll.handles

    def answer_rate(self, queue: str, now: float) -> float | None:
        """Answers per second in the last 15 minutes (None: no history yet)."""
        roll = self._window(queue, RATE_WINDOW, now)
        return None if roll is None else roll.answers / self._span(roll, now)

    def arrival_rate(self, queue: str, now: float) -> float | None:
        """Calls per second that finished in the queue in the last hour,
        whatever their outcome: the offered load's arrival rate."""
        roll = self._window(queue, LOAD_WINDOW, now)
        return None if roll is None else roll.arrivals / self._span(roll, now)

    def ewt(self, queue: str, ahead: int, now: float, agents: int) -> float | None:
        """Estimated wait of a new caller with `ahead` calls before it, when
        `agents` agents serve the queue and all are busy:

            (ahead + 1) x AHT / agents     (AHT known and agents > 0)
            (ahead + 1) / answer rate      (else, from the last 15 min)

        The first is the M/M/N wait for the (ahead+1)-th agent release; the
        second the same from observed throughput. None when neither is known.
        A caller for whom an agent is free waits 0: the caller checks that."""
        aht = self.handle_time(queue, now)
        if aht is not None and agents > 0:
            return (ahead + 1) * aht / agents
        rate = self.answer_rate(queue, now)
        if rate:
            return (ahead + 1) / rate
        return None

    def required_agents(self, queue: str, now: float) -> int | None:
        """Erlang C: agents needed to meet the queue's target at the offered
        load of the last hour (arrival rate x AHT). None without data."""
        aht = self.handle_time(queue, now)
        rate = self.arrival_rate(queue, now)
        if aht is None or aht <= 0 or rate is None:
            return None
        target, within = self.target(queue)
        return erlang.required_agents(rate, aht, target, within)

    # ------------------------------------------------------------ internals
    def _queue(self, queue: str, now: float) -> _QueueBook | None:
        if self._since is None:
            self._since = now
        return self.queues.get(queue)

    def _window(self, queue: str, window: str, now: float) -> _Rolling | None:
        q = self._queue(queue, now)
        if q is None:
            return None
        self._expire(q, now)
        return q.rolling[window]

    @staticmethod
    def _expire(q: _QueueBook, now: float) -> None:
        for roll in q.rolling.values():
            if roll.first <= now - roll.length:  # (`expire`'s own test, without the call)
                roll.expire(now)

    def _span(self, roll: _Rolling, now: float) -> float:
        since = self._since if self._since is not None else now  # (set by the first `_queue`)
        return max(MIN_SPAN, min(roll.length, now - since))

    def _within(self, queue: str) -> float:
        return self.table.queues[queue].service_level.within

    def _day(self, now: float):
        # The day goes by whole local minutes (day_start_hour, time zone
        # changes), so the answer is kept for the minute `now` is in, a
        # millisecond short at both ends (as calendar.is_open): every outcome
        # asks, and the conversion to local time was most of the cost.
        kept = self._day_kept
        if kept is not None and kept[0] <= now < kept[1] and kept[2] == (self.tz, self.day_start_hour):
            return kept[3]
        local = datetime.fromtimestamp(now, self.tz)
        day = (local - timedelta(hours=self.day_start_hour)).date()
        start = now - local.second - local.microsecond / 1e6
        self._day_kept = (start + 0.001, start + 59.999, (self.tz, self.day_start_hour), day)
        return day

    def _add(self, q: _QueueBook, now: float, met: int, counted: int, answer: int = 0) -> None:
        met = int(met) * counted
        self._expire(q, now)  # memory stays bounded even if nobody reads
        for window in q.rolling.values():
            window.add(now, met, counted, 1, answer, None)
        day = self._day(now)
        if q.day != day:
            q.day, q.day_met, q.day_counted = day, 0, 0
        q.day_met += met
        q.day_counted += counted
