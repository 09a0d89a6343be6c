"""Gauges read from the router at scrape time.

A custom collector: `collect()` runs in the event loop (the HTTP server is
an asyncio server, never prometheus_client's thread), so reading the
engine's loop-owned records here is safe and always current.
"""

from __future__ import annotations

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, InfoMetricFamily
from prometheus_client.registry import Collector

from router.core.sla import WINDOWS
from router.core.state import AgentStatus

STATES = tuple(s.value for s in AgentStatus)
#: States in which an agent is working a call (occupancy's numerator).
BUSY = (AgentStatus.RESERVED, AgentStatus.ON_CALL, AgentStatus.WRAPUP)
#: States in which an agent is staffed (occupancy's denominator).
STAFFED = BUSY + (AgentStatus.AVAILABLE,)


GAUGE, COUNTER, INFO = GaugeMetricFamily, CounterMetricFamily, InfoMetricFamily
#: Every family `collect()` yields: name -> (type, label names, help). One
#: list, so that `describe()` names them all without reading the router (the
#: registry then refuses a second collector that exports one of the names).
FAMILIES: dict[str, tuple[type, tuple[str, ...], str]] = {
    "router_queue_calls_waiting": (GAUGE, ("queue",),
        "Calls waiting or ringing in the queue"),
    "router_queue_longest_wait_seconds": (GAUGE, ("queue",),
        "Wait of the longest-waiting call in the queue (0 when none)"),
    "router_queue_service_level_ratio": (GAUGE, ("queue", "window"),
        "Calls answered within the threshold / calls counted (docs/SERVICE-LEVEL.md); absent with no "
        "counted call"),
    "router_queue_sla_counted_calls": (GAUGE, ("queue", "window"),
        "Calls counted in the service level of the window"),
    "router_queue_sla_met_calls": (GAUGE, ("queue", "window"),
        "Calls answered within the threshold in the window"),
    "router_queue_service_level_target_ratio": (GAUGE, ("queue",),
        "The queue's service-level target"),
    "router_queue_service_level_threshold_seconds": (GAUGE, ("queue",),
        "The queue's service-level threshold T"),
    "router_queue_estimated_wait_seconds": (GAUGE, ("queue",),
        "Estimated wait of a new caller (docs/SERVICE-LEVEL.md)"),
    "router_queue_required_agents": (GAUGE, ("queue",),
        "Erlang C: agents needed to meet the target at the last hour's load"),
    "router_queue_handle_time_seconds": (GAUGE, ("queue",),
        "Mean talk + wrap-up of the calls ended in the last hour"),
    "router_rule_estimated_wait_seconds": (GAUGE, ("rule", "queue"),
        "Estimated wait of a new caller classified by the rule (its skill set; docs/SERVICE-LEVEL.md)"),
    "router_agents": (GAUGE, ("state",),
        "Agents by state"),
    "router_queue_agents": (GAUGE, ("queue", "state"),
        "Agents whose skills meet the queue's first escalation step, by state"),
    "router_skill_agents": (GAUGE, ("skill", "state"),
        "Agents who have the skill, by state"),
    "router_agent_occupancy_ratio": (GAUGE, (),
        "Staffed agents ringing, talking or in wrap-up / staffed agents (paused and logged out excluded)"),
    "router_queue_occupancy_ratio": (GAUGE, ("queue",),
        "Occupancy of the agents eligible for the queue"),
    "router_agents_unreachable": (GAUGE, (),
        "Logged-in agents whose phone cannot be reached (device UNAVAILABLE), paused with reason "
        "unreachable"),
    "router_ami_connected": (GAUGE, ("pbx",),
        "1 when the AMI link to the PBX is logged in"),
    "router_events_processed": (COUNTER, (),
        "Events handed to the engine"),
    "router_config_reload_success": (GAUGE, (),
        "1 when the last config (re)load was accepted, 0 when it was rejected (the old config stays)"),
    "router_config": (INFO, (),
        "The config in use: sha256 of its source files"),
    "router_callbacks_pending": (GAUGE, ("queue",),
        "Callbacks promised and not yet done"),
    "router_callbacks_oldest_pending_seconds": (GAUGE, ("queue",),
        "Age of the oldest callback promised and not yet done (0 when none)"),
}


def _family(name: str):
    """A new, empty family of the catalogue."""
    kind, labels, documentation = FAMILIES[name]
    return kind(name, documentation, labels=list(labels))


