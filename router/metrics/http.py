"""A minimal HTTP/1.1 server for /metrics and /healthz, in the event loop.

It runs on asyncio (not prometheus_client's `start_http_server` thread), so
collectors read the engine's loop-owned state between two events, never in
the middle of one. One request per connection (`Connection: close`):
enough for Prometheus and for health checks.

At most `max_clients` connections are served at once: the next ones get a
503 as soon as their request head is in (or after REFUSE_TIMEOUT), and
past `max_clients` more of those they are reset unanswered; all are
counted in `refused` and logged once a minute with a count. A flood of
scrapes or of idle connections can neither starve routing nor run the
process out of file descriptors.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Callable

log = logging.getLogger("router.metrics")

#: Seconds a client has to send its request head.
READ_TIMEOUT = 5.0
#: Largest request head accepted (request line + headers), in bytes.
MAX_HEAD = 8192
#: Connections served at once; more are answered 503 and closed.
MAX_CLIENTS = 32
#: Seconds a refused client has to send its request head before its 503.
REFUSE_TIMEOUT = 1.0
#: Seconds between two log lines about refused connections.
REFUSED_LOG_EVERY = 60.0
BUSY = (b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\nContent-Length: 21\r\n"
        b"Connection: close\r\nRetry-After: 1\r\n\r\ntoo many connections\n")

Handler = Callable[[], tuple[int, str, bytes]]
REASONS = {200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed",
           500: "Internal Server Error", 503: "Service Unavailable"}


class HttpServer:
    """Serves GET/HEAD of a few fixed paths; each handler returns
    (status, content type, body)."""

    def __init__(self, routes: dict[str, Handler], max_clients: int = MAX_CLIENTS) -> None:
        self.routes = routes
        self.max_clients = max_clients
        self._server: asyncio.AbstractServer | None = None
        self.active = 0  # connections being served
        self.refusing = 0  # connections being answered 503
        self.refused = 0  # connections answered 503 at once (over the cap)
        self._refused_logged = (float("-inf"), 0)  # (when, refused count then)

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> int:
        """Listen; returns the port (useful with port 0)."""
        # A small backlog: fewer connections accepted per turn of the loop.
        self._server = await asyncio.start_server(self._client, host, port, backlog=self.max_clients)
        return self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.active >= self.max_clients:
            return await self._refuse(reader, writer)
        self.active += 1
        try:
            await self._serve(reader, writer)
        finally:
            self.active -= 1

    async def _refuse(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.refused += 1
        self._log_refused()
        if self.refusing >= self.max_clients:
            writer.transport.abort()
            return
        self.refusing += 1
        try:
            # Read the head first: closing with it unread would reset the
            # connection and the client would never see the 503.
            await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), REFUSE_TIMEOUT)
            writer.write(BUSY)
            await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, asyncio.TimeoutError):
            pass
        finally:
            self.refusing -= 1
            writer.close()

    def _log_refused(self) -> None:
        now = asyncio.get_running_loop().time()
        when, count = self._refused_logged
        if now - when >= REFUSED_LOG_EVERY:
            self._refused_logged = (now, self.refused)
            log.warning("http: %d connection(s) refused with 503: %d already open (the cap)",
                        self.refused - count, self.max_clients)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            status, ctype, body, head_only = await self._answer(reader)
            head = (f"HTTP/1.1 {status} {REASONS.get(status, 'Unknown')}\r\nContent-Type: {ctype}\r\n"
                    f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode("ascii")
            writer.write(head if head_only else head + body)
            await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.TimeoutError):
            pass  # the client left or stalled: nothing to answer
        finally:
            writer.close()

    async def _answer(self, reader: asyncio.StreamReader) -> tuple[int, str, bytes, bool]:
        try:
            raw = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), READ_TIMEOUT)
        except asyncio.LimitOverrunError:
            return 400, "text/plain", b"request head too large\n", False
        if len(raw) > MAX_HEAD:
            return 400, "text/plain", b"request head too large\n", False
        parts = raw.split(b"\r\n", 1)[0].decode("latin-1").split()
        if len(parts) != 3 or not parts[2].startswith("HTTP/"):
            return 400, "text/plain", b"bad request line\n", False
        method, target = parts[0], parts[1].split("?", 1)[0]
        handler = self.routes.get(target)
        if handler is None:
            return 404, "text/plain", b"not found; try /metrics or /healthz\n", False
        if method not in ("GET", "HEAD"):
            return 405, "text/plain", b"only GET and HEAD\n", False
        try:
            status, ctype, body = handler()
        except Exception:  # a broken collector must not kill the server
            log.exception("error serving %s", target)
            return 500, "text/plain", b"internal error; see the router's log\n", method == "HEAD"
        return status, ctype, body, method == "HEAD"


def json_body(value) -> bytes:
    return (json.dumps(value, ensure_ascii=False, sort_keys=True) + "\n").encode("utf-8")
