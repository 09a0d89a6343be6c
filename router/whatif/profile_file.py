"""Reading a traffic profile from YAML, as strictly as the config.

The same pipeline as `router.config`: YAML composed into located nodes
(nothing guessed, duplicate keys and tags refused), then typed accessors
that report every problem as `file:line:col: key.path: message` and carry
on, so one run shows all of them. The format is in docs/WHATIF.md.

    profile, problems = read_profile("examples/traffic.yaml", table)
"""

from __future__ import annotations

import os
import re

from router.config import nodes
from router.config.errors import Problem, Report, join_path, quote
from router.config.model import Where
from router.config.schema import DAYS, DURATION, NAME, PERIOD, POINTS, TEXT, Kind, Reader, choice
from router.whatif.profile import DAY, KINDS, NEVER, ZERO, CallType, Dist, Profile, Shift

SECTIONS = ("traffic", "agents", "roster", "callbacks")
INTERVALS = {"15m": 900.0, "30m": 1800.0, "1h": 3600.0}


def _count(text: str) -> float:
    if not re.fullmatch(r"\d+(?:\.\d+)?", text):
        raise ValueError(f"{quote(text)} is not a number of calls; write e.g. 12 or 12.5")
    return float(text)


COUNT = Kind("a number of calls such as 12", _count)
INTERVAL = choice(*INTERVALS)
DIST_KIND = choice(*KINDS)


def read_dist(r: Reader, node, path: str, *, patience: bool = False) -> Dist | None:
    """`{dist: lognormal, mean: 3m, sd: 2m}`, `{dist: exponential, mean: 150s}`,
    `{dist: empirical, values: [30s, 2m, ...]}`, `{dist: fixed, mean: 10s}`;
    for patience also `{dist: never}`."""
    f = r.fields(node, path, ("dist", "mean", "sd", "values"), required=("dist",),
                 what="a distribution such as {dist: exponential, mean: 150s}")
    if f is None or "dist" not in f:
        return None
    kind = r.value(f["dist"], join_path(path, "dist"), DIST_KIND)
    if kind is None:
        return None
    needs = {"exponential": ("mean",), "lognormal": ("mean", "sd"), "fixed": ("mean",),
             "empirical": ("values",), "never": ()}[kind]
    ok = True
    if kind == "never" and not patience:
        r.error(f["dist"], join_path(path, "dist"), "'never' is only for patience (callers who never give up)")
        ok = False
    for key in ("mean", "sd", "values"):
        if key in f and key not in needs:
            r.error(f[key], join_path(path, key), f"a {kind} distribution takes no {quote(key)}")
            ok = False
        elif key not in f and key in needs:
            r.error(node, path, f"a {kind} distribution needs {quote(key)}")
            ok = False
    mean = r.value(f.get("mean"), join_path(path, "mean"), DURATION) if "mean" in f else 0.0
    sd = r.value(f.get("sd"), join_path(path, "sd"), DURATION) if "sd" in f else 0.0
    values = []
    for item_path, item in r.items(f.get("values"), join_path(path, "values"), "a list of durations",
                                   single=False):
        v = r.value(item, item_path, DURATION)
        ok = ok and v is not None
        values.append(v)
    if not ok or mean is None or sd is None:
        return None
    if kind == "lognormal" and mean <= 0:
        r.error(f["mean"], join_path(path, "mean"), "a lognormal mean must be above 0s")
        return None
    if kind == "empirical" and not values:
        r.error(f["values"], join_path(path, "values"), "an empirical distribution needs at least one value")
        return None
    return Dist(kind, mean, sd, tuple(values))


