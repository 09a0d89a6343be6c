"""Per-queue tallies built from the engine's published facts (counts of
the calls offered, answered, abandoned, overflowed, closed, and their waits),
and the live summary lines of `router simulate` and `router run --simulate`.

The service level routing acts on is the engine's (core/sla.py: rolling
windows, short abandons excluded); the MQTT bus, the metrics and `router
status` publish that one only. `QueueTally.service_level` is the
simulation's whole-run figure, in its summary lines and its what-if report
(which must agree): calls answered within the threshold over all calls that
finished (answered, abandoned or overflowed), the quantity the Erlang C and
A formulas predict (tests/test_whatif_validation.py checks the simulation
against them with it).
"""

from __future__ import annotations

from dataclasses import dataclass

from router.core import facts as f
from router.core.state import AgentStatus
from router.core.table import RoutingTable
from router.runtime.subscribers import by_type


@dataclass
class QueueTally:
    offered: int = 0
    answered: int = 0
    answered_in_sl: int = 0
    abandoned: int = 0
    overflowed: int = 0
    closed: int = 0
    wait_total: float = 0.0

    def service_level(self) -> float | None:
        """The whole run's service level in percent (the simulation's; see above)."""
        done = self.answered + self.abandoned + self.overflowed
        return None if done == 0 else 100.0 * self.answered_in_sl / done


class Tally:
    """The tallies of every queue; `on_fact` is its subscriber (the call
    outcomes)."""

    def __init__(self, table: RoutingTable) -> None:
        self.table = table
        self.queues: dict[str, QueueTally] = {q: QueueTally() for q in table.queues}
        self.on_fact = by_type({f.CallAnswered: self._answered, f.CallAbandoned: self._abandoned,
                                f.CallOverflowed: self._overflowed, f.CallClosed: self._closed})

    def _answered(self, fact: f.CallAnswered, now: float) -> None:
        record = self.queues.get(fact.queue)
        if record is not None:
            record.offered += 1
            record.answered += 1
            record.wait_total += fact.wait
            record.answered_in_sl += fact.wait <= self.table.queues[fact.queue].service_level.within

    def _abandoned(self, fact: f.CallAbandoned, now: float) -> None:
        record = self.queues.get(fact.queue)
        if record is not None:
            record.offered += 1
            record.abandoned += 1

    def _overflowed(self, fact: f.CallOverflowed, now: float) -> None:
        record = self.queues.get(fact.queue)
        if record is not None:
            record.offered += 1
            record.overflowed += 1

    def _closed(self, fact: f.CallClosed, now: float) -> None:
        record = self.queues.get(fact.queue)
        if record is not None:
            record.offered += 1
            record.closed += 1


def queue_now(engine, table: RoutingTable, name: str, now: float) -> tuple[int, float, int]:
    """(calls waiting, longest wait in seconds, eligible agents free) now."""
    line = [c for c in engine.line() if c.queue == name]
    longest = max((now - c.arrived for c in line), default=0.0)
    base = table.queues[name].steps[0]
    free = sum(1 for r in engine.agents.values()
               if r.status is AgentStatus.AVAILABLE and base.eligible(table.agents[r.id]))
    return len(line), longest, free


def summary_lines(engine, tally: Tally, now: float) -> list[str]:
    out = []
    for name in tally.table.queues:
        waiting, longest, free = queue_now(engine, tally.table, name, now)
        r = tally.queues[name]
        sl = "  -  " if r.service_level() is None else f"{r.service_level():4.0f}%"
        target = tally.table.queues[name].service_level
        sl += f" of {target.percent:g}%/{target.within:g}s"
        out.append(f"{name:<11} waiting {waiting:3d}  longest {longest:5.0f}s  SL {sl:<16}  answered {r.answered:4d}  "
                   f"abandoned {r.abandoned:3d}  overflowed {r.overflowed + r.closed:3d}  free agents {free:2d}")
    return out
