"""Prometheus metrics and health for the router.

    metrics = Metrics(router)                    # own CollectorRegistry
    router.attach_metrics(metrics)               # subscribes it to the facts; + latency
    port = await metrics.serve("127.0.0.1", 9464)  # /metrics and /healthz
    ...
    await metrics.stop()

Counters and histograms follow the published facts (`router.metrics.events`,
a subscriber); gauges are read from the router at scrape time
(`router.metrics.collector`). Names: prefix `router_`, seconds, `_total` on
counters; labels bounded (queue, skill, state, reason, pbx, window, outcome,
action). The list is in README.md ("Metrics").
"""

from __future__ import annotations

import time

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from router.core.facts import Fact
from router.metrics.collector import RouterCollector
from router.metrics.events import EventMetrics
from router.metrics.faults import FaultCollector
from router.metrics.http import HttpServer, json_body


#: With more than this many HTTP connections open, /metrics pages up to
#: SHARED_PAGE seconds old are served again instead of rendering new ones.
BUSY_CLIENTS = 4
SHARED_PAGE = 1.0


class Metrics:
    """The router's metrics, in a registry of their own (never the global one)."""

    def __init__(self, router, registry: CollectorRegistry | None = None) -> None:
        self.router = router
        self.registry = registry if registry is not None else CollectorRegistry()
        self.events = EventMetrics(self.registry, router.table)
        self.collector = RouterCollector(router, self.events)
        self.registry.register(self.collector)
        self.faults = FaultCollector(router)
        self.registry.register(self.faults)
        self._http: HttpServer | None = None
        self._page: tuple[float, bytes] = (float("-inf"), b"")  # the last /metrics rendered, and when

    # -- fed by the Router
    def observe(self, fact: Fact, now: float) -> None:
        """The subscriber: count one fact."""
        self.events.observe(fact, now)

    def observe_decision(self, seconds: float) -> None:
        """One event's handling took `seconds` (engine + issuing commands)."""
        self.events.latency.observe(seconds)

    def set_reload(self, ok: bool, digest: str) -> None:
        """Record a config (re)load: `ok` False when it was rejected (the old
        config stays in use); `digest` is the config in use afterwards."""
        self.collector.reload_ok = ok
        self.collector.digest = digest

    # -- read
    def exposition(self) -> bytes:
        return generate_latest(self.registry)

    def health(self) -> tuple[bool, dict]:
        """Healthy: every AMI link up with its state rebuilt, and the MQTT
        bus (when there is one) connected."""
        router = self.router
        links = router.connected
        stale = dict(router.stale)
        healthy = all(links.values()) and not stale
        body = {"ami": links}
        if stale:  # logged in, but its state could not be read: nothing is offered there
            body["rebuild_failed"] = stale
        bus = getattr(router, "mqtt", None)
        if bus is not None:
            body["mqtt"] = {"connected": bus.connected, "task_restarts": bus.task_restarts,
                            "takeovers": bus.takeovers, "last_error": bus.last_error}
            healthy = healthy and bus.connected
        body["status"] = "ok" if healthy else "degraded"
        return healthy, body

    # -- HTTP
    async def serve(self, host: str = "127.0.0.1", port: int = 0) -> int:
        """Serve /metrics and /healthz in this event loop; returns the port."""
        self._http = HttpServer({"/metrics": self._metrics_page, "/healthz": self._health_page})
        self.faults.http = self._http
        return await self._http.start(host, port)

    async def stop(self) -> None:
        if self._http is not None:
            await self._http.stop()
            self._http = None

    def _metrics_page(self) -> tuple[int, str, bytes]:
        # Many scrapes at once (a flood, or many Prometheus servers): they
        # share one rendering up to SHARED_PAGE seconds old, so the loop
        # renders a few pages a second however many clients ask. One
        # scraper at a time always gets a fresh page.
        http = self._http
        now = time.monotonic()
        if http is not None and http.active > BUSY_CLIENTS and now - self._page[0] < SHARED_PAGE:
            return 200, CONTENT_TYPE_LATEST, self._page[1]
        page = self.exposition()
        self._page = (now, page)
        return 200, CONTENT_TYPE_LATEST, page

    def _health_page(self) -> tuple[int, str, bytes]:
        healthy, body = self.health()
        return (200 if healthy else 503), "application/json; charset=utf-8", json_body(body)
