"""Counters and histograms driven by the engine's published facts.

Every label is bounded: queue names, outcome/reason/state words, never a
call id or a caller number. A call id seen in a fact is only used as a
key in memory (pending callbacks), never as a label.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram

from router.core import facts as f
from router.core.table import RoutingTable
from router.runtime.subscribers import by_type

#: Bucket bounds (seconds) of the wait histogram; every queue's SL threshold
#: is added so that "answered within T" is an exact bucket.
WAIT_BUCKETS = (5.0, 10.0, 15.0, 20.0, 30.0, 45.0, 60.0, 90.0, 120.0, 180.0, 300.0, 600.0)
#: Decision latency: an event in -> its commands issued, in seconds.
LATENCY_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0)
#: Bucket bounds of the survey score histogram: one per score, 1-5.
SURVEY_BUCKETS = (1.0, 2.0, 3.0, 4.0, 5.0)
#: Callbacks remembered as pending at most (a forgotten-callback storm must
#: not grow memory without bound; the oldest ones stay, they matter most).
MAX_PENDING = 10_000


def wait_buckets(table: RoutingTable) -> tuple[float, ...]:
    """The standard wait bounds plus every queue's SL threshold."""
    return tuple(sorted(set(WAIT_BUCKETS) | {q.service_level.within for q in table.queues.values()}))


def _label(value) -> str:
    return str(value) if value not in (None, "") else "none"


class EventMetrics:
    """Counts what the engine publishes. `observe` is its subscriber."""

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

        self.observe = by_type({
            f.CallAnswered: self._answered, f.CallAbandoned: self._abandoned, f.CallOverflowed: self._overflowed,
            f.CallClosed: self._closed, f.CallQueued: self._arrived, f.CallMoved: self._moved,
            f.CallEscalated: self._escalated, f.OfferFailed: self._no_answer,
            **dict.fromkeys(f.SLA_FACTS, self._enforced), **dict.fromkeys(f.CALLBACK_STATE, self._callback),
            f.CallSurveyed: self._surveyed, f.EventIgnored: self._ignored})

    # Never raise on odd data (a None wait, an empty queue): metrics must not disturb routing.
    def _outcome(self, outcome: str, fact, wait: bool = True) -> str:
        queue = _label(fact.queue)
        self.offered.labels(queue).inc()
        if wait and isinstance(fact.wait, (int, float)):
            self.wait.labels(queue, outcome).observe(fact.wait)
        return queue

    def _answered(self, fact: f.CallAnswered, now: float) -> None:
        self.calls["answered"].labels(self._outcome("answered", fact)).inc()

    def _abandoned(self, fact: f.CallAbandoned, now: float) -> None:
        self.calls["abandoned"].labels(self._outcome("abandoned", fact)).inc()

    def _overflowed(self, fact: f.CallOverflowed, now: float) -> None:
        self.overflowed.labels(self._outcome("overflowed", fact), _label(fact.reason)).inc()

    def _closed(self, fact: f.CallClosed, now: float) -> None:
        self.calls["closed"].labels(self._outcome("closed", fact, wait=False)).inc()

    def _arrived(self, fact: f.CallQueued, now: float) -> None:
        self.arrived.labels(_label(fact.queue)).inc()

    def _moved(self, fact: f.CallMoved, now: float) -> None:
        self.moved.labels(_label(fact.source), _label(fact.reason)).inc()

    def _escalated(self, fact: f.CallEscalated, now: float) -> None:
        self.escalated.labels(_label(fact.queue)).inc()

    def _no_answer(self, fact: f.OfferFailed, now: float) -> None:
        self.no_answer.labels(_label(fact.reason)).inc()

    def _surveyed(self, fact: f.CallSurveyed, now: float) -> None:
        if fact.score in (1, 2, 3, 4, 5) and not isinstance(fact.score, bool):
            self.survey.labels(_label(fact.queue)).observe(fact.score)

    def _enforced(self, fact, now: float) -> None:
        self.enforcement.labels(_label(fact.queue), _label(fact.action), _label(fact.reason)).inc()

    def _ignored(self, fact: f.EventIgnored, now: float) -> None:
        self.ignored.inc()

    def _callback(self, fact, now: float) -> None:
        state = f.CALLBACK_STATE[type(fact)]
        queue = _label(fact.queue)
        self.callbacks.labels(queue, state).inc()
        key = fact.call or None
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
