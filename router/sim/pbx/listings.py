"""The listing actions a router uses to rebuild its state after a
(re)connect: CoreShowChannels, Status (with `Variables:`), DeviceStateList.

Formats as in resync_snapshot.ami: a `Response: Success` with `EventList:
start`, one event per item carrying the ActionID (CoreShowChannel and the
listed DeviceStateChange have no Privilege; Status has `Privilege: Call`
and its ActionID last, after the `Variable: NAME=value` lines), then a
`...Complete` event with `EventList: Complete` and `ListItems` (Status adds
`Items`). Listing events go to the asking client only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from router.sim.pbx.channels import duration
from router.sim.pbx.protocol import Message, ast_true, error, list_ack, list_complete

if TYPE_CHECKING:
    from router.sim.pbx.server import Session
    from router.sim.pbx.simulator import PbxSimulator


def core_show_channels(pbx: PbxSimulator, session: Session, msg: Message) -> None:
    session.send(list_ack(msg, "Channels will follow"))
    action_id = msg.get("ActionID")
    now = pbx.clock.now()
    chans = pbx.world.channels.live()
    for chan in chans:
        pairs = [("Event", "CoreShowChannel")] + ([("ActionID", action_id)] if action_id else [])
        session.send(pairs + chan.block() + [
            ("Application", chan.app or ""), ("ApplicationData", chan.appdata or ""),
            ("Duration", duration(now - chan.created)),
            ("BridgeId", chan.bridge.uniqueid if chan.bridge else "")])
    session.send(list_complete(msg, "CoreShowChannelsComplete", len(chans)))


def status(pbx: PbxSimulator, session: Session, msg: Message) -> None:
    target = msg.get("Channel")
    if target:
        chan = pbx.world.channels.get(target)
        if chan is None:
            session.send(error(msg, "No such channel"))
            return
        chans = [chan]
    else:
        chans = pbx.world.channels.live()
    names = [v.strip() for v in msg.get("Variables").split(",") if v.strip()]
    all_variables = ast_true(msg.get("AllVariables"))
    session.send(list_ack(msg, "Channel status will follow"))
    action_id = msg.get("ActionID")
    now = pbx.clock.now()
    for chan in chans:
        # An unset variable prints as "(null)": manager.c formats a NULL with %s.
        variables = [("Variable", f"{n}={chan.variables.get(n, pbx.world.globals.get(n, '(null)'))}")
                     for n in names]
        if all_variables:
            variables += [("Variable", f"{n}={v}") for n, v in chan.variables.items()]
        session.send([("Event", "Status"), ("Privilege", "Call")] + chan.block() + [
            ("Type", "PJSIP"), ("DNID", chan.dnid),
            ("EffectiveConnectedLineNum", chan.connected_num or "<unknown>"),
            ("EffectiveConnectedLineName", chan.connected_name or "<unknown>"),
            ("TimeToHangup", "0"), ("BridgeID", chan.bridge.uniqueid if chan.bridge else ""),
            ("Application", chan.app or "(null)"), ("Data", chan.appdata or "(null)"),
            ("Nativeformats", "(ulaw)"), ("Readformat", "ulaw"), ("Readtrans", ""),
            ("Writeformat", "ulaw"), ("Writetrans", ""), ("Callgroup", "0"),
            ("Pickupgroup", "0"), ("Seconds", str(int(now - chan.created)))]
            + variables + ([("ActionID", action_id)] if action_id else []))
    session.send(list_complete(msg, "StatusComplete", len(chans)) + [("Items", str(len(chans)))])


def device_state_list(pbx: PbxSimulator, session: Session, msg: Message) -> None:
    session.send(list_ack(msg, "Device State Changes will follow"))
    action_id = msg.get("ActionID")
    for device, state in pbx.world.devices.items():
        session.send([("Event", "DeviceStateChange")]
                     + ([("ActionID", action_id)] if action_id else [])
                     + [("Device", device), ("State", state)])
    session.send(list_complete(msg, "DeviceStateListComplete", len(pbx.world.devices)))
