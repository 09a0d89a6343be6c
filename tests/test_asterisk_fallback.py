"""The dialplan's own fallback to voicemail on a real Asterisk 22.10.1
running the shipped deploy/asterisk (tests/support/asterisk.py), with no
router at all: the caller's RouterCallWaiting goes nowhere, router-in's
hold limit (ROUTER_HOLD_LIMIT, 3 s from the test trunk) runs out and the
caller goes to Queue(router-fallback); when that cannot serve them the
caller reaches VoiceMail(${FALLBACK_MAILBOX},u) (8900@default) and leaves a
message, which Asterisk writes to the mailbox's INBOX.

- every agent phone unregistered (agents gone home, phones off):
  queues.conf's joinempty=unavailable keeps the caller out of the queue,
  straight to voicemail, no phone rung;
- the phones registered but every one busy (486): the queue rings them
  until its timeout (FALLBACK_QUEUE_TIMEOUT, lowered from the shipped 300 s
  to 4 s with `dialplan set global`, what a site may do on its live PBX),
  then voicemail.

The caller talks (a tone, again and again) so that the message has sound;
it is written when the caller hangs up. VoiceMail() needs Asterisk's own
prompts (vm-theperson and the rest; Debian's asterisk-core-sounds-en-gsm,
which scripts/test.sh installs): without them it hangs the caller up at
once, message lost (seen here before the lab had them).
"""

from __future__ import annotations

import re
import time
from pathlib import Path

from support.asterisk import CORE_SOUNDS, Lab
from support.asterisk_conf import wav_samples
from support.asterisk_router import AGENTS, wait_for

NUMBER = "13800138001"
#: seconds the caller talks into the mailbox before hanging up
MESSAGE = 3


def concise(lab: Lab) -> str:
    return lab.pbx.cli("core show channels concise")


def inbox(lab: Lab) -> Path:
    """Mailbox 8900@default's INBOX (astspooldir is STATE_DIR/spool)."""
    return lab.pbx.state / "spool" / "voicemail" / "default" / "8900" / "INBOX"


def leave_a_message(lab: Lab) -> dict[str, str]:
    """The talking caller in router-in's VoiceMail(): let them speak, hang
    up, and return the message's metadata (msg0000.txt) once written."""
    (caller,) = lab.caller_channels()
    wait_for(lambda: "Recording the message" in lab.log(), 15, "voicemail recording the caller")
    time.sleep(MESSAGE)
    lab.hang_up(caller)
    txt = wait_for(lambda: (p := inbox(lab) / "msg0000.txt").exists() and p, 10, "the message written")
    wait_for(lab.pbx.idle, 10, "the caller's channel gone")
    meta = dict(line.split("=", 1) for line in txt.read_text(encoding="utf-8", errors="replace").splitlines()
                if "=" in line and not line.startswith(";"))
    rate, samples = wav_samples(inbox(lab) / "msg0000.wav")
    assert len(samples) >= rate, f"{len(samples) / rate:.1f} s of message"
    # the caller's tone, not silence: some samples far from zero
    assert max(abs(x) for x in samples) > 1000
    return meta


def through_to_voicemail(lab: Lab, app: str, what: str) -> None:
    """A talking caller on the trunk, seen in router-in running `app` (the
    hold, or the fallback queue), then in the fallback voicemail, where they
    leave a message whose metadata is checked to be the fallback's."""
    lab.call("4008001000", "秦五", NUMBER, talks=True)
    for step, label in ((app, what), ("VoiceMail!8900@default,u", "the caller in the fallback voicemail")):
        wait_for(lambda: re.search(rf"^PJSIP/trunk-\S+!router-in!4008001000!\d+!Up!{re.escape(step)}!",
                                   concise(lab), re.M), 10, label)
    meta = leave_a_message(lab)
    assert meta["origmailbox"] == "8900" and meta["context"] == "router-in" and meta["exten"] == "4008001000"
    assert NUMBER in meta["callerid"]


def test_the_core_prompts_are_there():
    assert CORE_SOUNDS.joinpath("vm-theperson.gsm").exists(), (
        f"{CORE_SOUNDS}: no vm-theperson.gsm; install Debian's asterisk-core-sounds-en and "
        "asterisk-core-sounds-en-gsm (scripts/test.sh does)")


def test_with_no_router_and_every_agent_phone_off_the_caller_reaches_the_fallback_voicemail(tmp_path):
    with Lab(tmp_path, AGENTS, hold_limit=3) as lab:
        for aid in AGENTS:
            lab.phones.cli(f"pjsip send unregister reg-{aid}")
        wait_for(lambda: not re.search(r"10\d\d/sip:", lab.pbx.cli("pjsip show contacts")), 10,
                 "the agent phones unregistered")
        through_to_voicemail(lab, "MusicOnHold!default,3", "the caller on hold in router-in")
        # nobody was rung: the queue never called a phone
        assert "Queue(\"PJSIP/trunk" in lab.log() and "app_queue.c: Called PJSIP/" not in lab.log()


def test_with_no_router_and_every_agent_busy_the_fallback_queue_times_out_to_voicemail(tmp_path):
    with Lab(tmp_path, AGENTS, hold_limit=3) as lab:
        for aid in AGENTS:
            lab.phone(aid, busy=True)
        # what a site may do on its live PBX: a shorter fallback queue than the shipped 300 s
        lab.pbx.cli("dialplan set global FALLBACK_QUEUE_TIMEOUT 4")
        through_to_voicemail(lab, "Queue!router-fallback,,,,4", "the caller in the fallback queue")
        # the queue did ring the agents' phones, which said busy
        assert all(f"app_queue.c: Called PJSIP/{aid}\n" in lab.log() for aid in AGENTS), lab.log()[-3000:]
