"""Retention of the records (router/records/retention.py): `router run
--records` deletes rows older than the config's `records.keep_days`
(default 400, as `router records prune`), or `--records-keep-days`, which
wins, once a day, on the writer's database thread; a reload that changes
the config's value applies it at once."""

from __future__ import annotations

import logging
import shutil
import threading
import time
from dataclasses import replace

import sqlalchemy as sa

from router.present.cli import build_parser
from router.present.run_cli import _records_settings
from router.records.retention import KEEP_DAYS, Retention
from router.core.table import RecordsPolicy
from router.records.setup import RecordsSettings, open_records
from router.records.store import open_store
from support.waiting import until
from test_e2e_records import RecordedCentre
from test_records_store import call_rows
from support.centre import TABLE
from tests.test_cli import SAMPLE

DAY = 86400.0


def ids(store, table: str = "calls", column: str = "call_id") -> set[str]:
    with store.engine.connect() as conn:
        return {r[0] for r in conn.execute(sa.text(f"SELECT {column} FROM {table}"))}


async def test_the_running_router_prunes_old_rows_on_the_writers_database_thread(tmp_path, caplog):
    url = f"sqlite:{tmp_path / 'records.db'}"
    now = time.time()
    store = open_store(url)
    old = call_rows(1, now - 500 * DAY)  # a call 500 days ago, with its steps, offers, callback, states, ...
    recent = call_rows(2, now - 300 * DAY)
    store.write(old + recent)
    assert ids(store) == {"call-1", "call-2"}
    caplog.set_level(logging.INFO, logger="router.records")
    settings = RecordsSettings(url, None, tmp_path / "spool", keep_days=400, prune=True)
    async with RecordedCentre(settings) as centre:
        await until(lambda: ids(store) == {"call-2"}, 10, what="the 500-day-old call pruned")
        # the count comes with the records process's next status (recordsproc.py)
        await until(lambda: centre.records.writer.upkeep.pruned > 0, 5, what="the prune counted")
        assert centre.records.writer.upkeep.pruned == len(old)  # every table's old rows, nothing else
    assert ids(store, "offers") == {"call-2"} and ids(store, "surveys") == {"late-2"}
    (line,) = [r for r in caplog.records if "rows older than 400 days" in r.getMessage()]
    assert line.getMessage().startswith(f"records: deleted {len(old)} rows")
    assert line.threadName != threading.main_thread().name  # not the event loop's thread
    store.close()


def test_a_prune_is_due_once_a_day_and_retried_after_a_failure(tmp_path):
    url = f"sqlite:{tmp_path / 'records.db'}"
    store = open_store(url)
    clock = [1_800_000_000.0]
    retention = Retention(30, clock=lambda: clock[0])
    store.write(call_rows(1, clock[0] - 31 * DAY))
    retention(lambda: store)
    assert ids(store) == set() and retention.next_at == clock[0] + DAY
    store.write(call_rows(2, clock[0] - 31 * DAY))
    clock[0] += DAY - 1
    retention(lambda: store)  # not yet a day later: not even the store is asked for
    assert ids(store) == {"call-2"}

    def down():
        raise sa.exc.OperationalError("connect", {}, Exception("could not connect to server"))

    clock[0] += 1
    retention(down)
    assert "could not connect" in retention.last_error and retention.next_at == clock[0] + 3600
    clock[0] += 3600
    retention(lambda: store)
    assert ids(store) == set() and retention.last_error == "" and retention.pruned == 2 * len(call_rows(1, 0))
    store.close()


