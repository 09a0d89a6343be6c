"""The AMI secret never shows: not in logs (at DEBUG, over a run that
includes a refused login and a reconnect), not in `router explain`, not in
error messages, not in what the router publishes. (The JSON logs of a real
`router run` process are checked too, in test_process.py.)
"""

from __future__ import annotations

import logging
from dataclasses import replace

from support.centre import MONDAY_10AM, SPEED, TABLE, Behaviour, Centre

from router.present.cli import main
from router.process.compose import build
from router.runtime.daemon import Clock, Router

SECRET = "Pa55-ZyX-secret-4711"
WRONG = "Wr0ng-QqQ-secret-0815"
STEADY = Behaviour(mean_patience=10_000, answer_delay=(1.0, 1.0), no_answer_rate=0.0, mean_talk=30, min_talk=30)


def everything_logged(caplog) -> str:
    parts = []
    for record in caplog.records:
        parts.append(record.getMessage())
        parts.append(repr(record.args))
        if record.exc_info:
            parts.append(logging.Formatter().formatException(record.exc_info))
    return "\n".join(parts)


async def test_secrets_never_reach_the_logs_or_published_events(caplog):
    published = []
    with caplog.at_level(logging.DEBUG):
        centre = Centre(behaviour=STEADY, agents=["1014"])
        centre.pbx.secret = centre.pbx.server.secret = SECRET
        # A router with the wrong secret first: refused, and it says so.
        wrong = Router(TABLE, Clock(SPEED, start=MONDAY_10AM))
        await centre.pbx.start()
        wrong.add_pbx("sim", "127.0.0.1", centre.pbx.port, centre.pbx.username, WRONG, reconnect=1.0)
        await wrong.start()
        await centre.until(lambda: any("login refused" in r.getMessage() for r in caplog.records), 5)
        await wrong.stop()
        centre.app = build(replace(centre.options, on_publish=lambda p, now: published.append(p)),
                           simulator=centre.pbx)
        await centre.connect()
        centre.pbx.agent_login("1014")
        call = centre.pbx.place_call(dnis="4008002000", caller_name="王五")
        await centre.until(lambda: centre.record(call).outcome == "answered", 5)
        centre.pbx.drop_clients()  # a reconnect logs in again
        await centre.until(lambda: centre.router.resyncs["sim"] >= 2, 5)
        await centre.__aexit__(None, None, None)
    text = everything_logged(caplog)
    assert "login refused" in text and "logged in" in text  # the log did cover both
    assert any(r.levelno == logging.DEBUG for r in caplog.records)
    assert SECRET not in text and WRONG not in text
    assert published and all(SECRET not in repr(p) for p in published)


def test_router_explain_and_error_messages_never_show_the_secret(monkeypatch, capsys, tmp_path):
    monkeypatch.setenv("ROUTER_AMI_SECRET", SECRET)
    assert main(["explain", "config", "--dnis", "4008001000", "--at", "2026-11-23T10:00"]) == 0
    assert main(["run", "config", "--ami", "bad:port:x"]) == 2
    secret_file = tmp_path / "secret"
    secret_file.write_text(SECRET, encoding="utf-8")
    assert main(["run", "config", "--ami", "127.0.0.1:99999", "--ami-secret-file", str(secret_file)]) == 2
    assert main(["run", "config", "--ami", "127.0.0.1", "--ami-secret-file", str(tmp_path / "missing")]) == 2
    out = capsys.readouterr()
    assert "must be [NAME=]HOST[:PORT]" in out.err and "cannot read" in out.err
    assert SECRET not in out.out + out.err


def test_a_secret_logged_by_the_ami_library_is_masked(caplog):
    from router.ami.link import Link, log

    Link("pbx", "127.0.0.1", 5038, "router", SECRET, on_message=lambda link, m: None, on_up=lambda link: None)
    with caplog.at_level(logging.DEBUG, logger="router.ami"):
        log.error("Fail to send %r", {"Action": "Login", "Username": "router", "Secret": SECRET})
    assert caplog.records[-1].getMessage() == "Fail to send {'Action': 'Login', 'Username': 'router', 'Secret': '********'}"


def test_a_short_secret_inside_a_longer_one_does_not_unmask_the_rest(caplog):
    from router.ami.link import Link, log

    for secret in ("secret", SECRET):  # the simulator's default secret is a part of SECRET
        Link("pbx", "127.0.0.1", 5038, "router", secret, on_message=lambda link, m: None, on_up=lambda link: None)
    with caplog.at_level(logging.DEBUG, logger="router.ami"):
        log.error("Fail to send %r", {"Secret": SECRET})
    assert caplog.records[-1].getMessage() == "Fail to send {'Secret': '********'}"
