"""Build routing tables in Python for core tests, without the YAML loader,
so the core's tests do not depend on the config pipeline."""

from __future__ import annotations

from router.core.table import (Action, Agent, Enforcement, Match, Queue, Requirement, RoutingTable, Rule,
                               ServiceLevel, Settings, Step, Strategy, merge_skills)


def req(teams: tuple[str, ...] = (), **skills: int) -> Requirement:
    return Requirement(tuple(sorted(skills.items())), teams)


def step(after: float, *requirements: Requirement, action: Action | None = None) -> Step:
    return Step(float(after), tuple(requirements), action, f"step@{after}")


def agent(aid: str, team: str | None = None, max_no_answer: int = 3, wrapup: float | None = None,
          **skills: int) -> Agent:
    return Agent(aid, f"Agent {aid}", f"PJSIP/{aid}", team, RoutingTable.freeze(skills),
                 max_no_answer, wrapup)


def queue(name: str, *steps: Step, priority: int = 0, strategy: Strategy = Strategy.LONGEST_IDLE,
          wrapup: float = 0.0, ring_timeout: float = 15.0, max_waiting: int | None = None,
          overflow: Action | None = None, hours: str | None = None,
          closed: Action | None = None, sl: tuple[float, float] = (80.0, 20.0)) -> Queue:
    return Queue(name, name.title(), priority, strategy, ServiceLevel(*sl), wrapup,
                 ring_timeout, max_waiting, overflow, hours, closed, tuple(steps))


def rule(name: str, q: Queue, match: Match = Match(), priority: int | None = None,
         skills: tuple[tuple[str, int], ...] = ()) -> Rule:
    return Rule(name, match, q.name, q.priority if priority is None else priority, skills,
                merge_skills(q.steps, skills))


def table(agents: list[Agent], queues: list[Queue], rules: list[Rule] | None = None,
          default: str | None = None, no_answer_rest: float = 5.0,
          enforcement: Enforcement = Enforcement()) -> RoutingTable:
    qmap = {q.name: q for q in queues}
    skills = sorted({s for a in agents for s in a.skills}
                    | {s for q in queues for st in q.steps for r in st.requirements for s, _ in r.skills})
    return RoutingTable(
        skills=RoutingTable.freeze({s: "" for s in skills}),
        teams=RoutingTable.freeze({}),
        agents=RoutingTable.freeze({a.id: a for a in agents}),
        queues=RoutingTable.freeze(qmap),
        calendars=RoutingTable.freeze({}),
        rules=tuple(rules or ()),
        default=rule("default", qmap[default or queues[0].name]),
        settings=Settings(no_answer_rest=no_answer_rest, enforcement=enforcement),
    )


def fire_timers(timers: dict, until: float, fire) -> None:
    """Fire the StartTimers in `timers` ((kind, ref) -> at) due by `until`,
    earliest first (ties by kind and ref, so runs are reproducible):
    `fire(key, at)` for each, which may add new ones."""
    while timers:
        key, at = min(timers.items(), key=lambda kv: (kv[1], kv[0]))
        if at > until:
            break
        del timers[key]
        fire(key, at)
