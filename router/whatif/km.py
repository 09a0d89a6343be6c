"""Caller patience from censored waits: the Kaplan–Meier estimator.

A caller who abandoned after waiting w tells us their patience: w. A caller
who was answered (or sent on by an action) after w tells us only that their
patience was more than w: the observation is right-censored. Averaging the
abandons' waits alone would say callers are impatient (the patient ones were
answered before they could show it); Kaplan–Meier uses both.

    S(t) = prod over event times t_i <= t of (1 - d_i / n_i)

with d_i the abandons at t_i and n_i the callers still waiting just before
t_i (every call whose wait is >= t_i: censored calls at t_i count as still
at risk there, the usual convention). Pure functions over aggregated
(time, events, censored) triples, so that the database does the counting.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterable
from dataclasses import dataclass

from router.whatif.profile import NEVER, Dist


@dataclass(frozen=True)
class Curve:
    """A Kaplan–Meier survival curve: S(t) = survival[i] for
    times[i] <= t < times[i + 1]; S = 1 before times[0]."""

    times: tuple[float, ...]  # event times, ascending
    survival: tuple[float, ...]  # S just after each event time
    calls: int  # observations (events + censored)
    events: int
    exposure: float  # total observed waiting time (every call's wait)

    def at(self, t: float) -> float:
        """S(t): the share of callers whose patience is more than t."""
        i = bisect.bisect_right(self.times, t)
        return 1.0 if i == 0 else self.survival[i - 1]

    def quantile(self, p: float) -> float | None:
        """The smallest event time by which a share >= p of callers gave
        up; None when the curve never gets that far (too many were still
        waiting when the data ends)."""
        for t, s in zip(self.times, self.survival):
            if 1.0 - s >= p - 1e-12:
                return t
        return None


def kaplan_meier(observations: Iterable[tuple[float, int, int]]) -> Curve:
    """The curve from (time, events, censored) triples (times need not be
    distinct or sorted; counts at the same time are added)."""
    at: dict[float, list[int]] = {}
    for t, d, c in observations:
        slot = at.setdefault(float(t), [0, 0])
        slot[0] += int(d)
        slot[1] += int(c)
    at_risk = sum(d + c for d, c in at.values())
    calls, events = at_risk, sum(d for d, _ in at.values())
    exposure = sum(t * (d + c) for t, (d, c) in at.items())
    times, survival, s = [], [], 1.0
    for t in sorted(at):
        d, c = at[t]
        if d:
            s *= 1.0 - d / at_risk
            times.append(t)
            survival.append(s)
        at_risk -= d + c
    return Curve(tuple(times), tuple(survival), calls, events, exposure)


def tail_mean(curve: Curve) -> float:
    """Mean of the exponential tail used past the curve's last event: the
    censored-exponential estimate, observed waiting time / abandons."""
    return curve.exposure / curve.events if curve.events else math.inf


def draw_beyond(curve: Curve, wait: float, u: float) -> float:
    """A patience drawn from the curve given that it is more than `wait`
    (a caller answered after `wait`): P(T > t | T > wait) = S(t) / S(wait),
    inverted at `u` in [0, 1). Past the last event time the exponential
    tail of `tail_mean` continues the curve; no abandons at all: inf."""
    if not curve.events:
        return math.inf
    base = curve.at(wait)
    target = (1.0 - u) * base  # the survival level this caller gives up at
    # first event after `wait` whose S <= target (S only falls: binary search)
    lo, hi = bisect.bisect_right(curve.times, wait), len(curve.times)
    while lo < hi:
        mid = (lo + hi) // 2
        if curve.survival[mid] <= target:
            hi = mid
        else:
            lo = mid + 1
    if lo < len(curve.times):
        return curve.times[lo]
    start, level = max(curve.times[-1], wait), min(curve.survival[-1], base)
    return start + tail_mean(curve) * math.log(level / target) if target > 0 else math.inf


def patience_dist(curve: Curve, values: int = 50) -> Dist:
    """An empirical patience distribution (`values` equally likely
    durations) at the curve's quantiles (i + 0.5) / values; the levels the
    curve does not reach (callers still waiting when every observation had
    ended) are continued by the exponential tail (`tail_mean`) from the
    last event time. No abandons on record: callers who never give up."""
    if not curve.events:
        return NEVER
    out = []
    last_t, last_s, mean = curve.times[-1], curve.survival[-1], tail_mean(curve)
    for i in range(values):
        p = (i + 0.5) / values
        t = curve.quantile(p)
        out.append(t if t is not None else last_t + mean * math.log(last_s / (1.0 - p)))
    return Dist("empirical", values=tuple(out))
