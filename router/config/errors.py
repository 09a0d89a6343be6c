"""Problems found in a configuration, and how they are shown.

Every problem is one line, `file:line:col: key.path: message`, because an
admin fixing a config at 2 a.m. wants to jump straight to the spot; the
`Report` collects them so that one `router check` run shows all of them.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from router.core.table import RoutingTable


@dataclass(frozen=True)
class Problem:
    """One error or warning, with where it is.

    line and col are 1-based; line 0 means "no particular place" (e.g. a
    section missing from the whole config), and then the position is left
    out of the printed line.
    """

    file: str
    line: int
    col: int
    path: str
    message: str
    severity: str = "error"  # or "warning"

    def __str__(self) -> str:
        parts = [self.file if self.line <= 0 else f"{self.file}:{self.line}:{self.col}"]
        if self.severity != "error":
            parts.append(self.severity)
        if self.path:
            parts.append(self.path)
        parts.append(self.message)
        return ": ".join(parts)

    def sort_key(self) -> tuple:
        """The report order: file, line, column, key path."""
        return (self.file, self.line, self.col, self.path)


class ConfigError(Exception):
    """Raised by `load_config` when the config has errors; `problems`
    holds them all (errors only), `str()` shows one per line."""

    def __init__(self, problems: list[Problem]):
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


@dataclass
class CheckResult:
    """What `check_config` found: the table (None when there are errors),
    the errors and the warnings, each sorted by file, line, col, path."""

    table: RoutingTable | None
    errors: list[Problem]
    warnings: list[Problem]

    @property
    def ok(self) -> bool:
        return not self.errors


class Report:
    """Collects problems while the config is read; nothing stops at the
    first one."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def add(self, file: str, line: int, col: int, path: str, message: str,
            severity: str = "error") -> None:
        self.problems.append(Problem(file, line, col, path, message, severity))

    def at(self, where, path: str, message: str, severity: str = "error") -> None:
        """Add a problem at `where`: anything with file, line and col (a
        node or a `Where`)."""
        self.add(where.file, where.line, where.col, path, message, severity)

    def warn(self, where, path: str, message: str) -> None:
        self.at(where, path, message, "warning")

    @property
    def has_errors(self) -> bool:
        return any(p.severity == "error" for p in self.problems)

    def split(self) -> tuple[list[Problem], list[Problem]]:
        """(errors, warnings), each in a stable order; exact repeats (an
        anchored value reported once per alias) are dropped."""
        unique = list(dict.fromkeys(self.problems))
        errors = sorted((p for p in unique if p.severity == "error"), key=Problem.sort_key)
        warnings = sorted((p for p in unique if p.severity != "error"), key=Problem.sort_key)
        return errors, warnings


# Characters that must never reach an AMI header or a log line: C0 and C1
# controls, DEL, and the Unicode line/paragraph separators.
def is_control(ch: str) -> bool:
    code = ord(ch)
    return code < 32 or 127 <= code < 160 or code in (0x2028, 0x2029)


_ESCAPES = {"\r": "\\r", "\n": "\\n", "\t": "\\t"}


def quote(text: str, limit: int = 60) -> str:
    """Quote a value for a message: control characters escaped (so the
    message stays one line), long values shortened."""
    shown = "".join(
        _ESCAPES.get(c, f"\\x{ord(c):02x}" if ord(c) < 256 else f"\\u{ord(c):04x}")
        if is_control(c) else c
        for c in text
    )
    if len(shown) > limit:
        shown = shown[: limit - 3] + "..."
    return f"'{shown}'"


def did_you_mean(word: str, candidates: Iterable[str]) -> str:
    """"; did you mean 'x'?" when a candidate is close to `word`, else ""."""
    names = [c for c in candidates if c != word]
    close = difflib.get_close_matches(word, names, n=1, cutoff=0.6)
    if not close:
        # Case slips (`Sales` for `sales`) score low with difflib.
        close = [c for c in names if c.lower() == word.lower()][:1]
    return f"; did you mean {quote(close[0])}?" if close else ""


def join_path(path: str, key: str) -> str:
    """Extend a key path: `queues` + `sales` -> `queues.sales`."""
    return f"{path}.{key}" if path else key


#: Longest item name shown beside its number in a key path.
MAX_LABEL = 40


def index_path(path: str, index: int, label: str = "") -> str:
    """Extend a key path with the item at 0-based `index` of a list,
    numbered from 1 as `router explain` numbers rules, and named by its
    `name` or `id` when it has one: `routing.rules` + 7, "english" ->
    `routing.rules[8] (english)`."""
    shown = label if label and len(label) <= MAX_LABEL and not any(is_control(c) for c in label) else ""
    return f"{path}[{index + 1}]" + (f" ({shown})" if shown else "")
