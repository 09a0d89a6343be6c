"""The agent record stream: state intervals and login sessions, from the
core's `agent.state` facts. Part of the records assembler (pure).

Rules:
1. An agent's state intervals tile each of their sessions exactly: an
   interval ends where the next begins, the first begins at the login and
   the last ends at the logout, so the time per state adds up to the
   logged-in time.
2. Intervals are cut at every local quarter hour (localtime.py), both when
   they end and while they run (`roll`), so a long pause is on record
   quarter by quarter, not only when it ends.
3. "paused" with reason "unreachable" is recorded as state "unreachable".
4. A wrap-up interval names the call it follows (the assembler says which,
   `wrapping`); the rest after a failed offer is a wrap-up of no call.
5. A pause or logout keeps the moment it was asked for (`asked_at`,
   `logout_asked_at`): when it began, or, asked for mid-call, the moment
   the fact said it was pending. The replay asks for it then: the moment
   it began depends on when that day's call ended.
"""

from __future__ import annotations

from router.records.localtime import QUARTER, local_stamp, quarter_cuts
from router.records.model import AgentSessionRow, AgentStateRow

UNREACHABLE = "unreachable"


class OpenState:
    """An agent's current interval and session."""

    __slots__ = ("agent", "state", "reason", "call", "since", "piece", "team", "login_at", "asked_at", "pending")

    def __init__(self, agent: str, state: str, reason: str, call: str | None, since: float, team: str,
                 login_at: float, asked_at: float | None = None) -> None:
        self.agent, self.state, self.reason, self.call = agent, state, reason, call
        self.since = since  # the state began (for the wrap-up's length)
        self.piece = since  # the current quarter's piece began
        self.team, self.login_at = team, login_at
        self.asked_at = asked_at  # a pause: when it was asked for (rule 5)
        self.pending: tuple[str, float] | None = None  # (state, asked at) waiting for the call

    def dump(self) -> list:
        return [self.agent, self.state, self.reason, self.call, self.since, self.piece, self.team, self.login_at,
                self.asked_at, self.pending]

    @classmethod
    def load(cls, item: list) -> "OpenState":
        """From `dump`, or the 8 items a router before rule 5 saved."""
        agent, state, reason, call, since, piece, team, login_at = item[:8]
        s = cls(agent, state, reason, call, since, team, login_at, item[8] if len(item) > 8 else None)
        s.piece = piece
        s.pending = tuple(item[9]) if len(item) > 9 and item[9] else None
        return s


def record_state(state: str, reason: str) -> tuple[str, str]:
    """The recorded state and reason of a core agent state (rule 3)."""
    if state == "paused" and reason == UNREACHABLE:
        return UNREACHABLE, reason
    return state, reason if state in ("paused", "logged_out") else ""


class AgentLog:
    """Open intervals and sessions per agent; rows out as they close."""

    def __init__(self, local) -> None:
        self.local = local  # t -> (local_date, local_minute)
        self.open: dict[str, OpenState] = {}
        self._quarter = None  # the quarter index `roll` last cut at

    def change(self, agent: str, state: str, reason: str, call: str | None, team: str, now: float,
               out: list, pending: str | None = None) -> OpenState | None:
        """The agent is now in `state` (`pending`: the fact's pending state,
        a pause or logout asked for mid-call, "" called off, None not
        said); rows of what closed go to `out`. Returns the interval that
        closed (None: no change, or none open)."""
        state, reason = record_state(state, reason)
        cur = self.open.get(agent)
        asked = cur.pending if cur is not None else None
        if pending is not None and cur is not None:
            # the first moment it was asked for counts: a fact repeating it
            # (a restart's resync) does not move it
            if pending == "":
                asked = None
            elif asked is None or asked[0] != pending:
                asked = (pending, now)
            cur.pending = asked
        if cur is not None and (cur.state, cur.reason) == (state, reason) and (cur.call == call or call is None):
            return None  # only a pending change: the same interval goes on
        went = "logged_out" if state == "logged_out" else "paused" if state in ("paused", UNREACHABLE) else None
        asked_at = asked[1] if asked is not None and asked[0] == went else now
        if cur is not None:
            self._close(cur, now, out)
        if state == "logged_out":
            if cur is not None:
                self._session(cur, now, out, asked_at)
                del self.open[agent]
            return cur
        login_at = cur.login_at if cur is not None else now
        nxt = OpenState(agent, state, reason, call, now, team, login_at, asked_at if went else None)
        if pending:  # still asked for after this change (the call goes on)
            nxt.pending = asked
        self.open[agent] = nxt
        return cur

    def wrapping(self, agent: str, call: str) -> None:
        """The agent's current wrap-up follows `call` (rule 4)."""
        cur = self.open.get(agent)
        if cur is not None and cur.state == "wrapup":
            cur.call = call

    def roll(self, now: float, out: list) -> None:
        """Rule 2: when a quarter hour has passed, cut every open interval
        at it."""
        quarter = int(now // QUARTER)
        if quarter == self._quarter:
            return
        self._quarter = quarter
        edge = quarter * QUARTER
        for cur in self.open.values():
            if cur.piece < edge:
                self._close(cur, edge, out)
                cur.piece = edge

    def close_all(self, at: float, out: list) -> None:
        """End every interval and session at `at` (the last moment known,
        before a restart: the gap after it is time not logged in)."""
        for cur in self.open.values():
            end = max(at, cur.piece)
            self._close(cur, end, out)
            self._session(cur, end, out, None)
        self.open.clear()

    def _close(self, cur: OpenState, end: float, out: list) -> None:
        for start, stop in quarter_cuts(cur.piece, end):
            date, minute = self.local(start)
            out.append(AgentStateRow(cur.agent, cur.team, cur.state, cur.reason, cur.call, start, stop, date,
                                     minute, stop - start, cur.asked_at))

    def _session(self, cur: OpenState, end: float, out: list, asked_at: float | None) -> None:
        if end > cur.login_at:
            out.append(AgentSessionRow(cur.agent, cur.team, cur.login_at, end, self.local(cur.login_at)[0],
                                       end - cur.login_at, asked_at))


__all__ = ["AgentLog", "OpenState", "local_stamp", "record_state"]