def _arrivals(r: Reader, node, path: str, interval: float) -> tuple[tuple[float, ...], ...]:
    """`{mon-fri: {"08:30-12:00": 40, ...}, sat: {...}}`: calls per interval."""
    per_day = int(DAY // interval)
    days: list[list[float]] = [[0.0] * per_day for _ in range(7)]
    claimed: dict[tuple[int, int], str] = {}
    for key, key_node, value_node in r.entries(node, path, "a mapping of days: {period: calls}"):
        day_path = join_path(path, key)
        weekdays = r.value(key_node, day_path, DAYS)
        for period, p_node, c_node in r.entries(value_node, day_path, "a mapping of period: calls per interval"):
            p_path = join_path(day_path, period)
            span = r.value(p_node, p_path, PERIOD)
            calls = r.value(c_node, p_path, COUNT)
            if span is None or calls is None or weekdays is None:
                continue
            first, last = span[0] * 60 / interval, span[1] * 60 / interval
            if first != int(first) or last != int(last):
                r.error(p_node, p_path, f"{quote(period)} does not start and end on a "
                                        f"{int(interval // 60)}-minute interval boundary")
                continue
            for day in weekdays:
                for i in range(int(first), int(last)):
                    if (day, i) in claimed:
                        r.error(p_node, p_path, f"{quote(period)} overlaps {claimed[(day, i)]} "
                                                "for the same day")
                        break
                    claimed[(day, i)] = f"{key} {period}"
                    days[day][i] = calls
    return tuple(tuple(d) for d in days)


def _behaviour(r: Reader, f: dict, path: str, defaults: dict) -> dict:
    out = dict(defaults)
    for key in ("talk", "wrapup", "patience"):
        if key in f:
            out[key] = read_dist(r, f[key], join_path(path, key), patience=key == "patience")
    return out


def _calls(r: Reader, node, path: str, interval: float, defaults: dict) -> list[CallType]:
    out = []
    for name, key_node, value_node in r.entries(node, path, "a mapping of call type: settings"):
        p = join_path(path, name)
        r.value(key_node, p, NAME)
        f = r.fields(value_node, p, ("dnis", "caller", "vars", "arrivals", "talk", "wrapup", "patience"),
                     required=("arrivals",))
        if f is None:
            continue
        variables = tuple((k, r.text(v, join_path(join_path(p, "vars"), k)))
                          for k, _, v in r.entries(f.get("vars"), join_path(p, "vars"), "a mapping of name: value"))
        arrivals = _arrivals(r, f.get("arrivals"), join_path(p, "arrivals"), interval)
        how = _behaviour(r, f, p, defaults)
        if None in how.values():
            continue
        out.append(CallType(name, r.text(f.get("dnis"), join_path(p, "dnis")),
                            r.text(f.get("caller"), join_path(p, "caller")), variables, arrivals,
                            how["talk"], how["wrapup"], how["patience"]))
    return out


def _roster(r: Reader, node, path: str) -> list[Shift]:
    out = []
    for item_path, item in r.items(node, path, "a list of shifts", single=False):
        f = r.fields(item, item_path, ("agents", "team", "everyone", "days", "shift", "breaks"),
                     required=("days", "shift"))
        if f is None:
            continue
        who = [k for k in ("agents", "team", "everyone") if k in f]
        if len(who) != 1:
            r.error(item, item_path, "give exactly one of 'agents', 'team' or 'everyone: true'")
            continue
        agents = tuple(r.value(n, p, NAME) for p, n in r.items(f.get("agents"), join_path(item_path, "agents")))
        team = r.value(f["team"], join_path(item_path, "team"), NAME) if "team" in f else None
        everyone = "everyone" in f and r.value(f["everyone"], join_path(item_path, "everyone"),
                                               choice("true")) == "true"
        days = r.value(f["days"], join_path(item_path, "days"), DAYS)
        span = r.value(f["shift"], join_path(item_path, "shift"), PERIOD)
        breaks = []
        for b_path, b in r.items(f.get("breaks"), join_path(item_path, "breaks"), "a list of periods"):
            found = r.value(b, b_path, PERIOD)
            if found and span and not span[0] <= found[0] < found[1] <= span[1]:
                r.error(b, b_path, f"break {quote(b.text)} is not inside the shift")
            elif found:
                breaks.append((found[0] * 60.0, found[1] * 60.0))
        if None in agents or days is None or span is None or ("team" in f and team is None) \
                or ("everyone" in f and not everyone):
            continue
        out.append(Shift(agents, team, everyone, tuple(sorted(set(days))), span[0] * 60.0, span[1] * 60.0,
                         tuple(breaks), Where.of(item, item_path)))
    return out


def parse_profile(path: str, data: bytes, report: Report) -> Profile | None:
    """The profile in `data` (the bytes of file `path`), problems into `report`."""
    text = nodes.decode(path, data, report)
    root = None if text is None else nodes.parse(path, text, report)[0]
    if root is None:
        return None
    r = Reader(report)
    top = r.fields(root, "", SECTIONS, required=("traffic",), what="a traffic profile")
    t = r.fields(top.get("traffic"), "traffic", ("interval", "timezone", "defaults", "calls"),
                 required=("calls",)) if top else None
    if t is None:
        return None
    interval = INTERVALS[r.value(t["interval"], "traffic.interval", INTERVAL) or "30m"] \
        if "interval" in t else INTERVALS["30m"]
    d = r.fields(t.get("defaults"), "traffic.defaults", ("talk", "wrapup", "patience")) or {}
    defaults = _behaviour(r, d, "traffic.defaults",
                          {"talk": Dist("exponential", 150.0), "wrapup": ZERO, "patience": NEVER})
    calls = _calls(r, t.get("calls"), "traffic.calls", interval, defaults)
    a = r.fields(top.get("agents"), "agents", ("answer_delay", "no_answer")) or {}
    delay = read_dist(r, a["answer_delay"], "agents.answer_delay") if "answer_delay" in a \
        else Dist("fixed", 3.0)
    no_answer = r.value(a["no_answer"], "agents.no_answer", POINTS) if "no_answer" in a else 0.0
    roster = tuple(_roster(r, top["roster"], "roster")) if "roster" in top else None
    cb = r.fields(top.get("callbacks"), "callbacks", ("reached",)) or {}
    reached = r.value(cb["reached"], "callbacks.reached", POINTS) if "reached" in cb else 100.0
    if reached is not None and not 0.0 < reached <= 100.0:
        r.error(cb["reached"], "callbacks.reached", "must be more than 0% and at most 100% "
                "(the share of callback dials that reach the customer)")
    zone = r.value(t["timezone"], "traffic.timezone", TEXT) if "timezone" in t else None
    if zone is not None:
        from zoneinfo import ZoneInfo

        try:
            ZoneInfo(zone)
        except (ValueError, KeyError, OSError):
            r.error(t["timezone"], "traffic.timezone", f"unknown time zone {quote(zone)}; write e.g. Asia/Shanghai")
    if report.has_errors or delay is None or no_answer is None or reached is None:
        return None
    return Profile(interval, tuple(calls), delay, no_answer / 100.0, roster, zone, path,
                   callback_reached=reached / 100.0)


def check_roster(profile: Profile, table, report: Report) -> None:
    """Agents and teams of the roster must be in the config."""
    for shift in profile.roster or ():
        w = shift.where
        if shift.team is not None and shift.team not in table.teams:
            report.add(w.file, w.line, w.col, join_path(w.path, "team"),
                       f"team {quote(shift.team)} is not in the config")
        for agent_id in shift.agents:
            if agent_id not in table.agents:
                report.add(w.file, w.line, w.col, join_path(w.path, "agents"),
                           f"agent {quote(agent_id)} is not in the config")


def read_profile(path: str | os.PathLike, table=None) -> tuple[Profile | None, list[Problem]]:
    """(profile, errors): the profile at `path`, checked against `table`
    (the config it will run with) when given. Never raises for bad input."""
    path = os.fspath(path)
    report = Report()
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as exc:
        report.add(path, 0, 0, "", f"cannot read: {exc.strerror or exc}")
        return None, report.split()[0]
    profile = parse_profile(path, data, report)
    if profile is not None and table is not None:
        check_roster(profile, table, report)
    errors = report.split()[0]
    return (None if errors else profile), errors
