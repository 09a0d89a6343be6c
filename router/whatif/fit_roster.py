"""The roster of a fitted profile: who is logged in when, from the agent
records.

The agent-state intervals tile each login session exactly and are cut at
every local quarter hour (router/records/model.py), so the database sums,
per agent, date and profile interval, the logged-in time and the time away
(paused for anything but after-call work, or unreachable) without any
time-zone arithmetic. Then per agent and weekday, an interval is *logged
in* when on at least half of that weekday's dates in the range the agent
was logged in for at least half of it, and *on duty* likewise with the
time away taken off. The shift runs from the first logged-in interval to
the end of the last; the intervals inside it not on duty are its breaks
(a logout in the middle of the day reads as a break). Agents with the same
days, shift and breaks share one roster entry.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date

from sqlalchemy import and_, case, func, select

from router.whatif.profile import Shift
from router.whatif.records_db import ACW, STATES, days

ON, AWAY, OFF = "on", "away", "off"


def _day_pattern(status: list[str], interval: float) -> tuple[float, float, tuple] | None:
    """(start, end, breaks) in seconds from midnight of one weekday's
    statuses per interval; None when never logged in."""
    logged = [i for i, s in enumerate(status) if s != OFF]
    if not logged:
        return None
    first, last = logged[0], logged[-1] + 1
    breaks, i = [], first
    while i < last:
        if status[i] == ON:
            i += 1
            continue
        j = i
        while j < last and status[j] != ON:
            j += 1
        breaks.append((i * interval, j * interval))
        i = j
    return first * interval, last * interval, tuple(breaks)


def fit_roster(conn, first: date, last: date, interval: float, table=None) -> tuple[tuple[Shift, ...] | None, list[str]]:
    """(the roster, notes). None (every agent all day) when no agent
    state is on record in the range; agents not in `table` (when given)
    are left out, with a note."""
    s = STATES.c
    step = int(interval // 60)
    slot = (s.local_minute // step).label("slot")
    away = func.sum(case((and_(s.state.in_(("paused", "unreachable")), s.reason != ACW), s.duration),
                         else_=0.0))
    rows = conn.execute(select(s.agent_id, s.local_date, slot, func.sum(s.duration), away)
                        .where(and_(s.local_date >= first.isoformat(), s.local_date <= last.isoformat()))
                        .group_by(s.agent_id, s.local_date, slot)).all()
    notes: list[str] = []
    if not rows:
        notes.append("no agent states on record in the range: the profile has no roster "
                     "(every configured agent logged in all day)")
        return None, notes
    per_weekday = Counter(d.weekday() for d in days(first, last))
    half = interval / 2
    # (agent, weekday, slot) -> [dates logged in, dates on duty]
    tally: dict[tuple[str, int, int], list[int]] = defaultdict(lambda: [0, 0])
    for agent, local_date, index, logged, gone in rows:
        if logged >= half:
            t = tally[(agent, date.fromisoformat(local_date).weekday(), int(index))]
            t[0] += 1
            t[1] += logged - gone >= half
    agents = sorted({a for a, _, _ in tally})
    if table is not None:
        unknown = [a for a in agents if a not in table.agents]
        if unknown:
            notes.append(f"{len(unknown)} agent(s) on record are not in the config, left out of the roster: "
                         + ", ".join(unknown[:10]) + (" ..." if len(unknown) > 10 else ""))
        agents = [a for a in agents if a in table.agents]
    per_day = int(86_400 // interval)
    entries: dict[tuple, list[str]] = defaultdict(list)
    for agent in agents:
        by_pattern: dict[tuple, list[int]] = defaultdict(list)
        for weekday in range(7):
            n = per_weekday[weekday]
            status = []
            for index in range(per_day):
                in_, on = tally.get((agent, weekday, index), (0, 0))
                status.append(ON if n and 2 * on >= n and on else AWAY if n and 2 * in_ >= n and in_ else OFF)
            pattern = _day_pattern(status, interval)
            if pattern is not None:
                by_pattern[pattern].append(weekday)
        for pattern, weekdays in by_pattern.items():
            entries[(tuple(weekdays), pattern)].append(agent)
    roster = [Shift(tuple(members), None, False, weekdays, start, end, breaks)
              for (weekdays, (start, end, breaks)), members in entries.items()]
    roster.sort(key=lambda sh: (sh.start, sh.days, sh.agents))
    return tuple(roster), notes
