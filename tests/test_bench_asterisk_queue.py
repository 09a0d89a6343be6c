"""bench/asterisk_queue.py: its event bookkeeping on made-up AMI events (no
I/O), and a tiny run of both modes on the real Asterisk. No timing is
asserted: the figures come from `python -m bench.asterisk_queue`."""

from __future__ import annotations

import math

from bench.asterisk_queue import WRAPUP, freed_to_ring, measure, run


def _events(*rows):
    return [(t, {"Event": name, **fields}) for t, name, fields in rows]


def test_measure_pairs_each_caller_with_the_agent_leg_bridged_to_it():
    events = _events(
        (0.0, "Newchannel", {"Channel": "PJSIP/1001-0001", "Uniqueid": "f1"}),  # *41 before any caller
        (0.5, "Hangup", {"Channel": "PJSIP/1001-0001", "Uniqueid": "f1"}),  # not a call: no wrap-up
        (1.0, "Newchannel", {"Channel": "PJSIP/trunk-0001", "Uniqueid": "c1"}),
        (1.5, "UserEvent", {"UserEvent": "RouterCallWaiting", "Uniqueid": "c1"}),
        (1.6, "Newchannel", {"Channel": "PJSIP/trunk-0002", "Uniqueid": "c2"}),
        (1.9, "UserEvent", {"UserEvent": "RouterCallWaiting", "Uniqueid": "c2"}),
        (1.503, "Newchannel", {"Channel": "PJSIP/1001-0002", "Uniqueid": "a1"}),
        (2.5, "BridgeEnter", {"Channel": "PJSIP/1001-0002", "Uniqueid": "a1", "BridgeUniqueid": "b1"}),
        (2.51, "BridgeEnter", {"Channel": "PJSIP/trunk-0001", "Uniqueid": "c1", "BridgeUniqueid": "b1"}),
        (5.0, "Hangup", {"Channel": "PJSIP/1001-0002", "Uniqueid": "a1"}),
        # c2 waited through 1001's wrap-up: rung 20 ms after it ended
        (5.0 + WRAPUP + 0.02, "Newchannel", {"Channel": "PJSIP/1001-0003", "Uniqueid": "a2"}),
        (6.0 + WRAPUP, "BridgeEnter", {"Channel": "PJSIP/1001-0003", "Uniqueid": "a2", "BridgeUniqueid": "b2"}),
        (6.0 + WRAPUP, "BridgeEnter", {"Channel": "PJSIP/trunk-0002", "Uniqueid": "c2", "BridgeUniqueid": "b2"}),
    )
    events.sort(key=lambda e: e[0])
    got = measure(events, "router")
    assert (got["callers"], got["connected"], got["agent_legs"]) == (2, 2, 2)
    assert [round(r, 3) for r in got["ring"]] == [0.003, round(5.0 + WRAPUP + 0.02 - 1.9, 3)]
    assert [round(c, 3) for c in got["connect"]] == [1.51, round(6.0 + WRAPUP - 1.6, 3)]  # from arrival
    assert [round(f, 3) for f in got["front"]] == [0.3, 0.5]
    assert [round(f, 3) for f in got["freed"]] == [0.02]
    # app_queue's clock starts at QueueCallerJoin: no such event, no callers
    assert measure(events, "app_queue")["callers"] == 0


def test_a_ring_with_nobody_waiting_is_not_a_freed_to_ring_figure():
    events = _events(
        (0.0, "UserEvent", {"UserEvent": "RouterCallWaiting", "Uniqueid": "c1"}),
        (0.1, "Newchannel", {"Channel": "PJSIP/1001-1", "Uniqueid": "a1"}),
        (1.0, "BridgeEnter", {"Channel": "PJSIP/trunk-1", "Uniqueid": "c1", "BridgeUniqueid": "b1"}),
        (4.0, "Hangup", {"Channel": "PJSIP/1001-1", "Uniqueid": "a1"}),
        (30.0, "UserEvent", {"UserEvent": "RouterCallWaiting", "Uniqueid": "c2"}),
        (30.1, "Newchannel", {"Channel": "PJSIP/1001-2", "Uniqueid": "a2"}),
    )
    start = {"c1": 0.0, "c2": 30.0}
    assert freed_to_ring(events, start, {"c1": 0.1}) == []
    # a caller ringing another agent when 1001 is freed is not waiting for 1001
    assert freed_to_ring(events, {"c1": 0.0, "c2": 13.0}, {"c1": 0.1, "c2": 13.5}) == []


def test_both_modes_connect_every_caller_once_on_the_real_asterisk(tmp_path):
    for mode in ("router", "app_queue"):
        work = tmp_path / mode
        work.mkdir()
        got = run(mode, ["1001", "1002", "1003"], 3, 1.0, work)  # an agent free for each caller
        assert (got["callers"], got["connected"], got["agent_legs"]) == (3, 3, 3), (mode, got)
        assert all(0 <= r < 5 for r in got["ring"]), (mode, got["ring"])
        assert all(math.isfinite(c) and c >= r for c, r in zip(got["connect"], got["ring"])), mode  # sorted both
        assert got["cpu_pbx"] > 0 and (got["cpu_router"] > 0) == (mode == "router"), (mode, got)
