"""Checks that need the whole config: names resolve, ids are unique, queue
moves do not loop; plus the warnings (a queue nobody can take, a skill
nobody has)."""

from __future__ import annotations

from collections import deque

from router.config.compile import build_steps
from router.config.errors import Report, did_you_mean, quote
from router.config.model import ConfigSpec, Edge, Where
from router.core.table import Agent

_PLURAL = {"skill": "skills", "team": "teams", "agent id": "agent ids", "calendar": "calendars",
           "queue": "queues"}


def _known(spec: ConfigSpec) -> dict[str, object]:
    """Defined names per reference kind; None = that section is missing or
    unreadable, so its names cannot be judged (that is reported already)."""
    agents = None if spec.agents is None else dict.fromkeys(a.id for a in spec.agents if a.id is not None)
    return {"skill": spec.skills, "team": spec.teams, "agent": agents,
            "calendar": spec.calendars, "queue": spec.queues}


def check_references(report: Report, spec: ConfigSpec) -> None:
    """Every skill, team, agent, calendar and queue named must be defined."""
    known = _known(spec)
    for ref in spec.refs:
        names = known[ref.kind]
        if names is None or ref.name in names:
            continue
        label = "agent id" if ref.kind == "agent" else ref.kind
        hint = did_you_mean(ref.name, names)
        if not hint and not names:
            hint = f"; no {_PLURAL[label]} are defined"
        elif not hint and len(names) <= 8:
            hint = f"; known {_PLURAL[label]}: {', '.join(names)}"
        report.at(ref.where, ref.where.path, f"unknown {label} {quote(ref.name)}{hint}")


def _unique(report: Report, items: list[tuple[str, Where]], what: str, key=lambda v: v) -> None:
    first: dict[str, Where] = {}
    for value, where in items:
        seen = first.setdefault(key(value), where)
        if seen is not where:
            report.at(where, where.path, f"duplicate {what} {quote(value)} "
                                         f"(first at {seen.path}, line {seen.line})")


def _endpoint_key(endpoint: str) -> str:
    # Asterisk treats the technology case-insensitively (PJSIP/1001 is pjsip/1001).
    tech, _, resource = endpoint.partition("/")
    return f"{tech.lower()}/{resource}"


def check_duplicates(report: Report, spec: ConfigSpec) -> None:
    """Agent ids, agent endpoints and rule names must be unique."""
    agents = spec.agents or []
    _unique(report, [(a.id, a.id_where) for a in agents if a.id is not None], "agent id")
    _unique(report, [(a.endpoint, a.endpoint_where) for a in agents if a.endpoint is not None],
            "endpoint", _endpoint_key)
    _unique(report, [(r.name, r.where) for r in spec.rules or [] if r.name is not None], "rule name")


def _shortest_cycle(start: str, edges: dict[str, list[Edge]]) -> list[Edge] | None:
    """The shortest chain of moves from `start` back to `start`, if any."""
    parent: dict[str, Edge] = {}
    todo = deque([start])
    while todo:
        node = todo.popleft()
        for edge in edges.get(node, []):
            if edge.target == start:
                chain = [edge]
                while chain[0].source != start:
                    chain.insert(0, parent[chain[0].source])
                return chain
            if edge.target not in parent and edge.target != start:
                parent[edge.target] = edge
                todo.append(edge.target)
    return None


def check_loops(report: Report, spec: ConfigSpec) -> None:
    """Queue actions must not move a call round in a circle. Each loop is
    reported once, at its first move, starting from the first queue in it."""
    edges: dict[str, list[Edge]] = {}
    for edge in spec.edges:
        edges.setdefault(edge.source, []).append(edge)
    in_a_loop: set[str] = set()
    for start in [*(spec.queues or {}), *edges]:
        if start in in_a_loop:
            continue
        chain = _shortest_cycle(start, edges)
        if chain:
            names = [e.source for e in chain] + [start]
            in_a_loop.update(names)
            where = chain[0].where
            report.at(where, where.path, "queue actions form a loop: " + " -> ".join(names))


def check_callbacks(report: Report, spec: ConfigSpec) -> None:
    """A callback waits in the queue the call left for an agent of that
    queue's steps. A queue whose very first step is an action has no such
    step: a callback promised there could never be placed (and a customer
    would wait for a call that never comes). Refuse it."""
    for name, queue in (spec.queues or {}).items():
        first = next((s for s in queue.escalation if s.after is not None), None)
        if first is None or first.after != 0 or first.action is None:
            continue
        for action in (first.action, queue.closed, queue.overflow):
            if action is not None and action.kind == "callback":
                report.at(action.where, action.where.path,
                          f"queue {quote(name)} has no step an agent can take (its first step, at 0s, is an "
                          "action), so a callback promised here could never be placed; give the queue "
                          "an agent step first, or use another action")


def check_warnings(report: Report, spec: ConfigSpec) -> None:
    """Warn about queues no agent can take and skills no agent has."""
    if spec.agents is None:
        return
    agents = [Agent(a.id or "", a.name, a.endpoint or "", a.team, a.skills, 0) for a in spec.agents]
    for queue in (spec.queues or {}).values():
        steps = build_steps(queue, queue.escalation, spec.queues)
        if not any(step.eligible(agent) for step in steps for agent in agents):
            report.warn(queue.where, queue.where.path, "no agent can take this queue at any step")
    for skill, where in spec.skill_where.items():
        if not any(skill in a.skills for a in spec.agents):
            report.warn(where, where.path, "no agent has this skill")
