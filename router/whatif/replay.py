"""`router simulate CONFIG --replay URL --date DATE`: a recorded day offered
again, call by call, to a candidate config.

Each inbound call of the day (CallRow, kind "inbound") arrives at its
recorded moment with its own dialled number, caller number and name and IVR
variables; the candidate's rules classify and route it. Its conversation
lasts its recorded talk and its after-call work its recorded wrap-up (the
agent is unavailable for the longer of that and the candidate's wrap-up).
A call that was not answered on the day but is in the replay gets the talk
and wrap-up of an answered call of the same rule and number that day,
drawn at random (of all answered calls if it has none).

Patience: an abandoned call keeps its recorded wait as its patience. An
answered (or overflowed) call tells only that its caller would have waited
more than its wait: its patience is drawn from the day's Kaplan–Meier curve
of its rule and number (router/whatif/km.py; the day's curve of all calls
when that group has fewer than MIN_FIT calls) *conditional on exceeding
the recorded wait*, so a config that answers later loses some of these
callers, as it would have. Closed calls are drawn unconditionally.

Agents: logged in at their recorded login and paused (breaks, unreachable)
as the records say, except the after-call work pauses, which the replay
makes itself. A pause or logout asked for mid-call waits for the call (on
the day, and in the replay), so the replay asks for it at the moment it
was asked for on the day (records of revision 0005 keep it: `asked_at`,
`logout_asked_at`), not when it began: that moment depends on when the
day's call ended, and asking then would make it wait a second time for
another call; the agent stayed available meanwhile, capacity the day did
not have (bench/replay_agents.py measured it). The pause ends at its
recorded end, as the agent ended it. Records from before 0005 do not say:
the logout is asked for when it happened and a pause when it began,
keeping its recorded length from when it starts (or every break asked for
mid-call would shrink twice). Agents not in the candidate config are left
out (printed). They answer after a delay drawn from the day's rings
(fit.ringing: Kaplan–Meier, the rings that rang out or that the caller
hung up on censored, not left out: those are the long ones); an offer
drawn past the curve's last answer, or past the candidate's ring timeout,
rings out. (A candidate with a longer ring timeout than the day's gets no
answer later than the day's latest.)

The draws come from a stream of their own (seeded by --seed), so two
candidates see the same patience for the same caller.
"""

from __future__ import annotations

import bisect
import json
import random
from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import date, timedelta

from sqlalchemy import and_, func, inspect, null, or_, select

from router.core import events as ev
from router.core import facts as f
from router.records.model import CallRow
from router.whatif.fit import MIN_FIT, ringing
from router.whatif.km import Curve, draw_beyond, kaplan_meier
from router.whatif.records_db import ACW, CALLS, SESSIONS, STATES, RecordsInputError
from router.whatif.world import midnight

#: Pauses this long after the day's end still count (after-call work of late calls).
SPILL = 2 * 3600.0


@dataclass
class Day:
    """What the records hold of one local day."""

    date: date
    start: float  # local midnight
    end: float  # the next local midnight
    calls: list[CallRow]  # by arrival
    #: (agent, login, logout): the logout when it was asked for (else when it happened)
    sessions: list[tuple[str, float, float]]
    #: (agent, from, to, reason, asked for at: None in records from before revision 0005)
    pauses: list[tuple[str, float, float, str, float | None]]
    answering: Curve  # time to answer an offer (fit.ringing)
    curves: dict[tuple[str, str], Curve] = field(default_factory=dict)
    pooled: Curve | None = None


def _pauses(rows) -> list[tuple[str, float, float, str, float | None]]:
    """Quarter-hour pieces of one pause joined back into one pause."""
    out: list[list] = []
    for agent, state, reason, a, b, asked in rows:
        why = reason or state
        if out and out[-1][0] == agent and out[-1][3] == why and abs(out[-1][2] - a) < 1e-6:
            out[-1][2] = b
        else:
            out.append([agent, a, b, why, asked])
    return [tuple(p) for p in out]


def _key(agent: str, at: float) -> tuple[str, int]:
    return agent, round(at * 1000)


