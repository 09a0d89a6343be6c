"""What `router status` shows: the running router's queues, agents and
recent actions, as one JSON-ready dict.

Read in the event loop from the engine's own records (as the metrics
collector does), so it is always the state routing acts on. `Recent`
subscribes to the router's published facts for what the records do not keep:
when each agent's state last changed, and the last service-level actions
and callback steps.
"""

from __future__ import annotations

from collections import deque
from datetime import datetime

from router.core import facts as f
from router.core.state import AgentStatus, CallStatus
from router.metrics.collector import _new_caller_wait
from router.runtime.subscribers import by_type

#: Recent service-level actions and callback steps kept for the view.
RECENT = 12


class Recent:
    """Agents' last state changes and the recent actions; `on_fact` is its
    subscriber (`router.subscribe`)."""

    def __init__(self, now: float) -> None:
        self.started = now
        self.since: dict[str, float] = {}  # agent -> when its state last changed
        self.actions: deque[dict] = deque(maxlen=RECENT)
        self.on_fact = by_type({f.AgentStateChanged: self._agent_changed,
                                **dict.fromkeys((*f.SLA_FACTS, *f.CALLBACK_FACTS, f.ControlCommand), self._action)})

    def _agent_changed(self, fact: f.AgentStateChanged, now: float) -> None:
        self.since[fact.agent] = now

    def _action(self, fact: f.Fact, now: float) -> None:
        self.actions.append({"at": now, "event": fact.kind, **{k: v for k, v in fact.data.items()
                                                               if isinstance(v, (str, int, float, bool))}})


def _pct(level: float | None) -> float | None:
    return None if level is None else round(100 * level, 1)


def queue_rows(engine, table, now: float, pbx: str | None = None) -> list[dict]:
    """One dict per queue: calls waiting (on `pbx`, or anywhere), longest
    wait, service level by window against target, EWT of a new caller, and
    the agents of its first step by state."""
    line = engine.line()
    paused = [table.agents[r.id] for r in engine.agents.values()
              if r.status is AgentStatus.PAUSED and r.id in table.agents]
    rows = []
    for name, queue in table.queues.items():
        calls = [c for c in line if c.queue == name and (pbx is None or c.info.pbx in (pbx, ""))]
        step = queue.steps[0]
        # The engine's own index counts them (a scan of every agent per queue
        # and per second would cost a 10,000-agent router a tenth of a second).
        staffed, free = engine.agents_for(step)
        rows.append({
            "queue": name, "title": queue.title, "waiting": len(calls),
            "longest_wait": round(max((now - c.arrived for c in calls), default=0.0), 1),
            **{f"sl_{w}": _pct(engine.sla.level(name, w, now)) for w in ("15m", "1h", "today")},
            "target": queue.service_level.percent, "within": queue.service_level.within,
            "ewt": _round(_new_caller_wait(engine, name, step, len(calls), now)),
            "protected": name in engine.protected,
            "free": free, "busy": staffed - free,
            "paused": sum(step.eligible(agent) for agent in paused),
        })
    return rows


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def agent_rows(engine, table, recent: Recent) -> list[dict]:
    rows = []
    for agent_id, config in table.agents.items():
        rec = engine.agents.get(agent_id)
        if rec is None:
            continue
        rows.append({
            "agent": agent_id, "name": config.name, "team": config.team, "pbx": config.pbx,
            "state": rec.status.value, "since": recent.since.get(agent_id, recent.started),
            "call": rec.call, "reason": rec.reason or None,
            "pending": None if rec.pending is None else rec.pending[0].value,
            "skills": dict(sorted(config.skills.items())),
        })
    return rows


def call_rows(engine, now: float) -> list[dict]:
    """The calls in line, in the order agents serve them (protected queues
    first); `step` numbered from 1, as `router explain --call` says it."""
    return [{"call": c.id, "queue": c.queue, "rule": c.rule.name, "priority": c.priority,
             "status": c.status.value, "waited": round(now - c.arrived, 1), "step": c.step + 1,  # as explain: from 1
             "agent": c.agent if c.status is not CallStatus.WAITING else None, "pbx": c.info.pbx,
             "callback": c.callback}
            for c in map(engine.calls.get, engine.serving_order())]


def snapshot(router, recent: Recent, tz) -> dict:
    """Everything `router status` shows, per PBX."""
    engine, table, now = router.engine, router.engine.table, router.clock.now()
    agents = agent_rows(engine, table, recent)
    pbxs = []
    names = list(router.links) or [""]
    for name in names:
        mine = [a for a in agents if a["pbx"] in (name, None)] if len(names) > 1 else agents
        pbxs.append({"pbx": name, "connected": router.connected.get(name, False),
                     "queues": queue_rows(engine, table, now, name if len(names) > 1 else None),
                     "agents": mine})
    return {
        "at": now, "local": datetime.fromtimestamp(now, tz).isoformat(timespec="seconds"), "zone": tz.key,
        "run": router.run_id, "digest": table.digest[:12], "reload_ok": router.reload_ok,
        "events": router.events_handled, "pbxs": pbxs, "calls": call_rows(engine, now),
        "recent": list(recent.actions),
    }
