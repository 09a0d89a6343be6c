"""Done-when test of the metrics: a real Prometheus server scrapes the
router's /metrics (every second) while the PBX simulator drives traffic over
loopback TCP; then Prometheus's query API must agree with the simulator's own
record of every call (outcome and wait), queue by queue.

The harness is the `Centre` of tests/test_e2e.py, trimmed (copied, so that
those tests stay as they are).
"""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import urllib.parse
import urllib.request
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from router.config import load_config
from router.runtime.daemon import Clock, Router
from router.metrics import Metrics
from router.sim.pbx import PbxSimulator
from router.sim.traffic import Behaviour
from support.ports import free_port
from support.races import CLOCK_SLACK, hung_up_at_max_wait, rule_of
from support.waiting import stop_process, until

ROOT = Path(__file__).resolve().parent.parent
TABLE = load_config(ROOT / "config")
SPEED = 20.0
MONDAY_10AM = datetime(2026, 11, 23, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai")).timestamp()
SHORT_ABANDON = 5.0  # SlaBook's default
ACTIONS = ("voicemail", "callback", "transfer", "hangup")  # the PBX's outcomes of an overflow


class PrometheusServer:
    """The real `prometheus` binary, own config and storage in a tmp dir."""

    def __init__(self, tmp: Path, target_port: int) -> None:
        binary = shutil.which("prometheus")
        assert binary, "the prometheus binary is missing: scripts/test.sh installs it (Debian package prometheus)"
        self.port = free_port()
        shutil.copy(ROOT / "deploy/prometheus/router.rules.yml", tmp / "router.rules.yml")
        (tmp / "prometheus.yml").write_text(
            "global: {scrape_interval: 1s, scrape_timeout: 1s, evaluation_interval: 1s}\n"
            "rule_files: [router.rules.yml]\n"
            "scrape_configs:\n"
            f"  - {{job_name: router, static_configs: [{{targets: ['127.0.0.1:{target_port}']}}]}}\n")
        self.log = open(tmp / "prometheus.log", "wb")
        self.proc = subprocess.Popen(
            [binary, f"--config.file={tmp / 'prometheus.yml'}", f"--storage.tsdb.path={tmp / 'data'}",
             f"--web.listen-address=127.0.0.1:{self.port}", "--log.level=warn"],
            stdout=self.log, stderr=subprocess.STDOUT)
        self.logfile = tmp / "prometheus.log"

    def get(self, path: str, **params) -> dict:
        url = f"http://127.0.0.1:{self.port}{path}"
        if params:
            url += "?" + urllib.parse.urlencode(params)
        with urllib.request.urlopen(url, timeout=5) as reply:
            return json.loads(reply.read())

    async def ready(self, seconds: float = 20) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while True:
            assert self.proc.poll() is None, f"prometheus exited: {self.logfile.read_text()}"
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/-/ready", timeout=1) as r:
                    if r.status == 200:
                        return
            except OSError:
                pass
            assert loop.time() < deadline, "prometheus did not become ready"
            await asyncio.sleep(0.2)

    async def query(self, expr: str) -> dict[tuple, float]:
        """Instant query -> {label values without __name__/job/instance: value}."""
        data = await asyncio.to_thread(self.get, "/api/v1/query", query=expr)
        assert data["status"] == "success", data
        out = {}
        for item in data["data"]["result"]:
            labels = {k: v for k, v in item["metric"].items() if k not in ("__name__", "job", "instance")}
            out[tuple(sorted(labels.items()))] = float(item["value"][1])
        return out

    def stop(self) -> None:
        stop_process(self.proc, 10)
        self.log.close()


def queue_of(record) -> str:
    """The queue the sample config's rules send a call to (no queue moves
    happen in this test: checked through router_calls_moved_total)."""
    return rule_of(TABLE, record, MONDAY_10AM).queue


def expected_from_records(records) -> dict[str, dict]:
    """Per queue, from the simulator's records: exact outcome counts, and
    the bounds [low, high] of the service-level counts that the clocks'
    slack allows (a wait within CLOCK_SLACK of a threshold could be judged
    either way by the router)."""
    out: dict[str, dict] = {}
    for r in records:
        q = out.setdefault(queue_of(r), {"answered": 0, "abandoned": 0, "overflowed": 0, "either": 0,
                                         "met": [0, 0], "counted": [0, 0]})
        kind = "overflowed" if r.outcome in ACTIONS else r.outcome
        q[kind] += 1
        q["either"] += hung_up_at_max_wait(TABLE, r, MONDAY_10AM, CLOCK_SLACK)  # counted either way
        within = TABLE.queues[queue_of(r)].service_level.within
        if kind == "answered":
            q["counted"][0] += 1
            q["counted"][1] += 1
            q["met"][0] += r.waited <= within - CLOCK_SLACK
            q["met"][1] += r.waited <= within + CLOCK_SLACK
        elif kind == "abandoned":
            q["counted"][0] += r.waited >= SHORT_ABANDON + CLOCK_SLACK
            q["counted"][1] += r.waited >= SHORT_ABANDON - CLOCK_SLACK
        else:
            q["counted"][0] += 1
            q["counted"][1] += 1
    return out


def by_queue(result: dict[tuple, float]) -> dict[str, float]:
    return {dict(k)["queue"]: v for k, v in result.items()}


async def test_prometheus_scrapes_counters_and_service_level_that_match_the_simulator(tmp_path):
    busy = Behaviour(mean_patience=40, answer_delay=(1.0, 4.0), no_answer_rate=0.05, mean_talk=60, min_talk=10)
    agents = list(TABLE.agents)[::3]  # 14 of the 42, from every team
    pbx = PbxSimulator(TABLE, speed=SPEED, seed=7, calls_per_hour=1500, behaviour=busy, login_agents=False)
    await pbx.start()
    router = Router(TABLE, Clock(SPEED, start=MONDAY_10AM))
    metrics = Metrics(router)
    router.attach_metrics(metrics)
    port = await metrics.serve("127.0.0.1", 0)
    prom = PrometheusServer(tmp_path, port)
    try:
        router.add_pbx("sim", "127.0.0.1", pbx.port, pbx.username, pbx.secret, reconnect=1.0)
        await router.start()

        async def resynced() -> bool:
            return router.resyncs.get("sim", 0) >= 1
        await until(resynced, 5, poll=0.25, what="the router's first resync")
        for agent in agents:
            pbx.agent_login(agent)

        async def logged_in() -> bool:
            return all(router.engine.agents[a].status.value != "logged_out" for a in agents)
        await until(logged_in, 5, poll=0.25, what="agents logged in")
        await prom.ready()
        await asyncio.sleep(240 / SPEED)  # four simulated minutes of traffic
        await pbx.stop_traffic()
        records = pbx.records
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 300 / SPEED
        while any(r.outcome is None for r in records.values()):
            assert loop.time() < deadline, "calls still undecided"
            await asyncio.sleep(0.05)

        total = len(records)
        finished = ("sum(router_calls_answered_total) + sum(router_calls_abandoned_total)"
                    " + sum(router_calls_overflowed_total or vector(0))")

        async def scraped_all() -> bool:
            return (await prom.query(finished)).get((), 0) == total
        await until(scraped_all, 10, poll=0.25, what=f"Prometheus to see {total} finished calls")

        outcomes = [r.outcome for r in records.values()]
        assert total > 40 and outcomes.count("answered") > total / 3 and outcomes.count("abandoned") > 0
        expected = expected_from_records(records.values())
        assert (await prom.query("sum(router_calls_moved_total or vector(0))"))[()] == 0

        answered = by_queue(await prom.query("router_calls_answered_total"))
        abandoned = by_queue(await prom.query("router_calls_abandoned_total"))
        overflowed = by_queue(await prom.query("sum by (queue) (router_calls_overflowed_total)"))
        offered = by_queue(await prom.query("router_calls_offered_total"))
        met = by_queue(await prom.query('router_queue_sla_met_calls{window="today"}'))
        counted = by_queue(await prom.query('router_queue_sla_counted_calls{window="today"}'))
        level = by_queue(await prom.query('router_queue_service_level_ratio{window="15m"}'))
        targets = {q: TABLE.queues[q].service_level.percent / 100 for q in TABLE.queues}

        async def rules_caught_up() -> bool:  # rules are evaluated apart from scrapes
            gap = by_queue(await prom.query("queue:router_service_level_gap:ratio15m"))
            return gap.keys() == level.keys() and all(
                gap[q] == pytest.approx(level[q] - targets[q]) for q in gap)
        await until(rules_caught_up, 5, poll=0.25, what="the recording rule to follow the service level")
        for queue in TABLE.queues:
            exp = expected.get(queue, {"answered": 0, "abandoned": 0, "overflowed": 0, "either": 0,
                                       "met": [0, 0], "counted": [0, 0]})
            got = (answered.get(queue, 0), abandoned.get(queue, 0), overflowed.get(queue, 0))
            assert got[0] == exp["answered"], queue
            assert got[1] + got[2] == exp["abandoned"] + exp["overflowed"], (queue, got, exp)
            assert exp["abandoned"] - exp["either"] <= got[1] <= exp["abandoned"], (queue, got, exp)
            assert offered[queue] == sum(got), queue
            assert exp["met"][0] <= met[queue] <= exp["met"][1], (queue, met[queue], exp)
            assert exp["counted"][0] <= counted[queue] <= exp["counted"][1], (queue, counted[queue], exp)
            if counted[queue]:
                # The whole run is within 15 minutes: the window holds every call.
                assert level[queue] == pytest.approx(met[queue] / counted[queue]), queue
            else:
                assert queue not in level

        # The histogram's threshold bucket agrees with the records too.
        for queue, exp in expected.items():
            within = TABLE.queues[queue].service_level.within
            bucket = await prom.query(f'router_call_wait_seconds_bucket{{queue="{queue}",outcome="answered",'
                                      f'le="{within:.1f}"}}')
            assert exp["met"][0] <= sum(bucket.values()) <= exp["met"][1], queue

        # Router health as Prometheus saw it, and labels that stay bounded.
        assert await prom.query("router_ami_connected") == {(("pbx", "sim"),): 1.0}
        assert (await prom.query('up{job="router"}'))[()] == 1.0
        names = await asyncio.to_thread(prom.get, "/api/v1/labels", **{"match[]": '{__name__=~"router_.+"}'})
        allowed = {"__name__", "job", "instance", "queue", "skill", "state", "reason", "pbx", "window",
                   "outcome", "action", "le", "hash", "rule"}
        assert set(names["data"]) <= allowed, set(names["data"]) - allowed
        queues = await asyncio.to_thread(prom.get, "/api/v1/label/queue/values")
        assert set(queues["data"]) <= set(TABLE.queues)
        rules = await asyncio.to_thread(prom.get, "/api/v1/label/rule/values")
        assert set(rules["data"]) <= {r.name for r in (*TABLE.rules, TABLE.default)}  # bounded by the config
        assert pbx.ghost_calls == 0 and pbx.double_connects == 0 and pbx.errors == []
    finally:
        prom.stop()
        await router.stop()
        await metrics.stop()
        await pbx.stop()
