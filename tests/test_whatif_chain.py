"""The what-if chain of issue 18 with the commands an admin runs, on records
produced by simulated days: `router simulate --traffic --days 3 --records`
(Mon-Wed of the sample config and examples/traffic.yaml, on record as a
running router writes them), `router traffic fit` of them, the fitted
profile checked against the one the days were simulated from, a recorded
day replayed (`--replay --seeds`) through the same config and through one
with fewer agents, and `--compare` and `--staffing` on the fitted profile.

Every tolerance is a number of standard deviations of the figure compared,
computed from the day's own counts (4 of them: with a few hundred
comparisons, a wider miss is a real error, not chance).
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import math
import random
import sqlite3
import statistics
from collections import Counter, defaultdict

import pytest

from router.config import load_config
from router.present.cli import main
from router.whatif.profile_file import read_profile
from tests.test_cli import ROOT, SAMPLE, run
from tests.test_whatif_replay import _fewer_agents

PROFILE = str(ROOT / "examples" / "traffic.yaml")
DATES = ("2026-11-23", "2026-11-24", "2026-11-25")  # Mon, Tue, Wed: the same mon-fri traffic
REPLAYED = "2026-11-24"


@pytest.fixture(scope="module")
def chain(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("chain")
    db = tmp / "days.db"
    code, out, err = _main("simulate", SAMPLE, "--traffic", PROFILE, "--day", "mon", "--days", "3",
                         "--records", f"sqlite:{db}")
    assert code == 0, err
    assert out.startswith("simulating " + PROFILE + ", Mon 2026-11-23 + 2 days, seed 1")
    assert "rows written to sqlite:" in out
    fitted = tmp / "fitted.yaml"
    code, out, err = _main("traffic", "fit", "--records", f"sqlite:{db}", "--from", DATES[0],
                         "--to", DATES[-1], "--config", SAMPLE, "--out", str(fitted))
    assert code == 0, err
    table = load_config(SAMPLE)
    original, errors = read_profile(PROFILE, table)
    assert errors == []
    profile, errors = read_profile(fitted, table)
    assert errors == []
    return db, table, original, profile, str(fitted), tmp


def _main(*argv: str) -> tuple[int, str, str]:
    """run() for a module fixture, which has no capsys."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


def _rule_of(db) -> dict[str, str]:
    """profile call type -> the rule its calls got (each has exactly one)."""
    keys = {}
    for dnis, variables, rule in sqlite3.connect(db).execute(
            "SELECT DISTINCT dnis, variables, rule FROM calls WHERE kind = 'inbound'"):
        keys.setdefault((dnis, tuple(sorted(json.loads(variables).items()))), set()).add(rule)
    return keys


def _types_by_rule(db, original) -> dict[str, list]:
    keys = _rule_of(db)
    out = defaultdict(list)
    for ct in original.calls:
        rules = keys[(ct.dnis, tuple(sorted(ct.variables)))]
        assert len(rules) == 1, (ct.name, rules)  # the sample's rules split no call type
        out[rules.pop()].append(ct)
    return out


def test_arrivals_per_interval_come_back(chain):
    db, _, original, profile, _, _ = chain
    by_rule = _types_by_rule(db, original)
    fitted = {ct.name: ct for ct in profile.calls}
    assert set(fitted) == set(by_rule)
    for rule, types in by_rule.items():
        for i in range(original.intervals):
            # one date of each of Mon, Tue, Wed: the fit's three weekdays are
            # three Poisson counts of the same mon-fri rate
            expected = sum(ct.arrivals[w][i] for ct in types for w in range(3))
            got = sum(fitted[rule].arrivals[w][i] for w in range(3))
            assert abs(got - expected) <= 4 * math.sqrt(expected), (rule, i, got, expected)
        for w in range(3, 7):  # no Thursday to Sunday in the range: no calls
            assert sum(fitted[rule].arrivals[w]) == 0


def _answered(db):
    """(final queue, profile call key, agent) of every answered call."""
    return sqlite3.connect(db).execute(
        "SELECT final_queue, dnis, variables, answered_by, talk FROM calls "
        "WHERE kind = 'inbound' AND outcome = 'answered' AND talk IS NOT NULL").fetchall()


def _moments(dist, rng, n=100_000, floor=0.0):
    xs = [max(dist.sample(rng), floor) for _ in range(n)]
    return statistics.fmean(xs), statistics.fmean(x * x for x in xs)


