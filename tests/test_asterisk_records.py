"""Survey and recording on a real Asterisk 22.10.1 running the shipped
deploy/asterisk (tests/support/asterisk.py), with the router writing call
records to SQLite: a call to the lab's `care` queue (survey: true,
record: true) is recorded by router-agent's MixMonitor to
<recordings_dir>/<call id>.wav, the agent hangs up, the caller is sent to
router-survey and presses 4 (DTMF from the phones instance), and the score
and the recording's path land in the call's record. Before that, a caller
who hangs up while nobody is logged in is recorded as abandoned."""

from __future__ import annotations

import re
import sqlite3
import wave

from support.asterisk import Lab
from support.asterisk_conf import TALK
from support.asterisk_router import AGENTS, RouterProcess, wait_for


def test_a_survey_and_record_call_has_its_score_and_its_recording_in_the_record(tmp_path):
    db = tmp_path / "records.db"
    with Lab(tmp_path, AGENTS) as lab:
        router = RouterProcess(lab, tmp_path, "--records", f"sqlite:{db}")
        try:
            # nobody logged in yet: a caller waits, then hangs up
            lab.call("4008001000", "王五", "13900139000")
            gone = wait_for(lambda: re.search(r"call +(\S+) 王五 dnis 4008001000 -> plain", router.output()),
                            15, "the router to see the first call").group(1)
            wait_for(lambda: lab.caller_channels(), 5, "the first caller's channel")
            lab.hang_up(*lab.caller_channels())
            wait_for(lambda: not lab.caller_channels(), 5, "the first caller gone")
            lab.feature("1001", "*41")
            wait_for(lambda: router.agent("1001")["state"] == "available", 10, "1001 logged in by *41")
            lab.call("4008009000", "陈静", "13800138000")
            call_id = wait_for(lambda: re.search(r"call +(\S+) 陈静 dnis 4008009000 -> care", router.output()),
                               15, "the router to see the call").group(1)
            # the agent talks TALK seconds and hangs up: Bridge's F() sends the caller to the survey
            # (in the caller's language: zh, the IVR's default, made by router-in into the prompt's path)
            wait_for(lambda: "router-survey!s!3!Up!Read!ROUTER_SCORE,custom/zh/survey,1,,1,5!"
                     in lab.pbx.cli("core show channels concise"), TALK + 15, "the caller in router-survey's Read()")
            (caller,) = lab.caller_channels()
            lab.dtmf(caller, "4")
            wait_for(lambda: not lab.caller_channels(), 15, "the caller hung up after the survey")
            wait_for(lambda: router.agent("1001")["state"] == "available", 10, "1001 available again")
            assert router.warnings() == []
        finally:
            assert router.stop() == 0  # a clean stop flushes the records
    with sqlite3.connect(db) as con:
        row = con.execute("SELECT outcome, answered_by, caller_name, caller_num, dnis, variables, final_queue,"
                          " survey_score, recording FROM calls WHERE call_id = ?", (call_id,)).fetchone()
        abandoned = con.execute("SELECT outcome, answered_by, offers, survey_score, recording FROM calls"
                                " WHERE call_id = ?", (gone,)).fetchone()
    assert abandoned == ("abandoned", None, 0, None, None)
    path = lab.recordings / f"{call_id}.wav"
    # the shipped IVR's ROUTER_VARS (no prompts installed: Read() returns at once, no key)
    ivr = '{"menu": "0", "lang": "zh", "tier": "normal"}'
    assert row == ("answered", "1001", "陈静", "13800138000", "4008009000", ivr, "care", 4, str(path))
    # MixMonitor wrote the bridged conversation: the agent phone's tone, about TALK seconds of it
    with wave.open(str(path)) as w:
        seconds = w.getnframes() / w.getframerate()
    assert TALK - 1 <= seconds <= TALK + 2, seconds


def test_a_voicemail_action_redirects_the_caller_into_router_action_voicemail(tmp_path):
    """The `late` queue's escalation sends its caller to voicemail after 2 s:
    the router's Setvar (ROUTER_TARGET, ROUTER_ANNOUNCE) and Redirect put the
    caller into router-action's voicemail extension, which plays the
    announcement and runs VoiceMail(...,s) on the mailbox. The message left
    raises MessageWaiting, which the router knows and does not use."""
    db = tmp_path / "records.db"
    with Lab(tmp_path, AGENTS) as lab:
        router = RouterProcess(lab, tmp_path, "--records", f"sqlite:{db}")
        try:
            lab.call("4008002000", "赵六", "13700137000")
            call_id = wait_for(lambda: re.search(r"call +(\S+) 赵六 dnis 4008002000 -> late", router.output()),
                               15, "the router to see the call").group(1)
            in_voicemail = wait_for(
                lambda: re.search(r"^PJSIP/trunk-\S+!router-action!voicemail!\d+!Up!VoiceMail!8900@default,s",
                                  lab.pbx.cli("core show channels concise"), re.M), 15, "the caller in VoiceMail()")
            variables = lab.pbx.cli(f"core show channel {in_voicemail.group(0).split('!')[0]}")
            assert "ROUTER_TARGET=8900@default" in variables and "ROUTER_ANNOUNCE=custom/zh/all-busy" in variables
            lab.hang_up(*lab.caller_channels())
            wait_for(lab.pbx.idle, 10, "the call over")
            assert router.warnings() == []
        finally:
            assert router.stop() == 0
    with sqlite3.connect(db) as con:
        row = con.execute("SELECT outcome, action, answered_by, offers FROM calls WHERE call_id = ?",
                          (call_id,)).fetchone()
    assert row == ("overflowed", "voicemail 8900@default (announce custom/zh/all-busy)", None, 0)


def test_without_app_mixmonitor_a_record_call_is_still_connected(tmp_path):
    """A site that did not load app_mixmonitor: router-agent's TryExec goes on
    without recording, and the caller is bridged to the agent (a plain
    MixMonitor() there hung the agent leg up and left the caller on hold)."""
    with Lab(tmp_path, AGENTS, without=("app_mixmonitor",)) as lab:
        assert "app_mixmonitor" not in lab.pbx.cli("module show like mixmonitor")
        router = RouterProcess(lab, tmp_path)
        try:
            lab.feature("1001", "*41")
            wait_for(lambda: router.agent("1001")["state"] == "available", 10, "1001 logged in by *41")
            lab.call("4008009000", "陈静", "13800138000")
            wait_for(lambda: re.search(r"^PJSIP/1001-\S+!router-agent!1001!\d+!Up!Bridge!PJSIP/trunk-",
                                       lab.pbx.cli("core show channels concise"), re.M), 15,
                     "the agent's leg bridged to the caller")
            assert not list(lab.recordings.iterdir())
        finally:
            router.stop()
