"""The report's SQL: one GROUP BY per table and view, returning additive
parts (counts, sums, maxima) per key (queue, agent or team) and bucket.
figures.py merges the parts (weeks and months from days, the whole
period's totals) and derives the means and percentages, so that a total
is computed from its parts exactly as a bucket is.

Every call figure is in the bucket of the call's arrival (its
`local_date`/`local_minute`), including its offers (joined to the call:
offers carry no local time) and the callback promised on it. Only inbound
calls count as calls: a callback's dial-out (a `kind` "callback" call) is
counted by the callbacks table, as Prometheus counts it.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from router.report.buckets import group_columns, key_of
from router.report.source import CALLBACKS, CALLS, OFFERS, STATES, SURVEYS


@dataclass(frozen=True)
class Select:
    """What a report is over: local dates `first`..`last` (inclusive), the
    bucket, and the names to keep (empty: all)."""

    first: str
    last: str
    by: str = "day"
    queues: tuple[str, ...] = ()
    teams: tuple[str, ...] = ()
    agents: tuple[str, ...] = ()


#: A part: (key, bucket label, {field: number}).
Part = tuple[str, str, dict]


def _n(condition) -> sa.ColumnElement:
    """How many rows meet `condition` (portable: no boolean SUM)."""
    return sa.func.sum(sa.case((condition, 1), else_=0))


def _in_dates(table, sel: Select):
    return table.c.local_date.between(sel.first, sel.last)


def _run(conn, stmt, sel: Select) -> list[Part]:
    """The grouped rows as parts; a NULL key (a call with no team) is ""."""
    by = sel.by
    out = []
    for row in conn.execute(stmt):
        values = {k: v for k, v in row._mapping.items() if k not in ("key", "day", "minute")}
        out.append((row.key if row.key is not None else "", key_of(by, row), values))
    return out


def _grouped(stmt, table, by: str, key_col):
    # date (and minute) first: the order of the report indexes (local_date, key),
    # so SQLite groups while it walks the index instead of sorting
    cols = group_columns(table, by)
    return stmt.add_columns(key_col.label("key"), *cols).group_by(*cols, key_col)


def queue_calls(conn, sel: Select) -> list[Part]:
    """Per final queue and bucket: the outcomes, the service level's met
    and counted calls, waits, handle times, queue moves."""
    c = CALLS.c
    answered = c.outcome == "answered"
    where = [c.kind == "inbound", _in_dates(CALLS, sel)]
    if sel.queues:
        where.append(c.final_queue.in_(sel.queues))
    stmt = sa.select(
        sa.func.count().label("offered"),
        _n(answered).label("answered"),
        _n(c.outcome == "abandoned").label("abandoned"),
        _n(sa.and_(c.outcome == "abandoned", c.short_abandon)).label("short_abandons"),
        _n(c.outcome == "overflowed").label("overflowed"),
        _n(c.outcome == "callback").label("callback"),
        _n(c.outcome == "closed").label("closed"),
        _n(c.sl_counted).label("sl_counted"),
        _n(sa.and_(c.sl_counted, c.sl_met)).label("sl_met"),
        sa.func.sum(sa.case((answered, c.wait), else_=0.0)).label("wait_sum"),
        sa.func.max(sa.case((c.outcome != "closed", c.wait))).label("longest_wait"),
        sa.func.sum(sa.case((sa.and_(answered, c.talk.is_not(None)), c.talk + sa.func.coalesce(c.wrapup, 0.0)),
                            else_=0.0)).label("handle_sum"),
        _n(sa.and_(answered, c.talk.is_not(None))).label("handled"),
        sa.func.max(c.sl_threshold).label("within"),
        _n(c.callback_id.is_not(None)).label("callbacks_promised"),
        _n(c.moves > 0).label("transfers_in"),
    ).where(*where)
    return _run(conn, _grouped(stmt, CALLS, sel.by, c.final_queue), sel)


def moved_out(conn, sel: Select) -> list[Part]:
    """Calls that started in a queue and finished in another, per first queue."""
    c = CALLS.c
    where = [c.kind == "inbound", _in_dates(CALLS, sel), c.first_queue != c.final_queue]
    if sel.queues:
        where.append(c.first_queue.in_(sel.queues))
    stmt = sa.select(sa.func.count().label("transfers_out")).where(*where)
    return _run(conn, _grouped(stmt, CALLS, sel.by, c.first_queue), sel)


def callbacks(conn, sel: Select) -> list[Part]:
    """Finished callbacks (done, failed) per queue, in the bucket of the
    call they were promised on."""
    b = CALLBACKS.c
    where = [_in_dates(CALLS, sel)]
    if sel.queues:
        where.append(b.queue.in_(sel.queues))
    stmt = (sa.select(_n(b.outcome == "done").label("callbacks_done"),
                      _n(b.outcome == "failed").label("callbacks_failed"))
            .select_from(CALLBACKS.join(CALLS, CALLS.c.call_id == b.origin_call_id)).where(*where))
    return _run(conn, _grouped(stmt, CALLS, sel.by, b.queue), sel)


def _people(sel: Select, team_col, agent_col) -> list:
    where = []
    if sel.teams:
        where.append(team_col.in_(sel.teams))
    if sel.agents:
        where.append(agent_col.in_(sel.agents))
    return where


def _states(conn, sel: Select, view: str, *extra, where=()) -> list:
    """Seconds per agent, team, state (and `extra` columns) and bucket, in
    the order of the report index (local_date, agent_id, team, state,
    reason, duration, local_minute): for a day, week or month SQLite walks
    that covering index and groups as it goes, without a sort or a table
    lookup. A team's figures are the sum of its agents' rows (an agent who
    changed team mid-period counts in each team for the time spent there)."""
    s = STATES.c
    cols = group_columns(STATES, sel.by)
    stmt = (sa.select(*cols, s.agent_id, s.team, s.state, *extra, sa.func.sum(s.duration).label("seconds"))
            .where(_in_dates(STATES, sel), *_people(sel, s.team, s.agent_id), *where)
            .group_by(*cols, s.agent_id, s.team, s.state, *extra))
    rows = []
    for row in conn.execute(stmt):
        key = row.agent_id if view == "agents" else row.team
        rows.append((key if key is not None else "", key_of(sel.by, row), row))
    return rows


def state_times(conn, sel: Select, view: str) -> list[Part]:
    """Seconds per state, and their sum (the logged-in time), per agent
    (view "agents") or team and bucket. The intervals are cut at every
    local quarter hour, so each lies in one bucket; one part per state,
    which figures.merge adds up."""
    return [(key, bucket, {"logged_in": row.seconds or 0.0, row.state: row.seconds or 0.0})
            for key, bucket, row in _states(conn, sel, view)]


def state_reasons(conn, sel: Select, view: str) -> list[Part]:
    """Seconds per pause (and unreachable) reason: `paused:REASON` fields."""
    s = STATES.c
    return [(key, bucket, {f"{row.state}:{row.reason or '-'}": row.seconds or 0.0})
            for key, bucket, row in _states(conn, sel, view, s.reason,
                                            where=(s.state.in_(("paused", "unreachable")),))]


def _answered(sel: Select, view: str):
    """(key column, conditions) of the inbound calls answered that `sel` keeps."""
    c = CALLS.c
    key = c.answered_by if view == "agents" else c.team
    where = [c.kind == "inbound", c.outcome == "answered", c.answered_by.is_not(None), _in_dates(CALLS, sel),
             *_people(sel, c.team, c.answered_by)]
    if sel.queues:
        where.append(c.final_queue.in_(sel.queues))
    return key, where


def handled(conn, sel: Select, view: str) -> list[Part]:
    """Per agent or team and bucket: inbound calls answered, their handle
    times and survey scores, and missed offers."""
    c = CALLS.c
    key, where = _answered(sel, view)
    stmt = sa.select(
        sa.func.count().label("answered"),
        sa.func.sum(sa.case((c.talk.is_not(None), c.talk + sa.func.coalesce(c.wrapup, 0.0)),
                            else_=0.0)).label("handle_sum"),
        _n(c.talk.is_not(None)).label("handled"),
        sa.func.sum(sa.func.coalesce(c.survey_score, 0)).label("score_sum"),
        sa.func.count(c.survey_score).label("surveys"),
    ).where(*where)
    return _run(conn, _grouped(stmt, CALLS, sel.by, key), sel)


def late_surveys(conn, sel: Select, view: str) -> list[Part]:
    """Scores that came after their call was on record (the surveys
    table), added to the call's agent or team in the call's bucket, as if
    on the call row; a call row with a score of its own keeps that one.
    The table is small (late scores only): the walk is over it, each call
    found by its key."""
    if not sa.inspect(conn).has_table(SURVEYS.name):
        return []  # a database at a schema before 0004: no late scores there
    c = CALLS.c
    key, where = _answered(sel, view)
    stmt = (sa.select(sa.func.sum(SURVEYS.c.score).label("score_sum"), sa.func.count().label("surveys"))
            .select_from(SURVEYS.join(CALLS, c.call_id == SURVEYS.c.call_id))
            .where(*where, c.survey_score.is_(None)))
    return _run(conn, _grouped(stmt, CALLS, sel.by, key), sel)


def missed(conn, sel: Select, view: str) -> list[Part]:
    """Offers the agent did not answer (no-answer, busy, timeout, ...;
    not the ones the router withdrew), in the bucket of the call."""
    o = OFFERS.c
    key = o.agent_id if view == "agents" else o.team
    where = [o.outcome.not_in(("answered", "withdrawn")), _in_dates(CALLS, sel),
             *_people(sel, o.team, o.agent_id)]
    if sel.queues:
        where.append(o.queue.in_(sel.queues))
    stmt = (sa.select(sa.func.count().label("missed_offers"))
            .select_from(OFFERS.join(CALLS, CALLS.c.call_id == o.call_id)).where(*where))
    return _run(conn, _grouped(stmt, CALLS, sel.by, key), sel)



#: The queries of each view; independent of each other, so report_figures
#: may run them at once, each on its own connection.
QUEUE_QUERIES = (queue_calls, moved_out, callbacks)
PEOPLE_QUERIES = (state_times, state_reasons, handled, late_surveys, missed)
