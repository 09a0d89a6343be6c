"""The report's figures from the grouped parts (queries.py): parts of the
same key and bucket label are added (a week is the sum of its days), a
`total` row per key sums all its buckets, and the means and percentages
are derived from the sums last, so a total is exact, never a mean of
means. Definitions: docs/REPORTS.md (the service level's are those of
docs/SERVICE-LEVEL.md).

`report_figures(engine, first, last, ...)` is the API: a dict of plain rows
that the CLI prints and that a test can compare with ground truth.
"""

from __future__ import annotations

from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor

import sqlalchemy as sa

from router.report.buckets import BY, TOTAL, VIEWS
from router.report.queries import PEOPLE_QUERIES, QUEUE_QUERIES, Part, Select

#: Queries run at once (the machine this is measured on has two cores).
WORKERS = 2
#: Part fields merged by max, not by sum.
_MAX = {"longest_wait", "within"}
#: Agent states in output order (router/records/model.py AGENT_STATES).
STATES = ("available", "reserved", "on_call", "wrapup", "paused", "unreachable")


def merge(parts: list[Part]) -> dict[str, dict[str, dict]]:
    """{key: {bucket: fields}} with a TOTAL bucket per key."""
    out: dict[str, dict[str, dict]] = defaultdict(dict)
    for key, bucket, fields in parts:
        for b in (bucket, TOTAL):
            into = out[key].setdefault(b, defaultdict(float))
            for name, value in fields.items():
                if value is None:
                    continue
                if name not in _MAX:
                    into[name] += value
                elif name not in into or value > into[name]:
                    into[name] = value
    return out


def _ratio(top: float, bottom: float, scale: float = 1.0, digits: int = 3) -> float | None:
    return None if not bottom else round(scale * top / bottom, digits)


def queue_row(queue: str, bucket: str, p: dict, target: float | None) -> dict:
    """One queue's figures in one bucket (see docs/REPORTS.md)."""
    n = {k: int(p.get(k, 0)) for k in ("offered", "answered", "abandoned", "short_abandons", "overflowed",
                                       "callback", "closed", "sl_counted", "sl_met", "handled",
                                       "callbacks_promised", "callbacks_done", "callbacks_failed",
                                       "transfers_in", "transfers_out")}
    sl = _ratio(n["sl_met"], n["sl_counted"], 100.0, 1)
    waited = n["offered"] - n["closed"] - n["short_abandons"]
    return {
        "queue": queue, "bucket": bucket,
        **{k: n[k] for k in ("offered", "answered", "abandoned", "short_abandons", "overflowed", "callback",
                             "closed", "sl_counted", "sl_met")},
        "sl_percent": sl,
        "target_percent": target,
        "within": p.get("within"),
        "target_met": None if sl is None or target is None else sl >= target,
        "asa": _ratio(p.get("wait_sum", 0.0), n["answered"], digits=1),
        "longest_wait": None if p.get("longest_wait") is None else round(p["longest_wait"], 1),
        "aht": _ratio(p.get("handle_sum", 0.0), n["handled"], digits=1),
        "abandon_percent": _ratio(n["abandoned"] - n["short_abandons"], waited, 100.0, 1),
        **{k: n[k] for k in ("callbacks_promised", "callbacks_done", "callbacks_failed",
                             "transfers_in", "transfers_out")},
    }


def person_row(view: str, key: str, bucket: str, p: dict, reasons: list[str]) -> dict:
    """One agent's (or team's) figures in one bucket."""
    logged_in = p.get("logged_in", 0.0)
    busy = p.get("on_call", 0.0) + p.get("wrapup", 0.0)
    ready = logged_in - p.get("paused", 0.0) - p.get("unreachable", 0.0)
    answered, surveys = int(p.get("answered", 0)), int(p.get("surveys", 0))
    return {
        view[:-1]: key, "bucket": bucket,
        "logged_in": round(logged_in, 3),
        **{s: round(p.get(s, 0.0), 3) for s in STATES},
        "paused_by_reason": {r: round(p[f"paused:{r}"], 3) for r in reasons if p.get(f"paused:{r}")},
        "answered": answered,
        "missed_offers": int(p.get("missed_offers", 0)),
        "aht": _ratio(p.get("handle_sum", 0.0), p.get("handled", 0), digits=1),
        "occupancy_percent": _ratio(busy, ready, 100.0, 1) if ready > 0 else None,
        "satisfaction": _ratio(p.get("score_sum", 0), surveys, digits=2),
        "surveys": surveys,
    }


