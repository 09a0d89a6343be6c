"""Schemas of the simple sections: settings, records, skills, teams, agents
and calendars (docs/RULES.md). Queues and routing are in `queues.py`."""

from __future__ import annotations

import zoneinfo

from router.config import values
from router.config.errors import did_you_mean, join_path, quote
from router.config.model import AgentSpec, Where
from router.config.nodes import Invalid, Node, Scalar, Seq
from router.config.schema import (BOOLEAN, DATE, DAYS, DIRECTORY, ENDPOINT, NAME, PERIOD, POINTS, TEXT, Kind,
                                  Reader, choice, count, describe, duration)
from router.core.table import Calendar, Enforcement, RecordsPolicy, Settings, Team


def read_settings(r: Reader, node: Node, path: str) -> Settings:
    found = r.fields(node, path, ["no_answer_rest", "max_no_answer", "service_level", "recordings_dir"],
                     what="a mapping (no_answer_rest:, max_no_answer:, service_level:, recordings_dir:)") or {}
    rest = r.value(found.get("no_answer_rest"), join_path(path, "no_answer_rest"), duration())
    misses = r.value(found.get("max_no_answer"), join_path(path, "max_no_answer"), count(0, 100))
    recordings = r.value(found.get("recordings_dir"), join_path(path, "recordings_dir"), DIRECTORY)
    defaults = Settings()
    enforcement = defaults.enforcement
    if "service_level" in found:
        enforcement = read_enforcement(r, found["service_level"], join_path(path, "service_level"))
    return Settings(
        no_answer_rest=defaults.no_answer_rest if rest is None else rest,
        default_max_no_answer=defaults.default_max_no_answer if misses is None else misses,
        enforcement=enforcement,
        recordings_dir=defaults.recordings_dir if recordings is None else recordings,
    )


#: The most days `records.keep_days` may keep: a century, so that a typo
#: such as 4000000 is caught rather than taken for "never prune".
MAX_KEEP_DAYS = 36500


def _keep_days(text: str) -> int:
    if text.strip().lstrip("+-") == "0" or text.strip().lower() in ("never", "off", "forever"):
        # 0 is the flag's "never prune"; in the config it would read as "keep nothing"
        raise ValueError(f"{quote(text)}: keep at least 1 day; to never prune, run the router with "
                         "--records-keep-days 0 (e.g. when a cron job prunes)")
    return values.count_parser(1, MAX_KEEP_DAYS)(text)


KEEP_DAYS = Kind(f"a whole number of days from 1 to {MAX_KEEP_DAYS}", _keep_days)


def read_records(r: Reader, node: Node, path: str) -> RecordsPolicy:
    """records: how the call and agent records are kept (docs/RECORDS.md)."""
    found = r.fields(node, path, ["keep_days"], what="a mapping (keep_days:)") or {}
    days = r.value(found.get("keep_days"), join_path(path, "keep_days"), KEEP_DAYS)
    return RecordsPolicy() if days is None else RecordsPolicy(keep_days=days)


def read_enforcement(r: Reader, node: Node, path: str) -> Enforcement:
    """settings.service_level: how routing acts on the targets."""
    keys = ["order", "priority_weight", "early_escalation", "protection", "reserve", "short_abandon",
            "day_start_hour"]
    found = r.fields(node, path, keys, what="a mapping (" + ", ".join(k + ":" for k in keys) + ")") or {}
    kinds = {"order": choice("deadline", "arrival"), "priority_weight": duration(),
             "early_escalation": BOOLEAN, "protection": BOOLEAN, "reserve": POINTS,
             "short_abandon": duration(), "day_start_hour": count(0, 23)}
    read = {key: r.value(found.get(key), join_path(path, key), kinds[key]) for key in keys}
    return Enforcement(**{key: value for key, value in read.items() if value is not None})


def read_skills(r: Reader, node: Node, path: str) -> tuple[dict[str, str], dict[str, Where]] | None:
    """name -> description, and where each skill is defined (for warnings)."""
    read = r.named(node, path, "a mapping of skill: description",
                   lambda name, key_node, value_node, key_path:
                   (r.text(value_node, key_path), Where.of(key_node, key_path)))
    if read is None:
        return None
    return ({name: description for name, (description, _) in read.items()},
            {name: where for name, (_, where) in read.items()})


def read_teams(r: Reader, node: Node, path: str) -> dict[str, Team] | None:
    def team(name: str, key_node, value_node: Node, key_path: str) -> Team:
        found = r.fields(value_node, key_path, ["title", "leader"]) or {}
        title = r.text(found.get("title"), join_path(key_path, "title"))
        leader = r.ref("agent", found.get("leader"), join_path(key_path, "leader"))
        return Team(name, title, leader)

    return r.named(node, path, "a mapping of team: {title, leader}", team)


