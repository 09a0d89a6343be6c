"""Specs -> the immutable `RoutingTable` (router/core/table.py).

Escalation is expanded here, once, so the engine never interprets config:

- `Queue.steps[0]` is always at after=0. It is the queue's `skills`/`teams`
  (source "queues.Q.skills") unless the first escalation step is at 0s,
  which then replaces it.
- A step's requirements are the requirement in force (`require` and
  `teams` replace the previous minimums / team filter, each on its own; a
  step without them keeps the previous ones), followed by one Requirement
  per `also` queue so far, in the order first named. An `also` queue's
  requirement is that queue's *entry* requirement: its own `skills` and
  `teams` keys, not its escalation (the call has not waited in that queue,
  so none of its steps apply). Identical requirements are listed once.
- An action step has no requirements: the call leaves the queue there.
- A rule's steps are its own escalation (compiled the same way, relative to
  the rule's queue) or its queue's steps; the rule's `skills` are merged
  into every requirement, `also` ones included (per skill, the higher
  minimum wins).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

from router.config.model import ActionSpec, ConfigSpec, QueueSpec, RuleSpec, StepSpec
from router.core.table import Action, Agent, Match, Queue, Requirement, RoutingTable, Rule, Step, Strategy

freeze = RoutingTable.freeze


def _merge(skills: Mapping[str, int], extra: Mapping[str, int]) -> tuple[tuple[str, int], ...]:
    merged = dict(skills)
    for skill, level in extra.items():
        merged[skill] = max(merged.get(skill, 0), level)
    return tuple(sorted(merged.items()))


def _action(spec: ActionSpec) -> Action:
    return Action(spec.kind, spec.target, spec.announce)


def build_steps(queue: QueueSpec, escalation: list[StepSpec], queues: Mapping[str, QueueSpec],
                extra: Mapping[str, int] | None = None) -> tuple[Step, ...]:
    """Expand `escalation` for calls in `queue`, merging `extra` skills
    into every requirement. Tolerates gaps (steps whose `after` was wrong
    are skipped, unknown `also` queues ignored) so the warnings can use it
    on a config with errors."""
    extra = extra or {}
    skills, teams, also = queue.skills, queue.teams, []

    def requirements() -> tuple[Requirement, ...]:
        wanted = [(skills, teams)] + [(queues[a].skills, queues[a].teams) for a in also if a in queues]
        reqs = [Requirement(_merge(s, extra), tuple(t)) for s, t in wanted]
        return tuple(dict.fromkeys(reqs))

    escalation = [s for s in escalation if s.after is not None]
    steps: list[Step] = []
    if not escalation or escalation[0].after != 0:
        steps.append(Step(0.0, requirements(), source=f"{queue.where.path}.skills"))
    for spec in escalation:
        if spec.action is not None:
            steps.append(Step(spec.after, (), _action(spec.action), source=spec.where.path))
            continue
        if spec.require is not None:
            skills = spec.require
        if spec.teams is not None:
            teams = spec.teams
        also += [a for a in spec.also if a not in also]
        steps.append(Step(spec.after, requirements(), source=spec.where.path))
    return tuple(steps)


def _rule(spec: RuleSpec, queues: Mapping[str, QueueSpec]) -> Rule:
    queue = queues[spec.queue]
    escalation = queue.escalation if spec.escalation is None else spec.escalation
    match = Match(tuple(spec.dnis), tuple(spec.caller), tuple(spec.vars), spec.in_hours, spec.out_of_hours)
    return Rule(
        name=spec.name,
        match=match,
        queue=spec.queue,
        priority=queue.priority if spec.priority is None else spec.priority,
        skills=tuple(sorted(spec.skills.items())),
        steps=build_steps(queue, escalation, queues, spec.skills),
        source=f"{spec.where.file}:{spec.where.line}",
    )


def _queue(spec: QueueSpec, queues: Mapping[str, QueueSpec]) -> Queue:
    return Queue(
        name=spec.name,
        title=spec.title,
        priority=spec.priority,
        strategy=Strategy(spec.strategy),
        service_level=spec.service_level,
        wrapup=spec.wrapup,
        ring_timeout=spec.ring_timeout,
        max_waiting=spec.max_waiting,
        overflow=_action(spec.overflow) if spec.overflow else None,
        hours=spec.hours,
        closed=_action(spec.closed) if spec.closed else None,
        steps=build_steps(spec, spec.escalation, queues),
        survey=bool(spec.survey),
        record=bool(spec.record),
        callback_retry=spec.callback_retry,
    )


def digest(files: list[tuple[str, bytes]]) -> str:
    """sha256 over (file name, length, bytes) of each file read, in order;
    the length keeps "a"+"bc" and "ab"+"c" apart."""
    h = hashlib.sha256()
    for name, data in files:
        h.update(name.encode("utf-8") + b"\0" + str(len(data)).encode() + b"\0")
        h.update(data)
    return h.hexdigest()


def compile_table(spec: ConfigSpec, files: list[tuple[str, bytes]]) -> RoutingTable:
    """Build the table from a spec that has no errors."""
    settings = spec.settings
    agents = {
        a.id: Agent(
            id=a.id,
            name=a.name or a.id,
            endpoint=a.endpoint,
            team=a.team,
            skills=freeze(a.skills),
            max_no_answer=settings.default_max_no_answer if a.max_no_answer is None else a.max_no_answer,
            wrapup=a.wrapup,
            pbx=a.pbx,
        )
        for a in spec.agents
    }
    queues = spec.queues
    return RoutingTable(
        skills=freeze(spec.skills),
        teams=freeze(spec.teams or {}),
        agents=freeze(agents),
        queues=freeze({name: _queue(q, queues) for name, q in queues.items()}),
        calendars=freeze(spec.calendars or {}),
        rules=tuple(_rule(r, queues) for r in spec.rules),
        default=_rule(spec.default, queues),
        settings=settings,
        records=spec.records,
        digest=digest(files),
    )
