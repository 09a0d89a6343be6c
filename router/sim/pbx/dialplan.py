"""The dialplan the simulator plays, in one place.

These are the contexts of docs/ASTERISK.md as the simulator runs them; only
the names the router sees matter (contexts, extensions, applications show
up in events and listings), the rest is cosmetic:

    router-in,<dnis>        (the trunk endpoint's context)
      1 Answer()
      2 Set(ROUTER_DNIS=<dnis>)
      3 Set(ROUTER_VARS=k=v&k=v)
      4 Set(ROUTER_HOLD_LIMIT=<seconds>)
      5 UserEvent(RouterCallWaiting,DNIS: ...,Vars: ...)
      6 MusicOnHold(default,<hold limit>)     ← the caller waits here
      7 Queue(router-fallback)                ← hold limit reached (recorded as 'fallback')
    router-agent,<agent>    1 Bridge(${ROUTER_CALLER}), 2 Hangup(); with ROUTER_RECORDING
                            MixMonitor() first, with ROUTER_SURVEY=1 the caller goes on to
    router-survey,s         Read() a score 1-5, UserEvent(RouterSurvey) (survey.py)
    router-callback,<agent> Dial(PJSIP/${ROUTER_DIAL}@trunk,30), Hangup(); the hangup
                            handler raises UserEvent(RouterCallbackResult) (customers.py)
    router-action,voicemail|callback|transfer|hangup   (then the caller hangs up)
    router-features,*41..*44  UserEvent(RouterAgent,Agent: ..,Command: ..,Reason: ..)

Agent phones use `router-features` as their endpoint context (the context an
originated leg shows while it rings, and where feature codes are dialled).
"""

from __future__ import annotations

TRUNK = "PJSIP/trunk"  # the device inbound calls arrive on
ROUTER_IN = "router-in"
ROUTER_AGENT = "router-agent"
ROUTER_CALLBACK = "router-callback"
ROUTER_ACTION = "router-action"
ROUTER_FEATURES = "router-features"
PHONE_CONTEXT = ROUTER_FEATURES
FALLBACK_QUEUE = "router-fallback"

FEATURE_CODES = {"login": "*41", "logout": "*42", "pause": "*43", "unpause": "*44"}  # as deploy/asterisk

# router-action extensions: the application each runs (format fields:
# ROUTER_TARGET, ROUTER_ANNOUNCE).
ACTIONS = {
    "voicemail": ("VoiceMail", "{target},u"),
    "callback": ("Playback", "{announce}"),
    "transfer": ("Dial", "PJSIP/{target}@trunk"),
    "hangup": ("Hangup", ""),
}


def exists(context: str, exten: str) -> bool:
    """Whether the simulated dialplan has `exten` in `context` (Originate
    checks this before dialling: "Extension does not exist.")."""
    if not exten:
        return False
    if context in (ROUTER_IN, ROUTER_AGENT, ROUTER_CALLBACK):
        return True  # _X. patterns; agent ids may be any text here
    if context == ROUTER_ACTION:
        return exten in ACTIONS
    if context == ROUTER_FEATURES:
        return exten in FEATURE_CODES.values()
    return False
