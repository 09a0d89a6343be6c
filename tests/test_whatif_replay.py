"""`router simulate CONFIG --replay URL --date DATE` (router/whatif/replay.py,
replay_run.py) on records written the real way: a simulated Monday of the
sample config and examples/traffic.yaml, its facts through the records
assembler (router/records/assemble.py) into SQLite (bench/record_day.py). Then the fit of that day
(`router traffic fit`) played again: records -> profile -> simulation.

Tolerances are binomial standard deviations of the counts compared (4 of
them), from the day's own numbers.
"""

from __future__ import annotations

import math
import re
from datetime import date
from zoneinfo import ZoneInfo

import pytest

from router.config import load_config
from bench.record_day import record_days
from router.records.localtime import zone_of
from router.whatif.profile_file import read_profile
from router.whatif.records_db import open_records
from router.whatif.replay import load_day
from router.whatif.replay_run import Figures, recorded, replay
from router.whatif.run import run_profile
from tests.test_cli import ROOT, SAMPLE, run

MONDAY = date(2026, 11, 23)
SH = ZoneInfo("Asia/Shanghai")


@pytest.fixture(scope="module")
def day_records(tmp_path_factory):
    table = load_config(SAMPLE)
    profile, errors = read_profile(ROOT / "examples" / "traffic.yaml", table)
    assert errors == []
    url = f"sqlite:{tmp_path_factory.mktemp('replay') / 'records.db'}"
    record_days(table, profile, MONDAY, 1, url, seed=11, tz=SH)
    return url, table


def _fewer_agents(tmp_path) -> str:
    """The sample config without sales agents 1002-1007 and service agents 1015-1020."""
    out = tmp_path / "fewer"
    out.mkdir()
    for source in (ROOT / "config").glob("*.yaml"):
        text = source.read_text(encoding="utf-8")
        if source.name == "agents.yaml":
            gone = [f"10{n:02d}" for n in (*range(2, 8), *range(15, 21))]
            text = re.sub(r'  - id: "(%s)"\n(?:    .*\n)+' % "|".join(gone), "", text)
        (out / source.name).write_text(text, encoding="utf-8")
    return str(out)


def test_the_same_config_gives_back_the_recorded_day(day_records):
    url, table = day_records
    engine = open_records(url)
    day = load_day(engine, MONDAY, zone_of(table))
    before = recorded(engine, day)
    engine.dispose()
    after, world = replay(table, day, seed=1)
    assert world.skipped == []
    assert len(day.calls) > 2000 and len(day.sessions) == 42
    assert sum(f.offered for f in after.values()) == sum(f.offered for f in before.values()) == len(day.calls)
    for queue, rec in before.items():
        sim = after[queue]
        # the replay redraws the patience of the answered callers and the
        # agents' answering: what varies is who of them is answered
        p = 1 - rec.answered / rec.offered
        assert abs(sim.answered - rec.answered) <= 4 * math.sqrt(rec.offered * p * (1 - p)) + 1, queue
        sl = rec.sl / 100
        assert abs(sim.sl - rec.sl) <= 400 * math.sqrt(sl * (1 - sl) / rec.counted) + 1, queue
    total_rec, total_sim = Figures.total(before.values()), Figures.total(after.values())
    assert abs(total_sim.sl - total_rec.sl) <= 2.0  # percentage points, over all queues


def test_fewer_agents_give_a_lower_service_level(day_records, tmp_path, capsys):
    url, _ = day_records
    fewer = _fewer_agents(tmp_path)
    assert len(load_config(fewer).agents) == 30
    code, out, err = run(capsys, "simulate", fewer, "--replay", url, "--date", "2026-11-23")
    assert code == 0, err
    assert out.startswith(f"replaying Mon 2026-11-23 from {url}: ")
    assert "note: 12 agent(s) on record are not in" in out
    rows = {line.split()[0]: line.split() for line in out.splitlines()[3:]}
    for queue in ("sales", "support"):
        rec_sl, sim_sl = float(rows[queue][5].rstrip("%")), float(rows[queue][6].rstrip("%"))
        rec_n = int(rows[queue][1])
        sl = rec_sl / 100
        assert sim_sl < rec_sl - 400 * math.sqrt(sl * (1 - sl) / rec_n), rows[queue]
    code, same, err = run(capsys, "simulate", SAMPLE, "--replay", url, "--date", "2026-11-23")
    assert code == 0 and "not in" not in same


