"""The shell's side of the control API: one request, one reply."""

from __future__ import annotations

import json
import socket


class NoRouter(Exception):
    """No router answers on the control socket; str() says why."""


def request(path: str, message: dict, timeout: float = 5.0) -> dict:
    """Send `message` to the router serving `path`; its reply."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        try:
            sock.connect(path)
        except FileNotFoundError:
            raise NoRouter(f"no router serves {path} (start one with `router run`, or give --control)") from None
        except PermissionError:
            raise NoRouter(f"not allowed to use {path}: the socket's permissions decide who may") from None
        except OSError as err:
            raise NoRouter(f"cannot reach the router at {path}: {err.strerror or err}") from None
        sock.sendall(json.dumps(message, ensure_ascii=False).encode("utf-8") + b"\n")
        data = b""
        while not data.endswith(b"\n"):
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    except socket.timeout:
        raise NoRouter(f"the router at {path} did not answer within {timeout:g}s") from None
    finally:
        sock.close()
    if not data:
        raise NoRouter(f"the router at {path} closed the connection without a reply")
    return json.loads(data.decode("utf-8"))