def _with_acw(calls, acw) -> list:
    """The calls, each answered one's wrap-up lengthened by the after-call
    work pause its agent went into straight after it (a pause the records
    keep as agent time, not as the call's wrap-up)."""
    follows = {_key(agent, a): b - a for agent, a, b, _, _ in acw}
    out = []
    for row in calls:
        r = CallRow(**row._mapping)
        if r.outcome == "answered" and r.answered_by and r.ended_at is not None:
            extra = follows.get(_key(r.answered_by, r.ended_at + (r.wrapup or 0.0)))
            if extra:
                r = replace(r, wrapup=(r.wrapup or 0.0) + extra)
        out.append(r)
    return out


def load_day(engine, day: date, tz) -> Day:
    """The day's calls, sessions, pauses and answering; RecordsInputError
    when no inbound call is on record that day."""
    start, end = midnight(day, tz), midnight(day + timedelta(days=1), tz)
    c, s, st = CALLS.c, SESSIONS.c, STATES.c
    where = and_(c.kind == "inbound", c.local_date == day.isoformat())
    with engine.connect() as conn:
        calls = conn.execute(select(CALLS).where(where).order_by(c.arrived_at, c.call_id)).all()
        if not calls:
            raise RecordsInputError(f"no inbound calls on record on {day}")
        # records of a router before revision 0005 have no asked-for moments (read as NULL)
        known = {col["name"] for col in inspect(conn).get_columns("agent_states")}
        asked_at, logout_asked = ((st.asked_at, s.logout_asked_at) if "asked_at" in known
                                  else (null(), null()))
        sessions = conn.execute(select(s.agent_id, s.login_at, func.coalesce(logout_asked, s.logout_at))
                                .where(and_(s.login_at < end, s.logout_at > start))
                                .order_by(s.login_at, s.agent_id)).all()
        away = or_(and_(st.state == "paused", st.reason != ACW), st.state == "unreachable")
        pauses = conn.execute(select(st.agent_id, st.state, st.reason, st.started_at, st.ended_at, asked_at)
                              .where(and_(st.started_at < end, st.ended_at > start, away))
                              .order_by(st.agent_id, st.started_at)).all()
        acw = conn.execute(select(st.agent_id, st.state, st.reason, st.started_at, st.ended_at, asked_at)
                           .where(and_(st.started_at < end + SPILL, st.ended_at > start, st.state == "paused",
                                       st.reason == ACW))
                           .order_by(st.agent_id, st.started_at)).all()
        rings = ringing(conn, where)
    out = Day(day, start, end, _with_acw(calls, _pauses(acw)), [tuple(r) for r in sessions], _pauses(pauses),
              rings)
    groups: dict[tuple[str, str], list] = defaultdict(list)
    for r in out.calls:
        if r.outcome != "closed":
            groups[(r.rule, r.dnis)].append((round(r.wait), int(r.outcome == "abandoned"),
                                             int(r.outcome != "abandoned")))
    out.pooled = kaplan_meier(o for g in groups.values() for o in g)
    for key, obs in groups.items():
        curve = kaplan_meier(obs)
        out.curves[key] = curve if curve.calls >= MIN_FIT else out.pooled
    return out


def answer_time(curve: Curve, u: float, levels: list[float] | None = None) -> float | None:
    """The answer delay at level `u` in [0, 1) of the rings' curve: the
    first answer time by which a share >= u of offers was answered; None
    when the curve never gets there (nobody answers: it rings out).
    `levels`: the curve's -S, ascending (given by a caller drawing often)."""
    levels = levels if levels is not None else [-s for s in curve.survival]
    i = bisect.bisect_left(levels, u - 1.0 - 1e-12)
    return curve.times[i] if i < len(curve.times) else None


