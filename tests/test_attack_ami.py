"""Attacks and faults on the AMI side (issue 13, items 6-8, and issue 17's
reconnect logging), over real TCP against a scripted fake Asterisk
(tests/fake_ami.py): a listing that times out or answers an error after a
reconnect, a listing that hangs while the PBX floods events, a PBX that
refuses connections or logins."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from support.fake_ami import FakeAmi
from router.ami.link import Link
from router.config import load_config
from router.core import events as ev
from router.runtime.daemon import Clock, Router
from router.metrics import Metrics
from support.ports import free_port
from test_ami_resync import chan, stat
from support.waiting import until

ROOT = Path(__file__).resolve().parent.parent
TABLE = load_config(ROOT / "config")
VIP_VARS = ("ROUTER_DNIS=4008008000", "ROUTER_VARS=tier=gold")


@pytest.fixture
async def pbx():
    server = FakeAmi()
    await server.start()
    yield server
    await server.stop()


class Watch:
    """What the router published, in order."""

    def __init__(self, router: Router) -> None:
        self.seen: list = []
        router.subscribe(lambda p, now: self.seen.append(p))

    def states(self, agent: str) -> list[str]:
        return [p.data["state"] for p in self.seen if p.kind == "agent.state" and p.data["agent"] == agent]

    def kinds(self, kind: str, call: str) -> list[dict]:
        return [p.data for p in self.seen if p.kind == kind and p.data.get("call") == call]


async def started(server: FakeAmi, **options) -> Router:
    router = Router(TABLE, Clock(), resync_timeout=0.3)
    router.rebuild_retry = (0.1, 0.4)
    router.add_pbx("p1", "127.0.0.1", server.port, "router", "pw", ping_interval=3600, **options)
    await router.start()
    return router


async def test_an_error_reply_to_status_is_a_failed_rebuild_not_a_pbx_without_agents(pbx, caplog):
    """Agent 1028 talks to c1. After a reconnect, Status answers an error:
    read as "no agent legs" it would free 1028 and ring them for a new call."""
    pbx.items["CoreShowChannels"] = [chan("c1", app="", bridge="b1"),
                                     chan("leg1", context="router-agent", app="Bridge", bridge="b1")]
    pbx.items["Status"] = [stat("c1", *VIP_VARS, bridge="b1"),
                           stat("leg1", "ROUTER_CALL=c1", "ROUTER_AGENT=1028", bridge="b1")]
    router = Router(TABLE, Clock(), resync_timeout=0.3)
    router.rebuild_retry = (0.1, 0.4)
    watch = Watch(router)
    router.feed(ev.AgentLogin("1028"))
    router.add_pbx("p1", "127.0.0.1", pbx.port, "router", "pw", ping_interval=3600, reconnect=0.1)
    await router.start()
    try:
        await until(lambda: router.resyncs.get("p1") == 1)
        assert router.engine.agents["1028"].status.value == "on_call"
        before = len(watch.states("1028"))
        pbx.mode["Status"] = "error"
        pbx.drop()
        await until(lambda: "p1" in router.stale, 10)
        assert "Status was refused: Permission denied" in router.stale["p1"]
        healthy, body = Metrics(router).health()
        assert not healthy and "Permission denied" in body["rebuild_failed"]["p1"]
        await until(lambda: router.rebuild_failures.get("p1", 0) >= 2)  # retried while it fails
        assert router.engine.agents["1028"].status.value == "on_call"
        pbx.mode["Status"] = "ok"
        await until(lambda: router.resyncs.get("p1") == 2 and "p1" not in router.stale)
        assert router.engine.agents["1028"].status.value == "on_call"
        assert watch.states("1028")[before:] == []  # never freed in between
        assert not pbx.actions("Originate")
    finally:
        await router.stop()


async def test_a_listing_that_times_out_is_retried_and_nothing_is_offered_meanwhile(pbx):
    """c1 waits; the connection drops and c1 hangs up meanwhile; the first
    listings after the reconnect time out. The stale c1 must not be rung
    for (a ghost call) and must go once a rebuild succeeds."""
    pbx.items["CoreShowChannels"] = [chan("c1")]
    pbx.items["Status"] = [stat("c1", *VIP_VARS)]
    router = await started(pbx, reconnect=0.1)
    watch = Watch(router)
    try:
        await until(lambda: router.resyncs.get("p1") == 1)
        assert router.engine.calls["c1"].queue == "vip"
        pbx.mode["CoreShowChannels"] = "stall"
        pbx.items["CoreShowChannels"], pbx.items["Status"] = [], []  # c1 hung up during the outage
        pbx.drop()
        await until(lambda: "p1" in router.stale, 10)
        assert "CoreShowChannels got no reply" in router.stale["p1"]
        router.feed(ev.AgentLogin("1028"))  # would be rung for the caller who left
        await until(lambda: any(d["reason"] == "failed" for d in watch.kinds("call.no_answer", "c1")))
        assert not pbx.actions("Originate")
        await until(lambda: router.rebuild_failures.get("p1", 0) >= 2)
        pbx.mode["CoreShowChannels"] = "ok"
        await until(lambda: router.resyncs.get("p1") == 2)
        assert "c1" not in router.engine.calls and "p1" not in router.stale
        assert router.engine.agents["1028"].status.value in ("available", "wrapup")  # resting after the refused offer
        assert not pbx.actions("Originate")
    finally:
        await router.stop()


async def test_events_held_during_a_hung_listing_are_bounded(pbx, caplog):
    pbx.mode["CoreShowChannels"] = "stall"
    router = await started(pbx, reconnect=0.1)
    router.held_limit = 100
    try:
        await until(lambda: pbx.actions("CoreShowChannels"))
        pbx.push(b"".join(f"Event: Hangup\r\nUniqueid: u{n}\r\nChannel: PJSIP/x-{n}\r\n\r\n".encode()
                          for n in range(2000)))
        await until(lambda: pbx.logins >= 2, 10)  # the connection was dropped and the router logged in again
        assert any("events held while its state is rebuilt" in r.getMessage() for r in caplog.records)
        assert len(router.sessions["p1"].rebuild.held or []) <= router.held_limit
        pbx.mode["CoreShowChannels"] = "ok"
        await until(lambda: router.resyncs.get("p1") == 1 and "p1" not in router.stale)
    finally:
        await router.stop()


# ---------------------------------------------------------------- reconnects (issue 17)
def link_records(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name.startswith(("router.ami", "panoramisk"))]


async def test_a_refused_connection_is_named_once_and_retried_with_back_off(caplog):
    caplog.set_level(logging.INFO)
    port = free_port()  # nothing listens there
    link = Link("pbx-east", "127.0.0.1", port, "router", "pw", on_message=lambda l, m: None,
                on_up=lambda l: None, ping_interval=3600, reconnect=0.05, reconnect_max=0.4)
    await link.start()
    try:
        await until(lambda: len(link.retry_delays) >= 6, 10)
        assert list(link.retry_delays)[:6] == [0.05, 0.1, 0.2, 0.4, 0.4, 0.4]
        lines = link_records(caplog)
        down = [m for m in lines if "pbx-east" in m and "down" in m]
        assert len(down) == 1, lines
        assert f"127.0.0.1:{port}" in down[0] and "connection refused" in down[0]
        assert not any("Not able to reconnect" in m for m in lines)
        assert len(lines) <= 2, lines
    finally:
        await link.close()


async def test_a_refused_login_says_auth_failed_backs_off_and_recovers(pbx, caplog):
    caplog.set_level(logging.INFO)
    pbx.refuse_login = True
    link = Link("pbx-west", "127.0.0.1", pbx.port, "router", "pw", on_message=lambda l, m: None,
                on_up=lambda l: None, ping_interval=3600, reconnect=0.05, reconnect_max=0.2)
    await link.start()
    try:
        await until(lambda: len(link.retry_delays) >= 4, 10)
        assert list(link.retry_delays)[:4] == [0.05, 0.1, 0.2, 0.2]
        lines = link_records(caplog)
        down = [m for m in lines if "pbx-west" in m and "down" in m]
        assert len(down) == 1 and "auth failed" in down[0] and f"127.0.0.1:{pbx.port}" in down[0], lines
        pbx.refuse_login = False
        await until(lambda: link.up, 5)
        assert any("pbx-west" in m and "up again" in m for m in link_records(caplog))
    finally:
        await link.close()


# ---------------------------------------------------------------- survey scores (issue 16)
async def test_garbled_survey_scores_are_logged_once_and_never_break_the_link(pbx, caplog):
    """RouterSurvey UserEvents with no, empty, out-of-range, non-digit or
    oversized Score (and a CR-split one) over real TCP: each is ignored and
    counted, the kind logged once, the link stays up, and a valid score
    after them still becomes call.survey."""
    router = await started(pbx, reconnect=0.1)
    watch = Watch(router)
    try:
        await until(lambda: router.resyncs.get("p1") == 1)
        bad = ["", "0", "6", "4a", "٣", "9" * 5000, "3\rAction: Hangup", None]
        pbx.push(b"".join(
            ("Event: UserEvent\r\nUserEvent: RouterSurvey\r\nUniqueid: s1\r\nCall: s1\r\n"
             + (f"Score: {score}\r\n" if score is not None else "") + "\r\n").encode("utf-8")
            for score in bad))
        pbx.push(b"Event: UserEvent\r\nUserEvent: RouterSurvey\r\nUniqueid: s2\r\nCall: s2\r\nScore: 5\r\n\r\n")
        await until(lambda: watch.kinds("call.survey", "s2"))
        assert watch.kinds("call.survey", "s2") == [{"call": "s2", "queue": "", "agent": "", "score": 5}]
        assert watch.kinds("call.survey", "s1") == []
        assert router.translators["p1"].ignored["RouterSurvey with a Score not 1-5"] == len(bad)
        warned = [r for r in caplog.records if "RouterSurvey with a Score not 1-5" in r.getMessage()]
        assert len(warned) == 1 and warned[0].levelno == logging.WARNING
        assert pbx.logins == 1  # never dropped
    finally:
        await router.stop()
