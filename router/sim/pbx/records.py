"""What happened to each call, from the PBX's side (independent of the
router's own view, so a test can compare the two)."""

from __future__ import annotations

from dataclasses import dataclass, field

#: Final outcomes: bridged to an agent, caller hung up while waiting, the
#: dialplan's hold limit sent it to app_queue, the router redirected it to
#: router-action (one per extension), or it was hung up otherwise (e.g. by
#: an AMI Hangup action).
OUTCOMES = ("answered", "abandoned", "fallback", "voicemail", "callback", "transfer", "hangup",
            "pbx-restart")  # the PBX restarted while the caller waited (faults.py)


@dataclass
class CallRecord:
    call_id: str  # the caller channel's Uniqueid
    channel: str
    dnis: str
    caller_num: str
    caller_name: str
    variables: dict[str, str]
    arrived: float  # simulated seconds since the simulator started
    outcome: str | None = None  # one of OUTCOMES; None while the call is live
    agent: str | None = None  # the agent it was bridged to
    answered: float | None = None
    ended: float | None = None
    offers: list[str] = field(default_factory=list)  # agents rung for it, in order
    target: str = ""  # ROUTER_TARGET when redirected to router-action
    announce: str = ""  # ROUTER_ANNOUNCE likewise
    talk_ended: float | None = None  # when the conversation with the agent ended
    recording: str = ""  # the MixMonitor file the agent leg was told (survey.py)
    survey_offered: bool = False  # bridged with the survey's F() option
    survey: int | None = None  # the score the caller pressed, if any

    @property
    def waited(self) -> float | None:
        """Seconds from arrival to answer (or to the end when unanswered)."""
        end = self.answered if self.answered is not None else self.ended
        return None if end is None else end - self.arrived
