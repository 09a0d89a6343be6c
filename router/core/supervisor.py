"""Supervisor commands on a call, as part of the engine (MQTT and the
control socket send them as events).

Rules:

1. Only a call not yet answered can be moved or re-prioritised; anything
   else is ignored with a reason.
2. A move withdraws a ringing offer (no fault of the agent), takes the call
   to the new queue's escalation (a callback keeps its no-final-action
   kind) from its first step, and survives reloads (`moved`).
3. A priority set by a supervisor re-keys the call's place in line and
   survives reloads (`pinned_priority`).
"""

from __future__ import annotations

from router.core import events as ev
from router.core import facts as f
from router.core.callbacks import callback_steps
from router.core.commands import CancelRing, CancelTimer
from router.core.shared import EngineState
from router.core.state import CallRec, CallStatus
from router.core.table import merge_skills


class SupervisorOps(EngineState):
    """Mixin of Engine: CallMove and CallPriority."""

    __slots__ = ()

    def _waiting_call(self, e) -> CallRec | None:
        call = self.calls.get(e.call_id)
        if call is None:
            self._ignored(e, "unknown call")
        elif call.status is CallStatus.CONNECTED:
            self._ignored(e, "call already answered")
            call = None
        return call

    def _on_move(self, e: ev.CallMove) -> None:
        call = self._waiting_call(e)
        if call is None:
            return
        if e.queue not in self.table.queues:
            return self._ignored(e, "unknown queue")
        if call.status is CallStatus.RINGING:
            rec = self.agents[call.agent]
            self._emit(CancelRing(call.id, rec.id))
            self._emit(CancelTimer("ring", call.id))
            self._call_to(call, CallStatus.WAITING, rec)
            self._release(rec, keep_idle=True)
        self._line_remove(call)
        self._emit(CancelTimer("step", call.id))
        self._publish(f.CallMoved(call.id, call.queue, e.queue, "supervisor"))
        call.moved = True
        steps = self.table.queues[e.queue].steps
        # A callback keeps the no-final-action escalation it got when promised:
        # it must not "leave by callback" (or to voicemail) a second time.
        call.steps = callback_steps(steps, call.rule.skills) if call.callback else merge_skills(steps, call.rule.skills)
        self._enter_queue(call, e.queue, since=self._now)

    def _on_priority(self, e: ev.CallPriority) -> None:
        call = self._waiting_call(e)
        if call is None:
            return
        self._line_remove(call)
        call.pinned_priority = call.priority = e.priority
        self._line_add(call)
        self._publish(f.CallReprioritised(call.id, call.queue, e.priority))
