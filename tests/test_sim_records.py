"""`router simulate --records` (router/sim/recorded.py): the warm-down after
the simulated time puts every call offered on record, the calls still in
progress at the end included, and none arrives after the end."""

from __future__ import annotations

import io
import sqlite3
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from router.config import check_config
from router.records.setup import records_settings
from router.sim.discrete import Simulation
from router.sim.recorded import SimRecords
from tests.test_cli import SAMPLE

SH = ZoneInfo("Asia/Shanghai")  # the sample centre's zone
MONDAY_9AM = datetime(2026, 11, 23, 9, 0, tzinfo=SH).timestamp()
SUNDAY_5AM = datetime(2026, 11, 29, 5, 0, tzinfo=SH).timestamp()  # complaints' callbacks wait for Monday
HOUR = 3600.0


@pytest.mark.parametrize("start", [MONDAY_9AM, SUNDAY_5AM], ids=["in-hours", "night"])
def test_every_call_offered_is_on_record_after_the_warm_down(tmp_path, start):
    table = check_config(SAMPLE).table
    settings = records_settings(f"sqlite:{tmp_path / 'r.db'}", None, None, None)
    out = io.StringIO()
    recorded = SimRecords(settings, lambda: sim.engine.table, start, out)
    sim = Simulation(table, seed=5, calls_per_hour=900, start=start)  # busy: callers wait at the end
    sim.subscribe(recorded.subscriber)
    sim.start()
    end = start + HOUR
    sim.run_until(end)
    recorded.tick(end)
    parked = set(sim.engine.parked)
    in_progress = set(recorded.subscriber.assembler.calls) - parked
    assert len(in_progress) > 5  # waiting, ringing, talking, in wrap-up when the time is up
    finished_at = recorded.warm_down(sim, end)
    arrivals = sim.arrivals
    assert end < finished_at < end + HOUR
    # open now: only the callbacks promised out of their queue's hours (none in hours)
    waiting = set(recorded.subscriber.assembler.calls)
    assert waiting == set(sim.engine.parked) and all(c.startswith("cb-") for c in waiting)
    assert (len(waiting) > 5) == (start == SUNDAY_5AM)
    recorded.finish(finished_at)
    with sqlite3.connect(tmp_path / "r.db") as db:
        calls = {cid: (arrived, reason) for cid, arrived, reason in
                 db.execute("SELECT call_id, arrived_at, reason FROM calls WHERE kind = 'inbound'")}
        (sessions,) = db.execute("SELECT SUM(duration) FROM agent_sessions").fetchone()
        (states,) = db.execute("SELECT SUM(duration) FROM agent_states").fetchone()
        (last_logout,) = db.execute("SELECT MAX(logout_at) FROM agent_sessions").fetchone()
        dialled = {cid for (cid,) in db.execute("SELECT call_id FROM calls WHERE kind = 'callback'")}
    assert set(calls) == {f"sim-{i:06d}" for i in range(1, arrivals + 1)}  # every call offered, once
    assert in_progress <= set(calls) | dialled
    assert arrivals > 150
    assert all(arrived <= end for arrived, _ in calls.values())  # nothing arrived in the warm-down
    assert not any(reason == "incomplete" for _, reason in calls.values())
    assert last_logout == finished_at and abs(states - sessions) < 1e-3  # agents worked the warm-down through
    assert f"records: {arrivals} calls offered; warm-down: no more arrivals, the {len(in_progress)} in progress" \
        in out.getvalue()
