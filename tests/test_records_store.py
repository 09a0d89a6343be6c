"""The records store (router/records/store.py, schema.py, migrate.py):
every row type round trip in SQLite and in a real PostgreSQL server,
idempotent writes, migrations old -> head, a newer schema refused, prune,
URLs and the password."""

from __future__ import annotations

import dataclasses
import itertools

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from router.records import schema
from router.records.migrate import alembic_config, current, head
from router.records.model import (ROW_TYPES, AgentSessionRow, AgentStateRow, CallbackRow, CallRow, CallStepRow,
                                  OfferRow, SurveyRow)
from router.records.store import RecordsError, make_engine, open_store, parse_url, read_password
from support.postgres import PASSWORD

T0 = 1_795_000_000.25


def call_rows(i: int, at: float) -> list:
    """One finished call's rows of every type (Chinese names, None where
    allowed): a call, 2 steps, 2 offers, a callback, 4 agent states, a session."""
    cid = f"call-{i}"
    rows = [CallRow(cid, "inbound", "pbx1", "4000", "13800138000", "王五 张三", '{"lang": "粤语"}',
                    "vip", "sales", "support", at, "2026-11-19", 540 + i % 60, at + 12.5, "answered",
                    "", "", 12.5, "1001", "销售一组", at + 12.5, at + 80.0, 67.5, 10.0, 2, 1, 20.0,
                    True, True, False, None, None, 4, f"/var/spool/rec/{cid}.wav"),
            CallStepRow(cid, 1, at, "queued", "sales", ""),
            CallStepRow(cid, 2, at + 5, "moved", "support", "sales->support 规则"),
            OfferRow(cid, 1, "1002", "销售一组", "sales", at + 1, at + 6, "no-answer"),
            OfferRow(cid, 2, "1001", "销售一组", "support", at + 7, at + 12.5, "answered"),
            CallbackRow(f"cb-{i}", cid, "sales", "13800138000", at, "2026-11-19", at + 600, "done", "", 2, None)]
    for k, state in enumerate(("available", "reserved", "on_call", "wrapup")):
        rows.append(AgentStateRow(f"a{i % 50}", "销售一组", state, "", cid if k else None, at + k * 0.001,
                                  at + (k + 1) * 0.001, "2026-11-19", 540, 0.001))
    # a break asked for mid-call (it began when the call ended), and a logout asked for mid-call
    rows.append(AgentStateRow(f"a{i % 50}", "销售一组", "paused", "午休", None, at + 0.004, at + 900, "2026-11-19",
                              540, 900 - 0.004, at + 0.0015))
    rows.append(AgentSessionRow(f"a{i}", "销售一组", at, at + 3600, "2026-11-19", 3600.0, at + 3500))
    rows.append(SurveyRow(f"late-{i}", 2, at + 400))
    return rows


#: Columns added by revision 0005 (NULL in rows written before it).
ASKED = {"agent_states": "asked_at", "agent_sessions": "logout_asked_at"}


def write_old(engine, rows) -> None:
    """`rows` written as a router of revision 0004 or older wrote them:
    without the columns 0005 added (they come back None)."""
    from router.records.store import Store

    by: dict[str, list[dict]] = {}
    for row in rows:
        values = {f.name: getattr(row, f.name) for f in dataclasses.fields(row) if f.name != ASKED.get(row.TABLE)}
        by.setdefault(row.TABLE, []).append(values)
    Store(engine).write_dicts(by)


def as_old(rows) -> list:
    """The rows as a database of before 0005 gives them back."""
    return [dataclasses.replace(r, **{ASKED[r.TABLE]: None}) if r.TABLE in ASKED else r for r in rows]


def sample_rows(n: int = 1, base: float = T0) -> list:
    """Rows of every type for `n` calls, one second apart."""
    return [row for i in range(n) for row in call_rows(i, base + i)]


def read_back(store) -> dict[str, list]:
    out = {}
    with store.engine.connect() as conn:
        for row_type in ROW_TYPES:
            table = schema.TABLES[row_type.TABLE]
            keys = [table.c[k] for k in schema.KEYS[row_type.TABLE]]
            out[row_type.TABLE] = [row_type(*r) for r in conn.execute(sa.select(table).order_by(*keys))]
    return out


def by_table(rows) -> dict[str, list]:
    out = {t.TABLE: [] for t in ROW_TYPES}
    for row in rows:
        out[row.TABLE].append(row)
    for t in ROW_TYPES:
        out[t.TABLE].sort(key=lambda r, k=schema.KEYS[t.TABLE]: tuple(getattr(r, c) for c in k))
    return out


