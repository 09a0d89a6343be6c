"""Agent state changes and config replacement, as part of the engine.

Agent states: logged_out -> available <-> reserved (ringing) -> on_call ->
wrapup -> available; paused (with a reason) from any logged-in state.

Rules:
- A pause or logout asked for while the agent is on a call takes effect when
  the call ends (`pending`); during a ring it withdraws the offer at once and
  the call goes back to its place in line, no fault of the call.
- After a failed offer the agent rests `settings.no_answer_rest` seconds
  (shown as wrapup) before the next one. Only a real no-answer counts
  against the agent: `max_no_answer` of them in a row pause the agent with
  reason "no-answer" (busy, congestion and technical failures do not).
- Only agents in the routing table can become available.
- An agent whose phone is busy outside routing (a personal call) is shown
  paused with reason "device-busy" and comes back when the phone is free.
  Device state caused by our own offers is ignored while reserved or on a
  call; a stale "busy" after a call only delays the agent until "free".
- An agent whose phone cannot be reached (Asterisk's UNAVAILABLE: a PJSIP
  phone not registered) is shown paused with reason "unreachable" and
  offered nothing until the phone is back: every Originate to it would fail
  at once, and technical failures never pause an agent by themselves.
"""

from __future__ import annotations

from router.core import events as ev
from router.core import facts as f
from router.core.classify import classify
from router.core.commands import CancelTimer, StartTimer
from router.core.shared import EngineState
from router.core.state import AgentRec, AgentStatus
from router.core.table import merge_skills

DEVICE_BUSY = "device-busy"
UNREACHABLE = "unreachable"
#: Pauses the router sets and lifts itself from the phone's state.
DEVICE_REASONS = (DEVICE_BUSY, UNREACHABLE)
_LOGGED_IN_IDLE = (AgentStatus.AVAILABLE, AgentStatus.PAUSED, AgentStatus.WRAPUP)
#: Not staffed: not counted among the agents who can take a step's calls.
_OFF = (AgentStatus.LOGGED_OUT, AgentStatus.PAUSED)


