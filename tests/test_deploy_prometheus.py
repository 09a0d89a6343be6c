"""deploy/prometheus (rules checked and unit-tested by promtool) and
deploy/grafana (the dashboard imports as is and queries only metrics the
router exports)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from prometheus_client import CollectorRegistry

from router.config import load_config
from router.core import events as ev
from router.core import facts as f
from router.runtime.daemon import Clock, Router
from router.metrics import Metrics

ROOT = Path(__file__).resolve().parent.parent
PROM = ROOT / "deploy/prometheus"
DASHBOARD = ROOT / "deploy/grafana/router.json"


def promtool(*args: str) -> str:
    binary = shutil.which("promtool")
    assert binary, "promtool is missing: scripts/test.sh installs it (Debian package prometheus)"
    done = subprocess.run([binary, *args], cwd=PROM, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout + done.stderr


def test_rules_pass_promtool_check():
    assert "SUCCESS: 15 rules found" in promtool("check", "rules", "router.rules.yml")


def test_example_prometheus_config_passes_promtool_check():
    assert "is valid prometheus config file syntax" in promtool("check", "config", "prometheus.yml")


def test_rules_pass_their_promtool_unit_tests():
    assert "SUCCESS" in promtool("test", "rules", "tests.yml")


def test_promtool_unit_tests_can_fail(tmp_path):
    # The same tests against rules whose SL alert never fires must fail.
    rules = (PROM / "router.rules.yml").read_text().replace("ratio15m < 0", "ratio15m < -2")
    (tmp_path / "router.rules.yml").write_text(rules)
    shutil.copy(PROM / "tests.yml", tmp_path / "tests.yml")
    done = subprocess.run([shutil.which("promtool"), "test", "rules", "tests.yml"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode != 0 and "RouterServiceLevelBelowTarget" in done.stdout + done.stderr


# ------------------------------------------------------------------ Grafana

PROMQL_WORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "and", "or", "unless",
                "offset", "bool", "inf", "nan"}


def metric_names(expr: str) -> set[str]:
    """Metric names in a PromQL expression: identifiers that are not
    functions, keywords, label names or label values."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)         # strings
    text = re.sub(r"\{[^}]*\}", "", text)                     # label matchers
    text = re.sub(r"\[[^\]]*\]", "", text)                    # ranges
    text = re.sub(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", text)
    names = set()
    for match in re.finditer(r"[A-Za-z_:][A-Za-z0-9_:]*", text):
        word = match.group(0)
        following = text[match.end():].lstrip()[:1]
        if word.lower() in PROMQL_WORDS or following == "(" or re.fullmatch(r"\d", word[:1]):
            continue
        names.add(word)
    return names


def test_metric_names_are_found_in_promql():
    expr = ('histogram_quantile(0.9, sum by (queue, le) (rate(router_call_wait_seconds_bucket'
            '{queue=~"$queue",outcome="answered"}[15m]))) - ignoring(window) group_left x:y:z / 60')
    assert metric_names(expr) == {"router_call_wait_seconds_bucket", "x:y:z"}


def exported_names(registry: CollectorRegistry) -> set[str]:
    """Every series name the registry exports, including those of labelled
    metrics that have no sample yet (named as exposition would name them)."""
    suffixes = {"counter": ("_total",), "histogram": ("_bucket", "_count", "_sum"), "info": ("_info",),
                "gauge": ("",), "summary": ("_count", "_sum", "")}
    names = set()
    for family in registry.collect():
        names |= {s.name for s in family.samples}
        names |= {family.name + suffix for suffix in suffixes.get(family.type, ("",))}
    return names


@pytest.fixture(scope="module")
def router_names(tmp_path_factory) -> set[str]:
    """Names collected after a short run of the engine with the sample
    config, with a records writer (router/records/) on the same registry."""
    from router.records.writer import RecordWriter

    table = load_config(ROOT / "config")
    router = Router(table, Clock(1.0, start=1_800_000_000.0))
    metrics = Metrics(router, registry=CollectorRegistry())
    RecordWriter(lambda: None, tmp_path_factory.mktemp("records") / "spool", registry=metrics.registry)
    router.attach_metrics(metrics)
    for agent in list(table.agents)[:3]:
        router.engine.handle(ev.AgentLogin(agent), router.clock.now())
    for fact in (f.CallAnswered("c1", "sales", "a1", 3.0), f.CallAbandoned("c2", "sales", 3.0),
                 f.CallOverflowed("c3", "sales", 3.0, "no-answer", ""), f.OfferFailed("c4", "a1", "no-answer")):
        metrics.observe(fact, 0.0)
    return exported_names(metrics.registry)


def recorded_names() -> set[str]:
    rules = yaml.safe_load((PROM / "router.rules.yml").read_text())
    return {r["record"] for g in rules["groups"] for r in g["rules"] if "record" in r}


def dashboard_exprs(dash: dict) -> list[str]:
    exprs = [t["expr"] for p in dash["panels"] for t in p.get("targets", [])]
    # Grafana's label_values(SELECTOR, LABEL): only SELECTOR is PromQL.
    exprs += [re.sub(r"^label_values\((.*),\s*\w+\)$", r"\1", v["query"]["query"])
              for v in dash["templating"]["list"] if v["type"] == "query"]
    return exprs


def test_dashboard_imports_as_is_with_a_datasource_input():
    dash = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    assert [i["name"] for i in dash["__inputs"]] == ["DS_PROMETHEUS"]
    assert dash["__inputs"][0]["pluginId"] == "prometheus" and dash["id"] is None and dash["uid"]
    ids = [p["id"] for p in dash["panels"]]
    assert len(ids) == len(set(ids))
    for panel in dash["panels"]:
        if panel["type"] == "row":
            continue
        assert panel["datasource"]["uid"] == "${DS_PROMETHEUS}", panel["title"]
        assert panel["targets"] and all(t["datasource"]["uid"] == "${DS_PROMETHEUS}" for t in panel["targets"])
        pos = panel["gridPos"]
        assert pos["x"] + pos["w"] <= 24, panel["title"]
    titles = " ".join(p["title"] for p in dash["panels"] if p["type"] == "row")
    for section in ("Queues at a glance", "Service level", "Waits", "Agents", "Enforcement", "Router health"):
        assert section in titles


def test_every_metric_the_dashboard_queries_is_exported(router_names):
    dash = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    known = router_names | recorded_names()
    used = set().union(*(metric_names(e) for e in dashboard_exprs(dash)))
    assert len(used) > 20
    assert used <= known, sorted(used - known)
    # The metrics the issue asks the dashboard to show are among them.
    for name in ("router_queue_service_level_ratio", "router_queue_calls_waiting", "router_agents",
                 "router_enforcement_actions_total", "router_ami_connected", "router_queue_longest_wait_seconds"):
        assert name in used, name


def test_every_metric_the_rules_use_is_exported(router_names):
    rules = yaml.safe_load((PROM / "router.rules.yml").read_text())
    used = set().union(*(metric_names(r["expr"]) for g in rules["groups"] for r in g["rules"]))
    assert used - {"up"} <= router_names | recorded_names(), sorted(used - router_names - recorded_names())
