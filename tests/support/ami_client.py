"""A minimal synchronous AMI client for the tests' own use of a real
Asterisk (originating callers, sending DTMF on the lab's phones instance);
the router has its own, asynchronous one (router/ami/)."""

from __future__ import annotations

import socket
import time


class Ami:
    """A minimal synchronous AMI client: enough to originate callers and send
    DTMF on the phones instance (the router has its own, asynchronous one)."""

    def __init__(self, port: int, user: str, secret: str) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.buf = b""
        self._read_block()  # the banner line ends with \r\n only
        self.action("Login", Username=user, Secret=secret)

    def _read_block(self) -> str:
        while b"\r\n" not in self.buf:
            self.buf += self.sock.recv(65536)
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line.decode()

    def _read_message(self) -> dict[str, str]:
        while b"\r\n\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("AMI closed")
            self.buf += chunk
        raw, self.buf = self.buf.split(b"\r\n\r\n", 1)
        msg: dict[str, str] = {}
        for line in raw.decode("utf-8").split("\r\n"):
            key, _, value = line.partition(": ")
            msg.setdefault(key, value)
        return msg

    def action(self, name: str, **headers: str) -> dict[str, str]:
        """Send an action; return its Response (events before it are dropped)."""
        aid = f"t{time.monotonic_ns()}"
        text = f"Action: {name}\r\nActionID: {aid}\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        self.sock.sendall((text + "\r\n").encode("utf-8"))
        while True:
            msg = self._read_message()
            if msg.get("ActionID") == aid and "Response" in msg:
                if msg["Response"] != "Success":
                    raise RuntimeError(f"AMI {name}: {msg}")
                return msg

    def close(self) -> None:
        self.sock.close()
