"""The simulation's world from a traffic profile: who calls when, how long
they talk and wait, how agents answer, and who is on duty (the roster).

Arrivals are a Poisson process whose rate is constant within each interval
of the profile (the sum over call types), drawn exactly: a gap that would
cross into the next interval is redrawn there (the exponential forgets).

Callers come from a random stream of their own (when they arrive, who they
are, their talk, after-call work and patience, all drawn at arrival), and
agents' answers from the simulation's: two configs run with the same seed
see the very same callers however differently they route them (common
random numbers, which is what makes `--compare` sharp).
"""

from __future__ import annotations

import bisect
import random
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from router.core import events as ev
from router.sim import traffic
from router.whatif.profile import DAY, CallType, Profile, Roster


def midnight(day, tz: ZoneInfo) -> float:
    """The timestamp of local midnight starting `day` (a date)."""
    return datetime(day.year, day.month, day.day, tzinfo=tz).timestamp()


class ProfileWorld:
    """A `router.sim.discrete.World` playing `profile` for `days` days from
    local midnight `start` (a date), in zone `tz`."""

    def __init__(self, table, rng: random.Random, profile: Profile, start, days: int, tz: ZoneInfo) -> None:
        self.table, self.rng, self.profile = table, rng, profile
        self.callers = random.Random(rng.getrandbits(64)) if rng is not None else None
        self.day0 = midnight(start, tz)
        self.tz = tz
        self.dates = [start + timedelta(days=d) for d in range(days)]
        self.weekdays = [d.weekday() for d in self.dates]
        self.starts = [midnight(d, tz) for d in self.dates]
        self.interval = profile.interval
        n = profile.intervals
        # Per day and interval: total calls per second, and the call types'
        # cumulative shares for picking one with a single random number.
        self.rates = [[profile.rate(w, i) for i in range(n)] for w in self.weekdays]
        self.cumulative = []
        for w in self.weekdays:
            per = []
            for i in range(n):
                total, acc = 0.0, []
                for c in profile.calls:
                    total += c.arrivals[w][i]
                    acc.append(total)
                per.append(acc)
            self.cumulative.append(per)
        self._upcoming: CallType | None = None
        self._calls: dict[str, tuple[float, float]] = {}  # call -> (talk, after-call work)
        self._patience = 0.0

    def end(self) -> float:
        return self.starts[-1] + DAY

    def begin(self, sim) -> None:
        for start, weekday in zip(self.starts, self.weekdays):
            self._roster(sim, start, weekday)

    def roster_after(self, sim) -> None:
        """Put the day after the last on duty too (no calls arrive then): a
        warm-down's callbacks, parked until their queue opens the next
        morning, are made by that morning's agents, as at a real centre."""
        after = self.dates[-1] + timedelta(days=1)
        self._roster(sim, midnight(after, self.tz), after.weekday())

    def _roster(self, sim, start: float, weekday: int) -> None:
        roster = Roster.of(self.profile, self.table, weekday)
        for agent_id, periods in roster.shifts.items():
            for a, b in periods:
                sim.at(start + a, "event", ev.AgentLogin(agent_id))
                if b < DAY or self.profile.roster is not None:
                    sim.at(start + b, "event", ev.AgentLogout(agent_id))
            for a, b in roster.breaks.get(agent_id, ()):
                sim.at(start + a, "pause", agent_id, "break")
                sim.at(start + b, "unpause", agent_id, "break")

    def next_arrival(self, now: float) -> float | None:
        t, rng, n = now, self.callers, self.profile.intervals
        while True:
            day = bisect.bisect_right(self.starts, t) - 1
            if day < 0:
                t = self.starts[0]
                continue
            if day >= len(self.starts) or t >= self.starts[day] + DAY:
                return None
            index = min(int((t - self.starts[day]) // self.interval), n - 1)
            end = self.starts[day] + (index + 1) * self.interval
            rate = self.rates[day][index]
            if rate > 0:
                at = t + rng.expovariate(rate)
                if at < end:
                    acc = self.cumulative[day][index]
                    self._upcoming = self.profile.calls[bisect.bisect_right(acc, rng.random() * acc[-1])
                                                        if acc[-1] else 0]
                    return at
            t = end

    def new_call(self, call_id: str, now: float) -> ev.CallWaiting:
        ct, rng = self._upcoming, self.callers
        assert ct is not None, "new_call before next_arrival drew a call type"
        if ct.caller.endswith("*"):
            number = ct.caller[:-1] + str(rng.randint(100000, 999999))
        else:
            number = ct.caller or f"+86139{rng.randint(10000000, 99999999)}"
        name = traffic.caller_name(rng)
        self._patience = ct.patience.sample(rng)
        self._calls[call_id] = (ct.talk.sample(rng), ct.wrapup.sample(rng))
        return ev.CallWaiting(call_id, dnis=ct.dnis, caller_num=number, caller_name=name,
                              variables=ct.variables, pbx="sim")

    def _times(self, call_id: str) -> tuple[float, float]:
        # A callback's leg ("cb-<call>") lasts like the call it calls back.
        found = self._calls.get(call_id) or self._calls.get(call_id.removeprefix("cb-"))
        if found is None:  # not one of ours: draw as the first call type
            ct = self.profile.calls[0]
            found = (ct.talk.sample(self.rng), ct.wrapup.sample(self.rng))
        return found

    def patience(self, call_id: str) -> float:
        return self._patience

    def ring(self, call_id: str, agent_id: str, timeout: float) -> float | None:
        delay = self.profile.answer_delay.sample(self.rng)
        no_answer = self.profile.no_answer and self.rng.random() < self.profile.no_answer
        return None if no_answer or delay >= timeout else delay

    def dial(self, call_id: str) -> str:
        """A callback's dial to the customer (the Dial status router-callback
        reports): reached with the profile's `callbacks.reached`. "" when
        every dial reaches, with no number drawn, so that such a profile's
        runs are those of a world without dials."""
        reached = self.profile.callback_reached
        if reached >= 1.0:
            return ""
        return "ANSWER" if self.rng.random() < reached else "NOANSWER"

    def talk(self, call_id: str) -> float:
        return self._times(call_id)[0]

    def after_call(self, call_id: str, agent_id: str) -> float:
        work = self._times(call_id)[1]
        self._calls.pop(call_id, None)
        return work
