"""The part of a routing table the records read, small and picklable, for
the records process (recordsproc.py): it is sent there once per reload.

A RoutingTable does not pickle (its mappings are read-only proxies) and,
whole, costs about 20 ms to pickle at 1,000 agents; the records need only
the agents' teams, each queue's threshold, wrap-up and survey flag, the
centre's zone, the settings and `records.keep_days`. The slice has the
same shape (the same attribute paths) as the table, so the assembler reads
either.
"""

from __future__ import annotations

from dataclasses import dataclass

from router.core.table import RecordsPolicy, RoutingTable, ServiceLevel, Settings


@dataclass(frozen=True, slots=True)
class AgentSlice:
    team: str | None


@dataclass(frozen=True, slots=True)
class QueueSlice:
    service_level: ServiceLevel
    wrapup: float
    survey: bool


@dataclass(frozen=True, slots=True)
class CalendarSlice:
    timezone: str


@dataclass(frozen=True, slots=True)
class RuleSlice:
    queue: str


@dataclass(frozen=True, slots=True)
class TableSlice:
    """`agents`, `queues`, `calendars` (the first one: the centre's zone),
    `default`, `settings`, `records`: as RoutingTable's."""

    agents: dict[str, AgentSlice]
    queues: dict[str, QueueSlice]
    calendars: dict[str, CalendarSlice]
    default: RuleSlice
    settings: Settings
    records: RecordsPolicy


def table_slice(table: RoutingTable) -> TableSlice:
    """What the records read of `table`."""
    first = next(iter(table.calendars.items()), None)  # localtime.zone_of: the first calendar's zone
    return TableSlice(
        agents={k: AgentSlice(a.team) for k, a in table.agents.items()},
        queues={k: QueueSlice(q.service_level, q.wrapup, bool(getattr(q, "survey", False)))
                for k, q in table.queues.items()},
        calendars={first[0]: CalendarSlice(first[1].timezone)} if first is not None else {},
        default=RuleSlice(table.default.queue), settings=table.settings, records=table.records)
