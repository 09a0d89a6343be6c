"""Metrics (router/metrics/): counters from synthetic facts,
gauges read from a real Router and engine, and the /metrics and /healthz
endpoints over real loopback HTTP."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, Gauge

from router.core import events as ev
from router.core import facts as f
from router.core.table import ServiceLevel
from router.runtime.daemon import Clock, Router
from router.metrics import Metrics
from router.metrics.events import WAIT_BUCKETS, wait_buckets
from support.tables import agent, queue, req, step, table

T0 = 1_800_000_000.0
SALES = queue("sales", step(0, req(sales=1)), wrapup=10.0)  # 80% within 20 s
VIP = queue("vip", step(0, req(sales=5)))
TABLE = table([agent("a1", sales=5), agent("a2", sales=3)], [SALES, VIP])


class FrozenClock(Clock):
    def __init__(self, at: float) -> None:
        super().__init__(1.0, start=at)
        self.at = at

    def now(self) -> float:
        return self.at


NUMBER = "13900001111"


def promised(call: str) -> f.CallbackQueued:
    """A callback of queue sales promised on call `call`."""
    return f.CallbackQueued(call, call.removeprefix("cb-"), "sales", NUMBER, "", 5, T0 - 600, 0, "", "", (), None)


def new_metrics(tbl=TABLE) -> tuple[Router, Metrics]:
    router = Router(tbl, FrozenClock(T0))
    metrics = Metrics(router, registry=CollectorRegistry())
    router.attach_metrics(metrics)
    return router, metrics


def value(metrics: Metrics, name: str, **labels) -> float | None:
    return metrics.registry.get_sample_value(name, labels)


def test_outcome_counters_and_the_wait_histogram_from_publishes():
    _, m = new_metrics()
    for wait in (3.0, 20.0, 25.0):
        m.observe(f.CallAnswered("c", "sales", "a1", wait), T0)
    m.observe(f.CallAbandoned("d", "sales", 40.0), T0)
    m.observe(f.CallOverflowed("e", "vip", 0.0, "full", "voicemail 8000"), T0)
    m.observe(f.CallClosed("f", "vip", 0.0, "closed", ""), T0)
    assert value(m, "router_calls_answered_total", queue="sales") == 3
    assert value(m, "router_calls_abandoned_total", queue="sales") == 1
    assert value(m, "router_calls_abandoned_total", queue="vip") == 0  # exists from the start
    assert value(m, "router_calls_overflowed_total", queue="vip", reason="full") == 1
    assert value(m, "router_calls_closed_total", queue="vip") == 1
    assert value(m, "router_calls_offered_total", queue="sales") == 4
    assert value(m, "router_calls_offered_total", queue="vip") == 2
    # The SL threshold is a bucket bound: "answered within 20 s" is exact.
    assert value(m, "router_call_wait_seconds_bucket", queue="sales", outcome="answered", le="20.0") == 2
    assert value(m, "router_call_wait_seconds_count", queue="sales", outcome="answered") == 3
    assert value(m, "router_call_wait_seconds_bucket", queue="sales", outcome="abandoned", le="30.0") == 0


def test_every_threshold_is_on_a_bucket_bound():
    odd = table([agent("a1", sales=5)], [SALES, replace(VIP, service_level=ServiceLevel(90.0, 12.5))])
    assert 12.5 in wait_buckets(odd) and 20.0 in wait_buckets(odd)
    assert set(WAIT_BUCKETS) <= set(wait_buckets(odd))


def test_enforcement_actions_and_callbacks_are_counted_and_pending_ones_tracked():
    router, m = new_metrics()
    m.observe(f.CallHurried("sales", "escalate", "c1", 40.0, 1), T0)
    m.observe(f.CallHurried("sales", "escalate", "c2", 40.0, 1), T0)
    m.observe(f.QueueProtected("vip", 0.5, 0.8, reason="below-target"), T0)
    assert value(m, "router_enforcement_actions_total", queue="sales", action="escalate", reason="ewt") == 2
    assert value(m, "router_enforcement_actions_total", queue="vip", action="protect", reason="below-target") == 1
    m.observe(promised("c1"), T0 - 600)
    m.observe(promised("c2"), T0 - 60)
    m.observe(f.CallbackPlaced("c1", "sales", "a1", 1, NUMBER), T0 - 30)
    m.observe(f.CallbackRetrying("c1", "sales", "noanswer", 1, T0 + 280), T0 - 20)  # still owed
    m.observe(f.CallbackDone("c2", "sales", "a1", 1, "answered"), T0 - 10)
    assert value(m, "router_callbacks_total", queue="sales", state="promised") == 2
    assert value(m, "router_callbacks_total", queue="sales", state="done") == 1
    assert value(m, "router_callbacks_total", queue="sales", state="retry") == 1
    assert value(m, "router_callbacks_pending", queue="sales") == 1
    assert value(m, "router_callbacks_oldest_pending_seconds", queue="sales") == 600
    assert value(m, "router_callbacks_pending", queue="vip") == 0
    m.observe(f.CallbackFailed("c1", "sales", "noanswer", 3), T0)  # given up: not pending
    assert value(m, "router_callbacks_total", queue="sales", state="failed") == 1
    assert value(m, "router_callbacks_pending", queue="sales") == 0
    assert value(m, "router_callbacks_oldest_pending_seconds", queue="sales") == 0


def test_odd_publishes_never_raise():
    _, m = new_metrics()
    m.observe(f.CallAnswered("", "sales", "", None), T0)  # no wait
    m.observe(f.CallbackDone("", "", "", 0, ""), T0)  # nothing promised
    m.observe(f.CallHurried("", "", "", None, reason=""), T0)
    m.observe(f.EventIgnored("CallLeft", "unknown call"), T0)
    assert value(m, "router_enforcement_actions_total", queue="none", action="none", reason="none") == 1
    assert value(m, "router_ignored_events_total") == 1


def test_a_second_collector_with_a_router_collector_name_is_refused():
    """RouterCollector describes its families, so the registry's duplicate
    check sees them: a clash is refused at registration, not exported twice."""
    router, m = new_metrics()
    router.feed(ev.AgentLogin("a1"))
    for name in ("router_agents", "router_queue_calls_waiting", "router_events_processed_total",
                 "router_config_info"):
        with pytest.raises(ValueError, match="Duplicated timeseries"):
            Gauge(name, "a clash", registry=m.registry)
    Gauge("router_not_ours", "no clash", registry=m.registry)
    # Every family collect() yields is described, with no value read.
    described = {f.name: f.type for f in m.collector.describe()}
    assert all(f.samples == [] for f in m.collector.describe())
    assert described == {f.name: f.type for f in m.collector.collect()}


async def test_gauges_read_the_engine_at_scrape_time():
    router, m = new_metrics()
    clock = router.clock
    router.feed(ev.AgentLogin("a1"))
    router.feed(ev.AgentLogin("a2"))
    router.feed(ev.AgentPause("a2", "lunch"))
    assert value(m, "router_queue_estimated_wait_seconds", queue="sales") == 0  # a1 is free
    router.feed(ev.CallWaiting("c1", caller_num="13800138000", caller_name="王五"))   # rings a1
    router.feed(ev.CallWaiting("c2"))
    clock.at = T0 + 8
    router.feed(ev.AgentAnswered("c1", "a1"))
    clock.at = T0 + 30
    assert value(m, "router_queue_calls_waiting", queue="sales") == 1
    assert value(m, "router_queue_longest_wait_seconds", queue="sales") == 30
    assert value(m, "router_queue_service_level_ratio", queue="sales", window="15m") == 1.0
    assert value(m, "router_queue_service_level_ratio", queue="vip", window="15m") is None  # nothing counted
    assert value(m, "router_queue_sla_counted_calls", queue="vip", window="today") == 0
    assert value(m, "router_queue_service_level_target_ratio", queue="sales") == 0.8
    assert value(m, "router_queue_service_level_threshold_seconds", queue="sales") == 20
    assert value(m, "router_agents", state="on_call") == 1
    assert value(m, "router_agents", state="paused") == 1
    assert value(m, "router_queue_agents", queue="vip", state="on_call") == 1
    assert value(m, "router_queue_agents", queue="vip", state="paused") == 0  # a2 has sales 3 < 5
    assert value(m, "router_skill_agents", skill="sales", state="paused") == 1
    assert value(m, "router_agent_occupancy_ratio") == 1.0  # the paused agent is not staffed
    assert value(m, "router_calls_answered_total", queue="sales") == 1
    assert value(m, "router_events_processed_total") == 6
    assert value(m, "router_decision_latency_seconds_count") == 6
    # No handle time yet: from the answer rate, 1 answer in (at least) 60 s, c2 ahead.
    assert value(m, "router_queue_estimated_wait_seconds", queue="sales") == pytest.approx(2 * 60.0)
    clock.at = T0 + 90
    router.feed(ev.CallEnded("c1"))  # 82 s of talk + 10 s wrap-up
    assert value(m, "router_queue_handle_time_seconds", queue="sales") == pytest.approx(92.0)
    assert value(m, "router_queue_estimated_wait_seconds", queue="sales") == pytest.approx(2 * 92.0)
    assert value(m, "router_queue_required_agents", queue="sales") >= 1
    assert value(m, "router_config_reload_success") == 1
    m.set_reload(False, "abc123")
    assert value(m, "router_config_reload_success") == 0
    assert value(m, "router_config_info", hash="abc123") == 1
    text = m.exposition().decode()
    assert "13800138000" not in text and "王五" not in text and '"c1"' not in text
    await router.stop()


async def http_get(port: int, path: str, method: str = "GET") -> tuple[int, dict, bytes]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"{method} {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    data = await reader.read()
    writer.close()
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:])
    return int(lines[0].split()[1]), headers, body


async def test_http_endpoints():
    router, m = new_metrics()
    port = await m.serve("127.0.0.1", 0)
    try:
        status, headers, body = await http_get(port, "/metrics")
        assert status == 200 and headers["Content-Type"].startswith("text/plain")
        assert b"router_queue_calls_waiting{queue=\"sales\"} 0.0" in body
        status, _, body = await http_get(port, "/healthz")
        assert status == 200 and json.loads(body) == {"status": "ok", "ami": {}}
        router.add_pbx("pbx1", "127.0.0.1", 1, "router", "secret")  # never started: down
        status, _, body = await http_get(port, "/healthz")
        assert status == 503 and json.loads(body) == {"status": "degraded", "ami": {"pbx1": False}}
        status, headers, body = await http_get(port, "/metrics", "HEAD")
        assert status == 200 and body == b"" and int(headers["Content-Length"]) > 100
        assert (await http_get(port, "/nope"))[0] == 404
        assert (await http_get(port, "/metrics", "POST"))[0] == 405
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"garbage\r\n\r\n")
        assert (await reader.read()).startswith(b"HTTP/1.1 400")
        writer.close()
    finally:
        await m.stop()
        await router.stop()


async def test_router_run_simulate_serves_metrics_with_the_http_flag():
    import sys
    import urllib.request

    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "router.present.cli", "run", "config", "--simulate", "--quiet", "--speed", "30",
        "--duration", "90s", "--http", "127.0.0.1:0", stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE, cwd=str(Path(__file__).resolve().parent.parent))
    try:
        url = None
        while url is None:
            line = (await asyncio.wait_for(proc.stdout.readline(), 20)).decode()
            assert line, (await proc.stderr.read()).decode()
            if line.startswith("metrics on "):
                url = line.split()[2]
        await asyncio.sleep(1.0)
        body = await asyncio.to_thread(lambda: urllib.request.urlopen(url, timeout=5).read().decode())
        assert 'router_ami_connected{pbx="sim"} 1.0' in body
        assert "router_queue_service_level_ratio" in body or "router_calls_answered_total" in body
        health = url.replace("/metrics", "/healthz")
        reply = await asyncio.to_thread(lambda: urllib.request.urlopen(health, timeout=5).read())
        assert json.loads(reply) == {"status": "ok", "ami": {"sim": True}}
        assert await asyncio.wait_for(proc.wait(), 20) == 0
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


def test_bad_http_flag_is_a_usage_error(capsys):
    from router.present.cli import main

    with pytest.raises(SystemExit) as exit_info:
        main(["run", "config", "--simulate", "--http", "localhost"])
    assert exit_info.value.code == 2
    assert "must be HOST:PORT" in capsys.readouterr().err


def test_a_reload_sets_the_reload_metric_and_the_config_digest(tmp_path):
    import shutil
    from pathlib import Path

    ROOT = Path(__file__).resolve().parent.parent
    router, m = new_metrics(TABLE)
    broken = tmp_path / "broken"
    shutil.copytree(ROOT / "config", broken)
    (broken / "agents.yaml").write_text("agents: [", encoding="utf-8")
    assert router.reload(str(broken)) is False
    assert value(m, "router_config_reload_success") == 0
    assert router.reload(str(ROOT / "config")) is True
    assert value(m, "router_config_reload_success") == 1
    assert value(m, "router_config_info", hash=router.table.digest) == 1


def test_estimated_wait_per_skill_set_follows_each_rules_skills():
    from router.core.patterns import compile_pattern
    from router.core.table import Match
    from support.tables import rule

    expert = rule("expert", SALES, Match(dnis=(compile_pattern("9"),)), skills=(("sales", 5),))
    tbl = table([agent("a1", sales=5), agent("a2", sales=3)], [SALES, VIP], rules=[expert])
    router, m = new_metrics(tbl)
    router.feed(ev.AgentLogin("a1"))
    router.feed(ev.CallWaiting("c1", dnis="9"))  # the expert a1 takes it
    router.feed(ev.AgentAnswered("c1", "a1"))
    router.feed(ev.AgentLogin("a2"))  # free, but not an expert
    router.engine.sla.ended("sales", 100.0, T0)  # a handle time of 100 s
    assert value(m, "router_rule_estimated_wait_seconds", rule="default", queue="sales") == 0  # a2 is free
    # An expert caller waits for a1: (0 ahead + 1) x 100 s / 1 expert staffed.
    assert value(m, "router_rule_estimated_wait_seconds", rule="expert", queue="sales") == pytest.approx(100.0)


def test_http_flag_without_a_host_binds_loopback_only():
    from router.present.cli import _http_address

    assert _http_address(":9464") == ("127.0.0.1", 9464)  # never 0.0.0.0 unless written out
    assert _http_address("0.0.0.0:9464") == ("0.0.0.0", 9464)
