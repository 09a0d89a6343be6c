"""Memory per agent and per waiting call in the engine, and RSS over a long
accelerated run.

tracemalloc counts the Python objects the engine allocates (records, the
skill index, the line, per-queue counts) as agents log in and as callers
join the line; RSS deltas (/proc/self/statm) are given beside it, since they
include the allocator's slack. The daemon's own per-call maps (translator
channels, timers) are not in these figures; the TCP scenario's process RSS
covers them.
"""

from __future__ import annotations

import os
import tracemalloc

from bench.engine_alone import START, World
from bench.tables import call_mix, make_table
from router.core import events as ev
from router.core.engine import Engine


def rss() -> int:
    """Resident set size of this process, bytes."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def per_item(agents: int = 10_000, waiting: int = 5_000, seed: int = 1) -> dict:
    import random

    rng = random.Random(seed)
    table = make_table(agents, seed)
    tracemalloc.start()
    r0, (m0, _) = rss(), tracemalloc.get_traced_memory()
    engine = Engine(table)
    for aid in table.agents:
        engine.handle(ev.AgentLogin(aid), START)
    r1, (m1, _) = rss(), tracemalloc.get_traced_memory()
    for aid in table.agents:  # nobody free: every caller stays in line
        engine.handle(ev.AgentPause(aid, "bench"), START)
    r2, (m2, _) = rss(), tracemalloc.get_traced_memory()
    for i in range(waiting):
        dnis, variables = call_mix(rng)
        engine.handle(ev.CallWaiting(f"call-{i}", dnis, f"1380000{i:05d}", "王小明",
                                     tuple(variables.items()), "sim"), START + i * 0.01)
    r3, (m3, _) = rss(), tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert sum(engine._in_queue.values()) == waiting, "callers left the line"
    return {"agents": agents, "waiting": waiting,
            "agent_bytes_traced": (m1 - m0) / agents, "agent_bytes_rss": (r1 - r0) / agents,
            "call_bytes_traced": (m3 - m2) / waiting, "call_bytes_rss": (r3 - r2) / waiting}


def long_run(agents: int = 1000, waiting: int = 500, minutes: float = 30.0, samples: int = 6) -> dict:
    """RSS while the engine-alone world runs `minutes` of simulated time."""
    world = World(agents, waiting, 50.0, 1)
    world.run(60.0)
    points = []
    for _ in range(samples):
        world.run(minutes * 60 / samples)
        points.append(rss())
    return {"agents": agents, "waiting": waiting, "sim_minutes": minutes, "calls": world.calls,
            "rss_mb": [round(p / 2 ** 20, 1) for p in points],
            "growth_mb": round((points[-1] - points[0]) / 2 ** 20, 1)}
