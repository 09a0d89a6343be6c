"""`router traffic fit` (router/whatif/fit.py, fit_roster.py): a profile
measured from a synthetic records database whose parameters are known.

Tolerances come from the sample sizes (4 standard errors), never from a
guess: the data are seeded, so a failure is a bug, not bad luck.
"""

from __future__ import annotations

import json
import math
import random
from collections import Counter
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from router.records.localtime import local_stamp, quarter_cuts
from router.records.model import AgentSessionRow, AgentStateRow, CallRow, OfferRow
from router.records.store import open_store
from router.whatif.fit import fit
from router.whatif.km import kaplan_meier
from router.whatif.profile_dump import dump
from router.whatif.profile_file import parse_profile, read_profile
from router.whatif.records_db import open_records
from router.config.errors import Report
from tests.test_cli import SAMPLE, run

SH = ZoneInfo("Asia/Shanghai")
FIRST, LAST = date(2026, 11, 2), date(2026, 11, 15)  # Mon .. Sun, two of each weekday
TALK = {"sales": (180.0, 90.0), "support": (240.0, 120.0)}  # lognormal mean, sd per queue
WRAPUP = (20.0, 10.0)
PATIENCE, SERVICE = 120.0, 40.0  # exponential means: caller patience, time to an agent
DELAY, NO_ANSWER = (4.0, 2.0), 0.1
#: (rule, dnis, vars, caller prefix, queue, days, first hour, last hour, calls per half hour)
TYPES = [("sales", "4008001000", {"menu": "1"}, "+8613801", "sales", range(5), 9, 12, 20),
         ("support", "4008002000", {}, "+86139", "support", range(6), 9, 17, 10)]


def lognormal(rng: random.Random, mean: float, sd: float) -> float:
    s2 = math.log(1 + (sd / mean) ** 2)
    return rng.lognormvariate(math.log(mean) - s2 / 2, math.sqrt(s2))


def poisson(rng: random.Random, mean: float) -> int:
    n, t = 0, rng.expovariate(1.0)
    while t < mean:
        n, t = n + 1, t + rng.expovariate(1.0)
    return n


def midnight(d: date) -> float:
    return datetime(d.year, d.month, d.day, tzinfo=SH).timestamp()


def call_row(call_id, rule, dnis, variables, caller, queue, at, outcome, wait, talk=None, wrapup=None):
    local_date, minute = local_stamp(at, SH)
    answered = outcome == "answered"
    return CallRow(call_id, "inbound", "pbx1", dnis, caller, "王伟", json.dumps(variables, ensure_ascii=False),
                   rule, queue, queue, at, local_date, minute, at + wait, outcome, "", "", wait,
                   "1001" if answered else None, "sales" if answered else None, at + wait if answered else None,
                   at + wait + talk if answered else None, talk, wrapup, 1 if answered else 0, 0, 20.0,
                   outcome != "closed", answered and wait <= 20, outcome == "abandoned" and wait < 5,
                   None, None, None, None)


def states(agent, start, end, state="available", reason=""):
    out = []
    for a, b in quarter_cuts(start, end):
        local_date, minute = local_stamp(a, SH)
        out.append(AgentStateRow(agent, "sales", state, reason, None, a, b, local_date, minute, b - a))
    return out


