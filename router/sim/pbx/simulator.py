"""PbxSimulator: a fake Asterisk 22 speaking AMI over TCP, for tests and
for running the router daemon without a PBX.

    sim = PbxSimulator(table, speed=50)
    port = await sim.start()
    call_id = sim.place_call(caller_name="王五")   # a caller now waits in router-in
    ...                                            # the router originates, the agent answers
    sim.records[call_id].outcome                   # 'answered'
    await sim.stop()

The scripted controls act at once and emit their events synchronously;
everything that takes time (rings, talk, patience, Originate Timeout, hold
limit) runs on simulated time, `speed` times faster than real time.
"""

from __future__ import annotations

import random

from router.core.table import RoutingTable
from router.sim import traffic
from router.sim.pbx.arrivals import Arrivals
from router.sim.pbx.callers import Callers
from router.sim.pbx.clock import Clock
from router.sim.pbx.legs import Legs
from router.sim.pbx.phones import Phones
from router.sim.pbx.records import CallRecord
from router.sim.pbx.server import AmiServer
from router.sim.pbx.survey import Surveys
from router.sim.pbx.world import World


class PbxSimulator:
    def __init__(self, table: RoutingTable, *, host: str = "127.0.0.1", port: int = 0,
                 username: str = "router", secret: str = "sim-secret", speed: float = 1.0,
                 seed: int = 1, calls_per_hour: float = 0.0,
                 behaviour: traffic.Behaviour = traffic.Behaviour(), hold_limit: float = 300.0,
                 login_agents: bool = True) -> None:
        self.table = table
        self.username, self.secret = username, secret  # for whoever connects to us
        self.port = port
        self.login_agents = login_agents
        self.clock = Clock(speed)
        self.rng = random.Random(seed)  # the source of randomness (surveys have their own)
        self.server = AmiServer(self, host, port, username, secret)
        self.world = World(self.clock, self.rng, behaviour, self.server.broadcast)
        self.phones = Phones(self.world, table)
        # Its own generator: surveys change no other draw of a seeded run.
        self.surveys = Surveys(self.world, random.Random(f"survey-{seed}"))
        self.callers = Callers(self.world, hold_limit, self.surveys)
        self.legs = Legs(self.world, self.phones, self.callers)
        self.arrivals = (Arrivals(table, self.rng, behaviour, calls_per_hour, self.clock,
                                  self.place_call) if calls_per_hour > 0 else None)
        self._agents_logged_in = False

    # -- life cycle
    async def start(self) -> int:
        """Listen; returns the bound port. Starts the traffic if any."""
        self.clock.start()
        self.port = await self.server.start()
        if self.arrivals is not None:
            self.arrivals.start()
        return self.port

    async def stop_traffic(self) -> None:
        """No more arrivals; calls already in the PBX carry on."""
        if self.arrivals is not None:
            await self.arrivals.stop()

    async def stop(self) -> None:
        await self.stop_traffic()
        await self.server.stop()
        self.clock.cancel_all()

    def client_gone(self, others_logged_in: bool) -> None:
        """An AMI client left: with none left, the router hears nothing
        from now until the next login (an outage, for ghost accounting)."""
        if not others_logged_in and self.world.outage_since is None:
            self.world.outage_since = self.clock.now()

    def client_logged_in(self) -> None:
        """With login_agents, the agents log in (by feature code) once the
        first AMI client is there to hear it, as at the start of a shift."""
        if self.world.outage_since is not None:
            self.world.outages.append((self.world.outage_since, self.clock.now()))
            self.world.outage_since = None
        if self.login_agents and not self._agents_logged_in:
            self._agents_logged_in = True
            for agent_id in self.table.agents:
                self.clock.soon(self.phones.feature, agent_id, "login", "")

    # -- scripted control
    def place_call(self, dnis: str = "4000000000", caller_num: str = "13800138000",
                   caller_name: str = "王五", variables: dict[str, str] | None = None,
                   patience: float | None = None) -> str:
        """A caller dials in; returns the call id (its channel's Uniqueid).
        `patience`: simulated seconds before the caller hangs up (None: holds
        until the hold limit)."""
        return self.callers.place_call(dnis, caller_num, caller_name, dict(variables or {}),
                                       patience)

    def hangup_caller(self, call_id: str) -> None:
        self.callers.hangup_caller(call_id)

    def set_agent(self, agent_id: str, *, answer_delay: float | None = None,
                  answers: bool = True, talk: float | None = None) -> None:
        """Fix how the agent's phone behaves from now on (None: drawn from
        Behaviour per call)."""
        phone = self.phones.get(agent_id)
        phone.answer_delay, phone.answers, phone.talk = answer_delay, answers, talk

    def set_survey(self, *, rate: float | None = None, scores: dict[str, int] | None = None) -> None:
        """How callers answer surveys from now on: `rate` the share who press
        a score (None: Behaviour.survey_rate), `scores` a fixed score per
        agent (others drawn, see survey.py)."""
        self.surveys.rate = rate
        self.surveys.fixed.update(scores or {})

    def agent_login(self, agent_id: str) -> None:
        self.phones.feature(agent_id, "login")

    def agent_logout(self, agent_id: str) -> None:
        self.phones.feature(agent_id, "logout")

    def agent_pause(self, agent_id: str, reason: str = "break") -> None:
        self.phones.feature(agent_id, "pause", reason)

    def agent_unpause(self, agent_id: str) -> None:
        self.phones.feature(agent_id, "unpause")

    def agent_personal_call(self, agent_id: str, seconds: float) -> None:
        self.phones.personal_call(agent_id, seconds)

    def drop_clients(self) -> None:
        """Cut every AMI connection (as a network failure would)."""
        self.server.drop_clients()

    def hang(self) -> None:
        """The AMI stops answering, TCP stays open (faults.py)."""
        from router.sim.pbx import faults
        faults.hang(self)

    def resume(self) -> None:
        from router.sim.pbx import faults
        faults.resume(self)

    async def restart(self, gap: float) -> None:
        """A PBX restart: every channel and session gone, back after `gap`
        simulated seconds (faults.py)."""
        from router.sim.pbx import faults
        await faults.restart(self, gap)

    # -- what happened
    @property
    def callbacks(self):
        """Every callback attempt the router placed (customers.Attempt)."""
        return self.legs.customers.callbacks

    @property
    def records(self) -> dict[str, CallRecord]:
        return self.world.records

    @property
    def ghost_calls(self) -> int:
        return self.world.ghost_calls

    @property
    def ghost_races(self) -> int:
        return self.world.ghost_races

    @property
    def ghost_outages(self) -> int:
        """Ghost calls whose caller left while no router was connected."""
        return self.world.ghost_outages

    @property
    def double_connects(self) -> int:
        return self.world.double_connects

    @property
    def actions_log(self) -> list[dict]:
        """Every message received, in order (see protocol.Message.to_log)."""
        return self.server.actions_log

    @property
    def anomalies(self) -> list[str]:
        """Ghost calls, double connects, offers to agents logged out or
        paused, redirects the dialplan has no place for."""
        return self.world.anomalies

    @property
    def errors(self) -> list[str]:
        """Tracebacks of simulator bugs (should stay empty)."""
        return self.clock.errors
