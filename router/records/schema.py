"""The records' tables (SQLAlchemy Core), derived from the rows of model.py.

Each table's columns are the fields of its row class, in order, typed from
their annotations (`str | None` is a nullable text column, and so on): the
two cannot drift apart. The keys make a write idempotent: a row written
twice (the writer's spool replayed after a restart, a call resent) is the
same key and is ignored (INSERT ... ON CONFLICT DO NOTHING).

The migrations (router/records/migrations/) build the same schema; a test
compares them with this metadata.
"""

from __future__ import annotations

import dataclasses

from sqlalchemy import Boolean, Column, Double, Index, Integer, MetaData, PrimaryKeyConstraint, Table, Text

from router.records.model import ROW_TYPES

#: Alembic's table of the schema revision (not its default name: a
#: PostgreSQL database may be shared with other applications).
VERSION_TABLE = "router_records_version"

#: annotation (as written in model.py) -> column type
TYPES = {"str": Text, "float": Double, "int": Integer, "bool": Boolean}

#: The natural key of each table: what makes a resent row the same row.
#: offers and call_steps: their primary key's first column serves the
#: lookups by call_id, so no separate index.
KEYS = {
    "calls": ("call_id",),
    "call_steps": ("call_id", "seq"),
    "offers": ("call_id", "seq"),
    "callbacks": ("callback_id",),
    "agent_states": ("agent_id", "started_at", "state"),
    "agent_sessions": ("agent_id", "login_at"),
    "surveys": ("call_id",),
}

#: The indexes the reports read by (name -> table, columns).
INDEXES = {
    "ix_calls_date_queue": ("calls", ("local_date", "final_queue")),
    "ix_calls_date_agent": ("calls", ("local_date", "answered_by")),
    "ix_calls_arrived": ("calls", ("arrived_at",)),
    "ix_offers_agent_rung": ("offers", ("agent_id", "rung_at")),
    # covering: the agent and team reports read only this index (revision 0003)
    "ix_agent_states_report": ("agent_states", ("local_date", "agent_id", "team", "state", "reason", "duration",
                                                "local_minute")),
    "ix_agent_states_started": ("agent_states", ("started_at",)),
    "ix_agent_sessions_date_agent": ("agent_sessions", ("local_date", "agent_id")),
    "ix_callbacks_date_queue": ("callbacks", ("local_date", "queue")),
}

#: The column by which `prune` ages each table's rows.
AGE_COLUMN = {
    "calls": "arrived_at",
    "call_steps": "at",
    "offers": "rung_at",
    "callbacks": "promised_at",
    "agent_states": "started_at",
    "agent_sessions": "login_at",
    "surveys": "scored_at",
}


def column_spec(field: dataclasses.Field) -> tuple[type, bool]:
    """(SQLAlchemy type, nullable) of one row field, from its annotation."""
    text = str(field.type).replace(" ", "")
    nullable = text.endswith("|None")
    base = text.removesuffix("|None")
    if base not in TYPES:
        raise TypeError(f"records model: field {field.name} has annotation {field.type!r}; "
                        f"the schema knows {', '.join(TYPES)} (optionally | None)")
    return TYPES[base], nullable


def columns_of(row_type: type) -> list[Column]:
    """The columns of one row class, in field order."""
    cols = []
    for field in dataclasses.fields(row_type):
        kind, nullable = column_spec(field)
        cols.append(Column(field.name, kind(), nullable=nullable))
    return cols


def build_metadata() -> MetaData:
    """A fresh MetaData with every records table, key and index."""
    metadata = MetaData()
    for row_type in ROW_TYPES:
        name = row_type.TABLE
        Table(name, metadata, *columns_of(row_type), PrimaryKeyConstraint(*KEYS[name], name=f"pk_{name}"))
    for index, (table, cols) in INDEXES.items():
        Index(index, *(metadata.tables[table].c[c] for c in cols))
    return metadata


metadata = build_metadata()
TABLES: dict[str, Table] = dict(metadata.tables)
#: table name -> its column names in order (the row's fields)
FIELDS: dict[str, tuple[str, ...]] = {t.TABLE: tuple(f.name for f in dataclasses.fields(t)) for t in ROW_TYPES}
ROW_CLASS: dict[str, type] = {t.TABLE: t for t in ROW_TYPES}
#: table name -> how many of its first columns every row has: the columns
#: added later have a default (None) and come last, so that a row written
#: (spooled) by an older router still reads.
REQUIRED: dict[str, int] = {t.TABLE: sum(f.default is dataclasses.MISSING for f in dataclasses.fields(t))
                            for t in ROW_TYPES}
