"""panoramisk's Manager as the router's Link uses it, with the workarounds
for its known faults (../shared/FIELD-NOTES.md):

- a connect is bounded in time (CONNECT_TIMEOUT), and its outcome, a lost
  connection and a refused login go to the Link, which decides when to try
  again and logs (panoramisk retries silently, for ever);
- `close()` really stops reconnecting;
- no action is ever re-sent after a reconnect (an Originate sent twice
  rings two agents): every action we use is FORGETABLE;
- a log record of panoramisk's that holds an AMI secret has it masked.
"""

from __future__ import annotations

import asyncio
import logging
import socket

from panoramisk import Manager

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

#: Seconds a TCP connect may take before it counts as a timeout.
CONNECT_TIMEOUT = 10.0


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


class LinkManager(Manager):
    """panoramisk's Manager, told about our Link (`link`, set by the Link)."""

    link: object

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
