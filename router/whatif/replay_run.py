"""Running a replay (router/whatif/replay.py) and setting its figures beside
the recorded ones.

Both sides use docs/SERVICE-LEVEL.md's definitions, per final queue:
offered = calls that finished in the queue (answered, abandoned,
overflowed, closed, callback); SL = answered within the queue's threshold /
(answered + abandoned after `short_abandon` + overflowed); ASA = mean wait
of the answered calls; abandon rate = abandoned / offered. The recorded
side reads the records' own `sl_counted` / `sl_met` (judged with the
thresholds in force on the day); the simulated side judges with the
candidate config's thresholds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from sqlalchemy import and_, case, func, select

from router.core import facts as fc
from router.core.sla import judge
from router.core.table import RoutingTable
from router.runtime.subscribers import by_type
from router.sim.discrete import Simulation
from router.whatif.records_db import CALLS
from router.whatif.replay import Day, ReplayWorld

#: After the day's last midnight the replay runs on this long, so that the
#: late calls finish (answered, abandoned) as they did on the day.
SPILL = 2 * 3600.0


@dataclass
class Figures:
    offered: int = 0
    answered: int = 0
    abandoned: int = 0
    counted: int = 0
    met: int = 0
    wait: float = 0.0  # total wait of the answered calls

    @property
    def sl(self) -> float:
        return 100.0 * self.met / self.counted if self.counted else math.nan

    @property
    def asa(self) -> float:
        return self.wait / self.answered if self.answered else math.nan

    @property
    def abandon(self) -> float:
        return 100.0 * self.abandoned / self.offered if self.offered else math.nan

    @classmethod
    def total(cls, figures) -> "Figures":
        """The sum of several queues' figures (the centre as one)."""
        out = cls()
        for f in figures:
            out.offered += f.offered
            out.answered += f.answered
            out.abandoned += f.abandoned
            out.counted += f.counted
            out.met += f.met
            out.wait += f.wait
        return out


class Book:
    """Per queue figures of a simulated run, from the engine's outcome facts."""

    def __init__(self, table: RoutingTable) -> None:
        self.table = table
        self.short = table.settings.enforcement.short_abandon
        self.queues: dict[str, Figures] = {}

        self.observe = by_type({fc.CallAnswered: self._answered, fc.CallAbandoned: self._abandoned,
                                fc.CallOverflowed: self._overflowed, fc.CallClosed: self._closed})

    def _figures(self, fact) -> Figures | None:
        """The queue's figures, None for a callback's own leg (not a call of the day)."""
        if fact.call.startswith("cb-"):
            return None
        figures = self.queues.setdefault(fact.queue, Figures())
        figures.offered += 1
        return figures

    def _judged(self, fact, outcome: str) -> Figures | None:
        figures = self._figures(fact)
        if figures is not None:
            counted, met = judge(outcome, fact.wait, self.table.queues[fact.queue].service_level.within, self.short)
            figures.counted += counted
            figures.met += met
        return figures

    def _answered(self, fact: fc.CallAnswered, now: float) -> None:
        figures = self._judged(fact, "answered")
        if figures is not None:
            figures.answered += 1
            figures.wait += fact.wait

    def _abandoned(self, fact: fc.CallAbandoned, now: float) -> None:
        figures = self._judged(fact, "abandoned")
        if figures is not None:
            figures.abandoned += 1

    def _overflowed(self, fact: fc.CallOverflowed, now: float) -> None:
        self._judged(fact, "overflowed")

    def _closed(self, fact: fc.CallClosed, now: float) -> None:
        self._judged(fact, "closed")


def recorded(engine, day: Day) -> dict[str, Figures]:
    """Per final queue figures of the day, as recorded."""
    c = CALLS.c
    answered = c.outcome == "answered"
    rows = select(c.final_queue, func.count(), func.sum(case((answered, 1), else_=0)),
                  func.sum(case((c.outcome == "abandoned", 1), else_=0)),
                  func.sum(case((c.sl_counted, 1), else_=0)), func.sum(case((c.sl_met, 1), else_=0)),
                  func.sum(case((answered, c.wait), else_=0.0)))
    where = and_(c.kind == "inbound", c.local_date == day.date.isoformat())
    with engine.connect() as conn:
        result = conn.execute(rows.where(where).group_by(c.final_queue)).all()
    return {q: Figures(n, a, ab, counted, met, wait or 0.0) for q, n, a, ab, counted, met, wait in result}


def replay(table: RoutingTable, day: Day, seed: int = 1) -> tuple[dict[str, Figures], ReplayWorld]:
    """The day through `table`: (per queue figures, the world, for its notes)."""
    book = Book(table)
    sim = Simulation(table, start=day.start, seed=seed, world=lambda t, rng: ReplayWorld(t, rng, day))
    sim.subscribe(book.observe)
    sim.start()
    sim.run_until(day.end + SPILL)
    return book.queues, sim.world


def _n(x: float, unit: str, digits: int = 0) -> str:
    return "-" if math.isnan(x) else f"{x:.{digits}f}{unit}"


def _d(a: float, b: float, unit: str, digits: int = 0) -> str:
    return "-" if math.isnan(a) or math.isnan(b) else f"{b - a:+.{digits}f}{unit}"


def report(table: RoutingTable, before: dict[str, Figures], after: dict[str, Figures]) -> str:
    """Recorded beside replayed, per queue (the config's queues, then any
    recorded queue the config does not have)."""
    head = (f"{'':<11} {'offered':>13} {'answered':>13} {'SL':>20} {'ASA':>20} {'abandon':>21}",
            f"{'queue':<11} {'rec':>6} {'sim':>6} {'rec':>6} {'sim':>6} {'rec':>6} {'sim':>6} {'diff':>6} "
            f"{'rec':>6} {'sim':>6} {'diff':>6} {'rec':>6} {'sim':>6} {'diff':>7}")
    rows = list(head)
    names = list(table.queues) + sorted(q for q in before if q not in table.queues)
    for q in names:
        a, b = before.get(q, Figures()), after.get(q, Figures())
        if not a.offered and not b.offered:
            continue
        rows.append(f"{q:<11} {a.offered:6d} {b.offered:6d} {a.answered:6d} {b.answered:6d} "
                    f"{_n(a.sl, '%', 1):>6} {_n(b.sl, '%', 1):>6} {_d(a.sl, b.sl, '', 1):>6} "
                    f"{_n(a.asa, 's', 1):>6} {_n(b.asa, 's', 1):>6} {_d(a.asa, b.asa, 's', 1):>6} "
                    f"{_n(a.abandon, '%', 1):>6} {_n(b.abandon, '%', 1):>6} {_d(a.abandon, b.abandon, '', 1):>7}")
    return "\n".join(rows)
