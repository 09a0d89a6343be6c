"""The router against a real Asterisk 22.10.1 running the shipped
deploy/asterisk configs (tests/support/asterisk.py). With the router: an agent logs in with
the *41 feature code from their PJSIP phone, a caller on the trunk dials in
through the shipped IVR, the router rings the agent's phone, the phone
answers and is bridged to the caller, the agent hangs up and is available
again; then it pauses (*432), unpauses (*44) and logs out (*42). The
caller's Chinese name arrives intact. Without the router: the
shipped fallback queue connects the caller to an agent phone."""

from __future__ import annotations

import re

from support.asterisk import Lab
from support.asterisk_conf import RING, TALK
from support.asterisk_router import AGENTS, RouterProcess, wait_for

CALLER = ("陈静", "13800138000")


def test_a_caller_is_connected_to_the_free_agents_phone_and_the_agent_is_free_again(tmp_path):
    with Lab(tmp_path, AGENTS) as lab:
        router = RouterProcess(lab, tmp_path)
        try:
            assert router.agent("1001")["state"] == "logged_out"
            lab.feature("1001", "*41")  # the agent logs in from the phone
            wait_for(lambda: router.agent("1001")["state"] == "available", 10, "1001 logged in by *41")
            assert router.agent("1002")["state"] == "logged_out"

            lab.call("4008001000", *CALLER)
            line = wait_for(lambda: re.search(r"call +(\S+) (\S+) dnis 4008001000 -> plain", router.output()),
                            15, "the router to see the call")
            call_id, name = line.groups()
            assert name == CALLER[0]  # UTF-8 through SIP, the dialplan, AMI and the router
            on_call = wait_for(lambda: (a := router.agent("1001"))["state"] == "on_call" and a, 5 + RING,
                               "1001 on the call")
            assert on_call["call"] == call_id
            # on the pbx: the agent's leg is in router-agent, bridged to the caller's trunk channel
            channels = lab.pbx.cli("core show channels concise")
            (leg,) = [c for c in channels.splitlines() if c.startswith("PJSIP/1001-")]
            assert "!router-agent!1001!" in leg and "!Up!Bridge!PJSIP/trunk-" in leg
            # on the phones instance the agent's phone answered (Up, talking: Playback)
            phones = lab.phones.cli("core show channels concise")
            assert re.search(r"^PJSIP/pbx-\S+!phones!1001!\d+!Up!(Answer|Playback)!", phones, re.M)
            assert re.search(rf"answer +{re.escape(call_id)} by 1001", router.output())

            # the agent hangs up after TALK seconds: the caller's call ends, 1001 is free
            wait_for(lambda: router.agent("1001")["state"] == "available", TALK + 10, "1001 available again")
            wait_for(lab.pbx.idle, 10, "both legs gone")

            # the other feature codes of router-features, from the same phone
            for code, state, reason in (("*432", "paused", "meal"), ("*44", "available", None),
                                        ("*42", "logged_out", None)):
                lab.feature("1001", code)
                wait_for(lambda: (a := router.agent("1001"))["state"] == state and a["reason"] == reason, 10,
                         f"{code}: 1001 {state} ({reason})")
            assert router.warnings() == []  # no AMI event the router did not expect, no error
        finally:
            router.stop()


def test_with_no_router_the_shipped_fallback_queue_connects_the_caller_to_an_agent_phone(tmp_path):
    """The router is down: after ROUTER_HOLD_LIMIT (3 s here) router-in sends
    the caller to the stock app_queue queue router-fallback, which rings the
    registered agent phones (queues.conf's members) and one answers."""
    with Lab(tmp_path, AGENTS, hold_limit=3) as lab:
        lab.call("4008001000", *CALLER)

        def concise() -> str:
            return lab.pbx.cli("core show channels concise")

        wait_for(lambda: "!router-in!4008001000!" in concise() and "!MusicOnHold!default,3!" in concise(), 10,
                 "the caller on hold in router-in")
        wait_for(lambda: re.search(r"^PJSIP/trunk-\S+!router-in!4008001000!\d+!Up!Queue!router-fallback",
                                   concise(), re.M), 10, "the caller in the fallback queue")
        # an agent phone answers the queue's call: it is talking (Playback) on the phones instance
        agent = wait_for(lambda: re.search(r"^PJSIP/pbx-\S+!phones!(10\d\d)!\d+!Up!Playback!",
                                           lab.phones.cli("core show channels concise"), re.M), 20,
                         "an agent phone answering the fallback queue").group(1)
        assert agent in AGENTS
        assert re.search(rf"^PJSIP/{agent}-\S+!\S*!\S*!\d+!Up!", concise(), re.M)
        wait_for(lab.pbx.idle, TALK + 10, "the call over")
