"""Where `router report` reads from: the records tables (router/records/
schema.py, derived from the row contract) through a read-only engine for a
`--records` URL.

The URL and password rules are the writer's (router/records/store.py:
`sqlite:PATH` or `postgresql://USER@HOST/DB`, the password from
ROUTER_RECORDS_PASSWORD or a file). Unlike the writer, the report never
creates or migrates anything: SQLite is opened read-only (a mistyped path
is an error, not a new empty database), a database without the records
tables or with a newer schema than this code knows is refused with a clear
message instead of an SQL error.
"""

from __future__ import annotations

import os

import sqlalchemy as sa

from router.records.migrate import check_known, current
from router.records.schema import TABLES
from router.records.store import RecordsError, parse_url, read_password

CALLS = TABLES["calls"]
OFFERS = TABLES["offers"]
CALLBACKS = TABLES["callbacks"]
STATES = TABLES["agent_states"]
SESSIONS = TABLES["agent_sessions"]
#: Scores that came after their call was on record (schema revision 0004;
#: a database an older router keeps has none, and the report reads on).
SURVEYS = TABLES["surveys"]
#: The tables a report reads; a database missing one is not a records database.
NEEDED = (CALLS, OFFERS, CALLBACKS, STATES)

__all__ = ["CALLBACKS", "CALLS", "OFFERS", "RecordsError", "SESSIONS", "STATES", "SURVEYS", "open_records"]


def _read_only(url: sa.URL, given: str) -> sa.URL:
    path = os.path.expanduser(url.database)
    if not os.path.isfile(path):
        raise RecordsError(f"--records {given}: no such file {path!r}")
    return sa.URL.create("sqlite+pysqlite", database=f"file:{os.path.abspath(path)}?mode=ro",
                         query={"uri": "true"})


def open_records(url: str, password_file: str | None = None) -> sa.Engine:
    """A read-only engine on the records at `url`, checked to hold the
    records tables at a schema revision this code knows."""
    parsed = parse_url(url, read_password(password_file))
    if parsed.get_backend_name() == "sqlite":
        parsed = _read_only(parsed, url)
        engine = sa.create_engine(parsed)
    else:
        engine = sa.create_engine(parsed, connect_args={"connect_timeout": 10, "application_name": "router-report"})
    try:
        with engine.connect() as conn:
            present = set(sa.inspect(conn).get_table_names())
            missing = [t.name for t in NEEDED if t.name not in present]
            if missing:
                raise RecordsError(f"--records {url}: not a records database (no table {', '.join(missing)})")
            check_known(current(conn))
    except sa.exc.SQLAlchemyError as err:
        engine.dispose()
        raise RecordsError(f"--records {url}: cannot read the records: {reason(err)}") from None
    except RecordsError:
        engine.dispose()
        raise
    return engine


def reason(err: Exception) -> str:
    """The first line of a database error, without SQLAlchemy's wrapping."""
    text = str(getattr(err, "orig", None) or err).strip().splitlines()
    return text[0] if text else type(err).__name__
