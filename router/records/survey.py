"""Satisfaction scores and recordings on the call record, as part of the
assembler (pure).

- `call.recording` (CallRecorded) comes once the call is answered and the
  PBX started the recording (core/survey.py rule 2): the path goes on the
  open call.
- `call.survey` (CallSurveyed) comes after the call has ended, when the
  caller pressed a key (core/survey.py). An answered call from a queue with
  `survey: true` is therefore held, once its wrap-up is over, until its
  score comes or SURVEY_WAIT seconds after the conversation ended (then it
  goes on record without a score: the caller did not answer the survey).
  A score that comes later than that (the caller pressed the key late, or
  the PBX's event was delayed by a reconnect) is still a score: the call
  row is written once, so it goes on record as a SurveyRow of its own,
  keyed by the call, which the reports count with the call.
"""

from __future__ import annotations

from router.core import facts as f
from router.records.calls import OpenCall
from router.records.model import SurveyRow

#: Seconds after the end of a surveyed call that its record waits for the score.
SURVEY_WAIT = 120.0


class SurveyOps:
    """Mixin of RecordAssembler."""

    def _on_recorded(self, e: f.CallRecorded, now: float) -> None:
        call = self._call(e.call, now)
        if call is not None:
            call.recording = e.path

    def _on_surveyed(self, e: f.CallSurveyed, now: float) -> None:
        call = self._call(e.call, now)
        if call is None:
            # already on record (or never opened here): the score is a row
            # of its own; a report without its call simply does not see it
            self.out.append(SurveyRow(e.call, e.score, now))
            return
        call.survey = e.score
        if self.surveying.pop(e.call, None) is not None:
            self._emit(call)

    def _done_with(self, call: OpenCall) -> None:
        """The answered call's wrap-up is over: on record now, or once its
        survey is answered (or given up on)."""
        queue = self.table_getter().queues.get(call.queue)
        if (call.kind == "inbound" and call.survey is None and queue is not None and getattr(queue, "survey", False)
                and call.ended_at is not None):
            self.surveying[call.call_id] = call.ended_at + SURVEY_WAIT
            self.dirty.add("c:" + call.call_id)
            return
        self._emit(call)

    def _surveys_due(self, now: float) -> None:
        for call_id, due in list(self.surveying.items()):
            if due <= now:
                del self.surveying[call_id]
                call = self.calls.get(call_id)
                if call is not None:
                    self._emit(call)

    HANDLERS = {f.CallRecorded: _on_recorded, f.CallSurveyed: _on_surveyed}
