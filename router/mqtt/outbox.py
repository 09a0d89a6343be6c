"""The bus's outgoing buffers: filled synchronously (routing never waits),
emptied by the sender task while the broker is reachable.

- events: a bounded queue; when full the oldest is dropped and counted;
- replies to commands: a queue of their own (a flood of refusals never
  evicts call or agent events);
- retained topics: the latest value per topic, not a queue; those not yet
  sent are `dirty`, and all of them are sent again after each (re)connect.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict, deque

log = logging.getLogger("router.mqtt")


class Outbox:
    def __init__(self, buffer: int, reply_buffer: int) -> None:
        self.buffer = buffer
        self.reply_buffer = reply_buffer
        self.events: deque[tuple[str, bytes]] = deque()
        self.replies: deque[tuple[str, bytes]] = deque()
        self.retained: dict[str, bytes] = {}
        self.dirty: OrderedDict[str, None] = OrderedDict()  # retained topics not yet sent
        self.wake = asyncio.Event()  # set when there is something to send
        self.dropped = 0  # events dropped from a full buffer
        self.replies_dropped = 0

    def event(self, topic: str, body: bytes) -> None:
        """Queue a (not retained) event."""
        if len(self.events) >= self.buffer:
            self.events.popleft()
            self.dropped += 1
            if self.dropped == 1 or self.dropped % 1000 == 0:
                log.warning("mqtt: buffer full (%d events); %d dropped so far", self.buffer, self.dropped)
        self.events.append((topic, body))
        self.wake.set()

    def retain(self, topic: str, body: bytes) -> None:
        """Set a retained topic's value (sent unless it is unchanged)."""
        if self.retained.get(topic) == body:
            return
        self.retained[topic] = body
        self.dirty[topic] = None
        self.dirty.move_to_end(topic)
        self.wake.set()

    def reply(self, topic: str, body: bytes) -> None:
        """Queue a reply to a command."""
        if len(self.replies) >= self.reply_buffer:
            self.replies.popleft()
            self.replies_dropped += 1
        self.replies.append((topic, body))
        self.wake.set()

    def resend_retained(self) -> None:
        """After a (re)connect: the broker may have lost them."""
        for topic in self.retained:
            self.dirty[topic] = None
        self.wake.set()

    def pending(self) -> bool:
        return bool(self.events or self.dirty or self.replies)
