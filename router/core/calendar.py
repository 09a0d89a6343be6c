"""Opening hours: is a calendar open at a given instant?

Pure: the instant is passed in (seconds since the epoch, UTC); the calendar's
own time zone decides the local day and minute, so daylight-saving changes
and a PBX in another zone do not move the hours.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from router.core.table import Calendar


@lru_cache(maxsize=64)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


#: Calendars whose last answer is kept (`is_open`).
KEPT = 64
# id(calendar) -> (calendar, from, until, open): the answer for the local
# minute [from, until). Why: every arrival asks (its queue's hours, the
# rules' in_hours/out_of_hours), and converting the instant to local time
# was a few percent of a simulated week. Opening hours, holidays and time
# zone changes all go by whole local minutes, so one answer holds for the
# minute; the calendar is held so that its id cannot be reused meanwhile.
_last: dict[int, tuple[Calendar, float, float, bool]] = {}


def is_open(calendar: Calendar, now: float) -> bool:
    kept = _last.get(id(calendar))
    if kept is not None and kept[0] is calendar and kept[1] <= now < kept[2]:
        return kept[3]
    local = datetime.fromtimestamp(now, _zone(calendar.timezone))
    if local.date() in calendar.holidays:
        answer = False
    else:
        minute = local.hour * 60 + local.minute
        weekday = local.weekday()
        answer = any(d == weekday and start <= minute < end for d, start, end in calendar.weekly)
    # The local minute `now` is in, a millisecond short at both ends: the
    # conversion rounds to the microsecond, and an instant that close to a
    # minute's edge is simply worked out again.
    start = now - local.second - local.microsecond / 1e6
    if len(_last) >= KEPT:
        _last.clear()
    _last[id(calendar)] = (calendar, start + 0.001, start + 59.999, answer)
    return answer


#: Days `next_open` looks ahead (a year of holidays and then some).
HORIZON_DAYS = 400


def next_open(calendar: Calendar, now: float) -> float | None:
    """The first instant after `now` at which the calendar opens (`now`
    itself if open); None if it does not open within HORIZON_DAYS."""
    if is_open(calendar, now):
        return now
    zone = _zone(calendar.timezone)
    today = datetime.fromtimestamp(now, zone).date()
    for offset in range(HORIZON_DAYS):
        day = today + timedelta(days=offset)
        if day in calendar.holidays:
            continue
        starts = sorted(start for d, start, _ in calendar.weekly if d == day.weekday())
        for start in starts:
            local = datetime(day.year, day.month, day.day, start // 60, start % 60, tzinfo=zone)
            at = local.timestamp()
            # (a start in a DST gap reads as the instant after it)
            if at > now and is_open(calendar, at):
                return at
    return None
