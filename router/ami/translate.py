"""Translation between AMI and the engine, for one PBX. Pure: no I/O.

In: AMI events (case-insensitive mappings, as panoramisk's Message) become
domain events through a handler table, as in VoIPGRID/cacofonisk. Out:
engine commands become AMI actions (plain dicts). The translator remembers
only what it needs to connect the two: each waiting call's channel, and each
agent leg the router originated (by the Uniqueid the router chose for it).

Rules (docs/ASTERISK.md is the contract):
- Handlers never raise on odd input: a missing header reads as ""
  (router/ami/headers.py), an event about a channel we do not know is
  ignored and counted in `ignored`.
- Every value copied from outside into an action goes through `clean()`
  (router/ami/values.py): no CR, LF or other control characters can reach
  the wire, so a caller name cannot add headers or actions.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Iterable, Mapping

from router.ami.headers import header
from router.ami.legs import Leg, LegIds, PairIndex
from router.ami.values import caller_id, clean, device_flags, parse_vars
from router.core import events as ev
from router.core.commands import CancelRing, RingAgent, RunAction
from router.core.table import RoutingTable

__all__ = ["Leg", "Translator", "UNUSED_EVENTS", "AGENT_COMMANDS", "MAX_IGNORED_KINDS", "FAILURE_REASONS",
           "caller_id", "clean", "device_flags", "parse_vars", "header"]

AGENT_CONTEXT = "router-agent"
CALLBACK_CONTEXT = "router-callback"
ACTION_CONTEXT = "router-action"
MAX_OPEN_ORIGINATES = 100_000
MAX_IGNORED_KINDS = 200
#: OriginateResponse Reason -> AgentNoAnswer reason (Asterisk's AST_CONTROL_*).
FAILURE_REASONS = {"3": "no-answer", "5": "busy", "8": "congestion"}
#: Hangup Cause (Q.850) -> AgentNoAnswer reason, for a failed Originate whose
#: response has Reason 0: Asterisk 22's chan_pjsip says that for a 486 Busy
#: Here, and only the leg's Hangup (Cause 17, TechCause 486) tells why.
HANGUP_CAUSES = {"17": "busy", "18": "no-answer", "19": "no-answer", "34": "congestion", "42": "congestion"}
AGENT_COMMANDS = {"login", "logout", "pause", "unpause"}
#: Events Asterisk sends that the router knowingly does not use (counted in
#: `ignored` all the same; only other kinds are worth a warning).
UNUSED_EVENTS = {"FullyBooted", "Newexten", "Newstate", "VarSet", "SoftHangupRequest", "HangupRequest",
                 "NewCallerid", "NewConnectedLine", "DialBegin", "DialState", "DialEnd", "BridgeCreate",
                 "BridgeEnter", "BridgeLeave", "BridgeDestroy", "Cdr", "Cel", "RTCPSent", "RTCPReceived",
                 "Registry", "PeerStatus", "ContactStatus", "Reload", "SuccessfulAuth", "ChallengeSent",
                 "MusicOnHoldStart", "MusicOnHoldStop", "DTMFBegin", "DTMFEnd", "NewAccountCode",
                 "LocalBridge", "AgentCalled", "Hold", "Unhold", "DeviceStateListComplete",
                 # a message left by router-action's VoiceMail() (seen on Asterisk 22.10.1)
                 "MessageWaiting",
                 # router-action,callback tells a CRM a callback was promised; the
                 # router promised it itself (seen on Asterisk 22.10.1 with every callback)
                 "UserEvent RouterCallback"}

#: A recording path goes into MixMonitor() unquoted: only these characters.
_PATH_UNSAFE = re.compile(r"[^A-Za-z0-9._/+-]")


class Translator:
    def __init__(self, table: RoutingTable, pbx: str = "", run: str = "") -> None:
        self.pbx = pbx
        # Part of every agent leg id: a restarted router must not reuse the
        # ids of legs its previous run left on the PBX.
        self.run = run
        self.calls: dict[str, str] = {}  # call id -> caller channel name
        self.legs: dict[str, Leg] = {}  # leg id -> leg, until the leg hangs up
        # ActionID of each Originate -> its leg, until its OriginateResponse.
        # A failed Originate's response has "Uniqueid: <unknown>" and comes
        # after the leg's Hangup (agent_no_answer.ami), so only this finds it.
        self.originates: dict[str, Leg] = {}
        self._pairs = PairIndex()  # (call id, agent id) -> oldest leg, for leg_for
        self.ignored: Counter[str] = Counter()
        self._ids = LegIds(pbx, run)
        self.set_table(table)

    def set_table(self, table: RoutingTable) -> None:
        # Only this server's phones: another server may have an endpoint of
        # the same name, whose state says nothing about our agent.
        self._devices = {a.endpoint: a.id for a in table.agents.values() if a.pbx in (None, self.pbx)}

    def agent_of_device(self, device: str) -> str | None:
        """The agent whose phone on this PBX is `device` (None: no agent's)."""
        return self._devices.get(device)

    def replace_state(self, calls: dict[str, str], legs: dict[str, Leg]) -> None:
        """Forget what was known; know the calls (id -> caller channel) and
        the legs a state listing showed (router/ami/resync.py)."""
        self.calls = calls
        self.legs = legs
        # A ringing leg's OriginateResponse may still come; a failed one has no
        # Uniqueid and follows the leg's Hangup, so only its ActionID (= the leg
        # id, `ring`) can match it, even if another process sent it.
        self.originates = {uid: leg for uid, leg in legs.items() if not leg.answered}
        # Never reuse the id of a leg still up (Asterisk would refuse the
        # ChannelId): move the leg counter past those of this translator's form.
        self.skip_leg_ids(legs)

    def ringing_legs(self) -> list[Leg]:
        """The agent legs originated and not yet answered."""
        return [leg for leg in self.legs.values() if not leg.answered]

    # ------------------------------------------------------------ AMI -> core
    def event(self, msg: Mapping) -> list:
        """Domain events for one AMI event (often none)."""
        name = header(msg, "Event")
        handler = self._HANDLERS.get(name.lower())
        if handler is None:
            return self._ignore(clean(name, 64) or "(no Event)")
        return handler(self, msg)

    def _user_event(self, msg: Mapping) -> list:
        kind = header(msg, "UserEvent")
        if kind == "RouterCallWaiting":
            call_id = header(msg, "Uniqueid")
            if not call_id:
                return self._ignore("RouterCallWaiting without Uniqueid")
            self.calls[call_id] = header(msg, "Channel")
            return [ev.CallWaiting(call_id, dnis=header(msg, "DNIS"),
                                   caller_num=caller_id(header(msg, "CallerIDNum")),
                                   caller_name=caller_id(header(msg, "CallerIDName")),
                                   variables=parse_vars(header(msg, "Vars")), pbx=self.pbx)]
        if kind == "RouterAgent":
            agent, command = header(msg, "Agent"), header(msg, "Command").lower()
            if not agent or command not in AGENT_COMMANDS:
                return self._ignore(f"RouterAgent {command or '(no Command)'}")
            if command == "pause":
                return [ev.AgentPause(agent, header(msg, "Reason") or "break")]
            return [{"login": ev.AgentLogin, "logout": ev.AgentLogout, "unpause": ev.AgentUnpause}[command](agent)]
        if kind == "RouterSurvey":
            return self._survey(msg)
        if kind == "RouterCallbackResult":
            call_id, status = header(msg, "Call"), header(msg, "Status")
            if not call_id:
                return self._ignore("RouterCallbackResult without Call")
            return [ev.CallbackResult(call_id, status or "UNKNOWN")]
        return self._ignore(f"UserEvent {kind}")

    def _survey(self, msg: Mapping) -> list:
        """`UserEvent: RouterSurvey` from router-survey, on the caller's
        channel: `Call` (else the channel's Uniqueid, which is the call id)
        and `Score`, one digit 1-5. Anything else is ignored and counted."""
        call_id = header(msg, "Call").strip() or header(msg, "Uniqueid")
        score = header(msg, "Score").strip()
        if not call_id:
            return self._ignore("RouterSurvey without Call")
        if len(score) != 1 or score not in "12345":
            return self._ignore("RouterSurvey with a Score not 1-5")
        return [ev.SurveyAnswered(call_id, int(score))]

    def _new_channel(self, msg: Mapping) -> list:
        leg = self.legs.get(header(msg, "Uniqueid"))
        if leg is None:
            return []
        leg.channel = header(msg, "Channel")
        return [ev.AgentOffered(leg.call_id, leg.agent_id)]

    def _mixmonitor_start(self, msg: Mapping) -> list:
        """router-agent's MixMonitor started on an agent leg of ours (a
        `record: true` queue). Any other channel's recording is not ours to
        report."""
        leg = self.legs.get(header(msg, "Uniqueid"))
        if leg is None:
            return []
        return [ev.RecordingStarted(leg.call_id, leg.agent_id)]

    def _originate_response(self, msg: Mapping) -> list:
        leg = self.originates.pop(header(msg, "ActionID"), None) or self.legs.get(header(msg, "Uniqueid"))
        if leg is None:
            return self._ignore("OriginateResponse for an unknown leg")
        if header(msg, "Response") == "Success":
            leg.answered = True
            return [ev.AgentAnswered(leg.call_id, leg.agent_id)]
        reason = FAILURE_REASONS.get(header(msg, "Reason"))
        if reason is None and not leg.cause and leg.channel and leg.leg_id in self.legs:
            # No reason, and the leg's channel is still up: its Hangup, next,
            # has the cause (a real 22.10.1 sends a busy phone's this way).
            # Should it never come, the core's ring guard ends the offer.
            leg.failed = True
            return []
        return self._originate_failed(leg, reason or HANGUP_CAUSES.get(leg.cause, "failed"))

    def _originate_failed(self, leg: Leg | None, reason: str = "failed") -> list:
        if leg is None:
            return self._ignore("OriginateResponse for an unknown leg")
        self.legs.pop(leg.leg_id, None)
        return [ev.AgentNoAnswer(leg.call_id, leg.agent_id, reason)]

    def refused(self, action_id: str) -> list:
        """Domain events for an Originate that Asterisk refused (its reply
        was an error): read as its failed OriginateResponse (Reason 0)."""
        return self._originate_failed(self.originates.pop(action_id, None))

    @staticmethod
    def not_sent(cmd: RingAgent) -> list:
        """Domain events for a RingAgent that cannot be sent to this PBX now
        (its state is not rebuilt): as if Asterisk refused the Originate, a
        failed offer (the call goes back in line; the agent rests briefly)."""
        return [ev.AgentNoAnswer(cmd.call_id, cmd.agent_id, "failed")]

    def _hangup(self, msg: Mapping) -> list:
        uid = header(msg, "Uniqueid")
        if uid in self.calls:
            del self.calls[uid]
            return [ev.CallLeft(uid)]
        leg = self.legs.pop(uid, None)
        if leg is not None and leg.answered and not leg.cancelled:
            # Named by its agent: a stale leg's hang-up must not end the call.
            return [ev.CallEnded(leg.call_id, leg.agent_id)]
        if leg is not None and not leg.answered:
            cause = header(msg, "Cause")
            if leg.failed:  # its OriginateResponse came first, without a reason
                return [ev.AgentNoAnswer(leg.call_id, leg.agent_id, HANGUP_CAUSES.get(cause, "failed"))]
            leg.cause = cause  # for its OriginateResponse, if that has no reason
        return []  # an unanswered leg: its OriginateResponse says why

    def _device_state(self, msg: Mapping) -> list:
        agent = self._devices.get(header(msg, "Device"))
        if agent is None:
            return []
        busy, unreachable = device_flags(header(msg, "State"))
        return [ev.AgentDevice(agent, busy, unreachable)]

    def _ignore(self, what: str) -> list:
        """Count input the router does not use, by kind. The kinds are
        bounded: a peer sending endless new names cannot grow the counter
        (or the log, which reports each kind once) without limit."""
        if what not in self.ignored and len(self.ignored) >= MAX_IGNORED_KINDS:
            what = "(other kinds)"
        self.ignored[what] += 1
        return []

    _HANDLERS = {
        "userevent": _user_event,
        "newchannel": _new_channel,
        "originateresponse": _originate_response,
        "hangup": _hangup,
        "devicestatechange": _device_state,
        "mixmonitorstart": _mixmonitor_start,
    }

    # ------------------------------------------------------------ core -> AMI
    def ring(self, cmd: RingAgent) -> dict:
        """The Originate for a RingAgent; remembers the leg."""
        leg = Leg(self._ids.next(), cmd.call_id, cmd.agent_id)
        self._pairs.add(self.legs, leg)
        self.originates[leg.leg_id] = leg  # the leg id doubles as the ActionID
        if len(self.originates) > MAX_OPEN_ORIGINATES:  # responses lost with a connection
            del self.originates[next(iter(self.originates))]
        name = clean(cmd.caller_name, 80).replace('"', "'")
        number = clean(cmd.caller_num, 40).replace("<", "").replace(">", "")
        variables = [f"ROUTER_CALLER={clean(self.calls.get(cmd.call_id, ''))}",
                     f"ROUTER_CALL={clean(cmd.call_id)}", f"ROUTER_AGENT={clean(cmd.agent_id)}"]
        if cmd.dial:  # a callback: router-callback dials this once the agent answers
            variables.append("ROUTER_DIAL=" + "".join(ch for ch in cmd.dial if ch.isdigit() or ch == "+")[:32])
        if cmd.survey:  # router-agent sends the caller on to router-survey when the agent hangs up
            variables.append("ROUTER_SURVEY=1")
        if cmd.recording:  # router-agent records the bridge (MixMonitor) to this file
            variables.append("ROUTER_RECORDING=" + _PATH_UNSAFE.sub("", clean(cmd.recording)))
        return {
            "Action": "Originate",
            "ActionID": leg.leg_id,
            "Channel": clean(cmd.endpoint),
            "Context": CALLBACK_CONTEXT if cmd.dial else AGENT_CONTEXT,
            "Exten": clean(cmd.agent_id),
            "Priority": "1",
            "Timeout": str(int(cmd.timeout * 1000)),
            "Async": "true",
            "ChannelId": leg.leg_id,
            "CallerID": f'"{name}" <{number}>',
            "Variable": variables,
        }

    def skip_leg_ids(self, leg_ids: Iterable[str]) -> None:
        """Move the leg counter past the ids of this translator's form among
        `leg_ids` (legs still up: Asterisk would refuse a reused ChannelId)."""
        self._ids.skip(leg_ids)

    def leg_for(self, call_id: str, agent_id: str) -> Leg | None:
        """The oldest live leg ringing `agent_id` for `call_id`."""
        return self._pairs.find(self.legs, call_id, agent_id)

    def cancel(self, cmd: CancelRing) -> dict | None:
        """The Hangup for a CancelRing (None if no such leg is up)."""
        leg = self.leg_for(cmd.call_id, cmd.agent_id)
        if leg is None:
            return None
        # Never the connected leg (the engine cancels only offers): its
        # hang-up, even after a late answer, ends nothing.
        leg.cancelled = True
        return self.hangup(leg)

    def hangup(self, leg: Leg) -> dict:
        """The Hangup of an agent leg (cause 16, normal clearing), by its
        channel name once Newchannel told it, else by its ChannelId."""
        return {"Action": "Hangup", "Channel": clean(leg.channel or leg.leg_id), "Cause": "16"}

    def run_action(self, cmd: RunAction) -> list[dict]:
        """Setvar + Redirect of the caller channel into router-action."""
        channel = self.calls.get(cmd.call_id)
        if not channel:
            return []
        channel = clean(channel)
        return [
            {"Action": "Setvar", "Channel": channel, "Variable": "ROUTER_TARGET", "Value": clean(cmd.action.target)},
            {"Action": "Setvar", "Channel": channel, "Variable": "ROUTER_ANNOUNCE", "Value": clean(cmd.action.announce)},
            {"Action": "Redirect", "Channel": channel, "Context": ACTION_CONTEXT,
             "Exten": clean(cmd.action.kind), "Priority": "1"},
        ]
