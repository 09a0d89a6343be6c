"""`router status` as text: one screen per PBX (queues, agents), then the
calls in line and the recent service-level actions and callbacks.

`--watch` redraws it every second, as `top` does: the cursor goes home and
the screen is cleared before each frame.
"""

from __future__ import annotations

import unicodedata
from datetime import datetime
from zoneinfo import ZoneInfo

CLEAR = "\x1b[H\x1b[2J"
#: Keys of a recent action not worth a column (times as epoch seconds, ids repeated).
HIDDEN = ("at", "event", "arrived", "retry_at", "origin", "pbx")


def width(text: str) -> int:
    """Terminal columns of `text` (CJK characters take two)."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def pad(text: str, columns: int) -> str:
    return text + " " * max(0, columns - width(text))


def _pct(value) -> str:
    return "-" if value is None else f"{value:.0f}%"


def _secs(value) -> str:
    if value is None:
        return "-"
    value = int(round(value))
    return f"{value // 60}m{value % 60:02d}s" if value >= 60 else f"{value}s"


def render(data: dict) -> str:
    tz = ZoneInfo(data["zone"])

    def clock(t: float) -> str:
        return datetime.fromtimestamp(t, tz).strftime("%H:%M:%S")

    now = datetime.fromtimestamp(data["at"], tz)
    out = [f"router status {now:%Y-%m-%d %H:%M:%S} {data['zone']} ({now:%z})  run {data['run']}  "
           f"config {data['digest']}{'' if data['reload_ok'] else ' (last reload REJECTED)'}  "
           f"{data['events']} events"]
    for pbx in data["pbxs"]:
        out += ["", f"== pbx {pbx['pbx'] or '-'}: AMI {'up' if pbx['connected'] else 'DOWN'}", "",
                f"{'queue':<11} {'waiting':>7} {'longest':>7} {'SL 15m':>6} {'1h':>5} {'today':>5} "
                f"{'target':>9} {'EWT':>6} {'free':>4} {'busy':>4} {'paused':>6}"]
        for q in pbx["queues"]:
            target = f"{q['target']:g}%/{q['within']:g}s"
            out.append(f"{q['queue']:<11} {q['waiting']:>7} {_secs(q['longest_wait']):>7} {_pct(q['sl_15m']):>6} "
                       f"{_pct(q['sl_1h']):>5} {_pct(q['sl_today']):>5} "
                       f"{target:>9} {_secs(q['ewt']):>6} {q['free']:>4} "
                       f"{q['busy']:>4} {q['paused']:>6}" + ("  protected" if q["protected"] else ""))
        names = max((width(a["name"]) for a in pbx["agents"]), default=4)
        out += ["", f"{'agent':<6} {pad('name', names)} {'state':<10} {'since':<8} {'call':<22} {'reason':<10} skills"]
        for a in pbx["agents"]:
            state = a["state"] + (f">{a['pending']}" if a["pending"] else "")
            skills = " ".join(f"{s}:{n}" for s, n in a["skills"].items())
            out.append(f"{a['agent']:<6} {pad(a['name'], names)} {state:<10} {clock(a['since']):<8} "
                       f"{a['call'] or '-':<22} {a['reason'] or '-':<10} {skills}")
    out += ["", f"calls in line ({len(data['calls'])}):"]
    for c in data["calls"][:20]:
        agent = f" ringing {c['agent']}" if c["agent"] else ""
        out.append(f"  {c['call']:<24} {c['queue']:<11} waited {_secs(c['waited']):>6}  step {c['step']}  "
                   f"priority {c['priority']}{agent}{'  (callback)' if c['callback'] else ''}")
    if len(data["calls"]) > 20:
        out.append(f"  ... and {len(data['calls']) - 20} more")
    out += ["", "recent service-level actions, callbacks and commands:"]
    for r in reversed(data["recent"]):
        detail = " ".join(f"{k}={v}" for k, v in r.items() if k not in HIDDEN and v not in (None, ""))
        out.append(f"  {clock(r['at'])}  {r['event']:<16} {detail}")
    if not data["recent"]:
        out.append("  (none yet)")
    return "\n".join(out)
