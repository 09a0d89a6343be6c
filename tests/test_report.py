"""`router report` figures against a hand-checked day of records
(tests/support/report_day.py lists its calls and agent states; every
expected figure below is worked out by hand from that list)."""

from __future__ import annotations

import uuid
from datetime import datetime

import pytest
import sqlalchemy as sa

from router.config import check_config
from router.records.store import read_password
from router.report.figures import report_figures
from router.report.source import open_records
from tests.support import report_day
from tests.support.records import records_db
from tests.test_cli import SAMPLE


@pytest.fixture(scope="module")
def table():
    return check_config(SAMPLE).table


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request, tmp_path, monkeypatch):
    """The day's records in SQLite, and in a real PostgreSQL server."""
    if request.param == "sqlite":
        url = f"sqlite:{tmp_path / 'records.db'}"
    else:
        from support.postgres import PASSWORD

        url = request.getfixturevalue("postgres").create_database(f"report_{uuid.uuid4().hex[:12]}")
        monkeypatch.setenv("ROUTER_RECORDS_PASSWORD", PASSWORD)
    records_db(url, report_day.rows(), read_password(None))
    engine = open_records(url)
    yield engine
    engine.dispose()


def rows_of(figures, view, key):
    return {r["bucket"]: r for r in figures[view] if r[view[:-1]] == key}


def test_a_queue_day_every_outcome_and_the_service_level(engine, table):
    f = report_figures(engine, "2026-11-23", "2026-11-23", "day", table=table)
    day = rows_of(f, "queues", "sales")["2026-11-23"]
    assert day == {
        "queue": "sales", "title": "销售热线", "bucket": "2026-11-23",
        "offered": 10, "answered": 4, "abandoned": 2, "short_abandons": 1, "overflowed": 1, "callback": 2,
        "closed": 1, "sl_counted": 8, "sl_met": 2,  # c1, c9 met; c2, c8, c4, c5, c6, c10 missed
        "sl_percent": 25.0, "target_percent": 80.0, "within": 20.0, "target_met": False,
        "asa": 20.0,  # (10 + 30 + 25 + 15) / 4
        "longest_wait": 130.0,  # c10 (the closed c7 never waited)
        "aht": 185.0,  # (130 + 220 + 60 + 330) / 4; the callback's dial-out is not an inbound call
        "abandon_percent": 12.5,  # c4 / (10 - 1 closed - 1 short)
        "callbacks_promised": 2, "callbacks_done": 1, "callbacks_failed": 1,
        "transfers_in": 1, "transfers_out": 0,
    }
    assert rows_of(f, "queues", "sales")["total"] == {**day, "bucket": "total"}
    general = rows_of(f, "queues", "general")["2026-11-23"]
    assert (general["offered"], general["transfers_out"], general["sl_percent"]) == (0, 1, None)


def test_queue_hours_a_call_stays_in_the_bucket_of_its_arrival(engine, table):
    f = report_figures(engine, "2026-11-23", "2026-11-24", "hour", queues=["sales"], table=table)
    hours = rows_of(f, "queues", "sales")
    assert list(hours) == ["2026-11-23 08:00", "2026-11-23 09:00", "2026-11-23 10:00", "2026-11-23 23:00", "total"]
    assert (hours["2026-11-23 08:00"]["closed"], hours["2026-11-23 08:00"]["sl_percent"]) == (1, None)
    nine = hours["2026-11-23 09:00"]
    assert (nine["offered"], nine["answered"], nine["sl_counted"], nine["sl_met"], nine["sl_percent"]) == (7, 3, 6, 1,
                                                                                                            16.7)
    assert (nine["asa"], nine["aht"], nine["callbacks_promised"], nine["callbacks_done"]) == (21.7, 136.7, 1, 1)
    ten = hours["2026-11-23 10:00"]  # cb10 failed: in the bucket of c10, the call it was promised on
    assert (ten["callback"], ten["sl_percent"], ten["callbacks_failed"], ten["target_met"]) == (1, 0.0, 1, False)
    late = hours["2026-11-23 23:00"]  # c9 talked past midnight: still 23:00 on the 23rd
    assert (late["answered"], late["sl_percent"], late["aht"], late["target_met"]) == (1, 100.0, 330.0, True)
    assert hours["total"]["offered"] == 10
    nothing = report_figures(engine, "2026-11-24", "2026-11-24", "day", views=("queues",))
    assert nothing["queues"] == []


