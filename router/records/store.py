"""The records database: SQLite (embedded default) or PostgreSQL.

    store = open_store("sqlite:/var/lib/router/records.db")   # migrates to head
    store.write(rows)          # one transaction; rows already there are ignored
    store.prune(before)        # delete rows older than `before` (UNIX seconds)
    store.engine               # for `router report` to read

URLs: `sqlite:PATH` (or SQLAlchemy's `sqlite:///PATH`, `sqlite:////ABS`)
and `postgresql://USER@HOST[:PORT]/DB`. The password never comes in the URL
(it would show in `ps`): `open_store(url, password)`, the caller reads it
from ROUTER_RECORDS_PASSWORD or `--records-password-file` (read_password).
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from sqlalchemy import create_engine, delete, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.exc import ArgumentError

from router.process.files import read_secret
from router.records.migrate import migrate
from router.records.model import Row
from router.records.schema import AGE_COLUMN, FIELDS, TABLES

PASSWORD_ENV = "ROUTER_RECORDS_PASSWORD"
#: SQLite waits this long for a lock held by another writer (a report, a
#: second router process) before the write fails and is retried.
BUSY_TIMEOUT_MS = 5000


class RecordsError(Exception):
    """A records URL, password file or database the router cannot use."""


def read_password(path: str | None, environ: Mapping[str, str] = os.environ) -> str | None:
    """The database password from a file (first line, stripped) or from
    ROUTER_RECORDS_PASSWORD; None when neither is given."""
    return read_secret(path, PASSWORD_ENV, "records password", RecordsError, environ)


def parse_url(text: str, password: str | None = None) -> URL:
    """A records URL as an SQLAlchemy URL (driver chosen: pysqlite, psycopg 3)."""
    if text.startswith("sqlite:") and not text.startswith("sqlite://"):
        path = text.removeprefix("sqlite:")
        if not path:
            raise RecordsError("--records sqlite:PATH needs a file path, e.g. sqlite:/var/lib/router/records.db")
        return URL.create("sqlite+pysqlite", database=path)
    try:
        url = make_url(text)
    except ArgumentError:
        raise RecordsError(f"records URL {text!r}: give sqlite:PATH or postgresql://USER@HOST[:PORT]/DB") from None
    if url.get_backend_name() == "sqlite":
        if not url.database or url.database == ":memory:":
            raise RecordsError(f"records URL {text!r}: give a file, e.g. sqlite:///records.db")
        return url.set(drivername="sqlite+pysqlite")
    if url.get_backend_name() == "postgresql":
        if url.password is not None:
            raise RecordsError("records URL: no password in the URL (it shows in the process list); "
                               f"set {PASSWORD_ENV} or give --records-password-file")
        if not url.database:
            raise RecordsError(f"records URL {url.render_as_string()!r}: name the database, "
                               "postgresql://USER@HOST[:PORT]/DB")
        return url.set(drivername="postgresql+psycopg", password=password)
    raise RecordsError(f"records URL {text!r}: only sqlite:PATH and postgresql://USER@HOST[:PORT]/DB are supported")


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    # WAL: reports read while the writer writes; NORMAL: a commit is safe
    # against a process kill (the writer's spool covers a power cut).
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    cursor.close()


def make_engine(url: URL) -> Engine:
    """An engine for a parsed records URL (SQLite: WAL, busy timeout)."""
    if url.get_backend_name() == "sqlite":
        Path(url.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_MS / 1000})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    # pre_ping: after a PostgreSQL restart the pooled connections are dead;
    # connect_timeout: an unreachable server fails a write in seconds, not minutes.
    return create_engine(url, pool_pre_ping=True, pool_size=2, max_overflow=2,
                         connect_args={"connect_timeout": 5, "application_name": "router-records"})


class Store:
    """One records database, migrated to the code's schema."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._insert = postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert

    def write(self, rows: Iterable[Row]) -> int:
        """Insert `rows` in one transaction; rows whose key is already there
        are left as they are. Returns how many rows were given."""
        by_table: dict[str, list[dict]] = defaultdict(list)
        for row in rows:
            table = row.TABLE
            by_table[table].append({name: getattr(row, name) for name in FIELDS[table]})
        return self.write_dicts(by_table)

    def write_dicts(self, by_table: Mapping[str, Sequence[dict]]) -> int:
        """`write` for rows already as column dicts, per table name."""
        count = 0
        with self.engine.begin() as conn:
            for table, values in by_table.items():
                if values:
                    conn.execute(self._insert(TABLES[table]).on_conflict_do_nothing(), list(values))
                    count += len(values)
        return count

    def prune(self, before: float) -> int:
        """Delete every row older than `before` (UNIX seconds; each table by
        its time column: calls by arrival, offers by ring, ...). Returns
        the number of rows deleted."""
        deleted = 0
        with self.engine.begin() as conn:
            for table, column in AGE_COLUMN.items():
                t = TABLES[table]
                deleted += conn.execute(delete(t).where(t.c[column] < before)).rowcount
        return deleted

    def close(self) -> None:
        self.engine.dispose()


def open_store(url: str, password: str | None = None) -> Store:
    """Open the records database at `url` and migrate it to the code's
    schema (a new database gets every table). A database whose schema is
    newer than this code raises RecordsError naming both revisions."""
    engine = make_engine(parse_url(url, password))
    try:
        migrate(engine)
    except BaseException:
        engine.dispose()
        raise
    return Store(engine)
