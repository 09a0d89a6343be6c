"""The routing engine: `Engine.handle(event, now) -> list[Command]`.

Rules the engine keeps after every event (the property tests check each):

1. A call is in exactly one of: waiting, ringing one agent, connected to one
   agent; it leaves routing with exactly one outcome (answered, abandoned,
   overflowed, closed), published as `call.<outcome>`.
2. An agent is offered at most one call at a time, and a call rings at most
   one agent at a time.
3. Work conservation: after the event, no available agent is eligible for a
   waiting call. (`_dispatch` runs after every event, greedily, in line order.)
4. Line order: calls are served in `CallRec.line_key` order (enforce.py: by
   service-level deadline weighted by priority, or by priority then arrival),
   with protected queues' calls ahead of lenders' (enforce.py rule 3). A call
   keeps its place through no-answers; a queue move re-keys it by the new
   queue's threshold, from its original arrival.
5. Determinism: no clock, no randomness, no iteration over hash-ordered sets;
   the same events at the same times give the same commands.

Timers are commands (`StartTimer`) that come back as `TimerFired`. A timer
firing late, twice, or after its reason is gone is harmless: each handler
re-derives what to do from the state and the time.
"""

from __future__ import annotations

import bisect

from router.core import events as ev
from router.core import facts as f
from router.core.agents import AgentOps
from router.core.callbacks import CallbackOps, callback_steps
from router.core.enforce import EnforceOps
from router.core.resync import ResyncOps
from router.core.sla import SlaBook
from router.core.calendar import is_open
from router.core.classify import classify
from router.core.dispatch import RING_GRACE, DispatchOps  # noqa: F401 (RING_GRACE: engine's API)
from router.core.commands import CancelRing, CancelTimer, RunAction, StartTimer
from router.core.index import AvailableAgents
from router.core.state import AgentRec, AgentStatus, CallRec, CallStatus
from router.core.table import Action, RoutingTable, merge_skills

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


