"""Callbacks on the simulated PBX: `router-callback` (deploy/asterisk).

The router Originates the agent's endpoint into router-callback with
ROUTER_CALL (the callback's id) and ROUTER_DIAL (the customer's number).
Once the agent answers (legs.py), this plays the context:

    Dial(PJSIP/<number>@trunk,30) → a customer channel on the trunk rings →
    answered after a few seconds (or not, `answer_rate`) → bridged with the
    agent → talk → the customer hangs up → the agent's leg ends; its hangup
    handler raises `UserEvent: RouterCallbackResult` (Call, Status =
    DIALSTATUS) just before the leg's own Hangup, whichever side ended it.

Each callback attempt is recorded in `callbacks` (number, agent, status)
for tests to check against what the router published.
"""

from __future__ import annotations

from dataclasses import dataclass

from router.sim.pbx.channels import RINGING, UP, Channel
from router.sim.pbx.world import Flow, World

#: Seconds the customer's phone rings before Dial() gives up (the global
#: ROUTER_CALLBACK_TIMEOUT of deploy/asterisk/extensions.conf).
DIAL_TIMEOUT = 30.0
TRUNK = "PJSIP/trunk"


@dataclass
class Attempt:
    callback: str  # ROUTER_CALL
    number: str
    agent: str
    started: float
    status: str = ""  # DIALSTATUS once the leg ended
    talked: float = 0.0


class Customers(Flow):
    """The customers' side of callbacks: their phones answer or not."""

    def __init__(self, world: World, answer_rate: float = 0.8, answer_delay: tuple[float, float] = (3.0, 10.0),
                 talk: float = 60.0) -> None:
        super().__init__(world)
        self.answer_rate = answer_rate
        self.answer_delay = answer_delay
        self.talk = talk
        self.callbacks: list[Attempt] = []
        self._by_agent_leg: dict[str, tuple[Attempt, Channel | None]] = {}  # agent leg uid -> attempt, customer

    def dial(self, leg: Channel, context: str, exten: str) -> None:
        """router-callback on the answered agent leg `leg`."""
        w = self.world
        number = "".join(ch for ch in leg.variables.get("ROUTER_DIAL", "") if ch.isdigit() or ch == "+")
        attempt = Attempt(leg.variables.get("ROUTER_CALL", ""), number, leg.agent_id, w.clock.now())
        self.callbacks.append(attempt)
        if not number:
            attempt.status = "CHANUNAVAIL"
            self._by_agent_leg[leg.uniqueid] = (attempt, None)
            w.dialplan_hangup(leg)
            return
        w.run_app(leg, "Dial", f"PJSIP/{number}@trunk,{DIAL_TIMEOUT:g}", context=context, exten=exten, priority=5)
        customer = w.new_channel(TRUNK, state=RINGING, context="from-trunk", exten=number, flow=self,
                                 caller=(number, ""))
        self._by_agent_leg[leg.uniqueid] = (attempt, customer)
        w.emit("DialBegin", "call", leg.block() + customer.block("Dest") + [("DialString", f"{number}@trunk")])
        if w.rng.random() < self.answer_rate:
            delay = w.rng.uniform(*self.answer_delay)
            w.later(customer, "answer", min(delay, DIAL_TIMEOUT - 0.5), self._answer, leg, customer)
        w.later(customer, "timeout", DIAL_TIMEOUT, self._no_answer, leg, customer)

    def _answer(self, leg: Channel, customer: Channel) -> None:
        w = self.world
        w.cancel(customer, "timeout")
        w.set_state(customer, UP)
        w.emit("DialEnd", "call", leg.block() + customer.block("Dest") + [("DialStatus", "ANSWER")])
        attempt, _ = self._by_agent_leg[leg.uniqueid]
        attempt.status = "ANSWER"
        w.bridge(leg, customer)
        attempt.talked = self.talk
        w.later(customer, "talk", self.talk, self._customer_hangs_up, customer)

    def _customer_hangs_up(self, customer: Channel) -> None:
        self.world.end_bridge(customer, 16, "HangupRequest")

    def _no_answer(self, leg: Channel, customer: Channel) -> None:
        w = self.world
        w.emit("DialEnd", "call", leg.block() + customer.block("Dest") + [("DialStatus", "NOANSWER")])
        self._by_agent_leg[leg.uniqueid][0].status = "NOANSWER"
        w.hangup(customer, 19)
        w.dialplan_hangup(leg)

    def leg_ending(self, leg: Channel) -> None:
        """The agent leg is about to go (any reason): its hangup handler
        reports the dial's result, and a customer still ringing is dropped."""
        w = self.world
        entry = self._by_agent_leg.pop(leg.uniqueid, None)
        if entry is None:
            return
        attempt, customer = entry
        if customer is not None and customer.alive and customer.bridge is None:
            w.cancel(customer, "answer", "timeout")
            w.hangup(customer, 16)
            attempt.status = attempt.status or "CANCEL"
        w.chan_event("UserEvent", leg, ("UserEvent", "RouterCallbackResult"), ("Call", attempt.callback),
                     ("Status", attempt.status or "CANCEL"), category="user")

    def bridge_ended(self, chan: Channel) -> None:
        """The agent hung up first: the customer's side just goes."""
        self.world.hangup(chan, 16)
