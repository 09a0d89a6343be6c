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
import time

from support.asterisk import Lab
from support.asterisk_conf import RING, TALK, silence
from support.asterisk_router import AGENTS, RouterProcess, wait_for
from support.paths import ROOT

#: extra talk time of a call that must outlive a CLI run, seconds
EXTRA = 12


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
            wait_for(lab.pbx.idle, TALK + 10,
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


def _call_cli(router: RouterProcess, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "router", "call", *args, "--control", router.control],
                          capture_output=True, text=True, timeout=30, cwd=ROOT)


def test_a_supervisor_moves_a_waiting_caller_to_a_queue_whose_agent_is_then_connected_once(tmp_path):
    db = tmp_path / "records.db"
    with Lab(tmp_path, AGENTS) as lab:
        # the call must outlive the second `router call move` below: a CLI run takes seconds on
        # a loaded machine, and with TALK alone the call was over ("no call is waiting")
        lab.phone("1001", talk=EXTRA)
        router = RouterProcess(lab, tmp_path, "--records", f"sqlite:{db}")
        try:
            lab.feature("1001", "*41")
            wait_for(lambda: router.agent("1001")["state"] == "available", 10, "1001 logged in by *41")
            # nobody has the skill `vip` asks for: the caller holds in router-in
            lab.call("4008004000", "周八", "13600136000")
            call_id = wait_for(lambda: re.search(r"call +(\S+) 周八 dnis 4008004000 -> vip", router.output()),
                               15, "the router to see the call").group(1)
            wait_for(lambda: re.search(r"^PJSIP/trunk-\S+!router-in!4008004000!\d+!Up!MusicOnHold!",
                                       concise(lab), re.M), 5, "the caller on hold")
            assert router.agent("1001")["state"] == "available"
            moved = _call_cli(router, "move", call_id, "plain")
            assert moved.returncode == 0, moved.stderr
            on_call = wait_for(lambda: (a := router.agent("1001"))["state"] == "on_call" and a, 10 + RING,
                               "1001 on the moved call")
            assert on_call["call"] == call_id
            legs = [c for c in concise(lab).splitlines() if c.startswith("PJSIP/100")]
            assert len(legs) == 1 and "!router-agent!1001!" in legs[0] and "!Up!Bridge!PJSIP/trunk-" in legs[0]
            # a connected call is no longer the supervisor's to move: refused, the bridge stays
            again = _call_cli(router, "move", call_id, "vip")
            assert again.returncode != 0 and "already answered" in again.stdout + again.stderr
            assert router.agent("1001")["call"] == call_id
            wait_for(lab.pbx.idle, TALK + EXTRA + 10,
                     "the call over")
            wait_for(lambda: router.agent("1001")["state"] == "available", 10, "1001 available again")
            assert len(re.findall(rf"answer +{re.escape(call_id)} by", router.output())) == 1
            # the only warning: the refusal, in the control audit log
            (refusal,) = router.warnings()
            assert f"move call={call_id} queue=vip: refused: call '{call_id}' is already answered" in refusal
        finally:
            assert router.stop() == 0
    print(router.output())
    with sqlite3.connect(db) as con:
        row = con.execute("SELECT outcome, answered_by, offers, first_queue, final_queue, moves FROM calls"
                          " WHERE call_id = ?", (call_id,)).fetchone()
    assert row == ("answered", "1001", 1, "vip", "plain", 1)