def synthetic(seed: int = 7):
    """(rows, ground truth): two weeks of calls, offers and agent records."""
    rng = random.Random(seed)
    rows, truth = [], {"counts": Counter(), "waits": [], "talk": {"sales": [], "support": []}, "delays": [],
                       "offers": Counter()}
    n = 0
    for d in (FIRST + timedelta(days=i) for i in range((LAST - FIRST).days + 1)):
        day0 = midnight(d)
        for rule, dnis, variables, prefix, queue, weekdays, h0, h1, mean in TYPES:
            if d.weekday() not in weekdays:
                continue
            for slot in range(h0 * 2, h1 * 2):
                k = poisson(rng, mean)
                truth["counts"][(rule, d.weekday(), slot)] += k
                for _ in range(k):
                    n += 1
                    at = day0 + slot * 1800 + rng.random() * 1800
                    patience, service = rng.expovariate(1 / PATIENCE), rng.expovariate(1 / SERVICE)
                    caller = prefix + f"{rng.randint(0, 99999):05d}"
                    cid = f"c{n:06d}"
                    if patience < service:
                        rows.append(call_row(cid, rule, dnis, variables, caller, queue, at, "abandoned", patience))
                        truth["waits"].append((patience, 1))
                        continue
                    talk, wrap = lognormal(rng, *TALK[queue]), lognormal(rng, *WRAPUP)
                    rows.append(call_row(cid, rule, dnis, variables, caller, queue, at, "answered", service,
                                         talk, wrap))
                    truth["waits"].append((service, 0))
                    truth["talk"][queue].append(talk)
                    seq, t = 0, at
                    while rng.random() < NO_ANSWER:  # missed offers before the answered one
                        seq += 1
                        rows.append(OfferRow(cid, seq, "1002", "sales", queue, t, t + 15, "no-answer"))
                        truth["offers"]["no-answer"] += 1
                    delay = lognormal(rng, *DELAY)
                    while delay >= 15:  # answered before the ring times out (0.1% would not be)
                        delay = lognormal(rng, *DELAY)
                    rows.append(OfferRow(cid, seq + 1, "1001", "sales", queue, at + service - delay, at + service,
                                         "answered"))
                    truth["offers"]["answered"] += 1
                    truth["delays"].append(delay)
        # the roster: 1001-1004 mon-fri 09:00-17:00, a break 12:00-13:00; 1005 sat 09:00-17:00
        for agent in ("1001", "1002", "1003", "1004", "1005"):
            if (agent == "1005") != (d.weekday() == 5) or d.weekday() == 6:
                continue
            login, logout = day0 + 9 * 3600, day0 + 17 * 3600
            rows.append(AgentSessionRow(agent, "sales", login, logout, d.isoformat(), logout - login))
            if agent == "1005":
                rows += states(agent, login, logout)
            else:
                noon = day0 + 12 * 3600
                rows += states(agent, login, noon) + states(agent, noon, noon + 3600, "paused", "break") \
                    + states(agent, noon + 3600, logout)
    return rows, truth


@pytest.fixture(scope="module")
def records(tmp_path_factory):
    path = tmp_path_factory.mktemp("records") / "records.db"
    rows, truth = synthetic()
    store = open_store(f"sqlite:{path}")
    store.write(rows)
    store.close()
    return f"sqlite:{path}", truth


def test_the_fit_recovers_the_known_traffic(records):
    url, truth = records
    engine = open_records(url)
    profile, notes = fit(engine, FIRST, LAST)
    engine.dispose()
    types = {c.name: c for c in profile.calls}
    assert sorted(types) == ["sales", "support"]
    sales, support = types["sales"], types["support"]
    assert (sales.dnis, sales.variables, sales.caller) == ("4008001000", (("menu", "1"),), "+8613801*")
    # arrivals: exactly the calls per weekday and half hour over the two dates of that weekday
    for (rule, weekday, slot), k in truth["counts"].items():
        assert types[rule].arrivals[weekday][slot] == pytest.approx(k / 2, abs=1e-4)
    assert sum(sales.arrivals[5]) == 0 and sum(support.arrivals[6]) == 0
    # ... and their mean is the Poisson mean (60 interval-dates of 20 calls for sales)
    cells = [sales.arrivals[w][s] for w in range(5) for s in range(18, 24)]
    assert sum(cells) / len(cells) == pytest.approx(20, abs=4 * math.sqrt(20 / (2 * len(cells))))
    # talk per queue: lognormal, mean within 4 standard errors, sd within 4 of its own
    for ct, queue in ((sales, "sales"), (support, "support")):
        mean, sd = TALK[queue]
        n = len(truth["talk"][queue])
        s2 = math.log(1 + (sd / mean) ** 2)
        kurtosis = math.exp(4 * s2) + 2 * math.exp(3 * s2) + 3 * math.exp(2 * s2) - 3
        assert ct.talk.kind == "lognormal"
        assert ct.talk.mean == pytest.approx(mean, abs=4 * sd / math.sqrt(n))
        assert ct.talk.sd == pytest.approx(sd, abs=4 * sd / 2 * math.sqrt((kurtosis - 1) / n))
        assert ct.wrapup.kind == "lognormal"
        assert ct.wrapup.mean == pytest.approx(WRAPUP[0], abs=4 * WRAPUP[1] / math.sqrt(n))
    # answer delay and no-answer share
    n = len(truth["delays"])
    assert profile.answer_delay.mean == pytest.approx(DELAY[0], abs=4 * DELAY[1] / math.sqrt(n))
    offers = sum(truth["offers"].values())
    assert profile.no_answer == pytest.approx(truth["offers"]["no-answer"] / offers, abs=1e-9)
    p = NO_ANSWER / (1 + NO_ANSWER)  # missed offers per offer, geometric
    assert profile.no_answer == pytest.approx(p, abs=4 * math.sqrt(p * (1 - p) / offers))
    # the roster
    assert [(sh.agents, sh.days, sh.start, sh.end, sh.breaks) for sh in profile.roster] == [
        (("1001", "1002", "1003", "1004"), (0, 1, 2, 3, 4), 9 * 3600.0, 17 * 3600.0, ((12 * 3600.0, 13 * 3600.0),)),
        (("1005",), (5,), 9 * 3600.0, 17 * 3600.0, ())]
    assert notes == []


