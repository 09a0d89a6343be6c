"""Service-level enforcement, as part of the engine: routing decisions that
use the targets (settings.service_level, docs/SERVICE-LEVEL.md).

Rules:

1. Deadline order (`order: deadline`). A call's place in line is its
   deadline, the moment it would miss its own queue's threshold (arrival +
   `within`), brought forward `priority_weight` seconds per priority point.
   An agent who can take calls of several queues serves the one that is
   closest to missing its target, so a burst in a queue with a long
   threshold cannot sink a queue with a short one. Within one queue and
   priority this is plain longest-waiting-first. (`order: arrival` is strict
   priority, then arrival: app_queue's order.)
2. Early escalation (`early_escalation`). Every `CHECK_EVERY` seconds, a
   waiting call whose estimated wait (EWT, from the calls ahead of it in its
   queue, the handle time and the agents who can take it) would carry it past
   its threshold takes its next escalation step at once, instead of waiting
   for the step's time; the step's own timer is then moot. A call whose EWT
   carries it past its queue's final action (max wait) gets that action now:
   waiting longer would only end the same way (only once `FINAL_SAMPLE`
   calls of the queue were handled in the last hour).
3. Protection (`protection`). A queue whose 15-minute service level is under
   its target is protected until it is back at target. While any queue is
   protected, calls of queues whose own level is more than `reserve` points
   above their target (lenders) are served after every other call: agents
   who could take both serve the protected queue first. A queue without
   history is never a lender.
4. Every enforcement action is published as `sla.action` with the queue, the
   action (escalate, final, protect, release) and a reason from a fixed set
   (ewt, below_target, recovered), so metrics count it and people see it.
"""

from __future__ import annotations

from router.core import facts as f
from router.core.commands import StartTimer
from router.core.shared import EngineState
from router.core.state import CallRec, CallStatus

#: Seconds between enforcement checks (protection states, early escalation).
CHECK_EVERY = 5.0
#: Calls handled in the last hour before an estimate may end a wait early:
#: sending a caller to voicemail on the strength of one or two calls (just
#: after a start, say) would be a guess, not a forecast.
FINAL_SAMPLE = 5
#: The rolling window protection watches.
PROTECT_WINDOW = "15m"


class EnforceOps(EngineState):
    """Mixin of Engine: line keys, the enforcement check and dispatch order."""

    __slots__ = ()

    # -- rule 1
    def _line_key(self, call: CallRec) -> tuple[float, float, int]:
        rules = self.table.settings.enforcement
        if rules.order == "arrival":
            return (-call.priority, call.arrived, call.seq)
        queue = self.table.queues.get(call.queue)
        within = queue.service_level.within if queue else 0.0
        return (call.arrived + within - rules.priority_weight * call.priority, 0.0, call.seq)

    # -- rule 3: the order dispatch offers calls in
    def serving_order(self) -> list[str]:
        """Call ids (waiting or ringing) in the order agents serve them."""
        if not self.protected:
            return [cid for _, cid in self._line]
        lenders = self._lenders()
        first = [cid for _, cid in self._line if self.calls[cid].queue not in lenders]
        return first + [cid for _, cid in self._line if self.calls[cid].queue in lenders]

    def serving_rank(self, call: CallRec) -> tuple:
        """Sort key equivalent of `serving_order` (tests compare offers by it)."""
        lender = bool(self.protected) and call.queue in self._lenders()
        return (lender, call.line_key)

    def _lenders(self) -> set[str]:
        sla, reserve = self.sla, self.table.settings.enforcement.reserve / 100.0
        out = set()
        for name in self.table.queues:
            level = sla.level(name, PROTECT_WINDOW, self._now)
            if level is not None and name not in self.protected and level > sla.target(name)[0] + reserve:
                out.add(name)
        return out

    # -- the periodic check
    def _arm_check(self) -> None:
        """Keep the check timer running while calls wait or a queue is protected."""
        if self._check_at is None and (self._line or self.protected):
            self._check_at = self._now + CHECK_EVERY
            self._emit(StartTimer("sla", "check", self._check_at))

    def _on_check(self) -> None:
        self._check_at = None
        rules = self.table.settings.enforcement
        if rules.protection:
            self._update_protection()
        elif self.protected:
            for name in sorted(self.protected):
                self._publish(f.QueueReleased(name, "disabled"))
            self.protected.clear()
        if rules.early_escalation:
            self._escalate_at_risk()
        self._arm_check()

    def _update_protection(self) -> None:
        for name in self.table.queues:
            level = self.sla.level(name, PROTECT_WINDOW, self._now)
            target = self.sla.target(name)[0]
            if name not in self.protected and level is not None and level < target:
                self.protected.add(name)
                self._publish(f.QueueProtected(name, round(level, 4), target))
            elif name in self.protected and (level is None or level >= target):
                self.protected.discard(name)
                self._publish(f.QueueReleased(name, "recovered", None if level is None else round(level, 4), target))
        self.protected &= set(self.table.queues)  # a reload may remove queues

    # -- rule 2
    def _escalate_at_risk(self) -> None:
        ahead: dict[str, int] = {}
        staff: dict[int, int] = {}
        for _, cid in list(self._line):
            call = self.calls.get(cid)
            if call is None:
                continue
            position = ahead.get(call.queue, 0)
            ahead[call.queue] = position + 1
            if call.status is not CallStatus.WAITING or call.step + 1 >= len(call.steps):
                continue
            step = call.steps[call.step]
            if id(step) not in staff:  # by identity: hashing a Step hashes all it holds
                staff[id(step)] = self._staff(step)
            ewt = self.sla.ewt(call.queue, position, self._now, staff[id(step)])
            if ewt is None:
                continue
            waited = self._now - call.arrived
            queue = self.table.queues[call.queue]
            final = next((s for s in call.steps[call.step + 1:] if s.action is not None), None)
            in_queue = self._now - call.entered
            if (final is not None and in_queue + ewt > final.after and call.steps[call.step + 1] is final
                    and self.sla.handled(call.queue, self._now) >= FINAL_SAMPLE):
                self._publish(f.CallHurried(call.queue, "final", call.id, round(ewt, 1)))
                self._take_step(call, call.step + 1)
            elif (call.steps[call.step + 1].action is None and waited < queue.service_level.within
                  and waited + ewt > queue.service_level.within):
                self._publish(f.CallHurried(call.queue, "escalate", call.id, round(ewt, 1), call.step + 1))
                self._take_step(call, call.step + 1)

    def agents_for(self, step) -> tuple[int, int]:
        """(staffed, available) agents eligible for `step`: the servers of
        its estimated wait, and those who could take a call now."""
        return self._staff(step), self._available.count(step, self.table)

    def _staff(self, step) -> int:
        """Logged-in agents (not paused) who qualify for `step` (from the
        engine's index of them: a scan of every agent per step made the
        check take 10 ms at 1,000 agents)."""
        return self._staffed.count(step, self.table)

    def _take_step(self, call: CallRec, index: int) -> None:
        """Move the call to step `index` now, and `_apply_step` does the rest
        (publishing, action). Only that step comes early: the escalation
        clock is not moved, so later steps, the final action above all, come
        at their own time (an early final action is the guarded rule's
        decision, made by asking for the final step here)."""
        call.early = max(call.early, index)
        self._apply_step(call)

