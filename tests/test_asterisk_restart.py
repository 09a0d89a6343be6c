"""A router restart with calls in progress, on a real Asterisk 22.10.1
running the shipped deploy/asterisk (tests/support/asterisk.py): `router
run` is killed (SIGKILL, or stopped by SIGTERM) while one caller is
connected to agent 1001 and a second caller waits on hold for the busy
agent. The new router logs in, resyncs from the PBX (CoreShowChannels,
Status, DeviceStateList) and keeps the agents of --state-file: it sees the
connected call as on_call and does not offer it again, and when 1001 hangs
up it routes the waiting caller to 1001, once."""

from __future__ import annotations

import re
import signal

import pytest

from support.asterisk import Lab
from support.asterisk_conf import TALK
from support.asterisk_router import AGENTS, RouterProcess, wait_for

#: the first call's extra talk time, seconds
EXTRA = 20


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM])
def test_a_restarted_router_resyncs_the_connected_and_the_waiting_call_from_the_pbx(tmp_path, sig):
    state = tmp_path / "agents.state"
    first_dir, second_dir = tmp_path / "first", tmp_path / "second"
    first_dir.mkdir()
    second_dir.mkdir()
    with Lab(tmp_path, AGENTS) as lab:
        # long enough to outlive the restart on a loaded machine (8 s was not: under load 6
        # the call ended while the new router resynced, and 1001 was on the waiter's call)
        lab.phone("1001", talk=EXTRA)
        first = RouterProcess(lab, first_dir, "--state-file", str(state))
        try:
            lab.feature("1001", "*41")
            wait_for(lambda: first.agent("1001")["state"] == "available", 10, "1001 logged in by *41")
            lab.call("4008001000", "陈静", "13800138000")
            talking = wait_for(lambda: re.search(r"answer +(\S+) by 1001", first.output()), 15,
                               "the first caller connected to 1001").group(1)
            lab.call("4008001000", "王五", "13900139000")
            waiting = wait_for(lambda: re.search(r"call +(\S+) 王五 dnis 4008001000 -> plain", first.output()),
                               15, "the router to see the second caller").group(1)
        finally:
            first.proc.send_signal(sig)
            first.proc.wait(30)
            first.stop()
        assert (first.proc.returncode == 0) if sig == signal.SIGTERM else first.proc.returncode == -sig
        assert len(lab.caller_channels()) == 2  # both callers are still on the PBX, neither noticed

        second = RouterProcess(lab, second_dir, "--state-file", str(state))
        try:
            agent = wait_for(lambda: (a := second.agent("1001"))["state"] == "on_call" and a, 10,
                             "the new router to see 1001 on the call")
            assert agent["call"] == talking
            # the next call talks only TALK s: once this one's extra Wait() runs, take it off the phone
            wait_for(lambda: re.search(r"^PJSIP/pbx-\S+!phones!1001!\d+!Up!Wait!",
                                       lab.phones.cli("core show channels concise"), re.M), 15,
                     "1001's phone in its extra talk")
            lab.phone("1001")
            # 1001 hangs up: the waiting caller, resynced from router-in's hold, goes to 1001
            wait_for(lambda: re.search(rf"answer +{re.escape(waiting)} by 1001", second.output()), TALK + EXTRA + 25,
                     "the waiting caller connected to 1001")
            legs = re.findall(r"^PJSIP/(10\d\d)-\S+!router-agent!\d+!\d+!Up!Bridge!PJSIP/trunk-",
                              lab.pbx.cli("core show channels concise"), re.M)
            assert legs == ["1001"]
            assert len(lab.caller_channels()) == 1
            wait_for(lambda: "0 active channels" in lab.pbx.cli("core show channels"), TALK + 25, "the calls over")
            wait_for(lambda: second.agent("1001")["state"] == "available", 10, "1001 available again")
            # the connected call was never offered again, the waiting one once
            assert not re.search(rf"ring +\S+ for {re.escape(talking)}", second.output())
            assert len(re.findall(rf"ring +1001 for {re.escape(waiting)}", second.output())) == 1
            assert second.warnings() == []
        finally:
            second.stop()
