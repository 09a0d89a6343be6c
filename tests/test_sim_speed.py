"""The simulation's shortcuts for speed (issue 18) change nothing it decides.

A simulated week is millions of engine events, so the simulation skips work
whose result nobody reads: the engine builds no fact that no subscriber
follows (`Engine.unfollowed`). These tests run the same seeded centre with
and without a subscriber that follows everything and require the very same
commands (rings, timers, actions) at the very same times, and the same
tallies.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from router.config import load_config
from router.core import facts as f
from router.sim.discrete import Simulation

ROOT = Path(__file__).resolve().parent.parent
START = datetime(2026, 11, 23, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai")).timestamp()  # a Monday, open


class Recording(Simulation):
    """The simulation, keeping every command it carries out (facts aside)."""

    def _how(self, kind: type):
        how = super()._how(kind)
        if isinstance(how, tuple):  # a fact's handlers
            return how

        def record(sim, command):
            sim.commands.append((sim.now, repr(command)))
            how(sim, command)

        self._carry[kind] = record
        return record


def _run(follow_all: bool, hours: float = 2.0):
    table = load_config(ROOT / "config")
    sim = Recording(table, seed=7, calls_per_hour=900, start=START)
    sim.commands = []
    seen: list[tuple[float, str]] = []
    if follow_all:
        sim.subscribe(lambda fact, now: seen.append((now, type(fact).__name__)))
    sim.start()
    sim.run_until(START + hours * 3600)
    tallies = {q: vars(t) for q, t in sim.tally.queues.items()}
    return sim, sim.commands, tallies, seen


def test_unfollowed_facts_are_the_ones_no_subscriber_follows():
    table = load_config(ROOT / "config")
    sim = Simulation(table, seed=1)
    # Only the tally (call outcomes) follows facts.
    assert f.CallQueued in sim.engine.unfollowed and f.AgentStateChanged in sim.engine.unfollowed
    assert not set(f.OUTCOME_FACTS) & sim.engine.unfollowed
    sim.subscribe(lambda fact, now: None)  # a plain subscriber follows everything
    assert sim.engine.unfollowed == frozenset()


def test_same_commands_and_tallies_whether_or_not_facts_are_followed():
    quiet, quiet_commands, quiet_tallies, _ = _run(follow_all=False)
    loud, loud_commands, loud_tallies, seen = _run(follow_all=True)
    assert quiet.arrivals == loud.arrivals > 1000
    assert len(quiet_commands) > 3 * quiet.arrivals
    assert quiet_commands == loud_commands
    assert quiet_tallies == loud_tallies
    kinds = {kind for _, kind in seen}
    assert {"CallQueued", "CallOffered", "AgentStateChanged", "CallCompleted"} <= kinds


def test_whatif_counts_see_only_the_facts_someone_follows():
    from bench.whatif_counts import counts

    r = counts(hours=0.25)
    assert r["calls"] > 300
    commands = r["commands"]
    assert commands["RingAgent"] >= r["calls"] * 0.9 and commands["AgentStateChanged"] > 3 * r["calls"]
    assert "CallQueued" not in commands and "CallOffered" not in commands  # nobody follows them in a what-if
    assert r["events"]["CallWaiting"] >= r["calls"]  # (calls still waiting at the end are not offered yet)


def test_a_whatif_run_leaves_no_reference_cycle_behind_per_call():
    """`run_profile` pauses the cycle collector (router/whatif/run.py
    `collector_off`) on the ground that a run makes no garbage only it could
    free: what a run leaves for it does not grow with the calls simulated.
    (A closure over the call in the strategies did, compiled: setup.py.)"""
    import gc

    from bench.whatif import week_speed
    from router.whatif.run import collector_off

    unreachable, calls = [], []
    for hours in (0.5, 2.0):
        gc.collect()
        with collector_off():
            assert not gc.isenabled()
            calls.append(week_speed(hours=hours)["offered"])
            unreachable.append(gc.collect())
        assert gc.isenabled()
    assert calls[1] > calls[0] + 2500
    # (the outcome's half-hour tallies, each a small cycle, go when it does:
    # a few dozen objects; a cycle per call would be thousands)
    assert unreachable[1] - unreachable[0] < (calls[1] - calls[0]) / 10, (unreachable, calls)
