"""A simulated contact centre for the end-to-end tests: the PBX simulator
and a real Router connected to it over loopback TCP, with the sample config."""

from __future__ import annotations

import asyncio
from datetime import datetime
from zoneinfo import ZoneInfo

from router.process.compose import Options, Simulation, build
from router.config import load_config
from router.runtime.daemon import Router
from router.sim.traffic import Behaviour
from support.paths import ROOT
from support.waiting import assert_clean, until

__all__ = ["ROOT", "TABLE", "SPEED", "MONDAY_10AM", "STEADY", "Behaviour", "Centre"]

TABLE = load_config(ROOT / "config")
SPEED = 20.0
MONDAY_10AM = datetime(2026, 11, 23, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai")).timestamp()
# Everyone answers after 1 s and talks 30 s unless a test says otherwise.
STEADY = Behaviour(mean_patience=10_000, answer_delay=(1.0, 1.0), no_answer_rate=0.0, mean_talk=30, min_talk=30)


class Centre:
    """A simulated PBX and a router connected to it."""

    def __init__(self, behaviour: Behaviour = STEADY, calls_per_hour: float = 0.0, agents=(), seed: int = 1,
                 state_file=None, link=None):
        # Built as `router run --simulate` builds it (router/process/compose.py).
        self.options = Options(TABLE, simulation=Simulation(seed=seed, calls_per_hour=calls_per_hour,
                                                            behaviour=behaviour, login_agents=not agents),
                               speed=SPEED, start=MONDAY_10AM, state_file=state_file, link=link or {"reconnect": 1.0})
        self.app = build(self.options)
        self.pbx = self.app.simulator
        self.agents = agents

    @property
    def router(self) -> Router:
        return self.app.router

    async def connect(self) -> None:
        await self.app.start()
        await self.until(lambda: self.router.resyncs.get("sim", 0) >= 1, 5)

    async def restart_router(self) -> None:
        """Kill the router (as SIGKILL would) and start a new one on the same PBX."""
        await self.router.abort()
        self.app = build(self.options, simulator=self.pbx)
        await self.connect()

    async def __aenter__(self) -> "Centre":
        await self.connect()
        for agent in self.agents:
            self.pbx.agent_login(agent)
        await self.until(lambda: all(self.router.engine.agents[a].status.value == "available"
                                     for a in self.agents), 5)
        return self

    async def __aexit__(self, *exc) -> None:
        await self.app.stop()
        if not self.app.owns_simulator:  # the router was restarted on it
            await self.pbx.stop()

    #: Wait (real seconds) until condition() holds (support.waiting.until).
    until = staticmethod(until)

    async def sim_seconds(self, seconds: float) -> None:
        await asyncio.sleep(seconds / SPEED)

    def record(self, call_id: str):
        return self.pbx.records[call_id]

    def assert_clean(self) -> None:
        assert_clean(self.pbx)