def test_a_hangup_action_plays_its_announcement_and_the_pbx_channel_is_gone(tmp_path):
    """There is no supervisor hangup command (router/control/commands.py
    COMMANDS): a call is hung up by the router only as a queue's action."""
    db = tmp_path / "records.db"
    with Lab(tmp_path, AGENTS) as lab:
        # a 2 s announcement, so that the caller is seen in it
        silence(lab.pbx.state / "data" / "sounds" / "custom" / "zh" / "goodbye.wav", 2)
        router = RouterProcess(lab, tmp_path, "--records", f"sqlite:{db}")
        try:
            lab.call("4008006000", "吴九", "13500135000")
            call_id = wait_for(lambda: re.search(r"call +(\S+) 吴九 dnis 4008006000 -> bye", router.output()),
                               15, "the router to see the call").group(1)
            wait_for(lambda: re.search(r"^PJSIP/trunk-\S+!router-action!hangup!\d+!Up!Playback!custom/zh/goodbye",
                                       concise(lab), re.M), 10, "the caller hearing the announcement")
            assert lab.caller_channels()  # the caller is still on the line while it plays
            wait_for(lab.pbx.idle, 10, "the pbx channel gone")
            wait_for(lambda: not lab.caller_channels(), 5, "the caller's side hung up")
            assert call_id not in [c["call"] for c in router.status().get("calls", [])]
            assert router.warnings() == []
        finally:
            assert router.stop() == 0
    print(router.output())
    with sqlite3.connect(db) as con:
        row = con.execute("SELECT outcome, action, reason, answered_by, offers FROM calls WHERE call_id = ?",
                          (call_id,)).fetchone()
    assert row == ("overflowed", "hangup (announce custom/zh/goodbye)", "max-wait", None, 0)


def test_a_transfer_action_dials_the_number_over_the_trunk_and_bridges_the_caller_to_it(tmp_path):
    db = tmp_path / "records.db"
    with Lab(tmp_path, AGENTS) as lab:
        router = RouterProcess(lab, tmp_path, "--records", f"sqlite:{db}")
        try:
            lab.call("4008007000", "郑十", "13400134000")
            call_id = wait_for(lambda: re.search(r"call +(\S+) 郑十 dnis 4008007000 -> away", router.output()),
                               15, "the router to see the call").group(1)
            wait_for(lambda: re.search(r"^PJSIP/trunk-\S+!router-action!transfer!\d+!Up!Dial!"
                                       r"PJSIP/13300133000@trunk,60", concise(lab), re.M), 10,
                     "the caller in router-action's Dial()")
            # the outside number (on the phones instance, from the trunk) answers: both talk
            wait_for(lambda: re.search(r"^PJSIP/pbx-\S+!phones!13300133000!\d+!Up!Wait!",
                                       lab.phones.cli("core show channels concise"), re.M), 5 + RING,
                     "the outside number answering")
            assert "Up!AppDial" in concise(lab)  # the outgoing leg on the pbx, bridged by Dial()
            assert call_id not in [c["call"] for c in router.status().get("calls", [])]
            lab.hang_up(*lab.caller_channels())
            wait_for(lab.pbx.idle, 10, "the call over")
            assert router.warnings() == []
        finally:
            assert router.stop() == 0
    print(router.output())
    with sqlite3.connect(db) as con:
        row = con.execute("SELECT outcome, action, reason, answered_by FROM calls WHERE call_id = ?",
                          (call_id,)).fetchone()
    assert row == ("overflowed", "transfer 13300133000", "max-wait", None)


def test_a_transfer_nobody_takes_sends_the_caller_to_the_fallback_queue_not_to_silence(tmp_path):
    """The trunk rejects 99999 (no such extension on the phones instance):
    router-action's Dial() comes back at once and the caller goes on to
    router-in's fallback, the stock queue that rings the agents' phones."""
    with Lab(tmp_path, AGENTS) as lab:
        router = RouterProcess(lab, tmp_path)
        try:
            lab.call("4008007001", "钱一", "13400134001")
            call_id = wait_for(lambda: re.search(r"call +(\S+) 钱一 dnis 4008007001 -> nowhere", router.output()),
                               15, "the router to see the call").group(1)
            wait_for(lambda: re.search(r"^PJSIP/trunk-\S+!router-in!4008007001!\d+!Up!Queue!router-fallback",
                                       concise(lab), re.M), 10, "the caller in the fallback queue")
            agent = wait_for(lambda: re.search(r"^PJSIP/pbx-\S+!phones!(10\d\d)!\d+!Up!Playback!",
                                               lab.phones.cli("core show channels concise"), re.M), 20,
                             "an agent phone answering the fallback queue").group(1)
            assert agent in AGENTS
            assert re.search(rf"overflowed +{re.escape(call_id)} from nowhere: transfer 99999 \(max-wait\)",
                             router.output())
            lab.hang_up(*lab.caller_channels())
            wait_for(lab.pbx.idle, 10, "the call over")
            assert router.warnings() == []
        finally:
            assert router.stop() == 0


