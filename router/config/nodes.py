"""YAML source -> plain nodes that remember where they came from.

We only *compose* YAML (never `yaml.load`), with a resolver that knows no
implicit types, so nothing is guessed: every scalar stays the text the admin
typed, and the schema decides what it means. Along the way we reject what
the rule language forbids: duplicate keys, tags, merge keys, more than one
document, and alias bombs.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import yaml
from yaml.composer import Composer
from yaml.parser import Parser
from yaml.reader import Reader
from yaml.resolver import BaseResolver
from yaml.scanner import Scanner

from router.config.errors import Report, index_path, join_path, quote

# Aliases may be expanded many times over (the "billion laughs" attack): cap
# the nodes we build per file, and the depth, which also stops an alias that
# contains itself.
MAX_NODES = 200_000
MAX_DEPTH = 50

# With BaseResolver (no implicit resolvers) every untagged node gets one of
# these, and so do the explicit standard tags !!str, !!seq and !!map.
_PLAIN_TAGS = {BaseResolver.DEFAULT_SCALAR_TAG, BaseResolver.DEFAULT_SEQUENCE_TAG,
               BaseResolver.DEFAULT_MAPPING_TAG}


@dataclass(eq=False)
class Node:
    file: str  # as shown in messages
    line: int  # 1-based
    col: int  # 1-based, in characters


@dataclass(eq=False)
class Scalar(Node):
    text: str = ""
    plain: bool = True  # unquoted; an empty plain scalar is "no value"

    @property
    def empty(self) -> bool:
        return self.plain and self.text == ""


@dataclass(eq=False)
class Map(Node):
    # key text -> (key node, value node), in file order, duplicates dropped
    items: dict[str, tuple[Scalar, Node]] = field(default_factory=dict)


@dataclass(eq=False)
class Seq(Node):
    items: list[Node] = field(default_factory=list)


@dataclass(eq=False)
class Invalid(Node):
    """A value that was already reported (e.g. a tag); readers skip it
    silently so the admin gets one error, not a cascade."""


def _label(node: yaml.Node) -> str:
    """The `name` or `id` of a list item, for its key path (as
    schema._label, on PyYAML's node before conversion)."""
    if isinstance(node, yaml.MappingNode):
        found = {k.value: v for k, v in node.value if isinstance(k, yaml.ScalarNode)
                 and isinstance(v, yaml.ScalarNode)}
        for key in ("id", "name"):  # an agent has both: its id names it
            if found.get(key) is not None and found[key].value:
                return found[key].value
    return ""


class _Loader(Reader, Scanner, Parser, Composer, BaseResolver):
    """PyYAML's pure-Python reader/scanner/parser/composer with a resolver
    that has no implicit types: `on`, `1:30` and `0.8` stay text."""

    def __init__(self, text: str):
        Reader.__init__(self, text)
        Scanner.__init__(self)
        Parser.__init__(self)
        Composer.__init__(self)
        BaseResolver.__init__(self)


class _TooBig(Exception):
    def __init__(self, node: yaml.Node, message: str):
        super().__init__(message)
        self.node = node  # where the cap was hit
        self.key: yaml.Node | None = None  # the top-level key it is under
        self.path = ""


def _describe_tag(tag: str) -> str:
    prefix = "tag:yaml.org,2002:"
    return "!!" + tag[len(prefix):] if tag.startswith(prefix) else tag


class _Converter:
    """yaml.Node graph -> Node tree, expanding aliases under the caps."""

    def __init__(self, file: str, report: Report):
        self.file = file
        self.report = report
        self.count = 0
        self.reported: set[int] = set()  # ids of yaml nodes already reported

    def _error(self, node: yaml.Node, path: str, message: str) -> None:
        if id(node) not in self.reported:  # once, even if aliased many times
            self.reported.add(id(node))
            mark = node.start_mark
            self.report.add(self.file, mark.line + 1, mark.column + 1, path, message)

    def convert(self, node: yaml.Node, path: str, depth: int = 0) -> Node:
        self.count += 1
        if self.count > MAX_NODES:
            raise _TooBig(node, f"more than {MAX_NODES} values after expanding aliases; "
                                "use fewer aliases")
        if depth > MAX_DEPTH:
            raise _TooBig(node, f"nested more than {MAX_DEPTH} levels deep "
                                "(an alias that contains itself?)")
        line, col = node.start_mark.line + 1, node.start_mark.column + 1
        if node.tag not in _PLAIN_TAGS:
            self._error(node, path, f"tag '{_describe_tag(node.tag)}' is not allowed; "
                                    "write the value without a tag")
            return Invalid(self.file, line, col)
        if isinstance(node, yaml.ScalarNode):
            return Scalar(self.file, line, col, node.value, node.style is None)
        if isinstance(node, yaml.SequenceNode):
            items = [self.convert(item, index_path(path, i, _label(item)), depth + 1)
                     for i, item in enumerate(node.value)]
            return Seq(self.file, line, col, items)
        result = Map(self.file, line, col)
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag not in _PLAIN_TAGS:
                self._error(key_node, path, "a key must be plain text")
                continue
            key = key_node.value
            key_path = join_path(path, key)
            if key == "<<" and key_node.style is None:
                self._error(key_node, key_path, "merge keys ('<<') are not supported; "
                                                "write the keys out (anchors and aliases are fine)")
                continue
            if key in result.items:
                first = result.items[key][0]
                at = f"line {first.line}"
                if first.line == key_node.start_mark.line + 1:
                    at += f", column {first.col}"
                self._error(key_node, key_path, f"duplicate key {quote(key)} (first at {at})")
                continue
            key_scalar = Scalar(self.file, key_node.start_mark.line + 1,
                                key_node.start_mark.column + 1, key, key_node.style is None)
            try:
                result.items[key] = (key_scalar, self.convert(value_node, key_path, depth + 1))
            except _TooBig as exc:
                if exc.key is None and depth == 0:  # name the section, not a node deep inside
                    exc.key, exc.path = key_node, key_path
                raise
        return result


def _position(text: str, index: int) -> tuple[int, int]:
    line = text.count("\n", 0, index) + 1
    return line, index - (text.rfind("\n", 0, index) + 1) + 1


def decode(file: str, data: bytes, report: Report) -> str | None:
    """Bytes -> text, or None (and a problem) when not valid UTF-8."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        prefix = data[: exc.start]
        line = prefix.count(b"\n") + 1
        col = len(prefix[prefix.rfind(b"\n") + 1:].decode("utf-8", "replace")) + 1
        report.add(file, line, col, "encoding",
                   f"invalid UTF-8 (byte 0x{data[exc.start]:02x} at byte offset {exc.start}); "
                   "save the file as UTF-8")
        return None
    return text[1:] if text.startswith("\ufeff") else text  # a BOM is harmless


def parse(file: str, text: str, report: Report) -> tuple[Map | None, bool]:
    """Parse one file's text into its top-level mapping.

    Returns (mapping, complete): the mapping is None when the file cannot
    be used at all (syntax error, alias bomb, not a mapping), and an empty
    file gives an empty Map; complete is False when part or all of the file
    could not be read, so a section "missing" may just be unread.
    """
    complete = True
    loader = None
    try:
        loader = _Loader(text)  # checks for unprintable characters already
        loader.get_event()  # StreamStart
        root = None if loader.check_event(yaml.StreamEndEvent) else loader.compose_document()
        if not loader.check_event(yaml.StreamEndEvent):
            mark = loader.peek_event().start_mark
            report.add(file, mark.line + 1, mark.column + 1, "yaml",
                       "a second document starts here ('---'); a file holds one document: "
                       "merge them, or split them into separate files")
            complete = False
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        message = exc.problem or exc.context or "cannot parse"
        if exc.context and exc.context_mark and exc.problem:
            message += f" ({exc.context} at line {exc.context_mark.line + 1})"
        if "'\\t'" in message:
            message += "; indent with spaces, not tabs"
        report.add(file, mark.line + 1 if mark else 0, mark.column + 1 if mark else 0, "yaml",
                   " ".join(message.split()))
        return None, False
    except yaml.reader.ReaderError as exc:
        line, col = _position(text, exc.position)
        report.add(file, line, col, "yaml",
                   f"unacceptable character #x{exc.character:04x}: control characters are not allowed")
        return None, False
    except RecursionError:
        report.add(file, 1, 1, "yaml", "nested too deeply to read")
        return None, False
    finally:
        if loader is not None:
            loader.dispose()
    if root is None or (isinstance(root, yaml.ScalarNode) and root.value == "" and root.style is None
                        and root.tag in _PLAIN_TAGS):
        return Map(file, 1, 1), complete  # nothing but comments: no sections
    converter = _Converter(file, report)
    try:
        top = converter.convert(root, "")
    except _TooBig as exc:
        mark = (exc.key or exc.node).start_mark
        report.add(file, mark.line + 1, mark.column + 1, exc.path or "yaml", str(exc))
        return None, False
    if isinstance(top, Invalid):
        return None, False
    if not isinstance(top, Map):
        kind = "a list" if isinstance(top, Seq) else f"the text {quote(top.text)}"
        report.add(file, top.line, top.col, "",
                   f"the top level must be a mapping of sections (skills:, agents:, queues:, "
                   f"routing:, ...), not {kind}")
        return None, False
    return top, complete
