"""How long one /metrics scrape holds the event loop (the collectors run in
it, so routing waits meanwhile). Sample config (42 agents, 6 queues), all
agents logged in, N callers waiting, an hour of outcomes in the SLA book.

    .venv/bin/python bench/metrics_scrape.py [WAITING ...]
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

from prometheus_client import CollectorRegistry

from router.config import load_config
from router.core import events as ev
from router.runtime.daemon import Clock, Router
from router.metrics import Metrics

ROOT = Path(__file__).resolve().parent.parent
T0 = 1_800_000_000.0


def build(waiting: int) -> Metrics:
    table = load_config(ROOT / "config")
    router = Router(table, Clock(1.0, start=T0))
    metrics = Metrics(router, registry=CollectorRegistry())
    engine, now = router.engine, T0 - 3600
    for aid in table.agents:
        engine.handle(ev.AgentLogin(aid), now)
        engine.handle(ev.AgentPause(aid, "bench"), now)  # nobody takes the callers below
    for i, queue in enumerate(list(table.queues) * 300):  # an hour of history: 1800 outcomes
        t = now + i * 2
        engine.sla.answered(queue, i % 40, t)
        engine.sla.ended(queue, 120.0, t)
    for i in range(waiting):
        engine.handle(ev.CallWaiting(f"c{i}", dnis="4008002000"), T0 - waiting + i)
    return metrics


def main(sizes: list[int]) -> None:
    for waiting in sizes:
        metrics = build(waiting)
        times = []
        for _ in range(200):
            start = time.perf_counter()
            body = metrics.exposition()
            times.append(time.perf_counter() - start)
        times.sort()
        print(f"{waiting:5d} callers waiting: scrape median {statistics.median(times) * 1e3:.2f} ms, "
              f"p99 {times[int(len(times) * 0.99) - 1] * 1e3:.2f} ms, {len(body) / 1024:.0f} KiB")


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [0, 100, 1000])
