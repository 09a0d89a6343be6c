"""One AMI connection to one Asterisk, on panoramisk, with the workarounds
for its known faults (../shared/FIELD-NOTES.md):

- framing and UTF-8 decoding are ours (router.ami.framing): a Chinese name
  split across two TCP reads stays intact;
- nothing raised while handling a message reaches panoramisk (an exception
  there would close the connection and drop the rest of the chunk);
- a watchdog pings and, when no answer comes in time, closes the transport
  so that panoramisk reconnects (its own ping never checks the answer);
- no action is ever re-sent after a reconnect (an Originate sent twice
  rings two agents): every action we use is "forgetable";
- every action is bounded by `asyncio.wait_for` (some replies never
  resolve);
- a failed login is reported (panoramisk retries silently forever), and
  `close()` really stops reconnecting.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from typing import Any, Callable, Collection

from panoramisk import Manager
from panoramisk.ami_protocol import AMIProtocol

from router.ami import probe
from router.ami.framing import AmiEvent, Framer, FramingError, Headers, to_event
from router.ami.trace import to_message

log = logging.getLogger("router.ami")


class _Redact(logging.Filter):
    """Last line of defence: panoramisk logs whole actions in a few places
    (a failed send, an action queued while disconnected); a record on this
    logger that contains an AMI secret has it masked."""

    secrets: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        if self.secrets:
            text = record.getMessage()
            if any(secret in text for secret in self.secrets):
                # Longest first: a shorter secret inside a longer one must not
                # leave the rest of the longer one showing.
                for secret in sorted(self.secrets, key=len, reverse=True):
                    text = text.replace(secret, "********")
                record.msg, record.args = text, ()
        return True


_REDACT = _Redact()
log.addFilter(_REDACT)

#: How often replies past their deadline are given up on (send_then).
REPLY_SWEEP = 0.25

#: Never re-send any of these after a reconnect: state is rebuilt instead.
FORGETABLE = ("login", "logoff", "ping", "originate", "hangup", "redirect", "setvar", "getvar",
              "coreshowchannels", "status", "devicestatelist", "command")


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
        self._filtering = False  # panoramisk sets `factory` (our Manager) only after this

    def data_received(self, data: bytes) -> None:
        if probe.ACTIVE is not None:  # benchmarks only (router/ami/probe.py)
            probe.ACTIVE.received()
        if not self._filtering and getattr(self.factory, "link", None) is not None:
            self._framer.drop = self.factory.link.drop_events
            self._filtering = True
        try:
            messages = self._framer.feed(data)
        except FramingError as err:
            self.log.error("AMI: %s; dropping the connection", err)
            self.transport.close()
            return
        if self.version is None and self._framer.banner is not None:
            self.version = self._framer.banner
        link = getattr(self.factory, "link", None)
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


class _Manager(Manager):
    """panoramisk's Manager, told about our Link."""

    link: "Link"

    def connect(self, *args, **kwargs):
        if self.link.closing:  # panoramisk's close() leaves a reconnect pending
            return None
        return super().connect(*args, **kwargs)

    def login(self, future):
        try:
            ok = super().login(future)
        except Exception as err:  # connection lost mid-login, cancelled, ...
            log.warning("AMI %s: login did not complete: %s", self.link.name, err)
            return False
        if not ok:
            self.link.login_failed(future.result())
        return ok