def test_router_run_keeps_the_configs_days_the_flag_wins_and_0_is_never(tmp_path):
    url = f"sqlite:{tmp_path / 'r.db'}"
    table = replace(TABLE, records=RecordsPolicy(keep_days=250))

    def retention(*flags):
        """The writer's upkeep as `router run ... flags` builds it, for a config keeping 250 days."""
        args = build_parser().parse_args(["run", SAMPLE, "--simulate", "--records", url, *flags])
        settings = _records_settings(args)
        return settings, open_records(settings, lambda: table).writer.upkeep

    settings, upkeep = retention()
    assert (settings.keep_days, settings.prune, upkeep.keep_days) == (None, True, 250)  # the config's
    settings, upkeep = retention("--records-keep-days", "90")
    assert (settings.keep_days, upkeep.keep_days) == (90, 90)  # the flag wins over the config
    settings, upkeep = retention("--records-keep-days", "0")
    assert (settings.prune, upkeep) == (False, None)  # never
    simulated = build_parser().parse_args(["simulate", SAMPLE, "--records", url])
    simulated.state_file = None
    assert _records_settings(simulated).prune is False  # a simulated day may be long past
    assert open_records(_records_settings(simulated), lambda: table).writer.upkeep is None
    assert RecordsPolicy().keep_days == KEEP_DAYS == 400


def test_a_change_of_the_configs_days_makes_a_prune_due_at_once(tmp_path):
    store = open_store(f"sqlite:{tmp_path / 'records.db'}")
    clock, days = [1_800_000_000.0], [400]
    retention = Retention(lambda: days[0], clock=lambda: clock[0])
    store.write(call_rows(1, clock[0] - 300 * DAY) + call_rows(2, clock[0] - 100 * DAY))
    retention(lambda: store)
    assert ids(store) == {"call-1", "call-2"} and retention.pruned_with == 400
    clock[0] += 60
    retention(lambda: store)  # the same days, a minute later: not due
    assert retention.next_at == clock[0] - 60 + DAY
    days[0] = 200  # a reload
    retention(lambda: store)
    assert ids(store) == {"call-2"} and retention.next_at == clock[0] + DAY and retention.pruned_with == 200


def config_keeping(tmp_path, name: str, keep_days: str):
    """The sample config with `records: keep_days:` set to `keep_days` (as written)."""
    target = tmp_path / name
    shutil.copytree(SAMPLE, target)
    text = (target / "settings.yaml").read_text(encoding="utf-8")
    assert "  keep_days: 400\n" in text
    (target / "settings.yaml").write_text(text.replace("  keep_days: 400\n", f"  keep_days: {keep_days}\n"),
                                          encoding="utf-8")
    return str(target)


async def test_a_reload_changes_the_days_kept_without_a_restart_and_a_failed_one_keeps_them(tmp_path, caplog):
    url = f"sqlite:{tmp_path / 'records.db'}"
    now = time.time()
    store = open_store(url)
    store.write(call_rows(1, now - 500 * DAY) + call_rows(2, now - 300 * DAY) + call_rows(3, now - 100 * DAY))
    caplog.set_level(logging.INFO, logger="router.records")
    settings = RecordsSettings(url, None, tmp_path / "spool", prune=True)  # no flag: the config's days
    async with RecordedCentre(settings) as centre:
        upkeep = centre.records.writer.upkeep
        await until(lambda: ids(store) == {"call-2", "call-3"}, 10, what="the sample's 400 days applied")
        assert centre.router.reload(config_keeping(tmp_path, "keep200", "200")) is True
        await until(lambda: ids(store) == {"call-3"}, 10, what="the reloaded 200 days applied at once")
        # (seen through the records process's status, up to a tenth of a second behind)
        await until(lambda: upkeep.keep_days == 200 and upkeep.next_at > time.time() + DAY - 60, 5,
                    what="200 days in force, the next prune a day later")
        assert centre.router.reload(config_keeping(tmp_path, "keep0", "0")) is False  # rejected
        assert upkeep.keep_days == 200 and centre.router.table.records.keep_days == 200
    assert ids(store) == {"call-3"}
    lines = [r.getMessage() for r in caplog.records if r.name == "router.records" and "older than" in r.getMessage()]
    assert [line.split(" (")[0].split(" rows ")[1] for line in lines] == ["older than 400 days",
                                                                          "older than 200 days"]
    store.close()
