"""AMI wire framing: bytes in, messages (lists of headers) out.

Why not panoramisk's own parsing: it decodes every TCP chunk on its own with
errors ignored, so a Chinese name split across two reads loses characters,
and it splits messages only on CRLF CRLF. Here:

- one incremental UTF-8 decoder for the whole connection (invalid bytes
  become U+FFFD, never an exception);
- messages end at a blank line, whatever mix of CRLF and LF makes it
  (Asterisk's `CoreShowChannelMap` ends with `\\r\\n\\n`: issue 761);
- the banner line (`Asterisk Call Manager/...`) is recognised and reported;
- a message may not grow past `max_message` characters: hostile or broken
  input raises FramingError instead of eating memory;
- optionally (`drop`), events the reader knows it has no use for are
  dropped before they are parsed: Asterisk sends a dozen (VarSet,
  Newexten, ...) per call, and parsing them was most of the AMI path's
  cost. An event carrying an ActionID (a listing item, an action's reply)
  is always kept, and so is any kind not on the list: unknown input must
  reach the reader, to be counted and reported.
"""

from __future__ import annotations

import codecs
import re
from typing import Collection

from panoramisk.message import Message

BANNER = "Asterisk Call Manager/"
_HEADER = re.compile(r"^([^:\n]+): ?([^\n]*)", re.MULTILINE)  # on LF line ends

Headers = list[tuple[str, str]]


class FramingError(Exception):
    """The peer sent something that is not AMI (e.g. a message too large)."""


class Framer:
    def __init__(self, max_message: int = 1 << 20, drop: Collection[str] | None = None) -> None:
        """drop: lower-case names of the events to drop unparsed (None: none)."""
        self._decode = codecs.getincrementaldecoder("utf-8")("replace").decode
        self._buffer = ""
        self._max = max_message
        self.drop = drop
        self.banner: str | None = None

    def feed(self, data: bytes) -> list[Headers]:
        """Add bytes; return the messages they complete, in order."""
        self._buffer += self._decode(data)
        if self.banner is None:
            if not self._take_banner():
                return []
        # Line ends to LF first, then split at blank lines: two C-speed
        # passes. (A regex for "CRLF or LF, twice" scanned the stream a
        # character at a time and cost more than the rest of the AMI path.)
        # A CR kept at the end of the buffer meets its LF at the next feed.
        blocks = self._buffer.replace("\r\n", "\n").split("\n\n")
        self._buffer = blocks.pop()
        messages: list[Headers] = []
        drop = self.drop
        for block in blocks:
            if drop and block.startswith("Event:") and self._unwanted(block):
                continue
            headers = parse_block(block)
            if headers:
                messages.append(headers)
        if len(self._buffer) > self._max:
            self._buffer = ""
            raise FramingError(f"AMI message over {self._max} characters")
        return messages

    def _unwanted(self, block: str) -> bool:
        # "actionid" anywhere, in any case, keeps the event: when in doubt,
        # parse (a listing item or a reply must never be lost).
        end = block.find("\n")
        name = (block[6:end] if end >= 0 else block[6:]).strip().lower()
        return name in self.drop and "actionid" not in block.lower()

    def _take_banner(self) -> bool:
        newline = self._buffer.find("\n")
        if newline < 0:
            if len(self._buffer) > 1024:
                raise FramingError("no AMI banner")
            return False
        line = self._buffer[:newline].rstrip("\r")
        if line.startswith(BANNER):
            self.banner = line[len(BANNER):]
            self._buffer = self._buffer[newline + 1:]
        else:  # no banner (a test server, or a resumed stream): carry on
            self.banner = ""
        return True


def parse_block(block: str) -> Headers:
    """`Key: Value` lines to headers; lines without a colon are dropped."""
    # One regex pass instead of a Python loop over the lines: this was the
    # costliest step of the AMI path in profiles (bench/RESULTS.md). Same
    # result as splitting on CR?LF and partitioning each line at its first
    # colon (one space after the colon is dropped, spaces around the key
    # too).
    if "\r" in block:  # Framer.feed hands over LF line ends already
        block = block.replace("\r\n", "\n").strip("\r\n")
        return [(key.strip(), value.removesuffix("\r")) for key, value in _HEADER.findall(block)]
    pairs = _HEADER.findall(block)
    if " :" in block or "\n " in block or block.startswith(" "):  # a key to strip (never from Asterisk)
        return [(key.strip(), value) for key, value in pairs]
    return pairs


def gather(headers: Headers) -> dict:
    """Headers as a dict by name as spelt; a repeated header gives the list
    of its values, in order."""
    data = dict(headers)
    if len(data) == len(headers):  # the common case: no header repeated
        return data
    data = {}
    for key, value in headers:
        if key in data:
            previous = data[key]
            data[key] = (previous if isinstance(previous, list) else [previous]) + [value]
        else:
            data[key] = value
    return data


_MISSING = object()


class AmiEvent(dict):
    """An AMI event as the router reads it: a dict of its headers as spelt
    on the wire (a repeated header gives a list), read case-insensitively
    with `get`, `[]` and `in`, as panoramisk's Message is: the exact
    spelling first (Asterisk spells each header one way, so that is the
    read that hits), else by lower-case name.

    Why not panoramisk's Message: building one (a MutableMapping filled one
    `__setitem__` at a time, each key lower-cased) and panoramisk's dispatch
    of it (a regex per registered pattern) cost more than the router's
    routing of the event (bench/RESULTS.md). Replies to actions still become
    Messages: they go to panoramisk's futures."""

    __slots__ = ("_folded",)

    def get(self, key: str, default=None):
        value = dict.get(self, key, _MISSING)
        if value is _MISSING:
            return self._fold().get(key.lower(), default) if isinstance(key, str) else default
        return value

    def __getitem__(self, key: str):
        value = self.get(key, _MISSING)
        if value is _MISSING:
            raise KeyError(key)
        return value

    def __contains__(self, key) -> bool:
        return self.get(key, _MISSING) is not _MISSING

    def _fold(self) -> dict:
        """Lower-case name -> value (headers spelt two ways: their values
        in one list), made on the first read that misses."""
        try:
            return self._folded
        except AttributeError:
            self._folded = gather([(key.lower(), value) for key, values in self.items()
                                   for value in (values if isinstance(values, list) else [values])])
            return self._folded


def to_event(headers: Headers) -> AmiEvent:
    """Framed headers as an AmiEvent (repeated keys become lists)."""
    event = AmiEvent(headers)
    if len(event) != len(headers):  # a repeated header: keep every value
        event = AmiEvent(gather(headers))
    return event


def to_message(headers: Headers) -> Message:
    """Framed headers as a panoramisk Message (repeated keys become lists):
    what a reply or a listing item becomes, for panoramisk's futures."""
    return Message(gather(headers))
