"""Resync: time to rebuild the router's state after a (re)connect.

The PBX simulator (in a child process) holds `channels` live caller channels
(callers in router-in on hold, placed before any router connects) for a
table of `agents` agents. A fresh Router connects; measured from its login
(`Link.up`) to the end of the PBX session's state rebuild
(router/ami/rebuild.py: the listings read over TCP, `build_snapshot`, the
snapshot fed to the engine): `Router.resyncs` counts completed ones.
"""

from __future__ import annotations

import asyncio
import multiprocessing as mp
import time

from bench.tables import call_mix, make_table
from router.process.compose import Options, PbxAddress, build


async def _pbx(conn, agents: int, channels: int, seed: int) -> None:
    import random

    from router.sim.pbx import PbxSimulator

    pbx = PbxSimulator(make_table(agents, seed), seed=seed, login_agents=False, hold_limit=10 ** 6)
    port = await pbx.start()
    rng = random.Random(seed)
    for i in range(channels):
        dnis, variables = call_mix(rng)
        pbx.place_call(dnis, f"1380000{i:05d}", "陈静", variables)
    conn.send(port)
    while not conn.poll():
        await asyncio.sleep(0.05)
    await pbx.stop()


def _pbx_process(conn, agents: int, channels: int, seed: int) -> None:
    asyncio.run(_pbx(conn, agents, channels, seed))


async def _measure(port: int, agents: int, seed: int) -> dict:
    app = build(Options(make_table(agents, seed), pbxs=(PbxAddress("sim", "127.0.0.1", port, "router", "sim-secret"),),
                        resync_timeout=60))
    router = app.router
    link = router.links["sim"]
    await app.start()
    while not link.up:
        await asyncio.sleep(0.0005)
    t0 = time.perf_counter()
    while router.resyncs.get("sim", 0) < 1:
        await asyncio.sleep(0.0005)
    spent = time.perf_counter() - t0
    found = len(router.engine.calls)
    await app.stop()
    return {"seconds": spent, "calls_found": found}


def resync_time(agents: int = 10_000, channels: int = 5_000, seed: int = 1) -> dict:
    ctx = mp.get_context("fork")
    here, there = ctx.Pipe()
    child = ctx.Process(target=_pbx_process, args=(there, agents, channels, seed), daemon=True)
    child.start()
    try:
        port = here.recv()
        result = asyncio.run(_measure(port, agents, seed))
        here.send("stop")
    finally:
        child.join(10)
        if child.is_alive():
            child.kill()
    return {"agents": agents, "channels": channels, **result}
