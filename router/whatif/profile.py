"""A traffic profile: the centre's own traffic, as `router simulate --traffic` plays it.

What arrives (call types with their dialled number, caller number and IVR
variables, and calls per interval per weekday), how long calls last (talk and
after-call work), how long callers wait before they give up, how agents
answer, and who is logged in when. Read from YAML by `router.whatif.profile_file`
(docs/WHATIF.md has the format); plain frozen data here, so that a fit from
call records can build one and write it back with `dump`.

Times of day are seconds from local midnight; weekdays are 0 = Monday.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field

DAY = 86_400.0
KINDS = ("exponential", "lognormal", "empirical", "fixed", "never")


@dataclass(frozen=True)
class Dist:
    """A distribution of durations in seconds.

    exponential(mean), lognormal(mean, sd) (the mean and standard deviation
    of the durations themselves, not of their logarithm), empirical(values:
    drawn uniformly from the list), fixed(mean), never (an infinite time: a
    caller who never gives up)."""

    kind: str
    mean: float = 0.0
    sd: float = 0.0
    values: tuple[float, ...] = ()

    def __post_init__(self) -> None:
        if self.kind == "lognormal":
            # Moments of the durations -> parameters of their logarithm.
            s2 = math.log(1.0 + (self.sd / self.mean) ** 2)
            object.__setattr__(self, "_mu", math.log(self.mean) - s2 / 2)
            object.__setattr__(self, "_sigma", math.sqrt(s2))

    def sample(self, rng: random.Random) -> float:
        kind = self.kind
        if kind == "exponential":
            return rng.expovariate(1.0 / self.mean) if self.mean > 0 else 0.0
        if kind == "lognormal":
            return rng.lognormvariate(self._mu, self._sigma)
        if kind == "empirical":
            return self.values[int(rng.random() * len(self.values))]
        if kind == "fixed":
            return self.mean
        return math.inf

    def average(self) -> float:
        """The mean duration (math.inf for `never`)."""
        if self.kind == "empirical":
            return sum(self.values) / len(self.values)
        return math.inf if self.kind == "never" else self.mean


NEVER = Dist("never")
ZERO = Dist("fixed", 0.0)


@dataclass(frozen=True)
class CallType:
    """One kind of call: how it presents itself to the rules, how many
    arrive, and how long it lasts."""

    name: str
    dnis: str
    caller: str  # a number, or a prefix ending in '*' (random digits follow)
    variables: tuple[tuple[str, str], ...]
    # weekday -> calls offered in each interval of the day (len = intervals per day)
    arrivals: tuple[tuple[float, ...], ...]
    talk: Dist
    wrapup: Dist  # after-call work; the agent stays unavailable max(this, the config's wrapup)
    patience: Dist


@dataclass(frozen=True)
class Shift:
    """Agents logged in from `start` to `end` (seconds from midnight) on
    `days`, paused for each break."""

    agents: tuple[str, ...]  # resolved ids; empty with `team` or `everyone`
    team: str | None
    everyone: bool
    days: tuple[int, ...]
    start: float
    end: float
    breaks: tuple[tuple[float, float], ...] = ()
    where: object = None  # config.model.Where of the entry, for errors against a config

    def members(self, table) -> list[str]:
        if self.everyone:
            return list(table.agents)
        if self.team is not None:
            return [a.id for a in table.agents.values() if a.team == self.team]
        return [a for a in self.agents if a in table.agents]


@dataclass(frozen=True)
class Profile:
    interval: float  # seconds, divides a day
    calls: tuple[CallType, ...]
    answer_delay: Dist = Dist("fixed", 3.0)
    no_answer: float = 0.0  # probability an offer rings out unanswered
    roster: tuple[Shift, ...] | None = None  # None: every configured agent, all day
    timezone: str | None = None  # None: the config calendars' zone
    source: str = ""
    #: probability that a callback's dial reaches the customer (each attempt)
    callback_reached: float = 1.0

    @property
    def intervals(self) -> int:
        return int(DAY // self.interval)

    def rate(self, weekday: int, index: int) -> float:
        """Calls per second of all types in interval `index` of `weekday`."""
        return sum(c.arrivals[weekday][index] for c in self.calls) / self.interval

    def offered(self, weekday: int) -> float:
        return sum(sum(c.arrivals[weekday]) for c in self.calls)


@dataclass
class Roster:
    """A roster resolved against a config, for one weekday: per agent the
    login periods and the breaks (seconds from midnight)."""

    shifts: dict[str, list[tuple[float, float]]] = field(default_factory=dict)
    breaks: dict[str, list[tuple[float, float]]] = field(default_factory=dict)

    @classmethod
    def of(cls, profile: Profile, table, weekday: int) -> "Roster":
        out = cls()
        if profile.roster is None:
            for agent_id in table.agents:
                out.shifts[agent_id] = [(0.0, DAY)]
            return out
        for shift in profile.roster:
            if weekday not in shift.days:
                continue
            for agent_id in shift.members(table):
                out.shifts.setdefault(agent_id, []).append((shift.start, shift.end))
                out.breaks.setdefault(agent_id, []).extend(shift.breaks)
        return out

    def on_duty(self, agent_id: str, t: float) -> bool:
        """Logged in and not on a break at `t` seconds from midnight."""
        return (any(a <= t < b for a, b in self.shifts.get(agent_id, ()))
                and not any(a <= t < b for a, b in self.breaks.get(agent_id, ())))