def test_queue_quarter_hours(engine):
    f = report_figures(engine, "2026-11-23", "2026-11-23", "interval15", queues=["sales"])
    q = rows_of(f, "queues", "sales")
    assert [b[11:] for b in q if b != "total"] == ["08:45", "09:00", "09:15", "09:30", "10:00", "23:45"]
    assert (q["2026-11-23 09:00"]["offered"], q["2026-11-23 09:00"]["short_abandons"],
            q["2026-11-23 09:00"]["sl_percent"]) == (4, 1, 33.3)  # c1 c2 c3 c8: c3 not counted
    assert (q["2026-11-23 09:15"]["abandoned"], q["2026-11-23 09:15"]["callback"],
            q["2026-11-23 09:15"]["sl_percent"]) == (1, 1, 0.0)
    assert q["2026-11-23 09:00"]["target_percent"] is None  # no config: no target, never judged
    assert q["total"]["target_met"] is None
    half = rows_of(report_figures(engine, "2026-11-23", "2026-11-23", "interval30", queues=["sales"]),
                   "queues", "sales")
    assert half["2026-11-23 09:00"]["offered"] == 6 and half["2026-11-23 09:30"]["offered"] == 1


def test_agents_time_per_state_calls_missed_offers_occupancy(engine, table):
    f = report_figures(engine, "2026-11-23", "2026-11-24", "day", table=table)
    a1 = rows_of(f, "agents", "1001")["2026-11-23"]
    assert a1 == {
        "agent": "1001", "name": "张伟", "team": "sales", "bucket": "2026-11-23",
        "logged_in": 4500.0, "available": 2191.0, "reserved": 19.0, "on_call": 180.0, "wrapup": 10.0,
        "paused": 1800.0, "unreachable": 300.0, "paused_by_reason": {"lunch": 1800.0},
        "answered": 2, "missed_offers": 0,  # the withdrawn offer of c4 is not a miss
        "aht": 95.0, "occupancy_percent": 7.9,  # 190 / (4500 - 1800 - 300)
        "satisfaction": 5.0, "surveys": 1,
    }
    a2 = rows_of(f, "agents", "1002")
    assert a2["2026-11-23"]["logged_in"] == 3600.0  # 3000 + 600 before midnight
    assert (a2["2026-11-23"]["available"], a2["2026-11-23"]["reserved"], a2["2026-11-23"]["on_call"]) == (
        2951.0, 24.0, 305.0)
    assert (a2["2026-11-23"]["answered"], a2["2026-11-23"]["missed_offers"], a2["2026-11-23"]["aht"]) == (2, 2, 275.0)
    assert (a2["2026-11-23"]["occupancy_percent"], a2["2026-11-23"]["satisfaction"]) == (9.8, 3.0)
    assert a2["2026-11-23"]["paused_by_reason"] == {"training": 300.0}
    after = a2["2026-11-24"]  # the session went on past midnight: its time is on the 24th, c9 is not
    assert (after["logged_in"], after["on_call"], after["wrapup"], after["answered"]) == (600.0, 195.0, 30.0, 0)
    assert (after["occupancy_percent"], after["satisfaction"], after["aht"]) == (37.5, None, None)
    assert a2["total"]["logged_in"] == 4200.0


def test_teams_with_their_leader(engine, table):
    f = report_figures(engine, "2026-11-23", "2026-11-23", "day", views=("teams",), table=table)
    team = rows_of(f, "teams", "sales")["2026-11-23"]
    assert (team["leader"], team["leader_name"]) == ("1001", "张伟")
    assert (team["logged_in"], team["paused"], team["answered"], team["missed_offers"]) == (8100.0, 2100.0, 4, 2)
    assert team["paused_by_reason"] == {"lunch": 1800.0, "training": 300.0}
    assert (team["aht"], team["satisfaction"], team["surveys"]) == (185.0, 4.0, 2)
    assert team["occupancy_percent"] == 9.0  # (485 + 30) / (8100 - 2100 - 300)


