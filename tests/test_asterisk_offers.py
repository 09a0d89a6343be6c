"""Offers that do not end in an answer, on a real Asterisk 22.10.1 running
the shipped deploy/asterisk (tests/support/asterisk.py), with the router
writing call records to SQLite: a caller who hangs up while the agent's
phone is still ringing (the ring is withdrawn, the agent is free again), an
agent's phone that rejects the call as busy, and one that rings past the
queue's ring timeout (the call goes to the next agent, and is connected to
one agent only). Asterisk 22 reports a busy phone's failed Originate with
Reason 0 before the leg's Hangup (Cause 17): the router takes the reason from
the Hangup (router/ami/translate.py), so the record says "busy"."""

from __future__ import annotations

import re
import sqlite3

import pytest

from support.asterisk import Lab
from support.asterisk_conf import TALK
from support.asterisk_router import AGENTS, RouterProcess, wait_for


def _ringing_phones(lab: Lab) -> list[str]:
    """The agent extensions whose phone is ringing (not answered) now."""
    out = lab.phones.cli("core show channels concise")
    return re.findall(r"^PJSIP/pbx-\S+!phones!(10\d\d)!\d+!Ring\w*!", out, re.M)


def _offers(db, call_id: str) -> list[tuple]:
    with sqlite3.connect(db) as con:
        return con.execute("SELECT agent_id, outcome FROM offers WHERE call_id = ? ORDER BY seq",
                           (call_id,)).fetchall()


def _call(db, call_id: str) -> tuple:
    with sqlite3.connect(db) as con:
        return con.execute("SELECT outcome, answered_by, offers FROM calls WHERE call_id = ?",
                           (call_id,)).fetchone()


def test_a_caller_who_hangs_up_while_the_agent_rings_withdraws_the_ring(tmp_path):
    db = tmp_path / "records.db"
    with Lab(tmp_path, AGENTS) as lab:
        router = RouterProcess(lab, tmp_path, "--records", f"sqlite:{db}")
        try:
            lab.phone("1001", ring=30)  # rings longer than the test waits: only the caller ends it
            lab.feature("1001", "*41")
            wait_for(lambda: router.agent("1001")["state"] == "available", 10, "1001 logged in by *41")
            lab.call("4008001000", "陈静", "13800138000")
            call_id = wait_for(lambda: re.search(r"call +(\S+) 陈静 dnis 4008001000 -> plain", router.output()),
                               15, "the router to see the call").group(1)
            wait_for(lambda: _ringing_phones(lab) == ["1001"], 10, "1001's phone ringing")
            assert router.agent("1001")["state"] == "reserved"
            (caller,) = lab.caller_channels()
            lab.hang_up(caller)
            # the router takes the ring back: the phone stops ringing, nothing is left on the pbx
            wait_for(lambda: not _ringing_phones(lab), 10, "1001's phone no longer ringing")
            wait_for(lab.pbx.idle, 10, "no channel left")
            wait_for(lambda: router.agent("1001")["state"] == "available", 10, "1001 available again")
            assert router.agent("1001").get("call") is None
            assert router.warnings() == []
        finally:
            assert router.stop() == 0  # a clean stop flushes the records
    assert _call(db, call_id) == ("abandoned", None, 1)
    assert _offers(db, call_id) == [("1001", "withdrawn")]


@pytest.mark.parametrize("phone, dnis, queue, outcome", [
    ({"busy": True}, "4008001000", "plain", "busy"),  # the phone rejects: 486 Busy Here
    ({"ring": 30}, "4008003000", "short", "no-answer"),  # rings past `short`'s 3 s ring timeout
])
def test_an_offer_that_fails_goes_to_the_next_agent_and_one_agent_gets_the_caller(tmp_path, phone, dnis,
                                                                                 queue, outcome):
    db = tmp_path / "records.db"
    with Lab(tmp_path, AGENTS) as lab:
        router = RouterProcess(lab, tmp_path, "--records", f"sqlite:{db}")
        try:
            lab.phone("1001", **phone)
            # 1001 logs in first: the longest idle, so the first offer is theirs
            for aid in ("1001", "1002"):
                lab.feature(aid, "*41")
                wait_for(lambda: router.agent(aid)["state"] == "available", 10, f"{aid} logged in by *41")
            lab.call(dnis, "陈静", "13800138000")
            call_id = wait_for(lambda: re.search(rf"call +(\S+) 陈静 dnis {dnis} -> {queue}", router.output()),
                               15, "the router to see the call").group(1)
            on_call = wait_for(lambda: (a := router.agent("1002"))["state"] == "on_call" and a, 15,
                               "1002 on the call")
            assert on_call["call"] == call_id
            assert router.agent("1001")["state"] != "on_call"
            # on the pbx one agent leg, 1002's, bridged to the caller; 1001's phone no longer rings
            legs = re.findall(r"^PJSIP/(10\d\d)-\S+!router-agent!\d+!\d+!Up!Bridge!PJSIP/trunk-",
                              lab.pbx.cli("core show channels concise"), re.M)
            assert legs == ["1002"]
            assert not _ringing_phones(lab)
            phones = lab.phones.cli("core show channels concise")
            answered = re.findall(r"^PJSIP/pbx-\S+!phones!(10\d\d)!\d+!Up!", phones, re.M)
            assert answered == ["1002"]
            wait_for(lab.pbx.idle, TALK + 10, "the call over")
            wait_for(lambda: router.agent("1002")["state"] == "available", 10, "1002 available again")
            assert router.warnings() == []
        finally:
            assert router.stop() == 0
    assert _call(db, call_id) == ("answered", "1002", 2)
    assert _offers(db, call_id) == [("1001", outcome), ("1002", "answered")]