_names = itertools.count()


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request, tmp_path):
    """A fresh empty records database of each dialect."""
    if request.param == "sqlite":
        return f"sqlite:{tmp_path / 'records.db'}", None
    pg = request.getfixturevalue("postgres")
    return pg.create_database(f"store_{next(_names)}"), PASSWORD


def test_schema_columns_are_the_model_fields_in_order():
    for row_type in ROW_TYPES:
        table = schema.TABLES[row_type.TABLE]
        assert [c.name for c in table.columns] == [f.name for f in dataclasses.fields(row_type)]
        for field in dataclasses.fields(row_type):
            assert table.c[field.name].nullable == str(field.type).endswith("None"), field.name


def test_an_unknown_annotation_is_refused():
    @dataclasses.dataclass
    class Odd:
        when: "list[int]"

    with pytest.raises(TypeError, match="when"):
        schema.columns_of(Odd)


def test_every_row_type_round_trips_and_rewrites_are_ignored(url):
    store = open_store(*url)
    rows = sample_rows(3)
    assert store.write(rows) == len(rows)
    store.write(rows[:7] + rows)  # the same rows again (a spool replay): no duplicate, no error
    assert read_back(store) == by_table(rows)
    store.close()


def test_the_migrations_build_exactly_the_schema(url):
    store = open_store(*url)
    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), schema.metadata)
        inspector = sa.inspect(conn)
        indexes = {i["name"] for t in schema.TABLES for i in inspector.get_indexes(t)}
    assert [d for d in diff if d[0] != "remove_table"] == []  # the version table is not in the metadata
    assert set(schema.INDEXES) <= indexes
    store.close()


def test_an_older_database_is_migrated_to_head_keeping_its_rows(url):
    engine = make_engine(parse_url(*url))
    with engine.begin() as conn:
        command.upgrade(alembic_config(conn), "0001")  # what the first router with records made
    rows = [r for r in sample_rows(2) if not isinstance(r, SurveyRow)]  # no surveys table before 0004
    write_old(engine, rows)
    with engine.connect() as conn:
        assert current(conn) == "0001"
        assert "ix_calls_date_queue" not in {i["name"] for i in sa.inspect(conn).get_indexes("calls")}
    engine.dispose()
    store = open_store(*url)
    with store.engine.connect() as conn:
        assert current(conn) == head() == "0005"
        assert "ix_calls_date_queue" in {i["name"] for i in sa.inspect(conn).get_indexes("calls")}
        states = {i["name"] for i in sa.inspect(conn).get_indexes("agent_states")}
        assert "ix_agent_states_report" in states and "ix_agent_states_date_agent" not in states
    assert read_back(store) == by_table(as_old(rows))
    store.close()


def test_a_database_of_revision_0003_gets_the_surveys_table_keeping_its_rows(url):
    engine = make_engine(parse_url(*url))
    with engine.begin() as conn:
        command.upgrade(alembic_config(conn), "0003")  # the router before late scores
    old = [r for r in sample_rows(2) if not isinstance(r, SurveyRow)]
    write_old(engine, old)
    with engine.connect() as conn:
        assert "surveys" not in sa.inspect(conn).get_table_names()
    engine.dispose()
    store = open_store(*url)
    late = [SurveyRow("call-0", 4, T0 + 500)]
    store.write(late)
    assert read_back(store) == by_table(as_old(old) + late)
    store.close()


def test_a_database_of_revision_0004_gets_the_asked_for_moments_keeping_its_rows(url):
    engine = make_engine(parse_url(*url))
    with engine.begin() as conn:
        command.upgrade(alembic_config(conn), "0004")  # the router before the asked-for moments
    old = sample_rows(2)
    write_old(engine, old)
    with engine.connect() as conn:
        assert "asked_at" not in {c["name"] for c in sa.inspect(conn).get_columns("agent_states")}
        assert "logout_asked_at" not in {c["name"] for c in sa.inspect(conn).get_columns("agent_sessions")}
    engine.dispose()
    store = open_store(*url)
    with store.engine.connect() as conn:
        assert current(conn) == "0005"
    new = [dataclasses.replace(r, **{k: f"n{getattr(r, k)}" for k in schema.KEYS[r.TABLE]
                                     if isinstance(getattr(r, k), str)})
           for r in sample_rows(2, base=T0 + 86400)]  # written by this router: the moments kept
    assert sorted(r.asked_at for r in new if isinstance(r, AgentStateRow) and r.asked_at) == [
        T0 + 86400.0015, T0 + 86401.0015]
    store.write(new)
    assert read_back(store) == by_table(as_old(old) + new)
    store.close()


