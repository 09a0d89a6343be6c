"""Rebuilding one PBX's state after an AMI (re)connect. Pure: no I/O.

While the router was away (restart, lost connection) it heard none of the
PBX's events, so after every login it asks for the listings in
RESYNC_ACTIONS and `build_snapshot` turns the answers into a `PbxSnapshot`
for the engine, and replaces the Translator's maps with what the PBX has
(docs/ASTERISK.md, "Rebuilding state after a (re)connect"):

- waiting callers: channels in `router-in` running `MusicOnHold`/`Wait`,
  not in a bridge; `Duration` (HH:MM:SS) is how long they have held;
- agent legs: channels whose `ROUTER_CALL` and `ROUTER_AGENT` are set (only
  the router's Originate sets them): connected when bridged, else ringing;
- devices: `DeviceStateList` items for agents' endpoints.

Formats are those of a real Asterisk 22 (resync_snapshot.ami): an unset
variable reads `(null)`, CoreShowChannel says `BridgeId` and Status
`BridgeID` (hence case-insensitive lookups, even on plain dicts). Like the
Translator's handlers, nothing here raises on odd input: what cannot be
understood is skipped.
"""

from __future__ import annotations

import re
from typing import Any, Iterable, Mapping

from router.ami.headers import Folded, folded, listed, unset_as_empty
from router.ami.translate import Leg, Translator
from router.ami.values import caller_id, device_flags, parse_vars
from router.core import events as ev

CALLER_CONTEXT = "router-in"
HOLD_APPS = {"MusicOnHold", "Wait"}
RESYNC_VARIABLES = "ROUTER_DNIS,ROUTER_VARS,ROUTER_CALL,ROUTER_AGENT,ROUTER_CALLER"

#: What the daemon sends after each login, in this order.
RESYNC_ACTIONS = (
    {"Action": "CoreShowChannels"},
    {"Action": "Status", "Variables": RESYNC_VARIABLES},
    {"Action": "DeviceStateList"},
)

_DURATION = re.compile(r"[0-9]{1,9}(:[0-9]{1,2}){0,2}")


def items(reply: Any, event_name: str) -> list[Mapping]:
    """The items of a panoramisk list reply (Response, items, ...Complete)
    whose Event is `event_name`. A refused action or no reply (None, a
    single Message) has no items."""
    if not isinstance(reply, (list, tuple)):
        return []
    return [m for m in reply if isinstance(m, Mapping)
            and listed(folded(m), "event").lower() == event_name.lower()]


def listing_failure(reply: Any) -> str | None:
    """Why a listing's reply cannot be rebuilt from (None when it can): no
    reply, an error reply, or an answer that is not a list. Never read
    such a reply as an empty PBX."""
    if reply is None:
        return "got no reply"
    first = reply[0] if isinstance(reply, (list, tuple)) and reply else reply
    head = folded(first)
    response = listed(head, "response").lower()
    if response != "success":
        message = listed(head, "message") or "no reason given"
        return f"was refused: {message[:200]}" if response else "got an unreadable reply"
    if not isinstance(reply, (list, tuple)):
        return "was answered without a list"
    return None


def _variables(msg: dict) -> dict[str, str]:
    """Status's `Variable: NAME=value` lines (a str or a list of them)."""
    lines = msg.get("variable", [])
    out: dict[str, str] = {}
    for line in lines if isinstance(lines, list) else [lines]:
        if isinstance(line, str):
            name, sep, value = line.partition("=")  # a value may hold "=" (ROUTER_VARS)
            if sep and name.strip():
                out[name.strip()] = unset_as_empty(value)
    return out


def _seconds(duration: str) -> float:
    """`00:01:05` -> 65.0 (also `MM:SS`, `SS`); anything else -> 0."""
    if not _DURATION.fullmatch(duration):
        return 0.0
    total = 0
    for part in duration.split(":"):
        total = total * 60 + int(part)
    return float(total)


