"""`router simulate --records` (router/sim/recorded.py): the warm-down after
the simulated time puts every call offered on record, the calls still in
progress at the end included, and every callback promised with its final
outcome, the ones parked until their queue's hours included; none arrives
after the end."""

from __future__ import annotations

import io
import random
import sqlite3
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from router.config import check_config
from router.records.setup import records_settings
from router.sim.discrete import Flat, Simulation
from router.sim.recorded import SimRecords
from router.sim.traffic import Behaviour
from tests.test_cli import SAMPLE

SH = ZoneInfo("Asia/Shanghai")  # the sample centre's zone
MONDAY_9AM = datetime(2026, 11, 23, 9, 0, tzinfo=SH).timestamp()
SUNDAY_5AM = datetime(2026, 11, 29, 5, 0, tzinfo=SH).timestamp()  # complaints' callbacks wait for Monday
MONDAY_830 = datetime(2026, 11, 30, 8, 30, tzinfo=SH).timestamp()  # when the business calendar opens
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
    assert (len(parked) > 5) == (start == SUNDAY_5AM)  # promised out of hours, waiting for Monday
    finished_at = recorded.warm_down(sim, end)
    arrivals = sim.arrivals
    if start == SUNDAY_5AM:  # on until Monday's opening and the callbacks made
        assert MONDAY_830 < finished_at < MONDAY_830 + HOUR
    else:
        assert end < finished_at < end + HOUR
    assert not recorded.subscriber.assembler.calls and not sim.engine.parked  # nothing open
    recorded.finish(finished_at)
    with sqlite3.connect(tmp_path / "r.db") as db:
        calls = {cid: (arrived, reason) for cid, arrived, reason in
                 db.execute("SELECT call_id, arrived_at, reason FROM calls WHERE kind = 'inbound'")}
        (sessions,) = db.execute("SELECT SUM(duration) FROM agent_sessions").fetchone()
        (states,) = db.execute("SELECT SUM(duration) FROM agent_states").fetchone()
        (last_logout,) = db.execute("SELECT MAX(logout_at) FROM agent_sessions").fetchone()
        dialled = {cid for (cid,) in db.execute("SELECT call_id FROM calls WHERE kind = 'callback'")}
        callbacks = dict(db.execute("SELECT callback_id, outcome FROM callbacks"))
    assert set(calls) == {f"sim-{i:06d}" for i in range(1, arrivals + 1)}  # every call offered, once
    assert in_progress <= set(calls) | dialled
    assert parked <= dialled and set(callbacks) == set(sim.callbacks) == dialled  # every one promised
    assert set(callbacks.values()) == {"done"}  # this world's dials report nothing: made (rule 3)
    assert arrivals > 150
    assert all(arrived <= end for arrived, _ in calls.values())  # nothing arrived in the warm-down
    assert not any(reason == "incomplete" for _, reason in calls.values())
    assert last_logout == finished_at and abs(states - sessions) < 1e-3  # agents worked the warm-down through
    assert (f"records: {arrivals} calls offered; warm-down: no more arrivals, the {len(in_progress)} in progress "
            f"and the {len(parked)} callbacks parked (for their queue's hours or a retry) went on for "
            f"{finished_at - end:.0f} simulated seconds: every one on record") in out.getvalue()


MONDAY_7PM = datetime(2026, 11, 23, 19, 0, tzinfo=SH).timestamp()
MONDAY_8PM = datetime(2026, 11, 23, 20, 0, tzinfo=SH).timestamp()  # the business calendar closes
TUESDAY_830 = datetime(2026, 11, 24, 8, 30, tzinfo=SH).timestamp()


class FailingDials(Flat):
    """The flat world at 1200 calls/h (busy: callers wait until their
    queue's callback action), where a callback's dial to the customer is
    answered only 40% of the time (else no answer, or busy), drawn from its
    own generator."""

    def __init__(self, table, rng) -> None:
        super().__init__(table, rng, Behaviour(), calls_per_hour=1200, agents=None)
        self.dials = random.Random(11)

    def dial(self, call_id: str) -> str:
        return self.dials.choices(["ANSWER", "NOANSWER", "BUSY"], [4, 4, 2])[0]