def test_patience_is_kaplan_meier_not_the_mean_of_abandons(records):
    url, truth = records
    engine = open_records(url)
    profile, _ = fit(engine, FIRST, LAST)
    engine.dispose()
    waits = truth["waits"]
    abandons = [w for w, d in waits if d]
    assert sum(abandons) / len(abandons) < 0.5 * PATIENCE  # what a naive fit would say
    for ct in profile.calls:
        values = ct.patience.values
        assert ct.patience.kind == "empirical" and len(values) == 50
        for t in (30.0, 60.0, 120.0):
            share = sum(v <= t for v in values) / len(values)
            true = 1 - math.exp(-t / PATIENCE)
            # a bound on Greenwood's standard error at t: S^2 D / (n (n - 1)),
            # n the callers still waiting at t (fewest at risk), D the abandons
            # by t; per call type about half the calls; plus the list's 1/50 steps
            at_risk = sum(w >= t for w, _ in waits) / 2
            events = sum(d for w, d in waits if w <= t) / 2
            se = (1 - true) * math.sqrt(events / (at_risk * (at_risk - 1)))
            assert share == pytest.approx(true, abs=4 * se + 1 / 50), (ct.name, t)


def test_the_written_profile_reads_back_the_same(records, tmp_path):
    url, _ = records
    engine = open_records(url)
    profile, _ = fit(engine, FIRST, LAST)
    engine.dispose()
    text = dump(profile)
    report = Report()
    again = parse_profile("fitted.yaml", text.encode(), report)
    assert not report.has_errors, report.split()
    assert dump(again) == text
    assert [c.name for c in again.calls] == [c.name for c in profile.calls]
    assert again.calls[0].arrivals == profile.calls[0].arrivals
    assert again.roster[0].breaks == profile.roster[0].breaks


def test_the_command_writes_a_profile_the_simulator_reads(records, tmp_path, capsys):
    url, _ = records
    out = tmp_path / "fitted.yaml"
    code, stdout, err = run(capsys, "traffic", "fit", "--records", url, "--from", str(FIRST), "--to", str(LAST),
                            "--config", SAMPLE, "--out", str(out))
    assert code == 0, err
    assert f"traffic profile written to {out}: 2 call types" in stdout
    from router.config import load_config

    profile, errors = read_profile(out, load_config(SAMPLE))
    assert errors == [] and profile.timezone == "Asia/Shanghai"
    code, stdout, err = run(capsys, "simulate", SAMPLE, "--traffic", str(out), "--day", "mon")
    assert code == 0, err
    assert "sales" in stdout and "occupancy" in stdout


def test_clear_errors(records, tmp_path, capsys):
    url, _ = records
    base = ["traffic", "fit", "--records", url, "--out", str(tmp_path / "p.yaml")]
    code, _, err = run(capsys, *base, "--from", "2026-11-31", "--to", "2026-12-01")
    assert code == 2 and "--from '2026-11-31' is not a date such as 2026-11-24" in err
    code, _, err = run(capsys, *base, "--from", "2026-11-10", "--to", "2026-11-09")
    assert code == 2 and "--to 2026-11-09 is before --from 2026-11-10" in err
    code, _, err = run(capsys, *base, "--from", "2025-01-01", "--to", "2025-01-31")
    assert code == 1 and "no inbound calls on record from 2025-01-01 to 2025-01-31" in err
    missing = tmp_path / "nothere.db"
    code, _, err = run(capsys, "traffic", "fit", "--records", f"sqlite:{missing}", "--from", "2026-11-02",
                       "--to", "2026-11-02", "--out", str(tmp_path / "p.yaml"))
    assert code == 1 and f"no such records database ({missing} does not exist)" in err
    assert not missing.exists()  # not created by the attempt
    other = tmp_path / "other.db"
    import sqlite3

    sqlite3.connect(other).execute("create table t (x)").connection.commit()
    code, _, err = run(capsys, "traffic", "fit", "--records", f"sqlite:{other}", "--from", "2026-11-02",
                       "--to", "2026-11-02", "--out", str(tmp_path / "p.yaml"))
    assert code == 1 and "not a records database" in err
    assert not (tmp_path / "p.yaml").exists()


def test_few_answered_calls_give_an_empirical_list():
    from router.whatif.fit import lognormal_or_list

    assert lognormal_or_list(3, None, None, [30.0, 10.0, 20.0]).values == (10.0, 20.0, 30.0)
    d = lognormal_or_list(100, 50.0, 50.0 ** 2 + 10.0 ** 2, [])
    assert (d.kind, d.mean) == ("lognormal", 50.0) and d.sd == pytest.approx(10.0 * math.sqrt(100 / 99))
    assert lognormal_or_list(100, 0.2, 0.04, []).kind == "fixed"  # no wrap-up to speak of
    assert kaplan_meier([]).events == 0


