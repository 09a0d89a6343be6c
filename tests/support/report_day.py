"""A small, hand-checked day of records (Asia/Shanghai, Monday 2026-11-23)
for the report tests: queue sales (80% within 20 s in the sample config),
agents 1001 and 1002 of team sales. tests/test_report.py lists the
figures expected from it, computed by hand.

Calls (local times; wait in seconds):
  c1  09:00 answered by 1001 after 10 (met), talk 120 + wrap-up 10, survey 5;
      first offered to 1002, who did not answer
  c2  09:05 answered by 1002 after 30 (missed T), talk 200 + 20, survey 3
  c3  09:10 abandoned after 3: a short abandon
  c4  09:20 abandoned after 12 (a miss, although before T); 1001 rang, withdrawn
  c5  09:25 overflow by callback after 60; callback cb5 done by 1001
  c6  09:40 overflowed (voicemail) after 90; 1002 rang busy
  c7  08:50 closed
  c8  09:02 arrived in general, moved to sales, answered by 1001 after 25, talk 60
  c9  23:58 answered by 1002 after 15, talk 300 + 30: ends after midnight
  c10 10:00 overflow by callback after 130; callback cb10 failed
  cb5's own dial-out is a "callback" call answered by 1001 (not an inbound call).
Agents: 1001 logged in 08:55-10:10 (lunch 09:30-10:00, unreachable 10:00-10:05);
1002 09:00-09:50 (training pause 09:45-09:50) and 23:50-00:10 (over midnight).
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from tests.support.records import call, callback, offer, session, states

TZ = ZoneInfo("Asia/Shanghai")


def at(hh: int, mm: int, ss: float = 0, day: int = 23) -> float:
    return datetime(2026, 11, day, hh, mm, tzinfo=TZ).timestamp() + ss


def rows() -> list:
    s = "sales"
    calls = [
        call("c1", s, at(9, 0), "answered", 10, TZ, agent="1001", team="sales", talk=120, wrapup=10, survey=5,
             offers=2),
        call("c2", s, at(9, 5), "answered", 30, TZ, agent="1002", team="sales", talk=200, wrapup=20, survey=3,
             offers=1),
        call("c3", s, at(9, 10), "abandoned", 3, TZ),
        call("c4", s, at(9, 20), "abandoned", 12, TZ, offers=1),
        call("c5", s, at(9, 25), "callback", 60, TZ, callback_id="cb5"),
        call("c6", s, at(9, 40), "overflowed", 90, TZ, offers=1),
        call("c7", s, at(8, 50), "closed", 0, TZ),
        call("c8", s, at(9, 2), "answered", 25, TZ, agent="1001", team="sales", talk=60, wrapup=0,
             first_queue="general", moves=1, offers=1),
        call("c9", s, at(23, 58), "answered", 15, TZ, agent="1002", team="sales", talk=300, wrapup=30, offers=1),
        call("c10", s, at(10, 0), "callback", 130, TZ, callback_id="cb10"),
        call("cb5", s, at(10, 6), "answered", 4, TZ, agent="1001", team="sales", talk=90, wrapup=5,
             kind="callback", origin="c5"),
    ]
    offers = [
        offer("c1", 1, "1002", "sales", s, at(9, 0), at(9, 0, 8), "no-answer"),
        offer("c1", 2, "1001", "sales", s, at(9, 0, 8), at(9, 0, 10), "answered"),
        offer("c2", 1, "1002", "sales", s, at(9, 5, 20), at(9, 5, 30), "answered"),
        offer("c4", 1, "1001", "sales", s, at(9, 20), at(9, 20, 12), "withdrawn"),
        offer("c6", 1, "1002", "sales", s, at(9, 40), at(9, 40, 1), "busy"),
        offer("c8", 1, "1001", "sales", s, at(9, 2, 20), at(9, 2, 25), "answered"),
        offer("c9", 1, "1002", "sales", s, at(23, 58, 10), at(23, 58, 15), "answered"),
    ]
    callbacks = [callback("cb5", "c5", s, at(9, 26), at(10, 6, 4), "done", TZ, agent="1001"),
                 callback("cb10", "c10", s, at(10, 2, 10), at(10, 30), "failed", TZ)]
    a1 = states("1001", "sales", [
        ("available", "", at(8, 55), at(9, 0, 8)),
        ("reserved", "", at(9, 0, 8), at(9, 0, 10), "c1"),
        ("on_call", "", at(9, 0, 10), at(9, 2, 10), "c1"),
        ("wrapup", "", at(9, 2, 10), at(9, 2, 20), "c1"),
        ("reserved", "", at(9, 2, 20), at(9, 2, 25), "c8"),
        ("on_call", "", at(9, 2, 25), at(9, 3, 25), "c8"),
        ("available", "", at(9, 3, 25), at(9, 20)),
        ("reserved", "", at(9, 20), at(9, 20, 12), "c4"),
        ("available", "", at(9, 20, 12), at(9, 30)),
        ("paused", "lunch", at(9, 30), at(10, 0)),
        ("unreachable", "unregistered", at(10, 0), at(10, 5)),
        ("available", "", at(10, 5), at(10, 10)),
    ], TZ)
    a2 = states("1002", "sales", [
        ("reserved", "", at(9, 0), at(9, 0, 8), "c1"),
        ("available", "", at(9, 0, 8), at(9, 5, 20)),
        ("reserved", "", at(9, 5, 20), at(9, 5, 30), "c2"),
        ("on_call", "", at(9, 5, 30), at(9, 8, 50), "c2"),
        ("wrapup", "", at(9, 8, 50), at(9, 9, 10), "c2"),
        ("available", "", at(9, 9, 10), at(9, 40)),
        ("reserved", "", at(9, 40), at(9, 40, 1), "c6"),
        ("available", "", at(9, 40, 1), at(9, 45)),
        ("paused", "training", at(9, 45), at(9, 50)),
        ("available", "", at(23, 50), at(23, 58, 10)),
        ("reserved", "", at(23, 58, 10), at(23, 58, 15), "c9"),
        ("on_call", "", at(23, 58, 15), at(0, 3, 15, day=24), "c9"),
        ("wrapup", "", at(0, 3, 15, day=24), at(0, 3, 45, day=24), "c9"),
        ("available", "", at(0, 3, 45, day=24), at(0, 10, day=24)),
    ], TZ)
    sessions = [session("1001", "sales", at(8, 55), at(10, 10), TZ),
                session("1002", "sales", at(9, 0), at(9, 50), TZ),
                session("1002", "sales", at(23, 50), at(0, 10, day=24), TZ)]
    return calls + offers + callbacks + a1 + a2 + sessions