AGENT_KEYS = ["id", "name", "endpoint", "team", "skills", "max_no_answer", "wrapup", "pbx"]


def read_agents(r: Reader, node: Node, path: str) -> list[AgentSpec] | None:
    if isinstance(node, Invalid):
        return None
    if not isinstance(node, Seq) and not (isinstance(node, Scalar) and node.empty):
        r.error(node, path, f"expected a list of agents (- id: ...), got {describe(node)}")
        return None
    agents: list[AgentSpec] = []
    for item_path, item in r.items(node, path, "a list of agents", single=False):
        found = r.fields(item, item_path, AGENT_KEYS, required=["id", "endpoint"],
                         what="an agent (id:, name:, endpoint:, ...)")
        if found is None:
            continue
        agent = AgentSpec(Where.of(item, item_path))
        if "id" in found:
            agent.id = r.value(found["id"], join_path(item_path, "id"), NAME)
            agent.id_where = Where.of(found["id"], join_path(item_path, "id"))
        agent.name = r.text(found.get("name"), join_path(item_path, "name"))
        if "endpoint" in found:
            agent.endpoint = r.value(found["endpoint"], join_path(item_path, "endpoint"), ENDPOINT)
            agent.endpoint_where = Where.of(found["endpoint"], join_path(item_path, "endpoint"))
        agent.team = r.ref("team", found.get("team"), join_path(item_path, "team"))
        agent.skills = r.levels(found.get("skills"), join_path(item_path, "skills"))
        agent.max_no_answer = r.value(found.get("max_no_answer"), join_path(item_path, "max_no_answer"),
                                      count(0, 100))
        agent.wrapup = r.value(found.get("wrapup"), join_path(item_path, "wrapup"), duration())
        agent.pbx = r.value(found.get("pbx"), join_path(item_path, "pbx"), NAME)
        agents.append(agent)
    return agents


def _timezone(r: Reader, node: Node | None, path: str) -> str | None:
    name = r.value(node, path, TEXT)
    if name is None:
        return None
    try:
        zoneinfo.ZoneInfo(name)
        return name
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        hint = did_you_mean(name, sorted(zoneinfo.available_timezones()))
        r.error(node, path, f"unknown time zone {quote(name)}{hint or '; write an IANA name such as Asia/Shanghai'}")
        return None


def _span(period: tuple[int, int]) -> str:
    (h1, m1), (h2, m2) = divmod(period[0], 60), divmod(period[1], 60)
    return f"{h1:02d}:{m1:02d}-{h2:02d}:{m2:02d}"


def _weekly(r: Reader, node: Node | None, path: str) -> list[tuple[int, int, int]]:
    periods: list[tuple[int, int, int]] = []
    named: dict[int, tuple[str, int]] = {}  # weekday -> (key that named it, its line)
    for key, key_node, value_node in r.entries(node, path, "a mapping of day: hours"):
        key_path = join_path(path, key)
        days = r.value(key_node, key_path, DAYS)
        hours: list[tuple[int, int]] = []
        if isinstance(value_node, Scalar) and value_node.text.strip().lower() == "closed":
            pass  # explicitly closed: no periods, but the days still count as named
        else:
            for item_path, item in r.items(value_node, key_path, "opening hours"):
                period = r.value(item, item_path, PERIOD)
                if period is None:
                    continue
                clash = next((p for p in hours if p[0] < period[1] and period[0] < p[1]), None)
                if clash:
                    r.error(item, item_path, f"{quote(item.text)} overlaps {quote(_span(clash))}")
                    continue
                hours.append(period)
        for day in days or []:
            if day in named:
                first, line = named[day]
                r.error(key_node, key_path, f"{values.DAYS[day]} is named twice: "
                                            f"already by {quote(first)} at line {line}")
                continue
            named[day] = (key, key_node.line)
            periods.extend((day, start, end) for start, end in hours)
    return sorted(periods)


def read_calendars(r: Reader, node: Node, path: str) -> dict[str, Calendar] | None:
    def calendar(name: str, key_node, value_node: Node, key_path: str) -> Calendar | None:
        found = r.fields(value_node, key_path, ["timezone", "weekly", "holidays"],
                         required=["timezone", "weekly"])
        if found is None:
            return None
        timezone = _timezone(r, found.get("timezone"), join_path(key_path, "timezone"))
        weekly = _weekly(r, found.get("weekly"), join_path(key_path, "weekly"))
        holidays = [r.value(item, item_path, DATE)
                    for item_path, item in r.items(found.get("holidays"), join_path(key_path, "holidays"),
                                                   "a list of dates")]
        return Calendar(name, timezone or "", tuple(weekly), frozenset(d for d in holidays if d is not None))

    return r.named(node, path, "a mapping of calendar: {timezone, weekly, holidays}", calendar)
