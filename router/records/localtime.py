"""The centre's local time for the records: `local_date`/`local_minute` of a
moment, and the quarter-hour cuts of the agent intervals.

The zone is the service level's (core/sla.py `SlaBook.tz`): the first
calendar's, else UTC. Every time zone in use today is offset from UTC by a
whole number of quarter hours, so the local quarter hours (00, 15, 30, 45)
fall on multiples of 900 s of UNIX time: the cuts need no zone at all, and
stay exact across a DST change.
"""

from __future__ import annotations

import math
from datetime import datetime
from zoneinfo import ZoneInfo

from router.core.table import RoutingTable

QUARTER = 900.0


def zone_of(table: RoutingTable) -> ZoneInfo:
    """The centre's zone: the first calendar's, else UTC (as SlaBook.tz)."""
    return ZoneInfo(next((c.timezone for c in table.calendars.values()), "UTC"))


def local_stamp(t: float, tz: ZoneInfo) -> tuple[str, int]:
    """(YYYY-MM-DD, minutes since local midnight) of UNIX time `t` in `tz`."""
    local = datetime.fromtimestamp(t, tz)
    return local.strftime("%Y-%m-%d"), local.hour * 60 + local.minute


def quarter_cuts(start: float, end: float) -> list[tuple[float, float]]:
    """[start, end) cut at every quarter hour: pieces that tile it exactly
    (each piece's end is the next one's start; an empty interval gives no
    piece)."""
    if end <= start:
        return []
    pieces = []
    at = start
    edge = math.floor(start / QUARTER) * QUARTER + QUARTER
    while edge < end:
        pieces.append((at, edge))
        at = edge
        edge += QUARTER
    pieces.append((at, end))
    return pieces
