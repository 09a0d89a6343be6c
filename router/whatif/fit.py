"""`router traffic fit`: a traffic profile measured from the call records.

Every figure is aggregated by the database (GROUP BY per call type, date
and interval; per queue; per distinct second of wait): what comes back to
Python is bounded by call types x days x intervals, not by calls, so a
month of a large centre fits in seconds.

- **Call types**: one per (rule, dialled number) of the inbound calls: the
  rule that classified them is what the config's routing made of them. Its
  IVR variables are the most frequent variables of its calls (they satisfy
  the rule, since the rule took those calls); its caller pattern is the
  longest prefix common to all its callers (an exact number if only one
  called, none if they share nothing).
- **Arrivals**: calls per interval per weekday, the mean over the dates of
  that weekday in the range (a date with no calls counts as 0).
- **Talk and after-call work**: per queue (the final queue of the answered
  calls), a lognormal with the sample mean and standard deviation of the
  durations; with fewer than MIN_FIT answered calls, the empirical list of
  them. A call type gets the times of the queue most of its answered calls
  ended in. After-call work = the record's wrap-up + the "after-call work"
  pause its agent went into straight after it, if any (joined in SQL on
  agent and time, through the agent states' primary key).
- **Patience**: Kaplan–Meier (router/whatif/km.py) over every call's wait
  per call type (abandoned: an event; answered, overflowed, callback:
  censored; closed calls never waited and are left out), written as an
  empirical distribution of PATIENCE_VALUES quantiles; a call type with
  fewer than MIN_FIT calls uses the curve of all calls.
- **Answer delay**: Kaplan–Meier over the rings (`ringing`): an answered
  offer is an event at rung_at -> ended_at, one that rang out (no-answer,
  timeout) or was withdrawn (the caller hung up, the agent paused) is
  censored there; busy and failed offers are not rings. The delay is a
  lognormal of the answered rings' mean and spread as the curve weighs
  them (empirical when few); **no-answer** is the share the curve never
  sees answered. (The answered offers alone are the quick ones: callers
  hang up on the long rings.)
- **Callbacks reached**: the share of callback dials that reached the
  customer (`callbacks_reached`: done callbacks over all dials on record).
- **Roster**: router/whatif/fit_roster.py.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter, defaultdict
from datetime import date

from sqlalchemy import and_, case, func, select
from sqlalchemy.engine import Engine

from router.whatif.fit_roster import fit_roster
from router.whatif.km import Curve, kaplan_meier, patience_dist
from router.whatif.profile import ZERO, CallType, Dist, Profile
from router.whatif.records_db import ACW, CALLBACKS, CALLS, OFFERS, STATES, RecordsInputError, days

#: Fewer observations than this: an empirical list instead of a fitted lognormal.
MIN_FIT = 30
PATIENCE_VALUES = 50
_NAME_BAD = re.compile(r"[^A-Za-z0-9_.-]+")


def lognormal_or_list(n: int, mean: float | None, mean_sq: float | None, few: list[float]) -> Dist:
    """A lognormal of the sample mean and sd (sd with n - 1), or the list
    `few` when n < MIN_FIT; a fixed time when there is no spread (or no
    time worth a whole second, the profile's unit)."""
    if n == 0:
        return ZERO
    if n < MIN_FIT:
        return Dist("empirical", values=tuple(sorted(float(x) for x in few)))
    var = max(0.0, (mean_sq - mean * mean) * n / (n - 1))
    sd = math.sqrt(var)
    if round(mean) < 1 or round(sd) < 1:
        return Dist("fixed", max(0.0, mean))
    return Dist("lognormal", mean, sd)


def _where(first: date, last: date):
    return and_(CALLS.c.kind == "inbound", CALLS.c.local_date >= first.isoformat(),
                CALLS.c.local_date <= last.isoformat())


def _common_prefix(a: str, b: str) -> str:
    i = 0
    while i < min(len(a), len(b)) and a[i] == b[i]:
        i += 1
    return a[:i]


def _name(rule: str, dnis: str, several: bool) -> str:
    text = f"{rule}-{dnis}" if several else rule
    return (_NAME_BAD.sub("-", text).strip("-.") or "calls")[:64]


def _with_acw():
    """calls left-joined to the after-call work pause its agent went into
    straight after the call (its first two quarter-hour pieces), and the
    call's after-call work: wrap-up + that pause."""
    c = CALLS.c
    p1, p2 = STATES.alias("acw1"), STATES.alias("acw2")
    end = c.ended_at + func.coalesce(c.wrapup, 0.0)
    first = and_(p1.c.agent_id == c.answered_by, p1.c.started_at >= end - 0.001, p1.c.started_at <= end + 0.001,
                 p1.c.state == "paused", p1.c.reason == ACW)
    second = and_(p2.c.agent_id == p1.c.agent_id, p2.c.started_at == p1.c.ended_at, p2.c.state == "paused",
                  p2.c.reason == ACW)
    joined = CALLS.outerjoin(p1, first).outerjoin(p2, second)
    work = func.coalesce(c.wrapup, 0.0) + func.coalesce(p1.c.duration, 0.0) + func.coalesce(p2.c.duration, 0.0)
    return joined, work


def _times(conn, where) -> dict[str, tuple[Dist, Dist]]:
    """queue -> (talk, after-call work) of its answered calls. After-call
    work is the record's wrap-up plus an after-call-work pause that follows
    it (the agent paused for the rest of the work: router/sim/discrete.py
    does, and so may a real agent)."""
    c = CALLS.c
    answered = and_(where, c.outcome == "answered", c.talk.is_not(None))
    joined, wrap = _with_acw()
    rows = conn.execute(select(c.final_queue, func.count(), func.avg(c.talk), func.avg(c.talk * c.talk),
                               func.avg(wrap), func.avg(wrap * wrap))
                        .select_from(joined).where(answered).group_by(c.final_queue)).all()
    out = {}
    for queue, n, talk, talk2, work, work2 in rows:
        few = [] if n >= MIN_FIT else conn.execute(
            select(c.talk, wrap).select_from(joined).where(and_(answered, c.final_queue == queue))).all()
        out[queue] = (lognormal_or_list(n, talk, talk2, [t for t, _ in few]),
                      lognormal_or_list(n, work, work2, [w for _, w in few]))
    return out


def _patience(conn, where) -> tuple[dict[tuple[str, str], Dist], Dist]:
    """(per (rule, dnis) patience, the patience of all calls)."""
    c = CALLS.c
    second = func.round(c.wait).label("t")
    gave_up = func.sum(case((c.outcome == "abandoned", 1), else_=0))
    stayed = func.sum(case((c.outcome == "abandoned", 0), else_=1))
    rows = conn.execute(select(c.rule, c.dnis, second, gave_up, stayed)
                        .where(and_(where, c.outcome != "closed", c.reason != "incomplete"))
                        .group_by(c.rule, c.dnis, second)).all()
    per: dict[tuple[str, str], list] = defaultdict(list)
    for rule, dnis, t, d, n in rows:
        per[(rule, dnis)].append((float(t), int(d), int(n)))
    pooled = kaplan_meier(obs for group in per.values() for obs in group)
    overall = patience_dist(pooled, PATIENCE_VALUES)
    out = {}
    for key, obs in per.items():
        curve = kaplan_meier(obs)
        out[key] = patience_dist(curve, PATIENCE_VALUES) if curve.calls >= MIN_FIT else overall
    return out, overall


def answering(conn, where) -> tuple[Dist, float]:
    """(answer delay, no-answer probability) from the offers of the calls in
    `where`, by the rings' curve (`ringing`): no-answer is the share of
    rings the curve never sees answered, the delay the answered rings'
    time as the curve weighs them (its mean and spread), so that the rings
    a caller hung up on count, as they would have been answered later."""
    curve = ringing(conn, where)
    if not curve.events:
        return Dist("fixed", 3.0), (1.0 if curve.calls else 0.0)
    mean = mean2 = 0.0
    before = 1.0
    for t, s in zip(curve.times, curve.survival):
        mean, mean2, before = mean + t * (before - s), mean2 + t * t * (before - s), s
    answered = 1.0 - curve.survival[-1]
    few = list(curve.times) if curve.events < MIN_FIT else []
    return lognormal_or_list(curve.events, mean / answered, mean2 / answered, few), curve.survival[-1]


def callbacks_reached(conn, first: date, last: date) -> float:
    """The share of callback dials that reached the customer, from the
    callbacks promised from `first` to `last`: each done callback is one
    reached dial after `attempts - 1` failed ones, each failed one
    `attempts` failed dials (Bernoulli trials: reached / dials is the
    estimate). Callbacks never dialled (no number, on record incomplete)
    tell nothing. 1.0 when no dial is on record."""
    cb = CALLBACKS.c
    done, dials = conn.execute(
        select(func.sum(case((cb.outcome == "done", 1), else_=0)), func.sum(cb.attempts))
        .where(and_(cb.local_date >= first.isoformat(), cb.local_date <= last.isoformat(),
                    cb.attempts > 0, cb.reason != "incomplete"))).one()
    return done / dials if dials else 1.0


def ringing(conn, where) -> Curve:
    """How long agents take to answer, from the offers of the calls in
    `where`: Kaplan–Meier over the rings (router/whatif/km.py), an answered
    offer an event at its length, one that rang out or was withdrawn (the
    caller hung up, the agent paused) censored at its length. The long
    rings are the ones a caller gives up on, so the answered ones alone
    are too quick (docs/WHATIF.md, "Is the replay biased?"). What the curve does not reach
    (S after its last answer) is the share of offers nobody answers within
    the day's rings. Busy, congestion and failures are not rings: left out."""
    o = OFFERS.c
    joined = OFFERS.join(CALLS, CALLS.c.call_id == o.call_id)
    rang = o.outcome.in_(("answered", "no-answer", "timeout", "withdrawn"))
    rows = conn.execute(select(o.ended_at - o.rung_at, o.outcome).select_from(joined)
                        .where(and_(where, rang))).all()
    return kaplan_meier((max(0.0, t), int(k == "answered"), int(k != "answered")) for t, k in rows)


def fit(engine: Engine, first: date, last: date, *, interval: float = 1800.0, table=None,
        timezone: str | None = None) -> tuple[Profile, list[str]]:
    """(the profile of the records from `first` to `last` (local dates, both
    included), notes for the admin). `table`: the config the profile is
    for (roster agents not in it are left out). RecordsInputError when no
    inbound call is on record in the range."""
    where, step = _where(first, last), int(interval // 60)
    dates = days(first, last)
    per_weekday = Counter(d.weekday() for d in dates)
    c = CALLS.c
    slot = (c.local_minute // step).label("slot")
    with engine.connect() as conn:
        counts = conn.execute(select(c.rule, c.dnis, c.local_date, slot, func.count())
                              .where(where).group_by(c.rule, c.dnis, c.local_date, slot)).all()
        if not counts:
            raise RecordsInputError(f"no inbound calls on record from {first} to {last}")
        seen = (select(c.rule, c.dnis, c.variables, func.count().label("n"))
                .where(where).group_by(c.rule, c.dnis, c.variables).subquery())
        ranked = select(seen, func.row_number().over(partition_by=(seen.c.rule, seen.c.dnis),
                                                     order_by=seen.c.n.desc()).label("r")).subquery()
        variables = {(r, d): v for r, d, v in conn.execute(
            select(ranked.c.rule, ranked.c.dnis, ranked.c.variables).where(ranked.c.r == 1)).all()}
        callers = {(r, d): (lo or "", hi or "") for r, d, lo, hi in conn.execute(
            select(c.rule, c.dnis, func.min(c.caller_num), func.max(c.caller_num))
            .where(where).group_by(c.rule, c.dnis)).all()}
        # the queue whose times a call type gets: where most of its answered
        # calls ended (where most of its calls ended, if none was answered)
        homes: dict[tuple[str, str], tuple[Counter, Counter]] = defaultdict(lambda: (Counter(), Counter()))
        answered = (c.outcome == "answered").label("answered")
        for r, d, q, ok, n in conn.execute(select(c.rule, c.dnis, c.final_queue, answered, func.count())
                                           .where(where).group_by(c.rule, c.dnis, c.final_queue,
                                                                  answered)).all():
            homes[(r, d)][0 if ok else 1][q] += n
        times = _times(conn, where)
        patience, _ = _patience(conn, where)
        delay, no_answer = answering(conn, where)
        reached = callbacks_reached(conn, first, last)
        roster, notes = fit_roster(conn, first, last, interval, table)
    per_day = int(86_400 // interval)
    arrivals: dict[tuple[str, str], list[list[float]]] = {}
    for rule, dnis, local_date, index, n in counts:
        rows = arrivals.setdefault((rule, dnis), [[0.0] * per_day for _ in range(7)])
        weekday = date.fromisoformat(local_date).weekday()
        rows[weekday][min(int(index), per_day - 1)] += n / per_weekday[weekday]
    rules = Counter(rule for rule, _ in arrivals)
    calls = []
    for key in sorted(arrivals):
        rule, dnis = key
        lo, hi = callers[key]
        caller = lo if lo == hi else (_common_prefix(lo, hi) + "*" if _common_prefix(lo, hi) else "")
        by_answer, by_all = homes[key]
        queue = (by_answer or by_all + by_answer).most_common(1)[0][0]
        talk, work = times.get(queue, (Dist("exponential", 150.0), ZERO))
        varmap = json.loads(variables.get(key) or "{}")
        calls.append(CallType(_name(rule, dnis, rules[rule] > 1), dnis, caller,
                              tuple((str(k), str(v)) for k, v in varmap.items()),
                              tuple(tuple(round(x, 4) for x in day) for day in arrivals[key]),
                              talk, work, patience.get(key, Dist("never"))))
    missing = [w for w in range(7) if not per_weekday[w]]
    if missing:
        from router.config.values import DAYS

        notes.append(f"the range has no {', '.join(DAYS[w] for w in missing)}: no calls on those days")
    return Profile(interval, tuple(calls), delay, no_answer, roster, timezone, "records",
                   callback_reached=round(reached, 4)), notes