def test_handle_times_come_back(chain):
    """A queue's fitted talk and after-call work pool the call types whose
    answered calls ended in it: the expected mean is the mixture of the
    profile's means, weighted by those calls; the tolerance is 4 standard
    errors of a mean of that many calls, from the mixture's spread.
    After-call work: the agent is unavailable for the longer of the
    profile's work and the config's wrap-up (the agent's, else the
    queue's), so its mean is E[max(W, wrap-up)], here by sampling the
    profile's distribution (100,000 draws: its error is far inside the
    tolerance)."""
    db, table, original, profile, _, _ = chain
    types = {(ct.dnis, tuple(sorted(ct.variables))): ct for ct in original.calls}
    by_rule = _types_by_rule(db, original)
    rng = random.Random(5)
    cache: dict = {}
    per_queue: dict[str, list] = defaultdict(list)
    for queue, dnis, variables, agent, _ in _answered(db):
        ct = types[(dnis, tuple(sorted(json.loads(variables).items())))]
        config = table.agents[agent]
        wrap = config.wrapup if config.wrapup is not None else table.queues[queue].wrapup
        for key, dist, floor in (("talk", ct.talk, 0.0), ("work", ct.wrapup, wrap)):
            if (ct.name, key, floor) not in cache:
                cache[(ct.name, key, floor)] = _moments(dist, rng, floor=floor)
        per_queue[queue].append((cache[(ct.name, "talk", 0.0)], cache[(ct.name, "work", wrap)]))
    homes = {}
    for rule, cts in by_rule.items():
        homes[rule] = Counter(q for q, d, v, _, _ in _answered(db)
                              if (d, tuple(sorted(json.loads(v).items()))) in
                              {(c.dnis, tuple(sorted(c.variables))) for c in cts}).most_common(1)[0][0]
    for ct in profile.calls:
        calls = per_queue[homes[ct.name]]
        n = len(calls)
        for k, fitted in ((0, ct.talk), (1, ct.wrapup)):
            mean = statistics.fmean(c[k][0] for c in calls)
            sd = math.sqrt(max(0.0, statistics.fmean(c[k][1] for c in calls) - mean * mean))
            assert fitted.kind == "lognormal", (ct.name, fitted)
            assert abs(fitted.mean - mean) <= 4 * sd / math.sqrt(n) + 0.5, (ct.name, k, fitted.mean, mean)


def _km(rows) -> list[tuple[float, float, float, int]]:
    """(t, S(t), Greenwood variance of S(t), calls still at risk after t)
    from (wait, abandoned) pairs, waits in whole seconds as the fit counts them."""
    at: dict[float, list[int]] = defaultdict(lambda: [0, 0])
    for wait, abandoned in rows:
        at[float(round(wait))][0 if abandoned else 1] += 1
    risk, s, g, out = len(rows), 1.0, 0.0, []
    for t in sorted(at):
        d, c = at[t]
        if d and risk > d:
            s *= 1 - d / risk
            g += d / (risk * (risk - d))
        risk -= d + c
        out.append((t, s, s * s * g, risk))
    return out


def test_patience_comes_back(chain):
    """Kaplan–Meier's curve of each call type against the profile's
    exponential patience, at the longest wait at which 50 or more calls
    were still waiting (beyond it the curve rests on few calls and the
    fit continues it by an exponential tail): the fitted survival there
    (the share of the profile's 50 values above it) against exp(-t/mean),
    within 4 Greenwood standard errors plus the 1/50 step of the list.
    Call types with fewer than 30 calls get the curve of all calls: not
    checked."""
    db, _, original, profile, _, _ = chain
    by_rule = _types_by_rule(db, original)
    con = sqlite3.connect(db)
    checked = 0
    for ct in profile.calls:
        means = {t.patience.mean for t in by_rule[ct.name]}
        assert ct.patience.kind == "empirical"
        rows = con.execute("SELECT wait, outcome = 'abandoned' FROM calls WHERE kind = 'inbound' AND rule = ? "
                           "AND outcome != 'closed'", (ct.name,)).fetchall()
        if len(means) != 1 or len(rows) < 30:
            continue
        t, _, var, _ = [k for k in _km(rows) if k[3] >= 50][-1]
        truth = math.exp(-t / means.pop())
        got = sum(v > t for v in ct.patience.values) / len(ct.patience.values)
        assert abs(got - truth) <= 4 * math.sqrt(var) + 1 / 50, (ct.name, t, got, truth, math.sqrt(var))
        checked += 1
    assert checked >= 8


def _rows(out: str) -> dict[str, list[str]]:
    """The replay's table by queue: the lines after its "queue ..." header."""
    lines = out.splitlines()
    head = next(i for i, line in enumerate(lines) if line.startswith("queue "))
    return {line.split()[0]: line.split() for line in lines[head + 1:] if line.strip()}


def _pm(cells: list[str], at: int) -> tuple[float, float]:
    """'67.0%', '±0.9' at cells[at], cells[at + 1] -> (67.0, 0.9)."""
    return float(cells[at].rstrip("%s")), float(cells[at + 1].lstrip("±"))