def test_a_session_spanning_buckets_is_split_and_adds_up_to_the_session(engine):
    hours = rows_of(report_figures(engine, "2026-11-23", "2026-11-24", "hour", views=("agents",)), "agents", "1001")
    assert {b: r["logged_in"] for b, r in hours.items()} == {
        "2026-11-23 08:00": 300.0, "2026-11-23 09:00": 3600.0, "2026-11-23 10:00": 600.0, "total": 4500.0}
    assert hours["2026-11-23 09:00"]["paused"] == 1800.0
    # per agent, the time per state adds up to the logged-in time, and that to the sessions
    f = report_figures(engine, "2026-11-23", "2026-11-24", "interval15", views=("agents",))
    with engine.connect() as conn:
        sessions = {a: d for a, d in conn.execute(sa.text("SELECT agent_id, SUM(duration) FROM agent_sessions "
                                                                  "GROUP BY agent_id"))}
    for r in f["agents"]:
        parts = sum(r[s] for s in ("available", "reserved", "on_call", "wrapup", "paused", "unreachable"))
        assert parts == pytest.approx(r["logged_in"])
        if r["bucket"] == "total":
            assert r["logged_in"] == pytest.approx(sessions[r["agent"]])


def test_filters_by_queue_team_and_agent(engine):
    only = report_figures(engine, "2026-11-23", "2026-11-23", agents=["1002"], views=("agents",))
    assert {r["agent"] for r in only["agents"]} == {"1002"}
    # --queue narrows an agent's calls and offers, not the time (states are not per queue)
    general = report_figures(engine, "2026-11-23", "2026-11-23", queues=["general"], views=("agents",))
    a1 = rows_of(general, "agents", "1001")["2026-11-23"]
    assert (a1["answered"], a1["logged_in"]) == (0, 4500.0)
    assert report_figures(engine, "2026-11-23", "2026-11-23", teams=["care"], views=("teams",))["teams"] == []


def test_weeks_and_months_roll_up_the_days(engine):
    week = report_figures(engine, "2026-11-23", "2026-11-30", "week", queues=["sales"], views=("queues", "agents"))
    assert [r["bucket"] for r in week["queues"]] == ["2026-W48", "total"]
    assert week["queues"][0]["offered"] == 10 and week["queues"][0]["sl_percent"] == 25.0
    assert rows_of(week, "agents", "1002")["2026-W48"]["logged_in"] == 4200.0  # 23rd and 24th together
    month = report_figures(engine, "2026-11-01", "2026-12-31", "month", views=("queues",))
    assert [r["bucket"] for r in month["queues"] if r["queue"] == "sales"] == ["2026-11", "total"]
    with pytest.raises(ValueError, match="by must be one of"):
        report_figures(engine, "2026-11-23", "2026-11-23", "fortnight")


