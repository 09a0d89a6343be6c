"""Reading the call records (router/records/) for `router traffic fit` and
`router simulate --replay`: open an existing records database read-only
(never create or migrate one: a mistyped path must not leave an empty
database behind), and the date range checks both commands share.
"""

from __future__ import annotations

import os
from datetime import date, timedelta

from sqlalchemy import inspect
from sqlalchemy.engine import Engine

from router.records.schema import TABLES


class RecordsInputError(Exception):
    """The records or the dates given cannot be used; the message says why."""


def open_records(url: str, password: str | None = None) -> Engine:
    """An engine on the existing records database at `url` (sqlite:PATH or
    postgresql://...); RecordsInputError if it is missing or holds no
    records tables."""
    from router.records.store import RecordsError, make_engine, parse_url

    try:
        parsed = parse_url(url, password)
    except RecordsError as err:
        raise RecordsInputError(str(err)) from None
    if parsed.get_backend_name() == "sqlite" and not os.path.isfile(os.path.expanduser(parsed.database)):
        raise RecordsInputError(f"{url}: no such records database ({parsed.database} does not exist)")
    engine = make_engine(parsed)
    try:
        names = set(inspect(engine).get_table_names())
    except Exception as err:  # noqa: BLE001 (the driver's own message: unreachable, refused, not a database)
        engine.dispose()
        first = (str(err).strip().splitlines() or [""])[0]
        raise RecordsInputError(f"{url}: cannot read: {type(err).__name__}: {first}") from None
    missing = [t for t in ("calls", "offers", "agent_states") if t not in names]
    if missing:
        engine.dispose()
        raise RecordsInputError(f"{url}: not a records database (no table {', '.join(missing)}; "
                                "the router writes them with --records)")
    return engine


def parse_day(text: str, flag: str) -> date:
    """A YYYY-MM-DD date of a flag, or a clear error."""
    try:
        return date.fromisoformat(text)
    except (TypeError, ValueError):
        raise RecordsInputError(f"{flag} {text!r} is not a date such as 2026-11-24") from None


def date_range(first: str, last: str) -> tuple[date, date]:
    """(--from, --to) as dates, both included; --to before --from is refused."""
    a, b = parse_day(first, "--from"), parse_day(last, "--to")
    if b < a:
        raise RecordsInputError(f"--to {last} is before --from {first}")
    return a, b


def days(first: date, last: date) -> list[date]:
    """Every date from `first` to `last`, both included."""
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


CALLS, OFFERS, STATES, SESSIONS, CALLBACKS = (TABLES[n] for n in ("calls", "offers", "agent_states", "agent_sessions",
                                                               "callbacks"))
#: The pause the simulation (and a centre's after-call work) uses: not a break.
ACW = "after-call work"
