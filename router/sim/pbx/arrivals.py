"""Background traffic: Poisson arrivals of the call types of
router.sim.traffic (one per classification rule, derived from the routing
table), with Chinese caller names and exponential patience from Behaviour.
The agents' side of the behaviour (answer delay, no-answer rate, talk time)
is drawn per offer by phones.py."""

from __future__ import annotations

import asyncio
import random
import traceback
from typing import Callable

from router.core.table import RoutingTable
from router.sim import traffic
from router.sim.pbx.clock import Clock

PlaceCall = Callable[..., str]


class Arrivals:
    def __init__(self, table: RoutingTable, rng: random.Random, behaviour: traffic.Behaviour,
                 calls_per_hour: float, clock: Clock, place_call: PlaceCall) -> None:
        self.rng = rng
        self.behaviour = behaviour
        self.rate = calls_per_hour / 3600.0  # per simulated second
        self.clock = clock
        self.place_call = place_call
        # Drawn up front, as router.sim.discrete does, so a seed fixes them.
        self.types = traffic.call_types(table, rng)
        self._task: asyncio.Task | None = None

    def start(self) -> None:
        if self.rate > 0 and self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def _run(self) -> None:
        rng = self.rng
        while True:
            await self.clock.sleep(rng.expovariate(self.rate))
            call_type = traffic.pick(self.types, rng)
            try:
                self.place_call(dnis=call_type.dnis,
                                caller_num=traffic.caller_number(call_type, rng),
                                caller_name=traffic.caller_name(rng),
                                variables=dict(call_type.variables),
                                patience=rng.expovariate(1.0 / self.behaviour.mean_patience))
            except Exception:  # noqa: BLE001 - keep the traffic going; tests read clock.errors
                self.clock.errors.append(traceback.format_exc())
