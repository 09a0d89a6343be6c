"""The shipped IVR of router-inbound on a real Asterisk 22.10.1 with real
prompts (tests/support/asterisk.py, Lab(prompts=True): a PROMPT-second tone
for custom/zh/choose-language and for custom/<lang>/main-menu in zh, yue and
en: the menu is played in the language chosen). The caller on the
trunk presses real DTMF keys (AMI PlayDTMF on the phones instance, RFC 4733
over the trunk); the keys become ROUTER_VARS, the lab config's rules keyed
on menu / lang pick the queue, and only that queue's agent is bridged. A
caller who presses nothing, and one who presses keys the menus do not
have, get what the dialplan says: menu 0, lang zh (and tier normal when the
CRM's AstDB entry has no letters). The pbx's log shows every prompt played
and no sound file missing."""

from __future__ import annotations

import json
import re
import sqlite3
import time

from support.asterisk import Lab
from support.asterisk_conf import IVR_PROMPTS, PROMPT, TALK
from support.asterisk_router import AGENTS, RouterProcess, wait_for

DNIS = "4008008000"
LANGUAGE, MENU = "custom/zh/choose-language", "custom/zh/main-menu"
#: the menu prompt of each language the callers below choose
MENU_IN = {"zh": MENU, "yue": "custom/yue/main-menu", "en": "custom/en/main-menu"}
#: the language key -> the language (any other key: zh)
LANG_KEYS = {"2": "yue", "3": "en"}
#: Read(ROUTER_KEY,<prompt>,1,,2,5) in router-inbound: 2 attempts, 5 s each after the prompt
ATTEMPTS, TIMEOUT = 2, 5


def _in_read(lab: Lab, prompt: str, exclude: tuple[str, ...] = ()) -> str:
    """Wait until a trunk channel on the pbx runs router-inbound's Read() of
    `prompt`; its name (not one of `exclude`)."""
    def reading() -> str | None:
        out = lab.pbx.cli("core show channels concise")
        names = re.findall(rf"^(PJSIP/trunk-\S+?)!router-inbound!{DNIS}!\d+!Up!Read!ROUTER_KEY,{prompt},", out, re.M)
        return next((n for n in names if n not in exclude), None)
    return wait_for(reading, 10, f"a caller in Read() of {prompt}")


def _new_caller(lab: Lab, before: list[str]) -> str:
    """The phones instance's caller channel that is not in `before`."""
    return wait_for(lambda: next((c for c in lab.caller_channels() if c not in before), None), 5,
                    "the new caller's channel")


def _played(lab: Lab, channel: str) -> list[str]:
    """The files Asterisk played on the pbx channel `channel`, in order (file.c's
    verbose `<channel> Playing 'name.format'`)."""
    return re.findall(rf"<{re.escape(channel)}> Playing '([^']+)\.\w+'", lab.log())


def _entered(lab: Lab, channel: str) -> list[str]:
    """What app_read logged for the keys on `channel`'s call, in order."""
    call = _log_call(lab, channel)
    return re.findall(rf"\[{call}\] app_read\.c: (User entered .*)", lab.log())


def _log_call(lab: Lab, channel: str) -> str:
    """The log's call id (C-...) of the pbx channel `channel`."""
    return re.search(rf"\[(C-[0-9a-f]+)\] pbx\.c: Executing \[{DNIS}@router-inbound:1\] NoOp\(\"{re.escape(channel)}\"",
                     lab.log()).group(1)


def _no_missing_prompt(lab: Lab) -> None:
    missing = [line for line in lab.log().splitlines()
               if "WARNING" in line and any(p.split("/")[-1] in line for p in IVR_PROMPTS)]
    assert missing == []


def _variables(db, call_id: str) -> tuple:
    with sqlite3.connect(db) as con:
        outcome, answered_by, variables, queue = con.execute(
            "SELECT outcome, answered_by, variables, final_queue FROM calls WHERE call_id = ?", (call_id,)).fetchone()
    return outcome, answered_by, json.loads(variables), queue


def _through_ivr(lab: Lab, name: str, number: str, lang: str, menu: str) -> str:
    """A caller dials DNIS and presses `lang` while the language prompt plays,
    then `menu` once the menu prompt has played out (in Read()'s timeout);
    the caller's channel on the pbx."""
    before = lab.caller_channels()
    lab.call(DNIS, name, number)
    channel = _in_read(lab, LANGUAGE)
    caller = _new_caller(lab, before)
    lab.dtmf(caller, lang)
    _in_read(lab, MENU_IN[LANG_KEYS.get(lang, "zh")])
    time.sleep(PROMPT + 1)  # past the prompt, well inside the TIMEOUT s Read() then waits
    lab.dtmf(caller, menu)
    return channel


def _bridged(lab: Lab, router: RouterProcess, agent: str, other: str, channel: str, call_id: str) -> None:
    """`agent`'s phone is bridged to the caller's pbx `channel`; `other` is not rung."""
    wait_for(lambda: (a := router.agent(agent))["state"] == "on_call" and a["call"] == call_id, 15,
             f"{agent} on the call")
    legs = [c for c in lab.pbx.cli("core show channels concise").splitlines() if c.startswith("PJSIP/10")]
    assert len(legs) == 1 and legs[0].startswith(f"PJSIP/{agent}-"), legs
    assert f"!router-agent!{agent}!" in legs[0] and f"!Up!Bridge!{channel}," in legs[0]
    assert router.agent(other)["state"] == "available"
    wait_for(lambda: router.agent(agent)["state"] == "available", TALK + 10, f"{agent} free again")
    wait_for(lab.pbx.idle, 10, "the call over")


