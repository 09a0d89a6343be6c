"""Retention of the records (router/records/retention.py): `router run
--records` deletes rows older than `--records-keep-days` (default 400, as
`router records prune`) once a day, on the writer's database thread."""

from __future__ import annotations

import logging
import threading
import time
import sqlalchemy as sa

from router.present.cli import build_parser
from router.present.run_cli import _records_settings
from router.records.retention import KEEP_DAYS, Retention
from router.records.setup import RecordsSettings
from router.records.store import open_store
from support.waiting import until
from test_e2e_records import RecordedCentre
from test_records_store import call_rows
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
    settings = RecordsSettings(url, None, tmp_path / "spool", keep_days=400)
    async with RecordedCentre(settings) as centre:
        await until(lambda: ids(store) == {"call-2"}, 10, what="the 500-day-old call pruned")
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


def test_router_run_keeps_400_days_by_default_and_never_with_0(tmp_path):
    url = f"sqlite:{tmp_path / 'r.db'}"

    def settings(*flags):
        return _records_settings(build_parser().parse_args(["run", SAMPLE, "--simulate", "--records", url, *flags]))

    assert settings().keep_days == KEEP_DAYS == 400
    assert settings("--records-keep-days", "90").keep_days == 90
    assert settings("--records-keep-days", "0").keep_days is None
    simulated = build_parser().parse_args(["simulate", SAMPLE, "--records", url])
    simulated.state_file = None
    assert _records_settings(simulated).keep_days is None  # a simulated day may be long past
    prune = build_parser().parse_args(["records", "prune", "--records", url])
    assert prune.keep_days == KEEP_DAYS
