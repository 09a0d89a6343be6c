"""The simulator against queueing theory (issue 18).

One queue, Poisson arrivals, exponential handle times, FIFO, agents who
answer at once, no wrap-up: the M/M/N queue. With callers who never give up
the simulated service level and ASA must agree with Erlang C, and with
exponential patience with Erlang A (M/M/N+M), within the simulation's own
95% confidence interval over independent replications (seeds). The real
engine routes every call; the profile is read from YAML like any other.

Each replication is 5 simulated hours; calls that arrive in the first half hour
(the centre starting empty) are left out, so the figures are steady state.
"""

from __future__ import annotations

import math
from datetime import date
from zoneinfo import ZoneInfo

import pytest

from router.config import load_config
from router.core.erlang import average_speed_of_answer, erlang_a, service_level
from router.runtime.tally import QueueTally
from router.whatif.compare import mean_ci
from router.whatif.profile_file import read_profile
from router.whatif.run import run_profile

# A short handle time, so that the queue forgets its past quickly and a
# few simulated hours give tight intervals.
AGENTS, AHT, WITHIN, PATIENCE = 8, 60.0, 20.0, 60.0
PER_HALF_HOUR = 180  # 360 calls/h: 6 Erlangs on 8 agents (75%)
SEEDS = range(1, 9)
HOURS, WARM_UP = 5, 1  # intervals of 30 min left out at the start


def write_centre(tmp_path) -> str:
    agents = "\n".join(f'  - id: "{2000 + i}"\n    name: "坐席{i}"\n    endpoint: PJSIP/{2000 + i}\n'
                       f"    skills: {{general: 5}}" for i in range(1, AGENTS + 1))
    (tmp_path / "centre.yaml").write_text(f"""\
settings:
  service_level: {{order: arrival, early_escalation: false, protection: false}}
skills:
  general: "综合咨询"
agents:
{agents}
queues:
  general:
    title: "综合"
    priority: 10
    strategy: longest_idle
    service_level: {{target: 80%, within: {WITHIN:g}s}}
    wrapup: 0s
    ring_timeout: 1h
    skills: {{general: 1}}
routing:
  rules: []
  default: {{queue: general}}
""", encoding="utf-8")
    return str(tmp_path / "centre.yaml")


def write_profile(tmp_path, patience: str) -> str:
    (tmp_path / "traffic.yaml").write_text(f"""\
traffic:
  defaults:
    talk: {{dist: exponential, mean: {AHT:g}s}}
    patience: {patience}
  calls:
    any:
      dnis: "4000"
      arrivals:
        mon-sun: {{"00:00-24:00": {PER_HALF_HOUR}}}
agents:
  answer_delay: {{dist: fixed, mean: 0s}}
  no_answer: 0%
""", encoding="utf-8")
    return str(tmp_path / "traffic.yaml")


def replications(tmp_path, patience: str) -> tuple[list[float], list[float], list[float], int]:
    """Per seed: SL (fraction), ASA (s), abandon rate; and calls measured."""
    table = load_config(write_centre(tmp_path))
    profile, errors = read_profile(write_profile(tmp_path, patience), table)
    assert errors == [] and profile is not None
    sls, asas, abandons, calls = [], [], [], 0
    for seed in SEEDS:
        out = run_profile(table, profile, start=date(2026, 11, 23), days=1, seed=seed, tz=ZoneInfo("UTC"),
                          hours=HOURS)
        r = QueueTally()
        for index, tally in out.by_interval.items():
            if WARM_UP <= index < HOURS * 2 - 1:  # the last interval's callers may still be waiting
                q = tally.queues["general"]
                for name in ("offered", "answered", "answered_in_sl", "abandoned", "overflowed"):
                    setattr(r, name, getattr(r, name) + getattr(q, name))
                r.wait_total += q.wait_total
        sls.append(r.service_level() / 100.0)
        asas.append(r.wait_total / r.answered)
        abandons.append(r.abandoned / r.offered)
        calls += r.offered
    return sls, asas, abandons, calls


def within_ci(name: str, values: list[float], theory: float) -> None:
    mean, half = mean_ci(values)
    print(f"{name}: simulated {mean:.4f} ± {half:.4f} (95%), theory {theory:.4f}")
    assert half < 0.25 * abs(mean) + 0.01, f"{name}: interval too wide to judge anything ({half})"
    assert abs(mean - theory) <= half, f"{name}: theory {theory:.4f} outside {mean:.4f} ± {half:.4f}"


def test_patient_callers_agree_with_erlang_c(tmp_path, capsys):
    sls, asas, abandons, calls = replications(tmp_path, "{dist: never}")
    rate = PER_HALF_HOUR / 1800.0
    assert calls > 10_000 and abandons == [0.0] * len(SEEDS)
    with capsys.disabled():
        within_ci("Erlang C SL(20s)", sls, service_level(rate * AHT, AGENTS, AHT, WITHIN))
        within_ci("Erlang C ASA", asas, average_speed_of_answer(rate * AHT, AGENTS, AHT))


def test_impatient_callers_agree_with_erlang_a(tmp_path, capsys):
    sls, asas, abandons, calls = replications(tmp_path, "{dist: exponential, mean: %ds}" % PATIENCE)
    theory = erlang_a(PER_HALF_HOUR / 1800.0, AHT, PATIENCE, AGENTS, WITHIN)
    assert calls > 10_000
    with capsys.disabled():
        within_ci("Erlang A SL(20s)", sls, theory["service_level"])
        within_ci("Erlang A ASA", asas, theory["asa"])
        within_ci("Erlang A abandon", abandons, theory["p_abandon"])


def test_erlang_a_without_abandonment_is_erlang_c():
    # patience -> infinity: the M/M/N+M queue becomes M/M/N.
    rate, aht = 2000 / 3600, 180.0
    for agents in (101, 110, 130):
        a = erlang_a(rate, aht, math.inf, agents, 20.0)
        assert a["service_level"] == pytest.approx(service_level(rate * aht, agents, aht, 20.0), abs=1e-9)
        assert a["asa"] == pytest.approx(average_speed_of_answer(rate * aht, agents, aht), rel=1e-9)
        assert a["p_abandon"] == pytest.approx(0.0, abs=1e-9)


def test_erlang_a_obeys_littles_law_and_is_stable_overloaded():
    # P(abandon) = mean wait / mean patience for exponential patience, at any
    # load, even above 100% where Erlang C has no steady state.
    for agents in (3, 5, 8):
        a = erlang_a(100 / 3600, 180.0, 120.0, agents, 20.0)
        assert a["p_abandon"] == pytest.approx(a["mean_wait"] / 120.0, rel=1e-9)
        assert 0 < a["service_level"] < 1 and 0 < a["p_abandon"] < 1
