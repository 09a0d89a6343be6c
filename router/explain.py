"""`router explain`: what the routing table would do with one call, as text.

A dry run for the admin, in the spirit of `amtool config routes test`: which
rule matched (and why each earlier rule did not), the queue and whether it is
open, the escalation steps with their times, and which configured agents
would be eligible at each step. It reads the same compiled table and the same
classification code as the engine, so what it says is what routing does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from router.core.calendar import is_open
from router.core.classify import why_not
from router.core.events import CallWaiting
from router.core.table import Action, RoutingTable, Step

#: How many agent names to list per step before summarising.
MAX_NAMES = 12


@dataclass(frozen=True)
class Explanation:
    lines: tuple[str, ...]
    rule: str
    queue: str

    def __str__(self) -> str:
        return "\n".join(self.lines)


def _seconds(value: float) -> str:
    value = int(value)
    minutes, seconds = divmod(value, 60)
    return f"{minutes}m{seconds:02d}s" if minutes else f"{seconds}s"


def _eligible(table: RoutingTable, step: Step) -> list[str]:
    return [f"{a.id} {a.name}" for a in table.agents.values() if step.eligible(a)]


def _action_line(label: str, action: Action | None) -> str:
    return f"{label}: {action.describe() if action else '(none)'}"


def explain(table: RoutingTable, call: CallWaiting, now: float, tz: ZoneInfo) -> Explanation:
    """Explain how `call`, arriving at `now`, would be routed."""
    local = datetime.fromtimestamp(now, tz)
    variables = dict(call.variables)
    out = [f"call: dnis={call.dnis!r} caller={call.caller_num!r}"
           + "".join(f" {k}={v!r}" for k, v in call.variables)
           + f" at {local:%Y-%m-%d %H:%M %a} ({tz.key})", "", "rules (first match wins):"]
    chosen = table.default
    for number, rule in enumerate(table.rules, 1):
        reason = why_not(rule.match, call, variables, table, now)
        where = f" [{rule.source}]" if rule.source else ""
        if reason is None:
            out.append(f"  {number:>2}. {rule.name}{where}: MATCHED")
            chosen = rule
            break
        out.append(f"  {number:>2}. {rule.name}{where}: no, {reason}")
    else:
        out.append(f"  no rule matched: default route{' [' + table.default.source + ']' if table.default.source else ''}")

    queue = table.queues[chosen.queue]
    extra = ", ".join(f"{s}>={lvl}" for s, lvl in chosen.skills) or "none"
    out += ["", f"rule: {chosen.name}", f"queue: {queue.name} ({queue.title})",
            f"priority: {chosen.priority}", f"extra skills from the rule: {extra}",
            f"strategy: {queue.strategy.value}; ring {_seconds(queue.ring_timeout)}, "
            f"wrap-up {_seconds(queue.wrapup)}; service level {queue.service_level.percent:g}% "
            f"within {_seconds(queue.service_level.within)}"]
    if queue.max_waiting is not None:
        out.append(f"max waiting: {queue.max_waiting}; " + _action_line("when full", queue.overflow))
    if queue.hours:
        state = "open" if is_open(table.calendars[queue.hours], now) else "CLOSED"
        out.append(f"hours: calendar {queue.hours} is {state} at that time")
        if state == "CLOSED":
            out.append("  -> the call would not wait: " + _action_line("closed action", queue.closed))

    out += ["", "escalation (time waited in the queue):"]
    for step in chosen.steps:
        when = f"  from {_seconds(step.after):>6}"
        if step.action is not None:
            out.append(f"{when}  leave the queue: {step.action.describe()}")
            continue
        out.append(f"{when}  " + "  OR  ".join(r.describe() for r in step.requirements))
        names = _eligible(table, step)
        shown = ", ".join(names[:MAX_NAMES]) + (f", ... (+{len(names) - MAX_NAMES})" if len(names) > MAX_NAMES else "")
        out.append(f"          eligible agents ({len(names)}): {shown or 'NONE - no configured agent qualifies'}")
    return Explanation(tuple(out), chosen.name, queue.name)
