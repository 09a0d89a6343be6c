"""Traffic profiles (issue 18): read as strictly as the config, every
problem as file:line:col: key.path: message, and what they mean."""

from __future__ import annotations

import math
import random
from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo

from router.config import load_config
from router.whatif.profile import Dist, Roster
from router.whatif.profile_file import read_profile
from router.whatif.world import ProfileWorld

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "examples" / "traffic.yaml"
TABLE = load_config(ROOT / "config")


def errors_of(tmp_path, text: str, table=TABLE) -> list[str]:
    path = tmp_path / "traffic.yaml"
    path.write_text(text, encoding="utf-8")
    profile, errors = read_profile(path, table)
    assert (profile is None) == bool(errors)
    return [str(e).replace(str(path), "P") for e in errors]


def test_the_sample_profile_reads_and_matches_the_sample_config():
    profile, errors = read_profile(SAMPLE, TABLE)
    assert errors == []
    assert profile.interval == 1800 and profile.intervals == 48
    names = [c.name for c in profile.calls]
    assert "sales" in names and "vip" in names
    sales = profile.calls[names.index("sales")]
    # mon-fri "10:00-12:00": 32 calls per half hour; nothing on Sunday.
    assert sales.arrivals[0][20] == 32 and sales.arrivals[4][23] == 32 and sum(sales.arrivals[6]) == 0
    assert sales.talk == Dist("lognormal", 180.0, 120.0) and sales.patience == Dist("exponential", 120.0)
    assert profile.no_answer == 0.03
    roster = Roster.of(profile, TABLE, 0)
    assert roster.on_duty("1001", 9 * 3600) and not roster.on_duty("1001", 12 * 3600)  # lunch
    assert not roster.on_duty("1001", 18 * 3600) and roster.on_duty("1028", 9 * 3600)  # team care
    assert not Roster.of(profile, TABLE, 6).on_duty("1001", 9 * 3600)  # not on Sundays


def test_every_mistake_is_reported_with_its_place_and_key_path(tmp_path):
    found = errors_of(tmp_path, """\
traffic:
  interval: 20m
  defaults:
    talk: {dist: lognormal, mean: 3m}
    patience: {dist: exponentiel, mean: 2m}
  calls:
    sales:
      dnis: "4008001000"
      arrivals:
        mon-fri: {"08:30-09:00": 20, "08:45-09:30": 5}
        funday: {"09:00-10:00": 3}
      colour: blue
    support:
      arrivals:
        mon: {"09:00-09:30": lots}
agents:
  no_answer: 150%
roster:
  - agents: ["9999"]
    days: mon
    shift: 09:00-17:00
    breaks: ["18:00-18:30"]
  - team: nobody
    days: mon
    shift: 09:00-17:00
  - days: mon
    shift: 09:00-17:00
""")
    assert found == [
        "P:2:13: traffic.interval: '20m' is not one of 15m, 30m, 1h; did you mean '30m'?",
        "P:4:11: traffic.defaults.talk: a lognormal distribution needs 'sd'",
        "P:5:22: traffic.defaults.patience.dist: 'exponentiel' is not one of exponential, lognormal, "
        "empirical, fixed, never; did you mean 'exponential'?",
        "P:10:38: traffic.calls.sales.arrivals.mon-fri.08:45-09:30: '08:45-09:30' does not start and end "
        "on a 30-minute interval boundary",
        "P:11:9: traffic.calls.sales.arrivals.funday: 'funday' is not a day; write mon, tue, wed, thu, fri, "
        "sat or sun",
        "P:12:7: traffic.calls.sales.colour: unknown key 'colour'; expected one of: dnis, caller, vars, "
        "arrivals, talk, wrapup, patience",
        "P:15:30: traffic.calls.support.arrivals.mon.09:00-09:30: 'lots' is not a number of calls; "
        "write e.g. 12 or 12.5",
        "P:17:14: agents.no_answer: '150%' is not percentage points from 0% to 100%; write e.g. 5%",
        "P:22:14: roster[1].breaks[1]: break '18:00-18:30' is not inside the shift",
        "P:26:5: roster[3]: give exactly one of 'agents', 'team' or 'everyone: true'",
    ]
    # and against the config: unknown agents and teams
    roster_only = errors_of(tmp_path, """\
traffic:
  calls:
    any: {arrivals: {mon: {"09:00-09:30": 1}}}
roster:
  - agents: ["9999"]
    days: mon
    shift: 09:00-17:00
  - team: nobody
    days: mon
    shift: 09:00-17:00
""")
    assert roster_only == ["P:5:5: roster[1].agents: agent '9999' is not in the config",
                           "P:8:5: roster[2].team: team 'nobody' is not in the config"]


