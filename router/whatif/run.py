"""One what-if run: the real rules through simulated traffic, measured.

`run_profile` plays a traffic profile for whole days; `run_flat` the old
flat traffic (one rate, call types from the rules). Both give an `Outcome`:
per queue offered calls, service level, ASA, abandon rate and occupancy,
and the same per interval of arrival (for the staffing check).

Occupancy of a queue is the share of its agents' staffed time they spent
ringing, talking or in after-call work, over the agents who can take its
calls at its first step (an agent with several skills counts in each of
their queues). Staffed: logged in and not on a break.
"""

from __future__ import annotations

import contextlib
import copy
import gc
import math
import sys
from datetime import timedelta
from dataclasses import dataclass, field

from mypy_extensions import mypyc_attr

from router.core import facts as f
from router.core.table import RoutingTable
from router.sim.discrete import Simulation
from router.runtime.tally import Tally
from router.runtime.subscribers import by_type
from router.whatif.profile import Profile
from router.whatif.world import ProfileWorld, midnight

WORKING = ("reserved", "on_call", "wrapup")
ACW = "after-call work"  # the pause the simulation uses for long after-call work


@mypyc_attr(serializable=True)  # (copied with the outcome; setup.py compiles it)
class AgentClock:
    """Time per agent spent working and staffed, from the engine's
    state changes (`observe` follows AgentStateChanged)."""

    def __init__(self) -> None:
        self.state: dict[str, tuple[str, str, float]] = {}  # agent -> (state, reason, since)
        self.worked: dict[str, float] = {}
        self.staffed: dict[str, float] = {}

    def observe(self, fact: f.AgentStateChanged, now: float) -> None:
        # (`_close` spelt out: about five agent states a call, a week's million)
        agent, state = fact.agent, self.state
        was = state.get(agent)
        if was is not None:
            old, reason, since = was
            span = now - since
            working = old in WORKING or (old == "paused" and reason == ACW)
            if working:
                self.worked[agent] = self.worked.get(agent, 0.0) + span
            if working or old == "available":
                self.staffed[agent] = self.staffed.get(agent, 0.0) + span
        state[agent] = (fact.state, fact.reason, now)

    def _close(self, agent: str, now: float) -> None:
        was = self.state.get(agent)
        if was is None:
            return
        state, reason, since = was
        span = now - since
        working = state in WORKING or (state == "paused" and reason == ACW)
        if working:
            self.worked[agent] = self.worked.get(agent, 0.0) + span
        if working or state == "available":
            self.staffed[agent] = self.staffed.get(agent, 0.0) + span

    def finish(self, now: float) -> None:
        for agent in list(self.state):
            self._close(agent, now)
            state, reason, _ = self.state[agent]
            self.state[agent] = (state, reason, now)


