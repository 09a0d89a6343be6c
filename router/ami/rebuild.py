"""Rebuilding one PBX's state after every AMI login, as I/O: the listings
asked for, the events that arrive meanwhile held and replayed after the
snapshot, a failed rebuild tried again with a growing delay. What the
listings mean is router/ami/resync.py (pure); the engine reconciles with
the `PbxSnapshot` it is fed.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Callable

from router.ami.resync import RESYNC_ACTIONS, build_snapshot, items, listing_failure
from router.ami.translate import Translator

log = logging.getLogger("router")

#: Real seconds before a failed state rebuild is tried again, doubling up to
#: the second figure while it keeps failing.
REBUILD_RETRY = (1.0, 30.0)
#: AMI events held while a PBX's state is rebuilt; past this the connection
#: is dropped and the rebuild starts again from a new login (a listing that
#: hangs while the PBX keeps talking must not eat the memory).
HELD_LIMIT = 20_000

#: Stands for the held events of a connection being dropped.
_OVERFLOWED: list = []


class StateRebuild:
    """The rebuild of one PBX's state (its `link`, its `translator`).

    `feed(event)` hands a domain event to the engine; `replay(message)`
    translates a held AMI event as if it came now; `placed(call_id)` notes
    the PBX of a call the snapshot found."""

    def __init__(self, link, translator: Translator, *, feed: Callable, replay: Callable,
                 placed: Callable[[str], None], timeout: float) -> None:
        self.link, self.translator = link, translator
        self._feed, self._replay_one, self._placed = feed, replay, placed
        self.timeout = timeout  # seconds a listing may take
        self.retry = REBUILD_RETRY
        self.held_limit = HELD_LIMIT
        #: AMI events held while a rebuild runs (None: none runs, events go through).
        self.held: list | None = None
        #: Leg ids originated on the current connection before its snapshot (None: none tracked).
        self.sent: set[str] | None = None
        self.logins = 0  # logins so far: which rebuild is current
        self.resyncs = 0  # snapshots fed so far
        self.failures = 0  # rebuilds failed so far
        #: Why the last rebuild failed, while one is retried (nothing is offered there); None: fresh.
        self.stale: str | None = None

    def begin(self) -> asyncio.Future:
        """After a login: from now on events wait for the snapshot, and the
        legs originated on this connection are tracked (the listings may
        not show a leg sent just before or after they were asked for)."""
        self.held, self.sent = [], set()
        self.logins += 1
        return asyncio.ensure_future(self._run(self.logins))

    def hold(self, message) -> bool:
        """True when `message` is held (or dropped with an overflowing
        connection) instead of handled now."""
        held = self.held
        if held is None:
            return False
        if held is _OVERFLOWED:
            return True  # the rest of a connection being dropped
        if len(held) < self.held_limit:
            held.append(message)
            return True
        # Bounded: drop the connection; the next login rebuilds from the
        # listings, which supersede every event held so far.
        log.error("pbx %s: %d AMI events held while its state is rebuilt; dropping the connection "
                  "to rebuild from a new login", self.link.name, len(held))
        self.held = _OVERFLOWED
        self.link.drop()
        return True

    async def _run(self, login: int) -> None:
        """Read what the PBX has and reconcile; events that arrive meanwhile
        are held and replayed after the snapshot, so a caller who hangs up
        during the listings is not taken on as waiting.

        A rebuild that fails (a listing unanswered or answered with an
        error) is tried again with a growing delay: until one succeeds the
        router's view of that PBX is stale (a caller who left may still look
        waiting, an agent talking may look free), so nothing is offered
        there (`stale`, shown in /healthz). Between two attempts the events
        go through as they come: a hangup or an answer must not wait for the
        next attempt (a leg left ringing for a caller who left is a ghost
        call); each attempt holds them again, as the first one did."""
        name, link = self.link.name, self.link
        delay, longest = self.retry
        rebuilt = False
        try:
            while True:
                failure = await self._rebuild()
                if failure is None:
                    rebuilt = True
                    return
                if self.logins != login or not link.up:
                    return  # the connection is gone: the next login rebuilds
                self.failures += 1
                first = self.stale is None
                self.stale = failure
                log.log(logging.ERROR if first else logging.WARNING,
                        "pbx %s: state not rebuilt (%s); nothing is offered there until it is; "
                        "trying again in %.1fs (%d failed)", name, failure, delay, self.failures)
                self._replay()
                await asyncio.sleep(delay)
                if self.logins != login or not link.up:
                    return
                self.held = []  # held again during the next attempt
                delay = min(delay * 2, longest)
        finally:
            # A rebuild cut short by a new login leaves that login's own
            # rebuild in charge of the held events.
            if self.logins == login:
                if rebuilt:
                    self.sent = None
                self._replay()

    def _replay(self) -> None:
        """Stop holding events; hand on those held, in order."""
        held, self.held = self.held, None
        for message in held or ():
            self._replay_one(message)

    async def _rebuild(self) -> str | None:
        """One round of listings and the snapshot fed; None when done, else
        why not. An error reply is a failure, never an empty PBX: read as
        "no agent legs", it would free agents still talking."""
        name = self.link.name
        replies = []
        for action in RESYNC_ACTIONS:
            reply = await self.link.send(action, timeout=self.timeout)
            failure = listing_failure(reply)
            if failure is not None:
                return f"{action['Action']} {failure}"
            replies.append(reply)
        snapshot = build_snapshot(self.translator, items(replies[0], "CoreShowChannel"),
                                  items(replies[1], "Status"), items(replies[2], "DeviceStateChange"),
                                  pending=self.sent or ())
        for call in snapshot.waiting:
            self._placed(call.call_id)
        for call_id, _ in snapshot.connected + snapshot.ringing:
            self._placed(call_id)
        self._feed(snapshot)
        self.resyncs += 1
        if self.stale is not None:
            self.stale = None
            log.warning("pbx %s: state rebuilt after %d failed attempt(s); offering calls there again",
                        name, self.failures)
        log.info("pbx %s: state rebuilt: %d waiting, %d talking, %d ringing", name,
                 len(snapshot.waiting), len(snapshot.connected), len(snapshot.ringing))
        return None