def test_callbacks_parked_over_the_closing_are_made_the_next_morning_and_on_record_as_the_simulator_saw_them(
        tmp_path):
    table = check_config(SAMPLE).table
    settings = records_settings(f"sqlite:{tmp_path / 'r.db'}", None, None, None)
    out = io.StringIO()
    recorded = SimRecords(settings, lambda: sim.engine.table, MONDAY_7PM, out)
    sim = Simulation(table, seed=3, start=MONDAY_7PM, world=FailingDials)
    sim.subscribe(recorded.subscriber)
    sim.start()
    end = MONDAY_8PM + 600  # the business queues closed 10 minutes before the simulated time is up
    sim.run_until(MONDAY_8PM)
    assert sim.engine.parked  # between two attempts as the queues close
    sim.run_until(end)
    recorded.tick(end)
    parked = set(sim.engine.parked)  # those, and the callbacks promised by the closed action since
    assert len(parked) > 10
    finished_at = recorded.warm_down(sim, end)
    assert TUESDAY_830 < finished_at < TUESDAY_830 + 2 * HOUR  # they were made on Tuesday morning
    assert not recorded.subscriber.assembler.calls and not sim.engine.parked
    recorded.finish(finished_at)
    with sqlite3.connect(tmp_path / "r.db") as db:
        query = "SELECT callback_id, outcome, attempts, reason, finished_at, promised_at FROM callbacks"
        rows = {cb: (outcome, attempts, reason, finished, promised)
                for cb, outcome, attempts, reason, finished, promised in db.execute(query)}
        dial_outs = dict(db.execute("SELECT call_id, outcome FROM calls WHERE kind = 'callback'"))
    # The simulator's own record: the dial status of every attempt it made.
    truth = sim.callbacks
    assert len(truth) > 20 and set(rows) == set(truth) == set(dial_outs)
    for cb, dials in truth.items():
        outcome, attempts, reason, _, _ = rows[cb]
        if dials and dials[-1] == "ANSWER":
            assert (outcome, attempts, reason, dial_outs[cb]) == ("done", len(dials), "", "answered"), cb
            assert "ANSWER" not in dials[:-1]
        else:  # every attempt failed: ATTEMPTS of them, the last one's status the reason
            assert (outcome, attempts, reason, dial_outs[cb]) == ("failed", 3, dials[-1].lower(), "overflowed"), cb
            assert len(dials) == 3 and "ANSWER" not in dials
    outcomes = [row[0] for row in rows.values()]
    assert outcomes.count("done") > 5 and outcomes.count("failed") > 1
    # promised on Monday, finished on Tuesday morning: parked over the night
    overnight = [cb for cb, row in rows.items() if row[4] < end and row[3] > TUESDAY_830]
    assert set(overnight) == parked
    assert any(rows[cb][1] > 1 for cb in overnight)  # retried on Tuesday
    assert out.getvalue().rstrip().splitlines()[-2].endswith("every one on record")


def test_the_warm_down_is_bounded_by_the_latest_opening_and_the_horizon():
    """A callback parked until its queue opens extends the bound to that
    opening + WARM_DOWN_MAX; a call in progress alone does not move it; and
    the horizon caps it (a calendar that opens only weeks later)."""
    from dataclasses import replace

    from router.core import events as ev
    from router.sim.recorded import CALLBACK_HORIZON, WARM_DOWN_MAX

    table = check_config(SAMPLE).table
    sim = Simulation(table, seed=1, start=SUNDAY_5AM, calls_per_hour=0)
    assert SimRecords.bound(sim, SUNDAY_5AM, SUNDAY_5AM + 600) == SUNDAY_5AM + WARM_DOWN_MAX  # nothing parked
    sim.feed(ev.CallbackPromised("cb-x", "13800000000", "complaints", 0, SUNDAY_5AM - 60))
    assert "cb-x" in sim.engine.parked  # complaints keeps business hours: Monday 08:30
    assert SimRecords.bound(sim, SUNDAY_5AM, SUNDAY_5AM + 600) == MONDAY_830 + WARM_DOWN_MAX
    far = replace(table.calendars["business"], holidays=frozenset(
        datetime.fromtimestamp(SUNDAY_5AM + d * 86400, SH).date() for d in range(30)))
    sim.engine.table = replace(table, calendars={**table.calendars, "business": far})
    assert SimRecords.bound(sim, SUNDAY_5AM, SUNDAY_5AM + 600) == SUNDAY_5AM + CALLBACK_HORIZON
