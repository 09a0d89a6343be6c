"""Channels, bridges and devices as Asterisk names and reports them.

- Uniqueid: `<unix time>.<n>` with one global counter, as Asterisk does
  (the time part is the channel's creation time, so it moves); an Originate
  `ChannelId` replaces it.
- Channel name: `<device>-<8 hex digits>` from one global counter shared by
  all devices (`PJSIP/trunk-0000000a`, `PJSIP/1001-0000000b`).
- Device: the endpoint, `PJSIP/1001`; its state is derived from the live
  channels on it, as chan_pjsip does: any channel ringing → RINGING, any
  other live channel (up, ring) → INUSE, both → RINGINUSE, none → NOT_INUSE.
- Bridge: a basic two-party bridge with a UUID, as `Bridge()` creates.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from router.sim.pbx.protocol import Pairs

DOWN, RING, RINGING, UP = 0, 4, 5, 6
STATE_DESC = {DOWN: "Down", RING: "Ring", RINGING: "Ringing", UP: "Up"}

CAUSE_TEXT = {0: "Unknown", 16: "Normal Clearing", 17: "User busy", 18: "No user responding",
              19: "User alerting, no answer", 21: "Call Rejected",
              34: "Circuit/channel congestion"}

UNKNOWN = "<unknown>"

NOT_INUSE, INUSE, RINGING_STATE, RINGINUSE = "NOT_INUSE", "INUSE", "RINGING", "RINGINUSE"


def cause_text(cause: int) -> str:
    return CAUSE_TEXT.get(cause, "Unknown")


@dataclass(eq=False)
class Bridge:
    uniqueid: str  # a UUID, as Asterisk's
    channels: list[Channel] = field(default_factory=list)

    def block(self) -> Pairs:
        """The bridge headers of BridgeCreate/Enter/Leave/Destroy (trace order)."""
        return [("BridgeUniqueid", self.uniqueid), ("BridgeType", "basic"),
                ("BridgeTechnology", "simple_bridge"), ("BridgeCreator", UNKNOWN),
                ("BridgeName", UNKNOWN), ("BridgeNumChannels", str(len(self.channels))),
                ("BridgeVideoSourceMode", "none")]


@dataclass(eq=False)
class Channel:
    name: str
    uniqueid: str
    device: str  # the endpoint, e.g. "PJSIP/1001"
    created: float  # simulated seconds
    state: int = DOWN
    caller_num: str = ""
    caller_name: str = ""
    connected_num: str = ""
    connected_name: str = ""
    context: str = ""
    exten: str = "s"
    priority: int = 1
    linkedid: str = ""
    app: str | None = None  # None until the channel runs an application
    appdata: str | None = None
    dnid: str = ""
    variables: dict[str, str] = field(default_factory=dict)
    bridge: Bridge | None = None
    # Simulator bookkeeping, never on the wire:
    flow: Any = None  # the object that runs this channel's dialplan (callers, legs, phones)
    call_id: str = ""  # the router call this channel belongs to
    agent_id: str = ""
    hangup_requested: bool = False
    alive: bool = True
    timers: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.linkedid = self.linkedid or self.uniqueid

    def block(self, prefix: str = "") -> Pairs:
        """The channel block every channel event carries (trace order);
        prefix "Dest" for the Dial* events."""
        p = prefix
        return [(f"{p}Channel", self.name), (f"{p}ChannelState", str(self.state)),
                (f"{p}ChannelStateDesc", STATE_DESC[self.state]),
                (f"{p}CallerIDNum", self.caller_num or UNKNOWN),
                (f"{p}CallerIDName", self.caller_name or UNKNOWN),
                (f"{p}ConnectedLineNum", self.connected_num or UNKNOWN),
                (f"{p}ConnectedLineName", self.connected_name or UNKNOWN),
                (f"{p}Language", "en"), (f"{p}AccountCode", ""),
                (f"{p}Context", self.context), (f"{p}Exten", self.exten),
                (f"{p}Priority", str(self.priority)), (f"{p}Uniqueid", self.uniqueid),
                (f"{p}Linkedid", self.linkedid)]

    def cancel_timers(self) -> None:
        for handle in self.timers.values():
            handle.cancel()
        self.timers.clear()


class Channels:
    """The live channels, in creation order, found by name or Uniqueid."""

    def __init__(self) -> None:
        self._live: dict[str, Channel] = {}  # uniqueid -> channel, creation order
        self._by_name: dict[str, Channel] = {}
        # device -> [ringing, in use] live channels. A device's state is
        # asked for on every channel change, and counting its channels each
        # time cost as many steps as the trunk has calls.
        self._counts: dict[str, list[int]] = {}
        self._uid_seq = 0
        self._name_seq = 0

    def new_uniqueid(self, wall: float) -> str:
        uid = f"{int(wall)}.{self._uid_seq}"
        self._uid_seq += 1
        return uid

    def new_name(self, device: str) -> str:
        name = f"{device}-{self._name_seq:08x}"
        self._name_seq += 1
        return name

    def add(self, chan: Channel) -> None:
        self._live[chan.uniqueid] = chan
        self._by_name[chan.name] = chan
        self._count(chan, 1)

    def remove(self, chan: Channel) -> None:
        if self._live.get(chan.uniqueid) is chan:
            self._count(chan, -1)
        self._live.pop(chan.uniqueid, None)
        self._by_name.pop(chan.name, None)

    def set_state(self, chan: Channel, state: int) -> None:
        """Every state change of a channel goes through here (the counts)."""
        live = self._live.get(chan.uniqueid) is chan
        if live:
            self._count(chan, -1)
        chan.state = state
        if live:
            self._count(chan, 1)

    def _count(self, chan: Channel, delta: int) -> None:
        if chan.state == DOWN:
            return
        counts = self._counts.setdefault(chan.device, [0, 0])
        counts[0 if chan.state == RINGING else 1] += delta

    def device_state(self, device: str) -> str:
        """The device state Asterisk reports for `device` from its live channels."""
        ringing, inuse = self._counts.get(device, (0, 0))
        if ringing and inuse:
            return RINGINUSE
        if inuse:
            return INUSE
        return RINGING_STATE if ringing else NOT_INUSE

    def get(self, name_or_id: str) -> Channel | None:
        """ast_channel_get_by_name: by name, then by Uniqueid."""
        return self._by_name.get(name_or_id) or self._live.get(name_or_id)

    def in_use(self, uniqueid: str) -> bool:
        return uniqueid in self._live

    def live(self) -> list[Channel]:
        return list(self._live.values())



def duration(seconds: float) -> str:
    """CoreShowChannel's Duration, HH:MM:SS."""
    s = max(0, int(seconds))
    return f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}"
