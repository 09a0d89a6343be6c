"""Callbacks that keep the caller's place, as part of the engine.

Rules:

1. A call that leaves by a `callback` action (at max wait, early on the
   estimated wait, when closed or full) gets a callback record, id
   "cb-<call id>", in the line at the caller's own place (its arrival, its
   queue's deadline): the router places it when an agent frees at that
   place, before callers who arrived later, after those who came earlier.
   The call itself ends as overflowed (a callback is not an answer within
   the threshold). A caller without a number cannot be called back: that
   is published as `callback.failed` at once, so a person sees it.
2. Placing it: the agent is rung (`RingAgent` with `dial`); when they
   answer, the dialplan dials the customer and reports the dial's result
   (`CallbackResult`) before the agent leg ends. The callback's escalation
   goes on from where the call's was, without its final action (a callback
   never ends in another callback).
3. Outcome, when the agent leg ends: customer answered (or no result came:
   the agent was on the line, so it counts as made) → `callback.done`; else
   the attempt failed: after its queue's `callback_retry` (default
   `RETRY_AFTER`) seconds the callback is back in line at its place, up
   to `ATTEMPTS` attempts, then `callback.failed`
   (a person must take it from there). An agent who does not answer the
   ring is a missed offer, as for any call: no attempt is used up.
4. Every step is published (`callback.promised`, `.placed`, `.retry`,
   `.done`, `.failed`) with the data to rebuild the record: the daemon keeps
   the open ones in its state file and feeds them back as
   `CallbackPromised` after a restart. A promised callback is never
   forgotten, only done or reported failed.
"""

from __future__ import annotations

from dataclasses import replace

from router.core import events as ev
from router.core import facts as f
from router.core.calendar import is_open, next_open
from router.core.commands import CancelTimer, StartTimer
from router.core.shared import EngineState
from router.core.state import CallRec, CallStatus
from router.core.table import Rule, RoutingTable, Step, merge_skills

#: Dials to the customer before the callback is reported failed.
ATTEMPTS = 3
#: Seconds between a failed attempt and the next (a queue's `callback_retry` overrides it).
RETRY_AFTER = 300.0
#: The dial result that means the customer answered.
ANSWERED = "ANSWER"


def callback_steps(steps: tuple[Step, ...], skills: tuple[tuple[str, int], ...] = ()) -> tuple[Step, ...]:
    """The escalation of a callback: the call's (its queue's steps with the
    rule's extra `skills`), without final actions. A queue whose only step
    is an action (the checker rejects that for callbacks) leaves a step no
    agent meets: the callback waits, pending and visible, and never
    "leaves by callback" again."""
    steps = merge_skills(steps, skills)
    kept = tuple(s for s in steps if s.action is None)
    return kept or (replace(steps[0], action=None),)


def callback_rule(table: RoutingTable, skills: tuple[tuple[str, int], ...]) -> Rule:
    """The rule a callback is filed under: the default one, with the extra
    skills of the call it was promised on (they follow it through reloads
    and moves, as a call's rule skills do)."""
    return replace(table.default, skills=tuple(skills))


