"""Schemas of queues, their actions and escalation steps (docs/RULES.md,
"queues"). Escalation steps are shared with routing rules."""

from __future__ import annotations

from router.config.errors import did_you_mean, join_path, quote
from router.config.model import ActionSpec, Edge, QueueSpec, StepSpec, Where
from router.config.nodes import Node, Scalar
from router.config.schema import (BOOLEAN, DURATION, MAILBOX, PERCENT, PRIORITY, REQUIRED_TEXT, TEXT, Reader, count,
                                  duration)
from router.core.table import ACTION_KINDS, ServiceLevel, Strategy

# The key naming each action's target, if it has one.
ACTION_TARGET = {"voicemail": "mailbox", "transfer": "to", "queue": "queue"}
ACTION_KEYS = ["action", "announce", "mailbox", "to", "queue"]


def read_action(r: Reader, node: Node | None, path: str) -> ActionSpec | None:
    """`{action: KIND, <target key>: ..., announce: SOUND}`."""
    found = r.fields(node, path, ACTION_KEYS, required=["action"],
                     what="an action such as {action: voicemail, mailbox: 8000@sales}")
    if found is None or "action" not in found:
        return None
    kind = r.value(found["action"], join_path(path, "action"), TEXT)
    if kind is not None and kind not in ACTION_KINDS:
        hint = did_you_mean(kind, ACTION_KINDS) or f"; expected one of: {', '.join(ACTION_KINDS)}"
        r.error(found["action"], join_path(path, "action"), f"unknown action {quote(kind)}{hint}")
        return None
    if kind is None:
        return None
    target_key = ACTION_TARGET.get(kind)
    for key, value_node in found.items():
        if key not in ("action", "announce", target_key):
            r.error(value_node, join_path(path, key), f"{quote(key)} does not apply to action {quote(kind)}")
    target = ""
    if target_key and target_key not in found:
        r.error(node, path, f"action {quote(kind)} needs {quote(target_key)}")
        return None
    if target_key == "queue":
        target = r.ref("queue", found["queue"], join_path(path, "queue"))
    elif target_key:
        kind_of_target = MAILBOX if target_key == "mailbox" else REQUIRED_TEXT
        target = r.value(found[target_key], join_path(path, target_key), kind_of_target)
    announce = r.text(found.get("announce"), join_path(path, "announce"))
    if target is None:
        return None
    return ActionSpec(kind, target, announce, Where.of(node, path))


STEP_KEYS = ["after", "require", "teams", "also", "action"]


def read_escalation(r: Reader, node: Node | None, path: str, queue: str | None) -> list[StepSpec]:
    """Escalation steps of `queue` (a queue's own, or a rule's for its queue)."""
    steps: list[StepSpec] = []
    items = r.items(node, path, "a list of escalation steps", single=False)
    previous: tuple[float, str] | None = None  # (after, as written) of the step before
    for index, (step_path, item) in enumerate(items):
        found = r.fields(item, step_path, STEP_KEYS, required=["after"],
                         what="an escalation step (after:, require:, teams:, also:, action:)")
        if found is None:
            continue
        after_path = join_path(step_path, "after")
        step = StepSpec(r.value(found.get("after"), after_path, DURATION), Where.of(item, step_path))
        if step.after is not None:
            written = found["after"].text  # a Scalar, since it parsed
            if previous is not None and step.after <= previous[0]:
                r.error(found["after"], after_path,
                        f"{quote(written)} must be later than the step before ({previous[1]}); "
                        "`after` must increase from step to step")
            previous = (step.after, written)
        if "require" in found:
            step.require = r.levels(found["require"], join_path(step_path, "require"))
        if "teams" in found:
            step.teams = r.names(found["teams"], join_path(step_path, "teams"), "team")
        for also_path, also_node in r.items(found.get("also"), join_path(step_path, "also"),
                                            "a list of queue names"):
            name = r.ref("queue", also_node, also_path)
            if name is not None and name == queue:
                r.error(also_node, also_path, f"queue {quote(name)} cannot add itself with `also`")
            elif name is not None and name not in step.also:
                step.also.append(name)
        if "action" in found:
            step.action = read_action(r, found["action"], join_path(step_path, "action"))
            for key in ("require", "teams", "also"):
                if key in found:
                    r.error(found[key], join_path(step_path, key),
                            f"a step with an action cannot also have {quote(key)}: "
                            "the call leaves the queue at this step")
            if index < len(items) - 1:
                r.error(found["action"], join_path(step_path, "action"),
                        "a step with an action must be the last step: the call leaves the queue here, "
                        "so later steps would never happen")
        elif not any(key in found for key in ("require", "teams", "also")):
            r.error(item, step_path, "this step changes nothing; give it require, teams, also or action")
        steps.append(step)
    return steps


