"""Where `router report` reads from: the records tables as SQLAlchemy Core
table clauses derived from the row contract (router/records/model.py), and
a read-only engine for a `--records` URL.

The report needs only the tables' names and columns, which the contract
fixes, so it does not depend on how the writer declares its indexes or
migrations; it refuses a database without the records tables with a clear
message instead of an SQL error.
"""

from __future__ import annotations

import os
from dataclasses import fields

import sqlalchemy as sa

from router.records import model

_TYPES = {"str": sa.String, "float": sa.Float, "int": sa.Integer, "bool": sa.Boolean}


class RecordsError(Exception):
    """The records cannot be read (no such file, no records tables, server
    unreachable): printed as `router report: message`."""


def _table(row_type: type) -> sa.TableClause:
    # annotations are strings ("str | None"): the first word is the type
    columns = [sa.column(f.name, _TYPES[f.type.split("|")[0].strip()]()) for f in fields(row_type)]
    return sa.table(row_type.TABLE, *columns)


CALLS = _table(model.CallRow)
STEPS = _table(model.CallStepRow)
OFFERS = _table(model.OfferRow)
CALLBACKS = _table(model.CallbackRow)
STATES = _table(model.AgentStateRow)
SESSIONS = _table(model.AgentSessionRow)
#: The tables a report reads; a database missing one is not a records database.
NEEDED = (CALLS, OFFERS, CALLBACKS, STATES)


def engine_url(url: str) -> sa.URL | str:
    """The SQLAlchemy URL for a `--records` value: `sqlite:PATH` (the
    router's own form), `sqlite:///PATH`, or `postgresql://...` (driver
    psycopg unless one is named). SQLite files are opened read-only: a
    report never writes, and a mistyped path is an error, not a new empty
    database."""
    if url.startswith("sqlite:"):
        path = url[len("sqlite:"):]
        if path.startswith("///"):
            path = path[3:]
        if not path or path == ":memory:":
            raise RecordsError(f"--records {url!r}: give the records file, e.g. sqlite:/var/lib/router/records.db")
        if not os.path.isfile(path):
            raise RecordsError(f"--records {url!r}: no such file {path!r}")
        return sa.URL.create("sqlite", database=f"file:{os.path.abspath(path)}?mode=ro", query={"uri": "true"})
    if url.startswith(("postgresql://", "postgres://")):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    if url.startswith("postgresql+"):
        return url
    raise RecordsError(f"--records {url!r}: give sqlite:PATH or postgresql://USER@HOST/DB")


def open_records(url: str) -> sa.Engine:
    """A read-only engine on the records at `url`, checked to hold the
    records tables."""
    try:
        engine = sa.create_engine(engine_url(url))
        present = set(sa.inspect(engine).get_table_names())
    except RecordsError:
        raise
    except (sa.exc.SQLAlchemyError, ImportError) as err:
        raise RecordsError(f"--records {_shown(url)}: cannot read the records: {_reason(err)}") from None
    check_tables(present, url)
    return engine


def check_tables(present: set[str], url: str) -> None:
    missing = [t.name for t in NEEDED if t.name not in present]
    if missing:
        raise RecordsError(f"--records {_shown(url)}: not a records database (no table {', '.join(missing)})")


def _shown(url: str) -> str:
    """The URL without a password, for messages."""
    try:
        return sa.make_url(engine_url(url)).render_as_string(hide_password=True) if "://" in url else url
    except (sa.exc.ArgumentError, RecordsError):
        return url


def _reason(err: Exception) -> str:
    text = str(getattr(err, "orig", None) or err).strip().splitlines()
    return text[0] if text else type(err).__name__
