"""A router restart with calls in progress, on a real Asterisk 22.10.1
running the shipped deploy/asterisk (tests/support/asterisk.py): `router
run` is killed (SIGKILL, or stopped by SIGTERM) while one caller is
connected to agent 1001 and a second caller waits on hold for the busy
agent. The new router logs in, resyncs from the PBX (CoreShowChannels,
Status, DeviceStateList) and keeps the agents of --state-file: it sees the
connected call as on_call and does not offer it again, and when 1001 hangs
up it routes the waiting caller to 1001, once.

Both routers write the same records (`--records sqlite:`, its spool and
checkpoint beside it): after the calls each call has one complete record
(the connected one with the talk time the phone gave it, the waiting one
with its wait across the restart), and 1001's state intervals tile their
two sessions, the first ending at the kill and the second beginning at the
new router's start (the downtime is a gap: assemble.py rule 6)."""

from __future__ import annotations

import re
import signal
import sqlite3
import time

import pytest

from support.asterisk import Lab
from support.asterisk_conf import RING, TALK
from support.asterisk_router import AGENTS, RouterProcess, wait_for

#: seconds 1001's phone talks on the first call beyond TALK: long enough to outlive the restart
#: (a router with records on takes several seconds to start on this shared machine)
EXTRA = 20
#: seconds of clock a record may be off by: the phones' SIP/RTP and the routers' AMI round trips
SLACK = 1.5


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM])
def test_a_restarted_router_resyncs_the_connected_and_the_waiting_call_from_the_pbx(tmp_path, sig):
    state, db = tmp_path / "agents.state", tmp_path / "records.db"
    journal = tmp_path / "records.db.spool" / "open.journal"  # the records' checkpoint (records/checkpoint.py)
    records = ("--state-file", str(state), "--records", f"sqlite:{db}")
    first_dir, second_dir = tmp_path / "first", tmp_path / "second"
    first_dir.mkdir()
    second_dir.mkdir()
    with Lab(tmp_path, AGENTS) as lab:
        lab.phone("1001", talk=EXTRA)
        first = RouterProcess(lab, first_dir, *records)
        try:
            lab.feature("1001", "*41")
            wait_for(lambda: first.agent("1001")["state"] == "available", 10, "1001 logged in by *41")
            lab.call("4008001000", "陈静", "13800138000")
            talking = wait_for(lambda: re.search(r"answer +(\S+) by 1001", first.output()), 15,
                               "the first caller connected to 1001").group(1)
            lab.call("4008001000", "王五", "13900139000")
            waiting = wait_for(lambda: re.search(r"call +(\S+) 王五 dnis 4008001000 -> plain", first.output()),
                               15, "the router to see the second caller").group(1)
            seen_waiting = time.time()
            # the checkpoint has the waiting call (so its record keeps the router's arrival time, not
            # the resync's whole seconds of hold), then a quiet spell: no fact until the kill
            wait_for(lambda: journal.exists() and f'"c:{waiting}"' in journal.read_text(encoding="utf-8"), 5,
                     "the waiting call in the records' checkpoint")
            wait_for(lambda: re.search(r"^PJSIP/pbx-\S+!phones!1001!\d+!Up!Wait!",
                                       lab.phones.cli("core show channels concise"), re.M), 15,
                     "1001's phone in its extra talk")
            lab.phone("1001")  # the next call talks only TALK s
        finally:
            killed_at = time.time()
            first.proc.send_signal(sig)
            first.proc.wait(30)
            first.stop()
        assert (first.proc.returncode == 0) if sig == signal.SIGTERM else first.proc.returncode == -sig
        assert len(lab.caller_channels()) == 2  # both callers are still on the PBX, neither noticed

        restarted_at = time.time()
        second = RouterProcess(lab, second_dir, *records)
        try:
            agent = wait_for(lambda: (a := second.agent("1001"))["state"] == "on_call" and a, 10,
                             "the new router to see 1001 on the call")
            assert agent["call"] == talking
            # 1001 hangs up: the waiting caller, resynced from router-in's hold, goes to 1001
            wait_for(lambda: re.search(rf"answer +{re.escape(waiting)} by 1001", second.output()), TALK + EXTRA + 20,
                     "the waiting caller connected to 1001")
            legs = re.findall(r"^PJSIP/(10\d\d)-\S+!router-agent!\d+!\d+!Up!Bridge!PJSIP/trunk-",
                              lab.pbx.cli("core show channels concise"), re.M)
            assert legs == ["1001"]
            assert len(lab.caller_channels()) == 1
            wait_for(lab.pbx.idle, TALK + 25, "the calls over")
            wait_for(lambda: second.agent("1001")["state"] == "available", 10, "1001 available again")
            # the connected call was never offered again, the waiting one once
            assert not re.search(rf"ring +\S+ for {re.escape(talking)}", second.output())
            assert len(re.findall(rf"ring +1001 for {re.escape(waiting)}", second.output())) == 1
            lab.feature("1001", "*42")  # ends 1001's session, so that it is on record
            wait_for(lambda: second.agent("1001")["state"] == "logged_out", 10, "1001 logged out by *42")
            assert second.warnings() == []
        finally:
            assert second.stop() == 0  # a clean stop flushes the records
    with sqlite3.connect(db) as con:
        calls = con.execute("SELECT call_id, outcome, reason, answered_by, offers, arrived_at, answered_at,"
                            " ended_at, wait, talk FROM calls").fetchall()
        offers = con.execute("SELECT call_id, seq, agent_id, rung_at, outcome FROM offers").fetchall()
        sessions = con.execute("SELECT login_at, logout_at, duration FROM agent_sessions WHERE agent_id = '1001'"
                               " ORDER BY login_at").fetchall()
        states = con.execute("SELECT state, call_id, started_at, ended_at, duration FROM agent_states"
                             " WHERE agent_id = '1001' ORDER BY started_at").fetchall()
    assert_call_records(calls, offers, talking, waiting, killed_at, restarted_at, seen_waiting)
    assert_agent_records(sessions, states, talking, killed_at, restarted_at)