def test_the_day_the_clocks_go_back_in_london(tmp_path):
    """2026-10-25, Europe/London: 01:00-02:00 happens twice (BST, then GMT).
    Rows carry local minutes, so both hours fall in the 01:00 buckets, and
    the day holds 25 hours of an agent's time."""
    from datetime import timedelta, timezone
    from zoneinfo import ZoneInfo

    from tests.support.records import call, session, states

    tz = ZoneInfo("Europe/London")
    bst = datetime(2026, 10, 25, 0, 30, tzinfo=timezone.utc).timestamp()  # 01:30 BST
    gmt = bst + 3600  # 01:30 GMT, an hour later
    assert datetime.fromtimestamp(bst, tz).strftime("%H:%M %Z") == "01:30 BST"
    assert datetime.fromtimestamp(gmt, tz).strftime("%H:%M %Z") == "01:30 GMT"
    midnight = datetime(2026, 10, 25, tzinfo=tz).timestamp()
    end = midnight + timedelta(hours=25).total_seconds()  # the next midnight
    rows = [call("d1", "sales", bst, "answered", 10, tz, agent="1001", team="sales", talk=60, wrapup=0),
            call("d2", "sales", gmt, "abandoned", 30, tz),
            *states("1001", "sales", [("available", "", midnight, end)], tz),
            session("1001", "sales", midnight, end, tz)]
    url = f"sqlite:{tmp_path / 'dst.db'}"
    records_db(url, rows)
    engine = open_records(url)
    try:
        f = report_figures(engine, "2026-10-25", "2026-10-25", "hour")
        q = rows_of(f, "queues", "sales")
        assert list(q) == ["2026-10-25 01:00", "total"]
        assert (q["2026-10-25 01:00"]["offered"], q["2026-10-25 01:00"]["sl_percent"]) == (2, 50.0)
        a = rows_of(f, "agents", "1001")
        assert a["2026-10-25 01:00"]["logged_in"] == 7200.0  # the hour, twice
        assert a["2026-10-25 00:00"]["logged_in"] == 3600.0 and len(a) == 24 + 1  # 24 local hours + total
        assert a["total"]["logged_in"] == 25 * 3600.0
        quarters = rows_of(report_figures(engine, "2026-10-25", "2026-10-25", "interval15", views=("queues",)),
                           "queues", "sales")
        assert quarters["2026-10-25 01:30"]["offered"] == 2
    finally:
        engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def late_url(request, tmp_path, monkeypatch):
    """An empty records database of each dialect (its URL)."""
    if request.param == "sqlite":
        return f"sqlite:{tmp_path / 'late.db'}"
    from support.postgres import PASSWORD

    monkeypatch.setenv("ROUTER_RECORDS_PASSWORD", PASSWORD)
    return request.getfixturevalue("postgres").create_database(f"late_{uuid.uuid4().hex[:12]}")


def test_a_late_score_counts_with_its_call(late_url, table):
    """c8 (answered by 1001, no score on its row) scored 2 after it was on
    record; c1's row already has its 5, so a second score for it is not
    counted again; a score for a call not on record is not anyone's."""
    from router.records.model import SurveyRow

    late = [SurveyRow("c8", 2, report_day.at(11, 0)), SurveyRow("c1", 1, report_day.at(11, 1)),
            SurveyRow("nowhere", 1, report_day.at(11, 2))]
    records_db(late_url, report_day.rows() + late, read_password(None))
    engine = open_records(late_url)
    try:
        f = report_figures(engine, "2026-11-23", "2026-11-23", "day", table=table)
        a1 = rows_of(f, "agents", "1001")
        assert (a1["2026-11-23"]["satisfaction"], a1["2026-11-23"]["surveys"]) == (3.5, 2)  # (5 + 2) / 2
        assert (a1["total"]["satisfaction"], a1["total"]["surveys"]) == (3.5, 2)
        team = rows_of(f, "teams", "sales")["2026-11-23"]
        assert (team["satisfaction"], team["surveys"]) == (3.33, 3)  # (5 + 3 + 2) / 3
        hours = rows_of(report_figures(engine, "2026-11-23", "2026-11-23", "hour", views=("agents",)),
                        "agents", "1001")
        assert hours["2026-11-23 09:00"]["surveys"] == 2  # in the bucket of the call's arrival, not the score's
        assert rows_of(report_figures(engine, "2026-11-23", "2026-11-23", queues=["general"], views=("agents",)),
                       "agents", "1001")["2026-11-23"]["surveys"] == 0  # c8 finished in sales
    finally:
        engine.dispose()


def test_a_database_before_the_surveys_table_is_reported(tmp_path, table):
    """A database an older router keeps (schema 0003) has no late scores;
    the report reads it as it is."""
    from alembic import command

    from router.records.migrate import alembic_config
    from router.records.store import make_engine, parse_url
    from test_records_store import write_old

    url = f"sqlite:{tmp_path / 'old.db'}"
    engine = make_engine(parse_url(url))
    with engine.begin() as conn:
        command.upgrade(alembic_config(conn), "0003")
    write_old(engine, report_day.rows())  # without the columns of 0005
    engine.dispose()
    engine = open_records(url)
    try:
        a1 = rows_of(report_figures(engine, "2026-11-23", "2026-11-23", table=table), "agents", "1001")
        assert (a1["2026-11-23"]["satisfaction"], a1["2026-11-23"]["surveys"]) == (5.0, 1)
    finally:
        engine.dispose()
