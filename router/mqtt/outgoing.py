"""Facts out: what the MQTT bus publishes for each fact of the catalogue
(router/core/facts/), and the agents' retained topics.

`FactsOut.on_fact` is the bus's subscriber. A fact's payload goes out as it
is (`fact.data`), under its event name (`EVENTS`), with the keys the bus
adds (`ADDED`); router/mqtt/schema.py derives the documented keys of every
event (FIELDS) from these two tables and the catalogue, so a field added to
a fact is published and listed without a change here.

- call facts go to P/call/<name>; those naming an agent (`SCREEN_POP`) go to
  P/agent/<id>/call too, with the caller's number and name (and, while the
  call is in routing, its dnis, IVR variables and current queue): what a
  CRM needs for its screen-pop; outcomes say whether the call is `final`;
- callback facts go to P/call/callback as one `call.callback` event with
  its `state` (and to the agent's feed when it is placed);
- enforcement actions go to P/sla/action;
- an agent's state change sets its retained P/agent/<id>/state (the
  engine's record of the agent: state, pending change, call).
"""

from __future__ import annotations

from router.core import facts as f
from router.mqtt.outbox import Outbox
from router.mqtt.wire import payload
from router.runtime.subscribers import by_type

#: The event name each fact is published as (facts not here are not sent).
EVENTS: dict[type[f.Fact], str] = {
    **{t: t.kind for t in f.CALL_FACTS},
    **dict.fromkeys(f.CALLBACK_FACTS, "call.callback"),
    f.AgentStateChanged: "agent.state",
    **{t: t.kind for t in f.SLA_FACTS},
}
#: Call facts also sent to the agent they name, with the caller's keys.
SCREEN_POP = (f.CallOffered, f.CallRinging, f.OfferFailed, f.CallAnswered, f.CallCompleted)
#: Call facts whose event says `final`: whether the call is done with.
FINAL = {f.CallAnswered: False, f.CallAbandoned: True, f.CallOverflowed: True, f.CallClosed: True,
         f.CallCompleted: True}
#: Call facts after which the call's caller is forgotten.
FINISHED = (f.CallAbandoned, f.CallOverflowed, f.CallClosed, f.CallCompleted)
_CALLER = ("caller_num", "caller_name")
#: Keys the bus always adds to an event, beyond the fact's own payload.
ADDED: dict[str, tuple[str, ...]] = {
    "call.offered": (*_CALLER, "dnis", "variables"),  # the call is in routing while offered
    "call.ringing": ("queue", *_CALLER),
    "call.no_answer": _CALLER,
    "call.answered": ("final", *_CALLER, "dnis", "variables"),
    "call.abandoned": ("final",),
    "call.overflowed": ("final",),
    "call.closed": ("final",),
    "call.ended": ("final", *_CALLER),
    "call.callback": ("state", "reason", *_CALLER),  # the envelope of every callback state
    "agent.state": ("name", "team", "call", "pending"),  # the engine's record, not the fact's keys
}
#: Events of the bus's own (not facts): their keys (agent.skills here).
OWN_FIELDS = {"agent.skills": ("agent", "skills")}


class FactsOut:
    """Maps facts to topics and payloads into `outbox`; never blocks."""

    def __init__(self, router, topics, outbox: Outbox) -> None:
        self.router = router
        self.topics = topics
        self.outbox = outbox
        self._callers: dict[str, tuple[str, str]] = {}  # call -> (number, name) while in routing
        self.on_fact = by_type({
            **{t: self._call_event(t) for t in f.CALL_FACTS},
            **{t: self._callback_event(f.CALLBACK_STATE[t]) for t in f.CALLBACK_FACTS},
            **dict.fromkeys(f.SLA_FACTS, self._sla_action),
            f.AgentStateChanged: lambda fact, now: self.agent_state(fact.agent, now),
        })

    # ------------------------------------------------------------ calls
    def _call_event(self, kind: type[f.Fact]):
        event = EVENTS[kind]
        topic = self.topics.call(event[len("call."):])
        queued, pop, final, forget = kind is f.CallQueued, kind in SCREEN_POP, FINAL.get(kind), kind in FINISHED

        def publish(fact: f.Fact, now: float) -> None:
            data = dict(fact.data)
            call_id = data.get("call", "")
            if queued:
                self._callers[call_id] = (data.get("caller_num", ""), data.get("caller_name", ""))
            caller = self._callers.get(call_id, ("", ""))
            if forget:
                self._callers.pop(call_id, None)
            if pop:  # what a CRM needs for its screen-pop
                data.update(caller_num=caller[0], caller_name=caller[1])
                call = self.router.engine.calls.get(call_id)
                if call is not None:
                    info = call.info
                    data.update(caller_num=info.caller_num, caller_name=info.caller_name, dnis=info.dnis,
                                variables=dict(info.variables), queue=call.queue)
            if final is not None:
                data["final"] = final
            body = payload(event, now, data)
            self.outbox.event(topic, body)
            agent = data.get("agent")
            if agent and pop:
                self.outbox.event(self.topics.agent_call(agent), body)
        return publish

    def _callback_event(self, state: str):
        """callback.<state> facts (promised, placed, retry, done, failed) as
        one `call.callback` event; the record's own fields go along (number,
        agent, attempts, reason...)."""
        def publish(fact: f.Fact, now: float) -> None:
            data = fact.data
            body = dict(data)
            body.update(state=state, reason=data.get("reason"), caller_num=data.get("number", ""),
                        caller_name=data.get("caller_name", ""))
            raw = payload("call.callback", now, body)
            self.outbox.event(self.topics.call("callback"), raw)
            if data.get("agent") and state == "placed":
                self.outbox.event(self.topics.agent_call(data["agent"]), raw)
        return publish

    def _sla_action(self, fact: f.Fact, now: float) -> None:
        """An enforcement action, with its reason."""
        self.outbox.event(self.topics.sla_action, payload(fact.kind, now, fact.data))

    # ------------------------------------------------------------ agents (retained)
    def agent_state(self, agent: str, now: float) -> None:
        rec = self.router.engine.agents.get(agent)
        config = self.router.table.agents.get(agent)
        if rec is None:
            return
        pending = None if rec.pending is None else {"state": rec.pending[0].value, "reason": rec.pending[1]}
        self.outbox.retain(self.topics.agent_state(agent), payload("agent.state", now, {
            "agent": agent, "name": config.name if config else "", "team": config.team if config else None,
            "state": rec.status.value, "reason": rec.reason, "call": rec.call, "pending": pending}))

    def agent_skills(self, agent: str, now: float) -> None:
        config = self.router.table.agents.get(agent)
        if config is not None:
            self.outbox.retain(self.topics.agent_skills(agent), payload(
                "agent.skills", now, {"agent": agent, "skills": dict(sorted(config.skills.items()))}))

    def all_agents(self, now: float) -> None:
        """Every agent's retained state and skills (at start and after a reload)."""
        for agent in self.router.table.agents:
            self.agent_state(agent, now)
            self.agent_skills(agent, now)
