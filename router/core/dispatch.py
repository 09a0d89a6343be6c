"""Dispatch, as part of the engine: offer waiting calls to free agents.

Rules (the engine's rules 3 and 4, engine.py):

1. After every event, no available agent is eligible for a waiting call
   (work conservation), and offers go greedily in serving order: the first
   waiting call (enforce.py's serving order) that has an eligible free agent
   gets the one its queue's strategy picks, and so on until no waiting call
   has one.
2. The same commands as that plain greedy scan of the whole line, only
   cheaper (tests/test_core_index.py replays random histories through both).

Why groups: a scan of the line costs a step per call per event, and the line
also holds every ringing call. Here the waiting calls are filed in groups
that share a queue, an escalation step (the same Step object: a rule's steps
are compiled once) and a PBX. Every call of a group has the same eligible
agents and the group's calls are in serving order among themselves, so the
greedy scan's next offer goes to the head of the group, among those with an
eligible free agent, whose head comes first in serving order. A dispatch
looks at a few groups, not at the line.

Which groups: a free agent only leaves the free set during a dispatch, so a
group found with nobody to offer to stays so until an agent becomes free
(then every group is looked at) or the group gets a new call (then that
group is). With neither, a dispatch does nothing.

Upkeep is lazy: a call is filed (`_touch`) whenever it enters the line or
comes to a new step, or goes back to waiting (both go through `_line_add`
or `_apply_step`); an entry whose call has since rung, left, moved on or
been re-keyed is dropped when it reaches its group's head.
"""

from __future__ import annotations

from router.core import facts as f
import bisect

from router.core.commands import RingAgent, StartTimer
from router.core.shared import EngineState
from router.core.state import AgentRec, CallRec, CallStatus
from router.core.strategy import choose
from router.core.table import Step

#: Extra seconds past an offer's ring timeout before the engine gives up on
#: hearing from the PBX and treats the offer as unanswered.
RING_GRACE = 5.0


class Group:
    """Waiting calls of one queue, at one step, held on one PBX."""

    __slots__ = ("key", "queue", "step", "pbx", "entries")

    def __init__(self, key: tuple, queue: str, step: Step, pbx: str) -> None:
        self.key = key
        self.queue, self.step, self.pbx = queue, step, pbx  # keeps `step` alive: its id is in the key
        self.entries: list[tuple[tuple, str, CallRec]] = []  # (line_key, call id, call), sorted


class DispatchOps(EngineState):
    """Mixin of Engine: the groups of waiting calls and the dispatch."""

    __slots__ = ()

    def _touch(self, call: CallRec) -> None:
        """The call may be waiting at a new place, step or queue: file it."""
        self._touched.append(call)

    def _regroup(self) -> None:
        """Refile every call in the line (after changes to many at once)."""
        self._groups.clear()
        self._fresh.clear()
        self._touched = [self.calls[cid] for _, cid in self._line]
        for call in self._touched:
            call.filed = None

    def _file_touched(self) -> None:
        for call in self._touched:
            if not call.in_line or call.status is not CallStatus.WAITING:
                continue
            step = call.steps[call.step]
            key = (call.queue, id(step), call.info.pbx)
            group = self._groups.get(key)
            if group is None:
                group = self._groups[key] = Group(key, call.queue, step, call.info.pbx)
            if call.filed is None or call.filed[0] is not group or call.filed[1] != call.line_key:
                call.filed = (group, call.line_key)
                bisect.insort(group.entries, (call.line_key, call.id, call))
            # (else its entry is still there.) Looked at in the next dispatch
            # either way: the call may be waiting again after a ring.
            self._fresh[key] = group
        self._touched = []

    def _head(self, group: Group) -> CallRec | None:
        """The group's first call still waiting in it (stale entries dropped)."""
        entries = group.entries
        while entries:
            line_key, _, call = entries[0]
            filed = call.filed
            if filed is not None and filed[0] is group and filed[1] == line_key:
                if call.status is CallStatus.WAITING and call.in_line:
                    return call
                call.filed = None  # ringing or gone: refiled when it waits again
            del entries[0]
        if self._groups.get(group.key) is group:
            del self._groups[group.key]
        return None

    def _dispatch(self) -> None:
        """Offer waiting calls, in serving order, to the best eligible free agent."""
        if self._touched:
            self._file_touched()
        if not self._available:
            return
        if self._available.added:
            live = list(self._groups.values())
        elif self._fresh:
            live = list(self._fresh.values())
        else:
            return
        self._available.added = False
        self._fresh = {}
        lenders = self._lenders() if self.protected else ()
        while live:
            best = best_call = best_rank = None
            keep = []
            for group in live:
                call = self._head(group)
                if call is None or not self._available.any_eligible(group.step, self.table, group.pbx):
                    continue
                keep.append(group)
                rank = (call.queue in lenders, call.line_key)
                if best is None or rank < best_rank:
                    best, best_call, best_rank = group, call, rank
            if best is None:
                return
            live = keep
            if best_call.callback and self._closed_until(best_call) != 0.0:
                self._park_closed(best_call)  # its queue closed while it waited: not at night
                continue
            queue = self.table.queues[best.queue]
            rec = choose(queue.strategy, self._available.eligible(best.step, self.table, best.pbx), best_call,
                         best.step, self._last_rr.get(best.queue))
            self._offer(best_call, rec)
            if not self._available:
                return

    def _offer(self, call: CallRec, rec: AgentRec) -> None:
        queue = self.table.queues[call.queue]
        config = self.table.agents[rec.id]
        call.offers += 1
        self._last_rr[call.queue] = rec.id
        self._call_to(call, CallStatus.RINGING, rec)
        survey, recording = self._offer_extras(call, queue)
        self._emit(RingAgent(call.id, rec.id, config.endpoint, queue.ring_timeout, queue.name,
                             call.info.caller_num, call.info.caller_name,
                             dial=call.info.caller_num if call.callback else "",
                             survey=survey, recording=recording))
        call.ring_until = self._now + queue.ring_timeout + RING_GRACE
        self._emit(StartTimer("ring", call.id, call.ring_until))
        if f.CallOffered not in self.unfollowed:
            self._publish(f.CallOffered(call.id, call.queue, rec.id, call.offers))
