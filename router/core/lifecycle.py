"""The life of a call in routing, as part of the engine: it arrives, is
classified and enters its queue (or is turned away: closed, full), climbs
its escalation steps, is offered, answered or missed, and leaves with one
outcome (the engine's rule 1, engine.py). Its status changes only through
calls.py's `_call_to`.

Rules:

1. A call entering a queue that is closed, or full (`max_waiting`), takes
   that queue's closed or overflow action at once; a call found waiting by a
   resync (`since`) is never turned away, and keeps its wait.
2. Escalation: the step is the last whose `after` the time in queue has
   reached (enforcement may take one early); a final action applies once the
   call is waiting (a ringing call is decided when its ring ends).
3. Leaving by a `queue` action re-enters the call in that queue (up to
   `MAX_HOPS` moves, else it is hung up); any other action ends it as
   overflowed, or closed if it arrived while closed (and a `callback` action
   promises a callback, callbacks.py).
4. Only the connected agent's leg ends a call; a leg of a withdrawn offer
   that answers or appears late is hung up (`CancelRing`), never bridged.
5. A failed offer puts the call back at its place in line; the agent rests
   (at least `MIN_RETRY` seconds) or, after `max_no_answer` real no-answers
   in a row, is paused.
"""

from __future__ import annotations

from router.core import events as ev
from router.core import facts as f
from router.core.calendar import is_open
from router.core.classify import classify
from router.core.commands import CancelRing, CancelTimer, RunAction, StartTimer
from router.core.shared import EngineState
from router.core.state import AgentRec, AgentStatus, CallRec, CallStatus
from router.core.table import Action, merge_skills

#: AgentNoAnswer reasons that count towards `max_no_answer`. The others
#: (busy, congestion, failed, and a ring the PBX never reported) are the
#: phone's or the network's doing: counting them would let one PBX outage
#: auto-pause every agent.
AGENT_FAULTS = ("no-answer",)
#: Seconds of float rounding tolerated when comparing a wait to a step time.
TIME_EPSILON = 1e-6
#: The least rest after a failed offer, even with `no_answer_rest: 0`: a
#: phone answering "busy" at once would otherwise be re-rung in a hot loop.
MIN_RETRY = 1.0
#: Queue-to-queue moves one call may make; config checks forbid loops, this
#: is the belt to those braces.
MAX_HOPS = 8


