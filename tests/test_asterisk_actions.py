"""The router's actions on a real Asterisk 22.10.1 running the shipped
deploy/asterisk (tests/support/asterisk.py), records in SQLite:

- callback: the `callme` queue offers its caller a callback after 1 s; the
  router Redirects the caller to router-action,callback, which tells them
  and hangs up; when an agent logs in, the router Originates their phone
  into router-callback, which dials the customer's number over the trunk,
  and the hangup handler's RouterCallbackResult marks the callback done.
- a supervisor's move (`router call move`, the product's transfer of a
  call: only a waiting call can be moved, docs/MQTT.md) of a caller
  waiting in a queue nobody can serve to one an agent serves: the caller is
  bridged to that agent, once.
- hangup: the `bye` queue hangs its caller up after 1 s with an
  announcement: router-action,hangup plays it and the PBX channel is gone.
"""

from __future__ import annotations

import re
import sqlite3
import subprocess
import sys

from support.asterisk import Lab
from support.asterisk_conf import RING, TALK, silence
from support.asterisk_router import AGENTS, RouterProcess, wait_for
from support.paths import ROOT


def concise(lab: Lab) -> str:
    return lab.pbx.cli("core show channels concise")


def test_a_promised_callback_rings_the_agent_then_dials_the_customer_and_is_done(tmp_path):
    db = tmp_path / "records.db"
    with Lab(tmp_path, AGENTS) as lab:
        router = RouterProcess(lab, tmp_path, "--records", f"sqlite:{db}")
        try:
            lab.call("4008005000", "孙七", "13900139000")
            call_id = wait_for(lambda: re.search(r"call +(\S+) 孙七 dnis 4008005000 -> callme", router.output()),
                               15, "the router to see the call").group(1)
            # after 1 s the router sends the caller to router-action,callback, which hangs up
            wait_for(lambda: lab.caller_channels(), 5, "the caller's channel")
            wait_for(lambda: not lab.caller_channels(), 15, "the caller told and hung up by router-action")
            assert not lab.phones.cli("core show channels concise").strip()  # nobody was rung yet
            # an agent logs in: the router places the callback, the agent's phone first
            lab.feature("1001", "*41")
            leg = wait_for(lambda: re.search(r"^PJSIP/1001-\S+!router-callback!1001!\d+!Up!Dial!"
                                             r"PJSIP/13900139000@trunk,30", concise(lab), re.M),
                           15 + RING, "the agent's leg in router-callback dialling the customer")
            # the customer's mobile rings on the phones instance (from the trunk) and answers
            wait_for(lambda: re.search(r"^PJSIP/pbx-\S+!phones!13900139000!\d+!Up!Wait!",
                                       lab.phones.cli("core show channels concise"), re.M),
                     5 + RING, "the customer's phone answering")
            assert router.agent("1001")["state"] == "on_call"
            # the agent's phone hangs up after TALK s: the result comes, 1001 is free, nothing is left
            wait_for(lambda: "0 active channels" in lab.pbx.cli("core show channels"), TALK + 10,
                     f"the callback over ({leg.group(0)})")
            wait_for(lambda: router.agent("1001")["state"] == "available", 10, "1001 available again")
            assert router.warnings() == []
        finally:
            assert router.stop() == 0
    print(router.output())
    with sqlite3.connect(db) as con:
        origin = con.execute("SELECT outcome, action, answered_by, caller_num, callback_id FROM calls"
                             " WHERE call_id = ?", (call_id,)).fetchone()
        dialout = con.execute("SELECT kind, outcome, answered_by FROM calls WHERE call_id = ?",
                              (f"cb-{call_id}",)).fetchone()
        callback = con.execute("SELECT origin_call_id, queue, number, outcome, reason, attempts FROM callbacks"
                               " WHERE callback_id = ?", (f"cb-{call_id}",)).fetchone()
    assert origin == ("callback", "callback", None, "13900139000", f"cb-{call_id}")
    assert dialout == ("callback", "answered", "1001")
    assert callback == (call_id, "callme", "13900139000", "done", "", 1)
