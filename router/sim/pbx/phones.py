"""Agents' phones: how each answers, talks, dials feature codes and makes
personal calls.

A phone is a PJSIP endpoint (the agent's `endpoint` in the routing table).
Its device state is derived from the channels on it (channels.py), so a
ringing leg, a call, a personal call and even the short call that dials a
feature code all show in DeviceStateChange, as on a real Asterisk.

How an agent answers: `set_agent()` fixes it; otherwise each offer draws
from `Behaviour` (lets it ring with probability `no_answer_rate`, else
answers after uniform(answer_delay); talks max(min_talk, exp(mean_talk))).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

from router.core.table import RoutingTable
from router.sim.pbx import dialplan
from router.sim.pbx.channels import NOT_INUSE, RING, UP, Channel
from router.sim.pbx.world import Flow, World

PERSONAL_NUMBER = "13900139000"  # whom agents call privately (cosmetic)


@dataclass(eq=False)
class Phone:
    agent_id: str
    name: str
    endpoint: str  # "PJSIP/1001"
    answer_delay: float | None = None  # None: drawn per offer
    answers: bool | None = None  # None: drawn per offer (no_answer_rate)
    talk: float | None = None  # None: drawn per call
    # What the agent told the router by feature code (to spot offers a
    # correct router would not make):
    logged_in: bool = False
    paused: bool = False


class Phones(Flow):
    def __init__(self, world: World, table: RoutingTable) -> None:
        super().__init__(world)
        self.by_agent = {aid: Phone(aid, a.name, a.endpoint) for aid, a in table.agents.items()}
        self._by_endpoint: dict[tuple[str, str], Phone] = {}
        for phone in self.by_agent.values():
            tech, _, resource = phone.endpoint.partition("/")
            self._by_endpoint[(tech.lower(), resource)] = phone
            world.devices[phone.endpoint] = NOT_INUSE  # registered, idle
        world.devices[dialplan.TRUNK] = NOT_INUSE

    def get(self, agent_id: str) -> Phone:
        try:
            return self.by_agent[agent_id]
        except KeyError:
            raise KeyError(f"no agent {agent_id!r} in the routing table") from None

    def find(self, tech: str, data: str) -> Phone | None:
        """The phone an Originate `Channel: tech/data` dials (the resource
        may carry a contact after another '/')."""
        return self._by_endpoint.get((tech.lower(), data.split("/", 1)[0]))

    def busy(self, phone: Phone) -> bool:
        return self.world.device_busy(phone.endpoint)

    # -- behaviour
    def answer_delay(self, phone: Phone) -> float | None:
        """Seconds until this offer is answered; None: it rings out."""
        b = self.world.behaviour
        if phone.answers is False:
            return None
        if phone.answers is None and self.world.rng.random() < b.no_answer_rate:
            return None
        if phone.answer_delay is not None:
            return phone.answer_delay
        return self.world.rng.uniform(*b.answer_delay)

    def talk_time(self, phone: Phone) -> float:
        if phone.talk is not None:
            return phone.talk
        b = self.world.behaviour
        return max(b.min_talk, self.world.rng.expovariate(1.0 / b.mean_talk))

    # -- what agents do on their phones
    def feature(self, agent_id: str, command: str, reason: str = "") -> None:
        """The agent dials a feature code: a short call into router-features
        that raises `UserEvent: RouterAgent` and hangs up."""
        phone = self.get(agent_id)
        if command == "login":
            phone.logged_in, phone.paused = True, False
        elif command == "logout":
            phone.logged_in, phone.paused = False, False
        elif command in ("pause", "unpause"):
            phone.paused = command == "pause"
        code = dialplan.FEATURE_CODES[command]
        chan = self._dial_out(phone, code)
        w = self.world
        w.run_app(chan, "Answer", "", priority=1)
        w.set_state(chan, UP)
        w.run_app(chan, "UserEvent",
                  f"RouterAgent,Agent: {agent_id},Command: {command},Reason: {reason}", priority=2)
        w.chan_event("UserEvent", chan, ("UserEvent", "RouterAgent"), ("Agent", agent_id),
                     ("Command", command), ("Reason", reason), category="user")
        w.dialplan_hangup(chan)

    def personal_call(self, agent_id: str, seconds: float) -> None:
        """The agent calls out privately: the phone is in use for `seconds`
        with no router call involved."""
        phone = self.get(agent_id)
        chan = self._dial_out(phone, PERSONAL_NUMBER)
        w = self.world
        w.run_app(chan, "Dial", f"PJSIP/{PERSONAL_NUMBER}@trunk", priority=1)
        w.set_state(chan, UP)
        w.later(chan, "talk", seconds, partial(w.hangup, chan, 16, request="HangupRequest"))

    def _dial_out(self, phone: Phone, exten: str) -> Channel:
        chan = self.world.new_channel(phone.endpoint, state=RING, context=dialplan.PHONE_CONTEXT,
                                      exten=exten, caller=(phone.agent_id, phone.name), flow=self)
        chan.agent_id = phone.agent_id
        chan.dnid = exten
        return chan
