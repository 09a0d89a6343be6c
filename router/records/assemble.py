"""The records assembler: the core's published facts in, record rows out.
Pure: no I/O, no clock (`now` comes with every fact), no asyncio.

    asm = RecordAssembler(lambda: router.table)
    rows = asm.handle(fact, now)      # [] most of the time
    rows += asm.tick(now)             # quarter-hour cuts, stale calls

Rules (the row contract is model.py, the SL columns docs/SERVICE-LEVEL.md):
1. A call is opened by `call.waiting` (CallQueued) and goes on record once,
   when it is over: at its outcome if unanswered; an answered call when
   its agent leaves the wrap-up that follows it (`wrapup` is that
   interval's length; 0 when the agent went straight on).
2. Offers: `call.offered` opens one; `call.no_answer` closes it with its
   reason, `call.answered` with "answered"; closed by anything else (the
   caller hangs up, a move, a new offer, the agent pauses) it is
   "withdrawn".
3. The SL columns are judged when the call finishes, against the final
   queue's threshold and the `short_abandon` of the table then in force.
4. A callback (CallbackQueued ... CallbackDone/Failed) is a CallRow of kind
   "callback" plus a CallbackRow; the call it was promised on has outcome
   "callback" (an overflow by a callback action) and its `callback_id`.
5. Bounded: a call with no fact for STALE_AFTER seconds (a promised
   callback: CALLBACK_STALE_AFTER, since one parked until its queue opens
   is rightly silent for a night, a weekend, a holiday week), or one
   restored from a checkpoint and not seen again within RESYNC_GRACE, goes
   on record as it stands with reason "incomplete" (not judged for the SL).
6. Restart (`restore`): open calls continue with the facts that follow the
   resync (the same call ids); agent intervals and sessions end at the last
   moment the checkpoint knew, so the downtime is a gap, not logged-in time.
7. A restored call its PBX's resync (`router.resynced`) did not mention
   ended while no router ran: on record at once, what was seen, ending at
   the checkpoint's last moment, reason "end unseen" (resume.py).
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Callable

from router.core import facts as f
from router.core.sla import judge
from router.core.table import RoutingTable
from router.records.agentlog import AgentLog
from router.records.callbacks import CallbackOps
from router.records.resume import ResumeOps
from router.records.survey import SurveyOps
from router.records.calls import OpenCall, variables_json
from router.records.localtime import local_stamp, zone_of

#: Seconds without a fact after which an open call is put on record as it is.
STALE_AFTER = 6 * 3600.0
#: The same for a promised callback, which the engine never forgets
#: (router/core/callbacks.py rule 4): only a fault leaves one this silent.
CALLBACK_STALE_AFTER = 31 * 86400.0
#: Seconds after a restart for a restored call to be seen again.
RESYNC_GRACE = 300.0
#: Seconds a call on record stays in the checkpoint (so a kill between the
#: writer's spool and the checkpoint cannot lose it: restored, it is put
#: again and the database ignores the copy).
KEEP_DONE = 5.0
#: Seconds between scans for stale calls.
SCAN_EVERY = 60.0


class RecordAssembler(CallbackOps, ResumeOps, SurveyOps):
    """Open calls, offers and agent intervals; rows as they close."""

    STALE_AFTER, RESYNC_GRACE, SCAN_EVERY = STALE_AFTER, RESYNC_GRACE, SCAN_EVERY
    CALLBACK_STALE_AFTER = CALLBACK_STALE_AFTER

    def __init__(self, table_getter: Callable[[], RoutingTable]) -> None:
        self.table_getter = table_getter
        self.calls: dict[str, OpenCall] = {}
        self.done: OrderedDict[str, OpenCall] = OrderedDict()  # on record, kept KEEP_DONE (rule 5)
        self.agents = AgentLog(self._local)
        self.awaiting: dict[str, str] = {}  # agent -> answered call whose wrap-up decides its record
        self.surveying: dict[str, float] = {}  # answered call -> until when its record waits for a score
        self.dirty: set[str] = set()  # "c:<call>" / "a:<agent>" changed since the last `changes`
        self._talk: tuple | None = None  # (state, call, agent, now): reserved/on_call not yet followed by its fact
        self._zone_table = None
        self._tz = None
        self._scanned = float("-inf")
        self._restored_at: float | None = None
        self._saved_at: float | None = None  # the restored checkpoint's last moment
        self.out: list = []

    # ------------------------------------------------------------- API
    def handle(self, fact, now: float) -> list:
        """Apply one fact at `now`; return the rows it completes."""
        self.out = []
        if self._talk is not None and not self._answers(fact):
            self._settle_talk()
        handler = self._HANDLERS.get(type(fact))
        if handler is not None:
            handler(self, fact, now)
        return self.out

    def tick(self, now: float) -> list:
        """Housekeeping at `now` (call it about once a second): quarter-hour
        cuts of open intervals, calls left on record by rule 5."""
        self.out = []
        if self._talk is not None:
            self._settle_talk()
        before = len(self.out)
        self.agents.roll(now, self.out)
        if len(self.out) > before:
            self.dirty.update("a:" + a for a in self.agents.open)
        self._scan(now)
        if self.surveying:
            self._surveys_due(now)
        while self.done and now - next(iter(self.done.values())).last >= KEEP_DONE:
            call_id, _ = self.done.popitem(last=False)
            self.dirty.add("c:" + call_id)
        return self.out

    # ----------------------------------------------------------- helpers
    def _local(self, t: float) -> tuple[str, int]:
        table = self.table_getter()
        if table is not self._zone_table:  # a reload may change the zone
            self._zone_table, self._tz = table, zone_of(table)
        return local_stamp(t, self._tz)

    def _team(self, agent: str) -> str:
        config = self.table_getter().agents.get(agent)
        return (config.team or "") if config is not None else ""

    def _call(self, call_id: str, now: float) -> OpenCall | None:
        call = self.calls.get(call_id)
        if call is not None:
            call.last, call.restored = now, False
            self.dirty.add("c:" + call_id)
        return call

    def _judge(self, call: OpenCall, wait: float) -> None:
        """Rule 3 (docs/SERVICE-LEVEL.md)."""
        table = self.table_getter()
        queue = table.queues.get(call.queue)
        threshold = queue.service_level.within if queue is not None else None
        short_abandon = table.settings.enforcement.short_abandon
        # a callback is an overflow by a callback action
        outcome = "overflowed" if call.outcome == "callback" else call.outcome
        counted, met = judge(outcome, wait, threshold, short_abandon)
        call.sl = (threshold, counted, met, outcome == "abandoned" and wait < short_abandon)

    def _emit(self, call: OpenCall) -> None:
        """Put the call on record (rule 1) and keep it KEEP_DONE seconds."""
        self.calls.pop(call.call_id, None)
        self.out.extend(call.rows(self._local))
        if call.kind == "callback":
            self.out.append(self._callback_row(call))
        call.emitted = True
        self.done[call.call_id] = call
        self.dirty.add("c:" + call.call_id)

    def _finish(self, call: OpenCall, outcome: str, now: float, reason: str = "", action: str = "") -> None:
        call.outcome, call.reason, call.action, call.finished_at = outcome, reason, action, now
        call.close_offer(now, "withdrawn")
        self._judge(call, now - call.arrived)
        self._emit(call)

    # -------------------------------------------------------- call facts
    def _on_queued(self, e: f.CallQueued, now: float) -> None:
        call = self._call(e.call, now)
        if call is not None:  # found again by a resync: the same record goes on
            call.close_offer(now, "withdrawn")
            call.step(now, "queued", e.queue, "resync")
            call.queue = e.queue
            return
        call = self.calls[e.call] = OpenCall(e.call, "inbound", e.arrived or now, e.queue)
        call.pbx, call.dnis, call.caller_num, call.caller_name = e.pbx, e.dnis, e.caller_num, e.caller_name
        call.rule, call.variables, call.last = e.rule, variables_json(e.variables), now
        call.step(now, "queued", e.queue, f"rule {e.rule}, priority {e.priority}")
        self.dirty.add("c:" + e.call)

    def _on_escalated(self, e: f.CallEscalated, now: float) -> None:
        call = self._call(e.call, now)
        if call is not None:
            call.step(now, "escalated", e.queue, f"step {e.step} ({e.source})")

    def _on_moved(self, e: f.CallMoved, now: float) -> None:
        call = self._call(e.call, now)
        if call is not None:
            call.close_offer(now, "withdrawn")
            call.step(now, "moved", e.to, f"{e.source}->{e.to} {e.reason}")
            call.moves += 1
            call.queue = e.to

    def _on_priority(self, e: f.CallReprioritised, now: float) -> None:
        call = self._call(e.call, now)
        if call is not None:
            call.step(now, "priority", e.queue, str(e.priority))

    def _on_offered(self, e: f.CallOffered, now: float) -> None:
        self._talk = None
        call = self._call(e.call, now)
        if call is not None:
            call.offer(e.agent, self._team(e.agent), e.queue, now)

    def _on_failed(self, e: f.OfferFailed, now: float) -> None:
        call = self._call(e.call, now)
        if call is not None:
            call.close_offer(now, e.reason, e.agent)

    def _answer(self, call: OpenCall, agent: str, now: float) -> None:
        if not call.close_offer(now, "answered", agent):
            call.offer(agent, self._team(agent), call.queue, now)  # rung before the router knew
            call.close_offer(now, "answered")
        call.answered_by, call.team, call.answered_at = agent, self._team(agent) or None, now

    def _on_answered(self, e: f.CallAnswered, now: float) -> None:
        call = self._call(e.call, now)
        if call is None:
            return
        self._talk = None
        self._answer(call, e.agent, now)
        call.outcome, call.finished_at = "answered", now
        self._judge(call, now - call.arrived)

    def _on_abandoned(self, e: f.CallAbandoned, now: float) -> None:
        call = self._call(e.call, now)
        if call is not None:
            self._finish(call, "abandoned", now)

    def _on_overflowed(self, e: f.CallOverflowed, now: float) -> None:
        call = self._call(e.call, now)
        if call is not None:
            callback = e.action.startswith("callback")
            call.callback_id = f"cb-{e.call}" if callback else None  # core/callbacks.py rule 1
            self._finish(call, "callback" if callback else "overflowed", now, e.reason, e.action)

    def _on_closed(self, e: f.CallClosed, now: float) -> None:
        call = self._call(e.call, now)
        if call is not None:
            call.callback_id = f"cb-{e.call}" if e.action.startswith("callback") else None
            self._finish(call, "closed", now, e.reason, e.action)

    def _on_completed(self, e: f.CallCompleted, now: float) -> None:
        call = self._call(e.call, now)
        if call is None:
            return
        call.ended_at, call.planned_wrapup = now, e.wrapup
        self.awaiting[e.agent] = e.call

    # ------------------------------------------------------- agent facts
    def _on_agent(self, e: f.AgentStateChanged, now: float) -> None:
        closed = self.agents.change(e.agent, e.state, e.reason, e.call, self._team(e.agent), now, self.out,
                                    e.pending)
        self.dirty.add("a:" + e.agent)
        if closed is not None and closed.state == "reserved" and closed.call and e.state != "on_call":
            call = self.calls.get(closed.call)  # the ring ended with no fact of its own: withdrawn
            if call is not None:
                call.close_offer(now, "withdrawn", e.agent)
        if e.state in ("reserved", "on_call") and e.call:
            self._talk = (e.state, e.call, e.agent, now)  # settled by the next fact (_settle_talk)
        waited = self.awaiting.get(e.agent)
        if waited is None:
            return
        if e.state == "wrapup":
            self.agents.wrapping(e.agent, waited)
        elif closed is not None or e.state == "logged_out":
            del self.awaiting[e.agent]
            call = self.calls.get(waited)
            if call is not None:
                call.wrapup = (now - closed.since) if closed is not None and closed.state == "wrapup" else 0.0
                call.last = now
                self._done_with(call)

    def _answers(self, fact) -> bool:
        """Is `fact` the offer that follows an agent's reserved state, or
        the answer that follows on_call? (The engine publishes the state
        first, then the offer or answer, in the same turn.)"""
        state, call_id = self._talk[0], self._talk[1]
        kinds = (f.CallOffered,) if state == "reserved" else (f.CallAnswered, f.CallbackPlaced)
        return isinstance(fact, kinds) and fact.call == call_id

    def _settle_talk(self) -> None:
        """An agent went reserved or on_call with no offer or answer after
        it: a ring or a conversation a resync found (the router restarted,
        or the PBX moved on while the link was down). A call on record goes
        on from here; an unknown one talking gets a record from now on, of
        what can be known ("adopted")."""
        state, call_id, agent, now = self._talk
        self._talk = None
        if state == "reserved":
            call = self._call(call_id, now)
            offer = call.open_offer() if call is not None else None
            if call is not None and (offer is None or offer[1] != agent):
                call.offer(agent, self._team(agent), call.queue, now)
            return
        call = self._call(call_id, now)
        if call is None:
            if call_id in self.done:
                return
            call = self.calls[call_id] = OpenCall(call_id, "inbound", now, self.table_getter().default.queue)
            call.reason = "adopted"
            call.sl = (None, False, False, False)
            self.dirty.add("c:" + call_id)
        elif call.answered_at is not None or call.kind == "callback":
            return
        self._answer(call, agent, now)
        call.outcome, call.finished_at = "answered", now
        if call.sl is None:
            self._judge(call, now - call.arrived)

    _HANDLERS = {
        f.CallQueued: _on_queued,
        f.CallEscalated: _on_escalated,
        f.CallMoved: _on_moved,
        f.CallReprioritised: _on_priority,
        f.CallOffered: _on_offered,
        f.OfferFailed: _on_failed,
        f.CallAnswered: _on_answered,
        f.CallAbandoned: _on_abandoned,
        f.CallOverflowed: _on_overflowed,
        f.CallClosed: _on_closed,
        f.CallCompleted: _on_completed,
        f.AgentStateChanged: _on_agent,
        f.PbxResynced: ResumeOps._on_resynced,
        **CallbackOps.HANDLERS,
        **SurveyOps.HANDLERS,
    }
