"""The `router` command as an admin uses it: exit codes and output."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from router.present.cli import main

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = str(ROOT / "config")


def run(capsys, *argv: str) -> tuple[int, str, str]:
    try:
        code = main(list(argv))
    except SystemExit as exit_:  # argparse usage errors
        code = exit_.code
    out, err = capsys.readouterr()
    return code, out, err


def test_check_accepts_the_sample_with_a_one_line_summary(capsys):
    code, out, err = run(capsys, "check", SAMPLE)
    assert code == 0, err
    assert out.count("\n") == 1
    assert "OK: 42 agents in 3 teams, 6 queues, 13 rules + default" in out
    assert err == ""


def test_check_rejects_a_broken_config_with_every_error(capsys, tmp_path):
    broken = tmp_path / "router.yaml"
    broken.write_text((ROOT / "tests/broken/many_errors.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    code, out, err = run(capsys, "check", str(broken))
    assert code == 1
    lines = err.strip().splitlines()
    assert len(lines) >= 4, lines
    assert all(line.startswith(str(broken) + ":") for line in lines)
    assert lines[-1].endswith("configuration rejected")
    assert out == ""


def test_check_on_a_missing_directory_is_a_config_error(capsys, tmp_path):
    code, _, err = run(capsys, "check", str(tmp_path / "nope"))
    assert code == 1
    assert str(tmp_path / "nope") in err


def test_explain_shows_rules_queue_steps_and_eligible_agents(capsys):
    code, out, err = run(capsys, "explain", SAMPLE, "--dnis", "4008001000", "--var", "lang=yue",
                         "--at", "2026-11-23T10:00")
    assert code == 0, err
    assert "5. sales-cantonese [" in out and ": MATCHED" in out
    assert "1. vip-tier [" in out and "no, var tier=None is not one of ['gold', 'platinum']" in out
    assert "queue: sales (销售热线)" in out
    assert "extra skills from the rule: cantonese>=5" in out
    assert "from     0s  cantonese>=5 & sales>=7 & team in sales" in out
    assert "eligible agents (2): 1002 王芳, 1005 陈静" in out
    assert "from  1m30s  leave the queue: voicemail 8000@sales" in out


def test_explain_says_a_complaint_is_recorded_and_surveyed_and_a_sale_neither(capsys):
    code, out, err = run(capsys, "explain", SAMPLE, "--dnis", "4008009000", "--var", "menu=3",
                         "--at", "2026-11-23T10:00")
    assert code == 0, err
    assert "queue: complaints (投诉处理)" in out
    assert ("after the call: recorded to /var/spool/asterisk/monitor/router/<call id>.wav; "
            "the caller is asked for a 1-5 score (router-survey)") in out
    code, out, err = run(capsys, "explain", SAMPLE, "--dnis", "4008001000", "--at", "2026-11-23T10:00")
    assert code == 0 and "queue: sales" in out and "after the call" not in out


def test_explain_out_of_hours_goes_to_the_after_hours_rule(capsys):
    code, out, _ = run(capsys, "explain", SAMPLE, "--dnis", "4008002000", "--at", "2026-11-22T23:30+08:00")
    assert code == 0
    assert "after-hours [" in out and ": MATCHED" in out
    assert "hours: calendar business is CLOSED: closed all day on Sundays (2026-11-22 Sun 23:30 Asia/Shanghai)" in out
    # a closed queue's call never waits: no escalation listed after that
    assert "escalation: none, the queue is closed" in out and "eligible agents" not in out


def test_explain_says_which_holiday_closes_the_calendar(capsys):
    code, out, _ = run(capsys, "explain", SAMPLE, "--dnis", "4008001000", "--at", "2026-10-01T10:00")
    assert code == 0
    assert "4. after-hours [" in out and ": MATCHED" in out
    assert "hours: calendar business is CLOSED: 2026-10-01 is one of its holidays" in out
    code, out, _ = run(capsys, "explain", SAMPLE, "--dnis", "4008001000", "--at", "2026-11-23T10:00")
    assert "4. after-hours [config/routing.yaml:53]: no, calendar business is open " \
           "(Monday hours 08:30-20:00 (2026-11-23 Mon 10:00 Asia/Shanghai))" in out.replace(SAMPLE + "/", "config/")


def test_explain_warns_about_a_variable_no_rule_reads(capsys):
    code, out, _ = run(capsys, "explain", SAMPLE, "--dnis", "4008001000", "--var", "foo=bar", "--var", "lang=yue",
                       "--at", "2026-11-23T10:00")
    assert code == 0
    assert "warning: no rule reads variable 'foo': it changes nothing" in out
    assert "variable 'lang'" not in out


@pytest.mark.parametrize("argv, message", [
    (["explain", SAMPLE, "--dnis", "1", "--var", "lang"], "--var 'lang' must be KEY=VALUE"),
    (["explain", SAMPLE, "--dnis", "1", "--at", "tomorrow"], "--at 'tomorrow' is not an ISO date-time"),
    (["run", SAMPLE, "--simulate", "--speed", "fast"], "argument --speed: 'fast' is not a number"),
    (["run", SAMPLE, "--simulate", "--speed", "0"], "--speed 0: a live simulated run needs a speed above 0"),
    (["run", SAMPLE, "--simulate", "--state-file", "x.json"], "--state-file: only for a run on Asterisk (--ami)"),
    (["run", SAMPLE, "--ami", "h", "--duration", "1h", "--seed", "2"],
     "--duration, --seed: only for --simulate; a run on Asterisk goes in real time"),
    (["run", SAMPLE, "--simulate", "--http", "127.0.0.1:99999"], "port 99999 is out of range 0-65535"),
    (["run", SAMPLE, "--ami", "h:70000"], "--ami 'h:70000': port 70000 is out of range 1-65535"),
    (["simulate", SAMPLE, "--agents", "0"], "--agents 0: give 1 to 42"),
    (["simulate", SAMPLE, "--duration", "8", "hours"], "usage: router simulate"),
    (["explain", "--call", "c1", SAMPLE], "give no CONFIG_DIR, --dnis"),
    (["simulate", SAMPLE, "--duration", "1:30"], "argument --duration: '1:30' is not a duration"),
    (["simulate", SAMPLE, "--agents", "99"], "--agents 99: give 1 to 42 (how many of the config's 42 agents"),
    (["run", SAMPLE], "give either --simulate or --ami HOST[:PORT]"),
    (["run", SAMPLE, "--simulate", "--ami", "x"], "give either --simulate or --ami HOST[:PORT]"),
    (["explain", SAMPLE], "give CONFIG_DIR --dnis N (a dry run), or --call ID"),
    (["frobnicate"], "invalid choice: 'frobnicate'"),
])
def test_bad_flags_exit_2_with_a_clear_message(capsys, argv, message):
    code, _, err = run(capsys, *argv)
    assert code == 2
    assert message in err


@pytest.mark.parametrize("argv, message", [
    (["run", SAMPLE, "--ami", "h:1:2"], "--ami 'h:1:2' must be [NAME=]HOST[:PORT], e.g. --ami pbx1=127.0.0.1:5038"),
    (["run", SAMPLE, "--ami", "p1=:5038"], "--ami 'p1=:5038' must be [NAME=]HOST[:PORT]"),
    (["run", SAMPLE, "--ami", "h:0"], "--ami 'h:0': port 0 is out of range 1-65535"),
    (["run", SAMPLE, "--simulate", "--http", "9464"], "'9464' must be HOST:PORT, e.g. 127.0.0.1:9464"),
    (["run", SAMPLE, "--simulate", "--http", "h:"], "'h:' must be HOST:PORT"),
    (["run", SAMPLE, "--simulate", "--mqtt", ":1883"], "--mqtt ':1883' must be HOST[:PORT], e.g. --mqtt 127.0.0.1:1883"),
    (["run", SAMPLE, "--simulate", "--mqtt", "h:0"], "--mqtt: port 0 is out of range"),
])
def test_each_host_port_flag_keeps_its_own_rules(capsys, argv, message, monkeypatch):
    monkeypatch.setenv("ROUTER_AMI_SECRET", "s")
    code, _, err = run(capsys, *argv)
    assert code == 2
    assert message in err


def test_host_port_flags_take_their_defaults_and_ipv6_forms(monkeypatch):
    from router.present.cli import build_parser
    from router.present.run_cli import _http_address, _mqtt_settings, _pbx_addresses

    monkeypatch.setenv("ROUTER_AMI_SECRET", "s")
    assert _http_address("[::1]:9464") == ("::1", 9464)
    assert _http_address("::1:9464") == ("::1", 9464)  # the port follows the last colon
    assert _http_address(":0") == ("127.0.0.1", 0)  # 0: any free port
    args = build_parser().parse_args(["run", SAMPLE, "--ami", "h", "--ami", "b=h2:", "--ami", "c=h3:15038"])
    assert [(p.name, p.host, p.port) for p in _pbx_addresses(args)] == [
        ("pbx1", "h", 5038), ("b", "h2", 5038), ("c", "h3", 15038)]
    for flags, host, port in ([["::1"], "::1", 1883], [["h:"], "h", 1883], [["h", "--mqtt-tls"], "h", 8883],
                              [["h:1884"], "h", 1884]):
        settings = _mqtt_settings(build_parser().parse_args(["run", SAMPLE, "--simulate", "--mqtt", *flags]))
        assert (settings.host, settings.port) == (host, port), flags


def test_run_help_offers_no_speed_a_live_run_refuses(capsys):
    code, out, _ = run(capsys, "run", "--help")
    out = " ".join(out.split())  # argparse wraps to the terminal's width
    assert code == 0
    assert "0 = as fast as possible" not in out and "(default 10; above 0)" in out
    _, out, _ = run(capsys, "simulate", "--help")
    assert "0 = as fast as possible" in " ".join(out.split())


def test_ami_address_and_secret_are_checked(capsys, monkeypatch):
    monkeypatch.delenv("ROUTER_AMI_SECRET", raising=False)
    code, _, err = run(capsys, "run", SAMPLE, "--ami", "127.0.0.1")
    assert code == 2 and "no AMI secret: set ROUTER_AMI_SECRET or pass --ami-secret-file" in err
    monkeypatch.setenv("ROUTER_AMI_SECRET", "s3cret")
    code, _, err = run(capsys, "run", SAMPLE, "--ami", "pbx1=127.0.0.1:notaport")
    assert code == 2 and "--ami 'pbx1=127.0.0.1:notaport' must be [NAME=]HOST[:PORT]" in err
    assert "s3cret" not in err
    code, _, err = run(capsys, "run", SAMPLE, "--ami", "h", "--ami-secret-file", "/nonexistent/secret")
    assert code == 2 and "--ami-secret-file: cannot read /nonexistent/secret" in err


def test_simulate_routes_calls_and_prints_queue_summaries(capsys):
    code, out, _ = run(capsys, "simulate", SAMPLE, "--duration", "3m")
    assert code == 0
    assert " -> general (rule default, priority 0)" in out
    assert "  ring   " in out and "  answer " in out
    summaries = [line for line in out.splitlines() if " waiting " in line and " free agents " in line]
    assert len(summaries) == 3 * 6  # three minutes, six queues
    assert all(" of 90%/10s " in line for line in summaries if "  vip " in line)  # SL beside its target


def test_simulate_ends_with_a_what_if_report_per_queue(capsys):
    code, out, _ = run(capsys, "simulate", SAMPLE, "--duration", "1h", "--quiet", "--agents", "30")
    assert code == 0
    table = out[out.index("queue       offered"):].splitlines()
    assert len(table) == 1 + 6
    assert table[1].startswith("vip ") and "90%/10s" in table[1]
    assert out.count("---- summary") == 1  # --quiet: only the final one


def test_simulate_is_reproducible_for_a_seed(capsys):
    _, first, _ = run(capsys, "simulate", SAMPLE, "--duration", "5m", "--seed", "7")
    _, second, _ = run(capsys, "simulate", SAMPLE, "--duration", "5m", "--seed", "7")
    _, other, _ = run(capsys, "simulate", SAMPLE, "--duration", "5m", "--seed", "8")
    assert first == second
    assert first != other


def test_console_script_version_and_check():
    script = Path(sys.executable).with_name("router")
    version = subprocess.run([str(script), "--version"], capture_output=True, text=True, check=True)
    assert version.stdout.strip() == "router 0.1.0"
    check = subprocess.run([str(script), "check", SAMPLE], capture_output=True, text=True)
    assert check.returncode == 0 and "OK:" in check.stdout


def test_enforcement_and_callback_lines_name_action_and_reason():
    from router.core.facts import CallbackRetrying, CallHurried
    from router.present.console import describe

    assert describe(CallHurried("sales", "escalate", "c1", 40.0, 1)) == \
        "enforce escalate sales (ewt) call=c1 ewt=40.0 step=1"
    assert describe(CallbackRetrying("cb-1", "vip", "noanswer", 1, 0.0)) == \
        "callback retry cb-1 (vip) attempts=1 reason=noanswer"


def test_simulated_calls_dial_the_configs_own_numbers_where_a_rule_allows(capsys):
    import re

    code, out, _ = run(capsys, "simulate", SAMPLE, "--duration", "10m", "--seed", "1")
    assert code == 0
    seen = set(re.findall(r"dnis (\d+) -> \w+ \(rule ([\w-]+)", out))
    # Rules without a dnis condition get one of the sample's lines that no earlier rule takes...
    assert ("4008001000", "vip-tier") in seen and ("4008002000", "cantonese") in seen
    # ...and only calls that no listed line may carry (the default route, a calendar-bound rule) another.
    assert {rule for number, rule in seen if number == "4000000000"} <= {"default", "after-hours", "sales-menu",
                                                                           "aftersales-menu"}


def test_decision_lines_carry_the_utc_offset_of_their_zone():
    import io
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from router.core.facts import CallAbandoned
    from router.present.run_modes import _printer

    out = io.StringIO()
    at = datetime(2026, 11, 23, 9, 30, 5, tzinfo=ZoneInfo("Asia/Shanghai")).timestamp()
    _printer(ZoneInfo("Asia/Shanghai"), False, out)(CallAbandoned("c1", "sales", 3.0), at)
    _printer(ZoneInfo("UTC"), False, out)(CallAbandoned("c1", "sales", 3.0), at)
    assert out.getvalue().splitlines() == ["09:30:05+08:00  abandon c1 after 3.0s (sales)",
                                           "01:30:05+00:00  abandon c1 after 3.0s (sales)"]