class CallbackOps(EngineState):
    """Mixin of Engine: promising, placing and finishing callbacks."""

    __slots__ = ()

    def _promise(self, call: CallRec) -> None:
        """Rule 1: the call is leaving by a callback action."""
        number = "".join(ch for ch in call.info.caller_num if ch.isdigit() or ch == "+")
        cb_id = f"cb-{call.id}"
        if not number:
            return self._publish(f.CallbackFailed(cb_id, call.queue, "no-number", 0, origin=call.id))
        self._on_promised(ev.CallbackPromised(
            cb_id, number, call.queue, call.priority, call.arrived, caller_name=call.info.caller_name,
            dnis=call.info.dnis, pbx=call.info.pbx, origin=call.id, skills=call.rule.skills))

    def _on_promised(self, e: ev.CallbackPromised) -> None:
        if e.call_id in self.calls or e.call_id in self.parked:
            return self._ignored(e, "callback already known")
        queue = e.queue if e.queue in self.table.queues else self.table.default.queue
        skills = tuple((str(s), int(level)) for s, level in e.skills)
        self._seq += 1
        info = ev.CallWaiting(e.call_id, dnis=e.dnis, caller_num=e.number, caller_name=e.caller_name, pbx=e.pbx)
        call = CallRec(id=e.call_id, info=info, rule=callback_rule(self.table, skills), queue=queue,
                       priority=e.priority, arrived=e.arrived, entered=e.arrived, seq=self._seq,
                       steps=callback_steps(self.table.queues[queue].steps, skills), callback=True,
                       attempts=e.attempts)
        self._publish(f.CallbackQueued(call.id, e.origin, queue, e.number, e.caller_name, e.priority, e.arrived,
                                       e.attempts, e.dnis, e.pbx, skills,
                                       e.retry_at if e.retry_at > self._now else None))
        if e.retry_at > self._now:  # a retry parked before a restart keeps its time
            return self._park(call, e.retry_at)
        self._requeue_callback(call)

    def _park(self, call: CallRec, until: float | None) -> None:
        """Out of the line until `until` (None: no opening hours ahead)."""
        self.parked[call.id] = call
        self.calls.pop(call.id, None)
        if until is not None:
            self._emit(StartTimer("callback", call.id, until))

    def _closed_until(self, call: CallRec) -> float | None:
        """0.0 when the callback's queue is open now, else when it opens
        (None: never, as far as the calendar says)."""
        queue = self.table.queues[call.queue]
        calendar = self.table.calendars.get(queue.hours) if queue.hours else None
        if calendar is None or is_open(calendar, self._now):
            return 0.0
        return next_open(calendar, self._now)

    def _park_closed(self, call: CallRec) -> None:
        """A waiting callback whose queue is closed leaves the line until it opens."""
        self._line_remove(call)
        self._emit(CancelTimer("step", call.id))
        self._park(call, self._closed_until(call))

    def _requeue_callback(self, call: CallRec) -> None:
        self.parked.pop(call.id, None)
        if call.queue not in self.table.queues:  # removed by a reload while parked
            self._callback_requeued_by_reload(call)
        opens = self._closed_until(call)
        if opens != 0.0:  # a callback is made in its queue's hours, never at night
            return self._park(call, opens)
        self._unpark(call)

    def _unpark(self, call: CallRec) -> None:
        """Back in the line (also when a resync finds its agent leg up)."""
        self.parked.pop(call.id, None)
        self._emit(CancelTimer("callback", call.id))
        self.calls[call.id] = call
        call.result = ""
        call.step = call.early = 0
        self._call_to(call, CallStatus.WAITING)  # (its agent was let go when its attempt ended)
        self._apply_step(call)

    def _on_result(self, e: ev.CallbackResult) -> None:
        call = self.calls.get(e.call_id)
        if call is None or not call.callback or call.status is not CallStatus.CONNECTED:
            return self._ignored(e, "no callback in progress")
        call.result = e.status.upper()

    def _placed(self, call: CallRec, agent_id: str) -> None:
        """Rule 2: the agent answered; the dialplan now dials the customer."""
        self._publish(f.CallbackPlaced(call.id, call.queue, agent_id, call.attempts + 1, call.info.caller_num))

    def _callback_over(self, call: CallRec, agent_id: str) -> None:
        """Rule 3: the agent leg ended (the agent's wrap-up is the caller's
        business, `_end`)."""
        if call.result in ("", ANSWERED):
            return self._publish(f.CallbackDone(call.id, call.queue, agent_id, call.attempts + 1,
                                                call.result or "unknown"))
        call.attempts += 1
        if call.attempts >= ATTEMPTS:
            return self._publish(f.CallbackFailed(call.id, call.queue, call.result.lower(), call.attempts))
        self.parked[call.id] = call
        queue = self.table.queues.get(call.queue)
        retry = queue.callback_retry if queue is not None and queue.callback_retry is not None else RETRY_AFTER
        again = self._now + retry
        self._publish(f.CallbackRetrying(call.id, call.queue, call.result.lower(), call.attempts, again))
        self._emit(StartTimer("callback", call.id, again))

    def _retry_due(self, ref: str) -> None:
        call = self.parked.get(ref)
        if call is not None:
            self._requeue_callback(call)

    def _callback_requeued_by_reload(self, call: CallRec) -> None:
        """A reload keeps a callback in its queue (or the default one if its
        queue is gone) with that queue's new escalation, minus actions, and
        the skills it was promised with."""
        table = self.table
        if call.queue not in table.queues:
            call.queue = table.default.queue
        call.rule = callback_rule(table, call.rule.skills)
        call.steps = callback_steps(table.queues[call.queue].steps, call.rule.skills)