def test_after_call_work_pauses_count_as_the_calls_wrap_up(tmp_path):
    """An agent who paused for after-call work straight after a call (as the
    simulator does when the work outlasts the config's wrap-up) did that
    call's after-call work: it is added, across a quarter-hour cut too."""
    day0 = midnight(FIRST)
    rows = []
    for i, (wrap, acw) in enumerate([(10.0, 0.0), (0.0, 40.0), (5.0, 95.0)]):
        at = day0 + 10 * 3600 + 14 * 60 + i * 20  # ends near 10:15, so the pauses cross the cut
        talk = 30.0 - i * 15
        row = call_row(f"w{i}", "sales", "4008001000", {}, "+86138000", "sales", at, "answered", 5.0, talk, wrap)
        rows.append(replace_answered_by(row, f"20{i}"))
        if acw:
            rows += states(f"20{i}", at + 5 + talk + wrap, at + 5 + talk + wrap + acw, "paused", "after-call work")
    assert sum(r.TABLE == "agent_states" for r in rows) == 4  # the last two pauses are cut at 10:15
    store = open_store(f"sqlite:{tmp_path / 'acw.db'}")
    store.write(rows)
    store.close()
    engine = open_records(f"sqlite:{tmp_path / 'acw.db'}")
    profile, _ = fit(engine, FIRST, FIRST)
    engine.dispose()
    assert profile.calls[0].wrapup.values == pytest.approx((10.0, 40.0, 100.0))


def replace_answered_by(row, agent):
    from dataclasses import replace

    return replace(row, answered_by=agent)


def test_postgresql_gives_the_same_profile_as_sqlite(records, postgres):
    """The same rows in a real PostgreSQL server (tests/support/postgres.py):
    the aggregation is dialect-neutral, the profile identical."""
    from support.postgres import PASSWORD

    url = postgres.create_database("whatif_fit")
    rows, _ = synthetic()
    store = open_store(url, PASSWORD)
    store.write(rows)
    store.close()
    profiles = []
    for where, password in ((records[0], None), (url, PASSWORD)):
        engine = open_records(where, password)
        profiles.append(dump(fit(engine, FIRST, LAST)[0]))
        engine.dispose()
    assert profiles[0] == profiles[1]
    assert "roster:" in profiles[1] and "sales:" in profiles[1]


def test_the_rings_curve_counts_the_rings_callers_gave_up_on(tmp_path):
    """Offers of a known answer time (lognormal, mean 4 s, sd 2 s; 3% never
    answered; a ring timeout of 15 s), some cut short by the caller hanging
    up (withdrawn, more often the longer the ring): the answered rings alone
    say agents answer sooner than they do; fit.ringing does not."""
    from sqlalchemy import and_

    from router.whatif.fit import ringing
    from router.whatif.profile import Dist
    from router.whatif.records_db import CALLS
    from router.whatif.replay import answer_time
    from tests.support.records import call, offer

    rng, truth, tz = random.Random(5), Dist("lognormal", 4.0, 2.0), SH
    t0 = datetime(2026, 11, 23, 9, 0, tzinfo=SH).timestamp()
    rows, answered = [], []
    for i in range(6000):
        at = t0 + i * 5
        delay = math.inf if rng.random() < 0.03 else truth.sample(rng)
        hangup = rng.expovariate(1 / 20.0)  # the caller's patience left when the ring starts
        end, outcome = min((delay, "answered"), (hangup, "withdrawn"), (15.0, "no-answer"))
        if outcome == "answered":
            answered.append(end)
        rows += [call(f"c{i}", "sales", at, "answered", 1.0, tz), offer(f"c{i}", 1, "1001", "s", "sales", at,
                                                                          at + end, outcome)]
    url = f"sqlite:{tmp_path / 'r.db'}"
    store = open_store(url)
    store.write(rows)
    store.close()
    engine = open_records(url)
    with engine.connect() as conn:
        curve = ringing(conn, and_(CALLS.c.kind == "inbound"))
    engine.dispose()
    levels = [i / 2000 for i in range(2000)]
    draws = [answer_time(curve, u) for u in levels]
    drawn = [d for d in draws if d is not None and d < 15.0]
    truncated = 3.98  # the true mean below the 15 s timeout (2 M draws; 0.12% of them are past it)
    assert sum(answered) / len(answered) < truncated - 0.12  # the answered rings alone: too quick (3.81 s)
    assert abs(sum(drawn) / len(drawn) - truncated) < 0.06
    missed = 1 - len(drawn) / len(draws)
    assert abs(missed - 0.031) < 0.006  # 3% never, and the few past 15 s