def test_replay_a_recorded_day_with_seeds(chain, capsys):
    """The same config: the replay's mean over 5 seeds gives back the
    recorded SL and ASA of each queue within 4 standard errors of the
    recorded figure (binomial for SL; the waits' spread for ASA)."""
    db, _, _, _, _, _ = chain
    code, out, err = run(capsys, "simulate", SAMPLE, "--replay", f"sqlite:{db}", "--date", REPLAYED,
                         "--seeds", "5")
    assert code == 0, err
    assert "seeds 1-5" in out.splitlines()[0]
    assert "mean over 5 seeds ± 95% confidence interval" in out.splitlines()[1]
    con = sqlite3.connect(db)
    stats = {q: (n, counted, met, wait, wait2) for q, n, counted, met, wait, wait2 in con.execute(
        "SELECT final_queue, sum(outcome = 'answered'), sum(sl_counted), sum(sl_met), "
        "avg(CASE WHEN outcome = 'answered' THEN wait END), avg(CASE WHEN outcome = 'answered' THEN wait * wait END) "
        "FROM calls WHERE kind = 'inbound' AND local_date = ? GROUP BY final_queue", (REPLAYED,))}
    rows = _rows(out)
    assert set(rows) == set(stats)
    for queue, (answered, counted, met, wait, wait2) in stats.items():
        cells = rows[queue]
        # queue offered | answered rec, mean, ±ci | SL rec, mean, ±ci | ASA ... | abandon ...
        rec_sl, (sl, _) = float(cells[5].rstrip("%")), _pm(cells, 6)
        assert rec_sl == pytest.approx(100 * met / counted, abs=0.05)
        p = met / counted
        assert abs(sl - rec_sl) <= 400 * math.sqrt(p * (1 - p) / counted) + 0.5, (queue, sl, rec_sl)
        rec_asa, (asa, _) = float(cells[8].rstrip("s")), _pm(cells, 9)
        sd = math.sqrt(max(0.0, wait2 - wait * wait))
        assert abs(asa - rec_asa) <= 4 * sd / math.sqrt(answered) + 0.1, (queue, asa, rec_asa)


def test_replay_through_fewer_agents_costs_service(chain, tmp_path, capsys):
    db, _, _, _, _, _ = chain
    fewer = _fewer_agents(tmp_path)
    code, out, err = run(capsys, "simulate", fewer, "--replay", f"sqlite:{db}", "--date", REPLAYED,
                         "--seeds", "3")
    assert code == 0, err
    assert "note: 12 agent(s) on record are not in" in out
    rows = _rows(out)
    for queue in ("sales", "support", "general"):
        rec_sl, (sl, half) = float(rows[queue][5].rstrip("%")), _pm(rows[queue], 6)
        assert sl + half < rec_sl - 5, (queue, sl, half, rec_sl)  # clearly, not by the seeds' chance


def _longer_sales_wrapup(tmp_path) -> str:
    """The sample config with sales' wrap-up 3 minutes instead of 15 s (the
    same agents: the fitted roster names them all)."""
    out = tmp_path / "wrapup"
    out.mkdir()
    for source in (ROOT / "config").glob("*.yaml"):
        text = source.read_text(encoding="utf-8")
        if source.name == "queues.yaml":
            head, sales = text.split("\n  sales:\n", 1)
            text = head + "\n  sales:\n" + sales.replace("    wrapup: 15s\n", "    wrapup: 3m\n", 1)
        (out / source.name).write_text(text, encoding="utf-8")
    assert load_config(str(out)).queues["sales"].wrapup == 180
    return str(out)


def test_compare_and_staffing_on_the_fitted_profile(chain, tmp_path, capsys):
    db, table, original, profile, fitted, _ = chain
    longer = _longer_sales_wrapup(tmp_path)
    code, out, err = run(capsys, "simulate", "--compare", SAMPLE, longer, "--traffic", fitted, "--day", "tue",
                         "--seeds", "3")
    assert code == 0, err
    diffs = {(line.split()[0], line.split()[1]): line[-14:].split() for line in out.splitlines()[2:]}
    sl_diff, half = float(diffs[("sales", "SL")][0].rstrip("%")), float(diffs[("sales", "SL")][1].lstrip("±"))
    assert sl_diff + half < 0  # sales agents longer in wrap-up: a lower SL, beyond the seeds' interval
    plans = {}
    for name, path in (("fitted", fitted), ("original", PROFILE)):
        out_csv = tmp_path / f"{name}.csv"
        code, out, err = run(capsys, "simulate", SAMPLE, "--traffic", path, "--day", "tue", "--staffing",
                             "--csv", str(out_csv))
        assert code == 0, err
        assert "staffing plan, Tue 2026-11-24" in out
        plans[name] = {(r["interval"], r["queue"]): r for r in csv.DictReader(io.StringIO(out_csv.read_text(encoding="utf-8")))}
    # the roster came back from the agent records: the same agents on duty
    # at every mid-interval (its 15-minute breaks end on the half hour, so
    # a 30-minute fit does not need to see them)
    shared = set(plans["fitted"]) & set(plans["original"])
    assert len(shared) > 100
    for key in shared:
        assert plans["fitted"][key]["rostered"] == plans["original"][key]["rostered"], key
    # the calls each row plans for are the fitted profile's, which are one Tuesday's
    tuesday = sum(float(r["calls"]) for r in plans["fitted"].values())
    expected = sum(float(r["calls"]) for r in plans["original"].values())
    assert abs(tuesday - expected) <= 4 * math.sqrt(expected)
