"""Smoke run of the benchmark harness at tiny sizes: it runs end to end
(engine alone, daemon + simulator over loopback TCP, throughput, memory,
resync) and its report has every section with figures in it. No timing is
asserted: speed figures come from `python -m bench`, not from tests."""

from __future__ import annotations

import math

from bench.__main__ import QUICK, main, report, run


def _finite(x) -> bool:
    return isinstance(x, (int, float)) and math.isfinite(x)


def test_quick_run_produces_every_section(tmp_path):
    results = run(QUICK, log=lambda s: None)
    assert [(e["agents"], e["waiting"]) for e in results["engine"]] == QUICK["grid"]
    for e in results["engine"]:
        assert e["events"]["count"] > 0 and e["decisions"]["count"] > 0
        assert e["decisions"]["p50"] <= e["decisions"]["p99"] <= e["decisions"]["max"]
    (tcp,) = results["tcp"]
    assert "error" not in tcp, tcp
    assert tcp["latency"]["count"] > 0 and _finite(tcp["latency"]["p99"])
    assert tcp["sim_errors"] == 0
    assert tcp["full_gc"] >= 0 and _finite(tcp["full_gc_max_ms"])
    (on_record,) = results["tcp_records"]  # the same, records on
    assert "error" not in on_record, on_record
    assert on_record["latency"]["count"] > 0 and on_record["record_rows"] > 0
    t = results["throughput"]
    assert t["events"] > 100 and _finite(t["ratio"]) and t["routed_events_per_s"] > 0
    m = results["memory"]
    assert m["agent_bytes_traced"] > 0 and m["call_bytes_traced"] > 0
    assert len(results["long_run"]["rss_mb"]) >= 2
    assert results["resync"]["calls_found"] == QUICK["resync"][1]
    text = report(results, "python -m bench --quick")
    for heading in ("Decision latency over loopback TCP", "Engine alone", "Throughput", "Memory", "Resync",
                    "app_queue", "full GCs (longest)", "records on (SQLite)"):
        assert heading in text


def test_command_writes_the_report_and_keeps_the_change_log(tmp_path, capsys):
    out = tmp_path / "RESULTS.md"
    out.write_text("old figures\n## Changes\n- kept\n", encoding="utf-8")
    assert main(["--quick", "--out", str(out)]) == 0
    text = out.read_text(encoding="utf-8")
    assert text.startswith("# Benchmark results") and "old figures" not in text
    assert text.rstrip().endswith("- kept")
    assert "| router: 20 agents" in capsys.readouterr().out


def test_without_postgresql_binaries_the_row_says_why(monkeypatch):
    import bench.__main__ as bench_main

    monkeypatch.setattr(bench_main, "postgres_missing", lambda: "PostgreSQL's initdb is missing")
    said: list[str] = []
    row = bench_main._tcp_records(20, 5, "postgres", 1.0, said.append)
    assert row == {"agents": 20, "waiting_target": 5, "backend": "postgres", "error": "PostgreSQL's initdb is missing"}
    assert said == ["records on PostgreSQL: not measured: PostgreSQL's initdb is missing"]
    text = report({"tcp": [], "tcp_records": [row], "engine": [], "throughput": {"events": 0, "bytes": 0,
                   "baseline_events_per_s": 0, "routed_events_per_s": 0, "ratio": 0},
                   "memory": {"agents": 0, "waiting": 0, "agent_bytes_traced": 0, "agent_bytes_rss": 0,
                              "call_bytes_traced": 0, "call_bytes_rss": 0},
                   "long_run": {"agents": 0, "waiting": 0, "sim_minutes": 0, "calls": 0, "rss_mb": [], "growth_mb": 0},
                   "resync": {"agents": 0, "channels": 0, "calls_found": 0, "seconds": 0}}, "python -m bench")
    assert "| router: 20 agents, records on (PostgreSQL)" in text and "NOT MEASURED: PostgreSQL's initdb" in text
