"""The AMI TCP server: one session per client, login, event fan-out.

As Asterisk's manager: the banner `Asterisk Call Manager/11.0.0` on
connect; before login only Login, Logoff and Challenge are allowed (anything
else: "Permission denied", the connection stays); a failed login is
answered "Authentication failed" and the connection closed (Asterisk first
sleeps a second; the simulator does not); after login every event goes to
every logged-in client whose event mask (`Events:` at login, or the
`Events` action) takes the event's category. Listing events (CoreShowChannel,
Status, ...) go only to the client that asked.

Defences of the simulator's own: a client sending absurd input (protocol.py)
is cut, and so is one that stops reading (over 16 MiB queued).
"""

from __future__ import annotations

import asyncio
import hashlib
import inspect
import secrets
import traceback
from typing import TYPE_CHECKING

from router.sim.pbx import actions
from router.sim.pbx.protocol import (AbsurdInput, Framer, Message, Pairs, ast_false, ast_true,
                                     encode, error, response)

if TYPE_CHECKING:
    from router.sim.pbx.simulator import PbxSimulator

BANNER = b"Asterisk Call Manager/11.0.0\r\n"
MAX_BACKLOG = 16 * 1024 * 1024

# include/asterisk/manager.h EVENT_FLAG_*
CATEGORIES = {"system": 1 << 0, "call": 1 << 1, "log": 1 << 2, "verbose": 1 << 3,
              "command": 1 << 4, "agent": 1 << 5, "user": 1 << 6, "config": 1 << 7,
              "dtmf": 1 << 8, "reporting": 1 << 9, "cdr": 1 << 10, "dialplan": 1 << 11,
              "originate": 1 << 12, "agi": 1 << 13, "cc": 1 << 15, "aoc": 1 << 16,
              "test": 1 << 17, "security": 1 << 18, "message": 1 << 19}
ALL_EVENTS = (1 << 20) - 1
# The AMI user of the traces: read system,call,agent,user,dtmf,reporting,cdr,dialplan.
READ_PERM = sum(CATEGORIES[c] for c in
                ("system", "call", "agent", "user", "dtmf", "reporting", "cdr", "dialplan"))


def event_mask(text: str) -> int | None:
    """manager.c strings_to_mask: a number, on/off words, or a list of
    categories; None for an empty (invalid) mask."""
    text = text.strip()
    if not text:
        return None
    if text.isdigit():
        return int(text)
    if ast_false(text):
        return 0
    if ast_true(text):
        return ALL_EVENTS
    mask = 0
    for part in text.lower().split(","):
        if part.strip() == "all":
            return ALL_EVENTS
        mask |= CATEGORIES.get(part.strip(), 0)
    return mask


class Session:
    def __init__(self, server: AmiServer, reader: asyncio.StreamReader,
                 writer: asyncio.StreamWriter, number: int) -> None:
        self.server = server
        self.reader = reader
        self.writer = writer
        self.number = number
        self.framer = Framer()
        self.authenticated = False
        self.mask = ALL_EVENTS
        self.challenge = ""
        self.closing = False

    def send(self, pairs: Pairs) -> None:
        self.send_raw(encode(pairs))

    def send_raw(self, data: bytes) -> None:
        if self.closing or self.writer.transport.is_closing():
            return
        self.writer.write(data)
        if self.writer.transport.get_write_buffer_size() > MAX_BACKLOG:
            self.server.note(f"client {self.number} cut: not reading its events")
            self.abort()

    def deliver(self, data: bytes, category: str) -> None:
        bit = CATEGORIES.get(category, 0)
        if self.server.hung:  # a hung manager loses its events
            return
        if self.authenticated and self.mask & bit == bit and READ_PERM & bit == bit:
            self.send_raw(data)

    def close(self) -> None:
        """Flush what is written, then close."""
        if not self.closing:
            self.closing = True
            self.writer.close()

    def abort(self) -> None:
        """Cut the connection at once (a network failure, as seen by the client)."""
        self.closing = True
        self.writer.transport.abort()

    async def run(self) -> None:
        try:
            await self.server.responsive()
            self.send_raw(BANNER)
            while not self.closing:
                data = await self.reader.read(65536)
                if not data:
                    break
                try:
                    messages = self.framer.feed(data)
                except AbsurdInput as exc:
                    self.server.note(f"client {self.number} cut: {exc}")
                    break
                for msg in messages:
                    await self.server.responsive()
                    await self.server.dispatch(self, msg)
                    if self.closing:
                        break
        except (ConnectionError, OSError):
            pass
        finally:
            self.close()
            try:
                await self.writer.wait_closed()
            except (ConnectionError, OSError):
                pass


