"""The PBX's state and the primitives that change it.

Each primitive changes the model and emits the events a real Asterisk 22
emits for that change, in the order of the recorded traces, so the call
flows (callers.py, legs.py, phones.py) read as sequences of telephony steps
and cannot forget an event: creating a channel always sends Newchannel,
hanging one up always sends Hangup with Cause and Cause-txt and then the
device's DeviceStateChange, and so on.
"""

from __future__ import annotations

import random
import uuid
from typing import Callable

from router.sim import traffic
from router.sim.pbx.channels import NOT_INUSE, Bridge, Channel, Channels, cause_text
from router.sim.pbx.clock import Clock
from router.sim.pbx.protocol import Pairs, encode
from router.sim.pbx.records import CallRecord

Broadcast = Callable[[bytes, str], None]


class World:
    def __init__(self, clock: Clock, rng: random.Random, behaviour: traffic.Behaviour,
                 broadcast: Broadcast) -> None:
        self.clock = clock
        self.rng = rng
        self.behaviour = behaviour
        self.channels = Channels()
        self.devices: dict[str, str] = {}  # device -> last state reported
        self.records: dict[str, CallRecord] = {}
        self.globals: dict[str, str] = {}
        self.ghost_calls = 0
        self.ghost_races = 0  # answers that crossed the caller's hang-up on the wire
        self.ghost_outages = 0  # the caller left while no router could hear it
        self.outage_since: float | None = None  # no AMI client logged in since
        self.outages: list[tuple[float, float]] = []  # closed outages (start, end)
        self.double_connects = 0
        self.anomalies: list[str] = []  # things a correct router never causes
        self._broadcast = broadcast

    # -- events
    def emit(self, event: str, category: str, pairs: Pairs) -> None:
        """Send an event to every logged-in client whose mask takes
        `category`; Privilege reads "<category>,all" as in the traces."""
        data = encode([("Event", event), ("Privilege", f"{category},all"), *pairs])
        self._broadcast(data, category)

    def chan_event(self, event: str, chan: Channel, *extra: tuple[str, str],
                   category: str = "call") -> None:
        self.emit(event, category, chan.block() + list(extra))

    def anomaly(self, text: str) -> None:
        self.anomalies.append(f"{self.clock.now():.1f}s {text}")

    # -- channels
    def new_channel(self, device: str, *, state: int, context: str, exten: str, flow,
                    uniqueid: str = "", caller: tuple[str, str] = ("", "")) -> Channel:
        chan = Channel(name=self.channels.new_name(device),
                       uniqueid=uniqueid or self.channels.new_uniqueid(self.clock.wall()),
                       device=device, created=self.clock.now(), state=state,
                       caller_num=caller[0], caller_name=caller[1], context=context,
                       exten=exten, flow=flow)
        self.channels.add(chan)
        self.chan_event("Newchannel", chan)
        self.update_device(device)
        return chan

    def set_state(self, chan: Channel, state: int) -> None:
        self.channels.set_state(chan, state)
        self.chan_event("Newstate", chan)
        self.update_device(chan.device)

    def run_app(self, chan: Channel, app: str, data: str, *, context: str | None = None,
                exten: str | None = None, priority: int | None = None) -> None:
        """The channel moves to (context, exten, priority) and runs `app`."""
        if context is not None:
            chan.context = context
        if exten is not None:
            chan.exten = exten
        if priority is not None:
            chan.priority = priority
        chan.app, chan.appdata = app, data
        self.chan_event("Newexten", chan, ("Extension", chan.exten), ("Application", app),
                        ("AppData", data), category="dialplan")

    def set_var(self, chan: Channel, name: str, value: str, *, emit: bool = True) -> None:
        chan.variables[name] = value
        if emit:
            self.chan_event("VarSet", chan, ("Variable", name), ("Value", value),
                            category="dialplan")

    def later(self, chan: Channel, key: str, delay: float, fn: Callable, *args) -> None:
        """A timer owned by the channel: replaced by a new one with the same
        key, cancelled when the channel hangs up."""
        old = chan.timers.pop(key, None)
        if old is not None:
            old.cancel()
        chan.timers[key] = self.clock.later(delay, fn, *args)

    def cancel(self, chan: Channel, *keys: str) -> None:
        for key in keys:
            handle = chan.timers.pop(key, None)
            if handle is not None:
                handle.cancel()

    def in_outage(self, when: float, lead: float = 0.0) -> bool:
        """Was no AMI client logged in at `when` (simulated seconds), or did
        an outage begin less than `lead` seconds after it (too soon for an
        action the router sent in answer to get through)?"""
        if self.outage_since is not None and when >= self.outage_since - lead:
            return True
        return any(start - lead <= when <= end for start, end in self.outages)

    def hangup(self, chan: Channel, cause: int, *, request: str | None = None,
               request_cause: int = 16) -> None:
        """The channel goes away: optional HangupRequest (the far end hung
        up) or SoftHangupRequest (AMI or dialplan), then Hangup, then the
        device's new state. The owning flow hears about it in between (an
        OriginateResponse follows the Hangup, as in agent_no_answer.ami)."""
        if not chan.alive:
            return
        if request:
            self.chan_event(request, chan, ("Cause", str(request_cause)))
        if chan.bridge is not None:
            self._leave(chan)
        if chan.flow is not None:
            chan.flow.hanging_up(chan)  # hangup handlers run before the Hangup event
        chan.alive = False
        chan.cancel_timers()
        self.chan_event("Hangup", chan, ("Cause", str(cause)), ("Cause-txt", cause_text(cause)))
        self.channels.remove(chan)
        if chan.flow is not None:
            chan.flow.ended(chan)
        self.update_device(chan.device)

    def dialplan_hangup(self, chan: Channel) -> None:
        """The channel reaches `Hangup()` at its next priority."""
        self.run_app(chan, "Hangup", "", priority=chan.priority + 1)
        self.hangup(chan, 16, request="SoftHangupRequest")

    # -- devices
    def update_device(self, device: str) -> None:
        state = self.channels.device_state(device)
        if self.devices.get(device, NOT_INUSE) != state:
            self.devices[device] = state
            self.emit("DeviceStateChange", "call", [("Device", device), ("State", state)])

    def device_busy(self, device: str) -> bool:
        return self.channels.device_state(device) != NOT_INUSE

    # -- bridges
    def bridge(self, first: Channel, second: Channel) -> Bridge:
        """`Bridge()` on `second` pulls `first` in: BridgeCreate, then
        BridgeEnter for each, the joining leg taking the older Linkedid."""
        # The bridge id comes from the seeded generator: same seed, same ids.
        bridge = Bridge(str(uuid.UUID(int=self.rng.getrandbits(128), version=4)))
        self.emit("BridgeCreate", "call", bridge.block())
        second.linkedid = first.linkedid
        for chan in (first, second):
            bridge.channels.append(chan)
            chan.bridge = bridge
            self.emit("BridgeEnter", "call", bridge.block() + chan.block())
        return bridge

    def end_bridge(self, leaver: Channel, cause: int, request: str) -> None:
        """`leaver` hangs up while bridged (request: HangupRequest when its
        phone hung up, SoftHangupRequest for an AMI Hangup); then the others
        end (Flow.bridge_ended). Order as in router_flow_basic.ami."""
        bridge = leaver.bridge
        if bridge is None:
            self.hangup(leaver, cause, request=request, request_cause=cause or 16)
            return
        self.chan_event(request, leaver, ("Cause", str(cause or 16)))
        self._leave(leaver)
        if request != "SoftHangupRequest":
            self.chan_event("SoftHangupRequest", leaver, ("Cause", "16"))
        self.hangup(leaver, cause)
        self._dissolve(bridge)

    def break_bridge(self, chan: Channel) -> None:
        """`chan` is taken out of its bridge alive (a Redirect); the other
        side's `Bridge()` returns and it hangs up."""
        bridge = chan.bridge
        if bridge is not None:
            self._leave(chan)
            self._dissolve(bridge)

    def _dissolve(self, bridge: Bridge) -> None:
        for other in list(bridge.channels):
            self._leave(other)
            other.flow.bridge_ended(other)
        self.emit("BridgeDestroy", "call", bridge.block())

    def _leave(self, chan: Channel) -> None:
        bridge = chan.bridge
        if bridge is None:
            return
        bridge.channels.remove(chan)
        chan.bridge = None
        self.emit("BridgeLeave", "call", bridge.block() + chan.block())


