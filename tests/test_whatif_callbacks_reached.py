"""A profile's `callbacks: {reached: N%}`: the share of callback dials that
reach the customer. Read with file:line errors, played by ProfileWorld
(failed dials are retried, then the callback fails, on record), fitted
back from the records by `router traffic fit`, and dumped."""

from __future__ import annotations

import sqlite3
from datetime import date
from zoneinfo import ZoneInfo

from router.config import load_config
from router.records.setup import RecordsSettings
from router.whatif.fit import fit
from router.whatif.profile_dump import dump as dump_profile
from router.whatif.profile_file import parse_profile, read_profile
from router.whatif.records_db import open_records
from router.whatif.run import run_profile
from router.config.errors import Report
from tests.test_cli import ROOT, SAMPLE

PROFILE = ROOT / "examples" / "traffic.yaml"
SH = ZoneInfo("Asia/Shanghai")


def _with(text: str) -> bytes:
    return (PROFILE.read_bytes().decode() + text).encode()


def test_a_bad_share_is_an_error_at_its_line():
    for value, message in (("0%", "more than 0%"), ("120%", "from 0% to 100%"), ("lots", "percentage")):
        report = Report()
        data = _with(f"callbacks:\n  reached: {value}\n")
        assert parse_profile("p.yaml", data, report) is None, value
        lines = data.decode().splitlines()
        problem = report.split()[0][0]
        assert (problem.file, problem.path) == ("p.yaml", "callbacks.reached"), problem
        assert lines[problem.line - 1].strip().startswith("reached:") and message in problem.message, problem
    report = Report()
    data = _with("callbacks:\n  dialled: 50%\n")
    assert parse_profile("p.yaml", data, report) is None
    assert "dialled" in report.split()[0][0].message


def test_unreached_customers_fail_callbacks_on_record_and_the_fit_gets_the_share_back(tmp_path):
    table = load_config(SAMPLE)
    profile, errors = read_profile(PROFILE, table)
    assert errors == [] and profile.callback_reached == 1.0
    report = Report()
    profile = parse_profile(str(PROFILE), _with("callbacks:\n  reached: 60%\n"), report)
    assert profile is not None and profile.callback_reached == 0.6, report.split()
    db = tmp_path / "r.db"
    run_profile(table, profile, start=date(2026, 11, 23), days=2, seed=2, tz=SH,
                records=RecordsSettings(f"sqlite:{db}", None, tmp_path / "spool"))
    rows = sqlite3.connect(db).execute("SELECT outcome, attempts FROM callbacks WHERE attempts > 0").fetchall()
    dials = sum(n for _, n in rows)
    done = sum(1 for o, _ in rows if o == "done")
    assert dials > 100 and {o for o, _ in rows} == {"done", "failed"}
    assert max(n for _, n in rows) == 3  # retried, then given up (router/core/callbacks.py ATTEMPTS)
    # the dials are Bernoulli trials of p = 0.6: the share within 4 standard errors
    assert abs(done / dials - 0.6) <= 4 * (0.6 * 0.4 / dials) ** 0.5, (done, dials)
    fitted, _ = fit(open_records(f"sqlite:{db}"), date(2026, 11, 23), date(2026, 11, 24), table=table)
    assert fitted.callback_reached == round(done / dials, 4)
    text = dump_profile(fitted)
    assert f"callbacks:\n  reached: {100 * fitted.callback_reached:.6g}%" in text
    again = parse_profile("fitted.yaml", text.encode(), Report())
    assert again is not None and abs(again.callback_reached - fitted.callback_reached) < 1e-9