def test_the_asked_for_moments_migration_goes_down_and_up_again(url):
    store = open_store(*url)
    store.close()
    engine = make_engine(parse_url(*url))
    with engine.begin() as conn:
        command.downgrade(alembic_config(conn), "0004")
    with engine.connect() as conn:
        assert current(conn) == "0004"
        assert "asked_at" not in {c["name"] for c in sa.inspect(conn).get_columns("agent_states")}
    engine.dispose()
    store = open_store(*url)
    rows = sample_rows(1)
    store.write(rows)
    assert read_back(store) == by_table(rows)
    store.close()


def test_a_newer_schema_is_refused_naming_both_revisions(url):
    open_store(*url).close()
    engine = make_engine(parse_url(*url))
    with engine.begin() as conn:
        conn.execute(sa.text(f"UPDATE {schema.VERSION_TABLE} SET version_num = '0099_future'"))
    engine.dispose()
    with pytest.raises(RecordsError, match=r"revision 0099_future, newer than this router knows \(its newest "
                                           r"is 0005\)"):
        open_store(*url)


def test_prune_deletes_what_is_older_from_every_table(url):
    store = open_store(*url)
    old, new = sample_rows(2, base=T0), sample_rows(2, base=T0 + 86400 * 500)
    new = [dataclasses.replace(r, **{k: f"n{getattr(r, k)}" for k in schema.KEYS[r.TABLE]
                                     if isinstance(getattr(r, k), str)}) for r in new]
    store.write(old + new)
    assert store.prune(T0 + 86400) == len(old)
    assert read_back(store) == by_table(new)
    assert store.prune(T0 + 86400) == 0
    store.close()


def test_sqlite_is_in_wal_mode_with_a_busy_timeout(tmp_path):
    store = open_store(f"sqlite:{tmp_path / 'sub' / 'r.db'}")
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 1000
    store.close()


def test_urls():
    assert parse_url("sqlite:/var/lib/router/r.db").database == "/var/lib/router/r.db"
    assert parse_url("sqlite:rel/r.db").database == "rel/r.db"
    assert parse_url("sqlite:////abs/r.db").database == "/abs/r.db"
    assert parse_url("sqlite:///rel.db").database == "rel.db"
    pg = parse_url("postgresql://router@db.example:5433/records", "s3cret")
    assert (pg.drivername, pg.username, pg.host, pg.port, pg.database, pg.password) == (
        "postgresql+psycopg", "router", "db.example", 5433, "records", "s3cret")
    for bad, message in (("sqlite:", "file path"), ("mysql://x@h/db", "only sqlite"), ("nonsense", "give sqlite"),
                         ("postgresql://u:pw@h/db", "no password in the URL"), ("postgresql://u@h", "name the")):
        with pytest.raises(RecordsError, match=message):
            parse_url(bad)


def test_the_password_comes_from_a_file_or_the_environment(tmp_path):
    secret = tmp_path / "pw"
    secret.write_text("文件 pw\nignored\n", encoding="utf-8")
    assert read_password(str(secret), environ={"ROUTER_RECORDS_PASSWORD": "env"}) == "文件 pw"
    assert read_password(None, environ={"ROUTER_RECORDS_PASSWORD": "env"}) == "env"
    assert read_password(None, environ={}) is None
    with pytest.raises(RecordsError, match="cannot read the records password file"):
        read_password(str(tmp_path / "missing"))


def test_a_wrong_postgresql_password_is_an_error(postgres):
    url = postgres.create_database("wrong_pw")
    with pytest.raises(sa.exc.OperationalError, match="password authentication failed"):
        open_store(url, "not the password")


def test_routers_starting_together_on_one_postgresql_migrate_it_once(postgres):
    import threading

    url = postgres.create_database("together")
    errors, stores = [], []

    def start():
        try:
            stores.append(open_store(url, PASSWORD))
        except Exception as err:  # noqa: BLE001 (collected and asserted on)
            errors.append(err)

    threads = [threading.Thread(target=start) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == [] and len(stores) == 4
    with stores[0].engine.connect() as conn:
        assert current(conn) == head()
    for store in stores:
        store.close()
