"""A call on its way to the record: what the assembler knows of one call
while it is open, and the rows it becomes when it is over (pure).

An open call can be dumped to a JSON-able list and loaded back (the
assembler's checkpoint across a restart, checkpoint.py).
"""

from __future__ import annotations

import json

from router.records.model import CallRow, CallStepRow, OfferRow

#: OpenCall fields, in the order of `dump`.
FIELDS = ("call_id", "kind", "pbx", "dnis", "caller_num", "caller_name", "variables", "rule", "first_queue",
          "queue", "arrived", "outcome", "finished_at", "reason", "action", "answered_by", "team", "answered_at",
          "ended_at", "wrapup", "planned_wrapup", "moves", "callback_id", "origin", "survey", "recording",
          "attempts", "sl", "steps", "offers", "last", "restored", "emitted")

_STEPS, _OFFERS = FIELDS.index("steps"), FIELDS.index("offers")


class OpenCall:
    """One call (or callback, `kind` "callback") not yet on record.

    `offers` holds [seq, agent, team, queue, rung_at, ended_at, outcome]
    (ended_at and outcome None while it rings); `steps` holds [at, kind,
    queue, detail]; `sl` is (threshold, counted, met, short) once judged."""

    __slots__ = FIELDS

    def __init__(self, call_id: str, kind: str, arrived: float, queue: str) -> None:
        self.call_id, self.kind, self.arrived = call_id, kind, arrived
        self.pbx = self.dnis = self.caller_num = self.caller_name = self.rule = ""
        self.variables = "{}"
        self.first_queue = self.queue = queue
        self.outcome = self.reason = self.action = ""
        self.finished_at: float | None = None
        self.answered_by: str | None = None
        self.team: str | None = None
        self.answered_at: float | None = None
        self.ended_at: float | None = None
        self.wrapup: float | None = None
        self.planned_wrapup = 0.0
        self.moves = 0
        self.callback_id: str | None = None
        self.origin: str | None = None
        self.survey: int | None = None
        self.recording: str | None = None
        self.attempts = 0  # callbacks: dials to the customer
        self.sl: tuple | None = None
        self.steps: list[list] = []
        self.offers: list[list] = []
        self.last = arrived  # the time of its latest fact (for the staleness limit)
        self.restored = False  # loaded from a checkpoint, not yet seen again
        self.emitted = False  # on record; kept a moment for the checkpoint (assemble.py)

    # -- offers and steps
    def step(self, at: float, kind: str, queue: str, detail: str = "") -> None:
        self.steps.append([at, kind, queue, detail])

    def open_offer(self) -> list | None:
        if self.offers and self.offers[-1][6] is None:
            return self.offers[-1]
        return None

    def offer(self, agent: str, team: str, queue: str, at: float) -> None:
        self.close_offer(at, "withdrawn")
        self.offers.append([len(self.offers) + 1, agent, team, queue, at, None, None])

    def close_offer(self, at: float, outcome: str, agent: str | None = None) -> bool:
        """Close the ringing offer (of `agent`, when given); False if none."""
        offer = self.open_offer()
        if offer is None or (agent is not None and offer[1] != agent):
            return False
        offer[5], offer[6] = at, outcome
        return True

    # -- the rows
    def rows(self, local) -> list:
        """The call's rows: its CallRow, steps and offers (`local`: t ->
        (local_date, local_minute))."""
        end = self.finished_at if self.finished_at is not None else self.last
        for offer in self.offers:
            if offer[6] is None:
                offer[5], offer[6] = max(offer[4], end), "withdrawn"
        date, minute = local(self.arrived)
        threshold, counted, met, short = self.sl or (None, False, False, False)
        talk = None
        if self.answered_at is not None and self.ended_at is not None:
            talk = max(0.0, self.ended_at - self.answered_at)
        wait_end = self.answered_at if self.answered_at is not None else end
        out = [CallRow(
            self.call_id, self.kind, self.pbx, self.dnis, self.caller_num, self.caller_name, self.variables,
            self.rule, self.first_queue, self.queue, self.arrived, date, minute, end, self.outcome, self.reason,
            self.action, max(0.0, wait_end - self.arrived), self.answered_by, self.team, self.answered_at,
            self.ended_at, talk, self.wrapup, len(self.offers), self.moves, threshold, counted, met, short,
            self.callback_id, self.origin, self.survey, self.recording)]
        out += [CallStepRow(self.call_id, n, at, kind, queue, detail)
                for n, (at, kind, queue, detail) in enumerate(self.steps, 1)]
        out += [OfferRow(self.call_id, *offer) for offer in self.offers]
        return out

    # -- the checkpoint
    def dump(self) -> list:
        """A copy that the loop may go on changing the call after."""
        out = [getattr(self, name) for name in FIELDS]
        out[_STEPS] = [list(s) for s in self.steps]
        out[_OFFERS] = [list(o) for o in self.offers]
        return out

    @classmethod
    def load(cls, item: list) -> "OpenCall":
        call = cls.__new__(cls)
        for name, value in zip(FIELDS, item, strict=True):
            setattr(call, name, value)
        call.sl = tuple(call.sl) if call.sl is not None else None
        return call


def variables_json(variables) -> str:
    """The IVR variables as a JSON object, in order, UTF-8 kept as is."""
    return json.dumps(dict(variables), ensure_ascii=False)