class AmiServer:
    def __init__(self, pbx: PbxSimulator, host: str, port: int, username: str,
                 secret: str) -> None:
        self.pbx = pbx
        self.host, self.port = host, port
        self.username, self.secret = username, secret
        self.sessions: set[Session] = set()
        self.actions_log: list[dict] = []
        self.notes: list[str] = []  # why clients were cut
        self._tasks: set[asyncio.Task] = set()
        self._server: asyncio.Server | None = None
        self._count = 0
        # Hung (faults.py): connections are accepted and read, nothing is
        # answered and events are lost, until resumed.
        self.hung = False
        self._resumed = asyncio.Event()
        self._resumed.set()

    async def responsive(self) -> None:
        """Return at once, or when a hung server is resumed."""
        if self.hung:
            await self._resumed.wait()

    def set_hung(self, hung: bool) -> None:
        self.hung = hung
        if hung:
            self._resumed.clear()
        else:
            self._resumed.set()

    async def start(self) -> int:
        self._server = await asyncio.start_server(self._accept, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        return self.port

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        self.drop_clients()
        for task in self._tasks:
            task.cancel()  # e.g. a session waiting on a synchronous Originate
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None

    def drop_clients(self) -> None:
        for session in list(self.sessions):
            session.abort()

    def note(self, text: str) -> None:
        self.notes.append(text)

    def broadcast(self, data: bytes, category: str) -> None:
        for session in list(self.sessions):
            session.deliver(data, category)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        self._count += 1
        session = Session(self, reader, writer, self._count)
        self.sessions.add(session)
        try:
            await session.run()
        except asyncio.CancelledError:
            # stop() cancels sessions; re-raising would make asyncio's stream
            # callback log a traceback for a normal shutdown.
            pass
        finally:
            self.sessions.discard(session)
            if task is not None:
                self._tasks.discard(task)
            self.pbx.client_gone(any(s.authenticated for s in self.sessions))

    async def dispatch(self, session: Session, msg: Message) -> None:
        self.actions_log.append(msg.to_log(session.number))
        if msg.error:
            session.send(error(msg, msg.error))
            return
        action = msg.get("Action", skip_empty=True)
        if not action:
            session.send(error(msg, "Missing action in request"))
            return
        key = action.lower()
        if not session.authenticated and key not in ("login", "logoff", "challenge"):
            session.send(error(msg, "Permission denied"))
            return
        handler = self._session_actions.get(key) or actions.HANDLERS.get(key)
        if handler is None:
            session.send(error(msg, f"Invalid/unknown command: {action}. "
                                    "Use Action: ListCommands to show available commands."))
            return
        try:
            result = handler(self, session, msg) if key in self._session_actions \
                else handler(self.pbx, session, msg)
            if inspect.isawaitable(result):
                await result
        except Exception:  # noqa: BLE001 - a simulator bug must not take the client down
            self.pbx.clock.errors.append(traceback.format_exc())
            session.send(error(msg, "Internal simulator error"))

    # -- session actions
    def _login(self, session: Session, msg: Message) -> None:
        if session.authenticated:
            session.send(response(msg, "Success", "Already authenticated"))
            return
        user = msg.get("Username")
        if msg.get("AuthType").lower() == "md5":
            expected = hashlib.md5((session.challenge + self.secret).encode()).hexdigest()
            good = bool(session.challenge) and msg.get("Key").lower() == expected
        else:
            good = msg.get("Secret") == self.secret
        if not good or user.lower() != self.username.lower():
            session.send(error(msg, "Authentication failed"))
            session.close()
            return
        session.authenticated = True
        if msg.get("Events"):
            mask = event_mask(msg.get("Events"))
            if mask is not None:
                session.mask = mask
        session.send(response(msg, "Success", "Authentication accepted"))
        if session.mask & CATEGORIES["system"]:
            uptime = str(int(self.pbx.clock.now()))
            session.send([("Event", "FullyBooted"), ("Privilege", "system,all"),
                          ("Uptime", uptime), ("LastReload", uptime), ("Status", "Fully Booted")])
        self.pbx.client_logged_in()

    def _logoff(self, session: Session, msg: Message) -> None:
        session.send(response(msg, "Goodbye", "Thanks for all the fish."))
        session.close()

    def _challenge(self, session: Session, msg: Message) -> None:
        if msg.get("AuthType").lower() != "md5":
            session.send(error(msg, "Must specify AuthType"))
            return
        session.challenge = session.challenge or str(secrets.randbelow(2**31))
        session.send(response(msg, "Success", None, ("Challenge", session.challenge)))

    def _events(self, session: Session, msg: Message) -> None:
        mask = event_mask(msg.get("EventMask"))
        if mask is None:
            session.send(error(msg, "Invalid event mask"))
            return
        session.mask = mask
        session.send(response(msg, "Success", None, ("Events", "On" if mask else "Off")))

    _session_actions = {"login": _login, "logoff": _logoff, "challenge": _challenge,
                        "events": _events}