def step_edges(source: str | None, steps: list[StepSpec]) -> list[Edge]:
    """Queue moves made by escalation actions, for the loop check."""
    if source is None:
        return []
    return [Edge(source, s.action.target, s.action.where)
            for s in steps if s.action is not None and s.action.kind == "queue"]


QUEUE_KEYS = ["title", "priority", "strategy", "service_level", "wrapup", "ring_timeout",
              "max_waiting", "overflow", "hours", "closed", "skills", "teams", "escalation", "survey", "record",
              "callback_retry"]
STRATEGIES = [s.value for s in Strategy]


def _strategy(r: Reader, node: Node | None, path: str) -> Strategy | None:
    text = r.value(node, path, TEXT)
    if text is None:
        return None
    if text not in STRATEGIES:
        hint = did_you_mean(text, STRATEGIES) or f"; expected one of: {', '.join(STRATEGIES)}"
        r.error(node, path, f"unknown strategy {quote(text)}{hint}")
        return None
    return Strategy(text)


def _service_level(r: Reader, node: Node | None, path: str) -> ServiceLevel | None:
    found = r.fields(node, path, ["target", "within"], required=["target", "within"],
                     what="a mapping like {target: 80%, within: 20s}")
    if found is None:
        return None
    target = r.value(found.get("target"), join_path(path, "target"), PERCENT)
    within = r.value(found.get("within"), join_path(path, "within"), duration(1, "within"))
    return None if target is None or within is None else ServiceLevel(target, within)


def read_queue(r: Reader, name: str, key_node: Scalar, node: Node, path: str,
               edges: list[Edge]) -> QueueSpec:
    q = QueueSpec(name, Where.of(key_node, path))
    found = r.fields(node, path, QUEUE_KEYS, required=["service_level", "skills"],
                     what="a queue (service_level:, skills:, ...)") or {}
    at = lambda key: join_path(path, key)  # noqa: E731 - keeps the calls below on one line
    q.title = r.text(found.get("title"), at("title"))
    if "priority" in found:
        q.priority = r.value(found["priority"], at("priority"), PRIORITY)
    if "strategy" in found:
        q.strategy = _strategy(r, found["strategy"], at("strategy"))
    q.service_level = _service_level(r, found.get("service_level"), at("service_level"))
    if "wrapup" in found:
        q.wrapup = r.value(found["wrapup"], at("wrapup"), duration())
    if "ring_timeout" in found:
        q.ring_timeout = r.value(found["ring_timeout"], at("ring_timeout"), duration(1, "ring_timeout"))
    if "callback_retry" in found:  # a failed callback attempt's wait before the next
        q.callback_retry = r.value(found["callback_retry"], at("callback_retry"), duration(1, "callback_retry"))
    q.max_waiting = r.value(found.get("max_waiting"), at("max_waiting"), count(1, 100_000))
    q.overflow = read_action(r, found.get("overflow"), at("overflow"))
    q.hours = r.ref("calendar", found.get("hours"), at("hours"))
    q.closed = read_action(r, found.get("closed"), at("closed"))
    q.skills = r.levels(found.get("skills"), at("skills"))
    q.teams = r.names(found.get("teams"), at("teams"), "team")
    q.escalation = read_escalation(r, found.get("escalation"), at("escalation"), name)
    for key in ("survey", "record"):  # opt-in per queue: the caller's survey, MixMonitor
        if key in found:
            setattr(q, key, r.value(found[key], at(key), BOOLEAN))
    # A limit or a calendar without its action would leave the engine
    # nothing to do with the call: refuse. The reverse is only dead config.
    for needs, action, what in (("max_waiting", "overflow", "when max_waiting calls already wait"),
                                ("hours", "closed", "when the calendar is closed")):
        if needs in found and action not in found:
            r.error(found[needs], at(needs), f"{needs} needs {quote(action)}: "
                                             f"the action for a call that arrives {what}")
        elif action in found and needs not in found:
            r.report.warn(found[action], at(action), f"{quote(action)} has no effect without {quote(needs)}")
    edges.extend(Edge(name, a.target, a.where) for a in (q.overflow, q.closed)
                 if a is not None and a.kind == "queue")
    edges.extend(step_edges(name, q.escalation))
    return q


def read_queues(r: Reader, node: Node, path: str, edges: list[Edge]) -> dict[str, QueueSpec] | None:
    return r.named(node, path, "a mapping of queue name: settings",
                   lambda name, key_node, value_node, key_path:
                   read_queue(r, name, key_node, value_node, key_path, edges))