def assert_call_records(calls, offers, talking, waiting, killed_at, restarted_at, seen_waiting):
    """One complete row per call (the call id is the key: a second row
    would have been dropped, so the count is of calls, not of copies)."""
    assert sorted(c[0] for c in calls) == sorted([talking, waiting])
    rows = {c[0]: c[1:] for c in calls}
    outcome, reason, by, n_offers, arrived, answered, ended, wait, talk = rows[talking]
    assert (outcome, reason, by, n_offers) == ("answered", "", "1001", 1)
    assert arrived < answered < killed_at < restarted_at < ended
    # the phone answered, played TALK s and waited EXTRA s more, then hung up
    assert abs(talk - (TALK + EXTRA)) <= SLACK, talk
    assert talk == pytest.approx(ended - answered)
    assert abs(wait - RING) <= SLACK, wait

    outcome, reason, by, n_offers, arrived, answered, ended, wait, talk = rows[waiting]
    assert (outcome, reason, by, n_offers) == ("answered", "", "1001", 1)
    # its wait spans the restart: the first router's arrival (from the checkpoint), the second's answer
    assert arrived <= seen_waiting < killed_at < restarted_at < answered
    assert wait == pytest.approx(answered - arrived)
    assert abs(talk - TALK) <= SLACK, talk
    # rung once, by the new router, when the first call had ended
    assert sorted(o[:3] + (o[4],) for o in offers) == [(c, 1, "1001", "answered") for c in sorted([talking, waiting])]
    (rung_at,) = [o[3] for o in offers if o[0] == waiting]
    assert rows[talking][6] <= rung_at <= rows[talking][6] + SLACK


def assert_agent_records(sessions, states, talking, killed_at, restarted_at):
    """1001's state intervals tile each session exactly (no overlap, no hole,
    none outside a session); the first session ends at the kill (within the
    records' checkpoint interval), the second begins with the new router."""
    assert len(sessions) == 2, sessions
    (login1, logout1, _), (login2, logout2, _) = sessions
    assert killed_at - 0.75 <= logout1 <= killed_at + 0.1, (logout1, killed_at)
    assert restarted_at <= login2 <= restarted_at + 30
    tiled = 0
    for login, logout, duration in sessions:
        inside = [s for s in states if login <= s[2] < logout]
        tiled += len(inside)
        assert inside[0][2] == login and inside[-1][3] == logout
        for (_, _, _, end, _), (_, _, start, _, _) in zip(inside, inside[1:]):
            assert end == start
        assert sum(s[4] for s in inside) == pytest.approx(duration, abs=1e-6)
    assert tiled == len(states)
    # the connected call is on_call in both sessions: up to the kill, and from the new router's
    # resync (its first moment is the state the --state-file restored, until the PBX is read) to its end
    on_call = [s for s in states if s[0] == "on_call" and s[1] == talking]
    assert len(on_call) == 2
    assert on_call[0][3] == logout1 and on_call[1][2] - login2 <= 2.0, (on_call, login2)
