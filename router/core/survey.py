"""Satisfaction survey and recordings, as part of the engine.

Rules:

1. An offer of a call from a queue with `survey: true` or `record: true`
   says so in its `RingAgent` (`survey`, `recording`: the file's path), from
   the queue the call is in at the time of the offer; the dialplan acts on
   it (docs/ASTERISK.md). Callbacks get neither: the router placed them,
   nobody waits on hold to be surveyed.
2. A recorded call's `CallRecorded` ("call.recording": call, queue, agent,
   path) is published once the call is answered *and* the PBX said the
   recording started (`RecordingStarted`, AMI `MixMonitorStart` on the
   agent leg), whichever comes last: the two may arrive in either order.
   Without it (no app_mixmonitor: router-agent's TryExec goes on
   unrecorded) the call is connected and its record names no recording.
   A second start, or one for another offer, is ignored.
3. A survey is answered after the call has ended (the caller goes on to the
   survey when the agent hangs up). The engine remembers each surveyed call
   it ended, for `SURVEY_WINDOW` seconds and at most `MAX_PENDING` of them,
   so the score (`CallSurveyed`, "call.survey") gets the call's queue and
   agent. A score for a call it does not remember (a restart, a late
   answer) is still published, with queue and agent "": the call records
   attach scores by call id. A score that is not 1-5, or a second score
   for the same call, is ignored.
4. The recording's path is `<recordings_dir>/<call id>.wav`, the call id
   reduced to `[A-Za-z0-9._-]`: the id comes from the PBX, and must not
   reach a file name with a `/`, a `..` or a dialplan comma.
"""

from __future__ import annotations

import re

from router.core import events as ev
from router.core import facts as f
from router.core.shared import EngineState
from router.core.state import CallRec, CallStatus
from router.core.table import Queue

#: The scores a caller can give (the survey's keys 1-5).
SCORES = (1, 2, 3, 4, 5)
#: Seconds after the end of a call in which its survey score is still
#: attributed to its queue and agent (the prompt and the key take well
#: under a minute; a PBX reconnect can delay the UserEvent).
SURVEY_WINDOW = 600.0
#: Ended calls remembered for their survey, at most (bounds the memory
#: whatever the PBX does).
MAX_PENDING = 100_000
#: Recordings' file format, by extension (MixMonitor picks it from this).
RECORDING_FORMAT = "wav"
_UNSAFE_ID = re.compile(r"[^A-Za-z0-9._-]")


def recording_path(directory: str, call_id: str) -> str:
    """Where the recording of `call_id` goes: one file per call, named by
    its id (made safe for a path and a dialplan argument)."""
    name = _UNSAFE_ID.sub("_", call_id).lstrip(".") or "call"
    return f"{directory.rstrip('/')}/{name}.{RECORDING_FORMAT}"


class SurveyOps(EngineState):
    """Mixin of Engine: what an offer carries for the survey and the
    recording, and the scores."""

    __slots__ = ()

    def _offer_extras(self, call: CallRec, queue: Queue) -> tuple[bool, str]:
        """(survey, recording path or "") for an offer of `call` from `queue`;
        kept on the call, which is ended or answered by its last offer."""
        call.recording_started = False
        if call.callback:
            call.survey, call.recording = False, ""
        else:
            call.survey = queue.survey
            call.recording = recording_path(self.table.settings.recordings_dir, call.id) if queue.record else ""
        return call.survey, call.recording

    def _recording_started(self, call: CallRec, agent: str) -> None:
        """The call is answered: on record as recorded if its recording
        started already (rule 2)."""
        if call.recording and call.recording_started:
            self._publish(f.CallRecorded(call.id, call.queue, agent, call.recording))

    def _on_recording(self, e: ev.RecordingStarted) -> None:
        call = self.calls.get(e.call_id)
        if (call is None or call.agent != e.agent_id or not call.recording
                or call.status not in (CallStatus.RINGING, CallStatus.CONNECTED)):
            return self._ignored(e, "recording of no recorded offer in progress")
        if call.recording_started:
            return self._ignored(e, "recording already started")
        call.recording_started = True
        if call.status is CallStatus.CONNECTED:
            self._publish(f.CallRecorded(call.id, call.queue, e.agent_id, call.recording))

    def _survey_pending(self, call: CallRec, agent: str) -> None:
        """The surveyed call ended: its caller is on to the survey (rule 3)."""
        if not call.survey:
            return
        pending = self._surveys
        pending.pop(call.id, None)  # re-inserted last: keeps end order
        pending[call.id] = (self._now, call.queue, agent, False)
        while pending:
            oldest = next(iter(pending))
            if len(pending) <= MAX_PENDING and pending[oldest][0] >= self._now - SURVEY_WINDOW:
                break
            del pending[oldest]

    def _on_survey(self, e: ev.SurveyAnswered) -> None:
        if type(e.score) is not int or e.score not in SCORES:
            return self._ignored(e, "survey score not 1-5")
        known = self._surveys.get(e.call_id)
        if known is not None and self._now - known[0] > SURVEY_WINDOW:
            known = None
        if known is not None and known[3]:
            return self._ignored(e, "survey already answered")
        queue = agent = ""
        if known is not None:
            ended, queue, agent, _ = known
            self._surveys[e.call_id] = (ended, queue, agent, True)
        else:
            call = self.calls.get(e.call_id)  # a score before the end reached us
            if call is not None and call.agent:
                queue, agent = call.queue, call.agent
        self._publish(f.CallSurveyed(e.call_id, queue, agent, e.score))
