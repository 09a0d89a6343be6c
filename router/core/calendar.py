"""Opening hours: is a calendar open at a given instant?

Pure: the instant is passed in (seconds since the epoch, UTC); the calendar's
own time zone decides the local day and minute, so daylight-saving changes
and a PBX in another zone do not move the hours.
"""

from __future__ import annotations

from datetime import datetime
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