class AgentOps(EngineState):
    """Mixin of Engine: the agent half of the event handlers."""

    __slots__ = ()

    def _set(self, rec: AgentRec, status: AgentStatus, reason: str = "", keep_idle: bool = False) -> None:
        # (Runs several times per call: each test is made once.)
        if status is AgentStatus.AVAILABLE:
            if rec.id not in self.table.agents:
                status, reason = AgentStatus.LOGGED_OUT, "removed from config"
            elif rec.unreachable:
                status, reason = AgentStatus.PAUSED, UNREACHABLE
            elif rec.device_busy:
                status, reason = AgentStatus.PAUSED, DEVICE_BUSY
        old = rec.status
        if status is AgentStatus.AVAILABLE:
            if old is not AgentStatus.AVAILABLE and not keep_idle:
                rec.idle_since = self._now
            self._available[rec.id] = rec
        elif rec.id in self._available:  # (tested here: most changes are between busy states)
            self._available.pop(rec.id)
        if status in _OFF:
            if rec.id in self._staffed:
                self._staffed.pop(rec.id)
        elif rec.id not in self._staffed:
            self._staffed[rec.id] = rec
        if old is AgentStatus.WRAPUP and status is not AgentStatus.WRAPUP:
            self._emit(CancelTimer("wrapup", rec.id))
        changed = old is not status or rec.reason != reason
        rec.status, rec.reason = status, reason
        if changed:
            self._publish_state(rec, with_pending=rec.pending is not None)

    def _publish_state(self, rec: AgentRec, with_pending: bool = True) -> None:
        """agent.state; with what the agent will be once the call ends (a
        pause or logout asked for mid-call; "" when that was called off):
        the state file keeps it, so a restart does not offer the agent a
        call they asked not to get."""
        if f.AgentStateChanged in self.unfollowed:
            return
        pending = pending_reason = None
        if with_pending:
            state, pending_reason = rec.pending or (None, "")
            pending = state.value if state else ""
        self._publish(f.AgentStateChanged(rec.id, rec.status.value, rec.reason, pending, pending_reason,
                                          call=rec.call))

    def _set_pending(self, rec: AgentRec, pending: tuple[AgentStatus, str] | None) -> None:
        if rec.pending != pending:
            rec.pending = pending
            self._publish_state(rec)

    def _pause_after_call(self, rec: AgentRec) -> None:
        """An agent paused by a person (the state file after a restart) and
        found talking stays paused once that call ends."""
        if rec.status is AgentStatus.PAUSED and rec.reason not in DEVICE_REASONS and rec.pending is None:
            rec.pending = (AgentStatus.PAUSED, rec.reason)

    def _release(self, rec: AgentRec, keep_idle: bool = False) -> None:
        """The agent's call, wrap-up or rest is over: apply a pending pause or
        logout, else make the agent available."""
        if rec.pending is not None:
            status, reason = rec.pending
            rec.pending = None
            self._set(rec, status, reason)
        else:
            self._set(rec, AgentStatus.AVAILABLE, keep_idle=keep_idle)

    def _rest(self, rec: AgentRec, seconds: float) -> None:
        if seconds <= 0 or rec.pending is not None:
            return self._release(rec)
        rec.rest_until = self._now + seconds
        self._set(rec, AgentStatus.WRAPUP)
        self._emit(StartTimer("wrapup", rec.id, rec.rest_until))

    def _rest_over(self, e: ev.TimerFired) -> None:
        rec = self.agents.get(e.ref)
        if rec is not None and rec.status is AgentStatus.WRAPUP and self._now >= rec.rest_until:
            self._release(rec)

    def _agent(self, e) -> AgentRec | None:
        rec = self.agents.get(e.agent_id)
        if rec is None or e.agent_id not in self.table.agents:
            self._ignored(e, "unknown agent")
            return None
        return rec

    def _withdraw_offer(self, rec: AgentRec) -> None:
        self._requeue(self.calls[rec.call])

    def _on_login(self, e: ev.AgentLogin) -> None:
        rec = self._agent(e)
        if rec is None:
            return
        if rec.status is AgentStatus.LOGGED_OUT:
            rec.misses = rec.calls_taken = 0
            self._set(rec, AgentStatus.AVAILABLE)
        elif rec.pending is not None and rec.pending[0] is AgentStatus.LOGGED_OUT:
            self._set_pending(rec, None)

    def _go(self, rec: AgentRec, status: AgentStatus, reason: str) -> None:
        """Logout or pause, now or (on a call) when the call ends."""
        if rec.status is AgentStatus.ON_CALL:
            return self._set_pending(rec, (status, reason))
        if rec.status is AgentStatus.RESERVED:
            self._set(rec, status, reason)
            self._withdraw_offer(rec)
        else:
            self._set(rec, status, reason)

    def _on_logout(self, e: ev.AgentLogout) -> None:
        rec = self._agent(e)
        if rec is not None and rec.status is not AgentStatus.LOGGED_OUT:
            self._go(rec, AgentStatus.LOGGED_OUT, "")

    def _on_pause(self, e: ev.AgentPause) -> None:
        rec = self._agent(e)
        if rec is None:
            return
        if rec.status is AgentStatus.LOGGED_OUT:
            return self._ignored(e, "agent is logged out")
        self._go(rec, AgentStatus.PAUSED, e.reason)

    def _on_unpause(self, e: ev.AgentUnpause) -> None:
        rec = self._agent(e)
        if rec is None:
            return
        if rec.status is AgentStatus.PAUSED:
            rec.misses = 0
            self._set(rec, AgentStatus.AVAILABLE)
        elif rec.pending is not None and rec.pending[0] is AgentStatus.PAUSED:
            self._set_pending(rec, None)
        else:
            self._ignored(e, f"agent is {rec.status.value}, not paused")

    def _on_device(self, e: ev.AgentDevice) -> None:
        rec = self._agent(e)
        if rec is None or (rec.device_busy, rec.unreachable) == (e.busy, e.unreachable):
            return
        rec.device_busy, rec.unreachable = e.busy, e.unreachable
        # `_set` turns "available" into the device pause the phone calls for.
        if rec.status is AgentStatus.AVAILABLE or (rec.status is AgentStatus.PAUSED
                                                   and rec.reason in DEVICE_REASONS):
            self._set(rec, AgentStatus.AVAILABLE, keep_idle=rec.status is AgentStatus.AVAILABLE)

    def _on_config(self, e: ev.ConfigReplaced) -> None:
        """Swap the table. Agents keep their state (removed ones log out,
        after their call if on one); waiting calls keep their place and
        elapsed time and are re-classified under the new rules."""
        self.table = table = e.table
        self.sla.replace_table(table)
        self.sla.short_abandon = table.settings.enforcement.short_abandon
        self.sla.day_start_hour = table.settings.enforcement.day_start_hour
        for aid in table.agents:
            self.agents.setdefault(aid, AgentRec(aid))
        # Calls first, so that an offer withdrawn below is judged by the
        # new rules, never by the old table's steps or queues.
        for call in self.line():
            self._line_remove(call)
            if call.callback:
                self._callback_requeued_by_reload(call)
                call.step = min(call.step, len(call.steps) - 1)
                call.early = 0
                self._line_add(call)
                continue
            rule = classify(table, call.info, call.arrived)
            if (call.hops == 0 and not call.moved) or call.queue not in table.queues:
                call.queue, call.steps = rule.queue, rule.steps
            else:  # moved by an action or a supervisor: stays where it was sent
                call.steps = merge_skills(table.queues[call.queue].steps, rule.skills)
            call.rule = rule
            call.priority = rule.priority if call.pinned_priority is None else call.pinned_priority
            call.step = min(call.step, len(call.steps) - 1)
            call.early = 0  # new steps: re-judged by time, and by the next enforcement check
            self._line_add(call)
        for rec in list(self.agents.values()):
            if rec.id in table.agents:
                continue
            if rec.status in _LOGGED_IN_IDLE or rec.status is AgentStatus.RESERVED:
                self._go(rec, AgentStatus.LOGGED_OUT, "removed from config")
            elif rec.status is AgentStatus.ON_CALL:
                self._set_pending(rec, (AgentStatus.LOGGED_OUT, "removed from config"))
        for call in self.line():
            self._apply_step(call)
