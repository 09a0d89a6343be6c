"""The report as text: an aligned table (CJK names take two columns, as in
`router status`), CSV (one view, durations in seconds) or JSON (the
figures as report_figures returns them).
"""

from __future__ import annotations

import csv
import io
import json
from functools import lru_cache

from router.control.view import width as _wide_width


@lru_cache(maxsize=65536)
def width(text: str) -> int:
    """Terminal columns of `text` (CJK characters take two, as in
    `router status`); ASCII, most of a report's cells, is its length."""
    return len(text) if text.isascii() else _wide_width(text)

#: (JSON key, table heading, kind) per column; kind: text, int, secs, pct, num, bool.
QUEUE_COLUMNS = (
    ("queue", "queue", "text"), ("title", "title", "text"), ("bucket", "bucket", "text"),
    ("offered", "offered", "int"), ("answered", "answ", "int"), ("abandoned", "aband", "int"),
    ("short_abandons", "short", "int"), ("overflowed", "overfl", "int"), ("callback", "cb", "int"),
    ("closed", "closed", "int"), ("sl_percent", "SL%", "pct"), ("target_percent", "target", "pct"),
    ("target_met", "met", "bool"), ("within", "T", "secs"), ("asa", "ASA", "secs"),
    ("longest_wait", "longest", "secs"), ("aht", "AHT", "secs"), ("abandon_percent", "aband%", "pct"),
    ("callbacks_promised", "cb prom", "int"), ("callbacks_done", "cb done", "int"),
    ("callbacks_failed", "cb fail", "int"), ("transfers_in", "moved in", "int"),
    ("transfers_out", "moved out", "int"),
)
PERSON_COLUMNS = (
    ("agent", "agent", "text"), ("name", "name", "text"), ("team", "team", "text"),
    ("leader", "leader", "text"), ("leader_name", "leader name", "text"), ("bucket", "bucket", "text"),
    ("logged_in", "logged in", "secs"), ("available", "avail", "secs"), ("reserved", "ringing", "secs"),
    ("on_call", "on call", "secs"), ("wrapup", "wrap-up", "secs"), ("paused", "paused", "secs"),
    ("unreachable", "unreach", "secs"),
    # paused:<reason> columns go here (see _columns)
    ("answered", "answ", "int"), ("missed_offers", "missed", "int"), ("aht", "AHT", "secs"),
    ("occupancy_percent", "occ%", "pct"), ("satisfaction", "CSAT", "num"), ("surveys", "surveys", "int"),
)
_REASONS_AFTER = "unreachable"


def columns(view: str, rows: list[dict]) -> list[tuple[str, str, str]]:
    """The view's columns present in its rows, with one `paused:REASON`
    column per pause reason seen."""
    base = QUEUE_COLUMNS if view == "queues" else PERSON_COLUMNS
    present = set().union(*(r.keys() for r in rows)) if rows else {c[0] for c in base}
    reasons = sorted({reason for r in rows for reason in r.get("paused_by_reason", {})})
    out = []
    for col in base:
        if col[0] in present:
            out.append(col)
        if col[0] == _REASONS_AFTER:
            out.extend((f"paused:{r}", f"paused:{r}", "secs") for r in reasons)
    return out


def value(row: dict, key: str):
    """A row's value for a column key (`paused:REASON` from paused_by_reason)."""
    if key.startswith("paused:"):
        return row.get("paused_by_reason", {}).get(key[7:], 0.0)
    return row.get(key)


def cell(v, kind: str) -> str:
    """A value as table text: durations H:MM:SS, percentages one decimal, none as -."""
    if v is None:
        return "-"
    if kind == "secs":
        seconds = int(round(v))
        h, rest = divmod(seconds, 3600)
        return f"{h}:{rest // 60:02d}:{rest % 60:02d}" if h else f"{rest // 60}:{rest % 60:02d}"
    if kind == "pct":
        return f"{v:.1f}"
    if kind == "num":
        return f"{v:.2f}"
    if kind == "bool":
        return "yes" if v else "no"
    return str(v)


def table_text(view: str, rows: list[dict]) -> str:
    """An aligned table: text left, numbers right; durations H:MM:SS."""
    cols = columns(view, rows)
    grid = [[head for _, head, _ in cols]] + [[cell(value(r, k), kind) for k, _, kind in cols] for r in rows]
    widths = [max(map(width, column)) for column in zip(*grid)]
    out = []
    for line in grid:
        cells = []
        for (_, _, kind), text, w in zip(cols, line, widths):
            gap = " " * (w - width(text))
            cells.append(text + gap if kind == "text" else gap + text)
        out.append("  ".join(cells).rstrip())
    return "\n".join(out)


def csv_text(view: str, rows: list[dict]) -> str:
    """CSV with the JSON keys as header; durations in seconds, empty for none."""
    cols = columns(view, rows)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([k for k, _, _ in cols])
    for r in rows:
        writer.writerow(["" if (v := value(r, k)) is None else (("yes" if v else "no") if kind == "bool" else v)
                         for k, _, kind in cols])
    return buffer.getvalue()


def json_text(figures: dict) -> str:
    return json.dumps(figures, ensure_ascii=False, indent=1) + "\n"
