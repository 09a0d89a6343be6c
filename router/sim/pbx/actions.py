"""AMI actions after login, answered as Asterisk 22's manager.c answers
them (response texts and header order copied from the source and the
traces). Session actions (Login, Logoff, Challenge, Events) are in
server.py.

An action's effects on calls run on the next loop turn (`clock.soon`), so
its Response is on the wire before the events it causes, as with Asterisk,
where those events travel through stasis after the action returns.
"""

from __future__ import annotations

import asyncio
import re
from typing import TYPE_CHECKING

from router.sim.pbx import dialplan, listings
from router.sim.pbx.channels import Channel
from router.sim.pbx.legs import Originate
from router.sim.pbx.protocol import (Message, ast_true, error, list_ack, list_complete,
                                     parse_callerid, response, scan_int)

if TYPE_CHECKING:
    from router.sim.pbx.server import Session
    from router.sim.pbx.simulator import PbxSimulator

MAX_UNIQUEID = 149  # AST_MAX_PUBLIC_UNIQUEID


def originate_variables(values: list[str]) -> list[tuple[str, str]]:
    """Every `Variable:` header, each possibly `A=1,B=2` (astman_get_variables
    splits on commas, then on the first '='; parts without '=' are dropped)."""
    out = []
    for value in values:
        for part in value.split(","):
            name, sep, val = part.partition("=")
            if sep and name.strip():
                out.append((name.strip(), val))
    return out


def ping(pbx: PbxSimulator, session: Session, msg: Message) -> None:
    session.send(response(msg, "Success", None, ("Ping", "Pong"),
                          ("Timestamp", f"{pbx.clock.wall():.6f}")))


async def originate(pbx: PbxSimulator, session: Session, msg: Message) -> None:
    channel_id, other_id = msg.get("ChannelId"), msg.get("OtherChannelId")
    if len(channel_id) > MAX_UNIQUEID or len(other_id) > MAX_UNIQUEID:
        session.send(error(msg, f"Uniqueid length exceeds maximum of {MAX_UNIQUEID}"))
        return
    name = msg.get("Channel")
    if not name:
        session.send(error(msg, "Channel not specified"))
        return
    priority = 0
    if msg.get("Priority"):
        priority = scan_int(msg.get("Priority")) or 0  # labels are not supported
        if priority < 1:
            session.send(error(msg, "Invalid priority"))
            return
    timeout_ms = 30000
    if msg.get("Timeout"):
        parsed = scan_int(msg.get("Timeout"))
        if parsed is None:
            session.send(error(msg, "Invalid timeout"))
            return
        timeout_ms = parsed
    tech, sep, data = name.partition("/")
    if not sep:
        session.send(error(msg, "Invalid channel"))
        return
    cid_name, cid_num = parse_callerid(msg.get("CallerID"))
    context, exten, app = msg.get("Context"), msg.get("Exten"), msg.get("Application")
    if priority and not dialplan.exists(context, exten):
        session.send(error(msg, "Extension does not exist."))
        return
    asynchronous = ast_true(msg.get("Async"))
    if not asynchronous and not app and not priority:
        session.send(error(msg, "Originate with 'Exten' requires 'Context' and 'Priority'"))
        return
    o = Originate(action_id=msg.get("ActionID"), tech=tech, data=data, context=context,
                  exten=exten, priority=priority, application=app, appdata=msg.get("Data"),
                  cid_num=cid_num, cid_name=cid_name, timeout=timeout_ms / 1000.0,
                  channel_id=channel_id, variables=originate_variables(msg.get_all("Variable")))
    if asynchronous:
        session.send(response(msg, "Success", "Originate successfully queued"))
        pbx.legs.originate(o)
        return
    # Synchronous: the session waits for the answer (or failure), as
    # Asterisk's session thread does; other clients are not held up.
    o.done = asyncio.get_running_loop().create_future()
    pbx.legs.originate(o)
    answered = await o.done
    if answered:
        session.send(response(msg, "Success", "Originate successfully queued"))
    else:
        session.send(error(msg, "Originate failed"))


def hangup(pbx: PbxSimulator, session: Session, msg: Message) -> None:
    target = msg.get("Channel")
    if not target:
        session.send(error(msg, "No channel specified"))
        return
    cause = 0  # 0: do not set the channel's hangup cause
    text = msg.get("Cause")
    if text:
        try:
            cause = int(text)
        except ValueError:
            cause = 0
        if not 0 <= cause <= 127:
            cause = 0  # manager.c hangs up anyway, without a cause
    if target.startswith("/"):
        _hangup_regex(pbx, session, msg, target, cause)
        return
    chan = pbx.world.channels.get(target)
    if chan is None:
        session.send(error(msg, "No such channel"))
        return
    session.send(response(msg, "Success", "Channel Hungup"))
    pbx.clock.soon(_do_hangup, chan, cause)


