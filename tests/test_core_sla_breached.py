"""When a queue's service level counts as breached (the MQTT alert): the
core's decision, `SlaBook.breached`; the bus only publishes it."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from router.core.sla import SlaBook
from support.tables import agent, queue, req, step, table

T0 = datetime(2026, 11, 23, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai")).timestamp()
# 80% within 20 s (tables.queue's default).
TABLE = table([agent("a1", sales=5)], [queue("sales", step(0, req(sales=1)))])


def test_below_target_with_enough_counted_calls_is_breached():
    b = SlaBook(TABLE, tz="Asia/Shanghai")
    assert not b.breached("sales", T0, min_calls=0)  # nothing counted: no level, no alert
    for i in range(3):
        b.answered("sales", 5.0, T0 + i)  # met
    b.abandoned("sales", 30.0, T0 + 3)  # missed: 3/4 = 75% < 80%
    assert b.breached("sales", T0 + 10, min_calls=4)
    assert not b.breached("sales", T0 + 10, min_calls=5)  # too few calls to say
    b.answered("sales", 1.0, T0 + 11)  # 4/5 = 80%: at target is not breached
    assert not b.breached("sales", T0 + 12, min_calls=5)


def test_the_alert_window_rolls_and_short_abandons_do_not_count():
    b = SlaBook(TABLE, tz="Asia/Shanghai", short_abandon=5.0)
    b.abandoned("sales", 30.0, T0)
    assert b.breached("sales", T0 + 1, min_calls=1)
    assert not b.breached("sales", T0 + 16 * 60, min_calls=1)  # out of the 15 minutes
    assert b.breached("sales", T0 + 16 * 60, min_calls=1, window="1h")
    b2 = SlaBook(TABLE, tz="Asia/Shanghai", short_abandon=5.0)
    b2.abandoned("sales", 2.0, T0)  # a short abandon: not counted at all
    assert not b2.breached("sales", T0 + 1, min_calls=1)