def test_the_callers_keys_pick_the_queue_and_the_agent(tmp_path):
    """Language 3 (en) pressed during the prompt and menu 1 after the English
    menu prompt go to `english` (only 1001); language 2 (yue) and menu 3 (complaints) from a
    caller the CRM's AstDB calls `Gold` go to `complaints` (only 1002), with
    tier gold (the dialplan's FILTER(a-z) alone made it "old"), after the
    Cantonese menu prompt."""
    db = tmp_path / "records.db"
    with Lab(tmp_path, AGENTS, prompts=True) as lab:
        lab.pbx.cli("database put crm-tier 13900139000 Gold")
        # the keys go as RFC 4733 events (PJSIP's default dtmf_mode, on both sides of the trunk)
        assert re.search(r"^ dtmf_mode +: rfc4733$", lab.pbx.cli("pjsip show endpoint trunk"), re.M)
        assert re.search(r"^ dtmf_mode +: rfc4733$", lab.phones.cli("pjsip show endpoint pbx"), re.M)
        router = RouterProcess(lab, tmp_path, "--records", f"sqlite:{db}")
        try:
            for aid in AGENTS:
                lab.feature(aid, "*41")
            wait_for(lambda: all(router.agent(a)["state"] == "available" for a in AGENTS), 10, "both logged in")

            english = _through_ivr(lab, "陈静", "13800138000", lang="3", menu="1")
            english_id = wait_for(lambda: re.search(rf"call +(\S+) 陈静 dnis {DNIS} -> english \(rule ivr-english,",
                                                    router.output()), 15, "the router to route the call").group(1)
            _bridged(lab, router, "1001", "1002", english, english_id)

            complaint = _through_ivr(lab, "王五", "13900139000", lang="2", menu="3")
            complaint_id = wait_for(lambda: re.search(rf"call +(\S+) 王五 dnis {DNIS} -> complaints "
                                                      r"\(rule ivr-complaints,", router.output()), 15,
                                    "the router to route the call").group(1)
            _bridged(lab, router, "1002", "1001", complaint, complaint_id)
            assert router.warnings() == []
        finally:
            assert router.stop() == 0
        for channel, keys, lang in ((english, ("3", "1"), "en"), (complaint, ("2", "3"), "yue")):
            # each prompt played once, the menu in the caller's language, and the one key pressed ended its Read()
            assert _played(lab, channel) == [LANGUAGE, MENU_IN[lang]]
            assert _entered(lab, channel) == [f"User entered '{k}'" for k in keys]
        _no_missing_prompt(lab)
    assert _variables(db, english_id) == ("answered", "1001", {"menu": "1", "lang": "en", "tier": "normal"},
                                          "english")
    assert _variables(db, complaint_id) == ("answered", "1002", {"menu": "3", "lang": "yue", "tier": "gold"},
                                            "complaints")


def test_no_key_gets_the_defaults_after_the_timeouts_and_other_keys_count_as_the_defaults(tmp_path):
    """A caller who presses nothing hears each prompt ATTEMPTS times, each
    followed by TIMEOUT s of Read(), then reaches the router with menu 0,
    lang zh; one who presses 9 (no such language) and 5 (no such menu
    item), whose AstDB tier has no letters, gets menu 0, lang zh, tier
    normal. Both land on the default route (`plain`)."""
    db = tmp_path / "records.db"
    with Lab(tmp_path, AGENTS, prompts=True) as lab:
        lab.pbx.cli("database put crm-tier 13700137000 42")
        router = RouterProcess(lab, tmp_path, "--records", f"sqlite:{db}")
        try:
            placed = time.monotonic()
            lab.call(DNIS, "陈静", "13800138000")
            silent = _in_read(lab, LANGUAGE)
            before = lab.caller_channels()
            lab.call(DNIS, "赵六", "13700137000")
            wrong = _in_read(lab, LANGUAGE, exclude=(silent,))
            wrong_caller = _new_caller(lab, before)
            lab.dtmf(wrong_caller, "9")
            _in_read(lab, MENU)
            lab.dtmf(wrong_caller, "5")
            wrong_id = wait_for(lambda: re.search(rf"call +(\S+) 赵六 dnis {DNIS} -> plain", router.output()), 15,
                                "the router to see the caller with the wrong keys").group(1)
            silent_id = wait_for(lambda: re.search(rf"call +(\S+) 陈静 dnis {DNIS} -> plain", router.output()),
                                 2 * ATTEMPTS * (PROMPT + TIMEOUT) + 15, "the router to see the silent caller").group(1)
            # the silent caller sat through both Read()s: every attempt's TIMEOUT s at least
            assert time.monotonic() - placed >= 2 * ATTEMPTS * TIMEOUT
            for caller in lab.caller_channels():
                lab.hang_up(caller)
            wait_for(lab.pbx.idle, 10, "the calls over")
            assert router.warnings() == []
        finally:
            assert router.stop() == 0
        assert _played(lab, silent) == [LANGUAGE] * ATTEMPTS + [MENU] * ATTEMPTS
        assert _entered(lab, silent) == ["User entered nothing, 1 chance left", "User entered nothing.",
                                         "User entered nothing, 1 chance left", "User entered nothing."]
        assert _played(lab, wrong) == [LANGUAGE, MENU]
        assert _entered(lab, wrong) == ["User entered '9'", "User entered '5'"]
        _no_missing_prompt(lab)
    defaults = {"menu": "0", "lang": "zh", "tier": "normal"}
    assert _variables(db, silent_id) == ("abandoned", None, defaults, "plain")
    assert _variables(db, wrong_id) == ("abandoned", None, defaults, "plain")
