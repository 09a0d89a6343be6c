"""`router simulate --compare CONFIG_A CONFIG_B`: the same traffic through
two configs, over several seeds, with confidence intervals.

Seed k drives both runs (common random numbers: the same callers arrive at
the same moments with the same draws until the rules make the two runs
differ), so the difference B - A is judged per seed, which gives a much
narrower interval than comparing two independent means. Intervals are 95%
Student t over the seeds; a run where a queue measured nothing (no call
offered) is left out of that queue's figure.

With `jobs` > 1 (and no other thread in this process) the seeds run in
forked worker processes (each seed's pair
of runs is independent and deterministic, so the result is the same as in
one process; tests/test_whatif_compare_jobs.py checks it), and only their
figures come back: a week over five seeds uses every core.
"""

from __future__ import annotations

import math
import multiprocessing
import signal
import statistics
import threading
from collections.abc import Callable

from router.whatif.run import Outcome

#: Student t, two-sided 95%, by degrees of freedom (1..30); beyond, 1.96.
_T95 = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160,
        2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056,
        2.052, 2.048, 2.045, 2.042)
METRICS = (("SL", "%"), ("ASA", "s"), ("abandon", "%"), ("occupancy", "%"))


def mean_ci(values: list[float]) -> tuple[float, float]:
    """(mean, half-width of its 95% confidence interval); NaNs ignored;
    half-width NaN with fewer than two values."""
    xs = [x for x in values if not math.isnan(x)]
    if not xs:
        return math.nan, math.nan
    if len(xs) < 2:
        return xs[0], math.nan
    t = _T95[len(xs) - 2] if len(xs) - 1 <= len(_T95) else 1.96
    return statistics.fmean(xs), t * statistics.stdev(xs) / math.sqrt(len(xs))


def _pair(run_a: Callable[[int], Outcome], run_b: Callable[[int], Outcome], seed: int) -> tuple:
    """Seed `seed` through both runs: (queues of both, A's and B's metrics)."""
    a, b = run_a(seed), run_b(seed)
    queues = [q for q in a.table.queues if q in b.table.queues]
    return queues, {q: a.metrics(q) for q in queues}, {q: b.metrics(q) for q in queues}


#: The two runs, for forked workers (closures do not pickle; a fork inherits them).
_FORKED: tuple | None = None


def _worker_start() -> None:
    """A worker dies of SIGTERM, whatever the parent had set: Pool's
    terminate() ends its workers with it, and one that inherited a handler
    (router run's `hold_signals`, left behind by a run that stopped before
    its loop) would never end, nor would the parent's wait for it (seen: a
    test process hung)."""
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, signal.SIG_DFL)


def _forked_pair(seed: int) -> tuple:
    assert _FORKED is not None
    return _pair(*_FORKED, seed)


def compare(run_a: Callable[[int], Outcome], run_b: Callable[[int], Outcome], seeds: list[int],
            progress: Callable[[str], None] = lambda line: None, jobs: int = 1) -> dict:
    """{queue: {metric: (A mean, A ci, B mean, B ci, diff mean, diff ci)}}
    for the queues both configs have; `jobs` worker processes at most."""
    global _FORKED
    per_seed = []
    # fork only a single-threaded process: a lock another thread holds at the
    # fork stays held in the child for ever (seen: a worker forked from a
    # test process hung); with threads the seeds run here, one by one
    if jobs > 1 and len(seeds) > 1 and threading.active_count() == 1:
        _FORKED = (run_a, run_b)
        try:
            with multiprocessing.get_context("fork").Pool(min(jobs, len(seeds)), _worker_start) as pool:
                for seed, got in zip(seeds, pool.imap(_forked_pair, seeds)):
                    progress(f"seed {seed}: done")
                    per_seed.append(got)
                pool.close()  # every seed is in: the workers end of themselves
                pool.join()
        finally:
            _FORKED = None
    else:
        for seed in seeds:
            per_seed.append(_pair(run_a, run_b, seed))
            progress(f"seed {seed}: done")
    queues = per_seed[0][0]
    out: dict[str, dict[str, tuple]] = {}
    for q in queues:
        rows = {}
        for metric, _ in METRICS:
            xa = [a[q][metric] for _, a, _ in per_seed]
            xb = [b[q][metric] for _, _, b in per_seed]
            diff = [y - x for x, y in zip(xa, xb)]
            rows[metric] = (*mean_ci(xa), *mean_ci(xb), *mean_ci(diff))
        out[q] = rows
    return out


def _cell(mean: float, half: float, unit: str, signed: bool = False) -> str:
    if math.isnan(mean):
        return "-"
    sign = "+" if signed else ""
    text = f"{mean:{sign}.1f}{unit}"
    return text if math.isnan(half) else f"{text} ±{half:.1f}"


def format_comparison(result: dict, name_a: str, name_b: str, seeds: int) -> str:
    rows = [f"A = {name_a}, B = {name_b}; mean over {seeds} seeds ± 95% confidence interval; "
            "B-A paired per seed",
            f"{'queue':<11} {'metric':<9} {'A':>14} {'B':>14} {'B-A':>14}"]
    for q, metrics in result.items():
        for metric, unit in METRICS:
            ma, ha, mb, hb, md, hd = metrics[metric]
            rows.append(f"{q:<11} {metric:<9} {_cell(ma, ha, unit):>14} {_cell(mb, hb, unit):>14} "
                        f"{_cell(md, hd, unit, signed=True):>14}")
    return "\n".join(rows)
