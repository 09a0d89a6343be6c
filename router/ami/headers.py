"""Reading AMI headers: the one way the router reads a header's value, on
every kind of message it meets (router.ami.framing's AmiEvent, panoramisk's
Message for replies and listing items, a plain dict in tests and traces).

- A header is read case-insensitively: AmiEvent and Message are so already
  (the exact spelling first, the hit on Asterisk's input); a plain dict is
  folded to lower-case names on a miss. Asterisk spells some headers two
  ways (CoreShowChannel's `BridgeId`, Status's `BridgeID`).
- A repeated header is a list: its first value is the header's value.
- A missing header, or one that is not text, reads as "": handlers never
  raise on odd input.
- `listed` is for the state listings (router/ami/resync.py): stripped, and
  Asterisk's "(null)" for an unset variable or application reads as "".
"""

from __future__ import annotations

from typing import Any, Mapping

_MISSING = object()


def header(msg: Mapping, key: str) -> str:
    """A header's value ("" when missing; the first one when repeated)."""
    value = msg.get(key, _MISSING)
    if value is _MISSING:
        # AmiEvent and Message fold case themselves; a plain dict does not.
        value = folded(msg).get(key.lower(), "") if type(msg) is dict else ""
    if isinstance(value, list):
        value = value[0] if value else ""
    return value if isinstance(value, str) else ""


def listed(msg: Mapping, key: str) -> str:
    """A listing item's header: as `header`, stripped, and "" for "(null)"."""
    return unset_as_empty(header(msg, key))


def unset_as_empty(text: str) -> str:
    """`text` stripped; "" for Asterisk's "(null)" (an unset variable)."""
    text = text.strip()
    return "" if text == "(null)" else text


class Folded(dict):
    """Headers by lower-case name, read case-insensitively with `get`: what
    `folded` makes of a message, to read it many times (the listings)."""

    __slots__ = ()

    def get(self, key, default=None):
        return dict.get(self, key.lower() if isinstance(key, str) else key, default)


def folded(msg: Any) -> Folded:
    """The headers of `msg` by lower-case name; empty for what is not a
    mapping or cannot be walked. (A header spelt two ways: the last one.)"""
    if not isinstance(msg, Mapping):
        return Folded()
    try:
        return Folded((k.lower(), v) for k, v in msg.items() if isinstance(k, str))
    except Exception:  # a mapping that cannot even be walked: nothing to learn
        return Folded()
