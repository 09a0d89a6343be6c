"""Smoke run of bench/records.py at tiny sizes on SQLite: it runs end to end
and every row gets written. No timing is asserted (the figures come from
`python -m bench.records`)."""

from __future__ import annotations

from bench.records import call_rows, outage, sustained
from router.records.store import open_store


def test_the_benchmark_parts_run_and_write_everything(tmp_path):
    url = f"sqlite:{tmp_path / 'r.db'}"
    assert len(call_rows(0)) == 9
    s = sustained(lambda: open_store(url), tmp_path, 200)
    assert s["ok"] and s["calls_per_s"] > 0
    o = outage(lambda: open_store(url), tmp_path, 300)
    assert o["ok"] and o["dropped"] == 0 and o["backlog_rows"] == 2700 and o["spool_mb"] > 0