def test_a_callback_the_customer_cannot_take_frees_the_agent_and_is_tried_again_later(tmp_path):
    """The caller's number is one the trunk rejects (12000000000: no such
    number on the phones instance): router-callback's Dial() fails at once,
    the hangup handler reports CHANUNAVAIL before the agent leg's Hangup,
    and the router parks the callback for a retry (callme's default 5
    minutes, not waited for here: see the `retry` queue's test below) with
    one attempt used; the agent is free again."""
    with Lab(tmp_path, AGENTS) as lab:
        router = RouterProcess(lab, tmp_path)
        try:
            lab.call("4008005000", "冯二", "12000000000")
            call_id = wait_for(lambda: re.search(r"call +(\S+) 冯二 dnis 4008005000 -> callme", router.output()),
                               15, "the router to see the call").group(1)
            wait_for(lambda: f"callback promised cb-{call_id}" in router.output(), 10, "the callback promised")
            wait_for(lambda: not lab.caller_channels(), 15, "the caller told and hung up by router-action")
            lab.feature("1001", "*41")
            wait_for(lambda: f"callback placed cb-{call_id} (callme) agent=1001" in router.output(), 15 + RING,
                     "the callback placed by 1001")
            retry = wait_for(lambda: re.search(rf"callback retry cb-{re.escape(call_id)} \(callme\) (.*)",
                                               router.output()), 15, "the callback parked for a retry").group(1)
            assert retry == "attempts=1 reason=chanunavail"
            wait_for(lab.pbx.idle, 10, "the agent's leg gone")
            wait_for(lambda: router.agent("1001")["state"] == "available", 10, "1001 available again")
            assert "callback done" not in router.output() and "callback failed" not in router.output()
            assert router.warnings() == []
        finally:
            assert router.stop() == 0


def test_a_callback_refused_at_first_is_tried_again_after_its_queues_callback_retry_and_done(tmp_path):
    """The `retry` queue (callback_retry: 2s) promises a callback; the
    customer's mobile refuses the first attempt as an unknown number (404:
    CHANUNAVAIL from router-callback's hangup handler), the callback is
    parked 2 s, then placed again: 1001 is rung, the customer answers this
    time, and the record says done after 2 attempts."""
    db = tmp_path / "records.db"
    number = "13500135000"
    with Lab(tmp_path, AGENTS) as lab:
        lab.customer(number, reject=True)
        router = RouterProcess(lab, tmp_path, "--records", f"sqlite:{db}")
        try:
            lab.call("4008005001", "冯二", number)
            call_id = wait_for(lambda: re.search(r"call +(\S+) 冯二 dnis 4008005001 -> retry", router.output()),
                               15, "the router to see the call").group(1)
            wait_for(lambda: f"callback promised cb-{call_id}" in router.output(), 10, "the callback promised")
            wait_for(lambda: not lab.caller_channels(), 15, "the caller told and hung up by router-action")
            lab.feature("1001", "*41")
            retry = wait_for(lambda: re.search(rf"callback retry cb-{re.escape(call_id)} \(retry\) (.*)",
                                               router.output()), 15 + RING, "the first attempt refused").group(1)
            assert retry == "attempts=1 reason=chanunavail"
            lab.customer(number)  # the customer's mobile takes calls again
            # 2 s later the callback is back in line; 1001 (free again) places it a second time
            wait_for(lambda: router.output().count(f"callback placed cb-{call_id} (retry) agent=1001") == 2,
                     10 + RING, "the second attempt placed by 1001")
            wait_for(lambda: re.search(rf"^PJSIP/pbx-\S+!phones!{number}!\d+!Up!Wait!",
                                       lab.phones.cli("core show channels concise"), re.M),
                     5 + RING, "the customer's phone answering the second attempt")
            wait_for(lambda: f"callback done cb-{call_id}" in router.output(), TALK + 10, "the callback done")
            wait_for(lab.pbx.idle, 10, "the callback over")
            wait_for(lambda: router.agent("1001")["state"] == "available", 10, "1001 available again")
            assert "callback failed" not in router.output()
            assert router.warnings() == []
        finally:
            assert router.stop() == 0
    print(router.output())
    with sqlite3.connect(db) as con:
        dialout = con.execute("SELECT kind, outcome, answered_by, offers FROM calls WHERE call_id = ?",
                              (f"cb-{call_id}",)).fetchone()
        callback = con.execute("SELECT origin_call_id, queue, number, outcome, reason, attempts, agent_id"
                               " FROM callbacks WHERE callback_id = ?", (f"cb-{call_id}",)).fetchone()
        offers = con.execute("SELECT agent_id, outcome FROM offers WHERE call_id = ? ORDER BY seq",
                             (f"cb-{call_id}",)).fetchall()
    assert callback == (call_id, "retry", number, "done", "", 2, "1001")
    assert dialout[:3] == ("callback", "answered", "1001")
    assert offers == [("1001", "answered"), ("1001", "answered")] and dialout[3] == 2  # both rang 1001, who answered