class ReplayWorld:
    """A `router.sim.discrete.World` offering a recorded day's calls again."""

    def __init__(self, table, rng: random.Random, day: Day) -> None:
        self.table, self.rng, self.day = table, rng, day
        self.callers = random.Random(rng.getrandbits(64))
        self._next = 0
        self._rows: dict[str, object] = {}  # simulated call id -> its record
        self._times: dict[str, tuple[float, float]] = {}
        answered = [r for r in day.calls if r.outcome == "answered" and r.talk is not None]
        self._answered: dict[tuple[str, str], list] = defaultdict(list)
        for r in answered:
            self._answered[(r.rule, r.dnis)].append((r.talk, r.wrapup or 0.0))
        self._all = [(r.talk, r.wrapup or 0.0) for r in answered] or [(150.0, 0.0)]
        self.skipped = sorted({a for a, _, _ in day.sessions if a not in table.agents})
        self._state: dict[str, str] = {}  # agent -> its state as the engine last reported it
        self._asked: dict[str, tuple[str, float]] = {}  # agent -> (reason, length) of a pause due after a call
        self.sim = None
        self._levels = [-s for s in day.answering.survival]

    def begin(self, sim) -> None:
        self.sim = sim
        sim.subscribe(self._on_fact)
        for agent, login, logout in self.day.sessions:
            if agent in self.table.agents:
                sim.at(max(login, sim.now), "event", ev.AgentLogin(agent))
                sim.at(logout, "event", ev.AgentLogout(agent))
        for agent, a, b, reason, asked in self.day.pauses:
            if agent not in self.table.agents:
                continue
            if asked is not None:  # asked for then, ended then, as on the day
                sim.at(max(asked, sim.now), "pause", agent, reason)
                sim.at(b, "unpause", agent, reason)
            else:  # older records: when it began, for its recorded length
                sim.at(max(a, sim.now), "call", self._pause, agent, reason, b - max(a, sim.now))

    def _pause(self, agent: str, reason: str, length: float) -> None:
        """The recorded pause, asked for now; it lasts `length` from when it
        starts (now, or after the call the agent is on)."""
        sim = self.sim
        if self._state.get(agent, "logged_out") in ("available", "paused", "logged_out"):
            sim.pause(agent, reason)
            sim.at(sim.now + length, "unpause", agent, reason)
        else:  # busy: the engine pauses the agent after the call (AgentStateChanged "paused")
            self._asked[agent] = (reason, length)
            sim.pause(agent, reason)

    def _on_fact(self, fact, now: float) -> None:
        if type(fact) is not f.AgentStateChanged:
            return
        self._state[fact.agent] = fact.state
        asked = self._asked.get(fact.agent)
        if asked is not None and fact.state in ("paused", "logged_out"):
            del self._asked[fact.agent]
            self.sim.at(now + asked[1], "unpause", fact.agent, asked[0])

    def next_arrival(self, now: float) -> float | None:
        if self._next >= len(self.day.calls):
            return None
        return max(now, self.day.calls[self._next].arrived_at)

    def new_call(self, call_id: str, now: float) -> ev.CallWaiting:
        r = self.day.calls[self._next]
        self._next += 1
        self._rows[call_id] = r
        if r.outcome == "answered" and r.talk is not None:
            self._times[call_id] = (r.talk, r.wrapup or 0.0)
        else:
            pool = self._answered.get((r.rule, r.dnis)) or self._all
            self._times[call_id] = pool[int(self.callers.random() * len(pool))]
        variables = tuple((str(k), str(v)) for k, v in json.loads(r.variables or "{}").items())
        return ev.CallWaiting(call_id, dnis=r.dnis, caller_num=r.caller_num, caller_name=r.caller_name,
                              variables=variables, pbx="sim")

    def patience(self, call_id: str) -> float:
        r = self._rows[call_id]
        u = self.callers.random()  # drawn for every call: the stream stays aligned
        if r.outcome == "abandoned":
            return r.wait
        curve = self.day.curves.get((r.rule, r.dnis), self.day.pooled)
        return draw_beyond(curve, 0.0 if r.outcome == "closed" else r.wait, u)

    def ring(self, call_id: str, agent_id: str, timeout: float) -> float | None:
        delay = answer_time(self.day.answering, self.rng.random(), self._levels)
        return None if delay is None or delay >= timeout else delay

    def _of(self, call_id: str) -> tuple[float, float]:
        # a callback's leg ("cb-<call>") lasts like the call it calls back
        return self._times.get(call_id) or self._times.get(call_id.removeprefix("cb-")) or self._all[0]

    def talk(self, call_id: str) -> float:
        return self._of(call_id)[0]

    def after_call(self, call_id: str, agent_id: str) -> float:
        return self._of(call_id)[1]