@mypyc_attr(serializable=True)
@dataclass
class Outcome:
    table: RoutingTable
    tally: Tally
    clock: AgentClock
    interval: float
    day0: float
    by_interval: dict[int, Tally] = field(default_factory=dict)  # index from day0 -> tally

    def __post_init__(self) -> None:
        #: the subscriber: agent states to the clock, outcomes to their interval's tally
        self.on_fact = by_type({f.AgentStateChanged: self.clock.observe,
                                **dict.fromkeys(f.OUTCOME_FACTS, self._outcome)})

    def _outcome(self, fact: f.CallAnswered | f.CallAbandoned | f.CallOverflowed | f.CallClosed,
                 now: float) -> None:
        index = int((now - fact.wait - self.day0) // self.interval)
        tally = self.by_interval.get(index)
        if tally is None:
            tally = self.by_interval[index] = Tally(self.table)
        tally.on_fact(fact, now)

    def metrics(self, queue: str) -> dict[str, float]:
        """offered, SL (%), ASA (s), abandon (%), occupancy (%) of `queue`;
        NaN where nothing was measured."""
        r = self.tally.queues[queue]
        sl = r.service_level()
        base = self.table.queues[queue].steps[0]
        eligible = [a for a in self.table.agents.values() if base.eligible(a)]
        staffed = sum((self.clock.staffed.get(a.id, 0.0) for a in eligible), 0.0)
        worked = sum((self.clock.worked.get(a.id, 0.0) for a in eligible), 0.0)
        nan = math.nan
        return {"offered": float(r.offered),
                "SL": nan if sl is None else sl,
                "ASA": r.wait_total / r.answered if r.answered else nan,
                "abandon": 100.0 * r.abandoned / r.offered if r.offered else nan,
                "occupancy": 100.0 * worked / staffed if staffed else nan}


#: With records, the run goes in steps of this many simulated seconds, ticking
#: the records subscriber as a running router's clock would.
RECORDS_TICK = 60.0


@contextlib.contextmanager
def collector_off():
    """Python's cycle collector paused for a run, as it was after. Why: a
    run leaves no reference cycle behind per call (tests/test_sim_speed.py
    counts them), so the collector's passes over every young object (some
    millions a simulated week) found nothing to free; freed objects go by
    their reference counts as ever, and the memory stays flat."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def _run(table: RoutingTable, sim_args: dict, end: float, interval: float, day0: float,
         records=None, simulation: type[Simulation] = Simulation) -> Outcome:
    sim = simulation(table, start=day0, **sim_args)
    outcome = Outcome(table, sim.tally, AgentClock(), interval, day0)
    sim.subscribe(outcome.on_fact)
    if records is None:  # (with records, their assembly is not checked for cycles: the collector runs)
        sim.start()
        with collector_off():
            sim.run_until(end)
    else:  # the same run, put on record (router/sim/recorded.py): same seed, same figures
        from router.sim.recorded import SimRecords

        recorded = SimRecords(records, lambda: sim.engine.table, day0, sys.stdout)
        sim.subscribe(recorded.subscriber)
        sim.start()
        t = day0
        while t < end:
            t = min(t + RECORDS_TICK, end)
            sim.run_until(t)
            recorded.tick(t)
        outcome.clock.finish(end)
        # The figures are of the simulated time, as without records (same
        # seed, same figures); the records go on to hold every call offered
        # in it: the outcome is copied here, and the warm-down runs on past it.
        kept = copy.deepcopy(outcome, {id(table): table})
        roster_after = getattr(sim.world, "roster_after", None)
        # a callback parked overnight needs agents (a ProfileWorld has both)
        if roster_after is not None and end >= sim.world.end():  # type: ignore[attr-defined]
            roster_after(sim)
        recorded.finish(recorded.warm_down(sim, end))
        return kept
    outcome.clock.finish(end)
    return outcome


def run_profile(table: RoutingTable, profile: Profile, *, start, days: int, seed: int, tz,
                hours: float | None = None, records=None, simulation: type[Simulation] = Simulation) -> Outcome:
    """`days` whole days of `profile` from local midnight of date `start`
    (or only the first `hours` of them); with `records` (RecordsSettings,
    router/records/setup.py) written to the call records as a running
    router writes them, every call offered in the run included (the warm-down
    of router/sim/recorded.py; the outcome is of the run's time only).
    `simulation`: the class that runs it (bench/whatif_counts.py counts
    through a subclass)."""
    def world(t, rng):
        return ProfileWorld(t, rng, profile, start, days, tz)

    day0 = midnight(start, tz)
    end = midnight(start + timedelta(days=days), tz) if hours is None else day0 + hours * 3600.0
    return _run(table, {"seed": seed, "world": world}, end, profile.interval, day0, records, simulation)


def run_flat(table: RoutingTable, *, start: float, duration: float, seed: int, calls_per_hour: float,
             agents: int | None) -> Outcome:
    """The flat traffic of plain `router simulate` (same seed, same run)."""
    return _run(table, {"seed": seed, "calls_per_hour": calls_per_hour, "agents": agents},
                start + duration, 1800.0, start)


def report(outcome: Outcome) -> str:
    """Per queue: offered, answered, SL against target, ASA, abandons, occupancy."""
    rows = [f"{'queue':<11} {'offered':>7} {'answered':>8} {'SL':>5} {'target':>10} {'ASA':>6} "
            f"{'abandon':>7} {'overflow':>8} {'occupancy':>9}"]
    for name, r in outcome.tally.queues.items():
        m = outcome.metrics(name)
        target = outcome.table.queues[name].service_level
        rows.append(f"{name:<11} {r.offered:7d} {r.answered:8d} {_pct(m['SL']):>5} "
                    f"{f'{target.percent:g}%/{target.within:g}s':>10} {_num(m['ASA'], 's'):>6} "
                    f"{_pct(m['abandon'], 1):>7} {r.overflowed + r.closed:8d} {_pct(m['occupancy']):>9}")
    return "\n".join(rows)


def _pct(x: float, digits: int = 0) -> str:
    return "-" if math.isnan(x) else f"{x:.{digits}f}%"


def _num(x: float, unit: str) -> str:
    return "-" if math.isnan(x) else f"{x:.1f}{unit}"