def test_replay_errors_are_clear(day_records, tmp_path, capsys):
    url, _ = day_records
    for argv, code, message in [
        (["--replay", url], 2, "--replay needs --date DATE"),
        (["--date", "2026-11-23"], 2, "--date is for --replay URL"),
        (["--replay", url, "--date", "23.11.2026"], 2, "--date '23.11.2026' is not a date such as 2026-11-24"),
        (["--replay", url, "--date", "2026-11-24"], 1, "no inbound calls on record on 2026-11-24"),
        (["--replay", f"sqlite:{tmp_path}/none.db", "--date", "2026-11-23"], 1, "no such records database"),
        (["--replay", url, "--date", "2026-11-23", "--traffic", "x.yaml"], 2, "--replay takes CONFIG_DIR and --date"),
        (["--replay", url, "--date", "2026-11-23", "--records", url], 2, "--records would write the replay's own"),
        (["--replay", url, "--date", "2026-11-23", "--seeds", "1"], 2, "--seeds must be at least 2"),
        (["--replay", url, "--date", "2026-11-23", "--days", "2"], 2, "--replay takes CONFIG_DIR and --date"),
    ]:
        got, out, err = run(capsys, "simulate", SAMPLE, *argv)
        assert (got, message in err) == (code, True), (argv, err)


def test_fit_the_recorded_day_and_play_it_again(day_records, tmp_path, capsys):
    """records of a simulated day -> `router traffic fit` -> a profile ->
    the simulation of that profile: the same traffic, queue by queue."""
    url, table = day_records
    out = tmp_path / "fitted.yaml"
    code, stdout, err = run(capsys, "traffic", "fit", "--records", url, "--from", "2026-11-23", "--to", "2026-11-23",
                            "--config", SAMPLE, "--out", str(out))
    assert code == 0, err
    profile, errors = read_profile(out, table)
    assert errors == []
    engine = open_records(url)
    day = load_day(engine, MONDAY, zone_of(table))
    before = recorded(engine, day)
    engine.dispose()
    # one Monday: the fitted Monday is that day's calls, interval by interval
    assert profile.offered(0) == pytest.approx(len(day.calls), abs=1e-3 * len(profile.calls) * 48)
    assert {sh.start for sh in profile.roster} >= {0.0, 8 * 3600.0, 8.5 * 3600.0, 11 * 3600.0, 12 * 3600.0}
    outcome = run_profile(table, profile, start=MONDAY, days=1, seed=3, tz=SH)
    for queue, rec in before.items():
        sim = outcome.tally.queues[queue].offered
        # a new Poisson day of the same rates: 4 standard deviations of a Poisson count
        assert abs(sim - rec.offered) <= 4 * math.sqrt(rec.offered), (queue, sim, rec.offered)


def test_simulate_with_records_then_fit_and_replay(tmp_path, capsys):
    """End to end with the commands an admin runs: `router simulate
    --records` (a plain simulated morning, on record), `router traffic fit`
    over it, the fitted profile simulated, and the morning replayed."""
    url = f"sqlite:{tmp_path / 'morning.db'}"
    code, out, err = run(capsys, "simulate", SAMPLE, "--quiet", "--duration", "2h", "--records", url)
    assert code == 0 and "rows written to" in out, err
    profile_path = tmp_path / "morning.yaml"
    code, out, err = run(capsys, "traffic", "fit", "--records", url, "--from", "2026-11-23", "--to", "2026-11-23",
                         "--config", SAMPLE, "--out", str(profile_path))
    assert code == 0, err
    table = load_config(SAMPLE)
    profile, errors = read_profile(profile_path, table)
    engine = open_records(url)
    day = load_day(engine, MONDAY, zone_of(table))
    before = recorded(engine, day)
    engine.dispose()
    assert errors == [] and profile.offered(0) == pytest.approx(len(day.calls), abs=1e-3 * len(profile.calls) * 48)
    # every agent logged in from 09:00 (the plain simulation's start) to the end of the morning
    assert {sh.start for sh in profile.roster} == {9 * 3600.0}
    code, out, err = run(capsys, "simulate", SAMPLE, "--traffic", str(profile_path), "--day", "mon")
    assert code == 0, err
    code, out, err = run(capsys, "simulate", SAMPLE, "--replay", url, "--date", "2026-11-23")
    assert code == 0, err
    lines = {line.split()[0]: line.split() for line in out.splitlines()[3:]}
    for queue, rec in before.items():
        rec_off, sim_off, rec_ans, sim_ans = (int(x) for x in lines[queue][1:5])
        assert (rec_off, rec_ans) == (rec.offered, rec.answered)
        assert sim_off == rec_off
        p = 1 - rec.answered / rec.offered
        assert abs(sim_ans - rec_ans) <= 4 * math.sqrt(rec.offered * p * (1 - p)) + 1, queue


def _logged_in_hours(table, day) -> float:
    """Agent-hours logged in during the day in a replay with seed 1."""
    from bench.replay_agents import Clock
    from router.sim.discrete import Simulation
    from router.whatif.replay import ReplayWorld
    from router.whatif.replay_run import SPILL

    clock = Clock(day.start, day.end)
    sim = Simulation(table, start=day.start, seed=1, world=lambda t, rng: ReplayWorld(t, rng, day))
    sim.subscribe(clock.on_fact)
    sim.start()
    sim.run_until(day.end + SPILL)
    clock.close_all(day.end)
    return sum(clock.time.values()) / 3600


