"""`router simulate CONFIG --replay URL --date DATE --seeds N`: the recorded
day replayed with N seeds, each queue's figures as a mean over the seeds
with a 95% confidence interval (router/whatif/compare.py's `mean_ci`).

What a replay keeps is the same under every seed: the calls, their arrival
moments, variables, talk and after-call work, the abandoned callers'
patience, the agents' sessions and breaks. What the seed redraws is what
the records cannot tell: the patience of the callers who were answered
(beyond their recorded wait), the agents' answer delays and no-answers,
and the talk of calls that were not answered. The interval says how much
the replayed figure depends on those draws; a recorded figure far outside
it, with the same config, is a replay that does not give the day back.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from router.core.table import RoutingTable
from router.whatif.compare import mean_ci
from router.whatif.replay import Day, ReplayWorld
from router.whatif.replay_run import Figures, replay

#: (name, unit, the figure of a queue's Figures)
METRICS: tuple[tuple[str, str, Callable[[Figures], float]], ...] = (
    ("answered", "", lambda f: float(f.answered)),
    ("SL", "%", lambda f: f.sl),
    ("ASA", "s", lambda f: f.asa),
    ("abandon", "%", lambda f: f.abandon))


def replay_seeds(table: RoutingTable, day: Day, seeds: list[int],
                 progress: Callable[[str], None] = lambda line: None
                 ) -> tuple[list[dict[str, Figures]], ReplayWorld]:
    """The day through `table` once per seed: (per seed, per queue figures;
    the last run's world, for its notes)."""
    runs, world = [], None
    for seed in seeds:
        figures, world = replay(table, day, seed)
        runs.append(figures)
        progress(f"seed {seed}: done")
    return runs, world


def summary(runs: list[dict[str, Figures]]) -> dict[str, dict[str, tuple[float, float]]]:
    """{queue: {metric: (mean over the seeds, 95% half-width)}}; a seed in
    which the queue measured nothing (no call finished in it) is left out
    of that queue's figure, as in --compare."""
    queues = sorted({q for run in runs for q in run})
    return {q: {name: mean_ci([value(run[q]) if q in run else math.nan for run in runs])
                for name, _, value in METRICS} for q in queues}


def _cell(mean: float, half: float, unit: str) -> str:
    if math.isnan(mean):
        return "-"
    return f"{mean:.1f}{unit}" + ("" if math.isnan(half) else f" ±{half:.1f}")


def report(table: RoutingTable, before: dict[str, Figures], stats: dict[str, dict[str, tuple]], seeds: int) -> str:
    """Per queue, the recorded figure beside the replay's mean ± interval
    (the config's queues first, then recorded queues it does not have)."""
    rows = [f"recorded (rec) beside the replay's mean over {seeds} seeds ± 95% confidence interval",
            f"{'queue':<11} {'offered':>7} " + " ".join(f"{name + ' rec':>12} {'replayed':>13}"
                                                        for name, _, _ in METRICS)]
    names = list(table.queues) + sorted(q for q in {*before, *stats} if q not in table.queues)
    for q in names:
        rec = before.get(q, Figures())
        if q not in stats and not rec.offered:
            continue
        cells = []
        for name, unit, value in METRICS:
            mean, half = stats.get(q, {}).get(name, (math.nan, math.nan))
            mine = f"{rec.answered:d}" if name == "answered" else _cell(value(rec), math.nan, unit)
            cells.append(f"{mine:>12} {_cell(mean, half, unit):>13}")
        rows.append(f"{q:<11} {rec.offered:7d} " + " ".join(cells))
    return "\n".join(rows)
