"""The staffing chart (`router simulate ... --html`) opened in a real
headless Chromium: the page's script draws one SVG chart per queue with
calls, a bar per interval with calls and a line of rostered agents, and
marks the body with what it drew and the laid-out width (so a page whose
script failed, or that drew nothing, fails here)."""

from __future__ import annotations

import csv
import re
import shutil
import subprocess

from tests.test_cli import SAMPLE, run
from tests.test_whatif_cli import PROFILE


def chromium_dom(page, profile_dir) -> str:
    binary = shutil.which("chromium")
    assert binary, "chromium is missing: scripts/test.sh installs it (Debian package chromium)"
    done = subprocess.run([binary, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                           "--no-first-run", f"--user-data-dir={profile_dir}", "--dump-dom", page.as_uri()],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def test_the_chart_renders_every_queue_and_interval_in_chromium(capsys, tmp_path):
    page, plan = tmp_path / "plan.html", tmp_path / "plan.csv"
    code, out, err = run(capsys, "simulate", SAMPLE, "--traffic", PROFILE, "--day", "mon",
                         "--html", str(page), "--csv", str(plan))
    assert code == 0, err
    assert f"staffing chart written to {page}" in out
    with open(plan, encoding="utf-8", newline="") as handle:
        rows = [r for r in csv.DictReader(handle) if float(r["calls"]) > 0]
    queues = {r["queue"] for r in rows}
    dom = chromium_dom(page, tmp_path / "chromium")
    found = re.search(r'data-rendered="queues=(\d+) bars=(\d+) width=(\d+)"', dom)
    assert found, dom[:2000]
    assert int(found[1]) == len(queues) == 6
    assert int(found[2]) == len(rows) == dom.count('class="need"')
    assert int(found[3]) == 6 * 960  # laid out at full width
    assert dom.count('class="have"') == 6 and "need 7, have 5" in dom  # sales at 10:00 (see the CSV test)