class Engine(AgentOps, ResyncOps, EnforceOps, CallbackOps, DispatchOps):
    """Owns the calls and agents of one routing table. Not thread-safe: feed
    it events one at a time, in order."""

    def __init__(self, table: RoutingTable) -> None:
        self.table = table
        self.calls: dict[str, CallRec] = {}
        self.agents: dict[str, AgentRec] = {aid: AgentRec(aid) for aid in table.agents}
        self._line: list[tuple[tuple[int, float, int], str]] = []  # sorted; waiting + ringing
        self._available = AvailableAgents(table)  # id -> record, indexed by skill and team
        self._staffed = AvailableAgents(table)  # logged in, not paused (enforce.py's EWT)
        self._in_queue: dict[str, int] = {}  # queue -> calls waiting or ringing
        self._last_rr: dict[str, str] = {}
        self._seq = 0
        self._now = 0.0
        self._out: list = []
        # Service level per queue, fed with every outcome; enforcement reads it.
        rules = table.settings.enforcement
        self.sla = SlaBook(table, short_abandon=rules.short_abandon, day_start_hour=rules.day_start_hour)
        self.protected: set[str] = set()  # queues under target (enforce.py rule 3)
        self.parked: dict[str, CallRec] = {}  # callbacks between attempts (callbacks.py)
        self._check_at: float | None = None  # when the enforcement check is due
        self.offering = True  # False once OffersStopped came (a graceful stop)
        self._init_dispatch()

    # ------------------------------------------------------------------ API
    def handle(self, event: ev.Event, now: float) -> list:
        """Apply one event at time `now`; return the commands it causes."""
        self._now = now
        self._out = []
        handler = self._HANDLERS.get(type(event))
        if handler is None:
            self._ignored(event, "unknown event type")
        else:
            handler(self, event)
        if isinstance(event, (ev.PbxSnapshot, ev.ConfigReplaced)):  # they change many things
            self._regroup()
        if self.offering:
            self._dispatch()
        self._arm_check()
        return self._out

    def waiting_in(self, queue: str) -> int:
        return self._in_queue.get(queue, 0)

    def line(self) -> list[CallRec]:
        """Calls not yet answered, in line order (`serving_order` adds
        protection on top)."""
        return [self.calls[cid] for _, cid in self._line]

    # ------------------------------------------------------------ internals
    def _emit(self, command) -> None:
        self._out.append(command)

    def _publish(self, fact: f.Fact) -> None:
        self._out.append(fact)

    def _ignored(self, event, why: str) -> None:
        self._publish(f.EventIgnored(type(event).__name__, why))

    def _line_add(self, call: CallRec) -> None:
        call.line_key = self._line_key(call)
        bisect.insort(self._line, (call.line_key, call.id))
        call.in_line = True
        self._touch(call)
        if not call.callback:  # max_waiting counts callers on hold, not callbacks
            self._in_queue[call.queue] = self._in_queue.get(call.queue, 0) + 1

    def _line_remove(self, call: CallRec) -> None:
        i = bisect.bisect_left(self._line, (call.line_key, call.id))
        del self._line[i]
        call.in_line, call.filed = False, None
        if not call.callback:
            self._in_queue[call.queue] -= 1

    # ---------------------------------------------------------- call events
    def _on_waiting(self, e: ev.CallWaiting) -> None:
        if e.call_id in self.calls:
            return self._ignored(e, "call already known")
        arrived = self._now - max(0.0, e.waited)  # a call found by resync keeps its wait
        rule = classify(self.table, e, arrived)
        self._seq += 1
        call = CallRec(id=e.call_id, info=e, rule=rule, queue=rule.queue, priority=rule.priority,
                       arrived=arrived, entered=arrived, seq=self._seq, steps=rule.steps)
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
            self._publish(f.CallCompleted(call.id, call.queue, rec.id, wrapup=wrapup))
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
        """The ringing call is answered by its agent."""
        self._emit(CancelTimer("ring", call.id))
        self._line_remove(call)
        call.status = CallStatus.CONNECTED
        rec.calls_taken += 1
        rec.misses = 0
        self._set(rec, AgentStatus.ON_CALL)
        self._emit(CancelTimer("step", call.id))
        if call.callback:
            if announce:
                self._placed(call, rec.id)
        elif announce:
            call.answered_at = self._now
            self.sla.answered(call.queue, self._now - call.arrived, self._now)
            self._publish(f.CallAnswered(call.id, call.queue, rec.id, round(self._now - call.arrived, 3)))

    def _on_no_answer(self, e: ev.AgentNoAnswer) -> None:
        call = self.calls.get(e.call_id)
        if call is None or call.status is not CallStatus.RINGING or call.agent != e.agent_id:
            return self._ignored(e, "not the offer in progress")
        self._missed(call, e.reason)

    def _missed(self, call: CallRec, reason: str) -> None:
        """The ringing offer failed: the call is back at its place in line."""
        rec = self.agents[call.agent]
        self._emit(CancelTimer("ring", call.id))
        call.status, call.agent, rec.call = CallStatus.WAITING, None, None
        if reason in AGENT_FAULTS:  # busy, congestion, a lost reply: not the agent's miss
            rec.misses += 1
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
        call.status, call.agent = CallStatus.WAITING, None
        self._apply_step(call)

    # ----------------------------------------------------- supervisor events
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
            rec.call = None
            self._emit(CancelRing(call.id, rec.id))
            self._emit(CancelTimer("ring", call.id))
            call.status, call.agent = CallStatus.WAITING, None
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

    def _on_offers_stopped(self, e: ev.OffersStopped) -> None:
        self.offering = False

    _HANDLERS = {
        ev.CallWaiting: _on_waiting,
        ev.CallLeft: _on_left,
        ev.CallEnded: _on_ended,
        ev.AgentOffered: _on_offered,
        ev.AgentAnswered: _on_answered,
        ev.AgentNoAnswer: _on_no_answer,
        ev.TimerFired: _on_timer,
        ev.AgentLogin: AgentOps._on_login,
        ev.AgentLogout: AgentOps._on_logout,
        ev.AgentPause: AgentOps._on_pause,
        ev.AgentUnpause: AgentOps._on_unpause,
        ev.AgentDevice: AgentOps._on_device,
        ev.ConfigReplaced: AgentOps._on_config,
        ev.PbxSnapshot: ResyncOps._on_snapshot,
        ev.CallMove: _on_move,
        ev.CallPriority: _on_priority,
        ev.CallbackPromised: CallbackOps._on_promised,
        ev.CallbackResult: CallbackOps._on_result,
        ev.OffersStopped: _on_offers_stopped,
    }
