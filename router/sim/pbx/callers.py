"""Inbound calls: the caller's channel from the trunk to its end.

A call arrives on `PJSIP/trunk`, runs `router-in` (dialplan.py): answered,
ROUTER_DNIS / ROUTER_VARS / ROUTER_HOLD_LIMIT set, `UserEvent:
RouterCallWaiting` raised, then MusicOnHold until one of:

- an agent leg's `Bridge()` pulls it into a bridge (legs.py) → 'answered';
- the caller's patience runs out → it hangs up → 'abandoned';
- ROUTER_HOLD_LIMIT runs out → the dialplan's own fallback (app_queue in a
  real system; here just recorded) → 'fallback';
- the router redirects it to router-action → the extension's name;
- an AMI Hangup → 'hangup'.
"""

from __future__ import annotations

from router.sim.pbx import dialplan
from router.sim.pbx.channels import RING, UP, Channel
from router.sim.pbx.records import CallRecord
from router.sim.pbx.survey import Surveys
from router.sim.pbx.world import Flow, World


def _seconds(value: float) -> str:
    return f"{value:g}"


class Callers(Flow):
    def __init__(self, world: World, hold_limit: float, surveys: Surveys) -> None:
        super().__init__(world)
        self.hold_limit = hold_limit
        self.surveys = surveys

    def place_call(self, dnis: str, caller_num: str, caller_name: str,
                   variables: dict[str, str], patience: float | None) -> str:
        w = self.world
        chan = w.new_channel(dialplan.TRUNK, state=RING, context=dialplan.ROUTER_IN, exten=dnis,
                             caller=(caller_num, caller_name), flow=self)
        chan.dnid = dnis
        chan.call_id = chan.uniqueid
        w.records[chan.uniqueid] = CallRecord(chan.uniqueid, chan.name, dnis, caller_num,
                                              caller_name, dict(variables), w.clock.now())
        w.run_app(chan, "Answer", "", priority=1)
        w.set_state(chan, UP)
        vars_text = "&".join(f"{k}={v}" for k, v in variables.items())
        limit = _seconds(self.hold_limit)
        for priority, (name, value) in enumerate(
                (("ROUTER_DNIS", dnis), ("ROUTER_VARS", vars_text), ("ROUTER_HOLD_LIMIT", limit)),
                start=2):
            w.run_app(chan, "Set", f"{name}={value}", priority=priority)
            w.set_var(chan, name, value)
        w.run_app(chan, "UserEvent", f"RouterCallWaiting,DNIS: {dnis},Vars: {vars_text}",
                  priority=5)
        w.chan_event("UserEvent", chan, ("UserEvent", "RouterCallWaiting"), ("DNIS", dnis),
                     ("Vars", vars_text), category="user")
        w.run_app(chan, "MusicOnHold", f"default,{limit}", priority=6)
        w.later(chan, "hold", self.hold_limit, self._fallback, chan)
        if patience is not None:
            w.later(chan, "patience", patience, self._abandon, chan)
        return chan.uniqueid

    def caller(self, call_id: str) -> Channel | None:
        chan = self.world.channels.get(call_id)
        return chan if chan is not None and chan.flow is self else None

    def hangup_caller(self, call_id: str) -> None:
        """The caller hangs up now (waiting → abandoned; talking → the call ends)."""
        if call_id not in self.world.records:
            raise KeyError(call_id)
        chan = self.caller(call_id)
        if chan is not None:
            self._abandon(chan)

    def connect(self, chan: Channel, leg: Channel, agent_id: str) -> None:
        """An agent leg's Bridge() takes this waiting caller."""
        w = self.world
        w.cancel(chan, "hold", "patience")
        # Pulled out of MusicOnHold: a bridged channel runs no application
        # (CoreShowChannel shows "", Status "(null)", as in resync_snapshot.ami).
        chan.app = chan.appdata = None
        w.bridge(chan, leg)
        record = w.records[chan.call_id]
        record.outcome, record.agent, record.answered = "answered", agent_id, w.clock.now()

    def bridge_ended(self, chan: Channel) -> None:
        """The agent hung up. The caller was pulled into the bridge, so it
        would resume router-in after MusicOnHold, i.e. at the fallback
        Queue(); the dialplan must prevent that (`Bridge(${ROUTER_CALLER},x)`
        hangs the pulled channel up) and the simulator does the same, unless
        the Bridge sent it on to the survey (F(router-survey^s^1))."""
        self._talk_over(chan)
        if not self.surveys.takes(chan):
            self.world.hangup(chan, 16, request="SoftHangupRequest")

    def _talk_over(self, chan: Channel) -> None:
        record = self.world.records[chan.call_id]
        if record.answered is not None and record.talk_ended is None:
            record.talk_ended = self.world.clock.now()

    # -- the caller's ways out
    def _abandon(self, chan: Channel) -> None:
        """The caller's phone hangs up (BYE from the trunk)."""
        if chan.bridge is None:
            self._outcome(chan, "abandoned")
        else:
            self._talk_over(chan)
        self.world.end_bridge(chan, 16, "HangupRequest")

    def _fallback(self, chan: Channel) -> None:
        """MusicOnHold ran for ROUTER_HOLD_LIMIT: the dialplan's fallback
        (Queue(router-fallback) in a real system) takes the call."""
        self._outcome(chan, "fallback")
        self.world.run_app(chan, "Queue", dialplan.FALLBACK_QUEUE, priority=7)
        self.world.dialplan_hangup(chan)

    def hung_up_by_action(self, chan: Channel, cause: int) -> None:
        if chan.bridge is None:
            self._outcome(chan, "hangup")
        else:
            self._talk_over(chan)
        self.world.end_bridge(chan, cause, "SoftHangupRequest")

    def redirect(self, chan: Channel, context: str, exten: str, priority: int) -> None:
        if context != dialplan.ROUTER_ACTION or exten not in dialplan.ACTIONS:
            super().redirect(chan, context, exten, priority)
            return
        w = self.world
        record = w.records[chan.call_id]
        if chan.bridge is not None:
            w.anomaly(f"call {chan.call_id} redirected to {exten} while talking to an agent")
        record.outcome = exten
        record.target = chan.variables.get("ROUTER_TARGET", "")
        record.announce = chan.variables.get("ROUTER_ANNOUNCE", "")
        w.cancel(chan, "hold", "patience")
        w.break_bridge(chan)
        app, data = dialplan.ACTIONS[exten]
        if exten == "voicemail" and record.announce:
            data = "{target},s"  # as router-action: the announcement replaces the instructions
        w.run_app(chan, app, data.format(target=record.target, announce=record.announce),
                  context=context, exten=exten, priority=priority)
        # The simulator does not play voicemail or call back: the outcome is
        # recorded and the caller's channel ends here.
        w.dialplan_hangup(chan)
        if exten == "voicemail" and record.target:
            # what Asterisk 22 sends once VoiceMail() has saved the message
            w.emit("MessageWaiting", "call", [("Mailbox", record.target), ("Waiting", "1"),
                                              ("New", "1"), ("Old", "0")])

    def ended(self, chan: Channel) -> None:
        self.surveys.forget(chan)
        record = self.world.records[chan.call_id]
        record.ended = self.world.clock.now()
        if record.outcome is None:
            record.outcome = "hangup"

    def _outcome(self, chan: Channel, outcome: str) -> None:
        record = self.world.records[chan.call_id]
        if record.outcome is None:
            record.outcome = outcome
