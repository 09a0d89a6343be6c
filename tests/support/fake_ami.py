"""A scripted fake Asterisk AMI server over real TCP, for attack and fault
tests: it logs clients in (or refuses them), answers the state listings
from lists of items it is given, and can stall a listing, answer it with
an error, flood events, or drop the connection."""

from __future__ import annotations

import asyncio

from router.ami.framing import Framer

#: What each listing action answers with: its item event and its Complete event.
LISTINGS = {"CoreShowChannels": ("CoreShowChannel", "CoreShowChannelsComplete"),
            "Status": ("Status", "StatusComplete"),
            "DeviceStateList": ("DeviceStateChange", "DeviceStateListComplete")}


def frame(fields: dict) -> bytes:
    lines = []
    for key, value in fields.items():
        for item in value if isinstance(value, list) else [value]:
            lines.append(f"{key}: {item}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8")


class FakeAmi:
    """`mode[action]`: "ok" (default), "stall" (never answered) or "error"
    (Response: Error); `items[action]`: the listing's items (dicts);
    `refuse_login`: answer every Login with an authentication failure."""

    def __init__(self) -> None:
        self.mode: dict[str, str] = {}
        self.items: dict[str, list[dict]] = {name: [] for name in LISTINGS}
        self.refuse_login = False
        self.got: list[dict] = []  # every action received
        self.logins = 0
        self.sessions = 0
        self._writers: list[asyncio.StreamWriter] = []
        self.server: asyncio.AbstractServer | None = None

    async def start(self, port: int = 0) -> int:
        self.server = await asyncio.start_server(self._session, "127.0.0.1", port)
        self.port = self.server.sockets[0].getsockname()[1]
        return self.port

    async def stop(self) -> None:
        self.drop()
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()

    def actions(self, name: str) -> list[dict]:
        return [a for a in self.got if a.get("Action") == name]

    def push(self, data: bytes) -> None:
        for writer in self._writers:
            writer.write(data)

    def drop(self) -> None:
        """Cut every connection (as a network failure would)."""
        for writer in self._writers:
            writer.transport.abort()
        self._writers.clear()

    async def _session(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.sessions += 1
        self._writers.append(writer)
        writer.write(b"Asterisk Call Manager/9.0.0\r\n")
        framer = Framer()
        try:
            while data := await reader.read(65536):
                for headers in framer.feed(data):
                    self._answer(writer, dict(headers))
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.CancelledError):
            pass  # the client left, or the server stops
        finally:
            if writer in self._writers:
                self._writers.remove(writer)
            writer.close()

    def _answer(self, writer: asyncio.StreamWriter, action: dict) -> None:
        self.got.append(action)
        name, aid = action.get("Action", ""), action.get("ActionID", "")
        if name == "Login":
            if self.refuse_login:
                writer.write(frame({"Response": "Error", "ActionID": aid, "Message": "Authentication failed"}))
                writer.close()
                return
            self.logins += 1
            writer.write(frame({"Response": "Success", "ActionID": aid, "Message": "Authentication accepted"}))
        elif name in LISTINGS:
            mode = self.mode.get(name, "ok")
            if mode == "error":
                writer.write(frame({"Response": "Error", "ActionID": aid, "Message": "Permission denied"}))
            elif mode == "ok":
                item, complete = LISTINGS[name]
                out = [frame({"Response": "Success", "ActionID": aid, "EventList": "start",
                              "Message": "Items will follow"})]
                out += [frame({"Event": item, "ActionID": aid, **fields}) for fields in self.items[name]]
                out.append(frame({"Event": complete, "ActionID": aid, "EventList": "Complete",
                                  "ListItems": len(self.items[name])}))
                writer.write(b"".join(out))
        elif name == "Ping":
            writer.write(frame({"Response": "Success", "ActionID": aid, "Ping": "Pong"}))
        elif name in ("Originate", "Hangup"):
            writer.write(frame({"Response": "Success", "ActionID": aid, "Message": f"{name} queued"}))
