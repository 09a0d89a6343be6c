"""Records databases for the report tests: made by the writer's store
(router/records/store.py), and row builders that fill in what the
subscriber would (local date and minute in a zone, agent states cut at
every quarter hour).
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from router.records import model
from router.records.store import open_store

def records_db(url: str, rows, password: str | None = None) -> None:
    """A records database at `url` made by the writer's store (schema
    migrated to head), holding `rows`."""
    store = open_store(url, password)
    try:
        store.write(rows)
    finally:
        store.close()


def local(at: float, tz: ZoneInfo) -> tuple[str, int]:
    """(local_date, local_minute) of UNIX time `at` in `tz`."""
    moment = datetime.fromtimestamp(at, tz)
    return moment.date().isoformat(), moment.hour * 60 + moment.minute


def call(call_id: str, queue: str, arrived: float, outcome: str, wait: float, tz: ZoneInfo, *,
         agent: str | None = None, team: str | None = None, talk: float | None = None,
         wrapup: float | None = None, threshold: float = 20.0, short_abandon: float = 5.0,
         first_queue: str | None = None, moves: int = 0, callback_id: str | None = None,
         survey: int | None = None, kind: str = "inbound", offers: int = 0, origin: str | None = None,
         caller_name: str = "王五") -> model.CallRow:
    """A call row; sl_counted/sl_met/short_abandon as docs/SERVICE-LEVEL.md says."""
    day, minute = local(arrived, tz)
    short = outcome == "abandoned" and wait < short_abandon
    counted = outcome in ("answered", "overflowed", "callback") or (outcome == "abandoned" and not short)
    answered_at = arrived + wait if outcome == "answered" else None
    return model.CallRow(
        call_id=call_id, kind=kind, pbx="pbx1", dnis="4008", caller_num="13800000000", caller_name=caller_name,
        variables="{}", rule="r", first_queue=first_queue or queue, final_queue=queue, arrived_at=arrived,
        local_date=day, local_minute=minute, finished_at=arrived + wait, outcome=outcome, reason="",
        action="", wait=wait, answered_by=agent, team=team, answered_at=answered_at,
        ended_at=None if answered_at is None else answered_at + (talk or 0.0), talk=talk, wrapup=wrapup,
        offers=offers, moves=moves, sl_threshold=threshold, sl_counted=counted,
        sl_met=outcome == "answered" and wait <= threshold, short_abandon=short, callback_id=callback_id,
        origin_call_id=origin, survey_score=survey, recording=None)


def offer(call_id: str, seq: int, agent: str, team: str, queue: str, rung: float, ended: float,
          outcome: str) -> model.OfferRow:
    return model.OfferRow(call_id, seq, agent, team, queue, rung, ended, outcome)


def states(agent: str, team: str, spans, tz: ZoneInfo) -> list[model.AgentStateRow]:
    """Agent state rows for (state, reason, start, end[, call]) spans, each
    cut at every quarter hour as the subscriber cuts them (all real zones'
    offsets are whole quarter hours, so UTC quarters are local quarters)."""
    out = []
    for span in spans:
        state, reason, start, end, *rest = span
        at = start
        while at < end:
            cut = min(end, (at // 900 + 1) * 900)
            day, minute = local(at, tz)
            out.append(model.AgentStateRow(agent, team, state, reason, rest[0] if rest else None, at, cut,
                                           day, minute, cut - at))
            at = cut
    return out


def session(agent: str, team: str, login: float, logout: float, tz: ZoneInfo) -> model.AgentSessionRow:
    return model.AgentSessionRow(agent, team, login, logout, local(login, tz)[0], logout - login)


def callback(callback_id: str, origin: str, queue: str, promised: float, finished: float, outcome: str,
             tz: ZoneInfo, agent: str | None = None) -> model.CallbackRow:
    return model.CallbackRow(callback_id, origin, queue, "13800000000", promised, local(promised, tz)[0],
                             finished, outcome, "" if outcome == "done" else "no-answer", 1, agent)