class Link:
    """Connection to one PBX. Calls `on_message(link, message)` for every
    AMI event and `on_up(link)` after every successful login."""

    def __init__(self, name: str, host: str, port: int, username: str, secret: str, *,
                 on_message: Callable[["Link", Any], None], on_up: Callable[["Link"], Any],
                 on_down: Callable[["Link"], Any] = lambda link: None,
                 action_timeout: float = 5.0, ping_interval: float = 5.0, ping_timeout: float = 3.0,
                 reconnect: float = 1.0, drop_events: Collection[str] | None = None) -> None:
        """drop_events: lower-case names of the AMI events `on_message` has
        no use for, dropped unparsed (None: none)."""
        self.name = name
        if secret:
            _REDACT.secrets.add(secret)
        self.drop_events = frozenset(drop_events) if drop_events is not None else None
        self.closing = False
        self.up = False
        self.action_timeout = action_timeout
        self.ping_interval, self.ping_timeout = ping_interval, ping_timeout
        self._on_message, self._on_up, self._on_down = on_message, on_up, on_down
        self._watchdog: asyncio.Task | None = None
        # Replies send_then waits for: timeout -> (deadline, future, action, timeout), in order.
        self._deadlines: dict[float, deque] = {}
        self._sweeper: asyncio.TimerHandle | None = None
        self.manager = _Manager(host=host, port=port, username=username, secret=secret,
                                protocol_factory=RouterProtocol, forgetable_actions=FORGETABLE,
                                ping_delay=10 ** 9, ping_interval=10 ** 9,  # our watchdog pings
                                reconnect_timeout=max(1, round(reconnect)), log=log,
                                on_login=self._logged_in, on_disconnect=self._disconnected)
        self.manager.link = self
        self.manager.register_event("*", self._dispatch)

    # -- lifecycle
    async def start(self) -> None:
        self.manager.loop = asyncio.get_running_loop()
        self.manager.connect()
        self._watchdog = asyncio.create_task(self._watch(), name=f"ami-watchdog-{self.name}")

    async def close(self) -> None:
        self.closing = True
        if self._watchdog:
            self._watchdog.cancel()
        if self._sweeper is not None:
            self._sweeper.cancel()
            self._sweeper = None
        self._deadlines.clear()
        self.manager.close()
        self.up = False

    def _logged_in(self, manager) -> None:
        self.up = True
        log.info("AMI %s: logged in (AMI %s)", self.name, getattr(manager.protocol, "version", "?"))
        result = self._on_up(self)
        if asyncio.iscoroutine(result):
            asyncio.ensure_future(result)

    def login_failed(self, response) -> None:
        log.error("AMI %s: login refused: %s", self.name, response.get("Message", "no reason given"))

    def _disconnected(self, manager, exc) -> None:
        if self.up:
            log.warning("AMI %s: connection lost; reconnecting", self.name)
        self.up = False
        self._on_down(self)

    def _dispatch(self, manager, message) -> None:
        self.deliver(message)

    def deliver(self, message) -> None:
        """Hand one AMI event to `on_message`; nothing it raises escapes."""
        try:
            self._on_message(self, message)
        except Exception:
            log.exception("AMI %s: error handling %s", self.name, message.get("Event"))

    async def _watch(self) -> None:
        """Ping; no answer in time means a hung Asterisk: drop the
        connection so that panoramisk reconnects."""
        while True:
            await asyncio.sleep(self.ping_interval)
            if self.manager.protocol is None:
                continue
            if not self.up:
                self._check_login()
                continue
            try:
                await asyncio.wait_for(self.manager.send_action({"Action": "Ping"}), self.ping_timeout)
            except (asyncio.TimeoutError, Exception) as err:
                log.error("AMI %s: no answer to Ping within %.1fs (%s); reconnecting",
                          self.name, self.ping_timeout, type(err).__name__)
                self.up = False
                transport = getattr(self.manager.protocol, "transport", None)
                if transport is not None:
                    transport.close()

    def _check_login(self) -> None:
        """Connected but not logged in for longer than a ping round: a hung
        Asterisk (or a half-open TCP connection) that accepted the
        connection and answers nothing. Drop it; panoramisk reconnects."""
        protocol = self.manager.protocol
        transport = getattr(protocol, "transport", None)
        since = getattr(protocol, "connected_at", None)
        if transport is None or transport.is_closing() or since is None:
            return
        limit = self.ping_interval + self.ping_timeout
        if asyncio.get_running_loop().time() - since > limit:
            log.error("AMI %s: no answer to Login within %.1fs; reconnecting", self.name, limit)
            transport.close()

    # -- actions
    async def send(self, action: dict, timeout: float | None = None):
        """Send one action and wait (bounded) for its reply. Returns the
        reply, or None when the link is down or no reply came in time."""
        return await self.reply(action, self.send_now(action), timeout)

    def send_now(self, action: dict):
        """Write one action to the socket before returning (no trip through
        the event loop: an Originate goes out in the same turn as the event
        that decided it). Returns the future of its reply for `reply`, or
        None when the link is down."""
        if not self.up or self.manager.protocol is None:
            log.warning("AMI %s: link down; not sent: %s", self.name, action.get("Action"))
            return None
        try:
            return self.manager.send_action(dict(action))
        except Exception as err:
            log.error("AMI %s: %s failed: %s", self.name, action.get("Action"), err)
            return None

    def send_then(self, action: dict, then: Callable[[Any], None] | None = None,
                  timeout: float | None = None) -> None:
        """Write one action now, as `send_now`; when its reply comes call
        `then(reply)`, or `then(None)` when the link is down, the action
        failed or no reply came within `timeout` (up to REPLY_SWEEP later;
        logged as `reply` does).

        Why not a task awaiting `send`: the router sends an Originate or a
        Hangup for nearly every call, and a task plus `wait_for` per action
        (or even a timer each) was a large part of the cost of an event
        (bench/RESULTS.md). `then` runs from the event loop, never inside
        this call, and not at all once the link is closed."""
        future = self.send_now(action)
        loop = asyncio.get_running_loop()
        if future is None:
            if then is not None:
                loop.call_soon(self._then, then, None)
            return
        limit = timeout or self.action_timeout
        # One queue per timeout value: deadlines in it come in order.
        self._deadlines.setdefault(limit, deque()).append((loop.time() + limit, future, action.get("Action"), limit))
        if self._sweeper is None:
            self._sweeper = loop.call_later(REPLY_SWEEP, self._sweep)

        def done(f: asyncio.Future) -> None:
            reply = None
            if not f.cancelled():
                if f.exception() is not None:
                    log.error("AMI %s: %s failed: %s", self.name, action.get("Action"), f.exception())
                else:
                    reply = f.result()
            if then is not None:
                self._then(then, reply)

        future.add_done_callback(done)

    def _sweep(self) -> None:
        """Give up on replies past their deadline (their `then` gets None)."""
        loop = asyncio.get_running_loop()
        self._sweeper = None
        now = loop.time()
        for queue in self._deadlines.values():
            while queue and (queue[0][1].done() or queue[0][0] <= now):
                _, future, name, limit = queue.popleft()
                if not future.done():
                    log.error("AMI %s: no reply to %s within %.1fs", self.name, name, limit)
                    future.cancel()
        if any(self._deadlines.values()):
            self._sweeper = loop.call_later(REPLY_SWEEP, self._sweep)

    def _then(self, then: Callable[[Any], None], reply) -> None:
        if self.closing:
            return
        try:
            then(reply)
        except Exception:
            log.exception("AMI %s: error handling a reply", self.name)

    async def reply(self, action: dict, future, timeout: float | None = None):
        """Wait (bounded) for the reply of an action `send_now` wrote."""
        if future is None:
            return None
        try:
            return await asyncio.wait_for(future, timeout or self.action_timeout)
        except asyncio.TimeoutError:
            log.error("AMI %s: no reply to %s within %.1fs", self.name, action.get("Action"),
                      timeout or self.action_timeout)
        except Exception as err:
            log.error("AMI %s: %s failed: %s", self.name, action.get("Action"), err)
        return None
