"""panoramisk's AMI protocol with the router's framing, decoding and
writing (router.ami.link uses it for every connection):

- framing and UTF-8 decoding are ours (router.ami.framing): a Chinese name
  split across two TCP reads stays intact; a message too large drops the
  connection instead of eating memory;
- a plain event (no ActionID) goes straight to the Link as an AmiEvent;
  replies and listing items go through panoramisk, which resolves the
  futures of the actions they answer;
- nothing raised while handling a message reaches panoramisk (an exception
  there would close the connection and drop the rest of the chunk);
- Originate and Hangup are written without panoramisk's Action objects, and
  the actions decided while one read is handled go out in one write.
"""

from __future__ import annotations

import asyncio

from panoramisk.ami_protocol import AMIProtocol

from router.ami import probe
from router.ami.framing import AmiEvent, Framer, FramingError, Headers, to_event, to_message

#: Actions answered by a single Response (an async Originate's outcome comes
#: later as an OriginateResponse event, handled as an event): sent by
#: RouterProtocol._send_simple.
_SIMPLE = frozenset({"originate", "hangup"})


class _Simple:
    """What panoramisk's protocol keeps in `responses` for an action sent by
    `_send_simple`: the first message with its ActionID completes it."""

    __slots__ = ("name", "id", "future")

    def __init__(self, name: str, action_id: str, future: asyncio.Future) -> None:
        self.name, self.id, self.future = name, action_id, future

    @property
    def action_id(self) -> str:
        return self.id

    def __getitem__(self, key: str) -> str:  # panoramisk's close() reads action["action"]
        if key.lower() != "action":
            raise KeyError(key)
        return self.name

    def add_message(self, message) -> bool:
        if not self.future.done():
            self.future.set_result(message)
        return True


def incoming(headers: Headers):
    """What the router makes of one framed message: a plain event (no
    ActionID; not Shutdown, which panoramisk acts on) becomes an AmiEvent
    that goes straight to the router, since nothing of panoramisk's waits
    for it; anything else a panoramisk Message, for panoramisk to match
    with the action it answers."""
    if headers and headers[0][0].lower() == "event":
        event = to_event(headers)
        if "actionid" not in event and str(event["event"]).lower() != "shutdown":
            return event
    return to_message(headers)


class RouterProtocol(AMIProtocol):
    """panoramisk's protocol with our framing and decoding."""

    def connection_made(self, transport) -> None:
        super().connection_made(transport)
        self._simple_seq = 0
        self._out: list[bytes] | None = None  # actions held while a read is handled
        self._probed: list = []
        self._framer = Framer()
        self.connected_at = asyncio.get_running_loop().time()

    def data_received(self, data: bytes) -> None:
        if probe.ACTIVE is not None:  # benchmarks only (router/ami/probe.py)
            probe.ACTIVE.received()
        link = getattr(self.factory, "link", None)  # panoramisk sets `factory` after connection_made
        if link is not None:
            self._framer.drop = link.drop_events
        try:
            messages = self._framer.feed(data)
        except FramingError as err:
            self.log.error("AMI: %s; dropping the connection", err)
            self.transport.close()
            return
        if self.version is None and self._framer.banner is not None:
            self.version = self._framer.banner
        # Actions decided while this read is handled are written together
        # when it is done: one write (one system call) instead of one per
        # Originate or Hangup. The read's handling is all that delays them,
        # and the latency benchmark measures up to this write.
        self._out, self._probed = [], []
        try:
            for headers in messages:
                message = incoming(headers)
                if isinstance(message, AmiEvent) and link is not None:
                    link.deliver(message)
                    continue
                if "event" not in message and "response" not in message:
                    continue
                try:
                    self.handle_message(message)
                except Exception:  # never let one message take the connection down
                    self.log.exception("AMI: error handling %r", message)
        finally:
            self._flush(corked=False)

    def _flush(self, corked: bool) -> None:
        """Write the actions held back so far; keep holding if `corked`."""
        out, probed = self._out, self._probed
        self._out, self._probed = ([], []) if corked else (None, [])
        if out:
            try:
                self.transport.write(b"".join(out))
            except Exception as err:  # pragma: no cover (a closed transport only logs)
                self.log.error("AMI: could not send %d action(s): %s", len(out), err)
        if probe.ACTIVE is not None:  # benchmarks only: the Originates are written now
            for data in probed:
                probe.ACTIVE.sent(data)

    def send(self, data, as_list=False):
        simple = not as_list and isinstance(data, dict) and str(data.get("Action", "")).lower() in _SIMPLE
        if simple:
            future = self._send_simple(data)
            if self._out is not None:  # held until the read is handled
                self._probed.append(data)
                return future
        else:
            if self._out:  # what was held goes first: actions stay in order
                self._flush(corked=True)
            future = super().send(data, as_list)
        if probe.ACTIVE is not None:  # benchmarks only: the Originate is written now
            probe.ACTIVE.sent(data)
        return future

    def _send_simple(self, data: dict) -> asyncio.Future:
        """panoramisk's send for an action answered by one Response, without
        its Action object (a case-insensitive dict, a sorted copy to print,
        an id generator): the router sends one or two for nearly every call.
        The reply reaches the future through panoramisk's `responses`, as
        any other."""
        self._simple_seq += 1
        action_id = str(data.get("ActionID") or f"router-{self._simple_seq}")
        lines = []
        for key, value in data.items():
            if key == "ActionID":
                continue
            for item in value if isinstance(value, (list, tuple)) else (value,):
                lines.append(f"{key}: {item}")
        lines.append(f"ActionID: {action_id}\r\n\r\n")
        pending = _Simple(str(data.get("Action")), action_id, asyncio.get_running_loop().create_future())
        self.responses[action_id] = pending
        payload = "\r\n".join(lines).encode(getattr(self, "encoding", None) or "utf-8")
        if self._out is not None:
            self._out.append(payload)
            return pending.future
        try:
            self.transport.write(payload)
        except Exception as err:  # pragma: no cover (a closed transport only logs)
            self.log.error("AMI: could not send %s: %s", pending.name, err)
        return pending.future

    def handle_message(self, message) -> None:
        # An async Originate's OriginateResponse would go only to the
        # action's future, and whoever awaits it runs after the rest of this
        # chunk (say, the leg's Hangup) was dispatched. Dispatch it in stream
        # order like any event; let the future resolve too, quietly.
        if message.get("Event") == "OriginateResponse":
            self.factory.dispatch(message)
            if message.action_id in self.responses:
                super().handle_message(message)
            return
        super().handle_message(message)