class CallOps(EngineState):
    """Mixin of Engine: the call events and a call's way through routing."""

    __slots__ = ()

    def _on_waiting(self, e: ev.CallWaiting) -> None:
        if e.call_id in self.calls:
            return self._ignored(e, "call already known")
        arrived = self._now - max(0.0, e.waited)  # a call found by resync keeps its wait
        rule = classify(self.table, e, arrived)
        self._seq += 1
        call = CallRec(id=e.call_id, info=e, rule=rule, queue=rule.queue, priority=rule.priority,
                       arrived=arrived, entered=arrived, seq=self._seq, steps=rule.steps)
        if f.CallQueued not in self.unfollowed:
            self._publish(f.CallQueued(e.call_id, rule.queue, rule.name, rule.priority, e.dnis, e.caller_num,
                                       e.caller_name, e.pbx, variables=e.variables, arrived=arrived))
        self.calls[call.id] = call
        self._enter_queue(call, rule.queue, since=arrived if e.waited > 0 else None)

    def _enter_queue(self, call: CallRec, name: str, since: float | None = None) -> None:
        """Put a call (not in the line) into queue `name`, unless the queue
        is closed or full: then its closed/overflow action applies. A call
        that was already waiting (`since`, found by resync) is not turned
        away, and its escalation clock starts when it really arrived."""
        queue = self.table.queues[name]
        call.queue = name
        if since is None:
            if queue.hours and not is_open(self.table.calendars[queue.hours], self._now):
                return self._leave(call, queue.closed, "closed")
            if queue.max_waiting is not None and self.waiting_in(name) >= queue.max_waiting:
                return self._leave(call, queue.overflow, "full")
        call.entered = self._now if since is None else since
        call.step = call.early = 0
        call.queued = True
        self._line_add(call)
        self._apply_step(call)

    def _apply_step(self, call: CallRec) -> None:
        """Bring the call to the escalation step its time in queue calls for."""
        # The tolerance matters: a timer due at entered + after can fire at a
        # `now` where now - entered rounds to just under `after`; without it
        # the step never comes and the same timer is set again, forever.
        elapsed = self._now - call.entered + TIME_EPSILON
        self._touch(call)  # a call back to waiting, or at a new step
        index = 0
        while index + 1 < len(call.steps) and call.steps[index + 1].after <= elapsed:
            index += 1
        index = max(index, min(call.early, len(call.steps) - 1))  # a step enforcement took early
        if index != call.step:
            call.step = index
            if f.CallEscalated not in self.unfollowed:
                self._publish(f.CallEscalated(call.id, call.queue, index, call.steps[index].source))
        step = call.steps[index]
        if step.action is not None:
            if call.status is CallStatus.WAITING:  # a ringing call is decided when the ring ends
                self._line_remove(call)
                self._leave(call, step.action, "max-wait")
            return
        if index + 1 < len(call.steps):
            self._emit(StartTimer("step", call.id, call.entered + call.steps[index + 1].after))

    def _leave(self, call: CallRec, action: Action | None, reason: str) -> None:
        """The call (not in the line) leaves its queue by `action`."""
        if action is None:  # config checks prevent this; never strand a call
            action = Action("hangup")
        if action.kind == "queue" and call.hops < MAX_HOPS and action.target in self.table.queues:
            call.hops += 1
            self._publish(f.CallMoved(call.id, call.queue, action.target, reason))
            call.steps = merge_skills(self.table.queues[action.target].steps, call.rule.skills)
            return self._enter_queue(call, action.target)
        if action.kind == "queue":
            action = Action("hangup")
        self._emit(RunAction(call.id, action, reason, call.queue))
        # "closed" is a call that arrived while closed. One moved (at max
        # wait, say) into a queue that has closed since waited, and was not
        # served: a miss where it finished, with its whole wait.
        outcome = f.CallClosed if reason == "closed" and not call.queued else f.CallOverflowed
        self._finish(call, outcome, reason=reason, action=action.describe())
        if action.kind == "callback":
            self._promise(call)

    def _finish(self, call: CallRec, outcome: type[f.Fact], **data) -> None:
        """Remove a call that is out of the line from routing, with its
        outcome (f.CallAbandoned, f.CallOverflowed or f.CallClosed)."""
        self.calls.pop(call.id, None)
        self._emit(CancelTimer("step", call.id))
        wait = self._now - call.arrived
        if outcome is f.CallAbandoned:
            self.sla.abandoned(call.queue, wait, self._now)
        elif outcome is f.CallOverflowed:
            self.sla.overflowed(call.queue, wait, self._now)
        self._publish(outcome(call=call.id, queue=call.queue, wait=round(wait, 3), **data))

    def _on_ended(self, e: ev.CallEnded) -> None:
        """An agent leg hung up: only the connected agent's leg ends the call.
        A stale leg (an offer withdrawn, then answered late and hung up by
        us) says nothing about the caller, who may be ringing or talking
        with another agent by now."""
        call = self.calls.get(e.call_id)
        if e.agent_id and call is not None and (call.status is not CallStatus.CONNECTED
                                                 or call.agent != e.agent_id):
            return self._ignored(e, "hang-up of an agent leg the call is not connected to")
        self._on_left(e)

    def _on_left(self, e: ev.CallLeft | ev.CallEnded) -> None:
        call = self.calls.get(e.call_id)
        if call is None:
            return self._ignored(e, "unknown call")
        if call.status is CallStatus.CONNECTED:
            return self._end(call)
        if call.callback:  # no caller holds for a callback: only its agent leg can end
            return self._ignored(e, "callback not in progress")
        if call.status is CallStatus.RINGING:
            rec = self.agents[call.agent]
            self._emit(CancelRing(call.id, rec.id))
            self._emit(CancelTimer("ring", call.id))
            rec.call = None
            self._release(rec, keep_idle=True)
        self._line_remove(call)
        self._finish(call, f.CallAbandoned)

    def _end(self, call: CallRec) -> None:
        self.calls.pop(call.id)
        rec = self.agents[call.agent]
        config = self.table.agents.get(rec.id)
        queue = self.table.queues.get(call.queue)
        wrapup = config.wrapup if config and config.wrapup is not None else (queue.wrapup if queue else 0)
        if call.callback:
            self._callback_over(call, rec.id)
        else:
            if f.CallCompleted not in self.unfollowed:
                self._publish(f.CallCompleted(call.id, call.queue, rec.id, wrapup=wrapup))
            self._survey_pending(call, rec.id)
        rec.call = None
        if call.answered_at is not None:
            self.sla.ended(call.queue, self._now - call.answered_at + wrapup, self._now)
        self._rest(rec, wrapup)

    def _on_offered(self, e: ev.AgentOffered) -> None:
        call = self.calls.get(e.call_id)
        if call is not None and call.agent == e.agent_id and call.status is CallStatus.CONNECTED:
            return self._ignored(e, "already answered")
        if call is None or call.status is not CallStatus.RINGING or call.agent != e.agent_id:
            # A leg that appears after its offer was withdrawn: the caller
            # hung up while the Originate was on its way, and the Hangup sent
            # then found no channel yet. Hang it up now, or the agent would
            # answer for nobody.
            self._emit(CancelRing(e.call_id, e.agent_id))
            return self._ignored(e, "leg of an offer no longer open; hung up")
        if f.CallRinging not in self.unfollowed:
            self._publish(f.CallRinging(call.id, e.agent_id))

    def _on_answered(self, e: ev.AgentAnswered) -> None:
        call = self.calls.get(e.call_id)
        if call is not None and call.agent == e.agent_id and call.status is CallStatus.CONNECTED:
            return self._ignored(e, "already answered")
        if call is None or call.status is not CallStatus.RINGING or call.agent != e.agent_id:
            # A late answer to an offer already withdrawn: hang that leg up,
            # or the agent would be bridged to nobody (or to a taken call).
            self._emit(CancelRing(e.call_id, e.agent_id))
            return self._ignored(e, "answer to an offer no longer open; agent leg hung up")
        self._connect(call, self.agents[e.agent_id])

    def _connect(self, call: CallRec, rec: AgentRec, announce: bool = True) -> None:
        """The call is answered by `rec` (who rang for it; or, found by a
        resync, who talks with it)."""
        self._emit(CancelTimer("ring", call.id))
        self._call_to(call, CallStatus.CONNECTED, rec)
        rec.calls_taken += 1
        rec.misses = 0
        self._emit(CancelTimer("step", call.id))
        if call.callback:
            if announce:
                self._placed(call, rec.id)
        elif announce:
            call.answered_at = self._now
            self.sla.answered(call.queue, self._now - call.arrived, self._now)
            self._publish(f.CallAnswered(call.id, call.queue, rec.id, round(self._now - call.arrived, 3)))
            self._recording_started(call, rec.id)

    def _on_no_answer(self, e: ev.AgentNoAnswer) -> None:
        call = self.calls.get(e.call_id)
        if call is None or call.status is not CallStatus.RINGING or call.agent != e.agent_id:
            return self._ignored(e, "not the offer in progress")
        self._missed(call, e.reason)

    def _missed(self, call: CallRec, reason: str) -> None:
        """The ringing offer failed: the call is back at its place in line."""
        rec = self.agents[call.agent]
        self._emit(CancelTimer("ring", call.id))
        self._call_to(call, CallStatus.WAITING, rec)
        if reason in AGENT_FAULTS:  # busy, congestion, a lost reply: not the agent's miss
            rec.misses += 1
        if f.OfferFailed not in self.unfollowed:
            self._publish(f.OfferFailed(call.id, rec.id, reason))
        config = self.table.agents.get(rec.id)
        if rec.pending is None and config and config.max_no_answer and rec.misses >= config.max_no_answer:
            self._set(rec, AgentStatus.PAUSED, "no-answer")
        else:
            self._rest(rec, max(self.table.settings.no_answer_rest, MIN_RETRY))
        self._apply_step(call)

    def _on_timer(self, e: ev.TimerFired) -> None:
        if e.kind in ("wrapup", "rest"):
            return self._rest_over(e)
        if e.kind == "sla":
            return self._on_check()
        if e.kind == "callback":
            return self._retry_due(e.ref)
        call = self.calls.get(e.ref)
        if call is None or call.status is CallStatus.CONNECTED:
            return
        if e.kind == "step":
            self._apply_step(call)
        elif e.kind == "ring" and call.status is CallStatus.RINGING and self._now >= call.ring_until:
            # (an earlier offer's guard, delivered late, is not this offer's)
            self._emit(CancelRing(call.id, call.agent))
            self._missed(call, "timeout")

    def _requeue(self, call: CallRec) -> None:
        """Withdraw a ringing offer that is not the agent's fault."""
        self._emit(CancelRing(call.id, call.agent))
        self._emit(CancelTimer("ring", call.id))
        self._call_to(call, CallStatus.WAITING, self.agents[call.agent])
        self._apply_step(call)
