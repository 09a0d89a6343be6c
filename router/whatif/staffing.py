"""The staffing plan: per interval of a profile's day and per queue, the
agents Erlang C says are needed for the queue's target, the agents the
roster has on duty for it, and the service level the simulation measured
with that roster.

Erlang C sees one queue with its own agents; a real centre shares agents
between queues (one agent, several skills) and escalates calls to wider
groups, which is why the simulated figure is beside it: it runs the real
rules with the real roster. Calls go to the queue their rule picks at the
middle of the interval (calendars included; a queue that is closed then
needs nobody). Handle time = mean talk + the longer of the profile's mean
after-call work and the queue's wrap-up + the mean answer delay.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass

from router.core.calendar import is_open
from router.core.classify import classify
from router.core.erlang import required_agents, service_level
from router.core.events import CallWaiting
from router.whatif.profile import Profile, Roster
from router.whatif.run import Outcome


@dataclass(frozen=True)
class Row:
    interval: str  # "09:00-09:30"
    queue: str
    calls: float  # offered in the interval (profile)
    aht: float  # seconds
    required: int | None  # Erlang C; None: more than the limit
    rostered: int  # on duty at mid-interval and eligible at the queue's first step
    erlang_sl: float  # Erlang C service level with the rostered agents (%)
    simulated_sl: float  # measured (%); NaN when no call finished
    simulated_calls: int


def _clock(seconds: float) -> str:
    return f"{int(seconds // 3600):02d}:{int(seconds % 3600 // 60):02d}"


def plan(table, profile: Profile, weekday: int, day0: float, outcome: Outcome | None) -> list[Row]:
    """The rows of the plan for one weekday starting at timestamp `day0`,
    with the simulated column from `outcome` (a run of that day) if given."""
    roster = Roster.of(profile, table, weekday)
    mean_delay = profile.answer_delay.average()
    rows = []
    for index in range(profile.intervals):
        start = index * profile.interval
        mid = day0 + start + profile.interval / 2
        load: dict[str, list[float]] = {}  # queue -> [calls, calls x handle time]
        for ct in profile.calls:
            calls = ct.arrivals[weekday][index]
            if not calls:
                continue
            rule = classify(table, CallWaiting("plan", dnis=ct.dnis, caller_num=ct.caller.rstrip("*"),
                                               variables=ct.variables), mid)
            queue = table.queues[rule.queue]
            if queue.hours is not None and not is_open(table.calendars[queue.hours], mid):
                continue
            handle = ct.talk.average() + max(ct.wrapup.average(), queue.wrapup) + mean_delay
            entry = load.setdefault(rule.queue, [0.0, 0.0])
            entry[0] += calls
            entry[1] += calls * handle
        for name, queue in table.queues.items():
            calls, work = load.get(name, (0.0, 0.0))
            on_duty = sum(1 for a in table.agents.values()
                          if roster.on_duty(a.id, start + profile.interval / 2) and queue.steps[0].eligible(a))
            if not calls and not on_duty:
                continue
            aht = work / calls if calls else 0.0
            target = queue.service_level
            rate = calls / profile.interval
            required = required_agents(rate, aht, target.percent / 100, target.within) if calls else 0
            erlang = 100 * service_level(rate * aht, on_duty, aht, target.within) if calls else math.nan
            sim_sl, sim_calls = math.nan, 0
            if outcome is not None and index in outcome.by_interval:
                r = outcome.by_interval[index].queues[name]
                sim_calls = r.offered
                sim_sl = math.nan if r.service_level() is None else r.service_level()
            rows.append(Row(f"{_clock(start)}-{_clock(start + profile.interval)}", name, calls, aht,
                            required, on_duty, erlang, sim_sl, sim_calls))
    return rows


HEADER = ("interval", "queue", "calls", "aht_s", "required", "rostered", "erlang_c_sl", "simulated_sl",
          "simulated_calls")


def table_text(rows: list[Row]) -> str:
    out = [f"{'interval':<11} {'queue':<11} {'calls':>6} {'AHT':>6} {'need':>5} {'have':>5} "
           f"{'ErlangC':>8} {'sim SL':>7} {'(calls)':>8}"]
    for r in rows:
        if not r.calls:
            continue
        need = "-" if r.required is None else str(r.required)
        short = " <" if r.required is not None and r.rostered < r.required else ""
        out.append(f"{r.interval:<11} {r.queue:<11} {r.calls:6.0f} {r.aht:5.0f}s {need:>5} {r.rostered:5d} "
                   f"{_pct(r.erlang_sl):>8} {_pct(r.simulated_sl):>7} {r.simulated_calls:8d}{short}")
    return "\n".join(out)


def csv_text(rows: list[Row]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(HEADER)
    for r in rows:
        writer.writerow((r.interval, r.queue, f"{r.calls:g}", f"{r.aht:.1f}",
                         "" if r.required is None else r.required, r.rostered,
                         "" if math.isnan(r.erlang_sl) else f"{r.erlang_sl:.1f}",
                         "" if math.isnan(r.simulated_sl) else f"{r.simulated_sl:.1f}", r.simulated_calls))
    return buffer.getvalue()


def _pct(x: float) -> str:
    return "-" if math.isnan(x) else f"{x:.0f}%"
