"""A few seconds of bench/soak.py (the week-long soak is run by hand; see
README "Soak"): the table is printed, nothing leaks in that short a run."""

from __future__ import annotations

import importlib.util
import io
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_soak_smoke_run_prints_the_table_and_ends_clean():
    spec = importlib.util.spec_from_file_location("soak", ROOT / "bench" / "soak.py")
    soak = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(soak)
    out = io.StringIO()
    assert soak.main(["--days", "0.01", "--report", "5m", "--speed", "300"], out=out) == 0
    lines = out.getvalue().splitlines()
    rows = [line.split() for line in lines if line.split() and line.split()[0] in ("start", "5m", "10m", "end")]
    assert [r[0] for r in rows] == ["start", "5m", "10m", "end"]
    start, end = rows[0], rows[-1]
    assert float(start[2]) > 0 and float(end[2]) > 0  # RSS in MB
    # asyncio tasks: back to the start's handful. One or two may be in flight
    # at the instant of the reading (an AMI action being sent); a leak adds
    # one per call or per action, hundreds in this run.
    assert int(end[3]) <= int(start[3]) + 2
    assert int(end[4]) > 50  # calls finished
    assert "ghost calls 0 " in out.getvalue() and "double connects 0" in out.getvalue()
    assert "simulator errors 0" in out.getvalue()
