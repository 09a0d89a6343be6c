"""The compiled routing table: immutable, validated, ready for the engine.

`router.config` turns the admin's YAML into one `RoutingTable`; the engine
only ever reads it. By the time a table exists every name it mentions has
been resolved, every value is in range, every duration is float seconds and
every escalation chain is fully expanded (a rule's extra skills are already
merged into each step, `also:` queues already turned into requirements), so
the hot path never has to interpret configuration.

A table is replaced whole (`ConfigReplaced`), never edited: that is what
makes a reload atomic.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from enum import Enum
from types import MappingProxyType
from typing import Mapping

#: Outcome kinds of `Action`, i.e. where a call goes when it leaves a queue
#: without an agent.
ACTION_KINDS = ("voicemail", "callback", "transfer", "queue", "hangup")


class Strategy(str, Enum):
    """How a queue chooses among the agents eligible for a call."""

    LONGEST_IDLE = "longest_idle"
    FEWEST_CALLS = "fewest_calls"
    ROUND_ROBIN = "round_robin"
    BEST_SKILLED = "best_skilled"
    RANDOM = "random"


@dataclass(frozen=True)
class Action:
    """Where a call goes when it leaves a queue without an agent.

    kind is one of ACTION_KINDS; target is the mailbox (voicemail), number
    (transfer) or queue name (queue), and "" for callback and hangup;
    announce is an optional sound file played first.
    """

    kind: str
    target: str = ""
    announce: str = ""

    def describe(self) -> str:
        text = self.kind if not self.target else f"{self.kind} {self.target}"
        return f"{text} (announce {self.announce})" if self.announce else text


@dataclass(frozen=True)
class Requirement:
    """One way an agent can qualify: every skill at or above its minimum
    level, and (when `teams` is not empty) membership of one of the teams."""

    skills: tuple[tuple[str, int], ...] = ()  # sorted by skill name
    teams: tuple[str, ...] = ()

    def met_by(self, agent: Agent) -> bool:
        levels = agent.skills
        for skill, minimum in self.skills:
            if levels.get(skill, 0) < minimum:
                return False
        return not self.teams or agent.team in self.teams

    def describe(self) -> str:
        parts = [f"{s}>={lvl}" for s, lvl in self.skills] or ["any agent"]
        if self.teams:
            parts.append("team in " + "|".join(self.teams))
        return " & ".join(parts)


@dataclass(frozen=True)
class Step:
    """One escalation step: from `after` seconds of waiting in the queue, an
    agent meeting any of `requirements` may take the call. A step with an
    `action` ends the wait: the call leaves the queue that way."""

    after: float
    requirements: tuple[Requirement, ...]
    action: Action | None = None
    source: str = ""  # key path it came from, e.g. "queues.sales.escalation[2]"

    def eligible(self, agent: Agent) -> bool:
        return any(req.met_by(agent) for req in self.requirements)


def merge_skills(steps: tuple[Step, ...], extra: tuple[tuple[str, int], ...]) -> tuple[Step, ...]:
    """`steps` with the skill minimums `extra` added to every requirement
    (per skill the higher minimum wins): how a rule's skills, such as a
    language, follow its calls through every escalation step and queue."""
    if not extra:
        return steps
    out = []
    for step in steps:
        reqs = []
        for req in step.requirements:
            levels = dict(req.skills)
            for skill, minimum in extra:
                levels[skill] = max(levels.get(skill, 0), minimum)
            reqs.append(Requirement(tuple(sorted(levels.items())), req.teams))
        out.append(Step(step.after, tuple(reqs), step.action, step.source))
    return tuple(out)


@dataclass(frozen=True)
class ServiceLevel:
    """`percent` of calls answered within `within` seconds."""

    percent: float
    within: float


@dataclass(frozen=True)
class Calendar:
    """Opening hours. `weekly` holds (weekday 0=Monday, open minute, close
    minute) with close > open, in the calendar's own time zone; a holiday
    closes the whole day."""

    name: str
    timezone: str
    weekly: tuple[tuple[int, int, int], ...]
    holidays: frozenset[date] = frozenset()


@dataclass(frozen=True)
class Team:
    name: str
    title: str = ""
    leader: str | None = None  # agent id


@dataclass(frozen=True)
class Agent:
    id: str
    name: str
    endpoint: str  # e.g. "PJSIP/1001"
    team: str | None
    skills: Mapping[str, int]
    max_no_answer: int  # consecutive misses before auto-pause; 0 = never
    wrapup: float | None = None  # overrides the queue's wrap-up time
    # The Asterisk server (the name given to `router run --ami NAME=...`)
    # the agent's phone is registered on: only calls held there are offered
    # to the agent. None: a single server, or phones reachable from all.
    pbx: str | None = None


@dataclass(frozen=True)
class Queue:
    name: str
    title: str
    priority: int
    strategy: Strategy
    service_level: ServiceLevel
    wrapup: float
    ring_timeout: float
    max_waiting: int | None  # None = unbounded
    overflow: Action | None  # when max_waiting is reached
    hours: str | None  # calendar name; None = always open
    closed: Action | None  # when the calendar is closed
    steps: tuple[Step, ...]  # steps[0].after == 0; ordered by `after`
    # After the agent hangs up, the caller is asked for a 1-5 score
    # (router-survey, docs/ASTERISK.md); record: MixMonitor while bridged.
    survey: bool = False
    record: bool = False
    # Seconds a callback whose attempt failed waits before the next one;
    # None: core/callbacks.py RETRY_AFTER.
    callback_retry: float | None = None


@dataclass(frozen=True)
class Pattern:
    """A number pattern: exact text, a trailing-`*` prefix, or an Asterisk
    dialplan pattern starting with `_` (X, Z, N, [1-5], `.` and `!`)."""

    text: str
    regex: re.Pattern[str] = field(compare=False)

    def matches(self, value: str) -> bool:
        return self.regex.fullmatch(value) is not None


@dataclass(frozen=True)
class Match:
    """Conditions of a classification rule; all given ones must hold. Each
    list matches when any of its entries matches."""

    dnis: tuple[Pattern, ...] = ()
    caller: tuple[Pattern, ...] = ()
    vars: tuple[tuple[str, tuple[str, ...]], ...] = ()
    in_hours: str | None = None  # calendar open
    out_of_hours: str | None = None  # calendar closed


@dataclass(frozen=True)
class Rule:
    """A classification rule. `steps` is the effective escalation chain (the
    rule's own, or its queue's) with the rule's `skills` already merged into
    every requirement."""

    name: str
    match: Match
    queue: str
    priority: int
    skills: tuple[tuple[str, int], ...]
    steps: tuple[Step, ...]
    source: str = ""  # "file:line" of the rule, for explain


@dataclass(frozen=True)
class Enforcement:
    """How routing acts on the service-level targets (docs/SERVICE-LEVEL.md).

    order: "deadline" serves, among the calls an agent can take, the one
    closest to missing its own queue's threshold, each priority point worth
    `priority_weight` seconds; "arrival" is strict priority, then longest
    waiting (app_queue's order)."""

    order: str = "deadline"
    priority_weight: float = 1.0  # seconds of deadline head start per priority point
    early_escalation: bool = True  # take the next step at once when the EWT says it will miss
    protection: bool = True  # serve queues under target before queues above it
    reserve: float = 5.0  # points above its own target a queue keeps before it lends agents
    short_abandon: float = 5.0  # abandons sooner than this do not count in the SL
    day_start_hour: int = 0  # the SL's "today" starts at this local hour (first calendar's zone)


@dataclass(frozen=True)
class Settings:
    """Router-wide defaults."""

    no_answer_rest: float = 5.0  # seconds an agent rests after a missed offer
    default_max_no_answer: int = 3
    enforcement: Enforcement = Enforcement()
    # Where the PBX writes the recordings of `record: true` queues, one file
    # per call named by its call id (recording_path()).
    recordings_dir: str = "/var/spool/asterisk/monitor/router"


#: Days of call and agent records kept when the config's `records:` block
#: does not say (issue 16: a bit over a year, for year-on-year monthly
#: reports); `router records prune` and the running router both use it.
KEEP_DAYS = 400


@dataclass(frozen=True)
class RecordsPolicy:
    """The config's `records:` block: how the records database is kept.
    Not routing: the records writer reads it from the running table, so a
    reload changes it like any setting."""

    keep_days: int = KEEP_DAYS  # rows older than this many days are pruned


@dataclass(frozen=True)
class RoutingTable:
    skills: Mapping[str, str]  # name -> description
    teams: Mapping[str, Team]
    agents: Mapping[str, Agent]  # insertion order = file order
    queues: Mapping[str, Queue]
    calendars: Mapping[str, Calendar]
    rules: tuple[Rule, ...]  # ordered; first match wins
    default: Rule  # used when no rule matches
    settings: Settings = Settings()
    records: RecordsPolicy = RecordsPolicy()
    digest: str = ""  # sha256 of the source files, for the reload metric

    @staticmethod
    def freeze(mapping: dict) -> Mapping:
        """Read-only view for the mapping fields (helper for builders)."""
        return MappingProxyType(dict(mapping))
