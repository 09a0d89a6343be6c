"""Agent legs: what an `Originate` to an agent's endpoint does.

The flows of router_flow_basic.ami, agent_no_answer.ami and
caller_abandons_while_agent_rings.ami, with a PJSIP phone instead of the
traces' Local channels:

    Newchannel (Down, the ChannelId as Uniqueid) → Newexten AppDial2 →
    VarSet (the Variables) → NewCallerid → NewConnectedLine → DialBegin →
    Newstate Ringing → DeviceStateChange RINGING → DialState RINGING, then

    answered:  Newstate Up → DeviceStateChange INUSE → DialEnd ANSWER →
               OriginateResponse Success/4 → router-agent: Bridge(${ROUTER_CALLER})
               → BridgeCreate, BridgeEnter ×2 … talk … HangupRequest, BridgeLeave,
               SoftHangupRequest, Hangup ×2, BridgeDestroy
    no answer: Hangup 19 → OriginateResponse Failure/3 → DeviceStateChange NOT_INUSE
    busy:      DialEnd BUSY → Hangup 17 → OriginateResponse Failure/5
    cancelled (AMI Hangup while ringing): SoftHangupRequest → Hangup →
               OriginateResponse Failure/0 (see _CANCEL_REASON)

`Bridge()` finding no caller is a GHOST CALL (the agent answered for
nobody); finding the caller already bridged is a DOUBLE CONNECT. Neither
happens with a correct router; both are counted.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from router.sim.pbx import dialplan
from router.sim.pbx.callers import Callers
from router.sim.pbx.channels import DOWN, RINGING, UNKNOWN, UP, Channel
from router.sim.pbx.customers import Customers
from router.sim.pbx.phones import Phone, Phones
from router.sim.pbx.world import Flow, World

# The Reason of an offer withdrawn by an AMI Hangup while it rings (no trace
# records one). pbx_dial_reason() in Asterisk 22's main/pbx.c gives 1
# (AST_CONTROL_HANGUP) only for AST_DIAL_RESULT_HANGUP, i.e. when the
# *calling* channel of a dial hangs up, and an Originate has none; a dialled
# channel that goes away unanswered ends the dial UNANSWERED, which maps by
# its cause: 17 → 5 busy, 19/26 → 3 no answer, congestion causes → 8,
# anything else → 0. The router's Cause 16 therefore reads Failure/0, our
# choice (it is 0 too if dial.c does not carry the cause over at all).
_CANCEL_REASON = {17: 5, 19: 3, 26: 3, 21: 8, 27: 8, 34: 8, 38: 8, 41: 8, 42: 8}


#: Real seconds within which an answer racing the caller's hang-up is the
#: network's doing, not the router's (it cannot un-send a ring in flight).
RACE_WINDOW = 0.01


@dataclass(eq=False)
class Originate:
    """One Originate action as parsed (manager.c action_originate)."""

    action_id: str
    tech: str
    data: str
    context: str
    exten: str
    priority: int
    application: str
    appdata: str
    cid_num: str
    cid_name: str
    timeout: float  # simulated seconds
    channel_id: str
    variables: list[tuple[str, str]]
    done: asyncio.Future | None = None  # set for a synchronous (Async: false) Originate
    chan: Channel | None = None
    phone: Phone | None = None
    answered: bool = False
    finished: bool = False
    reason: int = 0  # the failure Reason reported when the leg goes away unanswered
    call_id: str = ""


class Legs(Flow):
    def __init__(self, world: World, phones: Phones, callers: Callers) -> None:
        super().__init__(world)
        self.phones = phones
        self.callers = callers
        self.customers = Customers(world)  # router-callback: the customers called back
        self._legs: dict[str, Originate] = {}  # uniqueid -> originate

    def originate(self, o: Originate) -> None:
        # After the "Originate successfully queued" response is written.
        self.world.clock.soon(self._dial, o)

    def _dial(self, o: Originate) -> None:
        w = self.world
        phone = self.phones.find(o.tech, o.data)
        if phone is None or (o.channel_id and w.channels.in_use(o.channel_id)):
            # ast_request() fails (no such endpoint, or the ChannelId is
            # taken): no channel at all, just the failure.
            self._respond(o, 0)
            return
        busy = self.phones.busy(phone)
        chan = w.new_channel(phone.endpoint, state=DOWN, context=dialplan.PHONE_CONTEXT,
                             exten="s", uniqueid=o.channel_id, flow=self)
        chan.agent_id = phone.agent_id
        o.chan, o.phone = chan, phone
        self._legs[chan.uniqueid] = o
        w.run_app(chan, "AppDial2", "(Outgoing Line)")
        # ast_set_variables() walks a list built in reverse (see the VarSet
        # order in router_flow_basic.ami).
        for name, value in reversed(o.variables):
            w.set_var(chan, name, value)
        if o.cid_num or o.cid_name:
            chan.caller_num, chan.caller_name = o.cid_num, o.cid_name
            w.chan_event("NewCallerid", chan,
                         ("CID-CallingPres", "0 (Presentation Allowed, Not Screened)"))
            chan.connected_num, chan.connected_name = o.cid_num, o.cid_name
            w.chan_event("NewConnectedLine", chan)
        o.call_id = self._call_of(chan)
        chan.call_id = o.call_id
        w.emit("DialBegin", "call", chan.block("Dest") + [("DialString", o.data)])
        if busy:
            w.emit("DialEnd", "call", chan.block("Dest") + [("DialStatus", "BUSY")])
            o.reason = 5
            w.hangup(chan, 17)
            return
        w.set_state(chan, RINGING)
        w.emit("DialState", "call", chan.block("Dest") + [("DialStatus", "RINGING")])
        self._note_offer(o, phone)
        w.later(chan, "timeout", o.timeout, self._no_answer, o)
        delay = self.phones.answer_delay(phone)
        if delay is not None and delay < o.timeout:
            w.later(chan, "answer", delay, self._answer, o)

    def _call_of(self, chan: Channel) -> str:
        """The router call a leg is for: ROUTER_CALL, else the channel that
        ROUTER_CALLER names."""
        call_id = chan.variables.get("ROUTER_CALL", "")
        if call_id in self.world.records:
            return call_id
        caller = self.world.channels.get(chan.variables.get("ROUTER_CALLER", ""))
        return caller.call_id if caller is not None else ""

    def _note_offer(self, o: Originate, phone: Phone) -> None:
        if o.call_id:
            self.world.records[o.call_id].offers.append(phone.agent_id)
        if not phone.logged_in or phone.paused:
            state = "paused" if phone.logged_in else "logged out"
            self.world.anomaly(f"agent {phone.agent_id} rung while {state}")

    def _no_answer(self, o: Originate) -> None:
        o.reason = 3
        self.world.hangup(o.chan, 19)

    def _answer(self, o: Originate) -> None:
        w, chan = self.world, o.chan
        w.cancel(chan, "timeout")
        w.set_state(chan, UP)
        w.emit("DialEnd", "call", chan.block("Dest") + [("DialStatus", "ANSWER")])
        o.answered = True
        self._respond(o, 4)
        if o.application:
            # No application emulation: it runs and the channel hangs up.
            w.run_app(chan, o.application, o.appdata)
            w.dialplan_hangup(chan)
        elif o.context == dialplan.ROUTER_AGENT:
            self._bridge_to_caller(o)
        elif o.context == dialplan.ROUTER_CALLBACK:
            self.customers.dial(chan, o.context, o.exten)
        else:
            w.anomaly(f"leg {chan.name} answered into {o.context},{o.exten}")
            w.run_app(chan, "Hangup", "", context=o.context, exten=o.exten, priority=o.priority)
            w.hangup(chan, 16, request="SoftHangupRequest")

    def _bridge_to_caller(self, o: Originate) -> None:
        """router-agent: `Bridge(${ROUTER_CALLER})`, then `Hangup()`."""
        w, chan = self.world, o.chan
        target = chan.variables.get("ROUTER_CALLER", "")
        w.run_app(chan, "Bridge", target, context=o.context, exten=o.exten,
                  priority=o.priority or 1)
        caller = self.callers.caller(target) if target else None
        if caller is None:
            gone = next((r.ended for r in w.records.values() if r.channel == target), None)
            if gone is not None and w.clock.now() - gone < RACE_WINDOW * w.clock.speed:
                # The caller left a moment before the answer: the router's
                # Hangup was on its way. Real Asterisk has the same race; the
                # dialplan's Bridge() finds no caller and the leg hangs up.
                w.ghost_races += 1
            elif gone is not None and w.in_outage(gone, lead=RACE_WINDOW * w.clock.speed):
                # The caller left while the router was disconnected, or just
                # before the cut (the router's Hangup died with the
                # connection): nobody could hang the ringing leg up in time.
                w.ghost_outages += 1
                w.anomaly(f"ghost call during an AMI outage: agent {chan.agent_id} answered "
                          f"{chan.name} for {target}, which left at {gone:.1f}s")
            else:
                w.ghost_calls += 1
                left = f"left at {gone:.1f}s" if gone is not None else "is gone"
                w.anomaly(f"GHOST CALL: agent {chan.agent_id} answered {chan.name} (rung at "
                          f"{chan.created:.1f}s) for {target or 'no ROUTER_CALLER'}, which {left}")
            w.set_var(chan, "BRIDGERESULT", "NONEXISTENT")
            w.dialplan_hangup(chan)
        elif caller.bridge is not None:
            w.double_connects += 1
            w.anomaly(f"DOUBLE CONNECT: agent {chan.agent_id} answered for {caller.name}, "
                      "already bridged to another agent")
            w.set_var(chan, "BRIDGERESULT", "FAILURE")
            w.dialplan_hangup(chan)
        else:
            self.callers.surveys.bridging(chan, caller, chan.agent_id)  # MixMonitor, the survey's F()
            self.callers.connect(caller, chan, chan.agent_id)
            w.later(chan, "talk", self.phones.talk_time(o.phone), self._agent_hangs_up, chan)

    def _agent_hangs_up(self, chan: Channel) -> None:
        self.world.end_bridge(chan, 16, "HangupRequest")

    def hung_up_by_action(self, chan: Channel, cause: int) -> None:
        o = self._legs.get(chan.uniqueid)
        if o is None or o.answered:
            super().hung_up_by_action(chan, cause)
            return
        # Withdrawn while ringing (the router's CancelRing).
        o.reason = _CANCEL_REASON.get(cause, 0)
        self.world.hangup(chan, cause, request="SoftHangupRequest", request_cause=cause or 16)

    def hanging_up(self, chan: Channel) -> None:
        self.customers.leg_ending(chan)  # a callback leg reports its dial's result

    def ended(self, chan: Channel) -> None:
        # The OriginateResponse of a failed leg follows its Hangup event.
        o = self._legs.pop(chan.uniqueid, None)
        if o is not None and not o.finished:
            self._respond(o, o.reason)

    def _respond(self, o: Originate, reason: int) -> None:
        """The OriginateResponse event (fast_originate in manager.c): on a
        failure there is no channel any more, so Channel is the requested
        tech/data and Uniqueid the ChannelId (or <unknown>)."""
        if o.finished:
            return
        o.finished = True
        success = reason == 4
        if o.done is not None:  # synchronous Originate: the response says it all
            if not o.done.done():
                o.done.set_result(success)
            return
        pairs = [("ActionID", o.action_id)] if o.action_id else []
        pairs.append(("Response", "Success" if success else "Failure"))
        pairs.append(("Channel", o.chan.name if success else f"{o.tech}/{o.data}"))
        if o.application:
            pairs += [("Application", o.application), ("Data", o.appdata)]
        else:
            pairs += [("Context", o.context), ("Exten", o.exten)]
        pairs += [("Reason", str(reason)),
                  ("Uniqueid", o.chan.uniqueid if success else (o.channel_id or UNKNOWN)),
                  ("CallerIDNum", o.cid_num or UNKNOWN), ("CallerIDName", o.cid_name or UNKNOWN)]
        self.world.emit("OriginateResponse", "call", pairs)
