"""Reconciling the engine with what a PBX really has (`PbxSnapshot`), after
a reconnect or a router restart. Part of the engine.

The PBX is the truth. For every call of that PBX the snapshot says one of:
talking with agent A, agent A's phone ringing for it, holding (waiting), or
gone. The engine's own view (waiting, ringing B, talking with B) is brought
in line:

| PBX says     | engine: waiting  | engine: ringing B            | engine: talking with B       |
| ------------ | ---------------- | ---------------------------- | ---------------------------- |
| talking, A   | answered by A    | A: answered; B != A: freed   | A: as is; B != A: B freed, A |
| ringing, A   | ringing A        | A: as is; B != A: B freed, A | B's call over; ringing A     |
| waiting      | as is            | offer failed (back in line)  | B's call over; waiting again |
| gone         | abandoned        | abandoned, B freed           | call over                    |

Every other agent leg the PBX shows ringing for a call gets a CancelRing:
a call never keeps two agent phones ringing. Calls the engine did not know
(a restart) are taken on with their waiting time; an agent found talking or
ringing is taken as logged in.
"""

from __future__ import annotations

from router.core import events as ev
from router.core import facts as f
from router.core.commands import CancelRing, StartTimer
from router.core.shared import EngineState
from router.core.state import AgentRec, AgentStatus, CallRec, CallStatus

#: Seconds given to an offer taken over from a snapshot before the ring
#: guard gives up on it (its real ring timeout is unknown here).
ADOPTED_RING = 30.0


