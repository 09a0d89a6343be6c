"""`router records migrate|prune` (router/records/cli.py), on SQLite and on
the test PostgreSQL with the password from a file and from the environment."""

from __future__ import annotations

import time

import sqlalchemy as sa

from router.present.cli import main
from router.records import schema
from router.records.migrate import head
from router.records.store import make_engine, open_store, parse_url
from support.postgres import PASSWORD
from test_records_store import call_rows


def test_migrate_creates_then_reports_nothing_to_do(tmp_path, capsys):
    url = f"sqlite:{tmp_path / 'r.db'}"
    assert main(["records", "migrate", "--records", url]) == 0
    assert f"migrated from schema revision (empty) to {head()}" in capsys.readouterr().out
    assert main(["records", "migrate", "--records", url]) == 0
    assert f"at schema revision {head()}, this router's newest: nothing to do" in capsys.readouterr().out


def test_migrate_refuses_a_newer_database(tmp_path, capsys):
    url = f"sqlite:{tmp_path / 'r.db'}"
    open_store(url).close()
    engine = make_engine(parse_url(url))
    with engine.begin() as conn:
        conn.execute(sa.text(f"UPDATE {schema.VERSION_TABLE} SET version_num = 'f00d'"))
    engine.dispose()
    assert main(["records", "migrate", "--records", url]) == 1
    assert f"revision f00d, newer than this router knows (its newest is {head()})" in capsys.readouterr().err


def test_prune_keeps_the_days_asked_for(tmp_path, capsys):
    url = f"sqlite:{tmp_path / 'r.db'}"
    store = open_store(url)
    now = time.time()
    old, recent = call_rows(0, now - 10 * 86400), call_rows(1, now - 86400)
    store.write(old + recent)
    store.close()
    assert main(["records", "prune", "--records", url, "--keep-days", "5"]) == 0
    assert f"deleted {len(old)} rows older than 5 days" in capsys.readouterr().out
    store = open_store(url)
    with store.engine.connect() as conn:
        left = sum(conn.execute(sa.select(sa.func.count()).select_from(t)).scalar() for t in schema.TABLES.values())
    store.close()
    assert left == len(recent)


def prune_ids(url: str, *flags: str) -> tuple[int, set[str]]:
    """`router records prune` on calls 500, 300 and 100 days old: (exit code, the calls left)."""
    store = open_store(url)
    now = time.time()
    store.write(call_rows(1, now - 500 * 86400) + call_rows(2, now - 300 * 86400) + call_rows(3, now - 100 * 86400))
    store.close()
    code = main(["records", "prune", "--records", url, *flags])
    store = open_store(url)
    with store.engine.connect() as conn:
        left = {r[0] for r in conn.execute(sa.text("SELECT call_id FROM calls"))}
    store.close()
    return code, left


def test_prune_takes_the_days_from_the_config_unless_keep_days_is_given(tmp_path, capsys):
    from test_records_retention import config_keeping

    config = config_keeping(tmp_path, "config", "200")
    assert prune_ids(f"sqlite:{tmp_path / 'a.db'}", "--config", config) == (0, {"call-3"})
    assert "rows older than 200 days" in capsys.readouterr().out
    # --keep-days wins over the config
    assert prune_ids(f"sqlite:{tmp_path / 'b.db'}", "--config", config, "--keep-days", "350") == \
        (0, {"call-2", "call-3"})
    assert "rows older than 350 days" in capsys.readouterr().out
    # neither: 400 days (the default, as the running router's)
    assert prune_ids(f"sqlite:{tmp_path / 'c.db'}") == (0, {"call-2", "call-3"})
    assert "rows older than 400 days" in capsys.readouterr().out


def test_prune_with_a_broken_config_deletes_nothing(tmp_path, capsys):
    from test_records_retention import config_keeping

    config = config_keeping(tmp_path, "config", "0")
    assert prune_ids(f"sqlite:{tmp_path / 'a.db'}", "--config", config) == (1, {"call-1", "call-2", "call-3"})
    err = capsys.readouterr().err
    assert f"{config}/settings.yaml:40:14: records.keep_days: '0': keep at least 1 day" in err
    assert err.endswith("router records: nothing pruned: the config has errors, so its records.keep_days is "
                        "unknown\n")


def test_bad_flags_are_usage_errors(capsys):
    for argv in (["records", "prune", "--records", "sqlite:x.db", "--keep-days", "0"],
                 ["records", "prune"], ["records"]):
        try:
            main(argv)
        except SystemExit as stop:
            assert stop.code == 2
        else:
            raise AssertionError(f"{argv} accepted")


def test_postgresql_with_the_password_from_a_file_or_the_environment(postgres, tmp_path, capsys, monkeypatch):
    url = postgres.create_database("cli")
    secret = tmp_path / "pw"
    secret.write_text(PASSWORD + "\n", encoding="utf-8")
    assert main(["records", "migrate", "--records", url, "--records-password-file", str(secret)]) == 0
    assert f"to {head()}" in capsys.readouterr().out
    monkeypatch.setenv("ROUTER_RECORDS_PASSWORD", PASSWORD)
    assert main(["records", "prune", "--records", url]) == 0
    assert "deleted 0 rows older than 400 days" in capsys.readouterr().out
    monkeypatch.setenv("ROUTER_RECORDS_PASSWORD", "wrong")
    assert main(["records", "prune", "--records", url]) == 1
    assert "password authentication failed" in capsys.readouterr().err