def test_a_callback_whose_third_attempt_fails_too_ends_failed_on_record(tmp_path):
    """The `retry` queue (callback_retry: 2s) and a customer whose mobile
    refuses every call (404: CHANUNAVAIL from router-callback's hangup
    handler): the callback is placed three times (router/core/callbacks.py
    ATTEMPTS), each time 1001's phone first, parked 2 s after the first and
    the second failure, and after the third it is reported failed, not
    parked again; 1001 is free and nothing is left on the PBX. The records:
    the callback `failed` after 3 attempts (reason chanunavail), its
    dial-out `overflowed` with `callback failed`, no answer."""
    db = tmp_path / "records.db"
    number = "13700137000"
    with Lab(tmp_path, AGENTS) as lab:
        lab.customer(number, reject=True)
        router = RouterProcess(lab, tmp_path, "--records", f"sqlite:{db}")
        try:
            lab.call("4008005001", "卫三", number)
            call_id = wait_for(lambda: re.search(r"call +(\S+) 卫三 dnis 4008005001 -> retry", router.output()),
                               15, "the router to see the call").group(1)
            cb = f"cb-{call_id}"
            wait_for(lambda: f"callback promised {cb}" in router.output(), 10, "the callback promised")
            wait_for(lambda: not lab.caller_channels(), 15, "the caller told and hung up by router-action")
            lab.feature("1001", "*41")
            for attempt in (1, 2):
                retry = wait_for(lambda: re.search(rf"callback retry {re.escape(cb)} \(retry\) attempts={attempt} (.*)",
                                                   router.output()), 15 + RING, f"attempt {attempt} refused")
                assert retry.group(1) == "reason=chanunavail"
            failed = wait_for(lambda: re.search(rf"callback failed {re.escape(cb)} \(retry\) (.*)", router.output()),
                              15 + RING, "the third attempt refused and the callback failed").group(1)
            assert failed == "attempts=3 reason=chanunavail"
            out = router.output()
            assert out.count(f"callback placed {cb} (retry) agent=1001") == 3
            assert out.count(f"callback retry {cb}") == 2  # not parked after the third
            assert f"callback done {cb}" not in out
            wait_for(lab.pbx.idle, 10, "the agent's last leg gone")
            wait_for(lambda: router.agent("1001")["state"] == "available", 10, "1001 available again")
            # a failed callback is not placed again: 1001 stays free, no leg appears
            placed = router.output().count(f"callback placed {cb}")
            time.sleep(3)  # longer than callback_retry
            assert router.output().count(f"callback placed {cb}") == placed and lab.pbx.idle()
            assert router.warnings() == []
        finally:
            assert router.stop() == 0
    print(router.output())
    with sqlite3.connect(db) as con:
        dialout = con.execute("SELECT kind, outcome, action, reason, answered_by FROM calls WHERE call_id = ?",
                              (f"cb-{call_id}",)).fetchone()
        callback = con.execute("SELECT origin_call_id, queue, number, outcome, reason, attempts"
                               " FROM callbacks WHERE callback_id = ?", (f"cb-{call_id}",)).fetchone()
        offers = con.execute("SELECT agent_id FROM offers WHERE call_id = ? ORDER BY seq",
                             (f"cb-{call_id}",)).fetchall()
    assert callback == (call_id, "retry", number, "failed", "chanunavail", 3)
    assert dialout == ("callback", "overflowed", "callback failed", "chanunavail", None)
    assert offers == [("1001",)] * 3
