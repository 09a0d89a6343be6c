"""Promised callbacks on record, as part of the assembler (pure).

A callback is promised (`callback.promised`, CallbackQueued) on the call it
overflowed from (`origin`); it is offered to agents like any call
(`call.offered`, `call.no_answer`); when an agent answers, the dialplan
dials the customer (`callback.placed`); an attempt that failed parks it
(`callback.retry`); it ends `callback.done` or `callback.failed`.

Its records: a CallRow of kind "callback" (the dial-out: outcome
"answered" when done, with the agent who placed it; "overflowed" with the
failure as reason when failed; never counted in the SL) and a CallbackRow
linking it to the call it was promised on. A done callback goes on record,
like an answered call, when its agent leaves the wrap-up that follows it.
"""

from __future__ import annotations

from router.core import facts as f
from router.records.calls import OpenCall
from router.records.model import CallbackRow

_NOT_JUDGED = (None, False, False, False)


class CallbackOps:
    """Mixin of RecordAssembler."""

    def _on_cb_queued(self, e: f.CallbackQueued, now: float) -> None:
        call = self._call(e.call, now)
        if call is not None:  # restored after a restart: the same record goes on
            return
        call = self.calls[e.call] = OpenCall(e.call, "callback", e.arrived, e.queue)
        call.origin, call.pbx, call.dnis = e.origin, e.pbx, e.dnis
        call.caller_num, call.caller_name, call.last = e.number, e.caller_name, now
        call.rule, call.sl = "callback", _NOT_JUDGED
        call.step(now, "queued", e.queue, "promised")  # its time: the promise (CallbackRow.promised_at)
        self.dirty.add("c:" + e.call)

    def _on_cb_placed(self, e: f.CallbackPlaced, now: float) -> None:
        call = self._call(e.call, now)
        if call is not None:
            self._talk = None
            self._answer(call, e.agent, now)

    def _on_cb_retry(self, e: f.CallbackRetrying, now: float) -> None:
        call = self._call(e.call, now)
        if call is not None:
            call.close_offer(now, "withdrawn")
            call.answered_by = call.team = call.answered_at = None
            call.step(now, "queued", e.queue, f"retry after attempt {e.attempts}: {e.reason}")

    def _on_cb_done(self, e: f.CallbackDone, now: float) -> None:
        call = self._call(e.call, now)
        if call is None:
            return
        call.outcome, call.reason = "answered", ""
        call.finished_at = call.answered_at if call.answered_at is not None else now
        call.ended_at, call.action = now, f"callback done ({e.result})"
        call.answered_by = call.answered_by or e.agent
        call.team = call.team or self._team(e.agent) or None
        call.attempts = e.attempts
        self.awaiting[e.agent] = e.call

    def _on_cb_failed(self, e: f.CallbackFailed, now: float) -> None:
        call = self._call(e.call, now)
        if call is None:  # no number to call: failed at the promise, no dial-out on record
            if e.origin is not None:
                date = self._local(now)[0]
                self.out.append(CallbackRow(e.call, e.origin, e.queue, "", now, date, now, "failed", e.reason,
                                            e.attempts, None))
            return
        call.outcome, call.reason, call.finished_at = "overflowed", e.reason, now
        call.attempts = e.attempts
        call.action = "callback failed"
        call.close_offer(now, "withdrawn")
        call.answered_by = call.team = call.answered_at = None
        self._emit(call)

    def _callback_row(self, call: OpenCall) -> CallbackRow:
        promised = call.steps[0][0] if call.steps else call.arrived
        done = call.outcome == "answered"
        finished = (call.ended_at if done else call.finished_at) or call.last
        return CallbackRow(call.call_id, call.origin or "", call.first_queue, call.caller_num, promised,
                           self._local(promised)[0], finished, "done" if done else "failed",
                           "" if done else call.reason, call.attempts, call.answered_by if done else None)

    HANDLERS = {
        f.CallbackQueued: _on_cb_queued,
        f.CallbackPlaced: _on_cb_placed,
        f.CallbackRetrying: _on_cb_retry,
        f.CallbackDone: _on_cb_done,
        f.CallbackFailed: _on_cb_failed,
    }
