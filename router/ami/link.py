"""One AMI connection to one Asterisk, on panoramisk, with the workarounds
for its known faults (../shared/FIELD-NOTES.md):

- framing, UTF-8 decoding and the writing of actions are ours
  (router.ami.protocol): a Chinese name split across two TCP reads stays
  intact, and nothing raised while handling a message reaches panoramisk;
- a watchdog pings and, when no answer comes in time, closes the transport
  so that panoramisk reconnects (its own ping never checks the answer);
- no action is ever re-sent after a reconnect (an Originate sent twice
  rings two agents): every action we use is "forgetable";
- every action's reply is waited for a bounded time (`reply`,
  `send_then`: some replies never resolve);
- a failed login is reported (panoramisk retries silently forever), and
  `close()` really stops reconnecting;
- reconnecting is ours too: panoramisk logs "Not able to reconnect" on
  every attempt, names neither the PBX nor the cause, and retries a refused
  login every 2 s for ever. Here a link going down is logged once, with
  the PBX's name, address and the cause (connection refused, timeout, auth
  failed, ...), then a reminder every REMINDER seconds; attempts back off
  exponentially from `reconnect` to `reconnect_max` (a connection that was
  accepted and then lost is retried at the base delay).
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections import deque
from typing import Any, Callable, Collection

from panoramisk import Manager

from router.ami.protocol import RouterProtocol

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
#: Seconds a TCP connect may take before it counts as a timeout.
CONNECT_TIMEOUT = 10.0
#: Seconds between two "still down" lines while a PBX stays unreachable.
REMINDER = 300.0


def describe_failure(exc: BaseException | None) -> str:
    """The cause of a failed connect, in a few words."""
    if exc is None:
        return "connect cancelled"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, TimeoutError):
        return f"timeout (no TCP answer within {CONNECT_TIMEOUT:.0f}s)"
    if isinstance(exc, socket.gaierror):
        return f"cannot resolve the host name ({exc.strerror or exc})"
    if isinstance(exc, OSError):
        return exc.strerror or str(exc) or type(exc).__name__
    return f"{type(exc).__name__}: {exc}"

#: Never re-send any of these after a reconnect: state is rebuilt instead.
FORGETABLE = ("login", "logoff", "ping", "originate", "hangup", "redirect", "setvar", "getvar",
              "coreshowchannels", "status", "devicestatelist", "command")


class _Manager(Manager):
    """panoramisk's Manager, told about our Link."""

    link: "Link"

    def connect(self, *args, **kwargs):
        """panoramisk's connect, bounded in time; its outcome goes to the Link."""
        if self.link.closing:  # panoramisk's close() leaves a reconnect pending
            return None
        c = self.config
        task = asyncio.ensure_future(asyncio.wait_for(
            self.loop.create_connection(c["protocol_factory"], c["host"], c["port"], ssl=c["ssl"]),
            CONNECT_TIMEOUT))
        task.add_done_callback(self.connection_made)
        return task

    def connection_made(self, f):
        if self.link.closing:
            if not f.cancelled() and f.exception() is None:
                f.result()[0].close()
            return
        if f.cancelled() or f.exception() is not None:
            self.link.connect_failed(None if f.cancelled() else f.exception())
            return
        super().connection_made(f)

    def connection_lost(self, exc):
        """panoramisk's, but the Link decides when to try again (and logs)."""
        self._connected = False
        self.loop.call_soon(self.on_disconnect, self, exc)
        if self.pinger:
            self.pinger.cancel()
            self.pinger = None
        self.link.connection_lost(exc)

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
                 reconnect: float = 1.0, reconnect_max: float = 30.0,
                 drop_events: Collection[str] | None = None) -> None:
        """drop_events: lower-case names of the AMI events `on_message` has
        no use for, dropped unparsed (None: none). reconnect, reconnect_max:
        the first and the longest delay between two connection attempts."""
        self.name = name
        self.address = f"{host}:{port}"
        self.reconnect_min, self.reconnect_max = reconnect, max(reconnect, reconnect_max)
        self._delay = reconnect
        self.retry_delays: deque[float] = deque(maxlen=100)  # the last delays waited (for tests)
        self._retry: asyncio.TimerHandle | None = None
        self._down_since: float | None = None  # loop time the link went down (None: up or never tried)
        self._cause: str | None = None  # why the last attempt failed
        self._next_cause: str | None = None  # why the connection is about to close (login refused, ...)
        self._attempts = 0
        self._reminded = 0.0
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
                                reconnect_timeout=10 ** 9, log=log,  # we reconnect ourselves
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
        if self._retry is not None:
            self._retry.cancel()
            self._retry = None
        self.manager.close()
        self.up = False

    def abort(self) -> None:
        """Die as a killed process would: the connection dropped at once,
        no goodbyes, no watchdog, no reconnect (for tests of restarts)."""
        self.closing = True
        if self._watchdog:
            self._watchdog.cancel()
        transport = getattr(self.manager.protocol, "transport", None)
        if transport is not None:
            transport.abort()

    def drop(self) -> None:
        """Close the connection now (panoramisk then reconnects)."""
        self.up = False
        transport = getattr(self.manager.protocol, "transport", None)
        if transport is not None:
            transport.close()

    def _logged_in(self, manager) -> None:
        self.up = True
        self._delay = self.reconnect_min
        if self._down_since is not None:
            log.warning("AMI %s (%s): up again after %.1fs and %d attempt(s)", self.name, self.address,
                        asyncio.get_running_loop().time() - self._down_since, self._attempts)
        self._down_since, self._cause, self._next_cause, self._attempts = None, None, None, 0
        log.info("AMI %s: logged in (AMI %s)", self.name, getattr(manager.protocol, "version", "?"))
        result = self._on_up(self)
        if asyncio.iscoroutine(result):
            asyncio.ensure_future(result)

    def login_failed(self, response) -> None:
        """Asterisk refused the login (it then closes the connection)."""
        self._next_cause = f"auth failed: login refused ({response.get('Message', 'no reason given')})"
        self.drop()

    def _disconnected(self, manager, exc) -> None:
        self.up = False
        self._on_down(self)

    # -- reconnecting
    def connect_failed(self, exc: BaseException | None) -> None:
        self._schedule(describe_failure(exc), grow=True)

    def connection_lost(self, exc: BaseException | None) -> None:
        cause, self._next_cause = self._next_cause, None
        if cause is None:
            cause = "connection lost" + (f" ({describe_failure(exc)})" if exc is not None else "")
            self._delay = self.reconnect_min  # it was accepted: try again soon
        self.up = False
        self._schedule(cause, grow=cause.startswith("auth failed"))

    def _schedule(self, cause: str, grow: bool) -> None:
        """Log the state change (once), then try again after the delay."""
        if self.closing:
            return
        loop = asyncio.get_running_loop()
        now = loop.time()
        if self._down_since is None:
            self._down_since, self._reminded, self._attempts = now, now, 0
            log.warning("AMI %s (%s): down: %s; retrying with back-off up to %gs", self.name, self.address,
                        cause, self.reconnect_max)
        elif cause != self._cause:
            self._reminded = now
            log.warning("AMI %s (%s): still down, now: %s", self.name, self.address, cause)
        elif now - self._reminded >= REMINDER:
            self._reminded = now
            log.warning("AMI %s (%s): still down after %.0fs and %d attempt(s): %s", self.name, self.address,
                        now - self._down_since, self._attempts, cause)
        self._cause = cause
        self._attempts += 1
        delay = self._delay
        if grow:
            self._delay = min(delay * 2, self.reconnect_max)
        self.retry_delays.append(delay)
        if self._retry is not None:
            self._retry.cancel()
        self._retry = loop.call_later(delay, self._reconnect)

    def _reconnect(self) -> None:
        self._retry = None
        if not self.closing:
            self.manager.connect()

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
                self._next_cause = f"no answer to Ping within {self.ping_timeout:.1f}s"
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
            cause = f"no answer to Login within {limit:.1f}s"
            if self._cause != cause:  # once per outage, not per attempt
                log.error("AMI %s (%s): %s; reconnecting", self.name, self.address, cause)
            self._next_cause = cause
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
