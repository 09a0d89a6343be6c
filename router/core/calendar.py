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


def is_open(calendar: Calendar, now: float) -> bool:
    local = datetime.fromtimestamp(now, _zone(calendar.timezone))
    if local.date() in calendar.holidays:
        return False
    minute = local.hour * 60 + local.minute
    weekday = local.weekday()
    return any(d == weekday and start <= minute < end for d, start, end in calendar.weekly)


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
