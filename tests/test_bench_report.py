"""bench/report.py at its quick size: the generated records add up (the
states tile the sessions) and every timed `router report` run succeeds."""

from __future__ import annotations

import sqlite3

from bench import report as bench_report


def test_the_quick_benchmark_generates_consistent_records_and_runs_each_report(tmp_path, capsys):
    assert bench_report.main(["--quick", "--cache", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "generated" in out and out.count(" wall ") == 6 + 1 and "report_figures(all views, by day)" in out
    (db,) = tmp_path.glob("records-v*-2d-20a-s1.db")
    conn = sqlite3.connect(db)
    states = dict(conn.execute("SELECT agent_id, SUM(duration) FROM agent_states GROUP BY agent_id").fetchall())
    sessions = dict(conn.execute("SELECT agent_id, SUM(duration) FROM agent_sessions GROUP BY agent_id").fetchall())
    assert len(states) == 20 and states.keys() == sessions.keys()
    for agent, seconds in states.items():
        assert abs(seconds - sessions[agent]) < 1e-6, agent
    calls, answered = conn.execute("SELECT COUNT(*), SUM(outcome = 'answered') FROM calls").fetchone()
    offers = conn.execute("SELECT COUNT(*) FROM offers WHERE outcome = 'answered'").fetchone()[0]
    assert calls > 2000 and answered == offers
    conn.close()
