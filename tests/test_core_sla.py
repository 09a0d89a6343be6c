"""The service-level book (router/core/sla.py) and its feed from the engine."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from router.core import erlang
from router.core import events as ev
from router.core.engine import Engine
from router.core.sla import SlaBook
from support.tables import agent, queue, req, step, table

TZ = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 11, 23, 10, 0, tzinfo=TZ).timestamp()
# Both queues: 80% within 20 s (tables.queue's default).
TABLE = table([agent("a1", sales=5), agent("a2", sales=5)],
              [queue("sales", step(0, req(sales=1))), queue("support", step(0, req(sales=1)))])


def book(**kw) -> SlaBook:
    return SlaBook(TABLE, tz="Asia/Shanghai", **kw)


def test_which_calls_count_and_which_meet_the_target():
    b = book(short_abandon=5.0)
    b.answered("sales", 20.0, T0)         # at the threshold: met
    b.answered("sales", 20.5, T0 + 1)     # missed
    b.abandoned("sales", 4.9, T0 + 2)     # short abandon: not counted
    b.abandoned("sales", 8.0, T0 + 3)     # after the short threshold, before T: missed
    b.abandoned("sales", 60.0, T0 + 4)    # after T: missed
    b.overflowed("sales", 0.0, T0 + 5)    # queue full: missed
    assert b.counts("sales", "15m", T0 + 10) == (1, 5)
    assert b.level("sales", "15m", T0 + 10) == pytest.approx(0.2)
    assert b.level("support", "15m", T0 + 10) is None  # no counted call: no level
    assert b.counts("sales", "1h", T0 + 10) == b.counts("sales", "today", T0 + 10) == (1, 5)


def test_only_short_abandons_give_no_level():
    b = book()
    b.abandoned("sales", 1.0, T0)
    assert b.level("sales", "1h", T0) is None


def test_rolling_windows_forget_old_calls():
    b = book()
    b.answered("sales", 5.0, T0)
    b.answered("sales", 50.0, T0 + 1000)
    assert b.counts("sales", "15m", T0 + 1000) == (0, 1)
    assert b.counts("sales", "1h", T0 + 1000) == (1, 2)
    assert b.counts("sales", "1h", T0 + 3600) == (0, 1)   # the first is exactly an hour old
    assert b.counts("sales", "1h", T0 + 4601) == (0, 0)
    assert all(not r.events for r in b.queues["sales"].rolling.values())  # memory freed
    assert b.counts("sales", "today", T0 + 4601) == (1, 2)


def test_today_restarts_at_the_configured_local_hour():
    b = book(day_start_hour=6)
    five_am = datetime(2026, 11, 24, 5, 0, tzinfo=TZ).timestamp()
    seven_am = datetime(2026, 11, 24, 7, 0, tzinfo=TZ).timestamp()
    b.answered("sales", 1.0, T0)
    b.answered("sales", 1.0, five_am)  # still the day that began at 06:00 yesterday
    assert b.counts("sales", "today", five_am) == (2, 2)
    assert b.counts("sales", "today", seven_am) == (0, 0)
    b.abandoned("sales", 30.0, seven_am)
    assert b.counts("sales", "today", seven_am) == (0, 1)


def test_default_time_zone_is_the_first_calendars_or_utc():
    assert SlaBook(TABLE).tz.key == "UTC"
    with pytest.raises(ValueError):
        SlaBook(TABLE, day_start_hour=24)
    with pytest.raises(ValueError):
        book().counts("sales", "5m", T0)


def test_handle_time_ewt_and_required_agents():
    b = book()
    assert b.ewt("sales", 3, T0, agents=2) is None and b.required_agents("sales", T0) is None
    # 100 calls in 30 minutes, 180 s handle time each: 10 Erlangs.
    for i in range(100):
        t = T0 + i * 18
        b.answered("sales", 5.0, t)
        b.ended("sales", 180.0, t)
    now = T0 + 1800
    assert b.handle_time("sales", now) == pytest.approx(180.0)
    assert b.arrival_rate("sales", now) == pytest.approx(100 / 1800)
    assert b.ewt("sales", 3, now, agents=12) == pytest.approx(4 * 180 / 12)
    assert b.required_agents("sales", now) == erlang.required_agents(100 / 1800, 180, 0.8, 20) == 14
    # Without agents, the estimate comes from the answers of the last 15 min.
    assert b.ewt("sales", 1, now, agents=0) == pytest.approx(2 / (49 / 900))  # answers at T0+918..T0+1782


def test_replace_table_keeps_history_of_kept_queues_and_drops_removed_ones():
    b = book()
    b.answered("sales", 1.0, T0)
    b.answered("support", 1.0, T0)
    b.replace_table(table([agent("a1", sales=5)], [queue("sales", step(0, req(sales=1))),
                                                   queue("vip", step(0, req(sales=1)))]))
    assert b.counts("sales", "1h", T0) == (1, 1)
    assert b.counts("support", "1h", T0) == (0, 0) and "support" not in b.queues
    b.answered("vip", 30.0, T0)
    assert b.counts("vip", "1h", T0) == (0, 1)


def test_the_engine_feeds_its_book():
    tbl = table([agent("a1", sales=5)], [queue("sales", step(0, req(sales=1)), wrapup=10.0)])
    engine = Engine(tbl)
    engine.handle(ev.AgentLogin("a1"), T0)
    engine.handle(ev.CallWaiting("c1"), T0)
    engine.handle(ev.AgentAnswered("c1", "a1"), T0 + 3)       # answered in 3 s: met
    engine.handle(ev.CallWaiting("c2"), T0 + 4)
    engine.handle(ev.CallLeft("c2"), T0 + 34)                 # abandoned after 30 s: missed
    engine.handle(ev.CallWaiting("c3"), T0 + 35)
    engine.handle(ev.CallLeft("c3"), T0 + 36)                 # short abandon: not counted
    engine.handle(ev.CallEnded("c1"), T0 + 63)                # 60 s talk + 10 s wrap-up
    assert engine.sla.counts("sales", "15m", T0 + 63) == (1, 2)
    assert engine.sla.handle_time("sales", T0 + 63) == pytest.approx(70.0)
    engine.handle(ev.ConfigReplaced(tbl), T0 + 64)
    assert engine.sla.counts("sales", "15m", T0 + 64) == (1, 2)


def test_memory_is_bounded_by_the_window_not_by_the_call_rate():
    b = book()
    for i in range(20_000):  # 20,000 calls in 10 minutes: 33 a second
        b.answered("sales", 3.0, T0 + i * 0.03)
    roll = b.queues["sales"].rolling["1h"]
    assert roll.counted == 20_000 and len(roll.events) <= 600 / 5 + 1
    assert b.counts("sales", "15m", T0 + 600) == (20_000, 20_000)


def test_today_turns_over_at_the_right_instant_in_uneven_steps_and_across_daylight_saving():
    """`_day` keeps its answer for a local minute: walked across the day's
    start (an odd hour, in a zone with daylight saving, on the change
    itself) in steps of a few seconds, every answer is the definition's."""
    from datetime import timedelta
    for zone, start_hour, t0 in (("Europe/London", 2, datetime(2026, 10, 25, 0, 55, tzinfo=ZoneInfo("UTC"))),
                                 ("Asia/Shanghai", 6, datetime(2026, 11, 23, 5, 50, tzinfo=TZ))):
        b = SlaBook(TABLE, tz=zone, day_start_hour=start_hour)
        t, days = t0.timestamp(), set()
        while t < t0.timestamp() + 3 * 3600:
            expected = (datetime.fromtimestamp(t, ZoneInfo(zone)) - timedelta(hours=start_hour)).date()
            assert b._day(t) == expected, (zone, t)
            days.add(expected)
            t += 3.7 if int(t) % 900 < 450 else 59.9997
        assert len(days) == 2, zone  # the walk did cross a day's start
