"""Counters and histograms driven by the engine's `Publish` stream.

Every label is bounded: queue names, outcome/reason/state words, never a
call id or a caller number. A call id seen in a Publish is only used as a
key in memory (pending callbacks), never as a label.
"""

from __future__ import annotations

from typing import Mapping

from prometheus_client import CollectorRegistry, Counter, Histogram

from router.core.commands import Publish
from router.core.state import OUTCOMES
from router.core.table import RoutingTable

#: Bucket bounds (seconds) of the wait histogram; every queue's SL threshold
#: is added so that "answered within T" is an exact bucket.
WAIT_BUCKETS = (5.0, 10.0, 15.0, 20.0, 30.0, 45.0, 60.0, 90.0, 120.0, 180.0, 300.0, 600.0)
#: Decision latency: an event in -> its commands issued, in seconds.
LATENCY_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0)
#: Bucket bounds of the survey score histogram: one per score, 1-5.
SURVEY_BUCKETS = (1.0, 2.0, 3.0, 4.0, 5.0)
#: Callback states published by enforcement as callback.<state>.
CALLBACK_STATES = ("promised", "placed", "retry", "done", "failed")
#: Callbacks remembered as pending at most (a forgotten-callback storm must
#: not grow memory without bound; the oldest ones stay, they matter most).
MAX_PENDING = 10_000


def wait_buckets(table: RoutingTable) -> tuple[float, ...]:
    """The standard wait bounds plus every queue's SL threshold."""
    return tuple(sorted(set(WAIT_BUCKETS) | {q.service_level.within for q in table.queues.values()}))


def _label(value) -> str:
    return str(value) if value not in (None, "") else "none"


class EventMetrics:
    """Counts what the engine publishes. `observe` is the Router's Publish hook."""

    def __init__(self, registry: CollectorRegistry, table: RoutingTable) -> None:
        r = registry
        self.calls = {
            outcome: Counter(f"router_calls_{outcome}", f"Calls that left routing {outcome}, by queue",
                             ["queue"], registry=r)
            for outcome in ("answered", "abandoned", "closed")
        }
        self.offered = Counter("router_calls_offered", "Calls that finished in the queue, whatever the "
                               "outcome (answered + abandoned + overflowed + closed)", ["queue"], registry=r)
        self.overflowed = Counter("router_calls_overflowed", "Calls that left the queue by an action "
                                  "(voicemail, callback, transfer, hangup), by reason", ["queue", "reason"],
                                  registry=r)
        self.arrived = Counter("router_calls_arrived", "Calls handed to the router, by the queue they "
                               "were classified to", ["queue"], registry=r)
        self.moved = Counter("router_calls_moved", "Calls moved from this queue to another by an action",
                             ["queue", "reason"], registry=r)
        self.escalated = Counter("router_calls_escalated", "Escalation steps taken", ["queue"], registry=r)
        self.wait = Histogram("router_call_wait_seconds", "Wait from the router getting the call to its "
                              "outcome, by queue and outcome", ["queue", "outcome"],
                              buckets=wait_buckets(table), registry=r)
        self.no_answer = Counter("router_agent_ring_no_answer", "Offers an agent's phone did not answer, "
                                 "by reason", ["reason"], registry=r)
        self.ignored = Counter("router_ignored_events", "Events the engine ignored (late, duplicated, "
                               "unknown)", registry=r)
        self.enforcement = Counter("router_enforcement_actions", "Service-level enforcement actions",
                                   ["queue", "action", "reason"], registry=r)
        self.callbacks = Counter("router_callbacks", "Callbacks by state (promised, placed, retry, done, failed)",
                                 ["queue", "state"], registry=r)
        self.survey = Histogram("router_survey_score", "Satisfaction scores (1-5) callers gave after the "
                                "call, by queue (\"none\": a call the router no longer knew)", ["queue"],
                                buckets=SURVEY_BUCKETS, registry=r)
        self.latency = Histogram("router_decision_latency_seconds", "From an event reaching the router to "
                                 "the commands it caused being issued", buckets=LATENCY_BUCKETS, registry=r)
        # Every queue's outcome counters exist from the start at 0, so that
        # rate() and increase() see the first call of a queue.
        for queue in table.queues:
            for counter in (self.offered, self.arrived, *self.calls.values()):
                counter.labels(queue)
        # Pending callbacks: key -> (queue, promised at), in promise order.
        self.pending: dict[str, tuple[str, float]] = {}
        self._anon = 0

    def observe(self, p: Publish, now: float) -> None:
        """Count one Publish (never raises on odd data: metrics must not
        disturb routing)."""
        kind, d = p.kind, p.data
        if kind.startswith("call."):
            self._call(kind[5:], d)
        elif kind == "sla.action":
            self.enforcement.labels(_label(d.get("queue")), _label(d.get("action")),
                                    _label(d.get("reason"))).inc()
        elif kind.startswith("callback."):
            self._callback(kind[9:], d, now)
        elif kind == "router.ignored":
            self.ignored.inc()

    def _call(self, what: str, d: Mapping) -> None:
        queue = _label(d.get("queue"))
        if what in OUTCOMES:
            self.offered.labels(queue).inc()
            if what == "overflowed":
                self.overflowed.labels(queue, _label(d.get("reason"))).inc()
            else:
                self.calls[what].labels(queue).inc()
            if what != "closed" and isinstance(d.get("wait"), (int, float)):
                self.wait.labels(queue, what).observe(d["wait"])
        elif what == "waiting":
            self.arrived.labels(queue).inc()
        elif what == "moved":
            self.moved.labels(_label(d.get("source")), _label(d.get("reason"))).inc()
        elif what == "escalated":
            self.escalated.labels(queue).inc()
        elif what == "no_answer":
            self.no_answer.labels(_label(d.get("reason"))).inc()
        elif what == "survey" and d.get("score") in (1, 2, 3, 4, 5) and not isinstance(d.get("score"), bool):
            self.survey.labels(queue).observe(d["score"])

    def _callback(self, state: str, d: Mapping, now: float) -> None:
        queue = _label(d.get("queue"))
        self.callbacks.labels(queue, _label(state)).inc()
        key = d.get("call") or d.get("id")
        if state == "promised":
            if key is None:
                self._anon += 1
                key = f"#{self._anon}"
            if len(self.pending) < MAX_PENDING:
                self.pending.setdefault(str(key), (queue, now))
        elif state in ("done", "failed"):  # a retry stays pending; failed is final (its own alert)
            if key is not None and str(key) in self.pending:
                del self.pending[str(key)]
            else:  # no id to match: the oldest promise of that queue is the one kept
                oldest = next((k for k, (q, _) in self.pending.items() if q == queue), None)
                if oldest is not None:
                    del self.pending[oldest]

    def pending_by_queue(self, now: float) -> dict[str, tuple[int, float]]:
        """queue -> (callbacks promised and not yet done or failed, age of
        the oldest in seconds)."""
        out: dict[str, tuple[int, float]] = {}
        for queue, since in self.pending.values():
            count, oldest = out.get(queue, (0, 0.0))
            out[queue] = (count + 1, max(oldest, now - since))
        return out
