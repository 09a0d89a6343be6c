"""The config as read, before names are resolved.

The section readers fill these plain, mutable specs; the reference checks
look at them as a whole; `compile` turns them into the immutable
`RoutingTable` once there are no errors. A field is None when its value was
wrong (and reported), so checks must tolerate gaps; compile never sees them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from router.core.table import Calendar, Pattern, RecordsPolicy, ServiceLevel, Settings, Strategy, Team


@dataclass(frozen=True)
class Where:
    """A place in the config: for problems found after reading."""

    file: str
    line: int
    col: int
    path: str

    @classmethod
    def of(cls, node, path: str) -> Where:
        return cls(node.file, node.line, node.col, path)


@dataclass(frozen=True)
class Ref:
    """A name used somewhere that must be defined: kind is skill, team,
    agent, calendar or queue."""

    kind: str
    name: str
    where: Where


@dataclass
class ActionSpec:
    kind: str
    target: str
    announce: str
    where: Where


@dataclass
class StepSpec:
    after: float | None
    where: Where  # path "queues.sales.escalation[2]"
    require: dict[str, int] | None = None  # None: keep the previous minimums
    teams: list[str] | None = None  # None: keep the previous team filter
    also: list[str] = field(default_factory=list)
    action: ActionSpec | None = None


@dataclass
class QueueSpec:
    name: str
    where: Where  # the queue's key
    title: str = ""
    priority: int | None = 0
    strategy: Strategy | None = Strategy.LONGEST_IDLE
    service_level: ServiceLevel | None = None
    wrapup: float | None = 10.0
    ring_timeout: float | None = 15.0
    max_waiting: int | None = None
    overflow: ActionSpec | None = None
    hours: str | None = None
    closed: ActionSpec | None = None
    skills: dict[str, int] = field(default_factory=dict)
    teams: list[str] = field(default_factory=list)
    escalation: list[StepSpec] = field(default_factory=list)
    survey: bool | None = False
    record: bool | None = False
    callback_retry: float | None = None  # None: the engine's default (core/callbacks.py RETRY_AFTER)


@dataclass
class AgentSpec:
    where: Where  # the list item
    id: str | None = None
    id_where: Where | None = None
    name: str = ""
    endpoint: str | None = None
    endpoint_where: Where | None = None
    team: str | None = None
    skills: dict[str, int] = field(default_factory=dict)
    max_no_answer: int | None = None  # None: the settings' default
    wrapup: float | None = None
    pbx: str | None = None  # the Asterisk server the agent's phone is on (None: any)


@dataclass
class RuleSpec:
    name: str | None
    where: Where  # the rule's mapping; path "routing.rules[2]"
    queue: str | None = None
    priority: int | None = None  # None: the queue's
    skills: dict[str, int] = field(default_factory=dict)
    escalation: list[StepSpec] | None = None  # None: the queue's
    dnis: list[Pattern] = field(default_factory=list)
    caller: list[Pattern] = field(default_factory=list)
    vars: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)
    in_hours: str | None = None
    out_of_hours: str | None = None


@dataclass(frozen=True)
class Edge:
    """A queue action moving calls from queue `source` to `target`."""

    source: str
    target: str
    where: Where


@dataclass
class ConfigSpec:
    """Everything read. A section is None when it is missing or could not
    be read, which tells the reference checks not to judge names of that
    kind (the missing section is already an error)."""

    settings: Settings = field(default_factory=Settings)
    records: RecordsPolicy = field(default_factory=RecordsPolicy)
    skills: dict[str, str] | None = None
    skill_where: dict[str, Where] = field(default_factory=dict)
    teams: dict[str, Team] | None = None
    agents: list[AgentSpec] | None = None
    calendars: dict[str, Calendar] | None = None
    queues: dict[str, QueueSpec] | None = None
    rules: list[RuleSpec] | None = None
    default: RuleSpec | None = None
    refs: list[Ref] = field(default_factory=list)
    edges: list[Edge] = field(default_factory=list)
