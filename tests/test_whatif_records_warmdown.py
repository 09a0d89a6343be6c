"""`router simulate --traffic ... --records` (run_profile with records): the
figures are the run's own, the same as without records (same seed), and
every call offered in the run is on record with its outcome, the ones still
in progress at the end included (the warm-down of router/sim/recorded.py)."""

from __future__ import annotations

import re
import sqlite3
from datetime import date, datetime
from zoneinfo import ZoneInfo

from router.config import load_config
from router.records.setup import RecordsSettings
from router.whatif.profile_file import read_profile
from router.whatif.run import run_profile
from tests.test_cli import ROOT, SAMPLE

PROFILE = ROOT / "examples" / "traffic.yaml"
SH = ZoneInfo("Asia/Shanghai")


def test_a_profiled_run_on_record_holds_every_call_it_offered_and_keeps_its_figures(tmp_path, capsys):
    table = load_config(SAMPLE)
    profile, errors = read_profile(PROFILE, table)
    assert errors == []
    # 11:00 on a Monday: the run ends at the busy hour, with calls waiting and talking
    args = dict(start=date(2026, 11, 23), days=1, seed=4, tz=SH, hours=11.0)
    plain = run_profile(table, profile, **args)
    db = tmp_path / "r.db"
    recorded = run_profile(table, profile, **args,
                           records=RecordsSettings(f"sqlite:{db}", None, tmp_path / "spool"))
    out = capsys.readouterr().out
    def figures(outcome):  # NaN (nothing measured) as None, so that equal runs compare equal
        return {q: {k: None if v != v else v for k, v in outcome.metrics(q).items()} for q in table.queues}
    assert figures(recorded) == figures(plain)
    assert any(f["offered"] for f in figures(plain).values())
    offered = int(re.search(r"records: (\d+) calls offered", out).group(1))
    assert "every one on record" in out, out
    in_progress = int(re.search(r"the (\d+) in progress", out).group(1))
    assert in_progress > 0  # the end fell with calls open: the warm-down had work to do
    rows = sqlite3.connect(db).execute(
        "SELECT COUNT(*), SUM(outcome IS NULL), SUM(reason = 'incomplete') FROM calls WHERE kind = 'inbound'"
    ).fetchone()
    assert rows == (offered, 0, 0), (rows, offered)
    # the run's figures count a call at its outcome: the ones still waiting at the end are not in them
    decided = sum(r.offered for r in plain.tally.queues.values())
    assert decided <= offered <= decided + in_progress


def test_evening_callbacks_of_a_profiled_day_are_made_by_the_next_mornings_roster(tmp_path, capsys):
    """The sample's complaints queue promises callbacks in the evening,
    parked until it opens the next morning: the warm-down puts the day
    after on duty (ProfileWorld.roster_after), and the records keep a
    callback open through the night (no "incomplete" after 6 silent hours)."""
    table = load_config(SAMPLE)
    profile, errors = read_profile(PROFILE, table)
    assert errors == []
    db = tmp_path / "r.db"
    run_profile(table, profile, start=date(2026, 11, 23), days=1, seed=1, tz=SH,
                records=RecordsSettings(f"sqlite:{db}", None, tmp_path / "spool"))
    out = capsys.readouterr().out
    parked = int(re.search(r"the (\d+) callbacks parked", out).group(1))
    assert parked > 0 and "every one on record" in out, out
    conn = sqlite3.connect(db)
    outcomes = dict(conn.execute("SELECT outcome || '/' || reason, COUNT(*) FROM callbacks GROUP BY 1"))
    assert set(outcomes) == {"done/"}, outcomes
    promised = conn.execute("SELECT COUNT(*) FROM calls WHERE outcome = 'callback'").fetchone()[0]
    assert outcomes["done/"] == promised
    made_next_day = conn.execute("SELECT COUNT(*) FROM callbacks WHERE local_date = '2026-11-23' "
                                 "AND finished_at >= ?", (datetime(2026, 11, 24, tzinfo=SH).timestamp(),)
                                 ).fetchone()[0]
    assert made_next_day >= parked