def test_logouts_and_pauses_asked_for_mid_call_are_asked_for_again_at_that_moment(day_records):
    import dataclasses

    import sqlalchemy as sa

    from router.whatif.records_db import SESSIONS, STATES

    url, table = day_records
    engine = open_records(url)
    s, st = SESSIONS.c, STATES.c
    with engine.connect() as conn:
        late = conn.execute(sa.select(s.agent_id, s.logout_asked_at, s.logout_at)
                            .where(s.logout_asked_at < s.logout_at)).all()
        late_pauses = conn.execute(sa.select(sa.func.count()).where(st.asked_at < st.started_at)).scalar()
        logged_in = conn.execute(sa.select(sa.func.sum(st.duration)).where(
            sa.and_(st.local_date == MONDAY.isoformat()))).scalar() / 3600
    day = load_day(engine, MONDAY, zone_of(table))
    engine.dispose()
    assert len(late) >= 5 and late_pauses >= 5  # the roster's ends and breaks often come mid-call
    asked = {(a, b) for a, b, _ in late}
    assert asked <= {(a, out) for a, _, out in day.sessions}  # the replay logs out when it was asked
    assert all(p[4] is not None for p in day.pauses)
    # asked for then, the replay's agents are logged in as long as the day's;
    # asked for when it happened (the records before 0005), longer: each such
    # logout waits for a call a second time, capacity the day did not have
    again = _logged_in_hours(table, day)
    done = {a: out for a, _, out in late}
    old = dataclasses.replace(day, sessions=[(a, login, done.get(a, out) if (a, out) in asked else out)
                                             for a, login, out in day.sessions],
                              pauses=[(*p[:4], None) for p in day.pauses])
    twice = _logged_in_hours(table, old)
    assert abs(again - logged_in) < 0.15 < twice - logged_in, (logged_in, again, twice)


def test_records_from_before_revision_0005_replay_with_what_they_say(day_records, tmp_path):
    """A database of an older router (no asked-for moments): a logout is
    asked for when it happened, a pause when it began, as before."""
    import shutil

    from alembic import command

    from router.records.migrate import alembic_config
    from router.records.store import make_engine, parse_url

    url, table = day_records
    old = tmp_path / "old.db"
    shutil.copy(url.removeprefix("sqlite:"), old)
    engine = make_engine(parse_url(f"sqlite:{old}"))
    with engine.begin() as conn:
        command.downgrade(alembic_config(conn), "0004")
    engine.dispose()
    engine, now = open_records(f"sqlite:{old}"), open_records(url)
    day, new = load_day(engine, MONDAY, zone_of(table)), load_day(now, MONDAY, zone_of(table))
    engine.dispose()
    now.dispose()
    assert [p[:4] for p in day.pauses] == [p[:4] for p in new.pauses] and {p[4] for p in day.pauses} == {None}
    later = sum(b > a for (_, _, a), (_, _, b) in zip(new.sessions, day.sessions))
    assert later >= 5 and all(b >= a for (_, _, a), (_, _, b) in zip(new.sessions, day.sessions))
    after, _ = replay(table, day, seed=1)
    assert sum(f.offered for f in after.values()) == len(day.calls)


def test_replay_day_bias_bench_reports_each_recording_and_the_mean_difference(capsys, monkeypatch):
    """bench/replay_day_bias.py (docs/WHATIF.md quotes it): a Sunday recorded
    twice from an empty centre, each replayed once; the per-recording abandon
    rates are the records' own, and the mean difference is theirs."""
    from bench import replay_day_bias

    monkeypatch.chdir(ROOT)
    assert replay_day_bias.main(["--recordings", "2", "--seeds", "1", "--before", "0"]) == 0
    out = capsys.readouterr().out
    pairs = re.findall(r"seed +(\d+) +abandon % recorded -> replayed: vip ([\d.]+) -> ([\d.]+)", out)
    assert [p[0] for p in pairs] == ["11", "12"]
    table = load_config(ROOT / "config")
    profile, _ = read_profile(ROOT / "examples" / "traffic.yaml", table)
    rec, _ = replay_day_bias.one_recording(table, profile, date(2026, 11, 29), 0, 11, 1, zone_of(table))
    assert float(pairs[0][1]) == pytest.approx(rec["vip"].abandon, abs=0.05)
    mean = sum(float(b) - float(a) for _, a, b in pairs) / 2
    row = re.search(r"^vip .* ([+-][\d.]+)% ±[\d.]+ \(sd [\d.]+\)$", out, re.M)
    assert row and float(row.group(1)) == pytest.approx(mean, abs=0.06)