def _by_uniqueid(msgs: Iterable[Any]) -> dict[str, dict]:
    """Folded messages by Uniqueid, listing order; the first one wins."""
    out: dict[str, dict] = {}
    for msg in msgs or ():
        item = folded(msg)
        uid = listed(item, "uniqueid")
        if uid and uid not in out:
            out[uid] = item
    return out


def build_snapshot(translator: Translator, channels: list[Mapping], status: list[Mapping],
                   devices: list[Mapping], *, pending: Iterable[str] = ()) -> ev.PbxSnapshot:
    """The PbxSnapshot for the listings' items (CoreShowChannel, Status,
    DeviceStateChange), and the translator's calls, legs and originates
    replaced by what they show (the PBX is the truth).

    `pending`: ids of legs originated on the connection the listings were
    read on (from its login to now). The listings may predate them, so
    those not listed and still unanswered are kept and reported ringing:
    forgetting them would leave an agent phone ringing that the router
    cannot match or cancel. (A leg listed nowhere that did fail has its
    OriginateResponse on the way, which then frees the agent.)"""
    chans, stats = _by_uniqueid(channels), _by_uniqueid(status)

    def bridged(uid: str) -> bool:
        # Either listing may show it: they are taken a moment apart.
        return any(listed(m, "bridgeid") for m in (chans.get(uid, {}), stats.get(uid, {})))

    waiting: list[ev.CallWaiting] = []
    calls: dict[str, str] = {}
    for uid, chan in chans.items():
        if (listed(chan, "context") != CALLER_CONTEXT or bridged(uid)
                or listed(chan, "application") not in HOLD_APPS):
            continue  # not holding for the router (still in the IVR, in the fallback, talking)
        variables = _variables(stats.get(uid, {}))
        waiting.append(ev.CallWaiting(
            uid, dnis=variables.get("ROUTER_DNIS", ""),
            caller_num=caller_id(listed(chan, "calleridnum")),
            caller_name=caller_id(listed(chan, "calleridname")),
            variables=parse_vars(variables.get("ROUTER_VARS", "")), pbx=translator.pbx,
            waited=_seconds(listed(chan, "duration"))))
        calls[uid] = listed(chan, "channel")
    waiting.sort(key=lambda c: (-c.waited, c.call_id))  # longest-waiting first

    connected: list[tuple[str, str]] = []
    ringing: list[tuple[str, str]] = []
    legs: dict[str, Leg] = {}
    for uid, stat in stats.items():
        variables = _variables(stat)
        call_id, agent_id = variables.get("ROUTER_CALL", ""), variables.get("ROUTER_AGENT", "")
        if not call_id or not agent_id or uid == call_id:
            continue  # not a leg the router originated
        facts = Folded({**stat, **chans.get(uid, {})})
        up = listed(facts, "channelstate") == "6" or listed(facts, "channelstatedesc") == "Up"
        # Up and the caller bridged covers a leg caught between its answer
        # and its own BridgeEnter.
        talking = bridged(uid) or (up and bridged(call_id))
        (connected if talking else ringing).append((call_id, agent_id))
        legs[uid] = Leg(uid, call_id, agent_id, listed(facts, "channel"), answered=talking)
        caller = chans.get(call_id) or stats.get(call_id)
        if talking and caller is not None and call_id not in calls:
            calls[call_id] = listed(caller, "channel")  # so its Hangup reads as the call's end

    for uid in pending or ():
        leg = translator.originates.get(uid) if isinstance(uid, str) else None
        if leg is not None and uid not in legs:  # no response yet: it may be ringing
            legs[uid] = leg
            ringing.append((leg.call_id, leg.agent_id))

    agents: dict[str, tuple[bool, bool]] = {}
    for msg in devices or ():
        item = folded(msg)
        agent = translator.agent_of_device(listed(item, "device"))
        if agent is not None:
            agents[agent] = device_flags(listed(item, "state"))  # (busy, unreachable)

    translator.replace_state(calls, legs)
    return ev.PbxSnapshot(translator.pbx, tuple(waiting), tuple(connected), tuple(ringing),
                          tuple((agent, busy) for agent, (busy, _) in agents.items()),
                          unreachable=tuple(agent for agent, (_, unreachable) in agents.items() if unreachable))
