"""The records in a child process (router/records/recordsproc.py), as
`router run --records` runs them: every call of a simulated half hour on
record through the child, a killed child started again (counted) with
the records going on, and a reload that reaches the child with no fact
after it."""

from __future__ import annotations

import os
import signal
import sqlite3
import time
from dataclasses import replace
from pathlib import Path

from prometheus_client import CollectorRegistry

from router.config import load_config
from router.core import facts as f
from router.records.recordsproc import TICK
from router.records.setup import RecordsSettings, open_records
from router.sim.discrete import Simulation

ROOT = Path(__file__).resolve().parent.parent
START = 1_800_000_000.0


def half_hour(table, seed: int = 3) -> list:
    """(fact, now) of a simulated half hour of the stock centre."""
    sim = Simulation(table, seed=seed, calls_per_hour=600, start=START)
    facts: list = []
    sim.subscribe(lambda fact, now: facts.append((fact, now)))
    sim.start()
    sim.run_until(START + 1800)
    return facts


def feed(records, facts, clock: list, next_tick: float) -> float:
    """Publish `facts` in order, ticking every TICK of their time as the loop does."""
    for fact, at in facts:
        while at >= next_tick:
            clock[0] = next_tick
            records.tick(next_tick)
            next_tick += TICK
        clock[0] = at
        records(fact, at)
    records.tick(clock[0])
    return next_tick


def on_record(db: Path) -> set[str]:
    with sqlite3.connect(db) as conn:
        return {r[0] for r in conn.execute("SELECT call_id FROM calls")}


def metric(registry, name: str) -> float:
    value = registry.get_sample_value(name)
    assert value is not None, name
    return value


def test_calls_land_through_the_child_and_a_killed_child_is_started_again(tmp_path):
    table = load_config(ROOT / "config")
    facts = half_hour(table)
    # finished, and out of wrap-up and the survey's wait (up to 120 s) before the last fact
    end = facts[-1][1]
    finished = [fact.call for fact, at in facts
                if isinstance(fact, (f.CallCompleted, f.CallAbandoned)) and at < end - 300]
    assert len(finished) > 50
    cut = len(facts) // 2
    registry = CollectorRegistry()
    settings = RecordsSettings(f"sqlite:{tmp_path / 'r.db'}", None, tmp_path / "spool")
    clock = [START]
    records = open_records(settings, lambda: table, registry=registry, db_process=True)
    records.start(lambda: clock[0])
    try:
        next_tick = feed(records, facts[:cut], clock, START + TICK)
        assert records.writer.flush(60)
        child = records.pid
        assert child is not None and child != os.getpid()
        first = on_record(tmp_path / "r.db")
        assert first and first <= set(finished)
        # the child's status in the metrics: calls still in flight at the cut, no error
        assert metric(registry, "router_records_open_calls") == records.open_calls()[0] > 0
        assert metric(registry, "router_records_subscriber_errors_total") == 0
        restarts = metric(registry, "router_records_db_process_restarts_total")
        os.kill(child, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while records._proc.pid == child and records._proc.is_alive() and time.monotonic() < deadline:
            time.sleep(0.02)
        feed(records, facts[cut:], clock, next_tick)
        deadline = time.monotonic() + 30
        while records.pid == child and time.monotonic() < deadline:
            time.sleep(0.05)
        assert records.pid not in (None, child)  # a new child
        assert metric(registry, "router_records_db_process_restarts_total") == restarts + 1
        records.tick(clock[0])  # the new child's first status after every batch
        assert records.writer.flush(60)
    finally:
        records.stop()
    # Calls that began after the kill went through the new child whole; those
    # in flight at the kill are the checkpoint's (its last round: up to a tick before).
    began_later = {fact.call for fact, _ in facts[cut:] if isinstance(fact, f.CallQueued)}
    done = on_record(tmp_path / "r.db")
    assert began_later & set(finished) <= done
    assert first <= done


def test_a_reload_reaches_the_child_without_a_fact_after_it(tmp_path):
    table = load_config(ROOT / "config")
    current = [table]
    settings = RecordsSettings(f"sqlite:{tmp_path / 'r.db'}", None, tmp_path / "spool", prune=True)
    clock = [time.time()]
    records = open_records(settings, lambda: current[0], db_process=True)
    records.start(lambda: clock[0])
    try:
        deadline = time.monotonic() + 30
        while records.writer.upkeep.keep_days is None and time.monotonic() < deadline:
            records.tick(clock[0])
            time.sleep(0.05)
        assert records.writer.upkeep.keep_days == table.records.keep_days == 400
        current[0] = replace(table, records=replace(table.records, keep_days=200))  # a reload, no fact
        deadline = time.monotonic() + 10
        while records.writer.upkeep.keep_days != 200 and time.monotonic() < deadline:
            records.tick(clock[0])
            time.sleep(0.05)
        assert records.writer.upkeep.keep_days == 200
    finally:
        records.stop()
