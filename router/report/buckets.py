"""The time buckets of a report (`--by`), all in the centre's local time.

Rows carry `local_date` and `local_minute` (minutes since local midnight)
of their start, so SQL groups by the date and `local_minute - local_minute
% width` without converting time zones; weeks (ISO, Monday first) and
months are rolled up in Python from the days, over the small grouped
result. On the day the clocks go back, the repeated hour's rows share the
same local minutes and so the same buckets; on the day they go forward the
skipped hour has none.

No SQLAlchemy import here: the CLI's parser reads BY and VIEWS without
loading the database layer.
"""

from __future__ import annotations

from datetime import date

#: What a report shows (--what): per queue, per agent, per team.
VIEWS = ("queues", "agents", "teams")
#: --by values, finest first.
BY = ("interval15", "interval30", "hour", "day", "week", "month")
#: Minutes per bucket for the buckets inside a day.
WIDTH = {"interval15": 15, "interval30": 30, "hour": 60}
#: The label of the whole period's row.
TOTAL = "total"


def group_columns(table, by: str) -> list:
    """The GROUP BY columns for `by`: the local date, and for the buckets
    inside a day the first minute of the bucket (labelled `day`, `minute`)."""
    cols = [table.c.local_date.label("day")]
    if by in WIDTH:
        minute = table.c.local_minute
        cols.append((minute - minute % WIDTH[by]).label("minute"))
    return cols


def label(by: str, day: str, minute: int | None) -> str:
    """The bucket's name: `2026-11-23 09:15` (intervals and hours),
    `2026-11-23` (day), `2026-W48` (ISO week), `2026-11` (month)."""
    if by in WIDTH:
        return f"{day} {int(minute) // 60:02d}:{int(minute) % 60:02d}"
    if by == "week":
        year, week, _ = date.fromisoformat(day).isocalendar()
        return f"{year}-W{week:02d}"
    if by == "month":
        return day[:7]
    return day


def key_of(by: str, row) -> str:
    """The label of a grouped result row (with `day`, and `minute` when by
    an interval)."""
    return label(by, row.day, row.minute if by in WIDTH else None)
