"""Schema migrations of the records database (Alembic, run from code: the
scripts are in router/records/migrations/, no alembic.ini).

A router upgraded over an existing database migrates it to its head; a
database migrated by a newer router (a revision this code does not know)
is refused, since writing rows in an old shape there would corrupt it.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection, Engine

from router.records.schema import VERSION_TABLE

SCRIPTS = Path(__file__).resolve().parent / "migrations"


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(SCRIPTS))
    config.attributes["connection"] = connection
    return config


def head() -> str:
    """The newest revision this code knows."""
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current(connection: Connection) -> str | None:
    """The database's revision (None: never migrated)."""
    return MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE}).get_current_revision()


def check_known(revision: str | None) -> None:
    """Raise RecordsError when `revision` is not one of this code's."""
    from router.records.store import RecordsError

    if revision is None:
        return
    scripts = ScriptDirectory.from_config(alembic_config())
    known = {script.revision for script in scripts.walk_revisions()}
    if revision not in known:
        raise RecordsError(f"the records database is at schema revision {revision}, newer than this router "
                           f"knows (its newest is {scripts.get_current_head()}): upgrade the router, or "
                           "point --records at another database")


def migrate(engine: Engine, to: str = "head") -> tuple[str | None, str]:
    """Upgrade the database to `to` (default: the head); returns (revision
    before, revision after)."""
    with engine.begin() as conn:
        before = current(conn)
        check_known(before)
        command.upgrade(alembic_config(conn), to)
        after = current(conn)
    return before, after