class ResyncOps(EngineState):
    """Mixin of Engine: the PbxSnapshot handler."""

    __slots__ = ()

    def _on_snapshot(self, e: ev.PbxSnapshot) -> None:
        talking = dict(e.connected)
        rings: dict[str, list[str]] = {}
        for call_id, agent_id in e.ringing:
            rings.setdefault(call_id, []).append(agent_id)
        holding = {c.call_id for c in e.waiting}
        unreachable = set(e.unreachable)
        for agent_id, busy in e.devices:
            if agent_id in self.table.agents:
                self._on_device(ev.AgentDevice(agent_id, busy, agent_id in unreachable))

        for call_id in [*talking, *rings]:  # a parked callback's leg is up after all
            call = self.parked.get(call_id)
            if call is not None and call.info.pbx == e.pbx:
                self._unpark(call)
        self._yield_agents(e.pbx, talking, rings)
        done: set[str] = set()
        for call in [c for c in self.calls.values() if c.info.pbx == e.pbx]:
            done.add(call.id)
            if call.callback:
                self._resync_callback(call, talking.get(call.id), rings.get(call.id, []))
            elif call.id in talking:
                self._become_talking(call, talking[call.id])
            elif call.id in rings and call.id in holding:
                self._become_ringing(call, rings[call.id])
            elif call.id in rings:  # a leg rings but the caller is gone: no ghost call
                self._cancel_all(call.id, [a for a in rings[call.id] if a != call.agent])
                if call.status is CallStatus.CONNECTED:
                    self._end(call)
                else:
                    self._on_left(ev.CallLeft(call.id))
            elif call.id in holding:
                if call.status is CallStatus.RINGING:
                    self._missed(call, "failed")
                elif call.status is CallStatus.CONNECTED:
                    self._end(call)  # talked, then came back to hold: a new wait below
            elif call.status is CallStatus.CONNECTED:
                self._end(call)
            else:
                self._on_left(ev.CallLeft(call.id))

        for waiting in e.waiting:
            if waiting.call_id not in self.calls:
                self._on_waiting(waiting)
        for call_id, agent_id in e.connected:
            if call_id not in self.calls:  # a conversation from before a restart
                self._adopt_conversation(ev.CallWaiting(call_id, pbx=e.pbx), agent_id)
        self._resync_answered = set()
        for call_id, agents in rings.items():
            if call_id in done:
                continue
            call = self.calls.get(call_id)
            if call is not None and call.status is CallStatus.WAITING:
                self._become_ringing(call, agents)
            elif call is None:
                for agent_id in agents:  # a leg for a caller the PBX no longer holds
                    self._emit(CancelRing(call_id, agent_id))
        self._publish(f.PbxResynced(e.pbx))

    def _yield_agents(self, pbx: str, talking: dict[str, str], rings: dict[str, list[str]]) -> None:
        """Before any call is reconciled, every agent the engine holds for a
        call while the PBX shows that agent with another call is let go of:
        what the PBX says wins, whatever order the calls are looked at in
        (a claim on an agent still held for a stale reservation would be
        refused, and a second agent rung for a caller already talking)."""
        self._resync_answered = set()  # calls whose answer is already out
        shown: dict[str, str] = {}  # agent -> the call the PBX shows them with
        for call_id, agent_id in talking.items():
            shown[agent_id] = call_id
        for call_id, agents in rings.items():
            for agent_id in agents:
                shown.setdefault(agent_id, call_id)
        stale = [c for c in self.calls.values()
                 if c.info.pbx == pbx and c.agent is not None and shown.get(c.agent, c.id) != c.id]
        for call in stale:
            if call.status is CallStatus.RINGING:
                self._free_agent_of(call)  # back in line; reconciled below like any call
            elif call.id in talking:  # talking with another agent now (a transfer)
                self._resync_answered.add(call.id)
                self._free_agent_of(call)
            else:
                # The conversation with that agent is over; the caller, if
                # still holding, comes back from the waiting list below (a
                # callback's leg is over: made, as when it ends while away).
                self._end(call)

    def _resync_callback(self, call: CallRec, talking: str | None, ringing: list[str]) -> None:
        """A callback has no caller on hold: only its agent leg is on the PBX
        (listed as ringing while it is up but still dialing the customer)."""
        if call.status is CallStatus.CONNECTED and call.agent in (talking, *ringing):
            return
        if talking is not None:
            return self._become_talking(call, talking)
        if ringing:
            return self._become_ringing(call, ringing)
        if call.status is CallStatus.CONNECTED:
            self._end(call)  # the leg ended while we were away
        elif call.status is CallStatus.RINGING:
            self._missed(call, "failed")

    def _adopt_conversation(self, info: ev.CallWaiting, agent_id: str) -> None:
        """Take on a call already talking with `agent_id`, so that the agent
        is known busy and goes to wrap-up when it ends. No outcome is
        published: the call was answered before this router knew it."""
        self._yield_reservation(agent_id, info.call_id)
        removed = agent_id not in self.table.agents
        if removed:  # (removed from the config before a restart: theirs until it ends, as after a reload)
            self.agents.setdefault(agent_id, AgentRec(agent_id))
        if not self._claimable(agent_id, None, talking=True):
            return self._publish(f.EventIgnored(
                "PbxSnapshot", f"{info.call_id} talks with {agent_id}, who holds another call"))
        rule = self.table.default
        self._seq += 1
        call = CallRec(id=info.call_id, info=info, rule=rule, queue=rule.queue, priority=rule.priority,
                       arrived=self._now, entered=self._now, seq=self._seq, steps=rule.steps)
        self.calls[call.id] = call
        rec = self.agents[agent_id]
        self._pause_after_call(rec)
        self._call_to(call, CallStatus.CONNECTED, rec)  # (never in the line)
        if removed:
            rec.pending = (AgentStatus.LOGGED_OUT, "removed from config")

    # -- bringing one call in line
    def _free_agent_of(self, call: CallRec) -> None:
        """Drop the engine's agent for `call` (its leg is not on the PBX)."""
        rec = self.agents[call.agent]
        was_talking = call.status is CallStatus.CONNECTED
        self._call_to(call, CallStatus.WAITING, rec)  # (a talking one: back in line at its old place)
        if was_talking:
            self._release(rec)
        else:
            self._release(rec, keep_idle=True)

    def _claimable(self, agent_id: str, call: CallRec | None, talking: bool = False) -> bool:
        """May `agent_id` be given `call`? An agent removed from the config
        by a reload may still be found talking (the PBX is the truth): the
        call is theirs until it ends, then they log out (agents.py)."""
        rec = self.agents.get(agent_id)
        known = agent_id in self.table.agents or (talking and rec is not None)
        return rec is not None and known and rec.call in (None, call and call.id)

    def _yield_reservation(self, agent_id: str, call_id: str) -> None:
        """The PBX says `agent_id` talks with `call_id`: an offer of another
        call the engine holds them for yields (that call goes back in line)."""
        rec = self.agents.get(agent_id)
        held = self.calls.get(rec.call) if rec is not None and rec.call not in (None, call_id) else None
        if held is not None and held.status is CallStatus.RINGING:
            self._emit(CancelRing(held.id, agent_id))
            self._free_agent_of(held)

    def _become_talking(self, call: CallRec, agent_id: str) -> None:
        if call.status is not CallStatus.WAITING and call.agent == agent_id:
            if call.status is CallStatus.RINGING:
                self._connect(call, self.agents[agent_id])
            return
        answered = call.status is CallStatus.CONNECTED or call.id in self._resync_answered  # outcome out
        if call.status is not CallStatus.WAITING:
            self._free_agent_of(call)
        self._yield_reservation(agent_id, call.id)
        if agent_id not in self.table.agents:
            # Removed from the config (by a reload) before a restart: the new
            # engine has no record of them, but the PBX shows them talking,
            # so the call is theirs until it ends, as in
            # `_adopt_conversation`. (Ignored, a callback's leg stayed
            # waiting and was offered again: the customer called twice.)
            self.agents.setdefault(agent_id, AgentRec(agent_id))
        if not self._claimable(agent_id, call, talking=True):
            return self._publish(f.EventIgnored(
                "PbxSnapshot", f"{call.id} talks with {agent_id}, who holds another call"))
        rec = self.agents[agent_id]
        self._pause_after_call(rec)
        self._connect(call, rec, announce=not answered)
        if agent_id not in self.table.agents:
            rec.pending = (AgentStatus.LOGGED_OUT, "removed from config")

    def _become_ringing(self, call: CallRec, agents: list[str]) -> None:
        keep = call.agent if call.status is CallStatus.RINGING and call.agent in agents else None
        if keep is None:
            if call.status is CallStatus.CONNECTED:
                # That conversation is over and the caller holds again: end
                # it; the snapshot's waiting list brings the caller back.
                return self._end(call)
            if call.status is CallStatus.RINGING:
                self._free_agent_of(call)
            keep = next((a for a in agents if self._claimable(a, call)), None)
            if keep is not None:
                self._call_to(call, CallStatus.RINGING, self.agents[keep])
                call.ring_until = self._now + ADOPTED_RING
                self._emit(StartTimer("ring", call.id, call.ring_until))
        self._cancel_all(call.id, [a for a in agents if a != keep])

    def _cancel_all(self, call_id: str, agents: list[str]) -> None:
        for agent_id in agents:
            self._emit(CancelRing(call_id, agent_id))
