"""Typed, strict reading of nodes: the building blocks of the section
schemas.

A `Reader` wraps the problem report. Each accessor checks the shape of a
node (mapping, list, scalar), parses scalars with the value parsers, and on
any mistake reports one problem and returns None, so the caller just skips
that piece and carries on: all problems are found in one run.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from router.config import values
from router.config.errors import Report, did_you_mean, index_path, join_path, quote
from router.config.model import Ref, Where
from router.config.nodes import Invalid, Map, Node, Scalar, Seq


@dataclass(frozen=True)
class Kind:
    """A value type: what to call it in messages, and its parser."""

    what: str
    parse: Callable[[str], Any]


DURATION = Kind("a duration such as 20s", values.parse_duration)
PERCENT = Kind("a percent such as 80%", values.parse_percent)
LEVEL = Kind("a level from 1 to 10", values.parse_level)
PRIORITY = Kind("a priority from 0 to 100", values.parse_priority)
NAME = Kind("a name", values.parse_name)
DATE = Kind("a date such as 2026-10-01", values.parse_date)
PERIOD = Kind("opening hours such as 08:30-20:00", values.parse_period)
TEXT = Kind("text", values.parse_text)
REQUIRED_TEXT = Kind("text", values.parse_required_text)
MAILBOX = Kind("a mailbox such as 8000@sales", values.parse_mailbox)
ENDPOINT = Kind("an endpoint such as PJSIP/1001", values.parse_endpoint)
DAYS = Kind("days such as mon-fri", values.parse_days)
DIRECTORY = Kind("an absolute directory such as /var/spool/asterisk/monitor/router", values.parse_directory)


BOOLEAN = Kind("true or false", values.parse_boolean)
POINTS = Kind("percentage points such as 5%", values.parse_points)


def choice(*words: str) -> Kind:
    """One of a fixed set of words."""
    what = "one of " + ", ".join(words)

    def parse(text: str) -> str:
        if text not in words:
            raise ValueError(f"{quote(text)} is not {what}{did_you_mean(text, words)}")
        return text

    return Kind(what, parse)


def count(low: int, high: int) -> Kind:
    return Kind(f"a whole number from {low} to {high}", values.count_parser(low, high))


def duration(low: float = 0, name: str = "") -> Kind:
    """A duration of at least `low` seconds."""

    def parse(text: str) -> float:
        seconds = values.parse_duration(text)
        if seconds < low:
            raise ValueError(f"{quote(text)} is too short; {name} must be at least {low:g}s")
        return seconds

    return Kind(DURATION.what, parse)


def describe(node: Node) -> str:
    """How a node looks, for "expected X, got Y"."""
    if isinstance(node, Map):
        return "a mapping"
    if isinstance(node, Seq):
        return "a list"
    assert isinstance(node, Scalar)
    return "nothing" if node.empty else quote(node.text)


def _label(item: Node) -> str:
    """The `name` (rules) or `id` (agents) of a list item, for its path."""
    if isinstance(item, Map):
        for key in ("id", "name"):  # an agent has both: its id names it
            value = item.items.get(key, (None, None))[1]
            if isinstance(value, Scalar) and value.text:
                return value.text
    return ""


class Reader:
    """Shape-checking accessors that report problems instead of raising."""

    def __init__(self, report: Report):
        self.report = report
        self.refs: list[Ref] = []  # names to resolve once every section is read

    def error(self, node: Node, path: str, message: str) -> None:
        self.report.at(node, path, message)

    def value(self, node: Node | None, path: str, kind: Kind) -> Any:
        """Parse a scalar as `kind`; None if absent or wrong."""
        if node is None or isinstance(node, Invalid):
            return None
        if not isinstance(node, Scalar):
            self.error(node, path, f"expected {kind.what}, got {describe(node)}")
            return None
        if node.empty:
            self.error(node, path, f"no value given; expected {kind.what}")
            return None
        try:
            return kind.parse(node.text)
        except ValueError as exc:
            self.error(node, path, str(exc))
            return None

    def text(self, node: Node | None, path: str, default: str = "") -> str:
        """Optional free text: a missing or empty value gives `default`."""
        if node is None or (isinstance(node, Scalar) and node.empty):
            return default
        found = self.value(node, path, TEXT)
        return default if found is None else found

    def mapping(self, node: Node | None, path: str, what: str = "a mapping") -> Map | None:
        """A mapping node (an empty value counts as an empty mapping)."""
        if node is None or isinstance(node, Invalid):
            return None
        if isinstance(node, Scalar) and node.empty:
            return Map(node.file, node.line, node.col)
        if not isinstance(node, Map):
            self.error(node, path, f"expected {what}, got {describe(node)}")
            return None
        return node

    def fields(self, node: Node | None, path: str, allowed: Iterable[str],
               required: Iterable[str] = (), what: str = "a mapping") -> dict[str, Node] | None:
        """A mapping with a fixed set of keys: unknown keys and missing
        required keys are reported; returns key -> value node."""
        found = self.mapping(node, path, what)
        if found is None:
            return None
        allowed = list(allowed)
        result: dict[str, Node] = {}
        for key, (key_node, value_node) in found.items.items():
            if key in allowed:
                result[key] = value_node
                continue
            hint = did_you_mean(key, allowed) or f"; expected one of: {', '.join(allowed)}"
            self.error(key_node, join_path(path, key), f"unknown key {quote(key)}{hint}")
        for key in required:
            if key not in found.items:
                self.error(found, path, f"missing required key {quote(key)}")
        return result

    def entries(self, node: Node | None, path: str, what: str = "a mapping"
                ) -> list[tuple[str, Scalar, Node]]:
        """An open mapping (keys are names the admin chose): a list of
        (key, key node, value node); [] if the node is wrong."""
        found = self.mapping(node, path, what)
        if found is None:
            return []
        return [(key, key_node, value_node) for key, (key_node, value_node) in found.items.items()]

    def items(self, node: Node | None, path: str, what: str = "a list",
              single: bool = True) -> list[tuple[str, Node]]:
        """A list, as (path, node) pairs. With `single`, one scalar stands
        for a one-item list (`teams: sales-a`); an empty value is []."""
        if node is None or isinstance(node, Invalid):
            return []
        if isinstance(node, Scalar) and node.empty:
            return []
        if isinstance(node, Seq):
            return [(index_path(path, i, _label(item)), item) for i, item in enumerate(node.items)]
        if single and isinstance(node, Scalar):
            return [(path, node)]
        self.error(node, path, f"expected {what}, got {describe(node)}")
        return []

    def named(self, node: Node | None, path: str, what: str,
              read: Callable[[str, Scalar, Node, str], Any]) -> dict[str, Any] | None:
        """An open mapping of name -> item (skills, teams, calendars,
        queues): each key is checked as a name (`name_key`) before
        `read(name, key_node, value_node, key_path)` reads its value; an
        item read as None is left out. None when the node is no mapping."""
        if self.mapping(node, path, what) is None:
            return None
        result: dict[str, Any] = {}
        for key, key_node, value_node in self.entries(node, path):
            key_path = join_path(path, key)
            name = self.name_key(key_node, key_path)
            item = read(name, key_node, value_node, key_path)
            if item is not None:
                result[name] = item
        return result

    def name_key(self, key_node: Scalar, path: str) -> str:
        """A mapping key that defines a name (a queue, skill, team ...).
        Returns the key as written even when it is not a valid name (that
        is reported here), so that its uses still resolve instead of
        cascading into "unknown queue" errors."""
        self.value(key_node, path, NAME)
        return key_node.text

    def ref(self, kind: str, node: Node | None, path: str) -> str | None:
        """Read a name that must refer to a defined `kind` (skill, team,
        agent, calendar, queue); the reference is checked later."""
        name = self.value(node, path, NAME)
        if name is not None:
            self.refs.append(Ref(kind, name, Where.of(node, path)))
        return name

    def levels(self, node: Node | None, path: str) -> dict[str, int]:
        """`{skill: level}` for agents' skills and queues' minimums."""
        result: dict[str, int] = {}
        for key, key_node, value_node in self.entries(node, path, "a mapping of skill: level"):
            key_path = join_path(path, key)
            skill = self.ref("skill", key_node, key_path)
            level = self.value(value_node, key_path, LEVEL)
            if skill is not None and level is not None:
                result[skill] = level
        return result

    def names(self, node: Node | None, path: str, kind: str) -> list[str]:
        """A list of names of `kind` (teams, queues); duplicates dropped."""
        result: list[str] = []
        for item_path, item in self.items(node, path, f"a list of {kind} names"):
            name = self.ref(kind, item, item_path)
            if name is not None and name not in result:
                result.append(name)
        return result