def _ordered(keys, preferred) -> list[str]:
    """Keys in the config's order when it has them, the rest sorted."""
    known = [k for k in preferred if k in keys]
    return known + sorted(k for k in keys if k not in set(known))


def report_figures(engine: sa.Engine, first: str, last: str, by: str = "day", *,
                   queues=(), teams=(), agents=(), views=VIEWS, table=None) -> dict:
    """The report over local dates `first`..`last` (inclusive, YYYY-MM-DD)
    by `by` (buckets.BY): {"from", "to", "by", "queues": [...], "agents":
    [...], "teams": [...]} with one row per key and bucket in time order,
    then its TOTAL row. `table` (a RoutingTable, optional) gives the
    queues' targets, the agents' names and the teams' leaders."""
    if by not in BY:
        raise ValueError(f"by must be one of {', '.join(BY)}")
    sel = Select(first, last, by, tuple(queues), tuple(teams), tuple(agents))
    jobs = [("queues", query, ()) for query in QUEUE_QUERIES if "queues" in views]
    jobs += [(view, query, (view,)) for view in ("agents", "teams") if view in views for query in PEOPLE_QUERIES]
    parts: dict[str, list[Part]] = {view: [] for view in VIEWS if view in views}
    for view, got in _run_all(engine, sel, jobs):
        parts[view] += got
    out: dict = {"from": first, "to": last, "by": by}
    if "queues" in views:
        merged = merge(parts["queues"])
        order = _ordered(merged, table.queues if table else ())
        out["queues"] = [_with_title(queue_row(q, b, merged[q][b], _target(table, q)), table)
                         for q in order for b in sorted(merged[q], key=_bucket_order)]
    for view in ("agents", "teams"):
        if view in views:
            out[view] = _people(merge(parts[view]), view, table)
    return out


def _run_all(engine: sa.Engine, sel: Select, jobs) -> list[tuple[str, list[Part]]]:
    """Every query, two at a time on their own connections: they are
    independent, SQLite and PostgreSQL work outside the GIL, and on two
    cores a month's report takes the time of its longest queries, not of
    their sum. Results come back in job order."""
    def one(job):
        view, query, extra = job
        with engine.connect() as conn:
            return view, query(conn, sel, *extra)

    if len(jobs) == 1:
        return [one(jobs[0])]
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        return list(pool.map(one, jobs))


def _people(merged: dict, view: str, table) -> list[dict]:
    reasons = sorted({f.split(":", 1)[1] for buckets in merged.values() for f in buckets.get(TOTAL, {})
                      if f.startswith("paused:")})
    config_order = (table.agents if view == "agents" else table.teams) if table else ()
    rows = []
    for key in _ordered(merged, config_order):
        for bucket in sorted(merged[key], key=_bucket_order):
            row = person_row(view, key, bucket, merged[key][bucket], reasons)
            if table and view == "agents":
                agent = table.agents.get(key)
                row["name"], row["team"] = (agent.name, agent.team) if agent else (None, None)
            if table and view == "teams":
                leader = table.teams[key].leader if key in table.teams else None
                row["leader"] = leader
                row["leader_name"] = table.agents[leader].name if leader in table.agents else None
            rows.append(row)
    return rows


def _bucket_order(bucket: str) -> tuple[int, str]:
    return (bucket == TOTAL, bucket)


def _target(table, queue: str) -> float | None:
    q = table.queues.get(queue) if table else None
    return None if q is None else q.service_level.percent


def _with_title(row: dict, table) -> dict:
    if table is not None:
        q = table.queues.get(row["queue"])
        row["title"] = q.title if q else None
    return row
