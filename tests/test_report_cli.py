"""`router report` as a supervisor runs it: the aligned table (Chinese
names), CSV, JSON, the exact messages for bad flags and unreadable
records, and the HTML page rendered by a real headless Chromium."""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
import sqlite3
import subprocess

import pytest

from router.control.view import width
from router.report.html import ABANDON, ASA, SL, TARGET, VOLUME
from tests.support import report_day
from tests.support.png import count_colour, pixels
from tests.support.records import records_db
from tests.test_cli import SAMPLE, run


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    path = tmp_path_factory.mktemp("records") / "records.db"
    records_db(f"sqlite:{path}", report_day.rows())
    return f"sqlite:{path}"


def report(capsys, db, *flags):
    return run(capsys, "report", "--records", db, "--from", "2026-11-23", *flags)


def test_the_table_is_aligned_with_chinese_names(capsys, db):
    code, out, err = report(capsys, db, "--to", "2026-11-24", "--what", "agents", "--config", SAMPLE)
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == "agents 2026-11-23..2026-11-24 by day"
    header, body = lines[1], [line for line in lines[2:] if line]
    assert len(body) == 5  # 1001: day, total; 1002: two days, total
    # every cell of a column starts at the same terminal column, CJK names taking two each
    start = width(header[:header.index("bucket")])
    for line in body:
        found = re.search(r"\d{4}-\d\d-\d\d|total", line)
        assert width(line[:found.start()]) == start, line
        assert width(line) == width(header) or len(line.split()) == len(header.split())
    assert any("张伟" in line and "1:15:00" in line for line in body)
    code, out, _ = report(capsys, db, "--config", SAMPLE, "--queue", "sales")
    assert code == 0 and "销售热线" in out and " 25.0 " in out and "(no targets" not in out
    code, out, _ = report(capsys, db, "--queue", "sales")
    assert "(no targets: the records hold none; give --config CONFIG_DIR to judge SL)" in out


def test_csv_has_the_json_keys_and_seconds(capsys, db):
    code, out, err = report(capsys, db, "--format", "csv", "--by", "hour", "--queue", "sales")
    assert code == 0, err
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [r["bucket"] for r in rows] == ["2026-11-23 08:00", "2026-11-23 09:00", "2026-11-23 10:00",
                                           "2026-11-23 23:00", "total"]
    nine = rows[1]
    assert (nine["offered"], nine["sl_percent"], nine["asa"], nine["target_percent"]) == ("7", "16.7", "21.7", "")
    code, out, _ = report(capsys, db, "--format", "csv", "--agent", "1001")
    agents = list(csv.DictReader(io.StringIO(out)))
    assert agents[0]["paused:lunch"] == "1800.0" and agents[0]["logged_in"] == "4500.0"


def test_json_is_the_figures(capsys, db):
    code, out, err = report(capsys, db, "--format", "json", "--what", "all", "--config", SAMPLE)
    assert code == 0, err
    figures = json.loads(out)
    assert set(figures) == {"from", "to", "by", "queues", "agents", "teams"}
    sales = next(r for r in figures["queues"] if r["queue"] == "sales" and r["bucket"] == "total")
    assert (sales["offered"], sales["sl_percent"], sales["target_met"], sales["title"]) == (10, 25.0, False, "销售热线")
    assert figures["teams"][0]["leader_name"] == "张伟"


@pytest.mark.parametrize("flags, message", [
    (("--to", "2026-11-31"), "--to '2026-11-31' is not a date: give YYYY-MM-DD (the centre's local date)"),
    (("--to", "23/11/2026"), "--to '23/11/2026' is not a date: give YYYY-MM-DD (the centre's local date)"),
    (("--to", "2026-11-22"), "--to 2026-11-22 is before --from 2026-11-23"),
    (("--by", "fortnight"), "--by 'fortnight' must be one of interval15, interval30, hour, day, week, month"),
    (("--format", "xml"), "--format 'xml' must be one of table, csv, json"),
    (("--what", "calls"), "--what 'calls' must be one of queues, agents, teams, all"),
    (("--what", "queues", "--team", "sales"),
     "--team and --agent choose agents: give --what agents, teams or all with them"),
    (("--format", "csv", "--what", "all"), "--format csv writes one view: give --what queues, agents or teams"),
    (("--config", SAMPLE, "--queue", "salse"), f"--queue 'salse': not in {SAMPLE} (known: vip, complaints, "
                                               "sales, support, aftersales, general)"),
    (("--config", SAMPLE, "--agent", "9999"), f"--agent '9999': not in {SAMPLE} (known: 1001, 1002, 1003, 1004, "
                                              "1005, 1006, 1007, 1008, 1009, 1010, ... (42 in all))"),
])
def test_bad_flags_say_what_is_wrong(capsys, db, flags, message):
    code, out, err = report(capsys, db, *flags)
    assert (code, out, err) == (2, "", f"router report: {message}\n")


def test_a_bad_from_date_and_unreadable_records(capsys, db, tmp_path):
    code, _, err = run(capsys, "report", "--records", db, "--from", "2026-02-30")
    assert (code, err) == (2, "router report: --from '2026-02-30' is not a date: give YYYY-MM-DD "
                              "(the centre's local date)\n")
    missing = tmp_path / "nope.db"
    code, _, err = run(capsys, "report", "--records", f"sqlite:{missing}", "--from", "2026-11-23")
    assert (code, err) == (4, f"router report: --records sqlite:{missing}: no such file '{missing}'\n")
    assert not missing.exists()  # read-only: a mistyped path creates nothing
    other = tmp_path / "other.db"
    sqlite3.connect(other).execute("CREATE TABLE calls (x)").connection.close()
    code, _, err = run(capsys, "report", "--records", f"sqlite:{other}", "--from", "2026-11-23")
    assert (code, err) == (4, f"router report: --records sqlite:{other}: not a records database "
                              "(no table offers, callbacks, agent_states)\n")
    code, _, err = run(capsys, "report", "--records", "mysql://x@y/z", "--from", "2026-11-23")
    assert code == 4 and "only sqlite:PATH and postgresql://USER@HOST[:PORT]/DB are supported" in err


def test_the_page_renders_its_charts_in_chromium(capsys, db, tmp_path):
    page = tmp_path / "report.html"
    code, out, err = report(capsys, db, "--by", "hour", "--config", SAMPLE, "--html", str(page))
    assert code == 0, err
    assert f"report page written to {page}" in err
    text = page.read_text(encoding="utf-8")
    assert "<script" not in text and "http://" not in text.replace('xmlns="http://www.w3.org/2000/svg"', "")
    binary = shutil.which("chromium")
    assert binary, "chromium is missing: scripts/test.sh installs it (Debian package chromium)"
    shot = tmp_path / "shot.png"
    done = subprocess.run([binary, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                           "--no-first-run", f"--user-data-dir={tmp_path / 'chromium'}", "--hide-scrollbars",
                           "--window-size=1100,1300", f"--screenshot={shot}", page.as_uri()],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    _, _, rows = pixels(shot.read_bytes())
    # sales had calls in 4 hours: 4 volume bars, 2 ASA bars (09:00, 23:00 had answers), 1 abandon bar (09:00)
    assert text.count('data-kind="volume"') == text.count('data-kind="asa"') == 1
    assert text.count('class="bar"') == 4 + 2 + 1
    for colour, least in ((VOLUME, 4 * 200), (ASA, 2 * 200), (ABANDON, 200), (TARGET, 300), (SL, 50)):
        assert count_colour(rows, colour) >= least, colour
    # the agent table is there, with its figures
    assert "张伟" in text and "1:15:00" in text
