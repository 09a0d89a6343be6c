"""`router simulate --traffic`, `--compare` and the staffing plan (issue 18),
as an admin runs them, and the comparison's statistics."""

from __future__ import annotations

import csv
import math
from dataclasses import replace
from datetime import date
from zoneinfo import ZoneInfo

from router.config import load_config
from router.core.erlang import required_agents
from router.whatif.compare import compare, mean_ci
from router.whatif.profile_file import read_profile
from router.whatif.run import run_profile
from tests.test_cli import ROOT, SAMPLE, run

PROFILE = str(ROOT / "examples" / "traffic.yaml")


def test_a_profiled_day_with_its_staffing_plan_as_table_and_csv(capsys, tmp_path):
    plan = tmp_path / "plan.csv"
    code, out, err = run(capsys, "simulate", SAMPLE, "--traffic", PROFILE, "--day", "mon", "--staffing",
                         "--csv", str(plan))
    assert code == 0, err
    assert out.startswith("simulating " + PROFILE + ", Mon 2026-11-23, seed 1\n")
    assert "occupancy" in out.splitlines()[1]
    assert f"staffing plan written to {plan}" in out
    with open(plan, encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    sales = {r["interval"]: r for r in rows if r["queue"] == "sales"}
    # 36 sales calls per half hour from 10:00 (32 + 4 in Cantonese); handle time
    # 180 s talk + 20 s after-call work (longer than the queue's 15 s) + 4 s answer.
    row = sales["10:00-10:30"]
    assert (row["calls"], row["aht_s"]) == ("36", "204.0")
    assert int(row["required"]) == required_agents(36 / 1800, 204.0, 0.8, 20.0) == 7
    assert int(row["simulated_calls"]) > 0 and 0 <= float(row["simulated_sl"]) <= 100
    assert "03:00-03:30" not in sales  # sales is closed at night and nobody is rostered for it
    assert any(line.startswith("10:00-10:30 sales ") for line in out.splitlines())


def test_a_broken_profile_is_rejected_with_its_place(capsys, tmp_path):
    bad = tmp_path / "traffic.yaml"
    bad.write_text('traffic:\n  calls:\n    a: {arrivals: {mon: {"09:00-09:30": -3}}}\n', encoding="utf-8")
    code, out, err = run(capsys, "simulate", SAMPLE, "--traffic", str(bad))
    assert code == 1 and out == ""
    assert f"{bad}:3:41: traffic.calls.a.arrivals.mon.09:00-09:30: '-3' is not a number of calls" in err
    assert f"{bad}: 1 error(s); traffic profile rejected" in err


def test_usage_errors(capsys):
    for argv, message in [
        (["simulate", SAMPLE, "--compare", SAMPLE, SAMPLE], "give either CONFIG_DIR or --compare"),
        (["simulate", SAMPLE, "--staffing"], "--staffing, --csv and --html need --traffic PROFILE"),
        (["simulate", SAMPLE, "--traffic", PROFILE, "--day", "funday"], "--day 'funday' must be one of mon"),
        (["simulate", "--compare", SAMPLE, SAMPLE, "--seeds", "1"], "--seeds must be at least 2"),
        (["simulate", SAMPLE, "--traffic", PROFILE, "--day", "week", "--csv", "x.csv"], "plan one day"),
        (["simulate"], "give CONFIG_DIR (or --compare CONFIG_A CONFIG_B)"),
        (["simulate", SAMPLE, "--traffic", PROFILE, "--agents", "5"], "the profile's roster says who logs in"),
        (["simulate", "--compare", SAMPLE, SAMPLE, "--enforcement", "off"], "--enforcement off is for plain runs"),
        (["simulate", SAMPLE, "--traffic", PROFILE, "--days", "0"], "--days 0: give 1 to 28 days"),
        (["simulate", SAMPLE, "--traffic", PROFILE, "--days", "29"], "--days 29: give 1 to 28 days"),
        (["simulate", SAMPLE, "--traffic", PROFILE, "--day", "week", "--days", "3"], "--day week is --day mon --days 7"),
        (["simulate", SAMPLE, "--days", "3"], "--days is for --traffic PROFILE"),
        (["simulate", "--compare", SAMPLE, SAMPLE, "--days", "3"], "--days is for --traffic PROFILE"),
        (["simulate", "--compare", SAMPLE, SAMPLE, "--traffic", PROFILE, "--records", "sqlite:/tmp/x.db"],
         "--records puts one run on record"),
        (["simulate", SAMPLE, "--traffic", PROFILE, "--days", "2", "--staffing"], "plan one day"),
        (["simulate", SAMPLE, "--traffic", PROFILE, "--seeds", "3"], "--seeds is for --compare and --replay"),
        (["simulate", SAMPLE, "--seeds", "3"], "--seeds is for --compare and --replay"),
    ]:
        code, _, err = run(capsys, *argv)
        assert code == 2 and message in err, (argv, err)


def test_the_same_config_twice_differs_by_exactly_nothing(capsys):
    # Same seed, same config: the very same run, so every paired difference
    # is 0 with a zero-width interval.
    code, out, err = run(capsys, "simulate", "--compare", SAMPLE, SAMPLE, "--duration", "30m", "--seeds", "2")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].startswith("comparing on 450 calls/h for 1800s") and "seeds 1-2" in lines[0]
    body = [line for line in lines[3:] if line.strip()]
    assert len(body) == 6 * 4
    for line in body:
        diff = line[-14:].strip()
        assert diff in ("+0.0% ±0.0", "+0.0s ±0.0", "-"), line


def test_fewer_agents_are_seen_as_worse_with_an_interval_that_excludes_zero():
    table = load_config(SAMPLE)
    fewer = replace(table, agents={k: a for k, a in table.agents.items() if int(k) % 3})  # a third gone

    profile, _ = read_profile(PROFILE, table)

    def morning(t):  # Monday until 11:00, the profile's own traffic and roster
        return lambda seed: run_profile(t, profile, start=date(2026, 11, 23), days=1, seed=seed,
                                        tz=ZoneInfo("Asia/Shanghai"), hours=11)

    result = compare(morning(table), morning(fewer), [1, 2, 3])
    ma, _, mb, _, diff, half = result["general"]["SL"]
    assert diff == mb - ma or math.isclose(diff, mb - ma)
    assert diff + half < 0, result["general"]["SL"]  # B is worse, and surely so
    occ_a, _, occ_b, _, d_occ, h_occ = result["general"]["occupancy"]
    assert d_occ - h_occ > 0  # the agents left work harder


def test_mean_ci_is_the_student_interval():
    mean, half = mean_ci([1.0, 2.0, 3.0, math.nan])
    assert mean == 2.0 and math.isclose(half, 4.303 * 1.0 / math.sqrt(3))
    assert math.isnan(mean_ci([5.0])[1]) and math.isnan(mean_ci([])[0])
