"""One human-readable line per routing decision, for logs and the live view."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from router.core.commands import Publish
from router.logs import visible


def clock(now: float, tz: ZoneInfo) -> str:
    """The time of a decision line, with its UTC offset (09:30:05+08:00):
    the structured log on stderr is in UTC (its `Z`), the decision lines
    in the calendars' zone, and each says which."""
    return datetime.fromtimestamp(now, tz).isoformat(timespec="seconds")[11:]


def describe(p: Publish) -> str | None:
    """The line for a published event, or None for those not worth a line.
    Control and line-separator characters (a caller's name, a pause reason)
    come out escaped: one event, one line, and nothing for a terminal to act on."""
    line = _describe(p)
    return None if line is None else visible(line)


def _describe(p: Publish) -> str | None:
    d = p.data
    if p.kind == "call.waiting":
        return (f"call    {d['call']} {d['caller_name']} dnis {d['dnis']} -> {d['queue']} "
                f"(rule {d['rule']}, priority {d['priority']})")
    if p.kind == "call.offered":
        return f"ring    {d['agent']} for {d['call']} ({d['queue']}, offer {d['offer']})"
    if p.kind == "call.answered":
        return f"answer  {d['call']} by {d['agent']} after {d['wait']:.1f}s ({d['queue']})"
    if p.kind == "call.no_answer":
        return f"missed  {d['call']} by {d['agent']} ({d['reason']})"
    if p.kind == "call.abandoned":
        return f"abandon {d['call']} after {d['wait']:.1f}s ({d['queue']})"
    if p.kind in ("call.overflowed", "call.closed"):
        return f"{p.kind[5:]:<7} {d['call']} from {d['queue']}: {d['action']} ({d['reason']})"
    if p.kind == "call.moved":
        return f"moved   {d['call']} {d['source']} -> {d['to']} ({d['reason']})"
    if p.kind == "call.escalated":
        return f"escalate {d['call']} in {d['queue']} to step {d['step']} ({d['source']})"
    if p.kind == "sla.action":
        extra = " ".join(f"{k}={d[k]}" for k in ("call", "ewt", "step", "level", "target") if k in d)
        return f"enforce {d['action']} {d['queue']} ({d['reason']}) {extra}".rstrip()
    if p.kind.startswith("callback."):
        extra = " ".join(f"{k}={d[k]}" for k in ("agent", "attempts", "reason", "result") if d.get(k) not in (None, ""))
        return f"callback {p.kind[9:]} {d['call']} ({d.get('queue')}) {extra}".rstrip()
    if p.kind == "agent.state":
        reason = f" ({d['reason']})" if d["reason"] else ""
        return f"agent   {d['agent']} {d['state']}{reason}"
    return None
