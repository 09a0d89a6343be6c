"""One PBX as the router drives it: its Link, its Translator and the
rebuild of its state after every login. An adapter: it translates and does
I/O, and decides nothing.

In: every AMI event from the link (`on_message`) is held while a rebuild
runs, else translated, and its domain events go to `feed` (the engine).
Out: the engine's AMI commands for a call on this PBX (`ring`, `cancel`,
`run_action`) are translated and written on the link in the same turn of
the loop; the replies that matter (a refused Originate) are translated
back into domain events.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Callable

from router.ami.headers import header
from router.ami.rebuild import StateRebuild
from router.ami.translate import UNUSED_EVENTS, Translator
from router.core import events as ev
from router.core.commands import CancelRing, RingAgent, RunAction

log = logging.getLogger("router")

#: Extra seconds, past the ring timeout, to wait for an Originate's result.
ORIGINATE_MARGIN = 10.0


class PbxSession:
    """One PBX: `link` (router.ami.link.Link, whose on_message and on_up are
    this session's), `translator`, and `rebuild` (its state after a login).

    `feed(event)` hands a domain event to the engine; `placed(call_id,
    pbx)` notes on which PBX a call is; `speed` is the clock's (simulated
    seconds per real second)."""

    def __init__(self, name: str, translator: Translator, make_link: Callable, *, feed: Callable,
                 placed: Callable[[str, str], None], speed: float = 1.0, resync_timeout: float = 10.0) -> None:
        self.name = name
        self.translator = translator
        self._feed = feed
        self._placed = placed
        self.speed = speed
        self._tasks: set[asyncio.Future] = set()
        self.link = make_link(on_message=self.on_message, on_up=self.on_up)
        self.rebuild = StateRebuild(self.link, translator, feed=feed, replay=self.translate,
                                    placed=lambda call_id: placed(call_id, name), timeout=resync_timeout)

    # -- AMI in
    def on_up(self, link) -> None:
        """After every login: rebuild the state (router/ami/rebuild.py)."""
        self._track(self.rebuild.begin())

    def on_message(self, link, message) -> None:
        if not self.rebuild.hold(message):
            self.translate(message)

    def translate(self, message) -> None:
        """One AMI event to domain events, fed to the engine in order."""
        translator = self.translator
        kinds = len(translator.ignored)
        events = translator.event(message)
        if len(translator.ignored) > kinds:  # a new kind of unused input: logged once
            kind = list(translator.ignored)[-1]
            log.log(logging.DEBUG if kind in UNUSED_EVENTS else logging.WARNING,
                    "pbx %s: AMI input not used by the router: %s (further ones only counted)", self.name, kind)
        for event in events:
            if isinstance(event, ev.CallWaiting):
                self._placed(event.call_id, self.name)
            self._feed(event)

    # -- AMI out
    def ring(self, c: RingAgent) -> None:
        """The Originate for `c`, written now, in this turn of the loop; its
        reply is handled when it comes."""
        if self.rebuild.stale is not None:  # its state is not known: the call may be gone, the agent busy there
            log.debug("pbx %s: state not rebuilt: no offer of call %s to agent %s", self.name, c.call_id, c.agent_id)
            asyncio.get_running_loop().call_soon(self._feed_all, self.translator.not_sent(c))
            return
        action = self.translator.ring(c)
        link = self.link
        sent = self.rebuild.sent
        if link.up and sent is not None:
            # Sent on this connection before its snapshot: the snapshot keeps
            # the leg even if the listings missed it, so it can be cancelled.
            sent.add(action["ActionID"])
        link.send_then(action, lambda reply: self._originate_done(action, reply),
                       timeout=c.timeout / self.speed + ORIGINATE_MARGIN)

    def cancel(self, c: CancelRing) -> None:
        """The Hangup of the leg that rings for `c`, if one is up."""
        action = self.translator.cancel(c)
        if action:
            self.link.send_then(action)

    def run_action(self, c: RunAction) -> None:
        """The caller's redirect into the dialplan action, in order."""
        self._track(asyncio.ensure_future(self._send_in_order(self.translator.run_action(c))))

    async def hang_up_ringing(self) -> None:
        """Hang up every leg still ringing (the end of a graceful stop)."""
        for leg in self.translator.ringing_legs():
            log.warning("stopping: hanging up leg %s (call %s, agent %s) still ringing",
                        leg.leg_id, leg.call_id, leg.agent_id)
            await self.link.send(self.translator.hangup(leg))

    async def _send_in_order(self, actions: list[dict]) -> None:
        for action in actions:
            await self.link.send(action)

    def _originate_done(self, action: dict, reply) -> None:
        """The reply of an Originate (None: none came in time). Its
        OriginateResponse arrives as an event (see RouterProtocol); if
        instead Asterisk refuses it, the translator reads that as a failed
        offer, so that the call goes back in line."""
        first = reply[0] if isinstance(reply, list) and reply else reply
        if first is None or header(first, "Response") != "Error":
            # Answered, or no reply (link down, response lost): what really
            # happened is read back at the next snapshot, and the engine's
            # ring guard covers the meantime. Guessing "failed" here could
            # re-offer a call that an agent is already talking to.
            return
        log.warning("pbx %s: Originate %s failed: %s", self.name, action.get("ActionID"), header(first, "Message"))
        self._feed_all(self.translator.refused(action["ActionID"]))

    def _feed_all(self, events) -> None:
        for event in events:
            self._feed(event)

    # -- lifecycle
    def _track(self, task: asyncio.Future) -> None:
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def cancel_tasks(self) -> None:
        for task in list(self._tasks):
            task.cancel()

    async def close(self) -> None:
        await self.link.close()
        self.cancel_tasks()

    def abort(self) -> None:
        """Drop the connection as a killed process would: no goodbyes."""
        self.cancel_tasks()
        self.link.abort()
