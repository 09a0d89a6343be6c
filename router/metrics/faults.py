"""Health of the router's own parts, read at scrape time: the MQTT bus,
the state file, each PBX's rebuilt state, the subscribers' faults and the
HTTP server's refusals (what an attack or a fault does shows here, not only
in the log)."""

from __future__ import annotations

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector


class FaultCollector(Collector):
    """Gauges and counters of one `Router`'s fault handling; `http` is the
    HttpServer serving them (None until it runs)."""

    def __init__(self, router) -> None:
        self.router = router
        self.http = None

    def collect(self):
        router = self.router
        rebuilt = GaugeMetricFamily("router_ami_state_rebuilt", "1 when the PBX's state was rebuilt after the "
                                    "last login; 0 while a rebuild failed and is retried (no offers there)",
                                    labels=["pbx"])
        for name in router.links:
            rebuilt.add_metric([name], 0.0 if name in router.stale else 1.0)
        retries = CounterMetricFamily("router_ami_rebuild_failures", "State rebuilds that failed (a listing "
                                      "timed out or answered an error)", labels=["pbx"])
        for name in router.links:
            retries.add_metric([name], router.rebuild_failures.get(name, 0))
        yield from (rebuilt, retries)
        saves = CounterMetricFamily("router_state_save_failures", "Saves of the state file that failed")
        state = getattr(router, "_state", None)
        saves.add_metric([], state.save_failures if state is not None else 0)
        yield saves
        # A consumer of the facts that raised (router/runtime/subscribers.py): routing went on without it.
        faults = CounterMetricFamily("router_subscriber_faults", "Facts a subscriber (console, metrics, MQTT "
                                     "bus, status view, ...) failed on; routing went on", labels=["subscriber"])
        subscribers = getattr(router, "subscribers", None)
        for name, count in sorted(getattr(subscribers, "faults", {}).items()):
            faults.add_metric([name], count)
        yield faults
        if self.http is not None:
            refused = CounterMetricFamily("router_http_connections_refused", "HTTP connections answered 503 "
                                          "at once: over the concurrent connection cap")
            refused.add_metric([], self.http.refused)
            yield refused
        bus = getattr(router, "mqtt", None)
        if bus is None:
            return
        up = GaugeMetricFamily("router_mqtt_connected", "1 when the MQTT bus is connected to its broker")
        up.add_metric([], 1.0 if bus.connected else 0.0)
        restarts = CounterMetricFamily("router_mqtt_task_restarts", "MQTT bus sessions that ended in an "
                                       "unexpected error and were started again")
        restarts.add_metric([], bus.task_restarts)
        takeovers = CounterMetricFamily("router_mqtt_takeovers", "Times another client seemed to connect "
                                        "with the router's client id")
        takeovers.add_metric([], bus.takeovers)
        cmds = CounterMetricFamily("router_mqtt_commands", "MQTT commands by outcome (refused includes "
                                   "retained; rate_limited were dropped unanswered)", labels=["outcome"])
        for outcome, value in (("ok", bus.commands_ok), ("refused", bus.commands_refused),
                               ("retained", bus.commands_retained), ("rate_limited", bus.commands_limited)):
            cmds.add_metric([outcome], value)
        dropped = CounterMetricFamily("router_mqtt_dropped", "Outgoing MQTT messages dropped from a full "
                                      "buffer", labels=["kind"])
        dropped.add_metric(["event"], bus.dropped)
        dropped.add_metric(["reply"], bus.replies_dropped)
        yield from (up, restarts, takeovers, cmds, dropped)