class Flow:
    """What runs a channel's dialplan. Subclasses (callers, legs, phones)
    override what their channels do on an AMI Hangup or Redirect."""

    def __init__(self, world: World) -> None:
        self.world = world

    def hung_up_by_action(self, chan: Channel, cause: int) -> None:
        """AMI Hangup: SoftHangupRequest (Cause given, else 16) and Hangup
        with the given Cause (0 "Unknown" without one, as in the traces)."""
        self.world.end_bridge(chan, cause, "SoftHangupRequest")

    def redirect(self, chan: Channel, context: str, exten: str, priority: int) -> None:
        """Redirect somewhere this flow has no dialplan for: the channel
        finds nothing to run there and hangs up."""
        self.world.anomaly(f"redirect of {chan.name} to {context},{exten},{priority} "
                           "which the simulated dialplan does not handle")
        self.world.break_bridge(chan)
        self.world.run_app(chan, "Hangup", "", context=context, exten=exten, priority=priority)
        self.world.hangup(chan, 16, request="SoftHangupRequest")

    def bridge_ended(self, chan: Channel) -> None:
        """The other side left the bridge: `Bridge()` returns and the
        dialplan goes on to `Hangup()`."""
        self.world.dialplan_hangup(chan)

    def hanging_up(self, chan: Channel) -> None:
        """Called as the channel hangs up, before its Hangup event (where
        Asterisk runs a channel's hangup handlers)."""

    def ended(self, chan: Channel) -> None:
        """Called once the channel is gone."""