class RouterCollector(Collector):
    """Queue, agent and health gauges of one `Router` (and the pending
    callbacks tracked by `EventMetrics`)."""

    def __init__(self, router, events) -> None:
        self.router = router
        self.events = events
        self.reload_ok = True
        self.digest = router.table.digest

    def describe(self):
        """The families `collect()` yields, without values (cheap: the
        router is not read), for the registry's duplicate-name check."""
        return [_family(name) for name in FAMILIES]

    def collect(self):
        router = self.router
        engine, table, now = router.engine, router.engine.table, router.clock.now()
        yield from self._queues(engine, table, now)
        yield from self._agents(engine, table)
        yield from self._health(router)
        yield from self._callbacks(table, now)

    def _queues(self, engine, table, now):
        waiting = _family("router_queue_calls_waiting")
        longest = _family("router_queue_longest_wait_seconds")
        level = _family("router_queue_service_level_ratio")
        counted = _family("router_queue_sla_counted_calls")
        met = _family("router_queue_sla_met_calls")
        target = _family("router_queue_service_level_target_ratio")
        threshold = _family("router_queue_service_level_threshold_seconds")
        ewt = _family("router_queue_estimated_wait_seconds")
        required = _family("router_queue_required_agents")
        handle = _family("router_queue_handle_time_seconds")
        line: dict[str, list] = {}
        for call in engine.line():
            line.setdefault(call.queue, []).append(call)
        sla = engine.sla
        for name, queue in table.queues.items():
            calls = line.get(name, [])
            waiting.add_metric([name], len(calls))
            longest.add_metric([name], max((now - c.arrived for c in calls), default=0.0))
            target.add_metric([name], queue.service_level.percent / 100.0)
            threshold.add_metric([name], queue.service_level.within)
            for window in WINDOWS:
                m, c = sla.counts(name, window, now)
                counted.add_metric([name, window], c)
                met.add_metric([name, window], m)
                if c:
                    level.add_metric([name, window], m / c)
            for family, value in ((ewt, _new_caller_wait(engine, name, queue.steps[0], len(calls), now)),
                                  (required, sla.required_agents(name, now)),
                                  (handle, sla.handle_time(name, now))):
                if value is not None:
                    family.add_metric([name], value)
        yield from (waiting, longest, level, counted, met, target, threshold, ewt, required, handle)
        yield self._rule_ewt(engine, table, line, now)

    @staticmethod
    def _rule_ewt(engine, table, line, now):
        """EWT per skill set: a classification rule is one (its queue's
        first step with the rule's skills merged in), so a VIP Cantonese
        caller's wait is not the sales queue's average. Bounded by the rules."""
        family = _family("router_rule_estimated_wait_seconds")
        for rule in (*table.rules, table.default):
            if rule.queue not in table.queues:
                continue
            wait = _new_caller_wait(engine, rule.queue, rule.steps[0], len(line.get(rule.queue, [])), now)
            if wait is not None:
                family.add_metric([rule.name, rule.queue], wait)
        return family

    def _agents(self, engine, table):
        by_state = _family("router_agents")
        by_queue = _family("router_queue_agents")
        by_skill = _family("router_skill_agents")
        occupancy = _family("router_agent_occupancy_ratio")
        queue_occ = _family("router_queue_occupancy_ratio")
        counts = {s: 0 for s in STATES}
        for rec in engine.agents.values():
            counts[rec.status.value] += 1
        for state, n in counts.items():
            by_state.add_metric([state], n)
        occupancy.add_metric([], _occupancy(engine.agents.values()))
        configured = [(engine.agents[aid], agent) for aid, agent in table.agents.items() if aid in engine.agents]
        for name, queue in table.queues.items():
            recs = [rec for rec, agent in configured if queue.steps[0].eligible(agent)]
            for state in STATES:
                by_queue.add_metric([name, state], sum(1 for r in recs if r.status.value == state))
            queue_occ.add_metric([name], _occupancy(recs))
        for skill in table.skills:
            recs = [rec for rec, agent in configured if agent.skills.get(skill, 0) > 0]
            for state in STATES:
                by_skill.add_metric([skill, state], sum(1 for r in recs if r.status.value == state))
        unreachable = _family("router_agents_unreachable")
        unreachable.add_metric([], sum(1 for r in engine.agents.values() if r.reason == "unreachable"))
        yield from (by_state, by_queue, by_skill, occupancy, queue_occ, unreachable)

    def _health(self, router):
        up = _family("router_ami_connected")
        for name, connected in router.connected.items():
            up.add_metric([name], 1.0 if connected else 0.0)
        events = _family("router_events_processed")
        events.add_metric([], router.events_handled)
        reload_ok = _family("router_config_reload_success")
        reload_ok.add_metric([], 1.0 if self.reload_ok else 0.0)
        info = _family("router_config")
        info.add_metric([], {"hash": self.digest or "none"})
        yield from (up, events, reload_ok, info)

    def _callbacks(self, table, now):
        pending = _family("router_callbacks_pending")
        oldest = _family("router_callbacks_oldest_pending_seconds")
        by_queue = self.events.pending_by_queue(now)
        for name in sorted(set(table.queues) | set(by_queue)):
            count, age = by_queue.get(name, (0, 0.0))
            pending.add_metric([name], count)
            oldest.add_metric([name], age)
        yield from (pending, oldest)


def _occupancy(recs) -> float:
    recs = list(recs)
    staffed = sum(1 for r in recs if r.status in STAFFED)
    busy = sum(1 for r in recs if r.status in BUSY)
    return busy / staffed if staffed else 0.0


def _new_caller_wait(engine, queue: str, step, ahead: int, now: float) -> float | None:
    """EWT of a new caller of `queue` whose first step is `step`, with
    `ahead` calls of the queue in line. A new caller is rung at once while
    an agent is free for it; otherwise it waits behind the calls no free
    agent covers."""
    serving, free = engine.agents_for(step)  # the same count the engine's enforcement uses
    return 0.0 if ahead < free else engine.sla.ewt(queue, ahead - free, now, serving)
