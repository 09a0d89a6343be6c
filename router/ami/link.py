"""One AMI connection to one Asterisk, on panoramisk, with the workarounds
for its known faults (../shared/FIELD-NOTES.md):

- framing, UTF-8 decoding and the writing of actions are ours
  (router.ami.protocol): a Chinese name split across two TCP reads stays
  intact, and nothing raised while handling a message reaches panoramisk;
- a watchdog pings and, when no answer comes in time, closes the transport
  so that panoramisk reconnects (its own ping never checks the answer);
- no action is ever re-sent after a reconnect (an Originate sent twice
  rings two agents), a connect is bounded, a failed login is reported and
  `close()` really stops reconnecting (router.ami.manager);
- every action's reply is waited for a bounded time (`reply`; `send_then`
  through router.ami.replies: some replies never resolve);
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
from collections import deque
from typing import Any, Callable, Collection

from router.ami.manager import _REDACT, FORGETABLE, LinkManager, describe_failure
from router.ami.protocol import RouterProtocol
from router.ami.replies import Replies

log = logging.getLogger("router.ami")

#: Seconds between two "still down" lines while a PBX stays unreachable.
REMINDER = 300.0


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
        self.replies = Replies(name, lambda: self.closing)  # what send_then waits for
        self.manager = LinkManager(host=host, port=port, username=username, secret=secret,
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
        self.replies.clear()
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
        failed or no reply came within `timeout` (router/ami/replies.py)."""
        self.replies.wait(self.send_now(action), action.get("Action"), then, timeout or self.action_timeout)

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
