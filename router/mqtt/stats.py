"""Queue statistics and service-level alerts on the MQTT bus (retained),
every `stats_interval` seconds.

The service levels are the engine's own (its SlaBook, docs/SERVICE-LEVEL.md):
`service_level` is today's (the same figure as `sl_today`), `sl_*` by
window; whether a queue's service level counts as breached is the core's
decision too (`SlaBook.breached`): this module only publishes it, once per
change of state.
"""

from __future__ import annotations

from router.mqtt.outbox import Outbox
from router.mqtt.wire import payload
from router.runtime.tally import queue_now

#: The keys of the two events.
FIELDS = {
    "queue.stats": ("queue", "title", "waiting", "longest_wait", "agents_free", "offered", "answered",
                    "abandoned", "overflowed", "closed", "service_level", "sl_15m", "sl_1h", "sl_today",
                    "protected", "target", "within", "avg_wait"),
    "alert.service_level": ("queue", "state", "service_level", "target", "within", "finished", "waiting",
                            "longest_wait"),
}
#: The window of the alert.
ALERT_WINDOW = "15m"


def _percent(level: float | None) -> float | None:
    return None if level is None else round(100 * level, 1)


class QueueStatsOut:
    """Writes P/queue/<name>/stats and P/alert/service-level/<name>."""

    def __init__(self, router, topics, outbox: Outbox, min_calls: int) -> None:
        self.router = router
        self.topics = topics
        self.outbox = outbox
        self.min_calls = min_calls  # calls counted before an alert may say "breached"
        self._alerts: dict[str, str] = {}  # queue -> "ok" | "breached"

    def publish(self) -> None:
        router = self.router
        now = router.clock.now()
        book = router.engine.sla  # the service level routing acts on
        for name, queue in router.table.queues.items():
            waiting, longest, free = queue_now(router.engine, router.table, name, now)
            t = router.tally.queues.get(name)
            if t is None:
                continue
            levels = {w: book.level(name, w, now) for w in ("15m", "1h", "today")}
            self.outbox.retain(self.topics.queue_stats(name), payload("queue.stats", now, {
                "queue": name, "title": queue.title, "waiting": waiting, "longest_wait": round(longest, 1),
                "agents_free": free, "offered": t.offered, "answered": t.answered, "abandoned": t.abandoned,
                "overflowed": t.overflowed, "closed": t.closed,
                "service_level": _percent(levels["today"]),
                **{f"sl_{w}": _percent(v) for w, v in levels.items()},
                "protected": name in router.engine.protected,
                "target": queue.service_level.percent, "within": queue.service_level.within,
                "avg_wait": round(t.wait_total / t.answered, 1) if t.answered else None}))
            state = "breached" if book.breached(name, now, self.min_calls, ALERT_WINDOW) else "ok"
            if self._alerts.get(name) == state:
                continue
            first = name not in self._alerts
            self._alerts[name] = state
            if first and state == "ok":
                continue  # nothing to say yet
            _, done = book.counts(name, ALERT_WINDOW, now)
            level = levels[ALERT_WINDOW]
            self.outbox.retain(self.topics.sl_alert(name), payload("alert.service_level", now, {
                "queue": name, "state": state, "service_level": None if level is None else round(100 * level, 1),
                "target": queue.service_level.percent, "within": queue.service_level.within,
                "finished": done, "waiting": waiting, "longest_wait": round(longest, 1)}))
