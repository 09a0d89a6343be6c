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

This module is the assembly: `handle`, the line, and the table of which
part handles which event. The parts, one module each, share the state
declared in shared.py: lifecycle.py (call events), calls.py (call status
transitions), supervisor.py, agents.py, dispatch.py, enforce.py,
callbacks.py, resync.py, survey.py.
"""

from __future__ import annotations

import bisect

from router.core import events as ev
from router.core.agents import AgentOps
from router.core.callbacks import CallbackOps
from router.core.calls import CallTransitions
from router.core.dispatch import RING_GRACE, DispatchOps  # noqa: F401 (RING_GRACE: engine's API)
from router.core.enforce import EnforceOps
from router.core.lifecycle import MIN_RETRY, CallOps  # noqa: F401 (MIN_RETRY: engine's API)
from router.core.resync import ResyncOps
from router.core.state import CallRec
from router.core.supervisor import SupervisorOps
from router.core.survey import SurveyOps


#: Events after which every waiting call is refiled (`_regroup`). (Exact
#: types, as `_HANDLERS` dispatches: a subclass of an event is not handled.)
_REGROUP = frozenset((ev.PbxSnapshot, ev.ConfigReplaced))


class Engine(CallOps, CallTransitions, SupervisorOps, AgentOps, ResyncOps, EnforceOps, CallbackOps,
             DispatchOps, SurveyOps):
    """Owns the calls and agents of one routing table (`Engine(table)`; its
    state: shared.py). Not thread-safe: feed it events one at a time, in order."""

    __slots__ = ()

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
        if type(event) in _REGROUP:  # they change many things
            self._regroup()
        # (not after OffersStopped: a graceful stop.) A dispatch with no call
        # filed, no agent freed and no group fresh does nothing: most events
        # (an answer, a pause, an enforcement check) are spared the call.
        if self.offering and (self._touched or self._available.added or self._fresh):
            self._dispatch()
        if self._check_at is None:  # (else armed already: `_arm_check` would do nothing)
            self._arm_check()
        return self._out

    def waiting_in(self, queue: str) -> int:
        return self._in_queue.get(queue, 0)

    def line(self) -> list[CallRec]:
        """Calls not yet answered, in line order (`serving_order` adds
        protection on top)."""
        return [self.calls[cid] for _, cid in self._line]

    def _on_offers_stopped(self, e: ev.OffersStopped) -> None:
        """A graceful stop: no new offer from now on (the callers stay in the
        dialplan for the next router); offers already ringing go on."""
        self.offering = False

    # ------------------------------------------------------------ internals
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

    _HANDLERS = {
        ev.CallWaiting: CallOps._on_waiting,
        ev.CallLeft: CallOps._on_left,
        ev.CallEnded: CallOps._on_ended,
        ev.AgentOffered: CallOps._on_offered,
        ev.AgentAnswered: CallOps._on_answered,
        ev.AgentNoAnswer: CallOps._on_no_answer,
        ev.TimerFired: CallOps._on_timer,
        ev.AgentLogin: AgentOps._on_login,
        ev.AgentLogout: AgentOps._on_logout,
        ev.AgentPause: AgentOps._on_pause,
        ev.AgentUnpause: AgentOps._on_unpause,
        ev.AgentDevice: AgentOps._on_device,
        ev.ConfigReplaced: AgentOps._on_config,
        ev.PbxSnapshot: ResyncOps._on_snapshot,
        ev.CallMove: SupervisorOps._on_move,
        ev.CallPriority: SupervisorOps._on_priority,
        ev.CallbackPromised: CallbackOps._on_promised,
        ev.CallbackResult: CallbackOps._on_result,
        ev.SurveyAnswered: SurveyOps._on_survey,
        ev.RecordingStarted: SurveyOps._on_recording,
        ev.OffersStopped: _on_offers_stopped,
    }
