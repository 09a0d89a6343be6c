"""The control API: a Unix socket served in the router's event loop.

Local only: no TCP port. The socket file's permissions are the
authorisation (0660, in a directory the router creates 0700 when it
creates it): whoever may open it may read the status and send supervisor
commands, as a `supervisor` MQTT user may. The peer's user (SO_PEERCRED)
goes into the audit line of every command.

Protocol: the client writes one JSON object on one line and reads one JSON
object back; the connection then closes.

    {"op": "status"}
    {"op": "command", "command": "pause", "body": {"agent": "1002", "reason": "lunch"}}
    {"op": "explain", "call": "<call id>"}
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import pwd
import socket
import stat
import struct

from router.control import commands, status
from router.mqtt import commands as mqtt_commands

log = logging.getLogger("router.control")

#: Largest request accepted, bytes.
MAX_REQUEST = 8192


def default_path() -> str:
    """$ROUTER_CONTROL, else router/control.sock in $XDG_RUNTIME_DIR, else
    in /tmp/router-<uid>/."""
    if os.environ.get("ROUTER_CONTROL"):
        return os.environ["ROUTER_CONTROL"]
    base = os.environ.get("XDG_RUNTIME_DIR")
    folder = os.path.join(base, "router") if base else f"/tmp/router-{os.getuid()}"
    return os.path.join(folder, "control.sock")


class ControlError(Exception):
    """The control socket cannot be served (in use, or not creatable)."""


def _peer(writer: asyncio.StreamWriter) -> str:
    sock = writer.get_extra_info("socket")
    try:
        _, uid, _ = struct.unpack("3i", sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED,
                                                        struct.calcsize("3i")))
    except (OSError, AttributeError):
        return "unknown user"
    try:
        return f"{pwd.getpwuid(uid).pw_name} (uid {uid})"
    except KeyError:
        return f"uid {uid}"


class ControlServer:
    def __init__(self, router, path: str, tz, *, bus=None) -> None:
        self.router = router
        self.path = path
        self.tz = tz
        self.bus = bus
        self.recent = status.Recent(router.clock.now())
        self.overrides = mqtt_commands.SkillOverrides()
        self._server: asyncio.AbstractServer | None = None
        router.subscribe(self.recent.on_fact, "control status")

    async def start(self) -> None:
        folder = os.path.dirname(self.path) or "."
        try:
            if not os.path.isdir(folder):
                os.makedirs(folder, mode=0o700)
            _check_folder(folder)
            if os.path.exists(self.path):
                if await _answers(self.path):
                    raise ControlError(f"{self.path} is in use by another running router")
                os.unlink(self.path)  # left by a router that died
            old = os.umask(0o117)  # the socket file: rw for owner and group only
            try:
                self._server = await asyncio.start_unix_server(self._serve, self.path, limit=MAX_REQUEST)
            finally:
                os.umask(old)
        except OSError as err:
            raise ControlError(f"cannot serve {self.path}: {err.strerror or err}") from None
        log.info("control: serving %s (router status, agent and call commands)", self.path)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
            try:
                os.unlink(self.path)
            except OSError:
                pass
        self.router.unsubscribe(self.recent.on_fact)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            line = await asyncio.wait_for(reader.readline(), 10.0)
            reply = self.handle(line, _peer(writer))
            writer.write(json.dumps(reply, ensure_ascii=False).encode("utf-8") + b"\n")
            await writer.drain()
        except (asyncio.TimeoutError, ConnectionError, ValueError):  # ValueError: a line over the limit
            pass
        except Exception:  # a bad request must never take the server down
            log.exception("control: request failed")
        finally:
            writer.close()

    def handle(self, line: bytes, user: str) -> dict:
        """The reply to one request line from `user`."""
        try:
            request = json.loads(line.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            return {"ok": False, "reason": "the request is not a JSON object on one line"}
        if not isinstance(request, dict):
            return {"ok": False, "reason": "the request is not a JSON object on one line"}
        op = request.get("op")
        if op == "status":
            return {"ok": True, **status.snapshot(self.router, self.recent, self.tz)}
        if op == "command":
            body = request.get("body") or {}
            if not isinstance(body, dict):
                return {"ok": False, "reason": "'body' must be an object"}
            return commands.execute(self.router, self.bus, user, str(request.get("command")), body,
                                    self.overrides)
        if op == "explain":
            from router.explain import explain_waiting

            lines = explain_waiting(self.router, str(request.get("call")), self.tz)
            return {"ok": lines is not None, "lines": lines or [],
                    **({} if lines is not None else {"reason": f"no call {request.get('call')!r} is waiting"})}
        return {"ok": False, "reason": f"unknown op {op!r}; use status, command or explain"}


def _check_folder(folder: str) -> None:
    """Refuse a directory where someone else could swap the socket: owned
    by another user (root aside), or writable by all without the sticky bit."""
    info = os.stat(folder)
    if info.st_uid not in (os.getuid(), 0):
        raise ControlError(f"{folder} belongs to uid {info.st_uid}, not to this user")
    if info.st_mode & stat.S_IWOTH and not info.st_mode & stat.S_ISVTX:
        raise ControlError(f"{folder} is writable by everyone (and not sticky): choose another --control path")


async def _answers(path: str) -> bool:
    try:
        _, writer = await asyncio.wait_for(asyncio.open_unix_connection(path), 1.0)
    except (OSError, asyncio.TimeoutError):
        return False
    writer.close()
    return True