def test_overlapping_periods_and_bad_yaml_are_refused(tmp_path):
    assert errors_of(tmp_path, 'traffic:\n  calls:\n    a:\n      arrivals:\n        mon-fri: {"09:00-10:00": 1}\n'
                               '        fri: {"09:30-10:30": 2}\n') == [
        "P:6:15: traffic.calls.a.arrivals.fri.09:30-10:30: '09:30-10:30' overlaps mon-fri 09:00-10:00 "
        "for the same day"]
    assert errors_of(tmp_path, "traffic:\n  calls: {}\ntraffic: {}\n")[0].startswith("P:3:1: ")
    assert errors_of(tmp_path, "trafic:\n  calls: {}\n") == [
        "P:1:1: missing required key 'traffic'",
        "P:1:1: trafic: unknown key 'trafic'; did you mean 'traffic'?"]


def test_distributions_have_the_means_they_claim():
    rng = random.Random(3)
    for dist in (Dist("exponential", 150.0), Dist("lognormal", 180.0, 120.0), Dist("empirical", 0, 0, (30.0, 90.0)),
                 Dist("fixed", 20.0)):
        draws = [dist.sample(rng) for _ in range(40_000)]
        assert abs(sum(draws) / len(draws) - dist.average()) < 0.03 * dist.average()
    lognormal = [Dist("lognormal", 180.0, 120.0).sample(rng) for _ in range(40_000)]
    sd = math.sqrt(sum((x - 180) ** 2 for x in lognormal) / len(lognormal))
    assert abs(sd - 120) < 0.08 * 120
    assert Dist("never").sample(rng) == math.inf


def test_arrivals_follow_the_profile_per_interval_and_weekday():
    profile, _ = read_profile(SAMPLE, TABLE)
    world = ProfileWorld(TABLE, random.Random(1), profile, date(2026, 11, 23), 7, ZoneInfo("Asia/Shanghai"))
    counts = [[0] * 48 for _ in range(7)]
    t = world.day0
    while (t := world.next_arrival(t)) is not None:
        day = int((t - world.day0) // 86400)
        counts[day][int((t - world.day0 - day * 86400) // 1800)] += 1
    expected_mon = [sum(c.arrivals[0][i] for c in profile.calls) for i in range(48)]
    assert sum(counts[0]) > 0.9 * sum(expected_mon)
    assert 0 < sum(counts[0][:16]) < 40  # the night, 00:00-08:00: one VIP call per half hour
    # the busiest interval of the profile is busy in the draw too, and Sunday is quiet
    busiest = max(range(48), key=expected_mon.__getitem__)
    assert counts[0][busiest] > 0.75 * expected_mon[busiest]
    assert sum(counts[6]) < 0.2 * sum(counts[0])
    assert abs(sum(map(sum, counts)) - sum(profile.offered(w) for w in range(7))) < \
        4 * math.sqrt(sum(profile.offered(w) for w in range(7)))


def test_a_dumped_profile_reads_back_the_same(tmp_path):
    # What a fit from call records will do: build a Profile, write it out.
    from dataclasses import replace

    from router.whatif.profile_dump import dump

    profile, _ = read_profile(SAMPLE, TABLE)
    path = tmp_path / "fitted.yaml"
    path.write_text(dump(profile), encoding="utf-8")
    again, errors = read_profile(path, TABLE)
    assert errors == []

    def plain(p):
        return replace(p, source="", roster=tuple(replace(s, where=None) for s in p.roster))

    assert plain(again) == plain(profile)
    fitted = replace(profile, calls=(replace(profile.calls[0], arrivals=((12.345,) * 48,) * 7),), roster=None)
    path.write_text(dump(fitted), encoding="utf-8")
    back, errors = read_profile(path, TABLE)
    assert errors == [] and back.calls[0].arrivals[3][17] == 12.345 and back.roster is None