def _hangup_regex(pbx: PbxSimulator, session: Session, msg: Message, target: str,
                  cause: int) -> None:
    if len(target) < 2 or not target.endswith("/"):
        session.send(error(msg, "Regex format invalid, Channel param should be /regex/"))
        return
    try:
        pattern = re.compile(target[1:-1])
    except re.error:
        session.send(error(msg, f"Regex compile failed on: {target}"))
        return
    session.send(list_ack(msg, "Channels hung up will follow"))
    matched = [c for c in pbx.world.channels.live() if pattern.search(c.name)]
    action_id = msg.get("ActionID")
    for chan in matched:
        pbx.clock.soon(_do_hangup, chan, cause)
        pairs = [("Event", "ChannelHungup"), ("Channel", chan.name)]
        session.send(pairs + ([("ActionID", action_id)] if action_id else []))
    session.send(list_complete(msg, "ChannelsHungupListComplete", len(matched)))


def _do_hangup(chan: Channel, cause: int) -> None:
    if chan.alive and not chan.hangup_requested:
        chan.hangup_requested = True
        chan.flow.hung_up_by_action(chan, cause)


def setvar(pbx: PbxSimulator, session: Session, msg: Message) -> None:
    name, value, target = msg.get("Variable"), msg.get("Value"), msg.get("Channel")
    if not name:
        session.send(error(msg, "No variable specified"))
        return
    if not target:
        pbx.world.globals[name] = value
        session.send(response(msg, "Success", "Variable Set"))
        return
    chan = pbx.world.channels.get(target)
    if chan is None:
        session.send(error(msg, "No such channel"))
        return
    # Set at once (a Redirect right behind it must see it), announced after the response.
    pbx.world.set_var(chan, name, value, emit=False)
    session.send(response(msg, "Success", "Variable Set"))
    pbx.clock.soon(lambda: chan.alive and pbx.world.chan_event(
        "VarSet", chan, ("Variable", name), ("Value", value), category="dialplan"))


def getvar(pbx: PbxSimulator, session: Session, msg: Message) -> None:
    name, target = msg.get("Variable"), msg.get("Channel")
    if not name:
        session.send(error(msg, "No variable specified"))
        return
    chan = None
    if target:
        chan = pbx.world.channels.get(target)
        if chan is None:
            session.send(error(msg, "No such channel"))
            return
    # Dialplan functions such as CALLERID(num) are not emulated: empty.
    if name.endswith(")"):
        value = ""
    elif chan is not None:
        value = chan.variables.get(name, pbx.world.globals.get(name, ""))
    else:
        value = pbx.world.globals.get(name, "")
    session.send(response(msg, "Success", None, ("Variable", name), ("Value", value)))


def redirect(pbx: PbxSimulator, session: Session, msg: Message) -> None:
    target, context = msg.get("Channel"), msg.get("Context")
    exten, priority_text = msg.get("Exten"), msg.get("Priority")
    extra = msg.get("ExtraChannel")
    for value, text in ((target, "Channel not specified"), (context, "Context not specified"),
                        (exten, "Exten not specified"), (priority_text, "Priority not specified")):
        if not value:
            session.send(error(msg, text))
            return
    priority = scan_int(priority_text) or 0
    if priority < 1:
        session.send(error(msg, "Priority is invalid"))
        return
    chans = []
    for name, label in ((target, "Channel"), (extra, "ExtraChannel")):
        if not name:
            continue
        chan = pbx.world.channels.get(name)
        if chan is None:
            session.send(error(msg, f"{label} does not exist: {name}"))
            return
        if chan.hangup_requested or not chan.alive:
            which = "channel" if label == "Channel" else "extra channel"
            session.send(error(msg, f"Redirect failed, {which} not up."))
            return
        chans.append(chan)
    # ExtraContext/ExtraExten/ExtraPriority default to the first target's.
    dests = [(context, exten, priority),
             (msg.get("ExtraContext") or context, msg.get("ExtraExten") or exten,
              scan_int(msg.get("ExtraPriority")) or priority)]
    session.send(response(msg, "Success",
                          "Dual Redirect successful" if len(chans) == 2 else "Redirect successful"))
    for chan, (ctx, ext, pri) in zip(chans, dests):
        pbx.clock.soon(_do_redirect, chan, ctx, ext, pri)


def _do_redirect(chan: Channel, context: str, exten: str, priority: int) -> None:
    if chan.alive and not chan.hangup_requested:
        chan.flow.redirect(chan, context, exten, priority)


#: lower-cased action name -> handler (sync or async)
HANDLERS = {
    "ping": ping,
    "originate": originate,
    "hangup": hangup,
    "setvar": setvar,
    "getvar": getvar,
    "redirect": redirect,
    "coreshowchannels": listings.core_show_channels,
    "status": listings.status,
    "devicestatelist": listings.device_state_list,
}
