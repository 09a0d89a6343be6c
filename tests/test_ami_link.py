"""router.ami.link against a small scripted AMI server over real TCP:
replies reach `send_then`, a missing reply ends in `then(None)`, and the
actions decided while one read is handled go out together, in order."""

from __future__ import annotations

import asyncio
import time

from router.ami.framing import Framer
from router.ami.link import Link
from support.waiting import until


class Server:
    """Accepts one login; answers Originate with Success, never answers
    Hangup; `push(bytes)` writes to the client; `got` holds every action."""

    def __init__(self) -> None:
        self.got: list[dict] = []
        self.writer: asyncio.StreamWriter | None = None

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._session, "127.0.0.1", 0)
        return self.server.sockets[0].getsockname()[1]

    async def _session(self, reader, writer) -> None:
        self.writer = writer
        writer.write(b"Asterisk Call Manager/11.0.0\r\n")
        framer = Framer()
        while data := await reader.read(65536):
            for headers in framer.feed(data):
                action = dict(headers)
                self.got.append(action)
                aid = action.get("ActionID", "")
                if action.get("Action") == "Login":
                    writer.write(f"Response: Success\r\nActionID: {aid}\r\nMessage: Authentication accepted\r\n\r\n".encode())
                elif action.get("Action") == "Originate":
                    writer.write(f"Response: Success\r\nActionID: {aid}\r\nMessage: Originate successfully queued\r\n\r\n".encode())

    def push(self, data: bytes) -> None:
        self.writer.write(data)

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.server.close()
        await self.server.wait_closed()
        await asyncio.sleep(0.05)  # let the client's transport see the end


async def connected(server: Server, on_message=lambda link, msg: None) -> Link:
    port = await server.start()
    link = Link("t", "127.0.0.1", port, "router", "pw", on_message=on_message, on_up=lambda link: None,
                ping_interval=3600)
    await link.start()
    await until(lambda: link.up)
    return link


async def test_a_reply_reaches_then_and_a_missing_one_ends_in_none():
    server = Server()
    link = await connected(server)
    replies: dict[str, object] = {}
    started = time.monotonic()
    link.send_then({"Action": "Originate", "ActionID": "o-1", "Channel": "PJSIP/1001", "CallerID": "王五 <1>"},
                   lambda reply: replies.setdefault("originate", reply))
    link.send_then({"Action": "Hangup", "Channel": "PJSIP/1001-1"}, lambda reply: replies.setdefault("hangup", reply),
                   timeout=0.3)
    await until(lambda: len(replies) == 2)
    assert replies["originate"].get("Response") == "Success" and replies["originate"].get("ActionID") == "o-1"
    assert replies["hangup"] is None and time.monotonic() - started >= 0.3
    assert [a["Action"] for a in server.got] == ["Login", "Originate", "Hangup"]
    assert server.got[1]["CallerID"] == "王五 <1>"  # UTF-8 on the wire
    await link.close()
    await server.close()


async def test_actions_decided_in_one_read_go_out_in_one_write_in_order():
    server = Server()
    sent_from_events = []

    def on_message(link, msg):  # each event makes the router send an action, as routing does
        n = msg.get("N")
        link.send_then({"Action": "Originate", "ActionID": f"o-{n}", "Channel": f"PJSIP/{n}"})
        if n == "2":  # an action panoramisk sends itself comes after those held before it
            link.send_now({"Action": "Setvar", "Variable": "X", "Value": n})
        sent_from_events.append(n)

    link = await connected(server, on_message)
    transport = link.manager.protocol.transport
    writes, write = [], transport.write
    transport.write = lambda data: (writes.append(data), write(data))[1]
    server.push(b"".join(f"Event: UserEvent\r\nUserEvent: Go\r\nN: {n}\r\n\r\n".encode() for n in range(1, 5)))
    await until(lambda: len(server.got) == 1 + 5)
    assert sent_from_events == ["1", "2", "3", "4"]
    assert [(a["Action"], a.get("Channel") or a.get("Value")) for a in server.got[1:]] == [
        ("Originate", "PJSIP/1"), ("Originate", "PJSIP/2"), ("Setvar", "2"), ("Originate", "PJSIP/3"),
        ("Originate", "PJSIP/4")]
    # Three writes, not five: the two Originates held before the Setvar, the
    # Setvar, then the last two Originates at the end of the read.
    assert [data.count(b"Action: ") for data in writes] == [2, 1, 2]
    # Outside a read (a timer, say) an action is written at once.
    link.send_then({"Action": "Originate", "ActionID": "o-9", "Channel": "PJSIP/9"})
    await until(lambda: len(server.got) == 7)
    await link.close()
    await server.close()
