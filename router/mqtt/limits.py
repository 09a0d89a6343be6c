"""What keeps one MQTT client from swamping the router (issue 13): a token
bucket per command sender, and a log of refusals that says the first one
and then a count, instead of one line per refused command.

Times are the event loop's (real seconds), passed in by the caller, so
both are plain objects a test can drive.
"""

from __future__ import annotations

import logging


class SenderBuckets:
    """A token bucket per sender: `burst` commands at once, then `rate` a
    second. Senders are bounded: the caller names them (an agent id from
    the topic, checked against the config, or "supervisor"), and at most
    `max_senders` buckets are kept (the oldest forgotten first)."""

    def __init__(self, rate: float, burst: int, max_senders: int = 10_000) -> None:
        self.rate, self.burst, self.max_senders = rate, burst, max_senders
        self._buckets: dict[str, tuple[float, float]] = {}  # sender -> (tokens, at)

    def allow(self, sender: str, now: float) -> bool:
        tokens, at = self._buckets.pop(sender, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - at) * self.rate)
        allowed = tokens >= 1.0
        self._buckets[sender] = (tokens - 1.0 if allowed else tokens, now)  # most recent last
        if len(self._buckets) > self.max_senders:
            del self._buckets[next(iter(self._buckets))]
        return allowed


class RefusalLog:
    """Log the first refusal of each sender at once; count the next ones
    for `window` seconds and then say how many there were (one summary
    line per sender and window), so that a flood of bad commands gives a
    handful of lines, not one per command."""

    def __init__(self, log: logging.Logger, window: float = 60.0, level: int = logging.INFO) -> None:
        self.log, self.window, self.level = log, window, level
        self._open: dict[str, list] = {}  # sender -> [window start, count since, last reason]

    def refused(self, sender: str, command: str, reason: str, now: float) -> None:
        entry = self._open.get(sender)
        if entry is None:
            self._open[sender] = [now, 0, reason]
            self.log.log(self.level, "mqtt: command %s from %s refused: %s", command, sender, reason)
            return
        entry[1] += 1
        entry[2] = reason

    def flush(self, now: float, force: bool = False) -> None:
        """Summaries of the windows that are over (all of them if `force`)."""
        for sender, (start, count, reason) in list(self._open.items()):
            if not force and now - start < self.window:
                continue
            del self._open[sender]
            if count:
                self.log.warning("mqtt: %d more command(s) from %s refused in the last %.0fs (last: %s)",
                                 count, sender, now - start, reason)


class Flapping:
    """Notices a client-id takeover: the broker closes our connection (no
    DISCONNECT, as mosquitto does when another client connects with the
    same client id) soon after each connect, and our next connect is
    accepted at once. `closed()` returns True when that happened `times`
    times within `window` seconds."""

    def __init__(self, times: int = 3, window: float = 60.0, short: float = 10.0) -> None:
        self.times, self.window, self.short = times, window, short
        self._closes: list[float] = []

    def closed(self, connected_at: float, now: float) -> bool:
        if now - connected_at > self.short:
            self._closes.clear()
            return False
        self._closes = [t for t in self._closes if now - t <= self.window] + [now]
        return len(self._closes) >= self.times
