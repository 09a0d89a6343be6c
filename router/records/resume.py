"""The assembler across a restart and over time, as part of it (pure).

`changes` lists what changed since it was last called, for the checkpoint
(checkpoint.py) to keep; `restore` takes a checkpoint back after a restart.
`_scan` puts on record the calls rule 5 of assemble.py gives up on, and
`_on_resynced` those a PBX's resync shows ended while no router ran.
"""

from __future__ import annotations

from router.core import facts as f
from router.records.agentlog import OpenState
from router.records.calls import OpenCall


class ResumeOps:
    """Mixin of RecordAssembler."""

    def changes(self) -> dict[str, list | None]:
        """Key ("c:<call>", "a:<agent>") -> its state as a JSON-able list,
        or None when it is gone, for every key changed since the last call.
        Copies: the loop may change the originals at once."""
        out: dict[str, list | None] = {}
        for key in self.dirty:
            kind, ident = key[0], key[2:]
            if kind == "c":
                call = self.calls.get(ident) or self.done.get(ident)
                out[key] = call.dump() if call is not None else None
            else:
                state = self.agents.open.get(ident)
                out[key] = state.dump() if state is not None else None
        self.dirty = set()
        return out

    def restore(self, items: dict[str, list], saved_at: float, now: float) -> list:
        """Take back a checkpoint saved at `saved_at` (the last moment it
        knew), the router starting again at `now`; returns the rows it
        completes:
        - calls already on record are put again (the database ignores a
          row it has): the checkpoint may have outlived the writer's spool;
        - an answered call whose agent was in wrap-up goes on record with
          the wrap-up it was given (its end fell in the downtime);
        - the other calls stay open, for the facts of the resync;
        - agent intervals and sessions end at `saved_at`: the downtime is
          a gap in the agent record, time not logged in."""
        self.out = []
        for key, item in items.items():
            if key.startswith("c:"):
                call = OpenCall.load(item)
                if call.emitted:
                    self._emit(call)
                elif call.outcome == "answered" and call.ended_at is not None:
                    if call.wrapup is None:  # its wrap-up was on when the router died
                        call.wrapup = call.planned_wrapup
                    self._done_with(call)
                else:
                    call.restored = True
                    self.calls[call.call_id] = call
            elif key.startswith("a:"):
                state = OpenState.load(item)
                self.agents.open[state.agent] = state
        self.agents.close_all(saved_at, self.out)
        self._restored_at, self._saved_at = now, saved_at
        self.dirty.update("c:" + c for c in self.calls)
        return self.out

    def _on_resynced(self, e: f.PbxResynced, now: float) -> None:
        """Rule 7: a restored call of `e.pbx` that the resync's facts did not
        mention (they come before this fact) ended while no router ran. What
        was seen stands; its end is the checkpoint's last moment (the call
        was alive then; the true end lies between that and now), reason
        "end unseen". Judged for the SL: its answer, or its wait until
        then, was seen. A callback waits for its own facts (rule 5)."""
        saved_at = self._saved_at
        if saved_at is None:
            return
        for call in [c for c in self.calls.values() if c.restored and c.pbx == e.pbx and c.kind == "inbound"]:
            self._unseen(call, max(saved_at, call.last))

    def _unseen(self, call: OpenCall, end: float) -> None:
        call.restored = False
        self._unawait(call.call_id)
        if call.answered_at is None:
            return self._finish(call, "abandoned", end, "end unseen")
        call.close_offer(end, "withdrawn")
        if call.ended_at is None:
            call.ended_at = end
        call.finished_at = call.finished_at or end
        queue = self.table_getter().queues.get(call.queue)  # the wrap-up it was due
        call.wrapup = queue.wrapup if queue is not None else call.planned_wrapup
        call.reason = "end unseen"
        self._done_with(call)

    def _unawait(self, call_id: str) -> None:
        """No agent's wrap-up decides this call's record any more."""
        for agent, waited in list(self.awaiting.items()):
            if waited == call_id:
                del self.awaiting[agent]

    def _scan(self, now: float) -> None:
        if self._restored_at is not None and now - self._restored_at >= self.RESYNC_GRACE:
            self._restored_at = None
            for call in [c for c in self.calls.values() if c.restored]:
                self._incomplete(call)
        if now - self._scanned < self.SCAN_EVERY:
            return
        self._scanned = now
        stale, callbacks = now - self.STALE_AFTER, now - self.CALLBACK_STALE_AFTER
        for call in [c for c in self.calls.values()
                     if c.last <= (callbacks if c.kind == "callback" else stale)]:
            self._incomplete(call)

    def _incomplete(self, call: OpenCall) -> None:
        """Rule 5: on record as it stands, reason "incomplete", not judged."""
        if not call.outcome:
            call.outcome = "abandoned" if call.kind == "inbound" else "overflowed"
            call.finished_at = call.last
        elif call.outcome == "answered" and call.ended_at is not None and call.wrapup is None:
            call.wrapup = call.planned_wrapup
        call.reason = "incomplete"
        call.sl = (call.sl[0] if call.sl else None, False, False, False)
        self.surveying.pop(call.call_id, None)
        self._unawait(call.call_id)
        self._emit(call)
