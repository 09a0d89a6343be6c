"""Call status: the transitions a call may make, and the one place it makes them.

A call in routing is waiting (in the line), ringing one agent (in the line,
the agent reserved for it) or connected to one agent (out of the line, the
agent on the call). Every change of `CallRec.status` goes through
`CallTransitions._call_to`, which checks it against `TRANSITIONS` below and
keeps the bookkeeping that goes with each status:

| status    | in the line | `call.agent`    | that agent's `call`, status |
| --------- | ----------- | --------------- | --------------------------- |
| waiting   | yes         | None            | (none holds it)             |
| ringing   | yes         | the agent rung  | the call, reserved          |
| connected | no          | the agent       | the call, on_call           |

A call enters routing waiting (`CallRec`'s default: an arrival, a promised
callback) and leaves it from any status, with its outcome (lifecycle.py
`_finish` and `_end`) or to be parked (callbacks.py); a parked callback comes
back through `_call_to(call, WAITING)`. A transition not in the table is a
bug in the engine: `CallTransitionError` (as h11's LocalProtocolError), never
a silently inconsistent call.
"""

from __future__ import annotations

from router.core.shared import EngineState
from router.core.state import AgentRec, AgentStatus, CallRec, CallStatus

WAITING, RINGING, CONNECTED = CallStatus.WAITING, CallStatus.RINGING, CallStatus.CONNECTED

#: (from, to) -> when a call makes that transition. Nothing else is allowed.
TRANSITIONS: dict[tuple[CallStatus, CallStatus], str] = {
    (WAITING, RINGING): "offered to an agent (dispatch.py), or found ringing one by a resync",
    (RINGING, CONNECTED): "the agent rung answered (or a resync found them talking)",
    (RINGING, WAITING): "the offer failed, timed out or was withdrawn (the agent paused or logged out, "
                        "a supervisor moved the call, a resync): back at its place in line",
    (WAITING, CONNECTED): "a resync found it talking with an agent (or a conversation from before a "
                          "restart is taken on)",
    (CONNECTED, WAITING): "a resync found it talking with another agent (a transfer): let go of the first, "
                          "then connected to the other; or a callback's failed attempt is back in line",
    (WAITING, WAITING): "a parked callback is back in line",
}

#: The same, as status -> the statuses it may go to (a cheaper check than
#: hashing a pair: `_call_to` runs at every offer).
_NEXT: dict[CallStatus, tuple[CallStatus, ...]] = {
    old: tuple(new for (o, new) in TRANSITIONS if o is old) for old in CallStatus}


class CallTransitionError(RuntimeError):
    """A call was asked to make a transition `TRANSITIONS` does not allow:
    a bug in the engine, never bad input (events are checked before)."""

    def __init__(self, call: CallRec, to: CallStatus) -> None:
        super().__init__(f"call {call.id}: {call.status.value} -> {to.value} is not an allowed transition "
                         f"(router/core/calls.py TRANSITIONS)")
        self.call_id, self.old, self.new = call.id, call.status, to


class CallTransitions(EngineState):
    """Mixin of Engine: `_call_to`, the only writer of `CallRec.status`."""

    __slots__ = ()

    def _call_to(self, call: CallRec, status: CallStatus, agent: AgentRec | None = None) -> None:
        """Move `call` to `status`, with its bookkeeping (the table above).

        Ringing and connected: `agent` is the agent who takes the call
        (reserved, or on the call). Waiting: `agent` is the agent let go of
        (their `call` cleared; their next status is the caller's business,
        `_release` or `_rest`), None for a callback back from parking, whose
        agent was let go when its attempt ended."""
        if status not in _NEXT[call.status]:
            raise CallTransitionError(call, status)
        if status is WAITING:
            if agent is not None:
                agent.call = None
            call.agent = None
            call.status = status
            if not call.in_line:
                self._line_add(call)
            return
        if status is CONNECTED and call.in_line:
            self._line_remove(call)
        call.agent, agent.call = agent.id, call.id
        call.status = status
        self._set(agent, AgentStatus.RESERVED if status is RINGING else AgentStatus.ON_CALL)
